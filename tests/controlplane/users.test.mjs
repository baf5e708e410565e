// lingmo-controld account management (admin only): GET /api/users, POST /api/users (one-time
// password in the answer), PUT /api/users/{name} (role), POST /api/users/{name}/reset-password,
// DELETE /api/users/{name}. A created account must change its password at the first login; a
// role change, a reset and a deletion end the account's sessions; the last admin cannot be demoted
// or deleted, and an admin cannot delete (or reset) their own account. One-time passwords never
// reach the audit log, Redis or the daemon's output.
// One stack (its Redis; nginx is not used) and one daemon; tests run in order and build on each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startStack } from '../integration/harness.mjs';
import { ADMIN_PASSWORD, adminSession, auditFromRedis, clearLoginFailures, redisDump, startDaemon } from './daemon.mjs';

let stack;
let d;
let admin;
const issued = [];   // every one-time password the API handed out: must not show up anywhere else

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

const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');
const record = async (name) => {
  const v = await stack.redis('HGET', 'lingmo:admin:users', name);
  return v ? JSON.parse(v) : null;
};

async function createUser(name, role) {
  const r = await d.post(admin, '/api/users', role === undefined ? { name } : { name, role });
  assert.equal(r.status, 201, `create ${name}: ${r.text}`);
  issued.push(r.json.password);
  return r.json;
}

// Logs in with the one-time password and sets `password`: the session (must_change cleared).
async function firstLogin(name, oneTime, password) {
  const s = await d.session(name, oneTime);
  assert.equal(s.mustChange, true);
  const r = await d.post(s, '/api/password', { old_password: oneTime, new_password: password });
  assert.equal(r.status, 200, r.text);
  s.mustChange = false;
  return s;
}

const ROUTES = [
  ['GET', '/api/users'],
  ['POST', '/api/users', { name: 'nobody1', role: 'viewer' }],
  ['PUT', '/api/users/admin', { role: 'viewer' }],
  ['POST', '/api/users/admin/reset-password', {}],
  ['DELETE', '/api/users/admin'],
];

test('no session: every account endpoint is 401 and changes nothing', async () => {
  const before = await stack.redis('HGETALL', 'lingmo:admin:users');
  for (const [method, p, body] of ROUTES) {
    const r = await d.req(method, p, { body });
    assert.equal(r.status, 401, `${method} ${p}: ${r.text}`);
    assert.equal(r.json.error.code, 'unauthenticated');
  }
  assert.equal(await stack.redis('HGETALL', 'lingmo:admin:users'), before);
});

test('GET /api/users: name, role and must_change of every account, never a hash', async () => {
  const r = await d.get(admin, '/api/users');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { users: [{ name: 'admin', role: 'admin', must_change: false }] });
  assert.doesNotMatch(r.text, /scrypt|hash/);
});

test('POST /api/users: 201 with a one-time password shown once; stored as a scrypt hash with must_change', async () => {
  const v = await createUser('viewer.one@example-team', 'viewer');
  assert.deepEqual(Object.keys(v).sort(), ['must_change', 'name', 'password', 'role']);
  assert.equal(v.name, 'viewer.one@example-team');
  assert.equal(v.role, 'viewer');
  assert.equal(v.must_change, true);
  assert.match(v.password, /^[A-Za-z0-9]{20}$/);
  const rec = await record('viewer.one@example-team');
  assert.equal(rec.role, 'viewer');
  assert.equal(rec.must_change, true);
  assert.match(rec.hash, /^scrypt\$/);
  assert.ok(!JSON.stringify(rec).includes(v.password));
  // The role defaults to viewer.
  const dflt = await createUser('Default_Role-1');
  assert.equal(dflt.role, 'viewer');
  const list = await d.get(admin, '/api/users');
  assert.deepEqual(list.json.users.map((u) => u.name), ['Default_Role-1', 'admin', 'viewer.one@example-team']);
  assert.deepEqual(list.json.users.find((u) => u.name === 'Default_Role-1'), { name: 'Default_Role-1', role: 'viewer', must_change: true });
  assert.ok(!list.text.includes(v.password), 'the list never shows a password');
  assert.equal((await d.del(admin, '/api/users/Default_Role-1')).status, 200);
});

