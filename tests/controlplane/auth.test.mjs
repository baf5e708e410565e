// lingmo-controld authentication: the one-time first password, demo mode, login and its
// throttling, the must-change-password gate, sessions (Bearer and cookie), CSRF, roles.
// One stack (its Redis and secret file; nginx is not used here) and one daemon; the tests run in
// order and build on each other (the admin password is changed by the gate test).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { startStack } from '../integration/harness.mjs';
import {
  ADMIN_PASSWORD, adminSession, clearLoginFailures, configVersion, sessionCookieOf, sleep, startDaemon,
} from './daemon.mjs';

let stack;
let d;           // the daemon every test talks to
let oneTime;     // its one-time admin password
let admin;       // an admin session after the password change

before(async () => {
  stack = await startStack({ vendors: 1 });
  d = await startDaemon(stack);
  oneTime = d.password;
});

after(async () => {
  try {
    if (d && !d.exit) await d.stop();
  } finally {
    await stack?.stop();
  }
});

const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');
const sessionKey = (token) => `lingmo:admin:session:${sha256(token)}`;

// Every API route but /api/session, /api/password and /api/logout, with a body that would be a
// valid change (so a 403 can only come from the gate or the role check).
const GATED_ROUTES = [
  ['GET', '/api/model/list'],
  ['GET', '/api/model/v1'],
  ['GET', '/api/templates'],
  ['POST', '/api/model/add', { id: 'gate-x', base_url: 'http://127.0.0.1:9/v1', models: ['m'] }],
  ['PUT', '/api/model/v1', { name: 'changed' }],
  ['POST', '/api/model/v1/disable', {}],
  ['POST', '/api/model/v1/enable', {}],
  ['POST', '/api/model/reorder', { order: ['v1'] }],
  ['DELETE', '/api/model/v1'],
  ['GET', '/api/keys'],
  ['POST', '/api/keys', { name: 'gate' }],
  ['PUT', '/api/keys/00000000', { name: 'x' }],
  ['DELETE', '/api/keys/00000000'],
  ['GET', '/api/settings'],
  ['PUT', '/api/settings', { threshold: 0.5 }],
  ['POST', '/api/switch/rule', { threshold: 0.5 }],
  ['GET', '/api/audit'],
  ['GET', '/api/quota/stat'],
  ['POST', '/api/model/test', { id: 'v1' }],
  ['GET', '/api/config/export'],
  ['GET', '/api/config/export?include_secrets=1'],
  ['POST', '/api/config/import', { lingmo_export: 1, settings: { threshold: '0.5' } }],
];
// Admin-only although they are reads: they can return vendor keys in plain text.
const ADMIN_GETS = ['/api/config/export', '/api/config/export?include_secrets=1'];
const READS = GATED_ROUTES.filter(([m, p]) => m === 'GET' && !ADMIN_GETS.includes(p));
const MUTATING = GATED_ROUTES.filter(([m, p]) => m !== 'GET' || ADMIN_GETS.includes(p));

async function providersSnapshot() {
  return { providers: await stack.redis('HGETALL', 'lingmo:providers'), keys: await stack.redis('HGETALL', 'lingmo:gateway_keys'),
    settings: await stack.redis('HGETALL', 'lingmo:settings'), version: await configVersion(stack) };
}

// POST /api/login from a chosen local address (127.0.0.x): { status, headers, json }.
function loginFrom(localAddress, username, password, headers = {}) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ username, password });
    const req = http.request({ host: '127.0.0.1', port: d.port, method: 'POST', path: '/api/login', localAddress, agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers } });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, json: JSON.parse(text) }));
    });
    req.end(body);
  });
}

test('the first start prints a one-time admin password once; only its scrypt hash is stored', async () => {
  assert.match(oneTime ?? '', /^\S{12,}$/, `stdout:\n${d.stdout}`);
  assert.match(d.stdout, /^ {2}user: admin$/m);
  assert.match(d.stdout, /one-time password/);
  assert.equal(d.output().split(oneTime).length - 1, 1, 'the password appears exactly once in the output');
  const rec = JSON.parse(await stack.redis('HGET', 'lingmo:admin:users', 'admin'));
  assert.equal(rec.role, 'admin');
  assert.equal(rec.must_change, true);
  assert.ok(rec.hash && !rec.hash.includes(oneTime), 'the stored record holds a hash, not the password');
  assert.ok(!JSON.stringify(await stack.redis('HGETALL', 'lingmo:admin:users')).includes(oneTime));
});

