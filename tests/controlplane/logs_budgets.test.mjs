// The request log (nginx writes a record per request to Redis; GET /api/log/list filters and
// pages it, with a routing explanation per row), gateway-key budgets (PUT /api/keys/{id}
// budgets; nginx refuses the key's requests once one is used up), per-key usage of the day, and
// circuit breakers that opened (lingmo:circuits, for the quota monitor and alerts).
// One stack (nginx, 2 fake vendors: v1 priority 10, v2 priority 20 for gpt-test) and one daemon.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL, chatBody, sleep, startStack } from '../integration/harness.mjs';
import { adminSession, msUntil, startDaemon } from './daemon.mjs';

let stack;
let d;
let admin;
let key;  // { id, secret }

before(async () => {
  stack = await startStack({ vendors: 2 });
  d = await startDaemon(stack);
  admin = await adminSession(d);
  const r = await d.post(admin, '/api/keys', { name: 'log-key' });
  assert.equal(r.status, 201, r.text);
  key = r.json;
  await msUntil(async () => (await stack.chat(chatBody(), { key: key.secret })).status === 200, { timeout: 2000, what: 'the new key' });
});

after(async () => {
  try {
    if (d && !d.exit) await d.stop();
  } finally {
    await stack?.stop();
  }
});

beforeEach(async () => {
  await stack.resetVendors();
  await sleep(300);  // records of the previous test still on their way from the workers
  await stack.redis('DEL', 'lingmo:log:requests');
});

// Waits until the log lists `n` records for the query (the workers flush within ~100 ms).
async function logRows(query = '', n = 1) {
  let last;
  await msUntil(async () => {
    last = await d.get(admin, `/api/log/list${query}`);
    return last.status === 200 && last.json.items.length >= n;
  }, { timeout: 3000, what: `${n} log rows for "${query}"` }).catch((e) => {
    throw new Error(`${e.message}; last: ${last?.status} ${last?.text}`);
  });
  return last.json;
}

test('a served request is logged with key, model, provider, usage and its explanation', async () => {
  const r = await stack.chat(chatBody(), { key: key.secret, headers: { 'User-Agent': 'log-test/1.0' } });
  assert.equal(r.status, 200, r.text);
  const usage = JSON.parse(r.text).usage;
  const { items, total } = await logRows();
  assert.equal(total, 1);
  const row = items[0];
  assert.equal(row.key, key.id);
  assert.equal(row.key_name, 'log-key');
  assert.equal(row.api, 'chat');
  assert.equal(row.model, MODEL);
  assert.equal(row.provider, 'v1');
  assert.equal(row.upstream_model, 'fake-v1');
  assert.equal(row.status, 200);
  assert.equal(row.stream, false);
  assert.equal(row.prompt_tokens, usage.prompt_tokens);
  assert.equal(row.completion_tokens, usage.completion_tokens);
  assert.equal(row.total_tokens, usage.total_tokens);
  assert.equal(row.user_agent, 'log-test/1.0');
  assert.equal(row.client_ip, '127.0.0.1');
  assert.match(row.id, /^req_/);
  assert.ok(row.latency_ms >= 0 && row.ts > Date.now() - 10000 && row.ts <= Date.now());
  assert.deepEqual(row.attempts.map((a) => [a.provider, a.outcome]), [['v1', 'ok']]);
  assert.match(row.explain, /^served by v1 \(fake-v1\)$/);
  assert.ok(!JSON.stringify(items).includes(key.secret), 'the key secret is not logged');
});

