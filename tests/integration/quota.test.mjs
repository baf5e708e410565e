// The quota engine against real nginx workers sharing one Redis: switch at the threshold, the
// threshold park lasting exactly until the window resets, reservations that hold under
// concurrency, token counters corrected to what the vendor reported, and the auto-switch / pin
// settings.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, sleep, waitFor, MODEL } from './harness.mjs';

let stack;
let node2;  // a second nginx node on the same Redis
before(async () => {
  stack = await startStack({ vendors: 2, nginxConf: { http: 'lingmo_test_clock on;' } });
  node2 = await stack.startSecondNginx();
});
after(async () => { await stack?.stop(); });
beforeEach(async () => {
  await stack.resetVendors();
  await stack.admin('settings', 'set', 'auto_switch', 'on');
  await stack.admin('settings', 'set', 'pin', '');
  await stack.admin('settings', 'set', 'threshold', '0.99');
});
afterEach(async () => {
  stack.checkLog();
  await seedV1();  // back to the plain provider (no quota rules)
  await stack.redis('EVAL', "for _, k in ipairs(redis.call('KEYS', 'lingmo:quota:*')) do redis.call('DEL', k) end", '0');
  await stack.redis('DEL', 'lingmo:test:clock_offset_ms');
});

// Re-seeds provider v1 (priority 10) with extra arguments (quota rules, threshold).
async function seedV1(...extra) {
  const v1 = stack.vendor(1);
  await stack.admin('provider', 'add', '--id', 'v1', '--base-url', v1.baseUrl, '--api-key', v1.key,
    '--model', `${MODEL}=fake-v1`, '--priority', '10', ...extra);
  await sleep(100);  // pub/sub + reload
}

async function counter(field, rule = 0) {
  const keys = (await stack.redis('KEYS', `lingmo:quota:v1:${rule}:*`)).split('\n').filter(Boolean);
  if (!keys.length) return 0;
  return Number(await stack.redis('HGET', keys[0], field)) || 0;
}

const providerOf = (r) => r.headers['x-lingmo-provider'];

test('switches at the threshold: 1% of a 100-request day is kept back; parked until the next day', async () => {
  await seedV1('--quota', 'requests/day=5');  // cap = floor(5 x 0.99) = 4
  const served = [];
  for (let i = 0; i < 6; i++) served.push(providerOf(await stack.chat(chatBody())));
  assert.deepEqual(served, ['v1', 'v1', 'v1', 'v1', 'v2', 'v2']);
  assert.equal((await stack.vendor(1).stats()).requests, 4);
  const st = JSON.parse(await stack.redis('HGET', 'lingmo:provider_state', 'v1'));
  assert.equal(st.kind, 'threshold');
  const nextUtcMidnight = (Math.floor(Date.now() / 86400000) + 1) * 86400000;
  assert.equal(st.unusable_until_ms, nextUtcMidnight, 'parked exactly until the window resets');
  const r = await stack.chat(chatBody());
  assert.match(r.headers['x-lingmo-skipped'], /v1=(parked:threshold|over_threshold)/);
  assert.equal(await counter('requests'), 4);
});

test('a per-provider threshold overrides the global one', async () => {
  await seedV1('--quota', 'requests/day=10', '--threshold', '0.5');  // cap 5
  for (let i = 0; i < 7; i++) await stack.chat(chatBody());
  assert.equal((await stack.vendor(1).stats()).requests, 5);
});

test('100 concurrent requests on two nginx nodes x 2 workers against a quota for 10 admit exactly 10', async () => {
  await seedV1('--quota', 'requests/day=10', '--threshold', '1');
  await stack.vendor(1).mode({ mode: 'normal', delay_ms: 50 });
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => stack.chat(chatBody(), { port: i % 2 ? node2 : undefined })));
  assert.ok(results.every((r) => r.status === 200), 'no client request failed');
  const onV1 = results.filter((r) => providerOf(r) === 'v1').length;
  assert.equal(onV1, 10, 'the cap holds across both workers');
  assert.equal((await stack.vendor(1).stats()).requests, 10);
  await waitFor(async () => (await counter('requests')) === 10, { what: 'counter settles at 10' });
});

