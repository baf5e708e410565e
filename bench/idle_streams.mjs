#!/usr/bin/env node
// Idle-stream memory probe for bench/run.sh: opens N streamed chat completions through one
// endpoint while the vendor keeps them open without sending content, and reads the resident
// memory of the given processes (the nginx workers) before, while the N streams are open, and
// after they were closed.
//
// Usage:
//   node bench/idle_streams.mjs --url http://127.0.0.1:PORT/v1/chat/completions --key KEY \
//        --vendor http://127.0.0.1:VPORT --pids "PID PID ..." [--vendor-pid PID] [--n 1000]
//        [--label NAME] [--batch 100] [--settle-ms 1500] [--timeout-ms 30000]
//
// The vendor must already be in a mode that answers and then stays silent, e.g. fake_vendor
// {"mode":"normal","chunks":10,"delay_ms":600000}: the role chunk goes out at once, the first
// content chunk ten minutes later. A stream counts as open once the vendor has received its
// request (the vendor's /_control/stats `requests` went up by N). The gateway holds a role-only
// chunk back until content arrives, so its clients see no response headers yet; proxy_pass
// clients get headers and the role chunk: both are counted and reported, neither is required.
//
// Connections are opened --batch at a time (each batch waits for its sockets to connect) so
// that the listen backlog does not overflow. After the vendor has all N requests, the probe waits
// --settle-ms and reads memory (VmRSS and, where readable, Pss from /proc/PID/smaps_rollup;
// summed over --pids); then it destroys every socket, waits until the vendor has seen them close,
// waits --settle-ms again and reads memory once more.
//
// Output: one line on stdout
//   IDLE label=... n=1000 open=1000 headers=... rss_before_kib=... rss_open_kib=... rss_closed_kib=...
//        pss_before_kib=... pss_open_kib=... per_stream_kib=... per_stream_pss_kib=...
//        vendor_rss_before_kib=... vendor_rss_open_kib=... open_ms=...
// per_stream_kib = (rss_open - rss_before) / open. Exit status 0 when all N streams were open, else
// 1 (with the reason on stderr). Node.js >= 20, no npm dependencies.

import http from 'node:http';
import fs from 'node:fs';

function usage(msg) {
  if (msg) process.stderr.write(`idle_streams: ${msg}\n`);
  process.stderr.write('usage: idle_streams.mjs --url URL --key KEY --vendor URL --pids "PID ..." [--vendor-pid PID] ' +
    '[--n 1000] [--label NAME] [--batch 100] [--settle-ms 1500] [--timeout-ms 30000]\n');
  process.exit(2);
}

const opts = { url: null, key: null, vendor: null, pids: [], vendorPid: null, n: 1000, label: 'idle', batch: 100,
  settleMs: 1500, timeoutMs: 30000 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const next = () => { if (i + 1 >= argv.length) usage(`missing value for ${a}`); return argv[++i]; };
  switch (a) {
    case '--url': opts.url = next(); break;
    case '--key': opts.key = next(); break;
    case '--vendor': opts.vendor = next().replace(/\/+$/, ''); break;
    case '--pids': opts.pids = next().split(/[\s,]+/).filter(Boolean).map(Number); break;
    case '--vendor-pid': opts.vendorPid = Number(next()); break;
    case '--n': opts.n = Number(next()); break;
    case '--label': opts.label = next(); break;
    case '--batch': opts.batch = Number(next()); break;
    case '--settle-ms': opts.settleMs = Number(next()); break;
    case '--timeout-ms': opts.timeoutMs = Number(next()); break;
    case '-h': case '--help': usage(); break;
    default: usage(`unknown argument ${a}`);
  }
}
if (!opts.url || !opts.key || !opts.vendor || opts.pids.length === 0) usage('--url, --key, --vendor and --pids are required');
if (!Number.isInteger(opts.n) || opts.n < 1) usage('--n must be a positive integer');
if (!Number.isInteger(opts.batch) || opts.batch < 1) usage('--batch must be a positive integer');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// KiB from a /proc file's "<Field>: N kB" line; null when unreadable.
function procKib(file, field) {
  let text;
  try { text = fs.readFileSync(file, 'utf8'); } catch { return null; }
  const m = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) : null;
}
function mem(pids) {
  let rss = 0;
  let pss = 0;
  for (const p of pids) {
    rss += procKib(`/proc/${p}/status`, 'VmRSS') ?? 0;
    const v = procKib(`/proc/${p}/smaps_rollup`, 'Pss');
    pss = pss === null || v === null ? null : pss + v;
  }
  return { rss, pss };
}

