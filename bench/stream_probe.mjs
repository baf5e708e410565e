#!/usr/bin/env node
// Streaming probe for bench/run.sh: sends N streamed chat completions through one endpoint
// (one after another, or --concurrency at a time) and timestamps every SSE event as its bytes
// arrive.
//
// Usage:
//   node bench/stream_probe.mjs --url http://127.0.0.1:PORT/v1/chat/completions --key KEY \
//        [--n 20] [--concurrency 1] [--warmup 1] [--model fake-model] [--expect-chunks 10] \
//        [--label NAME] [--timeout-ms 10000] [--json FILE] [--no-usage]
//
// --concurrency C keeps C requests in flight (C sockets): --n 50 --concurrency 50 starts all 50 at
// once. The warm-up requests always go one at a time, before.
//
// The request asks for stream_options.include_usage (unless --no-usage). The gateway always asks
// its vendor for usage, so without it the vendor would send the gateway one more event than it
// sends proxy_pass (and the fake vendor puts delay_ms before every event), which would make the
// gateway's [DONE] arrive delay_ms later for a reason that has nothing to do with relaying.
//
// Per request it records (all relative to the moment the request was sent):
//   headers_ms  response headers received
//   ttft_ms     first `data:` event whose choices[0].delta.content is a non-empty string
//               (the role chunk carries content "" and does not count)
//   last_ms     last such content event
//   spread_ms   last_ms - ttft_ms. With the fake vendor in mode normal chunks=10 delay_ms=50 the
//               vendor emits content events 50 ms apart, so an unbuffered relay shows ~450 ms; a
//               relay that buffers the response shows ~0 ms.
//   done_ms     `data: [DONE]`
//   end_ms      end of the response body (the terminating chunk)
//   event_ms    arrival time of every event (written to --json only)
//   relay_ms    per content event: arrival time minus the vendor's send time, when the vendor
//               stamps its events (fake_vendor mode parameter "stamp": true puts
//               "x_fake_sent_us", CLOCK_MONOTONIC microseconds, into each event; this probe reads
//               process.hrtime, the same clock, when the bytes arrive). It is the time the
//               relay (gateway or proxy_pass, plus loopback and this client's event loop) held
//               each event: what a chunk costs beyond the vendor's own spacing. Without stamps
//               the relay_* figures are nan.
// A request is ok when it got 200, text/event-stream, exactly --expect-chunks content events,
// a usage chunk (unless --no-usage) and [DONE]. The summary is one line on stdout:
//   PROBE label=... n=20 ok=20 fail=0 ttft_p50_ms=... spread_p50_ms=... relay_p50_ms=... ...
// (relay_* over all content events of all ok requests: p50, p99, max and their count.)
// Failures are described on stderr. Exit status 0 if every request was ok, else 1.
// Node.js >= 20, no npm dependencies.

import http from 'node:http';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

function usage(msg) {
  if (msg) process.stderr.write(`stream_probe: ${msg}\n`);
  process.stderr.write('usage: stream_probe.mjs --url URL --key KEY [--n 20] [--concurrency 1] [--warmup 1] [--model M] ' +
    '[--expect-chunks 10] [--label NAME] [--timeout-ms 10000] [--json FILE] [--no-usage]\n');
  process.exit(2);
}

const opts = { url: null, key: null, n: 20, concurrency: 1, warmup: 1, model: 'fake-model', expectChunks: 10, label: 'probe',
  timeoutMs: 10000, json: null, usage: true };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const next = () => { if (i + 1 >= argv.length) usage(`missing value for ${a}`); return argv[++i]; };
  switch (a) {
    case '--url': opts.url = next(); break;
    case '--key': opts.key = next(); break;
    case '--n': opts.n = Number(next()); break;
    case '--concurrency': opts.concurrency = Number(next()); break;
    case '--warmup': opts.warmup = Number(next()); break;
    case '--model': opts.model = next(); break;
    case '--expect-chunks': opts.expectChunks = Number(next()); break;
    case '--label': opts.label = next(); break;
    case '--timeout-ms': opts.timeoutMs = Number(next()); break;
    case '--json': opts.json = next(); break;
    case '--no-usage': opts.usage = false; break;
    case '-h': case '--help': usage(); break;
    default: usage(`unknown argument ${a}`);
  }
}
if (!opts.url || !opts.key) usage('--url and --key are required');
if (!Number.isInteger(opts.n) || opts.n < 1) usage('--n must be a positive integer');
if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) usage('--concurrency must be a positive integer');

const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
const nowUs = () => Number(process.hrtime.bigint() / 1000n);  // CLOCK_MONOTONIC, like fake_vendor's stamps
const body = JSON.stringify({
  model: opts.model,
  stream: true,
  messages: [{ role: 'user', content: 'Count to ten.' }],
  ...(opts.usage ? { stream_options: { include_usage: true } } : {}),
});

