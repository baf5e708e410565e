// Canary keys: a vendor key and a gateway key that must never appear in any log, error, metric or
// alert (their masked forms may). Both are made distinctive; a "leak" is the whole key or its
// middle part (what a mask hides) anywhere in:
//   the answers clients got (bodies and headers), nginx's error log (info level) and access log,
//   the daemon's stdout/stderr, every key in Redis (lingmo:log:requests, provider_state, audit,
//   alert deliveries, ...), the daemon's API (providers, keys, request log, audit, deliveries,
//   export without include_secrets, /metrics, connectivity tests), and the requests a local
//   alert webhook received. The gateway key must also never reach a vendor.
//
// The vendor canary is the key of two providers added through the daemon: canary-o (an OpenAI
// fake) and canary-a (an Anthropic fake), both started here with that key. The gateway canary is
// a key created through the daemon (its secret appears once, in the create answer).
//
// Tests run in order. The first drives every path where nothing echoes a key (answers, vendor
// errors that do not quote the key, a connectivity test, alerts, export, metrics) and sweeps
// everything. The next ones make the vendor answer errors that quote the key it was sent (as some
// vendors and proxies do: "Incorrect API key provided: sk-...") and check each place again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { FAKES, chatBody, readStream, request, sleep, startStack, waitFor } from '../integration/harness.mjs';
import { adminSession, redisDump, startDaemon } from '../controlplane/daemon.mjs';
import { ANTHROPIC_HEADERS, CLIENTS, PATH, bodyFor } from './lib.mjs';

const CANARY_VENDOR = 'sk-canaryVND-7f3a9c1e5b2d4f6a8c0e1d2c3b4a';

let stack;
let d;
let admin;
let recv;
const fakes = {};         // canary-o / canary-a: { child, port, baseUrl, stats(), mode() }
let gwKey;                // the gateway canary (secret)
const seen = [];          // [{ where, text }] every answer the test got, swept at the end

// --- the canaries -----------------------------------------------------------------------------

const middle = (k) => k.slice(8, -6);   // what a mask (first 3-4 and last 4 characters) hides
function leaksIn(text, key) {
  return typeof text === 'string' && (text.includes(key) || text.includes(middle(key)));
}

function record(where, r) {
  const headers = r.headers instanceof Headers ? Object.fromEntries(r.headers) : r.headers;
  seen.push({ where, text: `${JSON.stringify(headers ?? {})}\n${r.text ?? ''}` });
  return r;
}

// --- in-test helpers: fakes with the canary key, the webhook receiver --------------------------

async function startFake(dialect, name) {
  const portFile = path.join(stack.dir, `${name}.port`);
  const child = spawn(process.execPath, [FAKES[dialect].script, '--port', '0', '--name', name, '--key', CANARY_VENDOR, '--port-file', portFile],
    { stdio: ['ignore', 'ignore', fs.openSync(path.join(stack.dir, `${name}.stderr`), 'w')] });
  const port = await waitFor(() => fs.existsSync(portFile) && Number(fs.readFileSync(portFile, 'utf8').trim()), { timeout: 10000, what: `${name} port` });
  const control = async (method, p, body) => (await request({ port, method, path: p, body })).json;
  return {
    child, port, baseUrl: `http://127.0.0.1:${port}${FAKES[dialect].basePath}`,
    stats: () => control('GET', '/_control/stats'),
    mode: (m) => control('POST', '/_control/mode', typeof m === 'string' ? { mode: m } : m),
  };
}

function startReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      got.push({ url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    got, base: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  })));
}

before(async () => {
  stack = await startStack({ vendors: 1, nginxConf: { server: 'access_log access.log;' } });
  fakes.o = await startFake('openai', 'canary-o');
  fakes.a = await startFake('anthropic', 'canary-a');
  recv = await startReceiver();
  d = await startDaemon(stack, { env: { OUTBOUND_ALLOW: '127.0.0.0/8', QUOTA_SAMPLE_INTERVAL: '1' } });
  admin = await adminSession(d);
  for (const [id, f, dialect, model] of [['canary-o', fakes.o, 'openai', 'canary-model'], ['canary-a', fakes.a, 'anthropic', 'canary-anth']]) {
    const r = await d.post(admin, '/api/model/add', { id, base_url: f.baseUrl, api_key: CANARY_VENDOR, dialect, models: [`${model}=m-${id}`], priority: 5 });
    assert.equal(r.status, 201, r.text);
    assert.ok(!leaksIn(r.text, CANARY_VENDOR), `the add answer shows the key: ${r.text}`);
  }
  const k = await d.post(admin, '/api/keys', { name: 'canary-gw' });
  assert.equal(k.status, 201, k.text);
  gwKey = k.json.secret;
  assert.ok(gwKey.length >= 24, gwKey);
  const ch = await d.post(admin, '/api/alerts/channels', { name: 'hook', type: 'webhook', url: `${recv.base}/hook` });
  assert.equal(ch.status, 201, ch.text);
  for (const event of ['key_invalid', 'exhausted', 'all_exhausted', 'switched', 'circuit_open']) {
    const r = await d.post(admin, '/api/alerts/rules', { event, channels: [ch.json.id], cooldown_s: 60 });
    assert.equal(r.status, 201, r.text);
  }
  await stack.waitConfigLoaded();
  await waitFor(async () => (await stack.chat(chatBody({ model: 'canary-model' }), { key: gwKey })).status === 200, { timeout: 3000, what: 'the canary provider and key' });
});

