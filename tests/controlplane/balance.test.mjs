// lingmo-controld balance sync (controlplane/daemon/balance_sync.h, shared/quota/balance.h):
// vendor balance and plan-quota endpoints read on a schedule with backoff, strict shapes (garbage
// and errors never read as zero), readings in GET /api/quota/stat and GET /metrics,
// POST /api/quota/sync/{provider}, parks in lingmo:provider_state that the data plane routes by,
// the per-provider lease between daemons, and the balance_low / sync_failing alerts.
//
// One stack (2 fake vendors: v1, v2 serving gpt-test), the fake balance server
// tests/fakes/fake_balance.mjs (each vendor's wire format on its real path, behind a per-provider
// tag prefix so providers of one kind are scripted apart), a webhook receiver in this file, and a
// daemon with BALANCE_SYNC_INTERVAL=1, QUOTA_SAMPLE_INTERVAL=1 (alerts every second) and
// OUTBOUND_ALLOW=127.0.0.0/8 (the fakes are local). Tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { REPO, chatBody, request, startStack } from '../integration/harness.mjs';
import { ADMIN_PASSWORD, adminSession, auditFromRedis, redisDump, sleep, startDaemon, waitFor } from './daemon.mjs';

let stack;
let d;
let admin;
let fb;     // the fake balance server
let recv;   // the webhook receiver

const KEY = 'sk-balance-inference-5a5a5a5a';
const ADMIN_KEY = 'sk-admin-balance-9c9c9c9c';
const DAEMON_ENV = { OUTBOUND_ALLOW: '127.0.0.0/8', BALANCE_SYNC_INTERVAL: '1', QUOTA_SAMPLE_INTERVAL: '1' };

// --- the fakes ---------------------------------------------------------------------------------

async function startFakeBalance(dir) {
  const portFile = path.join(dir, 'fake_balance.port');
  const child = spawn(process.execPath, [path.join(REPO, 'tests', 'fakes', 'fake_balance.mjs'), '--port', '0', '--name', 'bal', '--port-file', portFile],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  const port = await waitFor(() => fs.existsSync(portFile) && Number(fs.readFileSync(portFile, 'utf8').trim()),
    { timeout: 10000, what: 'fake_balance port file' });
  const control = async (method, p, body) => {
    const r = await request({ port, method, path: p, body });
    assert.equal(r.status, 200, `fake_balance ${p}: ${r.text}`);
    return r.json;
  };
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    mode: (m) => control('POST', '/_control/mode', m),
    stats: () => control('GET', '/_control/stats'),
    stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); }),
  };
}

function startReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      try { got.push(JSON.parse(Buffer.concat(parts).toString('utf8'))); } catch { got.push(null); }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    got, base: `http://127.0.0.1:${server.address().port}`,
    close() { server.closeAllConnections(); return new Promise((ok) => server.close(() => ok())); },
  })));
}

// The endpoint paths of the fake, by kind.
const PATHS = {
  deepseek: '/user/balance', moonshot: '/v1/users/me/balance', siliconflow: '/v1/user/info', openrouter: '/api/v1/key',
  stepfun: '/v1/accounts', xai: '/v1/api-key', zhipu: '/api/monitor/usage/quota/limit', minimax: '/v1/token_plan/remains',
  openai_admin: '/v1/organization/costs', anthropic_admin: '/v1/organizations/cost_report',
};

before(async () => {
  stack = await startStack({ vendors: 2 });
  [fb, recv] = await Promise.all([startFakeBalance(stack.dir), startReceiver()]);
  d = await startDaemon(stack, { env: DAEMON_ENV });
  admin = await adminSession(d);
});

after(async () => {
  try {
    if (d && !d.exit) await d.stop({ timeout: 20000 });
  } finally {
    try {
      await fb?.stop();
      await recv?.close();
    } finally {
      await stack?.stop();
    }
  }
});

// --- helpers -----------------------------------------------------------------------------------