test('a failover shows every attempt and why; a stream records its time to first byte', async () => {
  await stack.vendor(1).mode({ mode: 'rate_limit', times: 1 });
  const r = await stack.chat(chatBody(), { key: key.secret });
  assert.equal(r.headers['x-lingmo-provider'], 'v2');
  const s = await stack.chatStream(chatBody(), { key: key.secret });
  assert.equal(s.status, 200);
  const { items } = await logRows('', 2);
  const [stream, failover] = items;  // newest first
  assert.deepEqual(failover.attempts.map((a) => [a.provider, a.outcome, a.status]), [['v1', 'rate_limited', 429], ['v2', 'ok', 200]]);
  assert.equal(failover.provider, 'v2');
  assert.match(failover.explain, /^served by v2 \(fake-v2\) after v1 .*429/);
  assert.equal(stream.stream, true);
  assert.ok(stream.ttfb_ms >= 0 && stream.ttfb_ms <= stream.latency_ms, JSON.stringify(stream));
  // v1 was parked by the 429 (rate limited): the stream passed it over, and says so.
  assert.ok(stream.skipped.length === 0 || stream.skipped[0].provider === 'v1');
});

test('failed requests are logged with the error the client got', async () => {
  await stack.vendor(1).mode('500');
  await stack.vendor(2).mode('500');
  const r = await stack.chat(chatBody(), { key: key.secret });
  assert.equal(r.status, 502, r.text);
  const bad = await stack.chat(chatBody({ model: 'no-such-model' }), { key: key.secret });
  assert.equal(bad.status, 404);
  const { items } = await logRows('?status=error', 2);
  const [unknown, failed] = items;
  assert.equal(failed.status, 502);
  assert.equal(failed.provider, '');
  assert.equal(failed.error, JSON.parse(r.text).error.message);
  assert.match(failed.explain, /^no provider answered: v1 .*500.*then v2 .*500/);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.model, 'no-such-model');
  assert.match(unknown.explain, /^not routed: The model `no-such-model` does not exist/);
});

test('filters (key, model, provider served or attempted, status, time) and pagination', async () => {
  const other = (await d.post(admin, '/api/keys', { name: 'other' })).json;
  await msUntil(async () => (await stack.chat(chatBody(), { key: other.secret })).status === 200, { timeout: 2000, what: 'the other key' });
  await stack.vendor(1).mode({ mode: '500', times: 1 });
  await stack.chat(chatBody(), { key: key.secret });           // v1 fails, v2 serves
  await stack.resetVendors();
  for (let i = 0; i < 3; i++) await stack.chat(chatBody(), { key: key.secret });  // v1
  await stack.chat(chatBody({ model: 'nope' }), { key: key.secret });              // 404
  const all = await logRows('', 6);
  assert.equal(all.total, 6);

  assert.equal((await d.get(admin, `/api/log/list?key=${other.id}`)).json.total, 1);
  assert.equal((await d.get(admin, `/api/log/list?key=${key.id}`)).json.total, 5);
  assert.equal((await d.get(admin, '/api/log/list?model=nope')).json.total, 1);
  const v2 = (await d.get(admin, '/api/log/list?provider=v2')).json;
  assert.equal(v2.total, 1);
  assert.equal(v2.items[0].provider, 'v2');
  assert.equal((await d.get(admin, '/api/log/list?provider=v1')).json.total, 5, 'served by v1 (4) or attempted at v1 (1)');
  assert.equal((await d.get(admin, '/api/log/list?status=4xx')).json.total, 1);
  assert.equal((await d.get(admin, '/api/log/list?status=404')).json.total, 1);
  assert.equal((await d.get(admin, '/api/log/list?status=ok')).json.total, 5);
  assert.equal((await d.get(admin, '/api/log/list?status=200')).json.total, 5);

  const ts = all.items.map((x) => x.ts);
  assert.deepEqual([...ts].sort((a, b) => b - a), ts, 'newest first');
  const mid = ts[2];
  assert.equal((await d.get(admin, `/api/log/list?since=${mid}`)).json.total, ts.filter((t) => t >= mid).length);
  assert.equal((await d.get(admin, `/api/log/list?until=${mid}`)).json.total, ts.filter((t) => t < mid).length);
  assert.equal((await d.get(admin, `/api/log/list?since=${Date.now() + 60000}`)).json.total, 0);

  const p1 = (await d.get(admin, '/api/log/list?limit=4')).json;
  const p2 = (await d.get(admin, '/api/log/list?limit=4&offset=4')).json;
  assert.equal(p1.total, 6);
  assert.equal(p1.items.length, 4);
  assert.equal(p2.items.length, 2);
  assert.deepEqual([...p1.items, ...p2.items].map((x) => x.id), all.items.map((x) => x.id));

  for (const q of ['status=abc', 'status=6xx', 'limit=0', 'limit=501', 'offset=-1', 'since=yesterday', 'until=1.5']) {
    const r = await d.get(admin, `/api/log/list?${q}`);
    assert.equal(r.status, 400, `${q}: ${r.text}`);
    assert.equal(r.json.error.code, 'invalid_request');
  }
  await d.del(admin, `/api/keys/${other.id}`);
});

