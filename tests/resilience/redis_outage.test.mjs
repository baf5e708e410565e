// Redis killed, paused and flapping under concurrent load (non-stream requests and long streams
// in flight at the moment it goes): no request fails or is cut, none waits long (the quota
// admission that asks Redis is bounded by lingmo_quota_deadline, 100 ms by default), answers say
// the gateway runs degraded while Redis is gone and stop saying so once it is back, pushed
// changes arrive again, and every request is counted exactly once in the usage counters.
//
// v1 has a (never reached) daily request quota so that every request goes through the Redis
// admission path. Redis runs with an append-only file (fsync always), so a restart keeps the data.
//
// integration/usage covers sequential requests with Redis killed and non-stream load with Redis
// paused; this file adds streams in flight, concurrency, the quota path and flapping.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, contentOf, sleep, waitFor, MODEL } from '../integration/harness.mjs';
import { fmt, loadLoop, pick, stats } from './lib.mjs';

const CHUNKS = 20;
const STREAM_TEXT = Array.from({ length: CHUNKS }, (_, i) => `v1-chunk-${i} `).join('');

let stack;
before(async () => {
  stack = await startStack({
    vendors: 2,
    redisAppendOnly: true,
    // Vendor timeouts are not what this file tests: generous ones keep a loaded CI machine (Redis
    // restarting with its AOF, the load generator, two workers on 2 cores) from cutting a stream.
    nginxConf: { idleTimeout: '5s', firstByteTimeout: '5s' },
    seed: async (st) => {
      const v1 = st.vendor(1);
      await st.admin('provider', 'add', '--id', 'v1', '--base-url', v1.baseUrl, '--api-key', v1.key,
        '--model', `${MODEL}=fake-v1`, '--priority', '10', '--quota', 'requests/day=10000000');
    },
  });
});
after(async () => { await stack?.stop(); });
beforeEach(async () => {
  await stack.resetVendors();
  await stack.vendor(1).mode({ mode: 'normal', chunks: CHUNKS, delay_ms: 100 });  // streams of ~2 s
});
afterEach(() => { stack.checkLog(); });

const FIELDS = ['requests', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'failures'];
const pickFields = (u) => Object.fromEntries(FIELDS.map((k) => [k, u[k] ?? 0]));

async function settledUsage(id) {
  let prev = JSON.stringify(await stack.usage(id));
  for (;;) {
    await sleep(300);
    const now = JSON.stringify(await stack.usage(id));
    if (now === prev) return pickFields(JSON.parse(now));
    prev = now;
  }
}

// Waits until the counters of `id` equal `want`, then checks they stay there (nothing counted twice).
async function expectUsage(id, want, { timeout = 8000 } = {}) {
  let last;
  try {
    await waitFor(async () => {
      last = pickFields(await stack.usage(id));
      return JSON.stringify(last) === JSON.stringify(want);
    }, { timeout, what: `usage of ${id}` });
  } catch (e) {
    assert.deepEqual(last, want, `usage of ${id}: ${e.message}`);
  }
  await sleep(1200);  // more than one flush tick
  assert.deepEqual(pickFields(await stack.usage(id)), want, `usage of ${id} changed after settling`);
}

// Mixed load until `until()`: `plain` lanes of non-stream requests, `streams` lanes of ~2 s
// streams. Each result: { ok, ms, t, r: { kind, degraded } }; a wrong answer is a failure.
function mixedLoad(until, { plain = 3, streams = 4 } = {}) {
  return loadLoop(plain + streams, until, async (lane) => {
    if (lane < plain) {
      const r = await stack.chat(chatBody());
      if (r.status !== 200 || r.json?.choices?.[0]?.message?.content !== 'v1 says hello') throw new Error(`HTTP ${r.status} ${r.text}`);
      if (r.headers['x-lingmo-provider'] !== 'v1') throw new Error(`served by ${r.headers['x-lingmo-provider']}`);
      return { kind: 'plain', degraded: r.headers['x-lingmo-degraded'] };
    }
    const s = await stack.chatStream(chatBody());
    if (!s.complete || contentOf(s) !== STREAM_TEXT || s.events.at(-1)?.data !== '[DONE]') throw new Error(`stream cut: ${s.text.slice(-200)}`);
    return { kind: 'stream', degraded: s.headers['x-lingmo-degraded'] };
  }, { pauseMs: 5 });
}

function usageOf(results) {
  const plain = results.filter((x) => x.r.kind === 'plain').length;
  const streams = results.filter((x) => x.r.kind === 'stream').length;
  const n = plain + streams;
  return { requests: n, prompt_tokens: 10 * n, completion_tokens: 3 * plain + CHUNKS * streams,
    total_tokens: 13 * plain + (10 + CHUNKS) * streams, failures: 0 };
}

const plus = (a, b) => Object.fromEntries(FIELDS.map((k) => [k, a[k] + b[k]]));