// A provider that syncs against the fake under its own tag (`tag` defaults to the id); its model
// is its own, so it never takes gpt-test traffic.
async function addSynced(id, kind, { balance = {}, tag = id, path: p, ...extra } = {}) {
  const admin_kind = kind === 'openai_admin' || kind === 'anthropic_admin';
  const body = {
    id, base_url: stack.vendor(1).baseUrl, api_key: KEY, models: [`bal-${id}`],
    ...(kind === 'anthropic_admin' ? { dialect: 'anthropic' } : {}),
    balance: { kind: admin_kind ? 'admin_usage' : kind, url: `${fb.base}/${tag}${p ?? PATHS[kind]}`, ...(admin_kind ? { admin_key: ADMIN_KEY } : {}), ...balance },
    ...extra,
  };
  const r = await d.post(admin, '/api/model/add', body);
  assert.equal(r.status, 201, `${id}: ${r.text}`);
  return r.json;
}

async function record(id) {
  const raw = await stack.redis('HGETALL', `lingmo:balance:${id}`);
  const lines = raw.split('\n');
  const out = {};
  for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]] = lines[i + 1];
  return out;
}

async function balances() {
  const r = await d.get(admin, '/api/quota/stat');
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.json.balances.map((b) => [b.provider, b]));
}

async function waitReading(id, pred = (b) => b.ok, what = `a good reading of ${id}`, timeout = 8000) {
  let last;
  await waitFor(async () => {
    last = (await balances())[id];
    return last && pred(last);
  }, { timeout, interval: 100, what: `${what} (last: ${JSON.stringify(last)})` });
  return last;
}

// POST /api/quota/sync/{id}, retried while the background job holds the provider's lease.
async function syncNow(id, who = admin) {
  let r;
  await waitFor(async () => {
    r = await d.post(who, `/api/quota/sync/${id}`, {});
    return !(r.status === 409 && r.json?.error?.code === 'sync_running');
  }, { timeout: 20000, interval: 50, what: `sync of ${id} to run` });
  return r;
}

async function state(id) {
  const raw = await stack.redis('HGET', 'lingmo:provider_state', id);
  return raw ? JSON.parse(raw) : null;
}

// --- tests -------------------------------------------------------------------------------------

test('the balance field is checked on input (kind, url, currency, admin key) and providers without it stay as they were', async () => {
  const base = { base_url: stack.vendor(1).baseUrl, api_key: KEY, models: ['bal-x'] };
  for (const [balance, why] of [
    ['deepseek', /balance must be an object/],
    [{ kind: 'paypal' }, /balance.kind "paypal" is unknown/],
    [{ kind: 'deepseek', url: 'ftp://127.0.0.1/x' }, /balance.url must start with http/],
    [{ kind: 'deepseek', currency: 'dollars' }, /three-letter code/],
    [{ kind: 'admin_usage' }, /needs balance.admin_key/],
    [{ kind: 'deepseek', extra: 1 }, /unknown field "balance.extra"/],
    [{ kind: 5 }, /balance.kind must be a string/],
  ]) {
    const r = await d.post(admin, '/api/model/add', { id: 'bad-bal', ...base, balance });
    assert.equal(r.status, 400, `${JSON.stringify(balance)}: ${r.text}`);
    assert.match(r.json.error.message, why);
  }
  assert.equal(await stack.redis('HEXISTS', 'lingmo:providers', 'bad-bal'), '0');
  // The seeded providers have no balance field, and the sync leaves them alone.
  assert.equal(JSON.parse(await stack.redis('HGET', 'lingmo:providers', 'v1')).balance, undefined);
});

