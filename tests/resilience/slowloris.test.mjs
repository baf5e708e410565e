// Slowloris beside normal load. Hundreds of connections trickle their request head a few bytes
// at a time, or send a head and part of a body and then stall, or trickle a body slowly but
// steadily; meanwhile normal requests (stream and non-stream) run on fresh connections. What
// must hold:
//   * every normal request succeeds and keeps its latency (p95 within a generous multiple of the
//     same load measured before the slow clients arrived; no request stalls for a second);
//   * a head not complete within client_header_timeout (2 s here, set by this file through the
//     harness's server block) is dropped without an answer;
//   * a body that stops arriving for client_body_timeout (2 s here) is dropped; no vendor is called;
//   * a body that keeps arriving, however slowly, is not dropped (client_body_timeout is per read,
//     nginx's semantics) and is served normally once complete;
//   * no worker is lost.
// LINGMO_RESILIENCE_LONG=1: 3x the slow connections and a longer run.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, contentOf, parseResponses, sleep, waitFor } from '../integration/harness.mjs';
import { fmt, loadLoop, pick, rawConnect, stats } from './lib.mjs';

const HEADER_TIMEOUT_S = 2;
const BODY_TIMEOUT_S = 2;

let stack;
before(async () => {
  stack = await startStack({
    vendors: 2,
    nginxConf: { server: `client_header_timeout ${HEADER_TIMEOUT_S}s; client_body_timeout ${BODY_TIMEOUT_S}s;` },
  });
});
after(async () => { await stack?.stop(); });
afterEach(() => { stack.checkLog(); });

// Normal traffic: lanes alternating non-stream and stream requests; every answer is checked.
function normalLoad(until) {
  let i = 0;
  return loadLoop(3, until, async () => {
    if (i++ % 2) {
      const r = await stack.chat(chatBody());
      if (r.status !== 200 || r.json?.choices?.[0]?.message?.content !== 'v1 says hello') throw new Error(`HTTP ${r.status} ${r.text}`);
    } else {
      const s = await stack.chatStream(chatBody());
      if (contentOf(s) !== 'v1-chunk-0 v1-chunk-1 v1-chunk-2 ' || s.events.at(-1)?.data !== '[DONE]') throw new Error(`stream: ${s.text.slice(-200)}`);
    }
  }, { pauseMs: 10 });
}

const HEAD = (len) => `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${stack.key}\r\n` +
  `Content-Type: application/json\r\nContent-Length: ${len}\r\n\r\n`;