function assertAllOk(results, what) {
  const failed = results.filter((x) => !x.ok);
  assert.equal(failed.length, 0, `${what}: ${failed.length} of ${results.length} failed: ${failed.slice(0, 3).map((x) => x.error.message).join(' | ')}`);
  assert.ok(results.some((x) => x.r.kind === 'stream') && results.some((x) => x.r.kind === 'plain'), `${what}: both kinds ran`);
}

test('Redis killed under load with streams in flight, then restarted: nothing fails, degraded while gone, counted exactly once', async () => {
  const base = await settledUsage('v1');
  let stop = false;
  const load = mixedLoad(() => stop);
  await sleep(1000);                      // streams are in flight
  const tKill = performance.now();
  await stack.killRedis();
  await sleep(pick(3000, 10000));
  const tBack = performance.now();
  await stack.startRedis();
  await sleep(3000);
  stop = true;
  const results = await load;
  assertAllOk(results, 'Redis killed');

  const plain = results.filter((x) => x.r.kind === 'plain');
  // Started well inside the outage: the answer says the gateway runs without Redis.
  const inside = plain.filter((x) => x.t > tKill + 1500 && x.t + x.ms < tBack);
  assert.ok(inside.length > 0, 'requests ran during the outage');
  assert.ok(inside.every((x) => x.r.degraded === 'redis-unavailable'), `${inside.filter((x) => !x.r.degraded).length} answers during the outage not marked degraded`);
  const plainStats = stats(plain.map((x) => x.ms));
  process.stderr.write(`# Redis killed: ${results.length} requests, non-stream ${fmt(plainStats)}\n`);
  assert.ok(plainStats.max < 1500, `a non-stream request took ${plainStats.max.toFixed(0)} ms`);

  await expectUsage('v1', plus(base, usageOf(results)));
  // Back: no longer degraded, pushed changes arrive at once again.
  await waitFor(async () => !(await stack.chat(chatBody())).headers['x-lingmo-degraded'], { timeout: 5000, what: 'the degraded mark to go' });
  await stack.msUntilProvider('v2', () => stack.admin('provider', 'disable', 'v1'), { timeout: 1000, n: 6 });
  await stack.msUntilProvider('v1', () => stack.admin('provider', 'enable', 'v1'), { timeout: 1000, n: 6 });
});

test('Redis paused (SIGSTOP) under load past the 3 s stall limit: nothing fails or waits long, counted exactly once after SIGCONT', async () => {
  const base = await settledUsage('v1');
  const pid = stack.redisChild.pid;
  let stop = false;
  const load = mixedLoad(() => stop);
  await sleep(1000);
  process.kill(pid, 'SIGSTOP');
  let results;
  try {
    await sleep(pick(5000, 15000));
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  const tCont = performance.now();
  await sleep(2000);
  stop = true;
  results = await load;
  assertAllOk(results, 'Redis paused');
  const plainStats = stats(results.filter((x) => x.r.kind === 'plain').map((x) => x.ms));
  process.stderr.write(`# Redis paused: ${results.length} requests, non-stream ${fmt(plainStats)}\n`);
  // Every request asks Redis for admission and waits at most lingmo_quota_deadline (100 ms) for it.
  assert.ok(plainStats.max < 1500, `a non-stream request took ${plainStats.max.toFixed(0)} ms while Redis was paused`);
  await expectUsage('v1', plus(base, usageOf(results)), { timeout: 10000 });
  // The subscriber connection (never reset) delivers pushed changes again.
  const ms = await stack.msUntilProvider('v2', () => stack.admin('provider', 'disable', 'v1'), { timeout: 3000, n: 6 });
  process.stderr.write(`# a pushed change took effect ${ms.toFixed(0)} ms after it was made (${(performance.now() - tCont).toFixed(0)} ms after SIGCONT)\n`);
  await stack.msUntilProvider('v1', () => stack.admin('provider', 'enable', 'v1'), { timeout: 3000, n: 6 });
});

test('Redis flapping (killed and restarted repeatedly) under load: nothing fails, counted exactly once', async () => {
  const base = await settledUsage('v1');
  let stop = false;
  const load = mixedLoad(() => stop, { plain: 2, streams: 3 });
  for (let i = 0; i < pick(3, 10); i++) {
    await sleep(400);
    await stack.killRedis();
    await sleep(700);
    await stack.startRedis();
  }
  await sleep(2500);
  stop = true;
  const results = await load;
  assertAllOk(results, 'Redis flapping');
  await expectUsage('v1', plus(base, usageOf(results)), { timeout: 10000 });
  await waitFor(async () => !(await stack.chat(chatBody())).headers['x-lingmo-degraded'], { timeout: 5000, what: 'the degraded mark to go' });
  await stack.msUntilProvider('v2', () => stack.admin('provider', 'disable', 'v1'), { timeout: 1000, n: 6 });
  await stack.msUntilProvider('v1', () => stack.admin('provider', 'enable', 'v1'), { timeout: 1000, n: 6 });
});