test('POST /api/users: a taken name is 409 (the account is untouched); bad names and roles are 400', async () => {
  const before = await stack.redis('HGET', 'lingmo:admin:users', 'viewer.one@example-team');
  for (const name of ['viewer.one@example-team', 'admin']) {
    const dup = await d.post(admin, '/api/users', { name, role: 'viewer' });
    assert.equal(dup.status, 409, dup.text);
    assert.equal(dup.json.error.code, 'already_exists');
    assert.equal(dup.json.password, undefined);
  }
  assert.equal(await stack.redis('HGET', 'lingmo:admin:users', 'viewer.one@example-team'), before);
  assert.equal((await record('admin')).role, 'admin');
  const n = await stack.redis('HLEN', 'lingmo:admin:users');
  for (const body of [{}, { name: '' }, { name: 'a b' }, { name: 'x'.repeat(65) }, { name: 'a/b' }, { name: '.' }, { name: '..' },
    { name: 'héllo' }, { name: 'a:b' }, { name: 5 }, { name: ['x'] }, { name: 'okname', role: 'root' }, { name: 'okname', role: 'Admin' },
    { name: 'okname', role: 5 }, { name: 'okname', role: '' }]) {
    const r = await d.post(admin, '/api/users', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.json.error.code, 'invalid_request');
  }
  for (const raw of ['not json', '[]']) assert.equal((await d.req('POST', '/api/users', { auth: admin, body: raw })).status, 400);
  assert.equal(await stack.redis('HLEN', 'lingmo:admin:users'), n, 'nothing stored');
  // 64 characters is the limit.
  const long = await createUser('y'.repeat(64), 'viewer');
  assert.equal((await d.del(admin, `/api/users/${long.name}`)).status, 200);
});

test('a created viewer logs in with the one-time password, must change it, then reads but cannot change anything (403)', async () => {
  const v = await createUser('viewer2', 'viewer');
  const s = await d.session('viewer2', v.password);
  assert.equal(s.mustChange, true);
  const gated = await d.get(s, '/api/model/list');
  assert.equal(gated.status, 403);
  assert.equal(gated.json.error.code, 'password_change_required');
  const same = await d.post(s, '/api/password', { old_password: v.password, new_password: v.password });
  assert.equal(same.status, 400, 'the one-time password cannot be kept');
  assert.equal((await d.post(s, '/api/password', { old_password: v.password, new_password: 'viewer2-own-password' })).status, 200);
  assert.equal((await record('viewer2')).must_change, false);
  for (const p of ['/api/model/list', '/api/settings', '/api/keys', '/api/alerts/rules']) {
    const r = await d.get(s, p);
    assert.equal(r.status, 200, `viewer GET ${p}: ${r.text}`);
  }
  const before = await stack.redis('HGETALL', 'lingmo:admin:users');
  for (const [method, p, body] of [['PUT', '/api/settings', { threshold: 0.5 }], ['POST', '/api/keys', { name: 'x' }], ...ROUTES,
    ['PUT', '/api/users/viewer2', { role: 'admin' }]]) {
    const r = await d.req(method, p, { auth: s, body });
    assert.equal(r.status, 403, `viewer ${method} ${p}: ${r.text}`);
    assert.equal(r.json.error.code, 'forbidden');
  }
  assert.equal(await stack.redis('HGETALL', 'lingmo:admin:users'), before, 'the viewer changed no account (nor its own role)');
  assert.equal((await d.login('viewer2', v.password)).status, 401, 'the one-time password is gone');
  // An admin whose password is still the one-time one is held at the gate too.
  const a = await createUser('admin-fresh', 'admin');
  const fresh = await d.session('admin-fresh', a.password);
  for (const [method, p, body] of ROUTES) {
    const r = await d.req(method, p, { auth: fresh, body });
    assert.equal(r.status, 403, `${method} ${p}: ${r.text}`);
    assert.equal(r.json.error.code, 'password_change_required');
  }
  assert.equal((await d.del(admin, '/api/users/admin-fresh')).status, 200);
});

