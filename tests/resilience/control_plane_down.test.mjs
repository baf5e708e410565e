// The control plane (lingmo-controld) stopped for an hour of traffic: nothing the data plane
// needs depends on it. The daemon configures the gateway (an hourly quota on v1, two gateway
// keys, one with an hourly budget), then is stopped; traffic goes on for 65 simulated minutes.
//
// Scaling: the hour is simulated with nginx's test clock (`lingmo_test_clock on`: the workers
// add the milliseconds in Redis key lingmo:test:clock_offset_ms to their clock). The clock starts
// 30 s after the top of the next hour H and steps 5 minutes at a time (1 minute with
// LINGMO_RESILIENCE_LONG=1, which also runs 130 minutes: two hour boundaries) while a steady load
// runs in real time (~20 s; long: ~90 s). What happens within an hour of real traffic that could
// need the daemon is exercised: quota windows filling and renewing, parks expiring, key budgets
// refusing and renewing, the request log growing past its cap. Nothing of it asks the daemon;
// the test asserts the outcomes:
//   * every request of the unbudgeted key is served (v1 while under its hourly cap, v2 after);
//   * v1 never serves more than its cap in an hour, and serves again in hour H+1 (its
//     threshold park ends by itself);
//   * the budgeted key gets exactly its 5 requests in hour H, is refused (429 in its dialect, with
//     Retry-After) after that, and is served again in hour H+1;
//   * the request log stays at lingmo_request_log_size (300 here);
//   * the daemon started again finds everything: the log rows written while it was down, the
//     metrics, and it exits cleanly.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, sleep } from '../integration/harness.mjs';
import { ADMIN_PASSWORD, adminSession, startDaemon } from '../controlplane/daemon.mjs';
import { fmt, loadLoop, LONG, stats } from './lib.mjs';

const LOG_SIZE = 300;
const V1_HOURLY = 40;            // threshold 0.99: v1 is switched away from after 39 in an hour
const V1_CAP = Math.floor(V1_HOURLY * 0.99);
const BUDGET = 5;                // requests/hour of the budgeted key
const STEP_MIN = LONG ? 1 : 5;
const MINUTES = LONG ? 130 : 65;

let stack;
let d;
before(async () => {
  stack = await startStack({ vendors: 2, nginxConf: { http: `lingmo_test_clock on; lingmo_request_log_size ${LOG_SIZE};` } });
});
after(async () => {
  try {
    if (d && !d.exit) await d.kill();
  } finally {
    await stack?.redis('DEL', 'lingmo:test:clock_offset_ms').catch(() => {});
    await stack?.stop();
  }
});
afterEach(() => { stack.checkLog(); });

// Sets the workers' clock to `ms` (epoch) and makes every worker read it now (any message on the
// events channel makes the workers refresh, which reads the offset).
async function setClock(ms) {
  await stack.redis('SET', 'lingmo:test:clock_offset_ms', String(Math.round(ms - Date.now())));
  await stack.redis('PUBLISH', 'lingmo:events', 'clock');
  await sleep(150);
}

