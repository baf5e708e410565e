// lingmo-controld as a process: configuration (flags, environment, config file; errors stop it
// with a message), the sealing key from ENCRYPT_KEY, a Redis password, CORS, /healthz, graceful
// shutdown (SIGTERM lets a request in flight finish and exits 0), and Redis going away (healthz
// 503, then recovery). The Redis outage is last: it empties the stack's Redis.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REDIS_CLI, REDIS_SERVER, freePort, run, startStack } from '../integration/harness.mjs';
import { ADMIN_PASSWORD, adminSession, runDaemon, sleep, startDaemon, waitFor } from './daemon.mjs';

let stack;
let d;
let admin;

before(async () => {
  stack = await startStack({ vendors: 1 });
  d = await startDaemon(stack);
  admin = await adminSession(d);
});

after(async () => {
  try {
    if (d && !d.exit) await d.stop();
  } finally {
    await stack?.stop();
  }
});

function outputOf(r) {
  return `${r.stdout}${r.stderr}`;
}

test('GET /healthz: 200 without a session, no secrets', async () => {
  const r = await d.healthz();
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { status: 'ok', redis: 'ok' });
  const unknown = await d.req('GET', '/api/no-such-thing', { auth: admin });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error.code, 'not_found');
});

test('GET /api/openapi.json (public) describes the API, and every operation it lists is served', async () => {
  const r = await d.req('GET', '/api/openapi.json');
  assert.equal(r.status, 200, r.text.slice(0, 200));
  assert.match(r.json.openapi, /^3\./);
  const ops = Object.entries(r.json.paths).flatMap(([p, item]) => Object.keys(item).filter((m) => m !== 'parameters').map((m) => [m.toUpperCase(), p]));
  for (const must of [['POST', '/api/login'], ['GET', '/api/model/{id}'], ['POST', '/api/switch/rule'], ['GET', '/api/audit'], ['DELETE', '/api/keys/{id}']]) {
    assert.ok(ops.some(([m, p]) => m === must[0] && p === must[1]), `${must.join(' ')} missing from the OpenAPI document`);
  }
  // Every listed operation reaches a handler (ids that do not exist, bodies that are not JSON:
  // nothing changes). "no such endpoint" would mean the document lists a route the daemon lacks.
  const throwaway = await d.session('admin', ADMIN_PASSWORD);
  for (const [method, p] of ops) {
    const url = p.replace('/api/model/{id}', '/api/model/no-such-id').replace('{provider}', 'no-such-id').replace('{rule}', '0')
      .replace(/\{id\}/g, '00000000');
    const auth = p === '/api/logout' ? throwaway : admin;
    const body = method === 'POST' || method === 'PUT' ? (p === '/api/logout' ? '{}' : 'not json') : undefined;
    const res = await d.req(method, url, { auth, body });
    assert.ok(!(res.status === 404 && res.json?.error?.message === 'no such endpoint'), `${method} ${p}: ${res.status} ${res.text.slice(0, 200)}`);
    assert.ok(res.status < 500, `${method} ${p}: ${res.status} ${res.text.slice(0, 200)}`);
  }
  assert.equal((await d.get(admin, '/api/session')).status, 200, 'the admin session survived');
});