test('a second daemon on the same Redis prints no password and accepts the first one', async () => {
  const d2 = await startDaemon(stack);
  try {
    assert.equal(d2.password, null, d2.stdout);
    assert.doesNotMatch(d2.stdout, /password/i);
    const r = await d2.login('admin', oneTime);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.must_change_password, true);
    assert.equal(r.json.role, 'admin');
  } finally {
    await d2.stop();
  }
});

test('demo mode: the first account gets lingmo-demo without the must-change mark; an existing account is untouched', async () => {
  // REDIS_DB=1: an empty account store in the same Redis.
  const demo = await startDaemon(stack, { demo: true, env: { REDIS_DB: '1' } });
  try {
    assert.equal(demo.password, 'lingmo-demo');
    assert.match(demo.stdout, /demo mode/);
    const s = await demo.session('admin', 'lingmo-demo');
    assert.equal(s.mustChange, false);
    const list = await demo.get(s, '/api/model/list');
    assert.equal(list.status, 200, 'no password-change gate in demo mode');
    const rec = JSON.parse(await stack.redis('-n', '1', 'HGET', 'lingmo:admin:users', 'admin'));
    assert.equal(rec.must_change, false);
  } finally {
    await demo.stop();
  }
  // Demo mode on a store that already has accounts creates nothing and resets no password.
  const demo0 = await startDaemon(stack, { demo: true });
  try {
    assert.equal(demo0.password, null);
    const r = await demo0.login('admin', 'lingmo-demo');
    assert.equal(r.status, 401, r.text);
  } finally {
    await demo0.stop();
    await clearLoginFailures(stack);
    await stack.redis('-n', '1', 'FLUSHDB');
  }
});

test('login: wrong password and unknown user are the same 401 bad_credentials; malformed bodies are 400', async () => {
  const wrong = await d.login('admin', 'not-the-password');
  const unknown = await d.login('nobody-here', 'not-the-password');
  for (const r of [wrong, unknown]) {
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json.error.code, 'bad_credentials');
    assert.equal(sessionCookieOf(r), undefined, 'no cookie on a failed login');
    assert.equal(r.json.token, undefined);
  }
  assert.equal(wrong.text, unknown.text, 'the answers do not tell whether the account exists');
  for (const body of [{ username: 'admin' }, { password: 'x' }, { username: '', password: '' }, 'not json', '[1,2]']) {
    const r = await d.req('POST', '/api/login', { body });
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.json.error.code, 'invalid_request');
  }
  await clearLoginFailures(stack);
});

test('login: success returns a token and a CSRF token and sets an HttpOnly SameSite=Strict session cookie', async () => {
  const r = await d.login('admin', oneTime);
  assert.equal(r.status, 200, r.text);
  assert.match(r.json.token, /^[0-9a-f]{64}$/);
  assert.match(r.json.csrf_token, /^[0-9a-f]{16,}$/);
  assert.equal(r.json.must_change_password, true);
  assert.equal(r.json.expires_in, 12 * 3600);
  assert.equal(r.cookies.length, 1, r.cookies.join(' | '));
  const c = r.cookies[0];
  assert.equal(sessionCookieOf(r), r.json.token);
  const attrs = c.split(';').slice(1).map((a) => a.trim().toLowerCase());
  assert.ok(attrs.includes('httponly'), c);
  assert.ok(attrs.includes('samesite=strict'), c);
  assert.ok(attrs.includes('path=/'), c);
  // No Max-Age: a browser-session cookie; the server's sliding TTL decides when the session ends.
  assert.ok(!attrs.some((a) => a.startsWith('max-age') || a.startsWith('expires')), c);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  // Only the token's hash is a key in Redis, never the token.
  assert.equal(await stack.redis('EXISTS', sessionKey(r.json.token)), '1');
  assert.equal(await stack.redis('EXISTS', `lingmo:admin:session:${r.json.token}`), '0');
  // The session works through the cookie and through the Bearer header.
  assert.equal((await d.req('GET', '/api/session', { cookie: r.json.token })).json.user, 'admin');
  assert.equal((await d.get(r.json.token, '/api/session')).json.csrf_token, r.json.csrf_token);
});

