// lingmo-controld operation log (GET /api/audit, Redis list lingmo:audit): every change and every
// login attempt is recorded with user, address, action, target and status; filters and pages;
// and no secret (vendor key, password, gateway key secret, session or CSRF token) is written to
// the audit log, to Redis at all, or to the daemon's output (but the one-time password line).
// One stack, one daemon; the first test makes a scripted series of calls the others check.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/harness.mjs';
import { auditFromRedis, redisDump, startDaemon } from './daemon.mjs';

let stack;
let d;
let reader;        // the session that reads the log
const secrets = {};
const expected = [];   // [action, user, status, target] in the order the calls were made

const NEW_PW = 'audit-new-password-XYZ-42';
const VENDOR_KEY = 'sk-audit-vendor-SECRET-0001';
const VENDOR_KEY2 = 'sk-audit-vendor-SECRET-0002';
const GUESS_MALLORY = 'mallory-guess-PW-777';
const GUESS_ADMIN = 'typo-password-PW-888';
const WRONG_OLD = 'wrong-old-PW-999';

before(async () => {
  stack = await startStack({ vendors: 1 });
  d = await startDaemon(stack);
  Object.assign(secrets, { oneTime: d.password, NEW_PW, VENDOR_KEY, VENDOR_KEY2, GUESS_MALLORY, GUESS_ADMIN, WRONG_OLD });
});

after(async () => {
  try {
    if (d && !d.exit) await d.stop();
  } finally {
    await stack?.stop();
  }
});

// Makes a call, checks its status and notes the audit entry it must leave.
async function change(sess, method, p, body, status, action, user = 'admin') {
  const r = await d.req(method, p, { auth: sess, body });
  assert.equal(r.status, status, `${method} ${p}: ${r.text}`);
  if (action) expected.push([action, user, status, p]);
  return r;
}

test('a scripted series of logins and changes (the other tests check what it left)', async () => {
  // Failed logins, with the attempted names.
  assert.equal((await d.login('mallory', GUESS_MALLORY)).status, 401);
  expected.push(['auth.login', 'mallory', 401, '/api/login']);
  assert.equal((await d.login('admin', GUESS_ADMIN)).status, 401);
  expected.push(['auth.login', 'admin', 401, '/api/login']);
  const s = await d.session('admin', secrets.oneTime);
  expected.push(['auth.login', 'admin', 200, '/api/login']);
  secrets.token1 = s.token;
  secrets.csrf1 = s.csrf;
  await change(s, 'POST', '/api/password', { old_password: WRONG_OLD, new_password: NEW_PW }, 400, 'auth.password');
  await change(s, 'POST', '/api/password', { old_password: secrets.oneTime, new_password: NEW_PW }, 200, 'auth.password');
  await change(s, 'POST', '/api/model/add', { id: 'au-p', base_url: 'http://127.0.0.1:9/v1', api_key: VENDOR_KEY, models: ['au-m'] }, 201, 'provider.add');
  await change(s, 'POST', '/api/model/add', { id: 'bad id', base_url: 'http://127.0.0.1:9/v1', api_key: VENDOR_KEY, models: ['au-m'] }, 400, 'provider.add');
  await change(s, 'PUT', '/api/model/au-p', { api_key: VENDOR_KEY2 }, 200, 'provider.update');
  await change(s, 'POST', '/api/model/au-p/disable', {}, 200, 'provider.disable');
  await change(s, 'POST', '/api/model/au-p/enable', {}, 200, 'provider.enable');
  await change(s, 'POST', '/api/model/reorder', { order: ['au-p', 'v1'] }, 200, 'provider.reorder');
  await change(s, 'POST', '/api/switch/rule', { threshold: 0.9, providers: { 'au-p': 0.5 } }, 200, 'settings.switch_rule');
  await change(s, 'PUT', '/api/settings', { auto_switch: false }, 200, 'settings.update');
  await change(s, 'PUT', '/api/settings', { threshold: 7 }, 400, 'settings.update');
  const k = await change(s, 'POST', '/api/keys', { name: 'audit-key' }, 201, 'key.create');
  secrets.gatewayKey = k.json.secret;
  await change(s, 'PUT', `/api/keys/${k.json.id}`, { models: ['au-m'] }, 200, 'key.update');
  await change(s, 'DELETE', `/api/keys/${k.json.id}`, undefined, 200, 'key.revoke');
  await change(s, 'DELETE', '/api/model/au-p', undefined, 200, 'provider.delete');
  await change(s, 'DELETE', '/api/model/au-p', undefined, 404, 'provider.delete');
  // Reads are not changes: not logged.
  assert.equal((await d.get(s, '/api/model/list')).status, 200);
  assert.equal((await d.get(s, '/api/settings')).status, 200);
  await change(s, 'POST', '/api/logout', {}, 200, 'auth.logout');

  reader = await d.session('admin', NEW_PW);
  expected.push(['auth.login', 'admin', 200, '/api/login']);
  secrets.token2 = reader.token;
  secrets.csrf2 = reader.csrf;
});