after(async () => {
  try {
    if (d && !d.exit) await d.stop({ timeout: 15000 });
  } finally {
    for (const f of Object.values(fakes)) f.child.kill('SIGTERM');
    await recv?.close();
    await stack?.stop();
  }
});

// --- requests through the gateway ------------------------------------------------------------

async function ask(client, model, { stream = false } = {}) {
  const headers = client === 'messages' ? ANTHROPIC_HEADERS : {};
  const body = bodyFor(client, model, 'hello', stream ? { stream: true } : {});
  if (!stream) return record(`${client} ${model}`, await stack.chat(body, { path: PATH[client], key: gwKey, headers }));
  const r = await stack.chat(body, { path: PATH[client], key: gwKey, headers, stream: true });
  const s = await readStream(r);
  return record(`${client} ${model} stream`, { status: s.status, headers: s.headers, text: s.text });
}

async function clearParks() {
  await stack.admin('state', 'clear', '*');
  await sleep(80);
}

// --- the sweep ---------------------------------------------------------------------------------

// Every place a key could end up: [{ where, text }].
async function sinks() {
  const out = [...seen];
  out.push({ where: 'nginx error.log', text: stack.errorLog() });
  const access = path.join(stack.dir, 'access.log');
  out.push({ where: 'nginx access.log', text: fs.existsSync(access) ? fs.readFileSync(access, 'utf8') : '' });
  out.push({ where: 'daemon stdout+stderr', text: d.outputWithoutPasswordLine() });
  for (const [k, v] of Object.entries(await redisDump(stack))) out.push({ where: `redis ${k}`, text: v });
  for (const p of ['/api/model/list', '/api/keys', '/api/log/list?limit=500', '/api/audit', '/api/alerts/deliveries',
    '/api/alerts/channels', '/api/config/export', '/api/quota/stat', '/api/settings']) {
    const r = await d.get(admin, p);
    assert.equal(r.status, 200, `${p}: ${r.text}`);
    out.push({ where: `daemon GET ${p}`, text: r.text });
  }
  out.push({ where: 'daemon GET /metrics', text: (await d.req('GET', '/metrics')).text });
  for (const g of recv.got) out.push({ where: `webhook ${g.url}`, text: `${JSON.stringify(g.headers)}\n${g.body}` });
  return out;
}

async function leaksOf(key) {
  return (await sinks()).filter((s) => leaksIn(s.text, key)).map((s) => s.where);
}

const uniq = (a) => [...new Set(a)];

// --- tests -------------------------------------------------------------------------------------

test('paths without an echo (answers, plain vendor errors, connectivity test, alerts, export, metrics): no canary anywhere', async () => {
  // Success, every client dialect, both vendor dialects, stream and not.
  for (const model of ['canary-model', 'canary-anth']) {
    for (const client of CLIENTS) {
      for (const stream of [false, true]) {
        const r = await ask(client, model, { stream });
        assert.equal(r.status, 200, `${client} ${model} ${stream}: ${r.text.slice(0, 200)}`);
      }
    }
  }
  // The vendors really got the canary vendor key, and never the gateway key.
  const so = await fakes.o.stats();
  assert.equal(so.last_request.headers.authorization, `Bearer ${CANARY_VENDOR}`);
  const sa = await fakes.a.stats();
  assert.equal(sa.last_request.headers['x-api-key'], CANARY_VENDOR);
  for (const st of [so, sa]) assert.ok(!leaksIn(JSON.stringify(st.last_request), gwKey), 'the gateway key reached a vendor');

  // Vendor errors that do not quote the key: 500, 429 (parks), 401 (parks as auth: key_invalid alert).
  for (const mode of ['500', '429', '401']) {
    await clearParks();
    await fakes.o.mode({ mode, times: 1 });
    const r = await ask('chat', 'canary-model');
    assert.ok(r.status >= 400, `${mode}: ${r.status}`);
  }
  // A connectivity test of each canary provider (the key goes out; the answer must not show it).
  for (const id of ['canary-o', 'canary-a']) {
    const t = record(`connectivity test ${id}`, await d.post(admin, '/api/model/test', { id }));
    assert.equal(t.status, 200, t.text);
    assert.equal(t.json.ok, true, t.text);
  }
  // The 401 parked canary-o as auth: the key_invalid alert reaches the webhook.
  await waitFor(() => recv.got.some((g) => /key_invalid/.test(g.body)), { timeout: 6000, what: 'the key_invalid alert' });
  const exp = record('export', await d.get(admin, '/api/config/export'));
  assert.equal(exp.status, 200, exp.text);
  assert.ok(exp.text.includes('canary-o'), 'the export has the provider');
  await sleep(300);  // request log records on their way

  const vendorLeaks = await leaksOf(CANARY_VENDOR);
  assert.deepEqual(uniq(vendorLeaks), [], 'the vendor canary leaked');
  const gwLeaks = await leaksOf(gwKey);
  assert.deepEqual(uniq(gwLeaks), [], 'the gateway canary leaked');
  // The masked forms are fine, and do show up where a key is described.
  assert.ok((await d.get(admin, '/api/model/list')).text.includes(CANARY_VENDOR.slice(-4)), 'the provider list shows the masked key');
});