test('token quota: reservations are corrected to the vendor-reported usage', async () => {
  // Each answer costs 13 tokens (10 prompt + 3 completion). The estimate is larger (body/4 + max_tokens).
  await seedV1('--quota', 'total_tokens/oneoff=100', '--threshold', '1');
  const body = chatBody({ max_tokens: 3 });
  const served = [];
  for (let i = 0; i < 9; i++) served.push(providerOf(await stack.chat(body)));
  const onV1 = served.filter((p) => p === 'v1').length;
  await waitFor(async () => (await counter('total_tokens')) === 13 * onV1, { what: `total_tokens = 13 x ${onV1}` });
  // Reservations (estimate ~28 tokens) are corrected a moment after each answer, so back-to-back
  // requests see a conservative count: at least 3 fit, never more than the 7 that truly fit.
  assert.ok(onV1 >= 3 && onV1 <= 7, `v1 served ${onV1} before the grant ran out`);
  assert.equal(await counter('prompt_tokens'), 10 * onV1);
  assert.equal(await counter('requests'), onV1);
  // A one-off grant does not reset: parked until the provider is edited (a new grant entered).
  const st = JSON.parse(await stack.redis('HGET', 'lingmo:provider_state', 'v1'));
  assert.equal(st.kind, 'threshold');
  assert.ok(st.fingerprint, 'lifted by editing the provider');
});

test('a failed attempt refunds its reservation', async () => {
  await seedV1('--quota', 'requests/day=100');
  await stack.vendor(1).mode({ mode: '500', times: 1 });
  const r = await stack.chat(chatBody());
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=500;v2=ok');
  await waitFor(async () => (await counter('requests')) === 0, { what: 'the refund' });
  await stack.chat(chatBody());
  await waitFor(async () => (await counter('requests')) === 1, { what: 'one counted request' });
});

test('a model-specific rule only counts and limits that model', async () => {
  const v1 = stack.vendor(1);
  await stack.admin('provider', 'add', '--id', 'v1', '--base-url', v1.baseUrl, '--api-key', v1.key,
    '--model', `${MODEL}=fake-v1`, '--model', 'other=fake-other', '--priority', '10',
    '--quota', 'requests/day=2:other', '--threshold', '1');
  await sleep(100);
  for (let i = 0; i < 3; i++) assert.equal(providerOf(await stack.chat(chatBody())), 'v1');
  assert.equal(providerOf(await stack.chat(chatBody({ model: 'other' }))), 'v1');
  assert.equal(providerOf(await stack.chat(chatBody({ model: 'other' }))), 'v1');
  const third = await stack.chat(chatBody({ model: 'other' }));
  assert.equal(third.status, 429, 'only v1 serves "other": nothing left to switch to, and the cause is the quota');
  assert.equal(third.json.error.code, 'insufficient_quota');
  assert.match(third.json.error.message, /switch threshold of 2 requests\/day for other/);
});

test('auto-switch off: no failover, the first provider answers or fails', async () => {
  await stack.admin('settings', 'set', 'auto_switch', 'off');
  await sleep(100);
  await stack.vendor(1).mode({ mode: '429', times: 1 });
  const r = await stack.chat(chatBody());
  assert.equal(r.status, 429);
  assert.equal(r.json.error.code, 'insufficient_quota');
  assert.equal((await stack.vendor(2).stats()).requests, 0);
});

test('pin: one provider takes all the traffic it can serve', async () => {
  await stack.admin('settings', 'set', 'pin', 'v2');
  await sleep(100);
  for (let i = 0; i < 3; i++) assert.equal(providerOf(await stack.chat(chatBody())), 'v2');
  await stack.vendor(2).mode({ mode: '500', times: 1 });
  const r = await stack.chat(chatBody());
  assert.equal(r.headers['x-lingmo-attempts'], 'v2=500;v1=ok', 'the others remain the fallback');
});

