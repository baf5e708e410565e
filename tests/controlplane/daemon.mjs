// Control-plane test helpers: start `lingmo-controld` against a stack's Redis and secret file
// (tests/integration/harness.mjs startStack), read what it prints, stop it with SIGTERM, and talk
// to its admin REST API with Node's built-in fetch. No npm dependencies (Node >= 20).
//
//   const stack = await startStack({ vendors: 2 });
//   const d = await startDaemon(stack);            // d.password: the one-time admin password
//   const s = await adminSession(d);                // logs in, changes the password: { token, csrf, cookie }
//   const r = await d.post(s, '/api/model/add', {...});   // Bearer; r = { status, json, text, headers, cookies }
//   await d.stop();                                 // SIGTERM; asserts a clean exit with code 0
//
// The daemon runs without LD_PRELOAD / sanitizer options (LINGMO_NGINX_PRELOAD is for nginx only)
// and without any inherited daemon setting (API_PORT, REDIS_ADDR, ...): each test says what it wants.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BUILD_DIR, REDIS_CLI, run, sleep, track, waitExit, waitFor } from '../integration/harness.mjs';

export const CONTROLD_BIN = path.join(BUILD_DIR, 'controlplane', 'lingmo-controld');
// What the helpers set as the admin password after the one-time one (adminSession).
export const ADMIN_PASSWORD = 'cp-test-admin-password-1';

export { sleep, waitFor };

// Settings the daemon reads from the environment (controlplane/daemon/config.cpp) and the
// sanitizer/preload variables: never inherited from the test runner's environment.
const SCRUBBED_ENV = ['API_LISTEN', 'API_PORT', 'REDIS_ADDR', 'REDIS_PASSWORD', 'REDIS_DB', 'SECRET_FILE', 'ENCRYPT_KEY',
  'SESSION_TTL', 'DEMO_MODE', 'ALLOWED_ORIGINS', 'API_THREADS', 'QUOTA_SAMPLE_INTERVAL', 'OUTBOUND_ALLOW', 'BALANCE_SYNC_INTERVAL',
  'REDIS_SENTINELS', 'REDIS_MASTER', 'REDIS_SENTINEL_PASSWORD',
  'WEB_ROOT', 'LINGMO_CONTROLD_CONFIG',
  'LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LINGMO_NGINX_PRELOAD'];

export function daemonEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of SCRUBBED_ENV) delete env[k];
  return { ...env, ...extra };
}

function tryJson(text) {
  try { return JSON.parse(text); } catch { return undefined; }
}

// The value of the lingmo_session cookie set by a response (undefined when none).
export function sessionCookieOf(res) {
  for (const c of res.cookies) {
    const m = /^lingmo_session=([^;]*)/.exec(c);
    if (m) return m[1];
  }
  return undefined;
}

