// lingmo-controld gateway keys (POST/GET /api/keys, PUT/DELETE /api/keys/{id}) and the end-to-end
// path: a change made through the API reaches the nginx data plane within a second.
// One stack (nginx, 2 fake vendors seeded as v1 priority 10 and v2 priority 20 for gpt-test) and
// one daemon; tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { MODEL, chatBody, startStack } from '../integration/harness.mjs';
import { adminSession, msUntil, redisDump, startDaemon } from './daemon.mjs';

let stack;
let d;
let admin;
let key;   // the key created through the API: { id, secret, ... }

before(async () => {
  stack = await startStack({ vendors: 2 });
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

// Polls chat requests with `secret` for `model` until the status is `status` (within `timeout`).
function chatStatusWithin(secret, model, status, timeout = 1000) {
  let last;
  return msUntil(async () => {
    last = await stack.chat(chatBody({ model }), { key: secret });
    return last.status === status;
  }, { timeout, what: `${model} with the key to answer ${status}` }).catch((e) => {
    throw new Error(`${e.message}; last answer ${last?.status} ${last?.text}`);
  });
}

test('create a key: the secret is shown once, only its hash is stored, and it works against nginx within a second', async () => {
  const r = await d.post(admin, '/api/keys', { name: 'cp-key' });
  assert.equal(r.status, 201, r.text);
  key = r.json;
  assert.match(key.id, /^[0-9a-f]{8}$/);
  assert.equal(key.name, 'cp-key');
  assert.deepEqual(key.models, []);
  assert.equal(key.enabled, true);
  assert.match(key.secret, /^lm-[0-9a-f]{48}$/);
  assert.equal(key.id, sha256(key.secret).slice(0, 8));
  const storedJson = JSON.parse(await stack.redis('HGET', 'lingmo:gateway_keys', sha256(key.secret)));
  assert.equal(storedJson.name, 'cp-key');
  assert.ok(!JSON.stringify(await redisDump(stack)).includes(key.secret), 'the secret is nowhere in Redis');

  const ms = await chatStatusWithin(key.secret, MODEL, 200);
  const ok = await stack.chat(chatBody(), { key: key.secret });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.headers['x-lingmo-provider'], 'v1');
  assert.ok(ms <= 1000, `${ms} ms`);
});

test('list keys: ids, names, allowlists and flags, never a secret', async () => {
  let r;
  await msUntil(async () => {  // the key's usage reaches Redis with the workers' next flush (~100 ms)
    r = await d.get(admin, '/api/keys');
    return r.json.keys.find((k) => k.id === key.id)?.today.requests >= 1;
  }, { timeout: 2000, what: 'the key usage of today' });
  assert.equal(r.status, 200, r.text);
  const mine = r.json.keys.find((k) => k.id === key.id);
  const { today, ...rest } = mine;
  assert.deepEqual(rest, { id: key.id, name: 'cp-key', models: [], enabled: true, budgets: [] });
  assert.ok(today.requests >= 1, 'the chat of the previous test counts in the key\'s usage today');
  assert.ok(r.json.keys.some((k) => k.name === 'test'), 'the key seeded by lingmo-admin is listed too');
  assert.ok(!r.text.includes(key.secret) && !r.text.includes(stack.key), 'no secret in the list');
  assert.ok(!r.text.includes(sha256(key.secret)), 'no full hash either');
  assert.ok(r.json.keys.every((k) => k.secret === undefined));
});

test('create with an allowlist; bad model lists are 400', async () => {
  const r = await d.post(admin, '/api/keys', { name: 'restricted', models: [MODEL] });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.json.models, [MODEL]);
  const before = await stack.redis('HLEN', 'lingmo:gateway_keys');
  for (const body of [{ models: 'gpt-test' }, { models: [1] }, { models: [''] }, { models: {} }]) {
    const bad = await d.post(admin, '/api/keys', body);
    assert.equal(bad.status, 400, `${JSON.stringify(body)}: ${bad.text}`);
  }
  assert.equal((await d.req('POST', '/api/keys', { auth: admin, body: 'x' })).status, 400);
  assert.equal(await stack.redis('HLEN', 'lingmo:gateway_keys'), before, 'no key was created');
  assert.equal((await d.del(admin, `/api/keys/${r.json.id}`)).status, 200);
});