test('every kind is read on its real path with the right key; amounts, windows and currency as the vendor says', async () => {
  // DeepSeek through its vendor template: the endpoint is the provider's origin + /user/balance.
  const tmpl = await d.post(admin, '/api/model/add', {
    id: 'k-deepseek', template: 'deepseek', base_url: `${fb.base}/v1`, api_key: KEY, models: ['bal-k-deepseek'],
  });
  assert.equal(tmpl.status, 201, tmpl.text);
  assert.equal(tmpl.json.vendor, 'deepseek');
  await addSynced('k-moonshot', 'moonshot', { balance: { currency: 'usd' } });  // the configured currency (the host says nothing)
  await addSynced('k-siliconflow', 'siliconflow');
  await addSynced('k-openrouter', 'openrouter');
  await addSynced('k-stepfun', 'stepfun', { balance: { currency: 'CNY' } });
  await addSynced('k-xai', 'xai');
  await addSynced('k-zhipu', 'zhipu');
  await addSynced('k-minimax', 'minimax');
  await addSynced('k-openai', 'openai_admin');
  await addSynced('k-anthropic', 'anthropic_admin');
  const ids = ['k-deepseek', 'k-moonshot', 'k-siliconflow', 'k-openrouter', 'k-stepfun', 'k-xai', 'k-zhipu', 'k-minimax', 'k-openai', 'k-anthropic'];
  await waitFor(async () => { const b = await balances(); return ids.every((id) => b[id]?.ok); },
    { timeout: 10000, interval: 100, what: 'a good reading of every kind' });
  const b = await balances();

  assert.deepEqual({ kind: b['k-deepseek'].kind, balance: b['k-deepseek'].balance, currency: b['k-deepseek'].currency, available: b['k-deepseek'].available },
    { kind: 'deepseek', balance: 23.5, currency: 'CNY', available: true });
  assert.equal(b['k-moonshot'].balance, 23.5);
  assert.equal(b['k-moonshot'].currency, 'USD');
  assert.equal(b['k-siliconflow'].balance, 23.5);
  assert.equal(b['k-siliconflow'].currency, null, 'unknown currency stays unknown');
  assert.equal(b['k-openrouter'].balance, 23.5);
  assert.equal(b['k-openrouter'].currency, 'USD');
  const keyLimit = b['k-openrouter'].windows.find((w) => w.name === 'key_limit');
  assert.equal(keyLimit.percent, 76.5);
  assert.equal(keyLimit.limit, 100);
  assert.ok(keyLimit.resets_at > Date.now());
  assert.equal(b['k-stepfun'].balance, 23.5);
  assert.equal(b['k-stepfun'].currency, 'CNY');
  assert.equal(b['k-xai'].balance, null, 'xAI reports no money: null, not 0');
  assert.equal(b['k-xai'].key_blocked, false);
  assert.equal(b['k-zhipu'].balance, null);
  const tokens = b['k-zhipu'].windows.find((w) => w.name === 'TOKENS_LIMIT/5h');
  assert.deepEqual({ percent: tokens.percent, gates: tokens.gates }, { percent: 12, gates: true });
  const mcp = b['k-zhipu'].windows.find((w) => w.name === 'TIME_LIMIT/1mo');
  assert.deepEqual({ used: mcp.used, limit: mcp.limit, percent: mcp.percent, gates: mcp.gates }, { used: 28, limit: 100, percent: 28, gates: false });
  const interval = b['k-minimax'].windows.find((w) => w.name === 'MiniMax-M2/interval');
  assert.deepEqual({ percent: interval.percent, limit: interval.limit, gates: interval.gates }, { percent: 12, limit: 1500, gates: true });
  assert.equal(b['k-minimax'].windows.find((w) => w.name === 'MiniMax-M2/weekly').percent, 10);
  assert.equal(b['k-openai'].spent, 23.5);
  assert.equal(b['k-openai'].currency, 'USD');
  assert.equal(b['k-openai'].balance, null);
  assert.equal(b['k-anthropic'].spent, 23.5, 'cents read as cents');
  assert.equal(b['k-anthropic'].kind, 'admin_usage');
  for (const id of ids) {
    assert.equal(b[id].error, null);
    assert.equal(b[id].failures, 0);
    assert.ok(b[id].next_at > b[id].checked_at, `${id} is scheduled`);
  }

  // What reached the vendor: the inference key, or the admin key for the usage APIs.
  const s = await fb.stats();
  assert.ok(s.requests.deepseek >= 1, 'the template endpoint is on the provider origin (/user/balance, untagged)');
  assert.equal(s.last.deepseek.authorization, `Bearer ${KEY}`);
  for (const tag of ['k-moonshot', 'k-siliconflow', 'k-openrouter', 'k-stepfun', 'k-xai', 'k-zhipu', 'k-minimax']) {
    assert.equal(s.last[tag].authorization, `Bearer ${KEY}`, tag);
  }
  assert.equal(s.last['k-openai'].authorization, `Bearer ${ADMIN_KEY}`);
  assert.match(s.last['k-openai'].url, /^\/k-openai\/v1\/organization\/costs\?start_time=\d+&bucket_width=1d&limit=31$/);
  assert.equal(s.last['k-anthropic'].x_api_key, ADMIN_KEY);
  assert.equal(s.last['k-anthropic'].anthropic_version, '2023-06-01');
  assert.match(s.last['k-anthropic'].url, /starting_at=\d{4}-\d{2}-01T00:00:00Z/);
});