export class Daemon {
  constructor(child) {
    this.child = child;
    this.stdout = '';
    this.stderr = '';
    this.password = null;  // the one-time (or demo) password printed on the first start
    this.port = 0;
    this.host = '127.0.0.1';
    this.exit = null;      // { code, signal } once exited
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (s) => { this.stdout += s; });
    child.stderr.on('data', (s) => { this.stderr += s; });
    child.once('exit', (code, signal) => { this.exit = { code, signal }; });
  }

  get base() { return `http://${this.host}:${this.port}`; }
  get pid() { return this.child.pid; }
  // Everything the daemon wrote (its spdlog log goes to stdout, errors may go to stderr).
  output() { return this.stdout + this.stderr; }
  // The output without the one-time password block (the only place a secret may appear).
  outputWithoutPasswordLine() {
    return this.output().split('\n').filter((l) => !/^ {2}password: /.test(l)).join('\n');
  }

  // SIGTERM (or `signal`), then asserts the daemon exited by itself with code 0 within `timeout`.
  // Returns the ms from the signal to the exit.
  async stop({ signal = 'SIGTERM', timeout = 8000 } = {}) {
    const t0 = performance.now();
    this.signal(signal);
    await this.waitStopped({ timeout, what: signal });
    return performance.now() - t0;
  }

  signal(sig = 'SIGTERM') {
    if (this.exit) assert.fail(`lingmo-controld had already exited (${JSON.stringify(this.exit)}):\n${this.output()}`);
    this.child.kill(sig);
  }

  // Waits for the exit (after signal()) and asserts it was a clean one with code 0.
  async waitStopped({ timeout = 8000, what = 'the signal' } = {}) {
    if (!(await waitExit(this.child, timeout))) {
      this.child.kill('SIGKILL');
      await waitExit(this.child, 3000);
      assert.fail(`lingmo-controld did not exit within ${timeout} ms of ${what}:\n${this.output()}`);
    }
    await sleep(10);  // let the stdout/stderr pipes drain
    assert.deepEqual(this.exit, { code: 0, signal: null }, `lingmo-controld exit after ${what}:\n${this.output()}`);
  }

  // Kills without checks (cleanup after a failed test).
  async kill() {
    if (this.exit) return;
    this.child.kill('SIGKILL');
    await waitExit(this.child, 3000);
  }

  // --- HTTP ------------------------------------------------------------------------------------

  // One request. `auth` is a session from session()/adminSession() or a raw token string (sent as
  // a Bearer token); `cookie` sends the lingmo_session cookie instead; `csrf` the X-CSRF-Token
  // header. Connection: close by default, so no idle keep-alive connection delays a SIGTERM.
  // Returns { status, headers (a Headers), cookies (Set-Cookie values), text, json, ms }.
  async req(method, p, { body, auth, cookie, csrf, headers = {}, keepAlive = false, signal } = {}) {
    const h = { ...headers };
    if (!keepAlive) h.Connection = 'close';
    if (auth !== undefined && auth !== null) h.Authorization = `Bearer ${typeof auth === 'string' ? auth : auth.token}`;
    if (cookie !== undefined && cookie !== null) h.Cookie = `lingmo_session=${typeof cookie === 'string' ? cookie : cookie.token}`;
    if (csrf !== undefined && csrf !== null) h['X-CSRF-Token'] = csrf;
    let payload;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    }
    const t0 = performance.now();
    const res = await fetch(this.base + p, { method, headers: h, body: payload, redirect: 'manual', signal });
    const text = await res.text();
    return { status: res.status, headers: res.headers, cookies: res.headers.getSetCookie(), text, json: tryJson(text), ms: performance.now() - t0 };
  }

  get(auth, p, opts = {}) { return this.req('GET', p, { ...opts, auth }); }
  post(auth, p, body = {}, opts = {}) { return this.req('POST', p, { ...opts, auth, body }); }
  put(auth, p, body = {}, opts = {}) { return this.req('PUT', p, { ...opts, auth, body }); }
  del(auth, p, opts = {}) { return this.req('DELETE', p, { ...opts, auth }); }

  // A call authenticated by the session cookie (as the browser UI makes it); sends the session's
  // CSRF token unless `csrf` says otherwise (null = no header).
  viaCookie(sess, method, p, { body, csrf = sess.csrf, headers } = {}) {
    return this.req(method, p, { body, cookie: sess.token, csrf, headers });
  }

  login(username, password, opts = {}) {
    return this.req('POST', '/api/login', { ...opts, body: { username, password } });
  }

  // Logs in (asserting 200): { token, csrf, cookie, mustChange, user, res }.
  async session(username, password) {
    const res = await this.login(username, password);
    assert.equal(res.status, 200, `login ${username}: ${res.status} ${res.text}`);
    return { token: res.json.token, csrf: res.json.csrf_token, cookie: sessionCookieOf(res), mustChange: res.json.must_change_password, user: username, res };
  }

  healthz() { return this.req('GET', '/healthz'); }
}

