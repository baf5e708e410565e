// lingmo-controld providers API (GET /api/model/list, GET/PUT/DELETE /api/model/{id},
// POST /api/model/add, POST /api/model/{id}/enable|disable, POST /api/model/reorder,
// GET /api/templates), settings (GET/PUT /api/settings, POST /api/switch/rule) and the quota views
// (GET /api/quota/stat, GET /metrics): what each answers and what it leaves in Redis.
// One stack (2 seeded providers v1, v2 with model gpt-test) and one daemon; tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/harness.mjs';
import { adminSession, configVersion, redisDump, startDaemon } from './daemon.mjs';

let stack;
let d;
let admin;

const KEY_A = 'sk-cp-secret-AAAA1111';
const KEY_B = 'sk-cp-newkey-BBBB2222';
const KEY_OR = 'sk-or-v1-template-CCCC3333';

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

async function stored(id) {
  const raw = await stack.redis('HGET', 'lingmo:providers', id);
  return raw ? JSON.parse(raw) : null;
}

// What the API must never show of a provider: the plain key or the sealed value.
function assertNoKeyMaterial(text, ...keys) {
  assert.ok(!text.includes('lmk1:'), `the sealed key is shown: ${text}`);
  assert.ok(!text.includes('api_key_sealed'), `api_key_sealed is shown: ${text}`);
  for (const k of keys) assert.ok(!text.includes(k), `the plain key ${k} is shown: ${text}`);
}

test('add a provider: 201, the vendor key sealed in Redis (lmk1:...) and only masked in the API', async () => {
  const v0 = await configVersion(stack);
  const r = await d.post(admin, '/api/model/add', {
    id: 'cp-a', name: 'CP A', base_url: `${stack.vendor(1).baseUrl}/`, api_key: KEY_A,
    models: ['cp-model=fake-cp', { name: 'cp-model-2', upstream: 'fake-cp-2' }, 'cp-plain'], priority: 50,
    headers: { 'X-Title': 'LingMo' }, threshold: 0.9,
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.id, 'cp-a');
  assert.equal(r.json.name, 'CP A');
  assert.equal(r.json.base_url, stack.vendor(1).baseUrl, 'trailing slash trimmed');
  assert.equal(r.json.priority, 50);
  assert.equal(r.json.enabled, true);
  assert.equal(r.json.threshold, 0.9);
  assert.deepEqual(r.json.models, [{ name: 'cp-model', upstream: 'fake-cp' }, { name: 'cp-model-2', upstream: 'fake-cp-2' },
    { name: 'cp-plain', upstream: 'cp-plain' }]);
  assert.equal(r.json.has_api_key, true);
  assert.equal(r.json.api_key_masked, 'sk-****1111');
  assert.equal(r.json.api_key, undefined);
  assertNoKeyMaterial(r.text, KEY_A);

  const s = await stored('cp-a');
  assert.match(s.api_key_sealed, /^lmk1:[0-9a-f]{8}:[A-Za-z0-9+/=]+$/);
  assert.equal(s.api_key, undefined);
  assert.deepEqual(s.headers, { 'X-Title': 'LingMo' });
  const dump = JSON.stringify(await redisDump(stack));
  assert.ok(!dump.includes(KEY_A), 'the plain vendor key is nowhere in Redis');
  assert.ok(await configVersion(stack) > v0, 'lingmo:config:version increased');
});

test('a sealed value sent in the body is ignored (keys are only sealed by the daemon, for this provider)', async () => {
  const sealed = (await stored('cp-a')).api_key_sealed;
  const r = await d.post(admin, '/api/model/add', { id: 'cp-steal', base_url: 'http://127.0.0.1:9/v1', models: ['m'], api_key_sealed: sealed });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.has_api_key, false);
  assert.equal((await stored('cp-steal')).api_key_sealed, '');
  assert.equal((await d.del(admin, '/api/model/cp-steal')).status, 200);
});