test('garbage, wrong types, HTML and error statuses are errors: the last good reading stays, never a zero', async () => {
  // Disabled: the schedule skips them, so only the syncs asked for here read them.
  await addSynced('g-ds', 'deepseek', { enabled: false });
  await addSynced('g-zhipu', 'zhipu', { enabled: false });
  let good = (await syncNow('g-ds')).json;
  assert.equal(good.ok, true, JSON.stringify(good));
  assert.equal((await syncNow('g-zhipu')).json.ok, true);
  assert.equal(good.next_at, good.checked_at + 1000);
  for (const [tag, mode, why] of [
    ['g-ds', { mode: 'garbage' }, /^unexpected shape: is_available missing$/],
    ['g-ds', { mode: 'wrong_types' }, /^unexpected shape: balance_infos\[0\]\.total_balance is not a number$/],
    ['g-ds', { mode: 'html' }, /^unexpected answer: not JSON: \(an HTML page\)$/],
    ['g-ds', { mode: '500' }, /^HTTP 500: internal server error$/],
    ['g-ds', { mode: '401' }, /^HTTP 401: Invalid API key provided$/],
    ['g-ds', { mode: 'custom', status: 200, body: '{"error":{"message":"Insufficient permissions"}}' }, /the vendor answered an error: Insufficient permissions/],
    ['g-ds', { mode: 'custom', status: 200, body: '' }, /not JSON: \(empty body\)/],
    ['g-zhipu', { mode: 'wrong_types' }, /percentage is not a number/],
    ['g-zhipu', { mode: 'custom', status: 200, body: { code: 1001, msg: 'Authorization Token expired', success: false } }, /code 1001: Authorization Token expired/],
  ]) {
    await fb.mode({ tag, ...mode });
    const r = await syncNow(tag);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.ok, false, `${tag} ${JSON.stringify(mode)}`);
    assert.match(r.json.error, why);
    assert.ok(r.json.failures >= 1);
    if (tag === 'g-ds') {
      assert.equal(r.json.balance, 23.5, 'the last good balance stays');
      assert.equal(r.json.read_at, good.read_at, 'and so does its time');
      assert.equal((await record('g-ds')).balance, '23.5');
    } else {
      assert.equal(r.json.windows.find((w) => w.name === 'TOKENS_LIMIT/5h').percent, 12, 'the last good windows stay');
    }
    await fb.mode({ tag, mode: 'good' });
    const back = await syncNow(tag);
    assert.equal(back.json.ok, true, back.text);
    assert.equal(back.json.failures, 0);
    assert.equal(back.json.error, null);
    if (tag === 'g-ds') good = back.json;
  }
  // None of it parked anything.
  assert.equal(await state('g-ds'), null);
  assert.equal(await state('g-zhipu'), null);
});

test('a vendor that never answers is a timeout error after 15 s, not a reading', async () => {
  await fb.mode({ tag: 'g-ds', mode: 'timeout' });
  const t0 = performance.now();
  const r = await syncNow('g-ds');
  const ms = performance.now() - t0;
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ok, false);
  assert.match(r.json.error, /timed out|timeout/i);
  assert.ok(ms >= 14000 && ms < 20000, `took ${ms} ms`);
  assert.equal(r.json.balance, 23.5);
  await fb.mode({ tag: 'g-ds', mode: 'good' });
  assert.equal((await syncNow('g-ds')).json.ok, true);
});

