// Flow control: a client that stops reading must back-pressure the vendor (the gateway never
// buffers a whole stream), and the stream must complete once the client reads again.
//
// The vendor here is tests/integration/firehose.mjs (in-process), not the fake vendor: it writes
// a ~35 MB answer as fast as the connection accepts it and reports whether res.write() blocked
// and how many bytes it managed to hand over, which the fake vendor's stats cannot show.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startStack, parseResponses, Stack, sleep, waitFor } from './harness.mjs';
import { startFirehose } from './firehose.mjs';

const CHUNKS = 16000;
const CHUNK_BYTES = 2048;
let stack;
let fire;

before(async () => {
  fire = await startFirehose({ chunks: CHUNKS, chunkBytes: CHUNK_BYTES });
  stack = await startStack({ vendors: 1 });
  await stack.admin('provider', 'add', '--id', 'fire', '--base-url', fire.baseUrl, '--api-key', fire.key,
    '--model', 'gpt-fire=fire-model', '--priority', '1');
  await stack.waitConfigLoaded();
});
after(async () => {
  try { await stack?.stop(); } finally { await fire?.close(); }
});
afterEach(() => { stack.checkLog(); });

// Sends a stream request on a raw socket and pauses reading at once. resume() starts reading;
// `done` resolves with everything received when the server closes the connection.
function pausedStreamRequest(body) {
  const sock = net.connect(stack.gatewayPort, '127.0.0.1');
  sock.pause();
  const payload = JSON.stringify(body);
  sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${stack.key}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`);
  const parts = [];
  const done = new Promise((resolve, reject) => {
    sock.on('data', (c) => parts.push(c));
    sock.on('end', () => resolve(Buffer.concat(parts)));
    sock.on('error', reject);
  });
  sock.pause();  // attaching 'data' switched it to flowing
  return { sock, done, resume: () => sock.resume() };
}

function workersRssKiB() {
  return stack.workerPids().reduce((a, pid) => a + Stack.rssKiB(pid), 0);
}

function checkCompleteStream(raw) {
  const { responses, rest } = parseResponses(raw);
  assert.equal(responses.length, 1, `one complete response (chunked body ended with its last chunk); ${rest.length} bytes left over`);
  const r = responses[0];
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/event-stream/);
  const datas = r.body.split('\n\n').filter((b) => b.startsWith('data: ')).map((b) => b.slice(6));
  const errors = datas.filter((d) => d.startsWith('{"error"'));
  assert.deepEqual(errors, [], 'no error event');
  assert.equal(datas.at(-1), '[DONE]');
  // role + CHUNKS content + finish + [DONE]
  assert.equal(datas.length, CHUNKS + 3);
  for (const i of [0, 1, CHUNKS >> 1, CHUNKS - 1]) {
    const c = JSON.parse(datas[1 + i]).choices[0].delta.content;
    assert.ok(c.startsWith(`[${i}]`) && c.length === `[${i}]`.length + CHUNK_BYTES, `chunk ${i} intact and in order`);
  }
  assert.ok(!r.body.includes('"usage"'));
}

async function pausedThenResumed(pauseMs) {
  const rss0 = workersRssKiB();
  const req = pausedStreamRequest({ model: 'gpt-fire', messages: [{ role: 'user', content: 'flood me' }], stream: true });
  // Let the pipeline fill up — the vendor blocked and nothing more handed over for 200 ms (the
  // kernel buffers on both sides take a few MB; how long that takes depends on the machine's load,
  // e.g. under the sanitizer build) — then watch the vendor stall while the client does not read.
  const t0 = performance.now();
  let last = -1;
  let still = 0;
  await waitFor(() => {
    const w = fire.state.written;
    still = w === last && fire.state.waitingDrain ? still + 1 : 0;
    last = w;
    return still >= 4;
  }, { timeout: 5000, interval: 50, what: 'the vendor to block on a full pipeline' });
  const w1 = fire.state.written;
  await sleep(Math.max(300, pauseMs - (performance.now() - t0)));
  const w2 = fire.state.written;
  const s = { ...fire.state };
  const rssPaused = workersRssKiB();
  assert.equal(s.requests >= 1, true, 'the vendor got the request');
  assert.equal(s.finished, false, `vendor wrote all ${s.total} bytes while the client was not reading: no back-pressure`);
  assert.ok(s.blocked > 0 && s.waitingDrain, 'vendor res.write() returned false and it is waiting for drain');
  assert.ok(s.written < s.total / 2, `vendor handed over ${s.written} of ${s.total} bytes`);
  // Bounded, not zero: loopback TCP buffers keep growing (autotuning) for a while after both sides
  // first block, which lets a few MB more through on a slow (sanitizer) build. Without
  // back-pressure the 32 MB would be gone in this time.
  assert.ok(w2 - w1 < 6 * 1024 * 1024, `vendor kept sending while the client was paused (${w1} -> ${w2})`);
  // Under the sanitizer run (tests/sanitize.sh) ASan's quarantine keeps freed buffers resident,
  // so RSS says nothing there; the vendor-side back-pressure assertions above still apply.
  if (!process.env.LINGMO_NGINX_PRELOAD) {
    assert.ok(rssPaused - rss0 < 24 * 1024, `worker RSS grew by ${rssPaused - rss0} KiB while the client was paused`);
  }
  req.resume();
  const raw = await req.done;
  return { raw, written: s.written };
}

test('a paused client back-pressures the vendor; the stream completes after it resumes', async () => {
  const { raw } = await pausedThenResumed(1000);  // shorter than lingmo_idle_timeout (1.5 s)
  checkCompleteStream(raw);
  assert.equal(fire.state.finished, true);
});

test('a client paused longer than lingmo_idle_timeout still gets the complete stream', async () => {
  // The vendor is not idle: the gateway stopped reading from it because the client is slow. The
  // idle timeout bounds vendor silence; it must not fire while the gateway itself holds the vendor back.
  const { raw } = await pausedThenResumed(3000);
  checkCompleteStream(raw);
  assert.equal(fire.state.finished, true);
  assert.equal(fire.state.closedEarly, false);
});
