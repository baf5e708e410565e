// lingmo-controld daily digest: alert rules with event "digest" ("at" HH:MM in "tz") send, once per
// local day at or after that time, one message per rule that sums up usage per provider
// (lingmo:usage:<provider>:<UTC day>), quota windows near or over their limit, parked providers
// and the alert deliveries of the last 24 h; POST /api/alerts/rules/{id}/digest-now sends one at
// once (a preview).
//
// The time of day is tested without waiting for it: "at" is set a few minutes after the current
// local time of the rule's zone (not due), then a few minutes before it (due). The zone is chosen
// between UTC and Asia/Tokyo (9 h apart) so that neither is near midnight.
//
// One stack (2 fake vendors: v1, v2) and one daemon with QUOTA_SAMPLE_INTERVAL=1 (the engine runs
// every second) and OUTBOUND_ALLOW=127.0.0.0/8 (the local receiver below). Tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack } from '../integration/harness.mjs';
import { ADMIN_PASSWORD, adminSession, sleep, startDaemon, waitFor } from './daemon.mjs';

const DAEMON_ENV = { OUTBOUND_ALLOW: '127.0.0.0/8', QUOTA_SAMPLE_INTERVAL: '1' };
const DAY = 86400000;

let stack;
let d;
let admin;
let recv;
let hook;     // webhook channel
let slack;    // slack channel (the same event in another channel's format)
let zone;     // the rule's time zone
let rule;     // the digest rule under test

function startReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      let json;
      try { json = JSON.parse(body); } catch { json = undefined; }
      got.push({ path: new URL(req.url, 'http://x').pathname, body, json });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    got, base: `http://127.0.0.1:${server.address().port}`,
    close() { server.closeAllConnections(); return new Promise((ok) => server.close(() => ok())); },
  })));
}

// What the receiver got on one channel's path; on the webhook only digests (other rules may fire there).
const digests = (prefix = '/hook') => recv.got.filter((h) => h.path.startsWith(prefix) && (prefix !== '/hook' || h.json?.event === 'digest'));

const utcDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const localDate = (tz, ms = Date.now()) => new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
function localMinutes(tz, ms = Date.now()) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return Number(p.hour) * 60 + Number(p.minute);
}
const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

// Resolves once the engine (the sampler, which appends one reading of v1's quota per run) has run
// `n` more times on any daemon, plus time for local deliveries.
async function engineRuns(n) {
  const key = 'lingmo:quota:samples:v1:0';
  const t0 = Number((await stack.redis('LRANGE', key, '-1', '-1')).split(' ')[0] || 0);
  await waitFor(async () => (await stack.redis('LRANGE', key, '0', '-1')).split('\n').filter(Boolean)
    .filter((l) => Number(l.split(' ')[0]) > t0).length >= n, { timeout: 1500 * n + 2000, interval: 50, what: `${n} engine run(s)` });
  await sleep(300);
}

async function firedKeys(id) {
  return (await stack.redis('--scan', '--pattern', `lingmo:alert:fired:${id}:*`)).split('\n').filter(Boolean);
}

before(async () => {
  stack = await startStack({ vendors: 2 });
  recv = await startReceiver();
  d = await startDaemon(stack, { env: DAEMON_ENV });
  admin = await adminSession(d);
  // A daily request quota on v1: the sampler's readings tell when the engine ran, and its counter
  // (85 of 100) is a window near its limit.
  const q = await d.put(admin, '/api/model/v1', { quotas: ['requests/day=100'] });
  assert.equal(q.status, 200, q.text);
  hook = (await d.post(admin, '/api/alerts/channels', { name: 'digest hook', type: 'webhook', url: `${recv.base}/hook/digest` })).json;
  slack = (await d.post(admin, '/api/alerts/channels', { name: 'digest slack', type: 'slack', url: `${recv.base}/slack/digest` })).json;
  assert.ok(hook.id && slack.id);
  // Whichever of the two zones is further from midnight: "at" +-5 minutes stays on the same day.
  zone = ['UTC', 'Asia/Tokyo'].find((tz) => localMinutes(tz) >= 20 && localMinutes(tz) <= 1420);
});