test('failures back off: the wait doubles from the interval (1 s here) and a good reading resets it', async () => {
  await fb.mode({ tag: 'bo', mode: '500' });
  await addSynced('bo', 'deepseek');
  const waits = new Map();  // failures -> next_at - ts
  await waitFor(async () => {
    const r = await record('bo');
    const n = Number(r.failures ?? 0);
    if (n > 0 && !waits.has(n)) waits.set(n, Number(r.next_at) - Number(r.ts));
    return n >= 4;
  }, { timeout: 15000, interval: 20, what: '4 failures in a row' });
  assert.deepEqual([1, 2, 3, 4].map((n) => waits.get(n)), [1000, 2000, 4000, 8000]);
  // The vendor was asked once per attempt: 4 or 5 times in the ~7 s that took, not every second.
  const asked = (await fb.stats()).requests.bo;
  assert.ok(asked >= 4 && asked <= 5, `asked ${asked} times`);
  const rec = await record('bo');
  assert.equal(rec.balance, undefined, 'no reading was ever made up');
  assert.match(rec.error, /^HTTP 500/);
  await fb.mode({ tag: 'bo', mode: 'good' });
  const r = await syncNow('bo');
  assert.equal(r.json.ok, true);
  assert.equal(r.json.failures, 0);
  const after = await record('bo');
  assert.equal(Number(after.next_at) - Number(after.ts), 1000, 'back to the interval');
});

test('a zero balance parks the provider and nginx routes to the next one; funds back, the park is lifted', async () => {
  assert.equal((await stack.chat(chatBody())).headers['x-lingmo-provider'], 'v1');
  const put = await d.put(admin, '/api/model/v1', { balance: { kind: 'deepseek', url: `${fb.base}/v1park${PATHS.deepseek}` } });
  assert.equal(put.status, 200, put.text);
  await waitReading('v1');
  assert.equal(await state('v1'), null, 'money left: no park');

  await stack.msUntilProvider('v2', () => fb.mode({ tag: 'v1park', mode: 'zero' }), { timeout: 5000 });
  const st = await state('v1');
  assert.equal(st.kind, 'quota');
  assert.match(st.reason, /^balance sync: /);
  assert.ok(st.unusable_until_ms > Date.now() + 60000, 're-checked well before it lapses by itself');
  const stat = (await d.get(admin, '/api/quota/stat')).json;
  assert.equal(stat.states.v1.kind, 'quota');
  assert.ok(stat.balances.find((b) => b.provider === 'v1').park_until > 0);

  await stack.msUntilProvider('v1', () => fb.mode({ tag: 'v1park', mode: 'good' }), { timeout: 5000 });
  assert.equal(await state('v1'), null);
  assert.equal((await balances()).v1.park_until, null);

  // A park the data plane set for a reason of its own stays while the balance is fine.
  const until = Date.now() + 60000;
  await stack.redis('HSET', 'lingmo:provider_state', 'v1', JSON.stringify({ unusable_until_ms: until, reason: 'Rate limit reached', kind: 'rate_limited' }));
  const seen = (await record('v1')).ts;
  await waitFor(async () => Number((await record('v1')).ts) > Number(seen) + 1500, { timeout: 5000, what: 'two more syncs of v1' });
  assert.equal((await state('v1'))?.reason, 'Rate limit reached');
  await stack.resetParks();
  // The balance sync off for v1 again (kind none): it is left alone.
  assert.equal((await d.put(admin, '/api/model/v1', { balance: { kind: 'none', url: '' } })).status, 200);
});