test('configuration errors stop the daemon with a message (exit 2), an unreachable Redis with exit 1', async () => {
  const redis = `127.0.0.1:${stack.redisPort}`;
  const noSecret = await runDaemon(['--port', '0', '--redis', redis]);
  assert.equal(noSecret.code, 2, outputOf(noSecret));
  assert.match(outputOf(noSecret), /SECRET_FILE or ENCRYPT_KEY/);

  const missing = await runDaemon(['--port', '0', '--redis', redis, '--secret-file', path.join(stack.dir, 'nope.key')]);
  assert.equal(missing.code, 2, outputOf(missing));
  assert.match(outputOf(missing), /nope\.key/);

  const badKey = await runDaemon(['--port', '0', '--redis', redis], { env: { ENCRYPT_KEY: 'too-short' } });
  assert.equal(badKey.code, 2, outputOf(badKey));

  for (const env of [{ API_PORT: 'abc' }, { SESSION_TTL: '5' }, { API_THREADS: '0' }, { REDIS_DB: '99' }]) {
    const r = await runDaemon(['--redis', redis, '--secret-file', stack.secretFile], { env });
    assert.equal(r.code, 2, `${JSON.stringify(env)}: ${outputOf(r)}`);
    assert.match(outputOf(r), new RegExp(Object.keys(env)[0]));
  }

  const conf = path.join(stack.dir, 'controld.conf');
  fs.writeFileSync(conf, '# test\nAPI_PORT=0\nNO_SUCH_SETTING=1\n');
  const unknown = await runDaemon(['--config', conf, '--redis', redis, '--secret-file', stack.secretFile]);
  assert.equal(unknown.code, 2, outputOf(unknown));
  assert.match(outputOf(unknown), /unknown setting NO_SUCH_SETTING/);

  const deadPort = await freePort();
  const noRedis = await runDaemon(['--port', '0', '--redis', `127.0.0.1:${deadPort}`, '--secret-file', stack.secretFile]);
  assert.equal(noRedis.code, 1, outputOf(noRedis));
  assert.match(outputOf(noRedis), /cannot reach Redis/);
  assert.doesNotMatch(outputOf(noRedis), /LISTENING/);
});

test('a start that cannot bind its port exits 1 without creating the first account (the one-time password is not lost)', async () => {
  const busy = net.createServer();
  await new Promise((resolve) => busy.listen(0, '127.0.0.1', resolve));
  try {
    const r = await runDaemon(['--listen', '127.0.0.1', '--port', String(busy.address().port), '--redis', `127.0.0.1:${stack.redisPort}`,
      '--secret-file', stack.secretFile], { env: { REDIS_DB: '3' } });
    assert.equal(r.code, 1, outputOf(r));
    assert.match(outputOf(r), /cannot listen/);
    assert.doesNotMatch(r.stdout, /password:/);
    assert.equal(await stack.redis('-n', '3', 'HLEN', 'lingmo:admin:users'), '0');
  } finally {
    busy.close();
  }
  const ok = await startDaemon(stack, { env: { REDIS_DB: '3' } });
  try {
    assert.ok(ok.password, 'the next successful start creates the account and prints its password');
  } finally {
    await ok.stop();
    await stack.redis('-n', '3', 'FLUSHDB');
  }
});

test('settings from a config file and the environment; flags win', async () => {
  const conf = path.join(stack.dir, 'controld-ok.conf');
  fs.writeFileSync(conf, `# settings for the test\nAPI_LISTEN = 127.0.0.1\nAPI_PORT=0\nREDIS_ADDR="127.0.0.1:${stack.redisPort}"\nSESSION_TTL=120\n`);
  const c = await startDaemon(stack, { args: ['--config', conf], env: { SESSION_TTL: '180' } });
  try {
    const r = await c.login('admin', ADMIN_PASSWORD);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.expires_in, 180, 'the environment overrides the file');
  } finally {
    await c.stop();
  }
});

test('the sealing key can come from ENCRYPT_KEY; another key cannot read the stored vendor keys', async () => {
  const hex = fs.readFileSync(stack.secretFile, 'utf8').trim();
  const same = await startDaemon(stack, { secretFile: '', env: { ENCRYPT_KEY: hex } });
  try {
    const s = await same.session('admin', ADMIN_PASSWORD);
    const p = await same.get(s, '/api/model/v1');
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.api_key_masked, '****', 'the seeded key is unsealed');
    assert.ok(!same.output().includes(hex), 'the key material is not logged');
  } finally {
    await same.stop();
  }
  const other = await startDaemon(stack, { secretFile: '', env: { ENCRYPT_KEY: 'ab'.repeat(32) } });
  try {
    const s = await other.session('admin', ADMIN_PASSWORD);
    const p = await other.get(s, '/api/model/v1');
    assert.equal(p.status, 200);
    assert.match(p.json.api_key_masked, /another secret key/);
  } finally {
    await other.stop();
  }
});

