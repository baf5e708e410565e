// A client that goes away: the vendor call is closed within a second (the fakes' stats count a
// call as `aborted` when its connection closes before the answer finished), for every client
// dialect against every vendor dialect, mid-stream and while the vendor is still silent; for many
// clients leaving at once; and for a client that had stopped reading (the gateway had paused the
// vendor for it, so nothing is being written when it leaves). No failover follows, and the
// gateway keeps serving.
//
// integration/basic covers one chat client leaving mid-stream and while a vendor hangs; this file
// covers the other dialects, the crowd and the paused client.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startStack, chatBody, rawRequest, waitFor, sleep } from '../integration/harness.mjs';
import { startFirehose } from '../integration/firehose.mjs';
import { CLIENTS, PATH, bodyFor, headersFor, pick } from './lib.mjs';

let stack;
let fire;
const VENDOR = { openai: 'v1', anthropic: 'v2', gemini: 'v3' };
const MODEL_OF = { openai: 'to-openai', anthropic: 'to-anthropic', gemini: 'to-gemini' };

before(async () => {
  fire = await startFirehose({ chunks: 16000, chunkBytes: 2048 });
  stack = await startStack({
    vendors: 3,
    dialects: ['openai', 'anthropic', 'gemini'],
    seed: async (st) => {
      const extra = { v1: ['to-openai=m-v1'], v2: ['to-anthropic=m-v2'], v3: ['to-gemini=gemini-2.5-flash'] };
      for (const [i, v] of st.vendors.entries()) {
        const models = [`gpt-test=fake-${v.name}`, ...extra[v.name]].flatMap((m) => ['--model', m]);
        await st.admin('provider', 'add', '--id', v.name, '--base-url', v.baseUrl, '--api-key', v.key, '--dialect', v.dialect,
          ...models, '--priority', String(10 * (i + 1)));
      }
      await st.admin('provider', 'add', '--id', 'fire', '--base-url', fire.baseUrl, '--api-key', fire.key,
        '--model', 'gpt-fire=fire-model', '--priority', '1');
    },
  });
});
after(async () => {
  try { await stack?.stop(); } finally { await fire?.close(); }
});
beforeEach(async () => { await stack.resetVendors(); });
afterEach(async () => {
  stack.checkLog();
  // The gateway keeps serving after every case.
  const r = await stack.chat(chatBody());
  assert.equal(r.status, 200, r.text);
});

// Sends a request in `client`'s dialect and resolves once `events` SSE events (0: the response
// headers) have arrived, with abort() to drop the connection.
async function startThenLeave(client, model, { stream, events }) {
  const body = bodyFor(client, model, 'hi', stream ? { stream: true } : {});
  const p = rawRequest({ port: stack.gatewayPort, method: 'POST', path: PATH[client], body,
    headers: { ...stack.authHeaders(), ...headersFor(client) } });
  p.catch(() => {});
  if (events === 0) return { abort: p.abort };
  const res = await p;
  assert.equal(res.statusCode, 200);
  await new Promise((resolve) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { buf += c; if (buf.split('\n\n').length - 1 >= events) resolve(); });
    res.on('close', resolve);
  });
  return { abort: () => res.destroy() };
}

async function msUntilAborted(v, n, { timeout = 1000 } = {}) {
  const t0 = performance.now();
  await waitFor(async () => (await v.stats()).aborted >= n, { timeout, interval: 10, what: `${v.name} to see ${n} call(s) aborted` });
  return performance.now() - t0;
}

