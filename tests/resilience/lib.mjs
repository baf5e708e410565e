// Helpers shared by the resilience suite (tests/resilience/*.test.mjs). The stack itself is
// tests/integration/harness.mjs; this file adds what several resilience files need: requests in
// each client dialect, SSE parsing with event names, per-dialect readers that rebuild the text of
// a stream and find its ending, latency statistics, and the LINGMO_RESILIENCE_LONG switch.
import net from 'node:net';
import { readStream, sleep, waitFor } from '../integration/harness.mjs';

export { sleep, waitFor };

// LINGMO_RESILIENCE_LONG=1 runs the long variants (README.md): more streams, more clients, longer load.
export const LONG = process.env.LINGMO_RESILIENCE_LONG === '1';
export const pick = (short, long) => (LONG ? long : short);

export const ANTHROPIC_HEADERS = { 'anthropic-version': '2023-06-01' };
export const CLIENTS = ['chat', 'messages', 'responses'];
export const PATH = { chat: '/v1/chat/completions', messages: '/v1/messages', responses: '/v1/responses' };

// A one-question body in a client's dialect.
export function bodyFor(client, model, text = 'hi', extra = {}) {
  if (client === 'chat') return { model, messages: [{ role: 'user', content: text }], ...extra };
  if (client === 'messages') return { model, max_tokens: 256, messages: [{ role: 'user', content: text }], ...extra };
  return { model, input: text, ...extra };
}

export function headersFor(client, extra = {}) {
  return client === 'messages' ? { ...ANTHROPIC_HEADERS, ...extra } : extra;
}

// Parses the events of a readStream() result: [{ event, data (parsed JSON, or the raw text) }].
export function parseSse(s) {
  return s.events.map((e) => {
    const ev = /^event: ?(.*)$/m.exec(e.raw)?.[1];
    let data = e.data;
    try { data = JSON.parse(e.data); } catch { /* [DONE] or raw */ }
    return { event: ev, data, t: e.t };
  });
}

// Sends a request in a client's dialect. Non-stream: { status, headers, text, json }. Stream: the
// readStream() result plus `sse` (parseSse).
export async function send(stack, client, body, { stream = false, headers = {}, key, port } = {}) {
  const h = headersFor(client, headers);
  const b = stream ? { ...body, stream: true } : body;
  if (!stream) return stack.chat(b, { path: PATH[client], headers: h, key, port });
  const r = await stack.chat(b, { path: PATH[client], headers: h, key, port, stream: true });
  const s = await readStream(r);
  s.sse = parseSse(s);
  return s;
}

// The text a stream delivered, and how it ended, in any client dialect:
// { text, done (the dialect's normal ending was sent), error (the error event's data or null),
//   endings: the names of normal-ending events seen }.
export function streamOutcome(client, s) {
  const sse = s.sse ?? parseSse(s);
  let text = '';
  let error = null;
  const endings = [];
  for (const { event, data } of sse) {
    if (client === 'chat') {
      if (data === '[DONE]') endings.push('[DONE]');
      else if (data && typeof data === 'object' && data.error) error = error ?? data;
      else text += data?.choices?.[0]?.delta?.content ?? '';
    } else if (client === 'messages') {
      if (event === 'message_stop' || event === 'message_delta') endings.push(event);
      if (event === 'error') error = error ?? data;
      if (event === 'content_block_delta' && data?.delta?.type === 'text_delta') text += data.delta.text;
    } else {
      if (event === 'response.completed' || event === 'response.incomplete') endings.push(event);
      if (event === 'error') error = error ?? data;
      if (event === 'response.output_text.delta') text += data.delta;
    }
  }
  const done = client === 'chat' ? endings.includes('[DONE]')
    : client === 'messages' ? endings.includes('message_stop') : endings.includes('response.completed');
  return { text, done, error, endings, sse };
}

// p-th percentile (0..100) of a list of numbers.
export function percentile(values, p) {
  if (!values.length) return NaN;
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

export function stats(values) {
  return { n: values.length, p50: percentile(values, 50), p95: percentile(values, 95), max: Math.max(...values) };
}

export const fmt = (st) => `n=${st.n} p50=${st.p50?.toFixed(0)} p95=${st.p95?.toFixed(0)} max=${st.max?.toFixed(0)} ms`;

// Runs `worker` in `concurrency` loops until `until()` is true; returns every result in order of
// completion: { ok, ms, r | error, lane, t (start, performance.now()) }. `worker(lane)` resolves
// to anything; a throw is recorded as { ok: false, error }. `pauseMs` between two requests of a
// lane leaves CPU to nginx (the machine may have 2 cores for everything).
export async function loadLoop(concurrency, until, worker, { pauseMs = 0 } = {}) {
  const results = [];
  await Promise.all(Array.from({ length: concurrency }, async (_, lane) => {
    while (!until()) {
      const t0 = performance.now();
      try {
        const r = await worker(lane);
        results.push({ ok: true, ms: performance.now() - t0, r, lane, t: t0 });
      } catch (error) {
        results.push({ ok: false, ms: performance.now() - t0, error, lane, t: t0 });
      }
      if (pauseMs) await sleep(pauseMs);
    }
  }));
  return results;
}

// A raw TCP connection to the gateway: { sock, data() (everything received, latin1), closed,
// closedAt, write(s) }.
export function rawConnect(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const c = { sock, chunks: [], closed: false, closedAt: 0, error: null };
    c.data = () => Buffer.concat(c.chunks).toString('latin1');
    c.write = (s) => { if (!sock.destroyed) sock.write(s); };
    sock.on('data', (d) => c.chunks.push(d));
    sock.on('close', () => { c.closed = true; c.closedAt = performance.now(); });
    sock.on('error', (e) => { c.error = e; });
    sock.once('connect', () => resolve(c));
    sock.once('error', reject);
  });
}