test('the log needs a session; a viewer may read it', async () => {
  await stack.chat(chatBody(), { key: key.secret });
  await logRows();
  assert.equal((await d.get(null, '/api/log/list')).status, 401);
  await stack.redis('HSET', 'lingmo:admin:users', 'logviewer', await stack.redis('HGET', 'lingmo:admin:users', 'admin').then((j) => JSON.stringify({ ...JSON.parse(j), role: 'viewer', must_change: false })));
  const viewer = await d.session('logviewer', 'cp-test-admin-password-1');
  const r = await d.get(viewer, '/api/log/list');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.total, 1);
  await stack.redis('HDEL', 'lingmo:admin:users', 'logviewer');
});

test('lingmo_request_log_size caps the list the data plane keeps', async () => {
  // The default cap is 10,000; what is checked here is that the trim runs with every write.
  await stack.redis('RPUSH', 'lingmo:log:requests', ...Array.from({ length: 10005 }, (_, i) => `{"ts":${i}}`));
  await stack.chat(chatBody(), { key: key.secret });
  await msUntil(async () => Number(await stack.redis('LLEN', 'lingmo:log:requests')) === 10000, { timeout: 2000, what: 'the trim' });
  const newest = JSON.parse(await stack.redis('LINDEX', 'lingmo:log:requests', '0'));
  assert.equal(newest.key, key.id);
});