test('add from a template: template defaults, free-tier quotas, explicit fields win', async () => {
  const r = await d.post(admin, '/api/model/add', { id: 'cp-or', template: 'openrouter', api_key: KEY_OR, free_tier: true });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.vendor, 'openrouter');
  assert.equal(r.json.base_url, 'https://openrouter.ai/api/v1');
  assert.equal(r.json.dialect, 'openai');
  assert.ok(r.json.models.length >= 1 && r.json.models.some((m) => m.name === 'openai/gpt-oss-20b:free'), r.text);
  const q = r.json.quotas.map((x) => `${x.metric}/${x.window}=${x.limit}@${x.tz}`).sort();
  assert.deepEqual(q, ['requests/day=50@UTC', 'requests/minute=20@UTC']);
  assert.equal(r.json.api_key_masked, 'sk-****3333');
  assertNoKeyMaterial(r.text, KEY_OR);
  assert.equal((await stored('cp-or')).quotas.length, 2);

  // Without free_tier: no quotas; own base_url and models win over the template's.
  const own = await d.post(admin, '/api/model/add', {
    id: 'cp-groq', template: 'groq', base_url: stack.vendor(2).baseUrl, models: ['groq-test=fake-groq'],
  });
  assert.equal(own.status, 201, own.text);
  assert.equal(own.json.vendor, 'groq');
  assert.equal(own.json.base_url, stack.vendor(2).baseUrl);
  assert.deepEqual(own.json.models, [{ name: 'groq-test', upstream: 'fake-groq' }]);
  assert.deepEqual(own.json.quotas, []);
  assert.equal(own.json.has_api_key, false);

  // Quota specs and quota objects in the body.
  const qs = await d.post(admin, '/api/model/add', {
    id: 'cp-q', base_url: 'http://127.0.0.1:9/v1', models: ['qm'],
    quotas: ['requests/day=1500@America/Los_Angeles', 'total_tokens/minute=6000:qm', { metric: 'prompt_tokens', window: 'month', limit: 1000000 }],
  });
  assert.equal(qs.status, 201, qs.text);
  assert.deepEqual(qs.json.quotas, [
    { metric: 'requests', window: 'day', limit: 1500, tz: 'America/Los_Angeles', model: '' },
    { metric: 'total_tokens', window: 'minute', limit: 6000, tz: 'UTC', model: 'qm' },
    { metric: 'prompt_tokens', window: 'month', limit: 1000000, tz: 'UTC', model: '' },
  ]);
});

test('GET /api/templates lists the vendor templates', async () => {
  const r = await d.get(admin, '/api/templates');
  assert.equal(r.status, 200, r.text);
  const or = r.json.templates.find((t) => t.id === 'openrouter');
  assert.ok(or, r.text);
  assert.equal(or.free_tier_documented, true);
  assert.equal(or.base_url, 'https://openrouter.ai/api/v1');
  assert.ok(or.models.includes('openai/gpt-oss-20b:free'));
  assert.ok(r.json.templates.length >= 20);
});

test('GET /api/templates/{id}: one template in full (models with upstream names, free tier, quirks, balance endpoint)', async () => {
  const r = await d.get(admin, '/api/templates/deepseek');
  assert.equal(r.status, 200, r.text);
  const t = r.json;
  assert.equal(t.id, 'deepseek');
  assert.equal(t.dialect, 'openai');
  assert.equal(t.max_output_tokens, 8192);
  assert.equal(t.replay_reasoning, true);
  assert.ok(t.models.every((m) => typeof m.name === 'string' && typeof m.upstream === 'string'));
  assert.deepEqual(t.balance.kind, 'deepseek');
  assert.equal(t.balance.url, 'https://api.deepseek.com/user/balance');
  assert.ok(t.error_signatures.some((s) => /402/.test(s)));
  const or = (await d.get(admin, '/api/templates/openrouter')).json;
  assert.equal(or.free_tier.documented, true);
  assert.ok(or.free_tier.quotas.length > 0, JSON.stringify(or.free_tier));
  const missing = await d.get(admin, '/api/templates/nope');
  assert.equal(missing.status, 404, missing.text);
  assert.equal(missing.json.error.code, 'not_found');
});