test('a plan window at the switch threshold parks until its reset; a blocked xAI key parks as auth', async () => {
  const reset = 2 * 3600_000;
  await fb.mode({ tag: 'w-zhipu', mode: 'good', percent: 96, reset_ms: reset });
  await addSynced('w-zhipu', 'zhipu', { threshold: 0.95 });
  await waitFor(() => state('w-zhipu'), { timeout: 5000, what: 'w-zhipu parked' });
  const st = await state('w-zhipu');
  assert.equal(st.kind, 'quota');
  assert.match(st.reason, /plan window TOKENS_LIMIT\/5h at 96% \(switch threshold 95%\)/);
  assert.ok(Math.abs(st.unusable_until_ms - (Date.now() + reset)) < 10000, 'until the window resets');
  await fb.mode({ tag: 'w-zhipu', mode: 'good', percent: 40 });
  await waitFor(async () => (await state('w-zhipu')) === null, { timeout: 5000, what: 'w-zhipu unparked' });

  // The global threshold (0.99 by default) where the provider has none: 96% is below it.
  await fb.mode({ tag: 'w-minimax', mode: 'good', percent: 96 });
  await addSynced('w-minimax', 'minimax');
  await waitReading('w-minimax');
  await sleep(1500);
  assert.equal(await state('w-minimax'), null);
  await fb.mode({ tag: 'w-minimax', mode: 'zero' });
  await waitFor(() => state('w-minimax'), { timeout: 5000, what: 'w-minimax parked at 100%' });
  // The sync switched off while its park holds (until the window's reset, an hour away): lifted.
  assert.equal((await d.put(admin, '/api/model/w-minimax', { balance: { kind: 'none' } })).status, 200);
  await waitFor(async () => (await state('w-minimax')) === null, { timeout: 5000, what: 'the orphaned park lifted' });
  assert.equal((await balances())['w-minimax'].park_until, null);

  await fb.mode({ tag: 'w-xai', mode: 'zero' });
  await addSynced('w-xai', 'xai');
  await waitFor(() => state('w-xai'), { timeout: 5000, what: 'w-xai parked' });
  const ax = await state('w-xai');
  assert.equal(ax.kind, 'auth');
  assert.match(ax.fingerprint, /^[0-9a-f]{16}$/, 'holds only while the provider is unchanged (a new key lifts it)');
  assert.equal((await balances())['w-xai'].key_blocked, true);
  await stack.resetParks();
  for (const id of ['w-zhipu', 'w-minimax', 'w-xai']) assert.equal((await d.del(admin, `/api/model/${id}`)).status, 200);
});

