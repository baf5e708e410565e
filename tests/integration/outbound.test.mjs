// Outbound side of vendor calls: TLS verification (on by default, lingmo_ca_bundle to trust a
// private CA) and per-provider outbound proxies (SOCKS5 and HTTP), against a real HTTPS fake vendor
// and a real proxy process (tests/fakes/fake_proxy.mjs) that counts what went through it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startStack, chatBody, run, waitFor, REPO, FAKE_VENDOR, MODEL } from './harness.mjs';

let dir, cert, tlsVendor, proxy, tlsPort, proxyPort;
const children = [];

async function startChild(args, portFile) {
  const child = spawn(process.execPath, [...args, '--port', '0', '--port-file', portFile], { stdio: 'ignore' });
  children.push(child);
  return waitFor(() => fs.existsSync(portFile) && Number(fs.readFileSync(portFile, 'utf8').trim()),
    { timeout: 10000, what: `${path.basename(args[0])} port file` });
}

async function proxyStats() {
  const r = await fetch(`http://127.0.0.1:${proxyPort}/_proxy/stats`);
  return r.json();
}

before(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'lingmo-outbound-'));
  await fsp.chmod(dir, 0o755);
  cert = path.join(dir, 'vendor.crt');
  const keyFile = path.join(dir, 'vendor.key');
  const r = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', cert,
    '-days', '2', '-subj', '/CN=lingmo-test-vendor', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
  assert.equal(r.code, 0, r.stderr);
  await fsp.chmod(cert, 0o644);
  tlsPort = await startChild([FAKE_VENDOR, '--name', 'tls', '--key', 'sk-tls', '--tls-cert', cert, '--tls-key', keyFile],
    path.join(dir, 'tls.port'));
  proxyPort = await startChild([path.join(REPO, 'tests', 'fakes', 'fake_proxy.mjs')], path.join(dir, 'proxy.port'));
});

after(async () => {
  for (const c of children) c.kill('SIGTERM');
  await fsp.rm(dir, { recursive: true, force: true });
});

// Adds the TLS vendor as the first-priority provider of gpt-test.
async function seedTls(stack) {
  await stack.admin('provider', 'add', '--id', 'tls', '--base-url', `https://127.0.0.1:${tlsPort}/v1`,
    '--api-key', 'sk-tls', '--model', `${MODEL}=fake-tls`, '--priority', '1');
}

test('TLS is verified by default: a vendor with an untrusted certificate is failed over', async () => {
  const stack = await startStack({ vendors: 1, seed: seedTls });
  try {
    const r = await stack.chat(chatBody());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-lingmo-provider'], 'v1');
    assert.equal(r.headers['x-lingmo-attempts'], 'tls=connect;v1=ok');
    assert.match(stack.errorLog(), /tls \(fake-tls\): connect - .*(certificate|SSL)/i);
  } finally {
    await stack.stop();
  }
});

test('lingmo_ca_bundle trusts a private CA: the HTTPS vendor answers', async () => {
  const stack = await startStack({ vendors: 1, seed: seedTls, nginxConf: { http: `lingmo_ca_bundle ${cert};` } });
  try {
    const r = await stack.chat(chatBody());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-lingmo-provider'], 'tls');
    assert.equal(r.json.choices[0].message.content, 'tls says hello');
    const s = await stack.chatStream(chatBody({ stream: true }));
    assert.equal(s.headers['x-lingmo-provider'], 'tls');
    assert.match(s.text, /tls-chunk-2 [\s\S]*data: \[DONE\]/);
  } finally {
    await stack.stop();
  }
});

test('a provider with a SOCKS5 or HTTP proxy reaches its vendor through that proxy', async () => {
  const stack = await startStack({ vendors: 1 });
  try {
    const v1 = stack.vendor(1);
    await stack.admin('provider', 'add', '--id', 'viasocks', '--base-url', `http://127.0.0.1:${v1.port}/v1`,
      '--api-key', 'sk-v1', '--model', 'via-socks=fake-socks', '--proxy', `socks5h://127.0.0.1:${proxyPort}`);
    await stack.admin('provider', 'add', '--id', 'viahttp', '--base-url', `http://127.0.0.1:${v1.port}/v1`,
      '--api-key', 'sk-v1', '--model', 'via-http=fake-http', '--proxy', `http://127.0.0.1:${proxyPort}`);
    const before = await proxyStats();
    await waitFor(async () => (await stack.chat(chatBody({ model: 'via-socks' }))).status === 200,
      { timeout: 3000, what: 'via-socks provider to be loaded' });
    const afterSocks = await proxyStats();
    assert.ok(afterSocks.socks5 > before.socks5, 'the SOCKS5 proxy carried the call');
    assert.ok(afterSocks.targets.includes(`127.0.0.1:${v1.port}`));
    const r = await stack.chat(chatBody({ model: 'via-http' }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-lingmo-provider'], 'viahttp');
    assert.equal((await stack.vendor(1).stats()).last_request.body.model, 'fake-http');
    assert.ok((await proxyStats()).http > afterSocks.http, 'the HTTP proxy carried the call');
  } finally {
    await stack.stop();
  }
});

test('lingmo_tls_verify off accepts the untrusted certificate (testing only)', async () => {
  const stack = await startStack({ vendors: 1, seed: seedTls, nginxConf: { http: 'lingmo_tls_verify off;' } });
  try {
    const r = await stack.chat(chatBody());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-lingmo-provider'], 'tls');
  } finally {
    await stack.stop();
  }
});

test('lingmo_max_response_size: a larger non-stream answer counts as a failed attempt', async () => {
  const stack = await startStack({ vendors: 2, nginxConf: { location: 'lingmo_max_response_size 200;' } });
  try {
    // v1 answers ~300 bytes (over the limit); v2 a short one (under it).
    await stack.vendor(1).mode({ mode: 'custom', status: 200, times: 1, body: {
      id: 'x', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'y'.repeat(250) }, finish_reason: 'stop' }] } });
    await stack.vendor(2).mode({ mode: 'custom', status: 200, times: 1, body: {
      id: 'z', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] } });
    const r = await stack.chat(chatBody());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-lingmo-attempts'], 'v1=malformed;v2=ok');
    assert.equal(r.json.choices[0].message.content, 'ok');
  } finally {
    await stack.stop();
  }
});
