// Vendor faults seen by every client dialect: a vendor connection cut mid-stream (FIN and TCP RST,
// with and without pauses between events, and inside an event), and truncated non-stream bodies
// (a Content-Length body cut short, a complete HTTP answer whose JSON is cut).
//
// What must hold: the client gets every complete event the vendor sent before the cut (the
// text is compared exactly), then one error in its own dialect, and never the dialect's normal
// ending (`[DONE]`, `message_delta`/`message_stop`, `response.completed`) — a client must not
// take a broken answer for a whole one. A cut before any content is failed over when another
// provider can serve, and otherwise answered with a whole JSON error in the client's dialect.
// Non-stream: nothing of the truncated body is relayed; the answer is a 502 error in the
// client's dialect, or the next provider's answer.
//
// Already covered elsewhere (not repeated): failover of a chat request on reset/malformed
// (integration/failover), the Anthropic error_mid_stream passthrough and one reset per client
// (integration/dialects "errors: a stream that fails after content ...").
//
// Vendors: v1 openai, v2 anthropic, v3 gemini (the fakes). Models: to-openai -> v1,
// to-anthropic -> v2, to-gemini -> v3 (one provider each: nothing to fail over to),
// trio -> v1, v2, v3 in that order, cut -> the in-process vendor below (priority 1), then v1.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack } from '../integration/harness.mjs';
import { CLIENTS, bodyFor, send, streamOutcome } from './lib.mjs';

let stack;
let cutter;  // in-process vendor that stops inside an event

const VENDOR = { openai: 'v1', anthropic: 'v2', gemini: 'v3' };
const MODEL_OF = { openai: 'to-openai', anthropic: 'to-anthropic', gemini: 'to-gemini' };

// The text each fake streams before a reset_mid_stream cut with `n` chunks (tests/fakes/README.md).
function textBeforeCut(dialect, n) {
  const name = VENDOR[dialect];
  if (dialect === 'openai') return Array.from({ length: n }, (_, i) => `${name}-chunk-${i} `).join('');
  if (dialect === 'anthropic') return Array.from({ length: n }, (_, i) => `${name}-part-${i} `).join('');
  return Array.from({ length: n }, (_, i) => `${name}-part-${i}`).join(' ');  // Gemini: word pieces, space in front
}

// An OpenAI-dialect vendor that sends the role chunk and two content chunks, then half of a third
// event (no blank line after it), then cuts the connection.
function startCutter() {
  const state = { requests: 0 };
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.requests++;
      const ev = (delta) => `data: ${JSON.stringify({ id: 'chatcmpl-cut', object: 'chat.completion.chunk', created: 1, model: 'm',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: null }] })}\n\n`;
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(ev({ role: 'assistant', content: '' }));
      res.write(ev({ content: 'cut-0 ' }));
      res.write(ev({ content: 'cut-1 ' }));
      const third = ev({ content: 'cut-2-never-whole ' });
      res.write(third.slice(0, third.length >> 1), () => setTimeout(() => req.socket.destroy(), 30));
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    state,
    baseUrl: `http://127.0.0.1:${server.address().port}/v1`,
    close: () => new Promise((ok) => { for (const s of sockets) s.destroy(); server.close(() => ok()); }),
  })));
}

before(async () => {
  cutter = await startCutter();
  stack = await startStack({
    vendors: 3,
    dialects: ['openai', 'anthropic', 'gemini'],
    seed: async (st) => {
      const extra = { v1: ['to-openai=m-v1', 'trio=m-v1', 'cut=m-v1'], v2: ['to-anthropic=m-v2', 'trio=m-v2'], v3: ['to-gemini=gemini-2.5-flash', 'trio=gemini-2.5-flash'] };
      for (const [i, v] of st.vendors.entries()) {
        const models = [`gpt-test=fake-${v.name}`, ...extra[v.name]].flatMap((m) => ['--model', m]);
        await st.admin('provider', 'add', '--id', v.name, '--base-url', v.baseUrl, '--api-key', v.key, '--dialect', v.dialect,
          ...models, '--priority', String(10 * (i + 1)));
      }
      await st.admin('provider', 'add', '--id', 'cutter', '--base-url', cutter.baseUrl, '--api-key', 'sk-cut',
        '--model', 'cut=m-cut', '--priority', '1');
    },
  });
});
after(async () => {
  try { await stack?.stop(); } finally { await cutter?.close(); }
});
beforeEach(async () => { await stack.resetVendors(); });
afterEach(() => { stack.checkLog(); });