test('a provider added through the API (new model, fake vendor) serves through nginx within a second', async (t) => {
  const t0 = performance.now();
  const r = await d.post(admin, '/api/model/add', {
    id: 'cp-new', base_url: stack.vendor(2).baseUrl, api_key: 'sk-v2', models: ['cp-new-model=fake-cp-new'], priority: 5,
  });
  assert.equal(r.status, 201, r.text);
  let last;
  const ms = await msUntil(async () => {
    last = await stack.chat(chatBody({ model: 'cp-new-model' }));
    return last.status === 200;
  }, { timeout: 1000, what: 'cp-new-model to be served' }).catch((e) => { throw new Error(`${e.message}: ${last?.status} ${last?.text}`); });
  assert.equal(last.headers['x-lingmo-provider'], 'cp-new');
  const stats = await stack.vendor(2).stats();
  assert.equal(stats.last_request.body.model, 'fake-cp-new', 'the upstream model name was sent');
  assert.equal(stats.last_request.headers.authorization, 'Bearer sk-v2', 'the key sealed by the daemon was unsealed by nginx');
  t.diagnostic(`provider added: served ${ms.toFixed(0)} ms after the API answered (${(performance.now() - t0).toFixed(0)} ms after the request)`);
});

test('update a key\'s allowlist: a model outside it is 404 from nginx, inside it 200; [] allows all again', async () => {
  const r = await d.put(admin, `/api/keys/${key.id}`, { models: [MODEL] });
  assert.equal(r.status, 200, r.text);
  const { today, ...rest } = r.json;
  assert.deepEqual(rest, { id: key.id, name: 'cp-key', models: [MODEL], enabled: true, budgets: [] });
  await chatStatusWithin(key.secret, 'cp-new-model', 404);
  const denied = await stack.chat(chatBody({ model: 'cp-new-model' }), { key: key.secret });
  assert.equal(denied.json.error.code, 'model_not_found');
  assert.equal((await stack.chat(chatBody(), { key: key.secret })).status, 200);
  // The unrestricted seeded key still reaches the model.
  assert.equal((await stack.chat(chatBody({ model: 'cp-new-model' }))).status, 200);

  // Renaming keeps the allowlist; [] lifts it.
  const renamed = await d.put(admin, `/api/keys/${key.id}`, { name: 'renamed' });
  assert.deepEqual(renamed.json.models, [MODEL]);
  assert.equal(renamed.json.name, 'renamed');
  const all = await d.put(admin, `/api/keys/${key.id}`, { models: [] });
  assert.deepEqual(all.json.models, []);
  await chatStatusWithin(key.secret, 'cp-new-model', 200);
});