function once() {
  return new Promise((resolve) => {
    const rec = { status: 0, content_type: '', headers_ms: null, ttft_ms: null, last_ms: null, spread_ms: null,
      done_ms: null, end_ms: null, content_events: 0, events: 0, error: null, event_ms: [], relay_ms: [], usage_seen: false };
    let buf = '';
    let t0 = 0;
    let settled = false;
    const finish = (err) => {
      if (settled) return;
      settled = true;
      if (err && !rec.error) rec.error = err;
      if (rec.ttft_ms !== null) rec.spread_ms = rec.last_ms - rec.ttft_ms;
      resolve(rec);
    };
    const onEvent = (raw, t, arrivedUs) => {
      rec.events++;
      rec.event_ms.push(Math.round(t * 10) / 10);
      const data = raw.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data === '') return;  // comment or empty event
      if (data === '[DONE]') { rec.done_ms = t; return; }
      let o;
      try { o = JSON.parse(data); } catch { rec.error = rec.error || `unparsable event: ${data.slice(0, 80)}`; return; }
      if (o && o.usage && typeof o.usage === 'object' && typeof o.usage.total_tokens === 'number') rec.usage_seen = true;
      const c = o && Array.isArray(o.choices) && o.choices[0] && o.choices[0].delta ? o.choices[0].delta.content : undefined;
      if (typeof c === 'string' && c.length > 0) {
        rec.content_events++;
        if (typeof o.x_fake_sent_us === 'number') rec.relay_ms.push((arrivedUs - o.x_fake_sent_us) / 1000);
        if (rec.ttft_ms === null) rec.ttft_ms = t;
        rec.last_ms = t;
      }
    };
    const req = http.request(opts.url, {
      method: 'POST',
      agent,
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        Authorization: `Bearer ${opts.key}`,
        Accept: 'text/event-stream',
      },
    }, (res) => {
      rec.headers_ms = performance.now() - t0;
      rec.status = res.statusCode;
      rec.content_type = String(res.headers['content-type'] || '');
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        const arrivedUs = nowUs();
        const t = performance.now() - t0;
        buf += chunk.replace(/\r\n/g, '\n');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          onEvent(ev, t, arrivedUs);
        }
      });
      res.on('end', () => { rec.end_ms = performance.now() - t0; finish(); });
      res.on('error', (e) => finish(`response error: ${e.message}`));
      res.on('aborted', () => finish('response aborted'));
    });
    req.setTimeout(opts.timeoutMs, () => { req.destroy(new Error(`timeout after ${opts.timeoutMs} ms`)); });
    req.on('error', (e) => finish(`request error: ${e.message}`));
    t0 = performance.now();
    req.end(body);
  });
}

function okOf(r) {
  if (r.error) return r.error;
  if (r.status !== 200) return `status ${r.status}`;
  if (!r.content_type.startsWith('text/event-stream')) return `content-type ${r.content_type}`;
  if (r.content_events !== opts.expectChunks) return `${r.content_events} content events, expected ${opts.expectChunks}`;
  if (r.done_ms === null) return 'no [DONE]';
  if (opts.usage && !r.usage_seen) return 'no usage chunk although include_usage was requested';
  return null;
}

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

function stats(vals) {
  const s = vals.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  return { p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), min: s[0], max: s[s.length - 1], n: s.length };
}

const f = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(1) : 'nan');
const f3 = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : 'nan');

for (let i = 0; i < opts.warmup; i++) await once();
const recs = new Array(opts.n);
let nextIdx = 0;
const lane = async () => { while (nextIdx < opts.n) { const i = nextIdx++; recs[i] = await once(); } };
await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.n) }, lane));
agent.destroy();

let ok = 0;
const failures = [];
recs.forEach((r, i) => {
  const why = okOf(r);
  if (why) failures.push(`#${i}: ${why}`); else ok++;
});
const good = recs.filter((r) => !okOf(r));
const tt = stats(good.map((r) => r.ttft_ms));
const sp = stats(good.map((r) => r.spread_ms));
const hd = stats(good.map((r) => r.headers_ms));
const dn = stats(good.map((r) => r.done_ms));
const rl = stats(good.flatMap((r) => r.relay_ms));
const ce = good.map((r) => r.content_events);

process.stdout.write(`PROBE label=${opts.label} n=${opts.n} concurrency=${opts.concurrency} ok=${ok} fail=${opts.n - ok}` +
  ` ttft_p50_ms=${f(tt.p50)} ttft_p90_ms=${f(tt.p90)} ttft_p99_ms=${f(tt.p99)} ttft_min_ms=${f(tt.min)} ttft_max_ms=${f(tt.max)}` +
  ` spread_p50_ms=${f(sp.p50)} spread_min_ms=${f(sp.min)} spread_max_ms=${f(sp.max)}` +
  ` headers_p50_ms=${f(hd.p50)} done_p50_ms=${f(dn.p50)}` +
  ` relay_p50_ms=${f3(rl.p50)} relay_p99_ms=${f3(rl.p99)} relay_max_ms=${f3(rl.max)} relay_n=${rl.n}` +
  ` chunks_min=${ce.length ? Math.min(...ce) : 0} chunks_max=${ce.length ? Math.max(...ce) : 0}\n`);
for (const msg of failures.slice(0, 10)) process.stderr.write(`stream_probe ${opts.label}: ${msg}\n`);
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ label: opts.label, url: opts.url, requests: recs }, null, 1));
process.exit(ok === opts.n ? 0 : 1);