test('balance_low and sync_failing alerts reach a webhook, once per day / per failure streak', async () => {
  // Rule input first.
  const ch = await d.post(admin, '/api/alerts/channels', { name: 'balance hook', type: 'webhook', url: `${recv.base}/hook` });
  assert.equal(ch.status, 201, ch.text);
  const c = [ch.json.id];
  for (const [body, why] of [
    [{ event: 'balance_low', channels: c }, /needs min_balance/],
    [{ event: 'balance_low', channels: c, min_balance: '10' }, /min_balance must be a number/],
    [{ event: 'warn_level', channels: c, min_balance: 10 }, /balance_low rules only/],
    [{ event: 'sync_failing', channels: c, failures: 0 }, /failures must be a whole number/],
    [{ event: 'exhausted', channels: c, failures: 3 }, /sync_failing rules only/],
    [{ event: 'sync_failing', channels: c, provider: 5 }, /provider must be a provider id/],
  ]) {
    const r = await d.post(admin, '/api/alerts/rules', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.match(r.json.error.message, why);
  }
  const low = await d.post(admin, '/api/alerts/rules', { event: 'balance_low', channels: c, min_balance: 10, provider: 'al-low' });
  assert.equal(low.status, 201, low.text);
  assert.deepEqual(low.json, { id: low.json.id, event: 'balance_low', channels: c, min_balance: 10, provider: 'al-low', cooldown_s: 1800, enabled: true });
  const failing = await d.post(admin, '/api/alerts/rules', { event: 'sync_failing', channels: c, provider: 'al-fail' });
  assert.equal(failing.status, 201, failing.text);
  assert.equal(failing.json.failures, 3, 'three in a row by default');

  await fb.mode({ tag: 'al-low', mode: 'low' });
  await fb.mode({ tag: 'al-fail', mode: 'html' });
  await addSynced('al-low', 'deepseek');
  await addSynced('al-fail', 'stepfun');
  const of = (event, provider) => recv.got.filter((e) => e?.event === event && e.provider === provider);
  await waitFor(() => of('balance_low', 'al-low').length >= 1, { timeout: 8000, what: 'a balance_low alert' });
  const e = of('balance_low', 'al-low')[0];
  assert.equal(e.severity, 'warning');
  assert.match(e.title, /^al-low: balance 1\.50 CNY, under 10\.00 CNY$/);
  // sync_failing after the third failure in a row (1 s, then 1 s and 2 s of backoff).
  await waitFor(() => of('sync_failing', 'al-fail').length >= 1, { timeout: 10000, what: 'a sync_failing alert' });
  assert.ok(Number((await record('al-fail')).failures) >= 3);
  assert.match(of('sync_failing', 'al-fail')[0].text, /not JSON/);
  assert.equal(of('balance_low', 'al-fail').length, 0, 'no reading, no balance alert');
  // Once: the engine runs every second, the alerts do not repeat.
  await sleep(3000);
  assert.equal(of('balance_low', 'al-low').length, 1);
  assert.equal(of('sync_failing', 'al-fail').length, 1);
  // A new failure streak alerts again.
  await fb.mode({ tag: 'al-fail', mode: 'good' });
  assert.equal((await syncNow('al-fail')).json.ok, true);
  await fb.mode({ tag: 'al-fail', mode: '500' });
  await waitFor(() => of('sync_failing', 'al-fail').length >= 2, { timeout: 12000, what: 'a second sync_failing alert' });
  // Rules scoped to a provider leave the others alone (k-* providers read 23.5; g-ds, bo... fail or not).
  assert.ok(recv.got.every((x) => x?.provider === 'al-low' || x?.provider === 'al-fail'), JSON.stringify(recv.got.map((x) => x?.provider)));
  await fb.mode({ tag: 'al-fail', mode: 'good' });
  for (const r of [low.json, failing.json]) assert.equal((await d.del(admin, `/api/alerts/rules/${r.id}`)).status, 200);
});

test('two daemons on one Redis: one sync per provider per interval (the lease and the shared schedule)', async () => {
  const d2 = await startDaemon(stack, { env: DAEMON_ENV });
  try {
    await addSynced('ls', 'moonshot');
    await waitReading('ls');
    const before = (await fb.stats()).requests.ls;
    const t0 = performance.now();
    await sleep(6000);
    const asked = (await fb.stats()).requests.ls - before;
    const secs = (performance.now() - t0) / 1000;
    // One per 1 s interval at most (ticks are 1 s apart in each daemon, so 1-2 s between syncs),
    // and never two close together (both daemons due at once: one gets the lease, the other
    // finds the new schedule under it).
    assert.ok(asked >= secs / 2 - 1 && asked <= secs + 1, `${asked} syncs in ${secs.toFixed(1)} s with two daemons`);
    const times = (await fb.stats()).times.ls;
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    assert.ok(Math.min(...gaps) >= 800, `gaps between syncs: ${gaps}`);
    // The lease is released after each sync.
    const leases = (await stack.redis('--scan', '--pattern', 'lingmo:lease:balance:*')).split('\n').filter(Boolean);
    assert.ok(leases.length <= 3, `leases left: ${leases}`);
    // Another replica holding the lease: neither daemon syncs the provider, on schedule or on demand.
    await stack.redis('SET', 'lingmo:lease:balance:ls', 'another-replica', 'PX', '3000');
    const held = (await fb.stats()).requests.ls;
    const busy = await d.post(admin, '/api/quota/sync/ls', {});
    assert.equal(busy.status, 409, busy.text);
    assert.equal(busy.json.error.code, 'sync_running');
    await sleep(2500);
    assert.equal((await fb.stats()).requests.ls, held, 'no sync while another replica holds the lease');
    assert.equal(await stack.redis('GET', 'lingmo:lease:balance:ls'), 'another-replica', 'a lease of another replica is not released');
    await waitFor(async () => (await fb.stats()).requests.ls > held, { timeout: 4000, what: 'syncs to resume after the lease lapsed' });
  } finally {
    await d2.stop({ timeout: 20000 });
  }
});

test('POST /api/quota/sync/{id}: admin only, audited; 404 unknown, 409 without an endpoint; viewers read, never sync', async () => {
  const ok = await d.post(admin, '/api/quota/sync/k-moonshot', {});
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.provider, 'k-moonshot');
  assert.equal(ok.json.ok, true);
  assert.equal(ok.json.balance, 23.5);
  assert.equal((await d.post(admin, '/api/quota/sync/nope', {})).status, 404);
  const none = await d.post(admin, '/api/quota/sync/v2', {});
  assert.equal(none.status, 409, none.text);
  assert.equal(none.json.error.code, 'no_balance_endpoint');
  const off = await d.post(admin, '/api/quota/sync/v1', {});  // balance.kind none since the park test
  assert.equal(off.status, 409);
  assert.match(off.json.error.message, /switched off/);
  const audit = await auditFromRedis(stack);
  assert.ok(audit.some((a) => a.action === 'quota.sync' && a.target === '/api/quota/sync/k-moonshot' && a.status === 200), JSON.stringify(audit.slice(0, 3)));

  assert.equal((await d.req('POST', '/api/quota/sync/k-moonshot', { body: {} })).status, 401);
  assert.equal((await d.req('GET', '/api/quota/stat')).status, 401);
  const rec = JSON.parse(await stack.redis('HGET', 'lingmo:admin:users', 'admin'));
  await stack.redis('HSET', 'lingmo:admin:users', 'viewer-b', JSON.stringify({ ...rec, role: 'viewer', must_change: false }));
  try {
    const v = await d.session('viewer-b', ADMIN_PASSWORD);
    const stat = await d.get(v, '/api/quota/stat');
    assert.equal(stat.status, 200);
    assert.ok(stat.json.balances.some((b) => b.provider === 'k-moonshot'));
    assert.equal((await d.post(v, '/api/quota/sync/k-moonshot', {})).status, 403);
  } finally {
    await stack.redis('HDEL', 'lingmo:admin:users', 'viewer-b');
  }
});