for (const dialect of ['openai', 'anthropic', 'gemini']) {
  test(`vendor ${dialect}: every client dialect leaving mid-stream or before the first byte closes the vendor call within 1 s`, async () => {
    const v = stack.vendor(VENDOR[dialect]);
    let aborted = 0;
    for (const client of CLIENTS) {
      // Mid-stream: a slow stream, the client leaves after 3 events.
      await v.mode({ mode: 'normal', chunks: 50, delay_ms: 100, times: 1 });
      const mid = await startThenLeave(client, MODEL_OF[dialect], { stream: true, events: 3 });
      mid.abort();
      const ms = await msUntilAborted(v, ++aborted);
      assert.ok(ms < 1000, `${client} mid-stream: vendor call closed ${ms.toFixed(0)} ms after the client left`);

      // The vendor has not answered yet (stream and non-stream).
      for (const stream of [true, false]) {
        await v.mode({ mode: 'hang', times: 1 });
        const before = (await v.stats()).requests;
        const silent = await startThenLeave(client, MODEL_OF[dialect], { stream, events: 0 });
        await waitFor(async () => (await v.stats()).requests > before, { timeout: 2000, what: 'the vendor to get the call' });
        await sleep(100);
        silent.abort();
        const ms2 = await msUntilAborted(v, ++aborted);
        assert.ok(ms2 < 1000, `${client} ${stream ? 'stream' : 'non-stream'} before the first byte: closed after ${ms2.toFixed(0)} ms`);
      }
    }
    const st = await v.stats();
    assert.equal(st.aborted, 9);
    assert.equal(st.requests, 9, 'each call made once: no retry, no failover for clients that left');
    await sleep(1600);  // past lingmo_first_byte_timeout: a timeout must not start a failover for nobody
    for (const other of Object.values(VENDOR).filter((n) => n !== v.name))
      assert.equal((await stack.vendor(other).stats()).requests, 0, `${other} was called`);
  });
}

test('many clients leaving at once: every vendor call is closed within 1 s and the vendor connections are released', async () => {
  const N = pick(40, 200);
  const v1 = stack.vendor(1);
  await v1.mode({ mode: 'normal', chunks: 100, delay_ms: 100 });
  const idle = (await v1.stats()).open_connections;
  const clients = await Promise.all(Array.from({ length: N }, () => startThenLeave('chat', 'to-openai', { stream: true, events: 2 })));
  assert.ok((await v1.stats()).open_connections >= N, 'one vendor connection per live stream');
  const t0 = performance.now();
  for (const c of clients) c.abort();
  await msUntilAborted(v1, N);
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `${N} vendor calls closed ${ms.toFixed(0)} ms after their clients left`);
  // Cancelled calls are not kept as warm connections: the vendor side is back to what it was.
  await waitFor(async () => (await v1.stats()).open_connections <= idle + 2, { timeout: 2000, what: 'vendor connections to close' });
  await v1.mode('normal');
  const ok = await Promise.all(Array.from({ length: 10 }, () => stack.chat(chatBody({ model: 'to-openai' }))));
  assert.ok(ok.every((r) => r.status === 200));
});

test('a client that stopped reading (vendor paused by back-pressure) and then leaves: the vendor call is closed within 1 s', async () => {
  fire.state.closedEarly = false;
  fire.state.finished = false;
  const sock = net.connect(stack.gatewayPort, '127.0.0.1');
  sock.on('error', () => {});
  await new Promise((resolve) => sock.once('connect', resolve));
  const payload = JSON.stringify({ model: 'gpt-fire', messages: [{ role: 'user', content: 'flood me' }], stream: true });
  sock.pause();
  sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${stack.key}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`);
  // The pipeline fills up and the vendor stalls (the gateway stopped reading from it).
  await waitFor(() => fire.state.waitingDrain, { timeout: 3000, what: 'the vendor to be held back' });
  await sleep(700);
  assert.equal(fire.state.finished, false);
  assert.equal(fire.state.closedEarly, false);
  const t0 = performance.now();
  sock.destroy();
  await waitFor(() => fire.state.closedEarly, { timeout: 1000, interval: 10, what: 'the held-back vendor call to be closed' });
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `closed ${ms.toFixed(0)} ms after the client left`);
  assert.equal(fire.state.finished, false);
});