after(async () => {
  try {
    if (d && !d.exit) await d.stop();
  } finally {
    try {
      await recv?.close();
    } finally {
      await stack?.stop();
    }
  }
});

test('rules: a digest rule has at (HH:MM, default 09:00) and tz (default UTC); bad values and at/tz on other events are 400', async () => {
  const c = [hook.id];
  const r = await d.post(admin, '/api/alerts/rules', { event: 'digest', channels: c, enabled: false });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.json, { id: r.json.id, event: 'digest', channels: c, cooldown_s: 1800, enabled: false, at: '09:00', tz: 'UTC' });
  const t = await d.post(admin, '/api/alerts/rules', { event: 'digest', channels: c, at: '23:59', tz: 'Asia/Shanghai', enabled: false });
  assert.equal(t.status, 201, t.text);
  assert.equal(t.json.at, '23:59');
  assert.equal(t.json.tz, 'Asia/Shanghai');
  const n = await stack.redis('HLEN', 'lingmo:alert:rules');
  for (const body of [{ at: '9:00' }, { at: '24:00' }, { at: '12:60' }, { at: 'noon' }, { at: '' }, { at: 900 }, { at: '09:00:00' },
    { tz: 'Mars/Olympus_Mons' }, { tz: '../../etc/passwd' }, { tz: '' }, { tz: 8 }, { tz: 'America' }]) {
    const bad = await d.post(admin, '/api/alerts/rules', { event: 'digest', channels: c, ...body });
    assert.equal(bad.status, 400, `${JSON.stringify(body)}: ${bad.text}`);
    assert.equal(bad.json.error.code, 'invalid_request');
  }
  for (const body of [{ at: '09:00' }, { tz: 'UTC' }]) {
    const bad = await d.post(admin, '/api/alerts/rules', { event: 'exhausted', channels: c, ...body });
    assert.equal(bad.status, 400, `${JSON.stringify(body)}: ${bad.text}`);
    assert.match(bad.json.error.message, /digest rules only/);
  }
  const unknown = await d.post(admin, '/api/alerts/rules', { event: 'nope', channels: c });
  assert.match(unknown.json.error.message, /digest/, 'the error lists the digest event');
  assert.equal(await stack.redis('HLEN', 'lingmo:alert:rules'), n, 'nothing stored');
  // PUT: at/tz change alone; bad ones change nothing; changing the event drops them.
  const up = await d.put(admin, `/api/alerts/rules/${t.json.id}`, { at: '07:30' });
  assert.deepEqual({ at: up.json.at, tz: up.json.tz }, { at: '07:30', tz: 'Asia/Shanghai' });
  assert.equal((await d.put(admin, `/api/alerts/rules/${t.json.id}`, { tz: 'Nowhere/City' })).status, 400);
  const other = await d.put(admin, `/api/alerts/rules/${t.json.id}`, { event: 'exhausted' });
  assert.equal(other.status, 200, other.text);
  assert.equal(other.json.at, undefined);
  assert.equal(other.json.tz, undefined);
  const back = await d.put(admin, `/api/alerts/rules/${t.json.id}`, { event: 'digest' });
  assert.deepEqual({ at: back.json.at, tz: back.json.tz }, { at: '09:00', tz: 'UTC' });
  // Disabled digest rules send nothing, whatever the time.
  await engineRuns(2);
  assert.deepEqual([...await firedKeys(r.json.id), ...await firedKeys(t.json.id)], []);
  for (const id of [r.json.id, t.json.id]) assert.equal((await d.del(admin, `/api/alerts/rules/${id}`)).status, 200);
});

test('not before its time: a digest whose "at" is a few minutes ahead in its zone sends nothing', async () => {
  const now = localMinutes(zone);
  const r = await d.post(admin, '/api/alerts/rules', { event: 'digest', channels: [hook.id, slack.id], at: hhmm(now + 5), tz: zone });
  assert.equal(r.status, 201, r.text);
  rule = r.json;
  await engineRuns(3);
  assert.equal(digests().length, 0, recv.got.map((h) => h.body).join('\n'));
  assert.deepEqual(await firedKeys(rule.id), []);
});