test('PUT /api/users/{name}: a role change ends the account\'s sessions (the role is cached in them); the same role changes nothing', async () => {
  const s = await d.session('viewer2', 'viewer2-own-password');
  const c = await d.session('viewer2', 'viewer2-own-password');
  const up = await d.put(admin, '/api/users/viewer2', { role: 'admin' });
  assert.equal(up.status, 200, up.text);
  assert.deepEqual(up.json, { name: 'viewer2', role: 'admin', must_change: false });
  assert.equal((await record('viewer2')).role, 'admin');
  for (const old of [await d.get(s, '/api/session'), await d.req('GET', '/api/session', { cookie: c.token })]) {
    assert.equal(old.status, 401, old.text);
  }
  assert.equal(await stack.redis('EXISTS', `lingmo:admin:session:${sha256(s.token)}`), '0');
  // A new login has the new role, and the same role again keeps the session.
  const s2 = await d.session('viewer2', 'viewer2-own-password');
  assert.equal((await d.get(s2, '/api/session')).json.role, 'admin');
  const same = await d.put(admin, '/api/users/viewer2', { role: 'admin' });
  assert.equal(same.status, 200, same.text);
  assert.equal((await d.get(s2, '/api/session')).status, 200, 'no change, no logout');
  assert.equal((await d.get(s2, '/api/users')).status, 200, 'the new admin may list accounts');
  const down = await d.put(admin, '/api/users/viewer2', { role: 'viewer' });
  assert.equal(down.json.role, 'viewer');
  assert.equal((await d.get(s2, '/api/session')).status, 401);
  // Bad requests.
  for (const body of [{}, { role: 'root' }, { role: 1 }, { name: 'x' }]) {
    const r = await d.put(admin, '/api/users/viewer2', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
  }
  assert.equal((await d.req('PUT', '/api/users/viewer2', { auth: admin, body: 'x' })).status, 400);
  for (const p of ['/api/users/no-such-user', '/api/users/a%20b', `/api/users/${'z'.repeat(65)}`]) {
    const r = await d.put(admin, p, { role: 'viewer' });
    assert.equal(r.status, 404, `${p}: ${r.text}`);
    assert.equal(r.json.error.code, 'not_found');
  }
  assert.equal((await record('viewer2')).role, 'viewer');
});

test('reset-password: a new one-time password (once), must_change again, and every session of the account ends', async () => {
  const bearer = await d.session('viewer2', 'viewer2-own-password');
  const cookie = await d.session('viewer2', 'viewer2-own-password');
  assert.equal((await d.req('GET', '/api/settings', { cookie: cookie.token })).status, 200);
  const r = await d.post(admin, '/api/users/viewer2/reset-password', {});
  assert.equal(r.status, 200, r.text);
  issued.push(r.json.password);
  assert.deepEqual({ ...r.json, password: 'x' }, { name: 'viewer2', role: 'viewer', must_change: true, password: 'x' });
  assert.match(r.json.password, /^[A-Za-z0-9]{20}$/);
  const old1 = await d.get(bearer, '/api/settings');
  const old2 = await d.req('GET', '/api/settings', { cookie: cookie.token });
  for (const o of [old1, old2]) {
    assert.equal(o.status, 401, o.text);
    assert.equal(o.json.error.code, 'unauthenticated');
  }
  assert.equal(await stack.redis('EXISTS', `lingmo:admin:sessions:viewer2`), '0', 'the session set is emptied');
  assert.equal((await d.login('viewer2', 'viewer2-own-password')).status, 401, 'the old password is gone');
  const rec = await record('viewer2');
  assert.equal(rec.must_change, true);
  assert.equal(rec.role, 'viewer');
  const s = await firstLogin('viewer2', r.json.password, 'viewer2-second-password');
  assert.equal((await d.get(s, '/api/settings')).status, 200);
  // Unknown, invalid names and one's own account.
  assert.equal((await d.post(admin, '/api/users/nobody-here/reset-password', {})).status, 404);
  const self = await d.post(admin, '/api/users/admin/reset-password', {});
  assert.equal(self.status, 409, self.text);
  assert.equal(self.json.error.code, 'own_account');
  assert.match(self.json.error.message, /POST \/api\/password/);
  assert.equal((await d.get(admin, '/api/session')).status, 200, 'the admin is still logged in');
  await clearLoginFailures(stack);
});

test('the session set slides with use: a session kept alive past its login\'s TTL is still ended by a reset', async () => {
  const s = await d.session('viewer2', 'viewer2-second-password');
  // As if the login had been long ago: the set's TTL runs out before the (sliding) session's.
  await stack.redis('EXPIRE', 'lingmo:admin:sessions:viewer2', '3');
  assert.equal((await d.get(s, '/api/session')).status, 200);
  const ttl = Number(await stack.redis('TTL', 'lingmo:admin:sessions:viewer2'));
  assert.ok(ttl > 3600, `the set's TTL was renewed by the request (TTL ${ttl})`);
  const r = await d.post(admin, '/api/users/viewer2/reset-password', {});
  assert.equal(r.status, 200, r.text);
  issued.push(r.json.password);
  assert.equal((await d.get(s, '/api/session')).status, 401);
});

test('guards: the last admin cannot be demoted (409 last_admin); an admin cannot delete their own account (409)', async () => {
  const demote = await d.put(admin, '/api/users/admin', { role: 'viewer' });
  assert.equal(demote.status, 409, demote.text);
  assert.equal(demote.json.error.code, 'last_admin');
  assert.match(demote.json.error.message, /last admin/);
  assert.equal((await record('admin')).role, 'admin');
  assert.equal((await d.get(admin, '/api/session')).status, 200, 'a refused change ends no session');
  const self = await d.del(admin, '/api/users/admin');
  assert.equal(self.status, 409, self.text);
  assert.equal(self.json.error.code, 'own_account');
  assert.ok(await record('admin'));

  // With a second admin, one may be demoted; the two demoting each other at once leave one admin.
  const a2 = await createUser('admin2', 'admin');
  const s2 = await firstLogin('admin2', a2.password, 'admin2-own-password');
  const [r1, r2] = await Promise.all([d.put(admin, '/api/users/admin2', { role: 'viewer' }), d.put(s2, '/api/users/admin', { role: 'viewer' })]);
  const statuses = [r1.status, r2.status].sort();
  assert.ok(statuses[0] === 200 && [401, 409].includes(statuses[1]), `statuses ${r1.status} ${r1.text} / ${r2.status} ${r2.text}`);
  const admins = [];
  for (const n of ['admin', 'admin2']) if ((await record(n)).role === 'admin') admins.push(n);
  assert.equal(admins.length, 1, `admins left: ${admins.join(', ')}`);
  // Back to: admin is admin, admin2 viewer (whoever won).
  if (admins[0] === 'admin2') {
    const s2b = await d.session('admin2', 'admin2-own-password');
    assert.equal((await d.put(s2b, '/api/users/admin', { role: 'admin' })).status, 200);
    admin = await d.session('admin', ADMIN_PASSWORD);
    assert.equal((await d.put(admin, '/api/users/admin2', { role: 'viewer' })).status, 200);
  }
  assert.equal((await record('admin')).role, 'admin');
  assert.equal((await record('admin2')).role, 'viewer');

  // A session that still says admin for an account no longer admin (a record edited by hand)
  // cannot delete or demote the last admin either.
  await stack.redis('HSET', 'lingmo:admin:users', 'admin2', JSON.stringify({ ...(await record('admin2')), role: 'admin' }));
  const stale = await d.session('admin2', 'admin2-own-password');
  await stack.redis('HSET', 'lingmo:admin:users', 'admin2', JSON.stringify({ ...(await record('admin2')), role: 'viewer' }));
  const del = await d.del(stale, '/api/users/admin');
  assert.equal(del.status, 409, del.text);
  assert.equal(del.json.error.code, 'last_admin');
  assert.ok(await record('admin'));
  assert.equal((await d.put(stale, '/api/users/admin', { role: 'viewer' })).status, 409);
  assert.equal((await record('admin')).role, 'admin');
});

test('DELETE /api/users/{name}: the account and its sessions are gone; a second delete is 404', async () => {
  const s = await d.session('admin2', 'admin2-own-password');
  const r = await d.del(admin, '/api/users/admin2');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { ok: true });
  assert.equal(await record('admin2'), null);
  assert.equal((await d.get(s, '/api/session')).status, 401);
  assert.equal((await d.login('admin2', 'admin2-own-password')).status, 401);
  assert.equal((await d.del(admin, '/api/users/admin2')).status, 404);
  assert.ok(!(await d.get(admin, '/api/users')).json.users.some((u) => u.name === 'admin2'));
  await clearLoginFailures(stack);
});

