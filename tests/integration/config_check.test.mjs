// `nginx -t` rejects bad lingmo_* directive values with a message that names the directive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nginxTest } from './harness.mjs';

let dir;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lingmo-conf-files-')); });
after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

const GATEWAY_SERVER = 'server { listen 127.0.0.1:1; location /v1/ { lingmo_gateway on; } }';

test('a valid configuration passes nginx -t (control for the cases below)', async () => {
  const secret = path.join(dir, 'good.key');
  fs.writeFileSync(secret, `${'ab'.repeat(32)}\n`);
  const r = await nginxTest(`
    lingmo_redis 127.0.0.1:6379 db=3 password=pw;
    lingmo_secret_key_file ${secret};
    lingmo_max_attempts 16;
    lingmo_connect_timeout 2s;
    lingmo_first_byte_timeout 30s;
    lingmo_idle_timeout 45s;
    lingmo_config_wait 500ms;
    lingmo_max_response_size 1m;
    ${GATEWAY_SERVER}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /test is successful/);
});

const BAD = [
  { name: 'lingmo_max_attempts 0', conf: 'lingmo_max_attempts 0;', directive: 'lingmo_max_attempts' },
  { name: 'lingmo_max_attempts 17', conf: 'lingmo_max_attempts 17;', directive: 'lingmo_max_attempts' },
  { name: 'lingmo_connect_timeout abc', conf: 'lingmo_connect_timeout abc;', directive: 'lingmo_connect_timeout' },
  { name: 'lingmo_first_byte_timeout 0', conf: 'lingmo_first_byte_timeout 0;', directive: 'lingmo_first_byte_timeout' },
  { name: 'lingmo_idle_timeout 0', conf: 'lingmo_idle_timeout 0;', directive: 'lingmo_idle_timeout' },
  { name: 'lingmo_redis db=99', conf: 'lingmo_redis 127.0.0.1:6379 db=99;', directive: 'lingmo_redis' },
  { name: 'lingmo_redis bogus=1', conf: 'lingmo_redis 127.0.0.1:6379 bogus=1;', directive: 'lingmo_redis' },
  { name: 'lingmo_secret_key_file /nonexistent', conf: 'lingmo_secret_key_file /nonexistent/lingmo.key;', directive: 'lingmo_secret_key_file' },
  { name: 'secret key file of the wrong length', conf: () => `lingmo_secret_key_file ${path.join(dir, 'short.key')};`,
    setup: () => fs.writeFileSync(path.join(dir, 'short.key'), 'abcd1234\n'), directive: 'lingmo_secret_key_file' },
  { name: 'lingmo_ca_bundle /nonexistent', conf: 'lingmo_ca_bundle /nonexistent/ca.pem;', directive: 'lingmo_ca_bundle' },
  { name: 'lingmo_gateway on without lingmo_redis', conf: GATEWAY_SERVER, directive: 'lingmo_gateway' },
];

for (const c of BAD) {
  test(`nginx -t rejects ${c.name}`, async () => {
    c.setup?.();
    const conf = typeof c.conf === 'function' ? c.conf() : c.conf;
    const r = await nginxTest(conf);
    assert.notEqual(r.code, 0, `nginx -t accepted: ${conf}\n${r.stderr}`);
    assert.match(r.stderr, /\[emerg\]/);
    assert.ok(r.stderr.includes(c.directive), `the message does not name ${c.directive}:\n${r.stderr}`);
  });
}

test('the missing-lingmo_redis message also names lingmo_redis', async () => {
  const r = await nginxTest(GATEWAY_SERVER);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /lingmo_redis/);
});