test('at or after its time: the digest arrives once, with usage per provider, quota, parks and deliveries of the last 24 h', async () => {
  const now = Date.now();
  const [yday, today] = [utcDay(now - DAY), utcDay(now)];
  const usage = (p, day, f) => stack.redis('HSET', `lingmo:usage:${p}:${day}`, ...Object.entries(f).flat().map(String));
  await usage('v1', yday, { requests: 120, prompt_tokens: 30000, completion_tokens: 15000, total_tokens: 45000, failures: 2, cost_micros: 120000 });
  await usage('v1', today, { requests: 30, prompt_tokens: 6000, completion_tokens: 3000, total_tokens: 9000, failures: 0, cost_micros: 30000 });
  await stack.redis('HINCRBY', `lingmo:usage:v2:${today}`, 'requests', '7');
  for (const [f, v] of [['prompt_tokens', 500], ['completion_tokens', 200], ['total_tokens', 700], ['failures', 1], ['cost_micros', 1500]]) {
    await stack.redis('HINCRBY', `lingmo:usage:v2:${today}`, f, String(v));
  }
  await usage('v2', utcDay(now - 3 * DAY), { requests: 999 });   // outside the two days: not shown
  await stack.redis('HSET', `lingmo:quota:v1:0:${today}`, 'requests', '85');
  const until = now + 3600000;
  await stack.redis('HSET', 'lingmo:provider_state', 'v2', JSON.stringify({ unusable_until_ms: until, reason: 'insufficient_quota: test park', kind: 'quota' }),
    'v1', JSON.stringify({ unusable_until_ms: now - 1000, reason: 'over', kind: 'quota' }));
  const dl = (ts, event, ok) => JSON.stringify({ ts, channel: 'ffffffff', event, title: 't', ok, status: ok ? 200 : 0, latency_ms: 1, error: ok ? '' : 'x' });
  await stack.redis('RPUSH', 'lingmo:alert:deliveries', dl(now - 3600000, 'exhausted', true), dl(now - 7200000, 'exhausted', false),
    dl(now - 3 * 3600000, 'warn_level', true), dl(now - 25 * 3600000, 'switched', true));

  const put = await d.put(admin, `/api/alerts/rules/${rule.id}`, { at: hhmm(localMinutes(zone) - 5) });
  assert.equal(put.status, 200, put.text);
  await waitFor(() => digests().length >= 1, { timeout: 5000, what: 'the digest' });
  await engineRuns(3);
  const got = digests();
  assert.equal(got.length, 1, `the digest was sent ${got.length} times`);
  const e = got[0].json;
  assert.equal(e.event, 'digest');
  assert.equal(e.severity, 'info');
  assert.equal(e.provider, '');
  assert.match(e.title, new RegExp(`^Daily digest, ${localDate(zone, e.ts)} \\d\\d:\\d\\d ${zone} \\(last 24 h\\)$`));
  const [y, t] = [utcDay(e.ts - DAY), utcDay(e.ts)];
  const lines = e.text.split('\n');
  const want = [
    `Usage per provider (UTC days ${y} and ${t} until ${new Date(e.ts).toISOString().slice(11, 16)} UTC):`,
    `  v1 ${y}: 120 requests, 45000 tokens (30000 in, 15000 out), 2 failed, cost 0.12`,
    `  v1 ${t}: 30 requests, 9000 tokens (6000 in, 3000 out), 0 failed, cost 0.03`,
    `  v2 ${t}: 7 requests, 700 tokens (500 in, 200 out), 1 failed, cost 0.0015`,
    'Quota windows near or over their limit (from 80%):',
    `  v1 rule 0 (100 requests/day): 85 of 100 (85%) in window ${t}, resets ${utcDay(e.ts + DAY)}T00:00:00Z`,
    'Parked providers:',
    `  v2 (quota) until ${new Date(until).toISOString().replace(/\.\d+Z$/, 'Z')}: insufficient_quota: test park`,
    'Alert deliveries in the last 24 h: 3 (exhausted 2, warn_level 1), 1 failed',
  ];
  assert.deepEqual(lines, want, e.text);
  // The same event in the chat format.
  const s = digests('/slack');
  assert.equal(s.length, 1);
  assert.equal(s[0].json.text, `[LingMo info] ${e.title}\n${e.text}`);
  // The de-duplication key: per rule and local date of its zone, for two days.
  const key = `lingmo:alert:fired:${rule.id}:digest:${localDate(zone, e.ts)}`;
  assert.deepEqual(await firedKeys(rule.id), [key]);
  const ttl = Number(await stack.redis('TTL', key));
  assert.ok(ttl > 2 * 86400 - 60 && ttl <= 2 * 86400, `TTL ${ttl}`);
  // Recorded in the delivery history like any event.
  const hist = (await d.get(admin, `/api/alerts/deliveries?channel=${hook.id}`)).json.deliveries;
  assert.ok(hist.some((x) => x.event === 'digest' && x.ok), JSON.stringify(hist));
});