test('slow clients beside normal load: normal latency holds, stalled heads and bodies are dropped on the timeouts, slow bodies are served', async () => {
  const pids = stack.workerPids();
  const v1 = stack.vendor(1);

  // Baseline: the normal load alone.
  let t = performance.now();
  const base = (await normalLoad(() => performance.now() - t > 2000));
  assert.ok(base.every((x) => x.ok), base.find((x) => !x.ok)?.error?.message);
  const baseStats = stats(base.map((x) => x.ms));

  const N_HEAD = pick(300, 900);
  const N_STALL = pick(100, 300);
  const N_TRICKLE = pick(40, 120);
  const body = JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'echo:slow but complete' }] }));
  const requestsBefore = (await v1.stats()).requests;

  // 1. Heads trickled 2 bytes every 250 ms: never complete within client_header_timeout.
  const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${stack.key}\r\nX-Slow: ${'s'.repeat(200)}\r\n`;
  const heads = await Promise.all(Array.from({ length: N_HEAD }, () => rawConnect(stack.gatewayPort)));
  const headStart = performance.now();
  // 2. Head and 10 bytes of the body, then nothing.
  const stalls = await Promise.all(Array.from({ length: N_STALL }, () => rawConnect(stack.gatewayPort)));
  const stallStart = performance.now();
  for (const c of stalls) c.write(HEAD(Buffer.byteLength(body)) + body.slice(0, 10));
  // 3. Head, then the body 3 bytes every 250 ms (never silent for client_body_timeout).
  const trickles = await Promise.all(Array.from({ length: N_TRICKLE }, () => rawConnect(stack.gatewayPort)));
  for (const c of trickles) c.write(HEAD(Buffer.byteLength(body)));

  let pos = 0;
  let sent = 0;
  const ticker = setInterval(() => {
    for (const c of heads) if (!c.closed) c.write(head.slice(pos, pos + 2));
    pos += 2;
    for (const c of trickles) if (!c.closed && sent < body.length) c.write(body.slice(sent, sent + 3));
    sent += 3;
  }, 250);

  // Normal load while the slow clients are there (the trickled bodies take ~5 s).
  t = performance.now();
  const during = await normalLoad(() => performance.now() - t > pick(4500, 15000));
  const trickleDoneAt = performance.now();
  try {
    await waitFor(() => sent >= body.length, { timeout: 30000, what: 'the trickled bodies to be sent' });
    // The trickled bodies are complete: each gets its answer.
    await waitFor(() => trickles.every((c) => parseResponses(Buffer.from(c.data(), 'latin1')).responses.length === 1),
      { timeout: 5000, what: 'an answer on every trickled body' });
  } finally {
    clearInterval(ticker);
  }

  const failed = during.filter((x) => !x.ok);
  assert.equal(failed.length, 0, `normal requests failed beside the slow clients: ${failed.slice(0, 3).map((x) => x.error.message).join('; ')}`);
  const duringStats = stats(during.map((x) => x.ms));
  process.stderr.write(`# slowloris: ${N_HEAD} slow heads, ${N_STALL} stalled bodies, ${N_TRICKLE} trickled bodies\n` +
    `#   normal load alone:      ${fmt(baseStats)}\n#   beside the slow clients: ${fmt(duringStats)}\n`);
  assert.ok(during.length >= base.length / 2, `throughput fell from ${base.length} to ${during.length} requests`);
  assert.ok(duringStats.p95 <= 4 * baseStats.p95 + 150, `p95 ${duringStats.p95.toFixed(0)} ms beside the slow clients, ${baseStats.p95.toFixed(0)} ms without`);
  assert.ok(duringStats.max < 1500, `a normal request took ${duringStats.max.toFixed(0)} ms`);

  // Slow heads: dropped on client_header_timeout, without an answer.
  const headClosed = heads.map((c) => (c.closed ? c.closedAt - headStart : Infinity));
  assert.ok(heads.every((c) => c.closed), `${heads.filter((c) => !c.closed).length} slow heads still open after ${((trickleDoneAt - headStart) / 1000).toFixed(1)} s`);
  assert.ok(Math.min(...headClosed) >= HEADER_TIMEOUT_S * 1000 - 250, `a slow head was dropped after ${Math.min(...headClosed).toFixed(0)} ms`);
  assert.ok(Math.max(...headClosed) < HEADER_TIMEOUT_S * 1000 + 2500, `a slow head lived ${Math.max(...headClosed).toFixed(0)} ms`);
  assert.ok(heads.every((c) => c.data() === ''), 'no answer to an incomplete head');

  // Stalled bodies: dropped on client_body_timeout.
  const stallClosed = stalls.map((c) => (c.closed ? c.closedAt - stallStart : Infinity));
  assert.ok(stalls.every((c) => c.closed), `${stalls.filter((c) => !c.closed).length} stalled bodies still open`);
  assert.ok(Math.min(...stallClosed) >= BODY_TIMEOUT_S * 1000 - 250, `a stalled body was dropped after ${Math.min(...stallClosed).toFixed(0)} ms`);
  assert.ok(Math.max(...stallClosed) < BODY_TIMEOUT_S * 1000 + 2500, `a stalled body lived ${Math.max(...stallClosed).toFixed(0)} ms`);

  // Trickled bodies: each served, with the vendor's answer to that body.
  for (const c of trickles) {
    const [r] = parseResponses(Buffer.from(c.data(), 'latin1')).responses;
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).choices[0].message.content, 'slow but complete');
    c.sock.destroy();
  }
  const normalCount = base.length + during.length;
  assert.equal((await v1.stats()).requests - requestsBefore, during.length + N_TRICKLE,
    `the vendor got the normal requests and the ${N_TRICKLE} completed bodies, nothing for the ${N_HEAD + N_STALL} dropped ones (${normalCount} normal in all)`);
  assert.deepEqual(stack.workerPids(), pids, 'no worker was lost');
  await sleep(10);
});