test('must-change gate: every API route but session/password/logout answers 403 password_change_required', async () => {
  const s = await d.session('admin', oneTime);
  assert.equal(s.mustChange, true);
  const before = await providersSnapshot();
  for (const [method, p, body] of GATED_ROUTES) {
    const r = await d.req(method, p, { auth: s, body });
    assert.equal(r.status, 403, `${method} ${p}: ${r.text}`);
    assert.equal(r.json.error.code, 'password_change_required', `${method} ${p}`);
  }
  // The same through the cookie (with the right CSRF token).
  for (const [method, p, body] of MUTATING) {
    const r = await d.viaCookie(s, method, p, { body });
    assert.equal(r.status, 403, `cookie ${method} ${p}: ${r.text}`);
    assert.equal(r.json.error.code, 'password_change_required');
  }
  assert.deepEqual(await providersSnapshot(), before, 'nothing changed behind the gate');
  const sess = await d.get(s, '/api/session');
  assert.equal(sess.status, 200);
  assert.equal(sess.json.must_change_password, true);
  assert.equal((await d.healthz()).status, 200);
  const out = await d.post(s, '/api/logout');
  assert.equal(out.status, 200, 'logout is allowed before the change');
  assert.equal((await d.get(s, '/api/session')).status, 401);
});

test('password change: bad requests are 400; after it the other sessions of the account end, this one goes on', async () => {
  const a = await d.session('admin', oneTime);
  const b = await d.session('admin', oneTime);
  const c = await d.session('admin', oneTime);
  for (const body of [
    { old_password: oneTime, new_password: 'short' },                  // < 10 characters
    { old_password: oneTime, new_password: '' },
    { old_password: oneTime, new_password: oneTime },                  // not a change
    { old_password: 'wrong-old-password', new_password: ADMIN_PASSWORD },
    { new_password: ADMIN_PASSWORD },
  ]) {
    const r = await d.post(a, '/api/password', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.json.error.code, 'invalid_request');
  }
  assert.equal((await d.post(a, '/api/password', 'nope')).status, 400);
  // Still gated, still the old password.
  assert.equal((await d.get(a, '/api/model/list')).status, 403);

  // A cookie-authenticated change needs the CSRF token like any other change.
  const noCsrf = await d.viaCookie(c, 'POST', '/api/password', { body: { old_password: oneTime, new_password: ADMIN_PASSWORD }, csrf: null });
  assert.equal(noCsrf.status, 403, noCsrf.text);
  assert.equal(noCsrf.json.error.code, 'csrf_failed');

  const r = await d.post(a, '/api/password', { old_password: oneTime, new_password: ADMIN_PASSWORD });
  assert.equal(r.status, 200, r.text);
  // This session continues, without the gate and with the same CSRF token.
  const me = await d.get(a, '/api/session');
  assert.equal(me.status, 200);
  assert.equal(me.json.must_change_password, false);
  assert.equal(me.json.csrf_token, a.csrf);
  assert.equal((await d.get(a, '/api/model/list')).status, 200);
  // The others are logged out.
  for (const other of [b, c]) {
    const o = await d.get(other, '/api/session');
    assert.equal(o.status, 401, o.text);
    assert.equal(o.json.error.code, 'unauthenticated');
    assert.equal(await stack.redis('EXISTS', sessionKey(other.token)), '0');
  }
  // Old password no longer works, the new one does, without the mark.
  assert.equal((await d.login('admin', oneTime)).status, 401);
  const fresh = await d.session('admin', ADMIN_PASSWORD);
  assert.equal(fresh.mustChange, false);
  const rec = JSON.parse(await stack.redis('HGET', 'lingmo:admin:users', 'admin'));
  assert.equal(rec.must_change, false);
  admin = a;
  await clearLoginFailures(stack);
});

test('a later password change also ends the other sessions (not only the first one)', async () => {
  const other = await d.session('admin', ADMIN_PASSWORD);
  const tmp = 'temporary-password-2';
  assert.equal((await d.post(admin, '/api/password', { old_password: ADMIN_PASSWORD, new_password: tmp })).status, 200);
  assert.equal((await d.get(other, '/api/session')).status, 401);
  assert.equal((await d.post(admin, '/api/password', { old_password: tmp, new_password: ADMIN_PASSWORD })).status, 200);
  assert.equal((await d.get(admin, '/api/session')).status, 200);
});

