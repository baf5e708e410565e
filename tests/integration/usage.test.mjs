// Usage accounting: per-provider daily counters in Redis (read back with `lingmo-admin usage`),
// stream and non-stream, failed attempts, and no loss or double count across a Redis outage.
// Redis runs with an append-only file (fsync always) so a restart after SIGKILL keeps its data.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, contentOf, waitFor, sleep } from './harness.mjs';

let stack;
before(async () => { stack = await startStack({ vendors: 2, redisAppendOnly: true }); });
after(async () => { await stack?.stop(); });
beforeEach(async () => { await stack.resetVendors(); });
afterEach(() => { stack.checkLog(); });

const ZERO = { requests: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, failures: 0, cost_micros: 0 };
const msgs = (n) => Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `m${i}` }));

function plus(a, b) {
  const o = {};
  for (const k of Object.keys(ZERO)) o[k] = (a[k] ?? 0) + (b[k] ?? 0);
  return o;
}

// Counters once they stop changing (earlier requests' increments have all landed).
async function settledUsage(id) {
  let prev = await stack.usage(id);
  for (;;) {
    await sleep(300);
    const now = await stack.usage(id);
    if (JSON.stringify(now) === JSON.stringify(prev)) return now;
    prev = now;
  }
}

// Waits until the counters equal `want`, then checks they stay there (nothing counted twice).
async function expectUsage(id, want, { timeout = 3000 } = {}) {
  let last;
  try {
    await waitFor(async () => {
      last = await stack.usage(id);
      return JSON.stringify(last) === JSON.stringify(want);
    }, { timeout, what: `usage of ${id}` });
  } catch (e) {
    assert.deepEqual(last, want, `usage of ${id}: ${e.message}`);
  }
  await sleep(1200);  // more than one flush tick
  assert.deepEqual(await stack.usage(id), want, `usage of ${id} changed after settling`);
}

test('successful requests are counted with the vendor-reported tokens (stream and non-stream)', async () => {
  const base1 = await settledUsage('v1');
  const base2 = await settledUsage('v2');
  let want = { ...ZERO };
  // Non-stream: the fake reports prompt = 10 x messages, completion = 3.
  for (const n of [1, 2, 3]) {
    const r = await stack.chat(chatBody({ messages: msgs(n) }));
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.usage, { prompt_tokens: 10 * n, completion_tokens: 3, total_tokens: 10 * n + 3 });
    want = plus(want, { requests: 1, prompt_tokens: 10 * n, completion_tokens: 3, total_tokens: 10 * n + 3 });
  }
  // Stream without include_usage: the gateway still learns the usage (completion = chunks).
  await stack.vendor(1).mode({ mode: 'normal', chunks: 4, times: 1 });
  const s = await stack.chatStream(chatBody({ messages: msgs(2) }));
  assert.equal(s.status, 200);
  assert.ok(!s.text.includes('"usage"'));
  want = plus(want, { requests: 1, prompt_tokens: 20, completion_tokens: 4, total_tokens: 24 });
  // Stream with include_usage.
  await stack.vendor(1).mode({ mode: 'normal', chunks: 6, times: 1 });
  const s2 = await stack.chatStream(chatBody({ messages: msgs(5), stream_options: { include_usage: true } }));
  assert.equal(s2.status, 200);
  assert.equal(contentOf(s2).split(' ').filter(Boolean).length, 6);
  want = plus(want, { requests: 1, prompt_tokens: 50, completion_tokens: 6, total_tokens: 56 });

  await expectUsage('v1', plus(base1, want));
  await expectUsage('v2', base2);
});