// Starts lingmo-controld on 127.0.0.1, port 0 (or `port`), against the stack's Redis and secret
// file. Options: demo (--demo), env (extra environment, e.g. { SESSION_TTL: '60', REDIS_DB: '1' }),
// args (extra flags), redisPort / secretFile (other than the stack's; secretFile '' passes no
// --secret-file).
export async function startDaemon(stack, { demo = false, env = {}, args = [], port = 0, redisPort, secretFile, timeout = 10000 } = {}) {
  if (!fs.existsSync(CONTROLD_BIN)) throw new Error(`${CONTROLD_BIN} not found: build first (cmake --build), or set LINGMO_BUILD_DIR`);
  const secret = secretFile ?? stack.secretFile;   // '' = no --secret-file (e.g. ENCRYPT_KEY in env)
  const argv = ['--listen', '127.0.0.1', '--port', String(port), '--redis', `127.0.0.1:${redisPort ?? stack.redisPort}`,
    ...(secret ? ['--secret-file', secret] : []), ...(demo ? ['--demo'] : []), ...args];
  const child = spawn(CONTROLD_BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: daemonEnv(env) });
  track(child);   // SIGKILLed at exit whatever happened to the test
  const d = new Daemon(child);
  try {
    await waitFor(() => {
      if (d.exit) throw new Error(`lingmo-controld exited (${JSON.stringify(d.exit)}) before listening:\n${d.output()}`);
      const m = /^LISTENING (\S+):(\d+)$/m.exec(d.stdout);
      if (!m) return false;
      [d.host, d.port] = [m[1], Number(m[2])];
      return true;
    }, { timeout, interval: 10, what: 'lingmo-controld to print LISTENING' });
  } catch (e) {
    await d.kill();
    throw e;
  }
  // The password block is printed (and flushed) before LISTENING.
  const pw = /^ {2}password: (\S+)$/m.exec(d.stdout);
  d.password = pw ? pw[1] : null;
  return d;
}

// Runs the daemon binary with these arguments until it exits by itself (configuration errors):
// { code, stdout, stderr }.
export function runDaemon(args, { env = {}, timeout = 10000 } = {}) {
  return run(CONTROLD_BIN, args, { env: daemonEnv(env), timeout });
}

// Logs in as admin with the one-time password, changes it to `newPassword`, returns the session
// (which stays valid after the change).
export async function adminSession(d, { oldPassword = d.password, newPassword = ADMIN_PASSWORD } = {}) {
  assert.ok(oldPassword, 'no one-time password to start from');
  const s = await d.session('admin', oldPassword);
  const r = await d.post(s, '/api/password', { old_password: oldPassword, new_password: newPassword });
  assert.equal(r.status, 200, `password change: ${r.text}`);
  s.mustChange = false;
  return s;
}

// --- Redis --------------------------------------------------------------------------------------

// Every key in Redis with its whole value flattened into one string per key (strings, hashes,
// lists, sets, sorted sets): { key: text }. Used to check that no secret is stored anywhere.
const DUMP_LUA = `
local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  local t = redis.call('TYPE', k).ok
  local v
  if t == 'string' then v = {redis.call('GET', k)}
  elseif t == 'hash' then v = redis.call('HGETALL', k)
  elseif t == 'list' then v = redis.call('LRANGE', k, 0, -1)
  elseif t == 'set' then v = redis.call('SMEMBERS', k)
  elseif t == 'zset' then v = redis.call('ZRANGE', k, 0, -1)
  else v = {} end
  out[k] = table.concat(v, '\\n')
end
return cjson.encode(out)`;

export async function redisDump(stack, { db = 0 } = {}) {
  const r = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(stack.redisPort), '-n', String(db), '--raw', 'EVAL', DUMP_LUA, '0'], { timeout: 5000 });
  if (r.code !== 0) throw new Error(`redis dump failed: ${r.stderr}`);
  const text = r.stdout.trim();
  return text === '{}' || text === '' ? {} : JSON.parse(text);
}

export async function configVersion(stack) {
  return Number(await stack.redis('GET', 'lingmo:config:version'));
}

// Clears the login failure counters (so a test's deliberate failures do not lock out the next).
export async function clearLoginFailures(stack) {
  const keys = (await stack.redis('--scan', '--pattern', 'lingmo:admin:fail:*')).split('\n').filter(Boolean);
  if (keys.length) await stack.redis('DEL', ...keys);
}

// Audit entries straight from Redis (newest first).
export async function auditFromRedis(stack) {
  const out = await stack.redis('LRANGE', 'lingmo:audit', '0', '-1');
  return out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// Polls `fn` until it is truthy; returns the ms it took (fails after `timeout`).
export async function msUntil(fn, { timeout = 1000, interval = 20, what = 'condition' } = {}) {
  const t0 = performance.now();
  await waitFor(fn, { timeout, interval, what });
  return performance.now() - t0;
}