test('a duplicate id is 409 already_exists and leaves the provider as it was', async () => {
  const before = await stack.redis('HGET', 'lingmo:providers', 'cp-a');
  const v0 = await configVersion(stack);
  for (const body of [{ id: 'cp-a', base_url: 'http://127.0.0.1:9/v1', models: ['x'], api_key: 'sk-other-key' },
    { id: 'v1', template: 'groq', api_key: 'sk-other-key' }]) {
    const r = await d.post(admin, '/api/model/add', body);
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.code, 'already_exists');
  }
  assert.equal(await stack.redis('HGET', 'lingmo:providers', 'cp-a'), before);
  assert.equal(await configVersion(stack), v0);
});

test('bad input is 400 invalid_request and stores nothing', async () => {
  const v0 = await configVersion(stack);
  const before = await stack.redis('HGETALL', 'lingmo:providers');
  const base = { id: 'cp-bad', base_url: 'http://127.0.0.1:9/v1', models: ['m'] };
  const cases = {
    'bad id': { ...base, id: 'bad id!' },
    'id too long': { ...base, id: 'x'.repeat(65) },
    'no id': { base_url: base.base_url, models: ['m'] },
    'bad base_url': { ...base, base_url: 'ftp://example.com/v1' },
    'no base_url': { id: 'cp-bad', models: ['m'] },
    'unknown template': { ...base, template: 'no-such-vendor' },
    'template needing account data': { id: 'cp-bad', template: 'cloudflare' },
    'no models': { ...base, models: [] },
    'models missing': { id: 'cp-bad', base_url: base.base_url },
    'models not an array': { ...base, models: 'm' },
    'a model without a name': { ...base, models: [''] },
    'a model of the wrong type': { ...base, models: [5] },
    'bad quota spec': { ...base, quotas: ['nonsense'] },
    'bad quota limit': { ...base, quotas: ['requests/day=abc'] },
    'bad quota metric': { ...base, quotas: ['bogus/day=5'] },
    'bad quota window': { ...base, quotas: ['requests/fortnight=5'] },
    'quota object without limit': { ...base, quotas: [{ metric: 'requests', window: 'day' }] },
    'quotas not an array': { ...base, quotas: 'requests/day=5' },
    'unknown dialect': { ...base, dialect: 'soap' },
    'threshold out of range': { ...base, threshold: 2 },
    'api_key not a string': { ...base, api_key: 12345 },
    'bad proxy': { ...base, proxy: 'ftp://proxy:1' },
    'negative price': { ...base, prices: { input_per_mtok: -1 } },
  };
  for (const [what, body] of Object.entries(cases)) {
    const r = await d.post(admin, '/api/model/add', body);
    assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
    assert.equal(r.json?.error?.code, 'invalid_request', what);
  }
  for (const raw of ['not json', '[]', '"str"', '']) {
    const r = await d.req('POST', '/api/model/add', { auth: admin, body: raw });
    assert.equal(r.status, 400, `body ${JSON.stringify(raw)}: ${r.text}`);
  }
  assert.equal(await stack.redis('HGETALL', 'lingmo:providers'), before);
  assert.equal(await configVersion(stack), v0);
});

test('a provider id that collides with an API path ("list") is refused: GET /api/model/list could never show it', async () => {
  const r = await d.post(admin, '/api/model/add', { id: 'list', base_url: 'http://127.0.0.1:9/v1', models: ['m'] });
  if (r.status === 201) await stack.redis('HDEL', 'lingmo:providers', 'list');  // clean up what was stored
  assert.equal(r.status, 400, r.text);
});

test('GET /api/model/{id} shows one provider; an unknown id is 404', async () => {
  const r = await d.get(admin, '/api/model/cp-a');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.id, 'cp-a');
  assert.equal(r.json.api_key_masked, 'sk-****1111');
  assertNoKeyMaterial(r.text, KEY_A);
  const none = await d.get(admin, '/api/model/nope');
  assert.equal(none.status, 404);
  assert.equal(none.json.error.code, 'not_found');
});

