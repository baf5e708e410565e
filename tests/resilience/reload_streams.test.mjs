// nginx reloaded (SIGHUP) 5 times while 100 streams are live: no stream is cut. The streams are
// opened in 5 batches of 20, one batch before each reload, so every generation of workers holds
// live streams when the next reload retires it; each stream outlives all 5 reloads. Meanwhile
// non-stream requests on fresh connections run without pause. Then every old worker exits once
// its streams are done, and only the last generation is left.
//
// integration/lifecycle covers one reload during one stream; this is the load version.
// LINGMO_RESILIENCE_LONG=1: 300 streams, 10 reloads.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, contentOf, readStream, sleep, waitFor } from '../integration/harness.mjs';
import { loadLoop, pick, stats, fmt } from './lib.mjs';

const RELOADS = pick(5, 10);
const STREAMS = pick(100, 300);
const PER_BATCH = STREAMS / RELOADS;

let stack;
before(async () => {
  stack = await startStack({ vendors: 2 });
});
after(async () => { await stack?.stop(); });
afterEach(() => { stack.checkLog(); });

// SIGHUP, then waits for a full new set of workers.
async function reload() {
  const old = stack.workerPids();
  stack.nginx.kill('SIGHUP');
  return waitFor(() => {
    const fresh = stack.workerPids().filter((p) => !old.includes(p));
    return fresh.length >= stack.conf.workerProcesses && fresh;
  }, { timeout: 10000, what: 'new workers after SIGHUP' });
}

// Opens `n` streams and resolves once each has relayed its first event:
// [{ done: the readStream promise, finished }].
async function openBatch(n) {
  return Promise.all(Array.from({ length: n }, async () => {
    const r = await stack.chat(chatBody(), { stream: true });
    assert.equal(r.status, 200);
    let first;
    const started = new Promise((resolve) => { first = resolve; });
    const s = { finished: false };
    s.done = readStream(r, { onEvent: () => first() });
    s.done.then(() => { s.finished = true; first(); });
    await started;
    return s;  // (not the promise itself: an async function would wait for the end of the stream)
  }));
}

test(`${RELOADS} reloads during ${STREAMS} live streams: no stream is cut, requests keep working, old workers exit`, async () => {
  const v1 = stack.vendor(1);
  const CHUNKS = pick(50, 100);
  const DELAY = 120;  // ~6 s (long: ~12 s) per stream: longer than the whole reload sequence
  await v1.mode({ mode: 'normal', chunks: CHUNKS, delay_ms: DELAY });
  const full = Array.from({ length: CHUNKS }, (_, i) => `v1-chunk-${i} `).join('');

  // Non-stream traffic on fresh connections throughout (same provider: the mode's pacing only
  // applies to streams). Each lane waits a little between requests, to leave CPU to nginx.
  let stop = false;
  const background = loadLoop(2, () => stop, async () => {
    const r = await stack.chat(chatBody({ stream: false }));
    if (r.status !== 200) throw new Error(`HTTP ${r.status} ${r.text}`);
    return r;
  }, { pauseMs: 5 });

  const generations = [stack.workerPids()];
  const pending = [];
  const t0 = performance.now();
  for (let i = 0; i < RELOADS; i++) {
    pending.push(...await openBatch(PER_BATCH));
    generations.push(await reload());
  }
  const reloadMs = performance.now() - t0;
  const early = pending.filter((p) => p.finished).length;
  assert.equal(early, 0, `${early} streams ended before the last reload (reloads took ${reloadMs.toFixed(0)} ms): the test would prove less`);
  const results = await Promise.all(pending.map((p) => p.done));
  stop = true;
  const bg = await background;

  const broken = results.filter((s) => !s.complete || contentOf(s) !== full || s.events.at(-1)?.data !== '[DONE]');
  assert.equal(broken.length, 0, `${broken.length} of ${STREAMS} streams cut or incomplete; first: ${broken[0]?.text.slice(-300)}`);
  assert.ok(results.every((s) => !/"error"/.test(s.text)), 'no error event in any stream');
  assert.equal((await v1.stats()).aborted, 0, 'no vendor call was cut');

  const failed = bg.filter((x) => !x.ok);
  assert.equal(failed.length, 0, `non-stream requests failed during the reloads: ${failed.slice(0, 3).map((x) => x.error.message).join('; ')}`);
  assert.ok(bg.length >= 10, `only ${bg.length} background requests ran`);
  process.stderr.write(`# ${STREAMS} streams over ${RELOADS} reloads in ${reloadMs.toFixed(0)} ms; background ${fmt(stats(bg.map((x) => x.ms)))}\n`);

  // Every retired generation exits once its streams are over; only the last one is left.
  const last = generations.at(-1);
  await waitFor(() => {
    const now = stack.workerPids();
    return now.length === last.length && now.every((p) => last.includes(p));
  }, { timeout: 10000, what: 'only the last generation of workers to be left' });
  await stack.waitConfigLoaded();
  await v1.mode('normal');
  const r = await stack.chat(chatBody());
  assert.equal(r.status, 200);
  assert.equal(r.json.choices[0].message.content, 'v1 says hello');
  await sleep(10);
});