test('audit: user.add, user.update, user.reset_password and user.delete with their targets and outcomes', async () => {
  const r = await d.get(admin, '/api/audit?action=user.&limit=500');
  assert.equal(r.status, 200, r.text);
  const got = r.json.entries.map((e) => `${e.action} ${e.user} ${e.status} ${e.target}`);
  for (const want of ['user.add admin 201 /api/users', 'user.add admin 409 /api/users', 'user.add admin 400 /api/users',
    'user.update admin 200 /api/users/viewer2', 'user.update admin 409 /api/users/admin', 'user.update admin 404 /api/users/no-such-user',
    'user.reset_password admin 200 /api/users/viewer2/reset-password', 'user.reset_password admin 409 /api/users/admin/reset-password',
    'user.delete admin 200 /api/users/admin2', 'user.delete admin 404 /api/users/admin2', 'user.delete admin 409 /api/users/admin',
    'user.update admin2 200 /api/users/admin']) {
    if (want.endsWith('admin2 200 /api/users/admin')) continue;   // only when admin2 won the race above
    assert.ok(got.includes(want), `missing "${want}" in:\n${got.join('\n')}`);
  }
  // Reads are not audited; refused callers (viewer, no session) are not either.
  assert.ok(!r.json.entries.some((e) => e.user === 'viewer2'), got.join('\n'));
});

test('no one-time password in the audit log, in Redis or in the daemon output', async () => {
  assert.ok(issued.length >= 5, `${issued.length} passwords issued`);
  const audit = JSON.stringify(await auditFromRedis(stack));
  const dump = JSON.stringify(await redisDump(stack));
  const out = d.outputWithoutPasswordLine();
  for (const p of issued) {
    assert.ok(!audit.includes(p), `${p} is in the audit log`);
    assert.ok(!dump.includes(p), `${p} is stored in Redis`);
    assert.ok(!out.includes(p), `${p} is in the daemon output`);
  }
});