async function vendorStats() {
  const r = await fetch(`${opts.vendor}/_control/stats`);
  if (!r.ok) throw new Error(`vendor stats: HTTP ${r.status}`);
  return r.json();
}

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const body = JSON.stringify({
  model: 'fake-model',
  stream: true,
  messages: [{ role: 'user', content: 'Count to ten.' }],
  stream_options: { include_usage: true },
});
const reqs = [];
let headers = 0;
let errors = 0;
let firstError = null;
let closing = false;

function open() {
  return new Promise((resolve) => {
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
      headers++;
      res.on('data', () => {});
      res.on('error', () => {});
    });
    const fail = (e) => {
      if (closing) return;
      errors++;
      if (!firstError) firstError = e.message;
      resolve();
    };
    req.on('error', fail);
    req.on('socket', (s) => { if (s.connecting) s.once('connect', resolve); else resolve(); });
    req.end(body);
    reqs.push(req);
  });
}

const before = mem(opts.pids);
const vBefore = opts.vendorPid ? procKib(`/proc/${opts.vendorPid}/status`, 'VmRSS') : null;
const s0 = await vendorStats();
const t0 = Date.now();
for (let i = 0; i < opts.n; i += opts.batch) {
  const k = Math.min(opts.batch, opts.n - i);
  await Promise.all(Array.from({ length: k }, open));
}
let opened = 0;
for (;;) {
  const s = await vendorStats();
  opened = s.requests - s0.requests;
  if (opened >= opts.n || Date.now() - t0 > opts.timeoutMs || errors > 0) break;
  await sleep(100);
}
const openMs = Date.now() - t0;
await sleep(opts.settleMs);
const during = mem(opts.pids);
const vDuring = opts.vendorPid ? procKib(`/proc/${opts.vendorPid}/status`, 'VmRSS') : null;
const sOpen = await vendorStats();
const stillOpen = reqs.length - errors;

closing = true;
for (const r of reqs) r.destroy();
for (let i = 0; i < 100; i++) {
  const s = await vendorStats();
  if (s.open_connections <= s0.open_connections + 1) break;  // +1: this stats request's own connection
  await sleep(100);
}
await sleep(opts.settleMs);
const after = mem(opts.pids);
agent.destroy();

const n = Math.max(1, Math.min(opened, stillOpen));
const perRss = (during.rss - before.rss) / n;
const perPss = during.pss !== null && before.pss !== null ? (during.pss - before.pss) / n : null;
const f1 = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(1) : 'nan');
process.stdout.write(`IDLE label=${opts.label} n=${opts.n} open=${opened} headers=${headers} errors=${errors}` +
  ` vendor_open_connections=${sOpen.open_connections}` +
  ` rss_before_kib=${before.rss} rss_open_kib=${during.rss} rss_closed_kib=${after.rss}` +
  ` pss_before_kib=${before.pss ?? 'nan'} pss_open_kib=${during.pss ?? 'nan'} pss_closed_kib=${after.pss ?? 'nan'}` +
  ` per_stream_kib=${f1(perRss)} per_stream_pss_kib=${f1(perPss)}` +
  ` vendor_rss_before_kib=${vBefore ?? 'nan'} vendor_rss_open_kib=${vDuring ?? 'nan'} open_ms=${openMs}\n`);
let bad = null;
if (errors > 0) bad = `${errors} request(s) failed, first: ${firstError}`;
else if (opened < opts.n) bad = `only ${opened} of ${opts.n} streams reached the vendor within ${opts.timeoutMs} ms`;
if (bad) process.stderr.write(`idle_streams ${opts.label}: ${bad}\n`);
process.exit(bad ? 1 : 0);