test('key updates: bad values are 400, unknown ids 404, and nothing changes', async () => {
  const hash = sha256(key.secret);
  const before = await stack.redis('HGET', 'lingmo:gateway_keys', hash);
  for (const [body, status] of [[{ models: 'x' }, 400], [{ models: [5] }, 400], [{ enabled: 'no' }, 400], [{ enabled: 0 }, 400]]) {
    const r = await d.put(admin, `/api/keys/${key.id}`, body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
  }
  assert.equal((await d.req('PUT', `/api/keys/${key.id}`, { auth: admin, body: 'x' })).status, 400);
  for (const p of ['/api/keys/ffffffff', '/api/keys/xyz', `/api/keys/${key.id}0`]) {
    const r = await d.put(admin, p, { name: 'x' });
    assert.equal(r.status, 404, `${p}: ${r.text}`);
    assert.equal(r.json.error.code, 'not_found');
  }
  assert.equal(await stack.redis('HGET', 'lingmo:gateway_keys', hash), before);
});

test('disable a key: nginx answers 401 within a second; enable brings it back', async () => {
  const off = await d.put(admin, `/api/keys/${key.id}`, { enabled: false });
  assert.equal(off.status, 200, off.text);
  assert.equal(off.json.enabled, false);
  const ms = await chatStatusWithin(key.secret, MODEL, 401);
  assert.ok(ms <= 1000);
  const on = await d.put(admin, `/api/keys/${key.id}`, { enabled: true });
  assert.equal(on.json.enabled, true);
  await chatStatusWithin(key.secret, MODEL, 200);
});

test('a provider disabled through the API stops being used within a second; enabled, it is used again', async () => {
  const ms = await stack.msUntilProvider('v2', async () => {
    const r = await d.post(admin, '/api/model/v1/disable');
    assert.equal(r.status, 200, r.text);
  }, { timeout: 1000 });
  assert.ok(ms <= 1000, `${ms} ms`);
  const back = await stack.msUntilProvider('v1', async () => {
    assert.equal((await d.post(admin, '/api/model/v1/enable')).status, 200);
  }, { timeout: 1000 });
  assert.ok(back <= 1000);
});

test('reorder through the API changes which provider nginx uses first within a second', async () => {
  const ms = await stack.msUntilProvider('v2', async () => {
    assert.equal((await d.post(admin, '/api/model/reorder', { order: ['v2', 'v1'] })).status, 200);
  }, { timeout: 1000 });
  assert.ok(ms <= 1000);
  await stack.msUntilProvider('v1', async () => {
    assert.equal((await d.post(admin, '/api/model/reorder', { order: ['v1', 'v2'] })).status, 200);
  }, { timeout: 1000 });
});

test('manual quota entry: "used so far" entered through the API makes nginx switch providers at the threshold', async () => {
  // v1 gets a daily request quota of 100 (switch at 99); nothing counted yet, so it serves.
  const up = await d.put(admin, '/api/model/v1', { quotas: ['requests/day=100'] });
  assert.equal(up.status, 200, up.text);
  await stack.msUntilProvider('v1', async () => {}, { timeout: 1000 });
  // The vendor's console says 99 are used: enter it; the next requests go to v2.
  const bad = await d.post(admin, '/api/quota/v1/0/used', { used: -1 });
  assert.equal(bad.status, 400, bad.text);
  assert.equal((await d.post(admin, '/api/quota/v1/7/used', { used: 1 })).status, 404);
  const ms = await stack.msUntilProvider('v2', async () => {
    const r = await d.post(admin, '/api/quota/v1/0/used', { used: 99 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.used, 99);
  }, { timeout: 1000 });
  assert.ok(ms <= 1000);
  const stat = await d.get(admin, '/api/quota/stat');
  const rule = stat.json.rules.find((x) => x.provider === 'v1' && x.rule === 0);
  assert.ok(rule.used >= 99, JSON.stringify(rule));
  assert.equal(rule.limit, 100);
  // Back to normal for the tests after this one.
  assert.equal((await d.put(admin, '/api/model/v1', { quotas: [] })).status, 200);
  await stack.resetParks();
  await stack.msUntilProvider('v1', async () => {}, { timeout: 1500 });
});

test('a provider deleted through the API stops serving its model within a second', async () => {
  assert.equal((await d.del(admin, '/api/model/cp-new')).status, 200);
  await chatStatusWithin(stack.key, 'cp-new-model', 404);
});

test('revoke a key: nginx answers 401 within a second; the key is gone from the list; a second revoke is 404', async () => {
  const r = await d.del(admin, `/api/keys/${key.id}`);
  assert.equal(r.status, 200, r.text);
  const ms = await chatStatusWithin(key.secret, MODEL, 401);
  assert.ok(ms <= 1000);
  assert.equal(await stack.redis('HEXISTS', 'lingmo:gateway_keys', sha256(key.secret)), '0');
  const list = await d.get(admin, '/api/keys');
  assert.ok(!list.json.keys.some((k) => k.id === key.id));
  const again = await d.del(admin, `/api/keys/${key.id}`);
  assert.equal(again.status, 404);
  // The other key is untouched.
  assert.equal((await stack.chat(chatBody())).status, 200);
});