// A vendor error body quoting the key it was sent, in each vendor's shape.
const ECHO = {
  o: {
    401: { error: { message: `Incorrect API key provided: ${CANARY_VENDOR}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
    400: { error: { message: `Invalid request with api_key=${CANARY_VENDOR}: 'temperature' is out of range`, type: 'invalid_request_error', param: 'temperature', code: null } },
    500: { error: { message: `upstream failure for key ${CANARY_VENDOR}`, type: 'server_error', param: null, code: null } },
  },
  a: {
    401: { type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key: ${CANARY_VENDOR}` } },
    400: { type: 'error', error: { type: 'invalid_request_error', message: `max_tokens too large for key ${CANARY_VENDOR}` } },
  },
};

test('vendor errors quoting the vendor key: the client answers (every dialect) do not carry it',
  async () => {
    const bad = [];
    for (const [f, model] of [['o', 'canary-model'], ['a', 'canary-anth']]) {
      for (const [status, body] of Object.entries(ECHO[f])) {
        for (const client of CLIENTS) {
          await clearParks();
          await fakes[f].mode({ mode: 'custom', status: Number(status), body, times: 1 });
          const r = await ask(client, model);
          assert.ok(r.status >= 400, `${client} <- ${f} ${status}: ${r.status}`);
          if (leaksIn(r.text, CANARY_VENDOR) || leaksIn(JSON.stringify(r.headers), CANARY_VENDOR)) bad.push(`${client} <- canary-${f} HTTP ${status}: ${r.text.slice(0, 160)}`);
        }
      }
    }
    assert.deepEqual(bad, [], 'client answers quoting the vendor key');
  });

test('a connectivity test against a vendor quoting the key: the daemon\'s answer does not carry it',
  async () => {
    const bad = [];
    for (const [f, id] of [['o', 'canary-o'], ['a', 'canary-a']]) {
      await fakes[f].mode({ mode: 'custom', status: 401, body: ECHO[f][401], times: 1 });
      const t = record(`connectivity test ${id} (echo)`, await d.post(admin, '/api/model/test', { id }));
      assert.equal(t.status, 200, t.text);
      assert.equal(t.json.ok, false, t.text);
      assert.equal(t.json.error.class, 'auth', t.text);
      if (leaksIn(t.text, CANARY_VENDOR)) bad.push(`${id}: ${t.text.slice(0, 200)}`);
    }
    assert.deepEqual(bad, [], 'connectivity test answers quoting the vendor key');
  });

test('after vendor errors quoting the key: it is in no log, Redis key, API view, metric or alert',
  async () => {
    // A 401 quoting the key parks the provider as auth, which alerts (a new park: a new event).
    await clearParks();
    const n = recv.got.length;
    await fakes.o.mode({ mode: 'custom', status: 401, body: ECHO.o[401], times: 1 });
    await ask('chat', 'canary-model');
    await waitFor(() => recv.got.length > n, { timeout: 6000, what: 'an alert for the new park' }).catch(() => {});
    await sleep(300);
    assert.deepEqual(uniq(await leaksOf(CANARY_VENDOR)), [], 'places holding the vendor canary');
  });

test('the gateway canary is still nowhere after all of it, and never reached a vendor', async () => {
  await sleep(200);
  assert.deepEqual(uniq(await leaksOf(gwKey)), [], 'places holding the gateway canary');
  for (const f of Object.values(fakes)) assert.ok(!leaksIn(JSON.stringify((await f.stats()).last_request), gwKey));
  assert.ok(!leaksIn(JSON.stringify((await stack.vendor(1).stats()).last_request ?? {}), gwKey));
});

test('a wrong gateway key that looks like the canary is answered with its masked form only', async () => {
  const wrong = `${gwKey.slice(0, -4)}XXXX`;
  for (const client of CLIENTS) {
    const r = await stack.chat(bodyFor(client, 'canary-model'), { path: PATH[client], key: wrong, headers: client === 'messages' ? ANTHROPIC_HEADERS : {} });
    assert.equal(r.status, 401, r.text);
    assert.ok(!leaksIn(r.text, wrong), `${client}: ${r.text}`);
  }
  await sleep(200);
  assert.deepEqual(uniq(await leaksOf(wrong)), [], 'places holding the wrong key');
});