// The error a client dialect gets when its stream breaks after content (translate/errors.cpp):
// checks the exact shape and that it is the last thing on the wire.
function assertStreamError(client, s, what) {
  const sse = s.sse;
  assert.ok(s.complete, `${what}: the body ends cleanly (the gateway ends the response, the client sees an error event, not a broken connection)`);
  if (client === 'chat') {
    const last = sse.at(-1);
    assert.deepEqual(Object.keys(last.data ?? {}), ['error'], `${what}: last event is data: {"error": ...}: ${s.text.slice(-300)}`);
    const e = last.data.error;
    assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'param', 'type'], what);
    assert.equal(e.type, 'upstream_error', what);
    assert.equal(e.code, 'stream_interrupted', what);
    assert.equal(e.param, null, what);
    assert.match(e.message, /failed after it had started/, what);
    assert.equal(last.event, undefined, `${what}: an OpenAI error chunk has no event: line`);
    assert.equal(sse.filter((x) => x.data?.error).length, 1, `${what}: one error chunk`);
    assert.ok(!sse.some((x) => x.data === '[DONE]'), `${what}: no [DONE] after an error`);
    assert.ok(!sse.some((x) => x.data?.choices?.[0]?.finish_reason), `${what}: no finish_reason chunk was made up`);
  } else if (client === 'messages') {
    const last = sse.at(-1);
    assert.equal(last.event, 'error', `${what}: last event is event: error: ${s.text.slice(-300)}`);
    assert.deepEqual(Object.keys(last.data).sort(), ['error', 'type'], what);
    assert.equal(last.data.type, 'error', what);
    assert.equal(last.data.error.type, 'api_error', what);
    assert.match(last.data.error.message, /failed after it had started/, what);
    assert.equal(sse.filter((x) => x.event === 'error').length, 1, `${what}: one error event`);
    for (const ending of ['message_delta', 'message_stop'])
      assert.ok(!sse.some((x) => x.event === ending), `${what}: no ${ending} after an error`);
    assert.equal(sse[0].event, 'message_start', what);
  } else {
    const names = sse.map((x) => x.event);
    assert.deepEqual(names.slice(-2), ['error', 'response.failed'], `${what}: ends with error, response.failed: ${s.text.slice(-400)}`);
    const err = sse.at(-2).data;
    assert.equal(err.type, 'error', what);
    assert.equal(err.code, 'stream_interrupted', what);
    assert.match(err.message, /failed after it had started/, what);
    const failed = sse.at(-1).data.response;
    assert.equal(failed.status, 'failed', what);
    assert.equal(failed.error.code, 'stream_interrupted', what);
    for (const ending of ['response.completed', 'response.incomplete', 'response.output_text.done', 'response.output_item.done'])
      assert.ok(!names.includes(ending), `${what}: no ${ending} after an error`);
    assert.equal(names[0], 'response.created', what);
  }
}