test('failed attempts are counted as requests and failures of the failing provider', async () => {
  const base1 = await settledUsage('v1');
  const base2 = await settledUsage('v2');
  await stack.vendor(1).mode({ mode: '429', times: 2 });
  const r = await stack.chat(chatBody());
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=429;v2=ok');
  // The quota error parked v1; clear it so the next request tries it again.
  await stack.resetParks();
  const s = await stack.chatStream(chatBody());
  assert.equal(s.headers['x-lingmo-attempts'], 'v1=429;v2=ok');
  await expectUsage('v1', plus(base1, { requests: 2, failures: 2 }));
  // v2: one non-stream (10/3/13) and one stream (10/3 chunks/13).
  await expectUsage('v2', plus(base2, { requests: 2, prompt_tokens: 20, completion_tokens: 6, total_tokens: 26 }));
});

test('an interrupted stream counts as a failure of its provider', async () => {
  const base1 = await settledUsage('v1');
  await stack.vendor(1).mode({ mode: 'reset_mid_stream', chunks: 2, times: 1 });
  const s = await stack.chatStream(chatBody());
  assert.match(s.events.at(-1).data, /stream_interrupted/);
  const u = await waitFor(async () => {
    const x = await stack.usage('v1');
    return x.requests === base1.requests + 1 && x;
  }, { what: 'the interrupted attempt to be counted' });
  assert.equal(u.failures, base1.failures + 1);
});

test('requests served while Redis is down are counted exactly once after it comes back', async () => {
  const base = await settledUsage('v1');

  await stack.killRedis();
  for (let i = 0; i < 5; i++) {
    const r = await stack.chat(chatBody());
    assert.equal(r.status, 200, `request ${i} with Redis down: ${r.status} ${r.text}`);
    assert.equal(r.json.choices[0].message.content, 'v1 says hello');
  }
  const s = await stack.chatStream(chatBody());  // streams too
  assert.equal(s.status, 200);
  assert.equal(s.events.at(-1).data, '[DONE]');
  // The answers say the gateway runs degraded (Redis unreachable).
  const d = await stack.chat(chatBody());
  assert.equal(d.status, 200);
  assert.equal(d.headers['x-lingmo-degraded'], 'redis-unavailable');
  await sleep(1500);  // let the workers notice and retry against the dead port
  await stack.startRedis();

  const want = plus(base, { requests: 7, prompt_tokens: 70, completion_tokens: 21, total_tokens: 91 });
  const t0 = performance.now();
  await expectUsage('v1', want, { timeout: 4500 });
  process.stderr.write(`# usage reached Redis ${(performance.now() - t0 - 1200).toFixed(0)} ms after restart\n`);

  // The workers subscribed again: pushed changes still arrive at once.
  await stack.msUntilProvider('v2', () => stack.admin('provider', 'disable', 'v1'), { timeout: 500, n: 6 });
  await stack.msUntilProvider('v1', () => stack.admin('provider', 'enable', 'v1'), { timeout: 500, n: 6 });
  await stack.resetVendors();
  const afterSwitch = await settledUsage('v1');
  want.requests = afterSwitch.requests;
  want.prompt_tokens = afterSwitch.prompt_tokens;
  want.completion_tokens = afterSwitch.completion_tokens;
  want.total_tokens = afterSwitch.total_tokens;

  // Config survived (AOF) and the gateway is fully back: new requests are counted too.
  const r = await stack.chat(chatBody());
  assert.equal(r.status, 200);
  await expectUsage('v1', plus(want, { requests: 1, prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 }));
});

test('Redis paused (SIGSTOP) under load: no request fails or stalls, usage is counted exactly once', async () => {
  const base = await settledUsage('v1');
  const pid = stack.redisChild.pid;
  process.kill(pid, 'SIGSTOP');
  let n = 0;
  try {
    // ~4 s of load: past the 3 s after which a silent Redis link is reset.
    const t0 = Date.now();
    while (Date.now() - t0 < 4000) {
      const batch = await Promise.all(Array.from({ length: 5 }, () => stack.chat(chatBody())));
      for (const r of batch) assert.equal(r.status, 200, r.text);
      n += batch.length;
    }
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await expectUsage('v1', plus(base, { requests: n, prompt_tokens: 10 * n, completion_tokens: 3 * n, total_tokens: 13 * n }),
    { timeout: 8000 });
});
