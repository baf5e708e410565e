// A worker killed (SIGKILL) in the middle of live streams: only the streams that worker served
// end, each with an error seen by its client (the connection breaks before the end of the
// chunked body: no [DONE], no clean end); every stream on the other worker finishes whole; the
// vendor sees the dead worker's calls closed at once (no call left running for nobody); the
// master starts a new worker, which loads the configuration and serves.
//
// Each answer names the worker that served it (add_header X-Worker $pid), so the test knows
// which streams belong to the worker it kills. The "exited on signal 9" alert that nginx logs
// for the killed worker is expected and allowed (Stack.allowLogLine); nothing else is.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, contentOf, readStream, sleep, waitFor } from '../integration/harness.mjs';
import { pick } from './lib.mjs';

let stack;
before(async () => {
  stack = await startStack({ vendors: 2, nginxConf: { location: 'add_header X-Worker $pid always;' } });
});
after(async () => { await stack?.stop(); });
afterEach(() => { stack.checkLog(); });

const CHUNKS = 60;  // 100 ms apart: ~6 s streams, still running when the worker is killed
const FULL = Array.from({ length: CHUNKS }, (_, i) => `v1-chunk-${i} `).join('');

// Opens streams on fresh connections until each worker serves at least `perWorker` of them (the
// kernel picks the worker), and each has relayed 2 events. Returns [{ pid, done (the readStream
// promise), events () }].
async function openStreams(perWorker, max) {
  const streams = [];
  const count = (pid) => streams.filter((s) => s.pid === pid).length;
  const pids = stack.workerPids();
  while (streams.length < max && !pids.every((p) => count(p) >= perWorker)) {
    const batch = await Promise.all(Array.from({ length: 4 }, async () => {
      const r = await stack.chat(chatBody(), { stream: true });
      assert.equal(r.status, 200);
      const pid = Number(r.headers['x-worker']);
      assert.ok(pids.includes(pid), `X-Worker ${pid} is one of the workers ${pids}`);
      let started;
      const two = new Promise((resolve) => { started = resolve; });
      const s = { pid, finished: false };
      s.done = readStream(r, { onEvent: (_e, n) => { if (n === 2) started(); } });
      s.done.then(() => { s.finished = true; started(); });
      await two;
      return s;
    }));
    streams.push(...batch);
  }
  for (const p of pids) assert.ok(count(p) >= perWorker, `worker ${p} got ${count(p)} of ${streams.length} streams`);
  return streams;
}

test('SIGKILL of a worker mid-stream: only its streams end, each with an error; the others finish; a new worker serves', async () => {
  const v1 = stack.vendor(1);
  await v1.mode({ mode: 'normal', chunks: CHUNKS, delay_ms: 100 });
  const [victim, survivor] = stack.workerPids();
  const streams = await openStreams(pick(3, 20), pick(60, 200));
  assert.ok(streams.every((s) => !s.finished), 'every stream is still running when the worker is killed');
  const doomed = streams.filter((s) => s.pid === victim);
  const kept = streams.filter((s) => s.pid === survivor);
  process.stderr.write(`# ${doomed.length} streams on the killed worker, ${kept.length} on the other\n`);
  const abortedBefore = (await v1.stats()).aborted;
  stack.allowLogLine(new RegExp(`worker process ${victim} exited on signal 9`));
  const tKill = performance.now();
  process.kill(victim, 'SIGKILL');

  // The vendor sees every call of the dead worker closed within a second (the kernel closes its sockets).
  await waitFor(async () => (await v1.stats()).aborted - abortedBefore >= doomed.length,
    { timeout: 1000, interval: 20, what: `${doomed.length} vendor calls of the killed worker to be closed` });

  const results = await Promise.all(streams.map(async (s) => ({ ...s, res: await s.done })));
  for (const s of results.filter((x) => x.pid === victim)) {
    assert.equal(s.res.complete, false, `a stream of the killed worker ended as if complete: ${s.res.text.slice(-200)}`);
    assert.ok(s.res.error, 'the client sees the stream fail (the connection broke mid-body)');
    assert.ok(!s.res.text.includes('[DONE]'), 'no [DONE] from a dead worker');
    assert.ok(s.res.events.length < CHUNKS, `the stream was cut, not finished (${s.res.events.length} events)`);
  }
  for (const s of results.filter((x) => x.pid === survivor)) {
    assert.ok(s.res.complete, 'a stream of the other worker broke');
    assert.equal(contentOf(s.res), FULL, 'a stream of the other worker lost content');
    assert.equal(s.res.events.at(-1).data, '[DONE]');
  }
  const abortedAfter = (await v1.stats()).aborted;
  assert.equal(abortedAfter - abortedBefore, doomed.length, `vendor calls aborted: only the killed worker's (${doomed.length}); kept ${kept.length}`);

  // The master replaced the worker; the new one loads the configuration and serves.
  const fresh = await waitFor(() => {
    const now = stack.workerPids();
    return now.length === 2 && !now.includes(victim) && now;
  }, { timeout: 5000, what: 'a new worker in place of the killed one' });
  assert.ok(fresh.includes(survivor), 'the other worker was not restarted');
  await stack.waitConfigLoaded({ timeout: 5000 });
  await v1.mode('normal');
  const served = new Set();
  await waitFor(async () => {
    const r = await stack.chat(chatBody());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'v1 says hello');
    served.add(Number(r.headers['x-worker']));
    return served.size === 2;
  }, { timeout: 10000, interval: 0, what: 'both workers (the new one too) to answer' });
  const s = await stack.chatStream(chatBody());
  assert.equal(s.events.at(-1).data, '[DONE]');
  // Nothing else went wrong in the log (checked in afterEach too): the kill is the only alert.
  const alerts = stack.errorLog().split('\n').filter((l) => /\[(alert|crit|emerg)\]/.test(l));
  assert.equal(alerts.length, 1, alerts.join('\n'));
  await sleep(10);
});