test('an hour of traffic with the control plane stopped: quotas, parks, budgets and the request log all work without it', async () => {
  // --- the daemon configures the gateway, then stops ---------------------------------------------
  d = await startDaemon(stack);
  const admin = await adminSession(d);
  const q = await d.put(admin, '/api/model/v1', { quotas: [`requests/hour=${V1_HOURLY}`] });
  assert.equal(q.status, 200, q.text);
  const free = await d.post(admin, '/api/keys', { name: 'steady' });
  assert.equal(free.status, 201, free.text);
  const budgeted = await d.post(admin, '/api/keys', { name: 'budgeted', budgets: [{ metric: 'requests', window: 'hour', limit: BUDGET }] });
  assert.equal(budgeted.status, 201, budgeted.text);
  await stack.waitConfigLoaded();
  await stack.admin('settings', 'set', 'auto_switch', 'on');
  await stack.admin('settings', 'set', 'threshold', '0.99');
  await stack.waitConfigLoaded();
  const ms = await d.stop();
  assert.ok(d.exit, `the daemon stopped (${ms.toFixed(0)} ms)`);

  // --- 65 simulated minutes of traffic --------------------------------------------------------
  const HOUR = 3600_000;
  const hourH = (Math.floor(Date.now() / HOUR) + 1) * HOUR;
  let clock = hourH + 30_000;
  await setClock(clock);
  const v1Windows = new Map();   // hour start -> requests v1 served in it (by the test's clock)
  const budgetLog = [];          // { hour, status, retryAfter, type }
  let stop = false;
  let currentHour = hourH;
  const load = loadLoop(3, () => stop, async () => {
    const hour = currentHour;
    const r = await stack.chat(chatBody(), { key: free.json.secret });
    if (r.status !== 200) throw new Error(`HTTP ${r.status} ${r.text}`);
    return { provider: r.headers['x-lingmo-provider'], hour };
  }, { pauseMs: 20 });

  const steps = MINUTES / STEP_MIN;
  for (let i = 1; i <= steps; i++) {
    await sleep(LONG ? 500 : 1000);  // steady traffic at this time of the simulated hour
    // Two requests of the budgeted key in the middle of the step (no clock change in flight).
    for (let k = 0; k < 2; k++) {
      const r = await stack.chat(chatBody(), { key: budgeted.json.secret });
      budgetLog.push({ hour: currentHour, status: r.status, retryAfter: r.headers['retry-after'], code: r.json?.error?.code });
    }
    clock += STEP_MIN * 60_000;
    currentHour = Math.floor(clock / HOUR) * HOUR;
    await setClock(clock);
  }
  await sleep(500);
  stop = true;
  const results = await load;
  await setClock(Date.now());

  const failed = results.filter((x) => !x.ok);
  assert.equal(failed.length, 0, `requests of the unbudgeted key failed: ${failed.slice(0, 3).map((x) => x.error.message).join(' | ')}`);
  process.stderr.write(`# ${MINUTES} simulated minutes: ${results.length} requests, ${fmt(stats(results.map((x) => x.ms)))}\n`);
  assert.ok(results.length > LOG_SIZE, `only ${results.length} requests: the request log cap was not reached`);

  // v1: at most its cap per hour (read from the quota counters in Redis), and used again in H+1.
  const keys = (await stack.redis('--scan', '--pattern', 'lingmo:quota:v1:0:*')).split('\n').filter(Boolean);
  for (const k of keys) {
    const n = Number(await stack.redis('HGET', k, 'requests'));
    v1Windows.set(k, n);
    assert.ok(n <= V1_CAP, `${k}: v1 served ${n} requests in an hour with a cap of ${V1_CAP}`);
  }
  const hours = [...v1Windows.entries()].filter(([, n]) => n > 0);
  process.stderr.write(`# v1 per hour: ${JSON.stringify(Object.fromEntries(v1Windows))}; budgeted key: ${budgetLog.map((b) => b.status).join(' ')}\n`);
  assert.ok(hours.length >= 2, `v1 served in ${hours.length} hourly window(s): ${JSON.stringify(Object.fromEntries(v1Windows))} (its park must end by itself at the next hour)`);
  const byV2 = results.filter((x) => x.r.provider === 'v2').length;
  assert.ok(byV2 > 0, 'v2 served once v1 reached its cap');
  // Within hour H, once v1 was switched away from, the requests went to v2 (no flapping back).
  const inH = results.filter((x) => x.r.hour === hourH);
  const firstV2 = inH.findIndex((x) => x.r.provider === 'v2');
  assert.ok(firstV2 >= 0);
  assert.ok(inH.slice(firstV2 + 10).every((x) => x.r.provider === 'v2'), 'v1 served again within hour H after its cap was reached');

  // The budgeted key: exactly BUDGET requests per hour, refusals in its dialect with Retry-After.
  const servedIn = (h) => budgetLog.filter((b) => b.hour === h && b.status === 200).length;
  assert.equal(servedIn(hourH), BUDGET, JSON.stringify(budgetLog));
  const refused = budgetLog.filter((b) => b.status !== 200);
  assert.ok(refused.length > 0);
  for (const b of refused) {
    assert.equal(b.status, 429, JSON.stringify(b));
    assert.equal(b.code, 'key_budget_exceeded', JSON.stringify(b));
    assert.match(b.retryAfter ?? '', /^\d+$/, JSON.stringify(b));
  }
  assert.ok(servedIn(hourH + HOUR) >= 1, `the budget renewed in hour H+1: ${JSON.stringify(budgetLog.filter((b) => b.hour > hourH))}`);

  // The request log is kept at its size by the workers themselves.
  const len = Number(await stack.redis('LLEN', 'lingmo:log:requests'));
  assert.ok(len <= LOG_SIZE && len >= LOG_SIZE - 10, `lingmo:log:requests holds ${len} records (cap ${LOG_SIZE})`);

  // --- the daemon comes back and finds everything ----------------------------------------------
  d = await startDaemon(stack);
  const again = await d.session('admin', ADMIN_PASSWORD);
  const logs = await d.get(again, '/api/log/list?limit=50');
  assert.equal(logs.status, 200, logs.text);
  assert.ok(logs.json.items.length > 0, 'the log rows written while the daemon was down are listed');
  assert.ok(logs.json.items.some((row) => row.key_name === 'steady'), 'rows of the traffic during the outage');
  const metrics = await d.req('GET', '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.text, /v1/);
  await d.stop();
});