test('the API shows the provider\'s observed state (without its fingerprint)', async () => {
  const until = Date.now() + 600000;
  await stack.redis('HSET', 'lingmo:provider_state', 'cp-a', JSON.stringify({ unusable_until_ms: until, reason: 'quota', kind: 'quota', fingerprint: 'abc' }));
  const r = await d.get(admin, '/api/model/cp-a');
  assert.equal(r.json.state.unusable_until_ms, until);
  assert.equal(r.json.state.kind, 'quota');
  assert.equal(r.json.state.fingerprint, undefined);
});

test('update: keeps the key when api_key is absent, replaces it when given; other fields change', async () => {
  const sealed0 = (await stored('cp-a')).api_key_sealed;
  const v0 = await configVersion(stack);
  const r = await d.put(admin, '/api/model/cp-a', { name: 'Renamed', models: ['cp-model=fake-cp-renamed'], priority: 40 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.name, 'Renamed');
  assert.equal(r.json.priority, 40);
  assert.deepEqual(r.json.models, [{ name: 'cp-model', upstream: 'fake-cp-renamed' }]);
  assert.equal(r.json.api_key_masked, 'sk-****1111');
  assert.equal(r.json.threshold, 0.9, 'fields not in the body are kept');
  assert.deepEqual(r.json.headers, { 'X-Title': 'LingMo' });
  assert.equal((await stored('cp-a')).api_key_sealed, sealed0, 'the sealed key is untouched');
  assert.ok(await configVersion(stack) > v0);

  const k = await d.put(admin, '/api/model/cp-a', { api_key: KEY_B });
  assert.equal(k.status, 200, k.text);
  assert.equal(k.json.api_key_masked, 'sk-****2222');
  assertNoKeyMaterial(k.text, KEY_A, KEY_B);
  const s = await stored('cp-a');
  assert.notEqual(s.api_key_sealed, sealed0);
  assert.match(s.api_key_sealed, /^lmk1:/);
  assert.equal(s.name, 'Renamed');
  const dump = JSON.stringify(await redisDump(stack));
  assert.ok(!dump.includes(KEY_B) && !dump.includes(KEY_A));
});

test('update: a changed id, bad values and unknown providers are refused and change nothing', async () => {
  const before = await stack.redis('HGET', 'lingmo:providers', 'cp-a');
  const v0 = await configVersion(stack);
  for (const [body, status] of [[{ id: 'other' }, 400], [{ base_url: 'nope' }, 400], [{ models: [] }, 400], [{ quotas: ['x'] }, 400],
    [{ threshold: 0 }, 400], [{ dialect: 'x' }, 400]]) {
    const r = await d.put(admin, '/api/model/cp-a', body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
  }
  assert.equal((await d.put(admin, '/api/model/nope', { name: 'x' })).status, 404);
  assert.equal((await d.req('PUT', '/api/model/cp-a', { auth: admin, body: 'not json' })).status, 400);
  assert.equal(await stack.redis('HGET', 'lingmo:providers', 'cp-a'), before);
  assert.equal(await configVersion(stack), v0);
});

test('wrongly typed fields are 400, not silently replaced by defaults (enabled "false" must not enable)', async () => {
  assert.equal((await d.put(admin, '/api/model/cp-q', { priority: 60 })).status, 200);
  assert.equal((await d.post(admin, '/api/model/cp-q/disable')).status, 200);
  const before = await stack.redis('HGET', 'lingmo:providers', 'cp-q');
  const got = {};
  for (const body of [{ enabled: 'false' }, { priority: '5' }, { models: ['qm'], enabled: 0 }]) {
    const r = await d.put(admin, '/api/model/cp-q', body);
    got[JSON.stringify(body)] = r.status;
  }
  const after = await stored('cp-q');
  assert.equal(await stack.redis('HSET', 'lingmo:providers', 'cp-q', before), '0');  // restore for the next tests
  assert.deepEqual({ enabled: after.enabled, priority: after.priority }, { enabled: false, priority: 60 }, 'the stored provider changed');
  assert.deepEqual(got, { '{"enabled":"false"}': 400, '{"priority":"5"}': 400, '{"models":["qm"],"enabled":0}': 400 });
});

test('enable / disable flip the stored flag and bump the version; unknown ids are 404', async () => {
  let v = await configVersion(stack);
  const off = await d.post(admin, '/api/model/cp-a/disable');
  assert.equal(off.status, 200, off.text);
  assert.equal(off.json.enabled, false);
  assert.equal((await stored('cp-a')).enabled, false);
  assert.ok(await configVersion(stack) > v);
  v = await configVersion(stack);
  const on = await d.post(admin, '/api/model/cp-a/enable');
  assert.equal(on.status, 200);
  assert.equal(on.json.enabled, true);
  assert.equal((await stored('cp-a')).enabled, true);
  assert.ok(await configVersion(stack) > v);
  assert.equal((await stored('cp-a')).api_key_sealed.startsWith('lmk1:'), true, 'the key survives');
  for (const p of ['/api/model/nope/enable', '/api/model/nope/disable']) {
    const r = await d.post(admin, p);
    assert.equal(r.status, 404, `${p}: ${r.text}`);
  }
});

test('reorder: the listed providers get priorities 10, 20, 30 in that order; bad orders change nothing', async () => {
  const v0 = await configVersion(stack);
  const r = await d.post(admin, '/api/model/reorder', { order: ['v2', 'cp-a', 'v1'] });
  assert.equal(r.status, 200, r.text);
  assert.equal((await stored('v2')).priority, 10);
  assert.equal((await stored('cp-a')).priority, 20);
  assert.equal((await stored('v1')).priority, 30);
  assert.ok(await configVersion(stack) > v0);
  const before = await stack.redis('HGETALL', 'lingmo:providers');
  const v1 = await configVersion(stack);
  for (const [body, status] of [[{ order: ['v1', 'nope'] }, 404], [{ order: [] }, 400], [{ order: 'v1' }, 400], [{ order: [1, 2] }, 400],
    [{}, 400]]) {
    const rr = await d.post(admin, '/api/model/reorder', body);
    assert.equal(rr.status, status, `${JSON.stringify(body)}: ${rr.text}`);
  }
  assert.equal(await stack.redis('HGETALL', 'lingmo:providers'), before, 'nothing changed');
  assert.equal(await configVersion(stack), v1);
});

test('list: every provider in priority order, keys masked, and the client-model map', async () => {
  const r = await d.get(admin, '/api/model/list');
  assert.equal(r.status, 200, r.text);
  const ids = r.json.providers.map((p) => p.id);
  assert.deepEqual(ids.slice(0, 3), ['v2', 'cp-a', 'v1']);
  assert.deepEqual(new Set(ids), new Set(['v1', 'v2', 'cp-a', 'cp-or', 'cp-groq', 'cp-q']));
  const prios = r.json.providers.map((p) => p.priority);
  assert.deepEqual(prios, [...prios].sort((a, b) => a - b));
  assertNoKeyMaterial(r.text, KEY_A, KEY_B, KEY_OR, 'sk-v1', 'sk-v2');
  const v1 = r.json.providers.find((p) => p.id === 'v1');
  assert.equal(v1.has_api_key, true);
  assert.equal(v1.api_key_masked, '****', 'a short key is masked entirely');
  assert.deepEqual(r.json.models['gpt-test'], ['v2', 'v1']);
  assert.deepEqual(r.json.models['cp-model'], ['cp-a']);
  assert.deepEqual(r.json.models['groq-test'], ['cp-groq']);
});

test('delete: 200, then 404 on read and on a second delete; its observed state goes too', async () => {
  const v0 = await configVersion(stack);
  const r = await d.del(admin, '/api/model/cp-a');
  assert.equal(r.status, 200, r.text);
  assert.equal(await stack.redis('HEXISTS', 'lingmo:providers', 'cp-a'), '0');
  assert.equal(await stack.redis('HEXISTS', 'lingmo:provider_state', 'cp-a'), '0');
  assert.ok(await configVersion(stack) > v0);
  assert.equal((await d.get(admin, '/api/model/cp-a')).status, 404);
  assert.equal((await d.del(admin, '/api/model/cp-a')).status, 404);
  const list = await d.get(admin, '/api/model/list');
  assert.ok(!list.json.providers.some((p) => p.id === 'cp-a'));
  assert.equal(list.json.models['cp-model'], undefined);
});

// --- settings ------------------------------------------------------------------------------------

test('GET /api/settings shows the defaults', async () => {
  const r = await d.get(admin, '/api/settings');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { threshold: 0.99, auto_switch: true, pin: null, warn_levels: [0.8, 0.95], gateway_url: null });
});

test('PUT /api/settings stores each field in lingmo:settings and bumps the version', async () => {
  const v0 = await configVersion(stack);
  const r = await d.put(admin, '/api/settings', { threshold: 0.9, auto_switch: false, pin: 'v2', warn_levels: [0.5, 0.9] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { threshold: 0.9, auto_switch: false, pin: 'v2', warn_levels: [0.5, 0.9], gateway_url: null });
  assert.equal(await stack.redis('HGET', 'lingmo:settings', 'threshold'), '0.9');
  assert.equal(await stack.redis('HGET', 'lingmo:settings', 'auto_switch'), '0');
  assert.equal(await stack.redis('HGET', 'lingmo:settings', 'pin'), 'v2');
  assert.equal(await stack.redis('HGET', 'lingmo:settings', 'warn_levels'), '0.5,0.9');
  assert.ok(await configVersion(stack) > v0);
  const unpin = await d.put(admin, '/api/settings', { pin: null, auto_switch: true });
  assert.equal(unpin.status, 200);
  assert.equal(unpin.json.pin, null);
  assert.equal(unpin.json.threshold, 0.9, 'fields not sent are kept');
  assert.equal(await stack.redis('HEXISTS', 'lingmo:settings', 'pin'), '0');
  assert.deepEqual((await d.get(admin, '/api/settings')).json, { threshold: 0.9, auto_switch: true, pin: null, warn_levels: [0.5, 0.9], gateway_url: null });
});

test('POST /api/switch/rule sets threshold, auto_switch, pin, warn_levels and per-provider thresholds', async () => {
  const v0 = await configVersion(stack);
  const r = await d.post(admin, '/api/switch/rule', {
    threshold: 0.95, auto_switch: false, pin: 'v1', warn_levels: [0.95, 0.7], providers: { v1: 0.8, v2: 0.5 },
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { threshold: 0.95, auto_switch: false, pin: 'v1', warn_levels: [0.7, 0.95], gateway_url: null });
  assert.equal(await stack.redis('HGET', 'lingmo:settings', 'threshold'), '0.95');
  assert.equal(await stack.redis('HGET', 'lingmo:settings', 'auto_switch'), '0');
  assert.equal(await stack.redis('HGET', 'lingmo:settings', 'pin'), 'v1');
  assert.equal((await stored('v1')).threshold, 0.8);
  assert.equal((await stored('v2')).threshold, 0.5);
  assert.match((await stored('v1')).api_key_sealed, /^lmk1:/, 'the provider keeps its key');
  assert.ok(await configVersion(stack) > v0);
  // null puts a provider back on the global threshold.
  const back = await d.post(admin, '/api/switch/rule', { providers: { v2: null }, auto_switch: true, pin: null });
  assert.equal(back.status, 200, back.text);
  assert.equal((await stored('v2')).threshold, undefined);
  assert.equal((await stored('v1')).threshold, 0.8);
  assert.equal(back.json.pin, null);
  assert.equal(back.json.auto_switch, true);
  assert.equal((await d.get(admin, '/api/model/v1')).json.threshold, 0.8);
});

test('settings and switch rule: bad values are 400 and change nothing (settings, providers, version)', async () => {
  const snapshot = async () => [await stack.redis('HGETALL', 'lingmo:settings'), await stack.redis('HGETALL', 'lingmo:providers'), await configVersion(stack)];
  const before = await snapshot();
  const bad = [
    { threshold: 0 }, { threshold: 1.5 }, { threshold: -0.1 }, { threshold: '0.9' },
    { auto_switch: 'yes' }, { auto_switch: 1 },
    { pin: 5 }, { pin: ['v1'] }, { pin: 'no-such-provider' },
    { gateway_url: 'ftp://x' }, { gateway_url: 'http://a b' }, { gateway_url: 5 },
    { warn_levels: 'x' }, { warn_levels: [] }, { warn_levels: [2] }, { warn_levels: [0] }, { warn_levels: ['a'] },
    { threshold: 0.5, warn_levels: 'bad' },         // one bad field: the good one is not applied either
  ];
  for (const body of bad) {
    for (const [method, p] of [['PUT', '/api/settings'], ['POST', '/api/switch/rule']]) {
      const r = await d.req(method, p, { auth: admin, body });
      assert.equal(r.status, 400, `${method} ${p} ${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.error.code, 'invalid_request');
    }
  }
  for (const [body, status] of [
    [{ providers: { v1: 0 } }, 400], [{ providers: { v1: 1.5 } }, 400], [{ providers: { v1: 'x' } }, 400],
    [{ providers: ['v1'] }, 400], [{ providers: 'v1' }, 400],
    [{ providers: { nope: 0.5 } }, 404],
    [{ threshold: 0.5, providers: { v1: 7 } }, 400],
    [{ providers: { v1: 0.5 }, warn_levels: 'bad' }, 400],
  ]) {
    const r = await d.post(admin, '/api/switch/rule', body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
  }
  for (const raw of ['nope', '[]']) {
    assert.equal((await d.req('PUT', '/api/settings', { auth: admin, body: raw })).status, 400);
    assert.equal((await d.req('POST', '/api/switch/rule', { auth: admin, body: raw })).status, 400);
  }
  assert.deepEqual(await snapshot(), before);
});

// --- quota views -----------------------------------------------------------------------------------

test('GET /api/quota/stat lists each quota rule; GET /metrics answers Prometheus text', async () => {
  const r = await d.get(admin, '/api/quota/stat');
  assert.equal(r.status, 200, r.text);
  const mine = r.json.rules.filter((x) => x.provider === 'cp-or');
  assert.equal(mine.length, 2, r.text);
  assert.deepEqual(mine.map((x) => x.limit).sort((a, b) => a - b), [20, 50]);
  assert.ok(mine.every((x) => x.used === 0 && x.metric === 'requests'));
  const m = await d.req('GET', '/metrics');
  assert.equal(m.status, 200, m.text);
  assert.match(m.headers.get('content-type'), /^text\/plain/);
  assert.match(m.text, /lingmo_provider_parked\{provider="v1"\} 0/);
  assert.match(m.text, /lingmo_quota_used_ratio\{provider="cp-or"/);
  assertNoKeyMaterial(m.text, KEY_OR, 'sk-v1', 'sk-v2');
});

test('PUT /api/model/{id} with "threshold": null returns the provider to the global threshold', async () => {
  const set = await d.put(admin, '/api/model/v1', { threshold: 0.7 });
  assert.equal(set.status, 200, set.text);
  assert.equal((await stored('v1')).threshold, 0.7);
  const back = await d.put(admin, '/api/model/v1', { threshold: null });
  assert.equal(back.status, 200, back.text);
  assert.equal((await stored('v1')).threshold, undefined);
  assert.equal(back.json.threshold, undefined);
  assert.equal((await d.put(admin, '/api/model/v1', { threshold: 'x' })).status, 400);
});

test('settings: gateway_url (the address clients use, for the console\'s agent set-ups) is stored, shown and cleared', async () => {
  const r = await d.put(admin, '/api/settings', { gateway_url: 'https://llm.example.com' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.gateway_url, 'https://llm.example.com');
  assert.equal(await stack.redis('HGET', 'lingmo:settings', 'gateway_url'), 'https://llm.example.com');
  assert.equal((await d.get(admin, '/api/settings')).json.gateway_url, 'https://llm.example.com');
  const cleared = await d.put(admin, '/api/settings', { gateway_url: null });
  assert.equal(cleared.json.gateway_url, null);
  assert.equal(await stack.redis('HEXISTS', 'lingmo:settings', 'gateway_url'), '0');
});