test('every change and login attempt is in the log, newest first, with user, ip, action, target and status', async () => {
  const r = await d.get(reader, '/api/audit?limit=500');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.total, expected.length, r.text);
  const got = r.json.entries.map((e) => [e.action, e.user, e.status, e.target]).reverse();
  assert.deepEqual(got, expected);
  const now = Date.now();
  let prev = Infinity;
  for (const e of r.json.entries) {
    assert.equal(e.ip, '127.0.0.1');
    assert.ok(e.ts <= now && e.ts > now - 60000, `ts ${e.ts}`);
    assert.ok(e.ts <= prev, 'newest first');
    prev = e.ts;
  }
  // The API shows what Redis holds.
  const raw = await auditFromRedis(stack);
  assert.deepEqual(raw.map((e) => [e.action, e.user, e.status, e.target]).reverse(), expected);
  // Reading the log is not logged.
  assert.equal((await d.get(reader, '/api/audit')).json.total, expected.length);
});

test('filters: by user (exact) and by action (prefix), combined; pagination with offset and limit', async () => {
  const all = (await d.get(reader, '/api/audit?limit=500')).json.entries;
  const mallory = await d.get(reader, '/api/audit?user=mallory');
  assert.equal(mallory.json.total, 1);
  assert.deepEqual(mallory.json.entries.map((e) => [e.action, e.status]), [['auth.login', 401]]);
  assert.equal((await d.get(reader, '/api/audit?user=mall')).json.total, 0, 'user is an exact match');

  const prov = await d.get(reader, '/api/audit?action=provider.');
  assert.equal(prov.json.total, expected.filter(([a]) => a.startsWith('provider.')).length);
  assert.ok(prov.json.entries.every((e) => e.action.startsWith('provider.')));
  const create = await d.get(reader, '/api/audit?action=key.create');
  assert.equal(create.json.total, 1);
  assert.equal(create.json.entries[0].status, 201);
  const both = await d.get(reader, '/api/audit?user=admin&action=auth.login');
  assert.deepEqual(both.json.entries.map((e) => e.status), [200, 200, 401]);

  const p1 = await d.get(reader, '/api/audit?limit=3');
  assert.equal(p1.json.total, all.length);
  assert.deepEqual(p1.json.entries, all.slice(0, 3));
  const p2 = await d.get(reader, '/api/audit?offset=3&limit=3');
  assert.deepEqual(p2.json.entries, all.slice(3, 6));
  const filteredPage = await d.get(reader, '/api/audit?action=provider.&offset=1&limit=2');
  assert.deepEqual(filteredPage.json.entries, prov.json.entries.slice(1, 3));
  assert.equal(filteredPage.json.total, prov.json.total);
  const past = await d.get(reader, `/api/audit?offset=${all.length + 5}`);
  assert.deepEqual(past.json.entries, []);
  assert.equal(past.json.total, all.length);
  assert.equal((await d.get(reader, '/api/audit?limit=0')).json.entries.length, 0);
  assert.equal((await d.get(reader, '/api/audit?limit=abc')).json.entries.length, Math.min(50, all.length), 'a bad limit falls back to 50');
});

test('no secret is in the audit entries, the audit API, anywhere in Redis, or in the daemon output', async () => {
  assert.ok(secrets.gatewayKey && secrets.token1 && secrets.csrf1, 'the scripted test ran');
  const audit = await stack.redis('LRANGE', 'lingmo:audit', '0', '-1');
  const api = (await d.get(reader, '/api/audit?limit=500')).text;
  const dump = JSON.stringify(await redisDump(stack));
  const outside = d.outputWithoutPasswordLine();
  for (const [name, value] of Object.entries(secrets)) {
    assert.ok(!audit.includes(value), `${name} is in the Redis audit log`);
    assert.ok(!api.includes(value), `${name} is in GET /api/audit`);
    // Redis keeps each session's CSRF token (it has to); nothing else secret.
    if (!name.startsWith('csrf')) assert.ok(!dump.includes(value), `${name} is stored in Redis`);
    assert.ok(!outside.includes(value), `${name} is in the daemon's output:\n${outside}`);
  }
  assert.equal(d.output().split(secrets.oneTime).length - 1, 1, 'the one-time password is printed once, on its line');
  assert.ok(d.stdout.includes(`  password: ${secrets.oneTime}\n`));
});

test('an attempted user name is stored verbatim (quotes, newlines); names over 64 characters are refused', async () => {
  const tricky = 'eve"},{"user":"admin","status":200}\n\\x';
  const r = await d.login(tricky, 'whatever-password');
  assert.equal(r.status, 401);
  const top = (await auditFromRedis(stack))[0];
  assert.deepEqual([top.user, top.status, top.action], [tricky, 401, 'auth.login']);
  const api = await d.get(reader, '/api/audit?limit=1');
  assert.equal(api.json.entries[0].user, tricky);
  const long = await d.login('x'.repeat(65), 'whatever-password');
  assert.equal(long.status, 400, long.text);
  assert.ok(!JSON.stringify(await auditFromRedis(stack)).includes('x'.repeat(65)));
  await stack.redis('DEL', 'lingmo:admin:fail:ip:127.0.0.1', `lingmo:admin:fail:user:${tricky}`);
});

test('the log is capped at 10,000 entries', async () => {
  await stack.redis('EVAL', "for i = 1, 10010 do redis.call('RPUSH', KEYS[1], '{\"ts\":1,\"user\":\"old\",\"ip\":\"\",\"action\":\"old\",\"target\":\"\",\"status\":200}') end return 1", '1', 'lingmo:audit');
  assert.equal((await d.put(reader, '/api/settings', { auto_switch: true })).status, 200);
  assert.equal(await stack.redis('LLEN', 'lingmo:audit'), '10000');
  const top = await d.get(reader, '/api/audit?limit=1');
  assert.equal(top.json.entries[0].action, 'settings.update');
  assert.equal(top.json.total, 10000);
});