for (const dialect of ['openai', 'anthropic', 'gemini']) {
  for (const client of CLIENTS) {
    test(`vendor (${dialect}) cut mid-stream, FIN and RST, paced and back to back: ${client} client gets every event, then its error, no normal ending`, async () => {
      const v = stack.vendor(VENDOR[dialect]);
      for (const rst of [false, true]) {
        for (const delay of [40, 0]) {
          const what = `${client} <- ${dialect} (${rst ? 'RST' : 'FIN'}, ${delay} ms apart)`;
          await stack.resetParks();  // repeated failures open the provider's circuit breaker
          await v.mode({ mode: 'reset_mid_stream', chunks: 3, delay_ms: delay, rst, times: 1 });
          const s = await send(stack, client, bodyFor(client, MODEL_OF[dialect]), { stream: true });
          assert.equal(s.status, 200, `${what}: ${s.text.slice(0, 300)}`);
          assert.match(s.headers['content-type'], /^text\/event-stream/, what);
          const o = streamOutcome(client, s);
          assert.equal(o.text, textBeforeCut(dialect, 3), `${what}: every content event the vendor sent reached the client`);
          assertStreamError(client, s, what);
          assert.deepEqual(o.endings, [], `${what}: no normal ending`);
        }
      }
      assert.equal((await v.stats()).requests, 4, 'no retry after content was relayed');
      for (const other of Object.values(VENDOR).filter((n) => n !== VENDOR[dialect]))
        assert.equal((await stack.vendor(other).stats()).requests, 0, `${other} not called: no failover after the first byte`);
    });
  }
}

test('a vendor cut inside an event: the complete events are relayed, the half event is dropped, then the error', async () => {
  for (const client of CLIENTS) {
    const before = cutter.state.requests;
    const s = await send(stack, client, bodyFor(client, 'cut'), { stream: true });
    assert.equal(cutter.state.requests, before + 1);
    assert.equal(s.headers['x-lingmo-provider'], 'cutter', client);
    const o = streamOutcome(client, s);
    assert.equal(o.text, 'cut-0 cut-1 ', `${client}: the two whole events, nothing of the half one`);
    assert.ok(!s.text.includes('never-whole') && !s.text.includes('cut-2'), `${client}: no fragment of the cut event: ${s.text.slice(-300)}`);
    assertStreamError(client, s, `${client} <- cut inside an event`);
  }
  assert.equal((await stack.vendor('v1').stats()).requests, 0, 'content had been relayed: no failover');
});

test('a cut before any content, one provider only: a whole JSON error (status 502) in the client dialect, not a stream', async () => {
  for (const client of CLIENTS) {
    for (const rst of [false, true]) {
      const what = `${client} (${rst ? 'RST' : 'FIN'})`;
      await stack.resetParks();
      await stack.vendor('v1').mode({ mode: 'reset_mid_stream', chunks: 0, rst, times: 1 });
      const s = await send(stack, client, bodyFor(client, 'to-openai'), { stream: true });
      assert.equal(s.status, 502, `${what}: ${s.text}`);
      assert.match(s.headers['content-type'], /^application\/json/, what);
      const j = JSON.parse(s.text);
      if (client === 'messages') {
        assert.equal(j.type, 'error', what);
        assert.equal(j.error.type, 'api_error', what);
      } else {
        assert.equal(j.error.type, 'upstream_error', what);
        assert.equal(j.error.code, 'all_providers_failed', what);
      }
      assert.match(client === 'messages' ? j.error.message : j.error.message, /v1 \(m-v1\).*interrupted|v1 \(m-v1\).*malformed|v1 \(m-v1\).*connect/, what);
    }
  }
});

test('a cut before any content with another provider: failed over invisibly in every client dialect', async () => {
  for (const client of CLIENTS) {
    await stack.resetParks();
    await stack.vendor('v1').mode({ mode: 'reset_mid_stream', chunks: 0, rst: true, times: 1 });
    const s = await send(stack, client, bodyFor(client, 'trio'), { stream: true });  // (an echo would be content)
    assert.equal(s.status, 200, s.text);
    assert.match(s.headers['x-lingmo-attempts'], /^v1=[a-z_]+;v2=ok$/, client);
    const o = streamOutcome(client, s);
    assert.equal(o.error, null, `${client}: ${s.text.slice(-300)}`);
    assert.ok(o.done, `${client}: normal ending`);
    assert.equal(o.text, 'v2 says hello', client);
    assert.ok(!s.text.includes('v1-'), `${client}: nothing of the failed attempt`);
  }
});