test('never twice the same day: not with a second daemon on the same Redis, not after a restart; a deleted key sends it again', async () => {
  const d2 = await startDaemon(stack, { env: DAEMON_ENV });
  try {
    await engineRuns(4);
  } finally {
    await d2.stop();
  }
  assert.equal(digests().length, 1, 'a second replica sent it again');
  await d.stop();
  d = await startDaemon(stack, { env: DAEMON_ENV });
  admin = await d.session('admin', ADMIN_PASSWORD);
  await engineRuns(3);
  assert.equal(digests().length, 1, 'a restarted daemon sent it again');
  // The key is the only thing that stops it: without it the next run sends the digest again.
  assert.equal(await stack.redis('DEL', `lingmo:alert:fired:${rule.id}:digest:${localDate(zone)}`), '1');
  await waitFor(() => digests().length >= 2, { timeout: 5000, what: 'the digest after its key was deleted' });
  await engineRuns(2);
  assert.equal(digests().length, 2);
});

test('digest-now: sends the digest at once and answers with it; 400 for another event, 404 for an unknown rule', async () => {
  const later = await d.post(admin, '/api/alerts/rules', { event: 'digest', channels: [hook.id], at: hhmm(localMinutes(zone) + 5), tz: zone });
  assert.equal(later.status, 201, later.text);
  const n = digests().length;
  const r = await d.post(admin, `/api/alerts/rules/${later.json.id}/digest-now`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.queued, 1);
  assert.match(r.json.title, /^Daily digest, /);
  assert.match(r.json.text, /^Usage per provider/);
  await waitFor(() => digests().length >= n + 1, { timeout: 4000, what: 'the digest-now delivery' });
  assert.equal(digests().at(-1).json.text, r.json.text);
  assert.deepEqual(await firedKeys(later.json.id), [], 'a preview is not the day\'s digest');
  const other = await d.post(admin, '/api/alerts/rules', { event: 'exhausted', channels: [hook.id] });
  const bad = await d.post(admin, `/api/alerts/rules/${other.json.id}/digest-now`, {});
  assert.equal(bad.status, 400, bad.text);
  assert.equal((await d.post(admin, '/api/alerts/rules/ffffffff/digest-now', {})).status, 404);
  const audit = (await d.get(admin, '/api/audit?action=alert.rule.digest_now')).json.entries;
  assert.ok(audit.some((x) => x.status === 200 && x.target === `/api/alerts/rules/${later.json.id}/digest-now`), JSON.stringify(audit));
  // A viewer may not send it.
  await stack.redis('HSET', 'lingmo:admin:users', 'digest-viewer', JSON.stringify({ ...JSON.parse(await stack.redis('HGET', 'lingmo:admin:users', 'admin')), role: 'viewer', must_change: false }));
  const v = await d.session('digest-viewer', ADMIN_PASSWORD);
  assert.equal((await d.post(v, `/api/alerts/rules/${later.json.id}/digest-now`, {})).status, 403);
  for (const id of [later.json.id, other.json.id]) await d.del(admin, `/api/alerts/rules/${id}`);
});