test('key budgets: requests beyond the budget are refused in the client dialect until it is raised', async () => {
  const k = (await d.post(admin, '/api/keys', { name: 'budgeted', budgets: [{ metric: 'requests', window: 'day', limit: 2 }] })).json;
  assert.deepEqual(k.budgets, [{ metric: 'requests', window: 'day', limit: 2, tz: 'UTC' }]);
  await msUntil(async () => (await stack.chat(chatBody(), { key: k.secret })).status === 200, { timeout: 2000, what: 'the budgeted key' });
  assert.equal((await stack.chat(chatBody(), { key: k.secret })).status, 200);
  const refused = await stack.chat(chatBody(), { key: k.secret });
  assert.equal(refused.status, 429, refused.text);
  const err = JSON.parse(refused.text).error;
  assert.equal(err.type, 'insufficient_quota');
  assert.equal(err.code, 'key_budget_exceeded');
  assert.match(err.message, /budget of 2 requests\/day/);
  const nextMidnight = (Math.floor(Date.now() / 86400000) + 1) * 86400000;
  const retry = Number(refused.headers['retry-after']);
  assert.ok(Math.abs(retry - (nextMidnight - Date.now()) / 1000) < 5, `Retry-After ${retry}`);
  assert.equal((await stack.vendor(1).stats()).requests, 2, 'the refused request never reached a vendor');

  // Anthropic clients get Anthropic's billing error.
  const msg = await stack.chat({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
    { key: k.secret, path: '/v1/messages', headers: { 'anthropic-version': '2023-06-01' } });
  assert.equal(msg.status, 402, msg.text);
  assert.equal(JSON.parse(msg.text).error.type, 'billing_error');

  let listed;
  await msUntil(async () => {
    listed = (await d.get(admin, '/api/keys')).json.keys.find((x) => x.id === k.id);
    return listed.today.requests === 4;
  }, { timeout: 2000, what: 'the key usage of today' });
  assert.equal(listed.budgets[0].used, 2, 'refused requests are not counted');
  assert.equal(listed.budgets[0].resets_ms, nextMidnight);
  assert.equal(listed.today.requests, 4);
  assert.equal(listed.today.failures, 2);

  const up = await d.put(admin, `/api/keys/${k.id}`, { budgets: [{ metric: 'requests', window: 'day', limit: 3 }] });
  assert.equal(up.status, 200, up.text);
  await msUntil(async () => (await stack.chat(chatBody(), { key: k.secret })).status === 200, { timeout: 2000, what: 'the raised budget' });
  assert.equal((await stack.chat(chatBody(), { key: k.secret })).status, 429);
  const cleared = await d.put(admin, `/api/keys/${k.id}`, { budgets: [] });
  assert.deepEqual(cleared.json.budgets, []);
  await msUntil(async () => (await stack.chat(chatBody(), { key: k.secret })).status === 200, { timeout: 2000, what: 'no budget' });
  await d.del(admin, `/api/keys/${k.id}`);
});

test('a token budget counts what the vendor reported, not the reservation', async () => {
  const k = (await d.post(admin, '/api/keys', { name: 'tokens', budgets: [{ metric: 'total_tokens', window: 'month', limit: 100000 }] })).json;
  await msUntil(async () => (await stack.chat(chatBody({ max_tokens: 50 }), { key: k.secret })).status === 200, { timeout: 2000, what: 'the key' });
  const r = await stack.chat(chatBody({ max_tokens: 50 }), { key: k.secret });
  const used = JSON.parse(r.text).usage.total_tokens;
  await sleep(400);  // corrections go out with the usage batch
  const listed = (await d.get(admin, '/api/keys')).json.keys.find((x) => x.id === k.id);
  assert.equal(listed.budgets[0].used, 2 * used);
  assert.equal(listed.today.total_tokens, 2 * used);
  await d.del(admin, `/api/keys/${k.id}`);
});

test('bad budgets are 400 and change nothing', async () => {
  const before = await stack.redis('HGET', 'lingmo:gateway_keys', (await stack.redis('HKEYS', 'lingmo:gateway_keys')).split('\n').find((h) => h.startsWith(key.id)));
  for (const budgets of [
    'x', [1], [{ metric: 'bananas', window: 'day', limit: 1 }], [{ metric: 'requests', window: 'fortnight', limit: 1 }],
    [{ metric: 'requests', window: 'day', limit: 0 }], [{ metric: 'requests', window: 'day', limit: 5, tz: 'Mars/Olympus' }],
    [{ metric: 'requests', window: 'day', limit: 5, model: MODEL }], Array(9).fill({ metric: 'requests', window: 'day', limit: 1 }),
  ]) {
    const r = await d.put(admin, `/api/keys/${key.id}`, { budgets });
    assert.equal(r.status, 400, `${JSON.stringify(budgets)}: ${r.text}`);
  }
  assert.equal(await stack.redis('HGET', 'lingmo:gateway_keys', (await stack.redis('HKEYS', 'lingmo:gateway_keys')).split('\n').find((h) => h.startsWith(key.id))), before);
});

test('a circuit breaker that opens is noted in Redis for the control plane', async () => {
  await stack.redis('DEL', 'lingmo:circuits');
  await stack.vendor(1).mode('500');
  // Three consecutive failures in one worker open its breaker (lingmo_circuit_breaker 3 30s);
  // with two workers, enough requests reach both.
  for (let i = 0; i < 8; i++) await stack.chat(chatBody(), { key: key.secret });
  const note = JSON.parse(await stack.redis('HGET', 'lingmo:circuits', 'v1'));
  assert.equal(note.cause, 'server_error');
  assert.ok(note.open_until_ms > Date.now() && note.since_ms <= Date.now(), JSON.stringify(note));
  assert.ok(stack.workerPids().includes(note.pid));
});

test('POST /api/model/{id}/clear lifts the park and resets the workers\' breakers: the provider serves again at once', async () => {
  // The previous test left v1 failing with its breaker open in (at least) one worker.
  await stack.vendor(1).reset();
  await stack.redis('HSET', 'lingmo:provider_state', 'v1', JSON.stringify({ unusable_until_ms: Date.now() + 600000, reason: 'test park', kind: 'quota' }));
  await sleep(1200);  // the workers' next state refresh sees the park
  assert.equal((await stack.chat(chatBody(), { key: key.secret })).headers['x-lingmo-provider'], 'v2');
  const r = await d.post(admin, '/api/model/v1/clear', {});
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { ok: true, was_parked: true });
  assert.equal(await stack.redis('HEXISTS', 'lingmo:provider_state', 'v1'), '0');
  assert.equal(await stack.redis('HEXISTS', 'lingmo:circuits', 'v1'), '0');
  // Every worker (fresh connections reach both) serves from v1 again within a second.
  await msUntil(async () => {
    for (let i = 0; i < 6; i++) if ((await stack.chat(chatBody(), { key: key.secret })).headers['x-lingmo-provider'] !== 'v1') return false;
    return true;
  }, { timeout: 1500, what: 'v1 serving on every worker' });
  assert.deepEqual((await d.post(admin, '/api/model/v1/clear', {})).json, { ok: true, was_parked: false });
  assert.equal((await d.post(admin, '/api/model/nope/clear', {})).status, 404);
  assert.ok((await stack.redis('LRANGE', 'lingmo:audit', '0', '20')).includes('provider.clear'));
});