test('no token, garbage tokens and other schemes are 401 unauthenticated', async () => {
  const tries = [
    {},
    { headers: { Authorization: 'Bearer ' } },
    { headers: { Authorization: 'Bearer garbage' } },
    { headers: { Authorization: `Bearer ${'0'.repeat(64)}` } },
    { headers: { Authorization: `Bearer ${crypto.randomBytes(32).toString('hex')}` } },
    { headers: { Authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` } },
    { headers: { Authorization: `Bearer ${sha256(admin.token)}` } },     // the stored hash is not a token
    { cookie: 'garbage' },
    { cookie: crypto.randomBytes(32).toString('hex') },
    { headers: { Cookie: `other=${admin.token}` } },                   // the token under another cookie name
  ];
  for (const t of tries) {
    for (const [method, p, body] of [['GET', '/api/model/list'], ['GET', '/api/session'], ['POST', '/api/keys', { name: 'x' }],
      ['POST', '/api/logout', {}], ['POST', '/api/password', { old_password: ADMIN_PASSWORD, new_password: 'whatever-1234' }]]) {
      const r = await d.req(method, p, { ...t, body });
      assert.equal(r.status, 401, `${JSON.stringify(t)} ${method} ${p}: ${r.text}`);
      assert.equal(r.json.error.code, 'unauthenticated');
    }
  }
  assert.equal(await stack.redis('HLEN', 'lingmo:gateway_keys'), '1', 'only the seeded key');
});

test('a logged-out session is 401, and logout clears the cookie', async () => {
  const s = await d.session('admin', ADMIN_PASSWORD);
  assert.equal((await d.get(s, '/api/model/list')).status, 200);
  const out = await d.post(s, '/api/logout');
  assert.equal(out.status, 200, out.text);
  assert.ok(out.cookies.some((c) => /^lingmo_session=;/.test(c) && /max-age=0/i.test(c)), out.cookies.join(' | '));
  for (const r of [await d.get(s, '/api/model/list'), await d.req('GET', '/api/session', { cookie: s.token }), await d.post(s, '/api/logout')]) {
    assert.equal(r.status, 401, r.text);
  }
  assert.equal(await stack.redis('EXISTS', sessionKey(s.token)), '0');
  assert.equal(await stack.redis('SISMEMBER', 'lingmo:admin:sessions:admin', sha256(s.token)), '0');
});

test('an expired session is 401; sessions honour SESSION_TTL and slide on use', async () => {
  const short = await startDaemon(stack, { env: { SESSION_TTL: '60' } });
  try {
    const r = await short.login('admin', ADMIN_PASSWORD);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.expires_in, 60);
    assert.doesNotMatch(r.cookies[0], /Max-Age/i, 'the cookie does not expire before the sliding session');
    const key = sessionKey(r.json.token);
    const ttl = Number(await stack.redis('TTL', key));
    assert.ok(ttl > 0 && ttl <= 60, `TTL ${ttl}`);
    // Use slides the expiry back up to the full TTL.
    await stack.redis('EXPIRE', key, '5');
    assert.equal((await short.get(r.json.token, '/api/session')).status, 200);
    assert.ok(Number(await stack.redis('TTL', key)) > 50);
    // Redis expires the key: the session is gone.
    await stack.redis('PEXPIRE', key, '1');
    await sleep(20);
    const gone = await short.get(r.json.token, '/api/session');
    assert.equal(gone.status, 401, gone.text);
    assert.equal(gone.json.error.code, 'unauthenticated');
    // And a deleted one too (on the long-TTL daemon).
    const s = await d.session('admin', ADMIN_PASSWORD);
    await stack.redis('DEL', sessionKey(s.token));
    assert.equal((await d.get(s, '/api/model/list')).status, 401);
  } finally {
    await short.stop();
  }
});

test('CSRF: cookie-authenticated changes need the session\'s X-CSRF-Token; reads and Bearer calls do not', async () => {
  const s = await d.session('admin', ADMIN_PASSWORD);
  const other = await d.session('admin', ADMIN_PASSWORD);
  const v0 = await configVersion(stack);
  const change = ['PUT', '/api/settings', { body: { threshold: 0.97 } }];
  for (const csrf of [null, '', 'wrong', other.csrf, s.token]) {
    const r = await d.viaCookie(s, change[0], change[1], { ...change[2], csrf });
    assert.equal(r.status, 403, `csrf=${csrf}: ${r.text}`);
    assert.equal(r.json.error.code, 'csrf_failed');
  }
  for (const [method, p, body] of [['POST', '/api/keys', { name: 'csrf' }], ['POST', '/api/model/v1/disable', {}], ['DELETE', '/api/model/v1'],
    ['POST', '/api/logout', {}]]) {
    const r = await d.viaCookie(s, method, p, { body, csrf: null });
    assert.equal(r.status, 403, `${method} ${p}: ${r.text}`);
    assert.equal(r.json.error.code, 'csrf_failed');
  }
  assert.equal(await configVersion(stack), v0, 'a refused change changes nothing');
  assert.equal(await stack.redis('HGET', 'lingmo:settings', 'threshold'), '');
  assert.equal((await d.get(s, '/api/session')).status, 200, 'a refused logout leaves the session alive');

  // Reads through the cookie need no CSRF token.
  const read = await d.req('GET', '/api/settings', { cookie: s.token });
  assert.equal(read.status, 200, read.text);
  // With the right token the change goes through.
  const ok = await d.viaCookie(s, ...change.slice(0, 2), change[2]);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.threshold, 0.97);
  assert.equal(await stack.redis('HGET', 'lingmo:settings', 'threshold'), '0.97');
  // Bearer calls carry no ambient credential: no CSRF token needed.
  const bearer = await d.put(s, '/api/settings', { threshold: 0.99 });
  assert.equal(bearer.status, 200, bearer.text);
  // A valid cookie does not rescue a wrong Bearer token.
  const mixed = await d.req('PUT', '/api/settings', { auth: 'f'.repeat(64), cookie: s.token, csrf: s.csrf, body: { threshold: 0.5 } });
  assert.equal(mixed.status, 401);
  // Cookie logout with the token works and ends the session.
  assert.equal((await d.viaCookie(s, 'POST', '/api/logout', { body: {} })).status, 200);
  assert.equal((await d.get(s, '/api/session')).status, 401);
});

test('a viewer can read everything and change nothing (403 forbidden)', async () => {
  // A viewer account with the admin's password: the admin's scrypt record with another role.
  const rec = JSON.parse(await stack.redis('HGET', 'lingmo:admin:users', 'admin'));
  await stack.redis('HSET', 'lingmo:admin:users', 'viewer1', JSON.stringify({ ...rec, role: 'viewer', must_change: false }));
  const v = await d.session('viewer1', ADMIN_PASSWORD);
  const me = await d.get(v, '/api/session');
  assert.equal(me.json.role, 'viewer');
  for (const [method, p] of READS) {
    const r = await d.req(method, p, { auth: v });
    assert.equal(r.status, 200, `viewer ${method} ${p}: ${r.text}`);
  }
  const before = await providersSnapshot();
  for (const [method, p, body] of MUTATING) {
    const r = await d.req(method, p, { auth: v, body });
    assert.equal(r.status, 403, `viewer ${method} ${p}: ${r.text}`);
    assert.equal(r.json.error.code, 'forbidden', `${method} ${p}`);
    const viaCookie = await d.viaCookie(v, method, p, { body });
    assert.equal(viaCookie.status, 403);
    assert.equal(viaCookie.json.error.code, 'forbidden');
  }
  assert.deepEqual(await providersSnapshot(), before, 'the viewer changed nothing');
  assert.equal((await d.post(v, '/api/logout')).status, 200, 'a viewer may log out');
});

test('throttling per account: the 6th attempt after 5 failures is 429 with Retry-After, even with the right password', async () => {
  await clearLoginFailures(stack);
  for (let i = 1; i <= 5; i++) {
    const r = await d.login('admin', `wrong-${i}`);
    assert.equal(r.status, 401, `attempt ${i}: ${r.text}`);
  }
  const sixth = await d.login('admin', 'wrong-6');
  assert.equal(sixth.status, 429, sixth.text);
  const right = await d.login('admin', ADMIN_PASSWORD);
  assert.equal(right.status, 429, right.text);
  for (const r of [sixth, right]) {
    assert.equal(r.json.error.code, 'too_many_attempts');
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 900, `Retry-After: ${r.headers.get('retry-after')}`);
    assert.equal(r.json.token, undefined);
    assert.equal(sessionCookieOf(r), undefined);
  }
  const ttl = Number(await stack.redis('TTL', 'lingmo:admin:fail:user:admin'));
  assert.ok(ttl > 0 && ttl <= 900, `the failure window expires (TTL ${ttl})`);
  // Another account from the same address is not locked.
  assert.equal((await d.login('viewer1', ADMIN_PASSWORD)).status, 200);
  await clearLoginFailures(stack);
  assert.equal((await d.login('admin', ADMIN_PASSWORD)).status, 200, 'unlocked once the window is over');
});

// n login requests sent at the same moment: every connection is opened first, then all the
// requests are written together. Resolves to the status codes.
async function simultaneousLogins(n, username, password) {
  const socks = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = net.connect(d.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  })));
  const statuses = socks.map((s) => new Promise((resolve) => {
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (c) => { text += c; });
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)));
  }));
  socks.forEach((s, i) => {
    const body = JSON.stringify({ username, password: `${password}-${i}` });
    s.write(`POST /api/login HTTP/1.1\r\nHost: controld.test\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  });
  return Promise.all(statuses);
}

test('throttling per account holds under concurrent attempts: at most 5 of 12 simultaneous guesses are checked', async () => {
  await clearLoginFailures(stack);
  const statuses = await simultaneousLogins(12, 'admin', 'parallel-guess');
  await clearLoginFailures(stack);
  assert.ok(statuses.every((s) => s === 401 || s === 429), statuses.join(' '));
  const checked = statuses.filter((s) => s === 401).length;
  assert.ok(checked <= 5, `${checked} of 12 simultaneous wrong passwords were checked (401) instead of at most 5: ${statuses.join(' ')}`);
});

test('throttling per address: after 20 failures from one IP every login from it is 429; another address is not affected', async () => {
  await clearLoginFailures(stack);
  for (let i = 1; i <= 20; i++) {
    const r = await d.login(`spray-${i}`, 'guess');   // one failure per account: only the IP limit can trip
    assert.equal(r.status, 401, `attempt ${i}: ${r.text}`);
  }
  const r = await d.login('admin', ADMIN_PASSWORD);
  assert.equal(r.status, 429, r.text);
  assert.equal(r.json.error.code, 'too_many_attempts');
  const retry = Number(r.headers.get('retry-after'));
  assert.ok(retry > 0 && retry <= 900, `Retry-After ${retry}`);
  // A client-supplied X-Forwarded-For does not move the attempt to another address.
  const spoofed = await loginFrom('127.0.0.1', 'admin', ADMIN_PASSWORD, { 'X-Forwarded-For': '203.0.113.9', 'X-Real-IP': '203.0.113.9' });
  assert.equal(spoofed.status, 429);
  // A different client address is counted on its own.
  const elsewhere = await loginFrom('127.0.0.2', 'admin', ADMIN_PASSWORD);
  assert.equal(elsewhere.status, 200, JSON.stringify(elsewhere.json));
  await clearLoginFailures(stack);
});

test('an unknown user name takes as long as a wrong password (no timing oracle for account names)', async () => {
  await clearLoginFailures(stack);
  const known = [];
  const unknown = [];
  for (let i = 0; i < 5; i++) {
    await clearLoginFailures(stack);
    known.push((await d.login('admin', `wrong-pw-${i}`)).ms);
    unknown.push((await d.login(`ghost-${i}`, `wrong-pw-${i}`)).ms);
  }
  await clearLoginFailures(stack);
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const k = median(known);
  const u = median(unknown);
  assert.ok(u < k * 1.4 && k < u * 1.4,
    `median login time: wrong password ${k.toFixed(0)} ms, unknown user ${u.toFixed(0)} ms (known ${known.map((x) => x.toFixed(0))}, unknown ${unknown.map((x) => x.toFixed(0))})`);
});