test('a Redis password from REDIS_PASSWORD (or --redis-password); never printed', async () => {
  const port = await freePort();
  const pw = 'redis-pass-Secret-123';
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', pw],
    { stdio: 'ignore' });
  try {
    await waitFor(async () => (await run(REDIS_CLI, ['-p', String(port), '-a', pw, '--no-auth-warning', 'PING'])).stdout.trim() === 'PONG',
      { timeout: 5000, what: 'the password-protected redis' });
    const without = await runDaemon(['--port', '0', '--redis', `127.0.0.1:${port}`, '--secret-file', stack.secretFile]);
    assert.equal(without.code, 1, outputOf(without));
    const viaEnv = await startDaemon(stack, { redisPort: port, env: { REDIS_PASSWORD: pw } });
    try {
      assert.ok(viaEnv.password, 'a new store: a one-time password');
      assert.equal((await viaEnv.healthz()).status, 200);
      assert.ok(!viaEnv.output().includes(pw), 'the Redis password is not printed');
    } finally {
      await viaEnv.stop();
    }
    const viaFlag = await startDaemon(stack, { redisPort: port, args: ['--redis-password', pw] });
    try {
      assert.equal(viaFlag.password, null);
      assert.equal((await viaFlag.healthz()).status, 200);
      assert.ok(!viaFlag.output().includes(pw));
    } finally {
      await viaFlag.stop();
    }
  } finally {
    child.kill('SIGKILL');
  }
});

async function corsCheck(c, s, origin) {
  const r = await c.get(s, '/api/session', { headers: { Origin: origin } });
  const pre = await c.req('OPTIONS', '/api/model/add', { headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } });
  assert.equal(pre.status, 204);
  return { request: r.headers.get('access-control-allow-origin'), credentials: r.headers.get('access-control-allow-credentials'),
    preflight: pre.headers.get('access-control-allow-origin'), allowHeaders: pre.headers.get('access-control-allow-headers') };
}

test('CORS: only origins in ALLOWED_ORIGINS get Access-Control-Allow-* headers, on requests and preflights', async () => {
  const c = await startDaemon(stack, { env: { ALLOWED_ORIGINS: 'http://ui.test,http://ui2.test' } });
  try {
    const s = await c.session('admin', ADMIN_PASSWORD);
    for (const origin of ['http://ui.test', 'http://ui2.test']) {
      const got = await corsCheck(c, s, origin);
      assert.equal(got.request, origin);
      assert.equal(got.credentials, 'true');
      assert.equal(got.preflight, origin);
      assert.match(got.allowHeaders, /X-CSRF-Token/i);
    }
    for (const origin of ['http://evil.test', 'http://ui.test.evil.test', 'http://ui', 'null']) {
      const got = await corsCheck(c, s, origin);
      assert.equal(got.request, null, origin);
      assert.equal(got.preflight, null, origin);
    }
  } finally {
    await c.stop();
  }
  // Without ALLOWED_ORIGINS no origin is allowed.
  const r = await d.get(admin, '/api/session', { headers: { Origin: 'http://ui.test' } });
  assert.equal(r.headers.get('access-control-allow-origin'), null);
});

test('CORS: "a, b" (a space after the comma) allows b on preflights as it does on requests', async () => {
  const c = await startDaemon(stack, { env: { ALLOWED_ORIGINS: 'http://ui.test, http://ui2.test' } });
  try {
    const s = await c.session('admin', ADMIN_PASSWORD);
    const got = await corsCheck(c, s, 'http://ui2.test');
    assert.deepEqual({ request: got.request, preflight: got.preflight }, { request: 'http://ui2.test', preflight: 'http://ui2.test' });
  } finally {
    await c.stop();
  }
});