test('GET /api/usage/series: hourly and daily usage per provider, from the data plane\'s counters', async () => {
  const before = (await d.get(admin, '/api/usage/series?provider=v2')).json;
  await stack.vendor(1).mode({ mode: '500', times: 1 });
  const r = await stack.chat(chatBody(), { key: key.secret });  // v1 fails once, v2 serves
  assert.equal(r.headers['x-lingmo-provider'], 'v2');
  const tokens = JSON.parse(r.text).usage.total_tokens;
  let hourly;
  await msUntil(async () => {
    hourly = (await d.get(admin, '/api/usage/series?step=hour&count=3')).json;
    return hourly.providers.v2.requests.at(-1) === before.providers.v2.requests.at(-1) + 1;
  }, { timeout: 2000, what: 'the hourly counter' });
  const hourNow = new Date().toISOString().slice(0, 13);
  assert.equal(hourly.step, 'hour');
  assert.equal(hourly.buckets.length, 3);
  assert.equal(hourly.buckets.at(-1), hourNow);
  assert.equal(hourly.providers.v2.total_tokens.at(-1) - before.providers.v2.total_tokens.at(-1), tokens);
  assert.ok(hourly.providers.v1.failures.at(-1) >= 1);
  assert.equal(hourly.providers.v1.requests.length, 3);
  const ttl = Number(await stack.redis('TTL', `lingmo:usageh:v2:${hourNow}`));
  assert.ok(ttl > 7 * 86400 && ttl <= 8 * 86400, `hourly counters are kept 8 days (TTL ${ttl})`);
  const daily = (await d.get(admin, '/api/usage/series?step=day&count=7&provider=v2')).json;
  assert.deepEqual(Object.keys(daily.providers), ['v2']);
  assert.equal(daily.buckets.at(-1), new Date().toISOString().slice(0, 10));
  assert.equal(daily.providers.v2.requests.at(-1), Number(await stack.redis('HGET', `lingmo:usage:v2:${daily.buckets.at(-1)}`, 'requests')));
  for (const q of ['step=week', 'count=0', 'step=hour&count=193', 'step=day&count=401', 'count=x'])
    assert.equal((await d.get(admin, `/api/usage/series?${q}`)).status, 400, q);
  assert.equal((await d.get(null, '/api/usage/series')).status, 401);
});