test('GET /metrics exposes balances, plan windows and failure counts', async () => {
  const r = await d.req('GET', '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.text, /^lingmo_provider_balance\{provider="k-deepseek",currency="CNY"\} 23\.5$/m);
  assert.match(r.text, /^lingmo_provider_balance\{provider="k-siliconflow",currency=""\} 23\.5$/m);
  assert.match(r.text, /^lingmo_provider_plan_used_ratio\{provider="k-zhipu",window="TOKENS_LIMIT\/5h"\} 0\.12$/m);
  assert.match(r.text, /^lingmo_balance_sync_failures\{provider="k-deepseek"\} 0$/m);
  assert.ok(!/lingmo_provider_balance\{provider="k-xai"/.test(r.text), 'no balance reported: no sample, not 0');
});

test('keys are never stored or logged in clear; the admin key is sealed for its own purpose', async () => {
  const dump = JSON.stringify(await redisDump(stack));
  assert.ok(!dump.includes(KEY), 'the inference key is nowhere in Redis');
  assert.ok(!dump.includes(ADMIN_KEY), 'the admin key is nowhere in Redis');
  const stored = JSON.parse(await stack.redis('HGET', 'lingmo:providers', 'k-openai'));
  assert.match(stored.balance.admin_key_sealed, /^lmk1:/);
  assert.notEqual(stored.balance.admin_key_sealed, stored.api_key_sealed);
  const view = (await d.get(admin, '/api/model/k-openai')).json;
  assert.equal(view.balance.has_admin_key, true);
  assert.equal(view.balance.admin_key_sealed, undefined, 'not even the sealed admin key is shown');
  for (const text of [d.outputWithoutPasswordLine(), (await d.get(admin, '/api/quota/stat')).text]) {
    assert.ok(!text.includes(KEY) && !text.includes(ADMIN_KEY), 'no key in the daemon output or the stat view');
  }
  // An update without admin_key keeps the sealed one; "" removes it (and admin usage then needs one).
  const upd = await d.put(admin, '/api/model/k-openai', { balance: { currency: 'USD' } });
  assert.equal(upd.status, 200, upd.text);
  assert.equal(JSON.parse(await stack.redis('HGET', 'lingmo:providers', 'k-openai')).balance.admin_key_sealed, stored.balance.admin_key_sealed);
  const drop = await d.put(admin, '/api/model/k-openai', { balance: { admin_key: '' } });
  assert.equal(drop.status, 400, drop.text);
  assert.match(drop.json.error.message, /needs balance.admin_key/);
});