// --- truncated non-stream bodies -------------------------------------------------------------

// Whole JSON error of a client dialect for "every provider failed" (502).
function assertFailedJson(client, r, what) {
  assert.equal(r.status, 502, `${what}: ${r.text}`);
  assert.match(r.headers['content-type'], /^application\/json/, what);
  const j = JSON.parse(r.text);
  if (client === 'messages') {
    assert.deepEqual(Object.keys(j).sort(), ['error', 'type'], what);
    assert.equal(j.type, 'error', what);
    assert.equal(j.error.type, 'api_error', what);
    assert.ok(r.headers['request-id'], `${what}: Anthropic clients get a request-id`);
  } else {
    assert.deepEqual(Object.keys(j), ['error'], what);
    assert.equal(j.error.type, 'upstream_error', what);
    assert.equal(j.error.code, 'all_providers_failed', what);
  }
  return j.error.message;
}

// Bodies cut in the middle of the JSON, in each vendor's own answer shape (mode custom: a
// complete HTTP answer whose body is not whole).
const CUT_JSON = {
  openai: '{"id":"chatcmpl-x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"half an ans',
  anthropic: '{"id":"msg_x","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"half an ans',
  gemini: '{"candidates":[{"content":{"role":"model","parts":[{"text":"half an ans',
};

for (const dialect of ['openai', 'anthropic', 'gemini']) {
  test(`truncated non-stream bodies from a ${dialect} vendor: 502 in every client dialect, nothing of the body relayed`, async () => {
    const v = stack.vendor(VENDOR[dialect]);
    for (const client of CLIENTS) {
      for (const rst of [false, true]) {
        const what = `${client} <- ${dialect} Content-Length body cut (${rst ? 'RST' : 'FIN'})`;
        await stack.resetParks();
        await v.mode({ mode: 'reset_mid_stream', rst, times: 1 });
        const r = await send(stack, client, bodyFor(client, MODEL_OF[dialect]));
        const msg = assertFailedJson(client, r, what);
        assert.match(msg, new RegExp(`${VENDOR[dialect]} \\([^)]*\\): (HTTP 200 )?interrupted`), `${what}: the cause is named: ${msg}`);
        assert.ok(!/says hello|part-0/.test(r.text), `${what}: nothing of the truncated answer: ${r.text}`);
      }
      const what = `${client} <- ${dialect} complete answer with a cut JSON body`;
      await stack.resetParks();
      await v.mode({ mode: 'custom', status: 200, body: CUT_JSON[dialect], headers: { 'content-type': 'application/json' }, times: 1 });
      const r = await send(stack, client, bodyFor(client, MODEL_OF[dialect]));
      const msg = assertFailedJson(client, r, what);
      assert.match(msg, /malformed/, `${what}: ${msg}`);
      assert.ok(!r.text.includes('half an ans'), `${what}: nothing of the cut body: ${r.text}`);
    }
    assert.equal((await v.stats()).requests, 9);
  });
}

test('a truncated non-stream body is failed over invisibly when another provider can serve (Messages and Responses clients)', async () => {
  for (const client of ['messages', 'responses']) {
    await stack.resetParks();
    await stack.vendor('v1').mode({ mode: 'reset_mid_stream', rst: false, times: 1 });
    const r = await send(stack, client, bodyFor(client, 'trio', 'echo:whole answer'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-lingmo-attempts'], 'v1=interrupted;v2=ok', client);
    const text = client === 'messages' ? r.json.content.map((b) => b.text).join('')
      : r.json.output.flatMap((o) => o.content ?? []).map((p) => p.text).join('');
    assert.equal(text, 'whole answer', client);
    assert.ok(!r.text.includes('v1 says hello'), client);
  }
});
