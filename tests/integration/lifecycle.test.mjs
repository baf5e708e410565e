// nginx and Redis lifecycle around live traffic: reload and graceful stop during a stream,
// workers that start while Redis is down, and a Redis that comes back without its data.
// Redis runs with an append-only file so a restart keeps the configuration.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, chatBody, contentOf, readStream, waitFor, sleep } from './harness.mjs';

let stack;
before(async () => {
  stack = await startStack({ vendors: 2, redisAppendOnly: true, nginxConf: { location: 'lingmo_config_wait 1s;' } });
});
after(async () => { await stack?.stop(); });
beforeEach(async () => { await stack.resetVendors(); });
afterEach(() => { stack.checkLog(); });

// Sends SIGHUP and waits until a complete new set of workers has replaced `old`.
async function reload(old) {
  stack.nginx.kill('SIGHUP');
  return waitFor(() => {
    const now = stack.workerPids().filter((p) => !old.includes(p));
    return now.length >= stack.conf.workerProcesses && now;
  }, { timeout: 5000, what: 'new workers after SIGHUP' });
}

// Starts a slow stream and resolves once `n` events have arrived, with the rest still coming.
async function slowStream(n = 2) {
  await stack.vendor(1).mode({ mode: 'normal', chunks: 10, delay_ms: 150 });
  const r = await stack.chat(chatBody(), { stream: true });
  assert.equal(r.status, 200);
  let started;
  const first = new Promise((resolve) => { started = resolve; });
  const done = readStream(r, { onEvent: (_e, count) => { if (count === n) started(); } });
  await first;
  return done;
}

const TEN = Array.from({ length: 10 }, (_, i) => `v1-chunk-${i} `).join('');

test('nginx reload during a stream: the stream completes, new workers serve, old ones exit', async () => {
  const old = stack.workerPids();
  const pending = await slowStream();
  const fresh = await reload(old);
  const s = await pending;
  assert.equal(contentOf(s), TEN, 'the stream in flight finished on the old worker');
  assert.equal(s.events.at(-1).data, '[DONE]');
  await waitFor(() => stack.workerPids().every((p) => !old.includes(p)), { timeout: 5000, what: 'old workers to exit' });
  await stack.waitConfigLoaded();  // the new workers loaded the config from Redis
  const r = await stack.chat(chatBody());
  assert.equal(r.status, 200);
  assert.equal(r.json.choices[0].message.content, 'v1 says hello');
  assert.ok(fresh.length >= 2);
});

test('workers started while Redis is down answer 503 config_unavailable, then recover', async () => {
  await stack.killRedis();
  await reload(stack.workerPids());
  await sleep(200);
  const t0 = performance.now();
  const r = await stack.chat(chatBody());
  const ms = performance.now() - t0;
  assert.equal(r.status, 503, r.text);
  assert.equal(r.json.error.code, 'config_unavailable');
  assert.ok(ms >= 800 && ms < 2500, `answered after ${ms.toFixed(0)} ms (lingmo_config_wait 1s)`);
  assert.equal((await stack.vendor(1).stats()).requests, 0);
  // A request waiting for the first snapshot is served as soon as Redis is back.
  const waiting = stack.chat(chatBody());
  await sleep(100);
  await stack.startRedis();
  const w = await waiting;
  assert.ok(w.status === 200 || (w.status === 503 && w.json.error.code === 'config_unavailable'), w.text);
  await waitFor(async () => (await stack.chat(chatBody())).status === 200, { timeout: 4000, what: 'requests to work again' });
  await stack.waitConfigLoaded({ timeout: 4000 });
});

test('Redis coming back empty (data lost) does not wipe the serving configuration', async () => {
  // The last snapshot keeps serving while Redis is away; a Redis that returns with no
  // lingmo:config:version at all (restart without persistence, failover to an empty replica) has
  // lost the configuration: it is not an operator's change, and must not lock every client out.
  try {
    await stack.killRedis();
    fs.rmSync(path.join(stack.dir, 'appendonlydir'), { recursive: true, force: true });
    await stack.startRedis();
    assert.equal(await stack.redis('EXISTS', 'lingmo:config:version'), '0');
    await sleep(2500);  // several refresh ticks against the empty Redis
    for (let i = 0; i < 6; i++) {
      const r = await stack.chat(chatBody());
      assert.equal(r.status, 200, `request ${i} after Redis came back empty: ${r.status} ${r.text}`);
    }
  } finally {
    await stack.seed();  // restore the configuration for the tests after this one
    await waitFor(async () => (await stack.chat(chatBody())).status === 200, { timeout: 3000, what: 'reseeded config' });
    await stack.waitConfigLoaded();
  }
});

test('graceful stop (SIGQUIT) lets a stream in flight finish', async () => {
  const pending = await slowStream();
  stack.nginx.kill('SIGQUIT');
  const s = await pending;
  assert.equal(contentOf(s), TEN);
  assert.equal(s.events.at(-1).data, '[DONE]');
  const exited = await waitFor(() => stack.nginx.exitCode !== null || stack.nginx.signalCode !== null,
    { timeout: 5000, what: 'nginx to exit after SIGQUIT' });
  assert.ok(exited);
  assert.equal(stack.nginx.exitCode, 0);
});
