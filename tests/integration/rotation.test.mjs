// Secret key rotation without downtime: a new key first in the key file (the old one kept),
// nginx reloaded, `lingmo-admin rotate-secret` re-seals every vendor key, the old line dropped
// and nginx reloaded again — every request in between is served. And a vendor key sealed with a
// key the file does not hold makes that provider unusable (never a crash, never a wrong key).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ADMIN_BIN, run, startStack, chatBody, waitFor } from './harness.mjs';

let stack;
before(async () => { stack = await startStack({ vendors: 2 }); });
after(async () => { await stack?.stop(); });

async function reload() {
  const old = stack.workerPids();
  stack.nginx.kill('SIGHUP');
  await waitFor(() => {
    const fresh = stack.workerPids().filter((p) => !old.includes(p));
    return fresh.length >= stack.conf.workerProcesses;
  }, { timeout: 5000, what: 'new workers after SIGHUP' });
}

async function sealedIds() {
  const all = await stack.redis('HGETALL', 'lingmo:providers');
  const lines = all.split('\n');
  const ids = {};
  for (let i = 0; i + 1 < lines.length; i += 2) ids[lines[i]] = JSON.parse(lines[i + 1]).api_key_sealed.split(':')[1];
  return ids;
}

async function allServed(n = 10) {
  for (let i = 0; i < n; i++) {
    const r = await stack.chat(chatBody());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-lingmo-provider'], 'v1');
  }
}

test('rotate the secret key while serving: old and new keys both open until every value is re-sealed', async () => {
  const before = await sealedIds();
  const oldId = before.v1;
  assert.equal(before.v2, oldId);
  await allServed();

  const gen = await stack.admin('gen-secret', '--rotate', stack.secretFile);
  const newId = /new key ([0-9a-f]{8})/.exec(gen)[1];
  assert.notEqual(newId, oldId);
  const lines = fs.readFileSync(stack.secretFile, 'utf8').trim().split('\n');
  assert.equal(lines.length, 2, 'new key first, old key kept');
  assert.equal((fs.statSync(stack.secretFile).mode & 0o077), 0, 'the key file stays private');

  await reload();
  await allServed();  // workers hold both keys: the old seals still open

  const out = await stack.admin('rotate-secret');
  assert.match(out, /^2 vendor key\(s\) re-sealed with key [0-9a-f]{8}, 0 already current/);
  const after = await sealedIds();
  assert.deepEqual(after, { v1: newId, v2: newId });
  await waitFor(async () => (await stack.chat(chatBody())).status === 200, { timeout: 1500, what: 'served after re-sealing' });
  await allServed();
  assert.match(await stack.admin('rotate-secret'), /^0 vendor key\(s\) re-sealed.*2 already current/);

  // The old key goes; everything is sealed with the new one.
  fs.writeFileSync(stack.secretFile, `${lines[0]}\n`, { mode: 0o600 });
  await reload();
  await allServed();
  const vendorStats = await stack.vendor(1).stats();
  assert.equal(vendorStats.last_request.headers.authorization, `Bearer ${stack.vendor(1).key}`, 'the vendor still gets its own key');
});

test('a vendor key sealed with a key the file does not hold: that provider is passed over, the next one serves', async () => {
  // Seal v1's key with a throwaway key file, v2 stays readable.
  const foreign = `${stack.dir}/foreign.key`;
  await stack.admin('gen-secret', foreign);
  const r = await run(ADMIN_BIN, ['--redis', `127.0.0.1:${stack.redisPort}`, '--secret-file', foreign, 'provider', 'add',
    '--id', 'v1', '--base-url', stack.vendor(1).baseUrl, '--api-key', stack.vendor(1).key, '--model', 'gpt-test=fake-v1',
    '--priority', '10']);
  assert.equal(r.code, 0, r.stderr);
  await stack.vendor(1).reset();
  const served = await waitFor(async () => {
    const x = await stack.chat(chatBody());
    return x.headers['x-lingmo-provider'] === 'v2' && x;
  }, { timeout: 1500, what: 'v2 to take over' });
  assert.equal(served.status, 200);
  assert.match(served.headers['x-lingmo-skipped'] || '', /v1=key_error/);
  assert.equal((await stack.vendor(1).stats()).requests, 0, 'a key it cannot open is never sent anywhere');
  // rotate-secret refuses to touch what it cannot open, and says which provider.
  const rot = await stack.adminRaw('rotate-secret');
  assert.notEqual(rot.code, 0);
  assert.match(rot.stderr, /provider v1: sealed with another secret key/);
});