test('SIGINT stops the daemon like SIGTERM (exit 0)', async () => {
  const c = await startDaemon(stack);
  assert.equal((await c.healthz()).status, 200);
  const ms = await c.stop({ signal: 'SIGINT' });
  assert.ok(ms < 3000, `${ms} ms`);
  assert.match(c.output(), /stopped/);
});

test('graceful shutdown: SIGTERM during a request in flight lets it finish, refuses new connections, exits 0', async () => {
  const c = await startDaemon(stack);
  const body = JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD });
  const sock = net.connect(c.port, '127.0.0.1');
  let received = '';
  sock.setEncoding('utf8');
  sock.on('data', (s) => { received += s; });
  const ended = new Promise((resolve) => sock.on('close', resolve));
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  // Headers and half the body: the request is in flight in a worker thread.
  sock.write(`POST /api/login HTTP/1.1\r\nHost: controld.test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`);
  await sleep(200);
  c.signal('SIGTERM');
  await sleep(300);
  assert.equal(c.exit, null, 'the daemon waits for the request in flight');
  await assert.rejects(fetch(`${c.base}/healthz`, { headers: { Connection: 'close' } }), 'new connections are refused once stopping');
  sock.write(body.slice(10));
  await ended;
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(received)?.[1]);
  assert.equal(status, 200, received);
  assert.match(received, /"token":"[0-9a-f]{64}"/);
  await c.waitStopped({ timeout: 5000, what: 'SIGTERM' });
  assert.match(c.output(), /signal 15: stopping/);
});

test('graceful shutdown: a login being hashed when SIGTERM arrives still gets its answer', async () => {
  const c = await startDaemon(stack);
  const inflight = c.login('admin', ADMIN_PASSWORD);   // scrypt takes tens of ms
  await sleep(30);
  c.signal('SIGTERM');
  const r = await inflight;
  assert.equal(r.status, 200, r.text);
  await c.waitStopped({ timeout: 5000, what: 'SIGTERM' });
});

test('with Redis down an authenticated call is 503 storage_unavailable, not 401 (which would log the UI out)', async () => {
  const users = await stack.redis('HGET', 'lingmo:admin:users', 'admin');
  const s = await d.session('admin', ADMIN_PASSWORD);
  let authed;
  let write;
  await stack.killRedis();
  try {
    authed = await d.get(s, '/api/model/list');
    write = await d.put(s, '/api/settings', { threshold: 0.5 });
  } finally {
    await stack.startRedis();   // empty: put the admin account back for the next test
    await stack.redis('HSET', 'lingmo:admin:users', 'admin', users);
  }
  assert.deepEqual([authed.status, write.status], [503, 503], `with Redis down: GET ${authed.status} ${authed.text}; PUT ${write.status} ${write.text}`);
  assert.equal(authed.json.error.code, 'storage_unavailable');
});

test('Redis going away: /healthz and login 503; back to 200 when Redis returns; SIGTERM still exits 0', async () => {
  await waitFor(async () => (await d.healthz()).status === 200, { timeout: 3000, what: '/healthz' });
  await stack.killRedis();
  const h = await d.healthz();
  assert.equal(h.status, 503, h.text);
  assert.equal(h.json.error.code, 'redis_unavailable');
  const login = await d.login('admin', ADMIN_PASSWORD);
  assert.equal(login.status, 503, login.text);
  assert.equal(login.json.error.code, 'storage_unavailable');
  assert.equal((await d.healthz()).status, 503, 'still down');

  await stack.startRedis();
  const ms = await waitFor(async () => (await d.healthz()).status === 200, { timeout: 3000, what: '/healthz to recover' });
  assert.ok(ms);
  const stopMs = await d.stop();
  assert.ok(stopMs < 3000, `${stopMs} ms`);
});