test('Redis not answering in time: the request is admitted (fail open), never stalled', async () => {
  await seedV1('--quota', 'requests/day=100');
  const pid = stack.redisChild.pid;
  process.kill(pid, 'SIGSTOP');
  try {
    const t0 = Date.now();
    const r = await stack.chat(chatBody());
    assert.equal(r.status, 200);
    assert.equal(providerOf(r), 'v1');
    assert.ok(Date.now() - t0 < 1000, `answered in ${Date.now() - t0} ms`);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
});

test('a provider parked at its threshold comes back exactly when its window resets (test clock)', async () => {
  await seedV1('--quota', 'requests/minute=2', '--threshold', '1');
  const served = [];
  for (let i = 0; i < 3; i++) served.push(providerOf(await stack.chat(chatBody())));
  assert.deepEqual(served, ['v1', 'v1', 'v2']);
  const st = JSON.parse(await stack.redis('HGET', 'lingmo:provider_state', 'v1'));
  assert.equal(st.kind, 'threshold');
  assert.equal(st.unusable_until_ms % 60000, 0, 'until the minute boundary');
  // A second before the reset (test clock): still parked, on both nodes.
  const toReset = st.unusable_until_ms - Date.now();
  await stack.redis('SET', 'lingmo:test:clock_offset_ms', String(toReset - 1000));
  await stack.redis('PUBLISH', 'lingmo:events', 'clock');
  await sleep(150);
  assert.equal(providerOf(await stack.chat(chatBody())), 'v2');
  assert.equal(providerOf(await stack.chat(chatBody(), { port: node2 })), 'v2');
  // At the reset: back on v1 with a fresh window, everywhere.
  await stack.redis('SET', 'lingmo:test:clock_offset_ms', String(toReset + 100));
  await stack.redis('PUBLISH', 'lingmo:events', 'clock');
  await sleep(150);
  assert.equal(providerOf(await stack.chat(chatBody())), 'v1');
  assert.equal(providerOf(await stack.chat(chatBody(), { port: node2 })), 'v1');
  assert.equal(providerOf(await stack.chat(chatBody())), 'v2', 'the new window holds 2 again');
});

test('a money balance: spent at the provider\'s prices, switched away before it runs out', async () => {
  // 10 prompt tokens x 100 + 3 completion tokens x 1000 per 1M = 0.004 per answer; balance 0.02.
  await seedV1('--price-input', '100', '--price-output', '1000', '--quota', 'cost/oneoff=0.02', '--threshold', '1');
  const served = [];
  for (let i = 0; i < 7; i++) served.push(providerOf(await stack.chat(chatBody({ max_tokens: 3 }))));
  const onV1 = served.filter((p) => p === 'v1').length;
  assert.ok(onV1 >= 3 && onV1 <= 5, `v1 served ${onV1} answers of 0.004 from a 0.02 balance`);
  assert.deepEqual(served.slice(onV1), Array(7 - onV1).fill('v2'), 'then v2 took over for good');
  await waitFor(async () => (await counter('cost_micros')) === 4000 * onV1, { what: `cost = 0.004 x ${onV1}` });
  const out = await stack.admin('quota', 'v1');
  assert.match(out, /0\.02 cost\/oneoff/);
});

test('a vendor saying "exhausted" parks the provider until its own quota rules reset', async () => {
  await seedV1('--quota', 'requests/day=1000@Asia/Shanghai', '--quota', 'requests/minute=100');
  await stack.vendor(1).mode({ mode: '429', times: 1 });  // OpenAI insufficient_quota, no reset given
  const r = await stack.chat(chatBody());
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=429;v2=ok');
  const st = JSON.parse(await stack.redis('HGET', 'lingmo:provider_state', 'v1'));
  assert.equal(st.kind, 'quota');
  const sh = new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .format(new Date(st.unusable_until_ms));
  assert.equal(sh, '00:00', 'until the Shanghai day ends (the later of the two rules\' resets)');
  assert.ok(st.unusable_until_ms - Date.now() <= 24 * 3600 * 1000);
});
