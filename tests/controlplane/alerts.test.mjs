// lingmo-controld alerts: channels (GET/POST /api/alerts/channels, PUT/DELETE
// /api/alerts/channels/{id}, POST /api/alerts/channels/{id}/test), rules (GET/POST
// /api/alerts/rules, PUT/DELETE /api/alerts/rules/{id}), the delivery history
// (GET /api/alerts/deliveries) and the engine that turns Redis state into events.
//
// One stack (2 fake vendors: v1, v2 serving gpt-test) and one daemon started with
// OUTBOUND_ALLOW=127.0.0.0/8 (to reach the local fakes) and QUOTA_SAMPLE_INTERVAL=1 (the alert
// engine runs every second). The fakes: an HTTP receiver in this file (records every request; the
// first path segment says how it answers: ok, tg, errcode, feishuerr, tgerr, 500, slow, hang) and
// the SMTP sink tests/fakes/fake_smtp.mjs. Events are made by writing what nginx would write:
// lingmo:provider_state (parks) and lingmo:quota:<provider>:<rule>:<window> (counters).
// Tests run in order and share the channels created by the first ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { freePort, startStack } from '../integration/harness.mjs';
import { startFakeSmtp } from '../fakes/fake_smtp.mjs';
import { adminSession, auditFromRedis, redisDump, sleep, startDaemon, waitFor } from './daemon.mjs';

let stack;
let d;
let admin;
let recv;        // the fake HTTP receiver
let smtp;        // the fake SMTP server
let closedPort;  // a port nobody listens on

// Secrets that must never come back out of the API, Redis or the daemon's output.
const S = {
  whToken: 'whtok-0a1b2c3d4e5f',
  whQuery: 'whq-9f8e7d6c5b4a',
  whSecret: 'whsec-Zz9Yy8Xx7Ww6',
  dingToken: 'dingtok-1122334455',
  dingSecret: 'SECding-aabbccddeeff00112233',
  feishuToken: 'fstok-66778899aa',
  feishuSecret: 'fssec-bbccddeeff0011',
  wecomKey: 'wckey-2233445566',
  slackToken: 'slacktok-778899aabb',
  tgToken: '123456:tgtok-ccddeeff0011',
  smtpPassword: 'smtp-pw-Q1w2E3r4T5',
  evToken: 'evtok-3344556677',
  evSecret: 'evsec-8899aabbccdd',
};

const ch = {};   // channels created by the first test, by type: { id, ... } as the API answered

// --- the fake HTTP receiver ----------------------------------------------------------------------

function startReceiver() {
  const got = [];
  const hung = new Set();
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      const u = new URL(req.url, 'http://receiver.test');
      let json;
      try { json = JSON.parse(body); } catch { json = undefined; }
      got.push({ method: req.method, url: req.url, path: u.pathname, query: Object.fromEntries(u.searchParams), headers: req.headers, body, json, t: performance.now() });
      const seg = u.pathname.split('/');
      const answer = (status, text) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(text); };
      switch (seg[1]) {
        case 'hang': {   // never answers (20 s), like a dead service that accepted the connection
          hung.add(res);
          const t = setTimeout(() => { hung.delete(res); if (!res.writableEnded) answer(200, '{}'); }, 20000);
          t.unref();
          res.on('close', () => { clearTimeout(t); hung.delete(res); });
          return;
        }
        case '500': return answer(500, '{"error":"boom"}');
        case 'errcode': return answer(200, '{"errcode":1,"errmsg":"sign not match"}');        // DingTalk / WeCom
        case 'feishuerr': return answer(200, '{"code":19021,"msg":"sign match fail or timestamp is not within one hour"}');
        case 'tgerr': return answer(200, '{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}');
        case 'tg': return answer(200, '{"ok":true,"result":{"message_id":7}}');
        case 'slow': return setTimeout(() => answer(200, '{"errcode":0}'), Number(seg[2]) || 500);
        default: return answer(200, '{"errcode":0,"errmsg":"ok"}');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    resolve({
      server, got, hung, port, base: `http://127.0.0.1:${port}`,
      // Ends every request the receiver is holding (a hung delivery then fails at once).
      release() { for (const r of hung) r.socket?.destroy(); hung.clear(); },
      close() { this.release(); server.closeAllConnections(); return new Promise((ok) => server.close(() => ok())); },
    });
  }));
}

const hits = (prefix) => recv.got.filter((r) => r.path.startsWith(prefix));

async function waitHits(prefix, n, { timeout = 4000, what } = {}) {
  await waitFor(() => hits(prefix).length >= n, { timeout, interval: 20, what: what ?? `${n} request(s) to ${prefix} (got ${hits(prefix).length})` });
  return hits(prefix);
}

// --- helpers ---------------------------------------------------------------------------------------

before(async () => {
  stack = await startStack({ vendors: 2 });
  [recv, smtp, closedPort] = await Promise.all([startReceiver(), startFakeSmtp(), freePort()]);
  d = await startDaemon(stack, { env: { OUTBOUND_ALLOW: '127.0.0.0/8', QUOTA_SAMPLE_INTERVAL: '1' } });
  admin = await adminSession(d);
  // A daily request quota on v1: the sampler then records one reading per run, which tells the
  // tests when the engine has run (engineRuns); the counter makes warn_level events.
  const q = await d.put(admin, '/api/model/v1', { quotas: ['requests/day=100'] });
  assert.equal(q.status, 200, q.text);
  // A third provider with a model of its own (alert-model), for key_invalid and all_exhausted.
  const a3 = await d.post(admin, '/api/model/add', { id: 'a3', base_url: stack.vendor(1).baseUrl, api_key: 'sk-a3-000000', models: ['alert-model'] });
  assert.equal(a3.status, 201, a3.text);
});

after(async () => {
  try {
    if (d && !d.exit) await d.stop({ timeout: 15000 });
  } finally {
    try {
      await recv?.close();
      await smtp?.close();
    } finally {
      await stack?.stop();
    }
  }
});

const today = () => new Date().toISOString().slice(0, 10);
const hmacHex = (key, data) => crypto.createHmac('sha256', key).update(data).digest('hex');
const hmacB64 = (key, data) => crypto.createHmac('sha256', key).update(data).digest('base64');

async function addChannel(body) {
  const r = await d.post(admin, '/api/alerts/channels', body);
  assert.equal(r.status, 201, `${JSON.stringify(body)}: ${r.text}`);
  return r.json;
}

async function addRule(event, channels, extra = {}) {
  const r = await d.post(admin, '/api/alerts/rules', { event, channels, ...extra });
  assert.equal(r.status, 201, `${event}: ${r.text}`);
  return r.json;
}

async function deleteAllRules() {
  const list = (await d.get(admin, '/api/alerts/rules')).json.rules;
  for (const r of list) assert.equal((await d.del(admin, `/api/alerts/rules/${r.id}`)).status, 200);
}

async function testSend(id) {
  const r = await d.post(admin, `/api/alerts/channels/${id}/test`, {});
  assert.equal(r.status, 200, r.text);
  return r.json;
}

// Parks providers as nginx does: { id: { kind, reason, secs } } -> their unusable_until_ms.
async function park(states) {
  const args = [];
  const until = {};
  for (const [id, s] of Object.entries(states)) {
    until[id] = Date.now() + (s.secs ?? 600) * 1000;
    args.push(id, JSON.stringify({ unusable_until_ms: until[id], reason: s.reason ?? `${s.kind} test`, kind: s.kind }));
  }
  await stack.redis('HSET', 'lingmo:provider_state', ...args);
  return until;
}

const setUsed = (n) => stack.redis('HSET', `lingmo:quota:v1:0:${today()}`, 'requests', String(n));

// Resolves once the alert engine has run `n` more times (the sampler, which runs the engine right
// after each reading, appends one reading of v1's quota per run), plus time for local deliveries.
async function engineRuns(n) {
  const count = async () => Number(await stack.redis('LLEN', 'lingmo:quota:samples:v1:0'));
  const last = async () => Number((await stack.redis('LRANGE', 'lingmo:quota:samples:v1:0', '-1', '-1')).split(' ')[0] || 0);
  const t0 = await last();
  await waitFor(async () => {
    const out = (await stack.redis('LRANGE', 'lingmo:quota:samples:v1:0', '0', '-1')).split('\n').filter(Boolean);
    return out.filter((l) => Number(l.split(' ')[0]) > t0).length >= n;
  }, { timeout: 1500 * n + 1500, interval: 50, what: `${n} engine run(s) (readings: ${await count()})` });
  await sleep(250);
}

async function firedKeys() {
  return (await stack.redis('--scan', '--pattern', 'lingmo:alert:fired:*')).split('\n').filter(Boolean);
}

async function deliveries(query = '') {
  const r = await d.get(admin, `/api/alerts/deliveries${query}`);
  assert.equal(r.status, 200, r.text);
  return r.json.deliveries;
}

// Every channel's view must be free of sealed values and secrets.
function assertNoSecrets(text, where) {
  for (const [name, v] of Object.entries(S)) assert.ok(!text.includes(v), `${name} (${v}) shown in ${where}: ${text}`);
  for (const k of ['url_sealed', 'secret_sealed', 'smtp_password_sealed', 'lmk1:']) assert.ok(!text.includes(k), `${k} shown in ${where}: ${text}`);
}

// --- channels ------------------------------------------------------------------------------------

test('channels: every type is created (201); the API shows the URL as scheme and host only, has_secret, never a token or secret', async () => {
  const R = recv.base;
  const bodies = {
    webhook: { name: 'ops hook', type: 'webhook', url: `${R}/ok/webhook/${S.whToken}?access=${S.whQuery}`, secret: S.whSecret },
    dingtalk: { name: '钉钉', type: 'dingtalk', url: `${R}/ok/dingtalk/robot/send?access_token=${S.dingToken}`, secret: S.dingSecret },
    feishu: { name: 'feishu', type: 'feishu', url: `${R}/ok/feishu/open-apis/bot/v2/hook/${S.feishuToken}`, secret: S.feishuSecret },
    wecom: { name: 'wecom', type: 'wecom', url: `${R}/ok/wecom/cgi-bin/webhook/send?key=${S.wecomKey}` },
    slack: { name: 'slack', type: 'slack', url: `${R}/ok/slack/services/T000/B000/${S.slackToken}` },
    telegram: { name: 'tg', type: 'telegram', url: `${R}/tg/bot${S.tgToken}`, chat_id: '-1001234567890' },
    email: { name: 'mail', type: 'email', url: `smtp://127.0.0.1:${smtp.port}`, from: 'lingmo@example.com',
      to: ['ops@example.com', 'oncall@example.com'], smtp_user: 'mailer', smtp_password: S.smtpPassword },
  };
  for (const [type, body] of Object.entries(bodies)) {
    const r = await d.post(admin, '/api/alerts/channels', body);
    assert.equal(r.status, 201, `${type}: ${r.text}`);
    assertNoSecrets(r.text, `POST ${type}`);
    const c = r.json;
    assert.match(c.id, /^[0-9a-f]{8}$/);
    assert.equal(c.type, type);
    assert.equal(c.name, body.name);
    assert.equal(c.enabled, true);
    assert.equal(c.has_secret, ['webhook', 'dingtalk', 'feishu', 'email'].includes(type), `${type}: ${r.text}`);
    for (const k of ['secret', 'smtp_password', 'url_sealed', 'secret_sealed', 'smtp_password_sealed']) assert.equal(c[k], undefined, `${type}.${k}`);
    if (type === 'email') {
      assert.equal(c.url, `smtp://127.0.0.1:${smtp.port}`);
      assert.equal(c.from, 'lingmo@example.com');
      assert.deepEqual(c.to, ['ops@example.com', 'oncall@example.com']);
      assert.equal(c.smtp_user, 'mailer');
    } else {
      assert.ok(c.url === `${R}/…` || c.url === R, `${type} url shown as ${c.url}`);
    }
    if (type === 'telegram') assert.equal(c.chat_id, '-1001234567890');
    ch[type] = c;
  }
  const list = await d.get(admin, '/api/alerts/channels');
  assert.equal(list.status, 200, list.text);
  assertNoSecrets(list.text, 'GET /api/alerts/channels');
  for (const c of Object.values(ch)) assert.deepEqual(list.json.channels.find((x) => x.id === c.id), c);

  // Sealed in Redis (lmk1:<key id>:...) and the plain values nowhere.
  const stored = JSON.parse(await stack.redis('HGET', 'lingmo:alert:channels', ch.webhook.id));
  assert.match(stored.url_sealed, /^lmk1:[0-9a-f]{8}:/);
  assert.match(stored.secret_sealed, /^lmk1:[0-9a-f]{8}:/);
  assert.equal(stored.url, undefined);
  assert.equal(stored.secret, undefined);
  const mail = JSON.parse(await stack.redis('HGET', 'lingmo:alert:channels', ch.email.id));
  assert.match(mail.smtp_password_sealed, /^lmk1:[0-9a-f]{8}:/);
  const dump = JSON.stringify(await redisDump(stack));
  for (const [name, v] of Object.entries(S)) assert.ok(!dump.includes(v), `${name} is stored in plain in Redis`);
});

test('channels: bad input is 400 invalid_request and stores nothing', async () => {
  const before = await stack.redis('HLEN', 'lingmo:alert:channels');
  const url = `${recv.base}/ok/bad`;
  const mail = { type: 'email', url: `smtp://127.0.0.1:${smtp.port}`, from: 'a@example.com', to: ['b@example.com'] };
  const bad = [
    { type: 'nope', url },                                   // unknown type
    { url },                                                  // no type
    { type: 'WEBHOOK', url },
    { type: 5, url },
    { type: 'webhook' },                                      // no url
    { type: 'webhook', url: 'ftp://127.0.0.1/x' },            // not http(s)
    { type: 'webhook', url: 'file:///etc/passwd' },
    { type: 'webhook', url: 'javascript:alert(1)' },
    { type: 'webhook', url: 'gopher://127.0.0.1:6379/_PING' },
    { type: 'slack', url: `smtp://127.0.0.1:${smtp.port}` },
    { type: 'webhook', url: 42 },
    { type: 'webhook', url, secret: 7 },
    { type: 'webhook', url, enabled: 'yes' },
    { type: 'webhook', url, name: ['x'] },
    { type: 'telegram', url: `${recv.base}/tg/bot1:x` },       // telegram without chat_id
    { type: 'telegram', url: `${recv.base}/tg/bot1:x`, chat_id: '' },
    { ...mail, url: `${recv.base}/ok/mail` },                  // e-mail over http
    { ...mail, from: undefined },                              // e-mail without from
    { ...mail, to: undefined },                                // e-mail without to
    { ...mail, url: undefined },
    { ...mail, to: 'b@example.com' },                          // to not an array
    { ...mail, to: ['not-an-address'] },
    { ...mail, to: [5] },
    { ...mail, to: ['b@example.com\r\nBcc: evil@example.com'] },   // header injection
    { ...mail, to: ['b@example.com\nBcc: evil@example.com'] },
    { ...mail, to: ['<evil@example.com>'] },
  ];
  for (const body of bad) {
    const r = await d.post(admin, '/api/alerts/channels', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.status} ${r.text}`);
    assert.equal(r.json.error.code, 'invalid_request');
  }
  for (const raw of ['not json', '[]', '"x"']) assert.equal((await d.req('POST', '/api/alerts/channels', { auth: admin, body: raw })).status, 400, raw);
  assert.equal(await stack.redis('HLEN', 'lingmo:alert:channels'), before, 'nothing was stored');
});

test('channels: an e-mail channel needs at least one recipient and a From without CR/LF (no header or SMTP command injection)', async () => {
  const before = await stack.redis('HLEN', 'lingmo:alert:channels');
  const mail = { type: 'email', url: `smtp://127.0.0.1:${smtp.port}`, from: 'a@example.com', to: ['b@example.com'] };
  const got = {};
  for (const [what, body] of [['to: []', { ...mail, to: [] }],
    ['from with CRLF', { ...mail, from: 'a@example.com\r\nBcc: evil@example.com' }],
    ['from with LF', { ...mail, from: 'a@example.com\nBcc: evil@example.com' }],
    ['from without @', { ...mail, from: 'nobody' }]]) {
    const r = await d.post(admin, '/api/alerts/channels', body);
    got[what] = r.status;
    if (r.status === 201) await d.del(admin, `/api/alerts/channels/${r.json.id}`);
  }
  assert.deepEqual(got, { 'to: []': 400, 'from with CRLF': 400, 'from with LF': 400, 'from without @': 400 });
  assert.equal(await stack.redis('HLEN', 'lingmo:alert:channels'), before);
});

test('channels: the URL shown never carries a token, whatever its shape (query without a path, user:password@)', async () => {
  const port = recv.port;
  const shapes = {
    'query without a path': `http://127.0.0.1:${port}?access_token=${S.whToken}`,
    'user:password@host': `http://hookuser:${S.whSecret}@127.0.0.1:${port}/ok/userinfo`,
    'fragment without a path': `http://127.0.0.1:${port}#${S.whQuery}`,
  };
  const shown = {};
  for (const [what, url] of Object.entries(shapes)) {
    const c = await addChannel({ type: 'webhook', url });
    shown[what] = c.url;
    const listed = (await d.get(admin, '/api/alerts/channels')).json.channels.find((x) => x.id === c.id);
    shown[`${what} (list)`] = listed.url;
    await d.del(admin, `/api/alerts/channels/${c.id}`);
  }
  const head = new RegExp(`^http://127\\.0\\.0\\.1:${port}(/…)?$`);
  const leaks = Object.entries(shown).filter(([, url]) => !head.test(url) || [S.whToken, S.whSecret, S.whQuery].some((v) => url.includes(v)));
  assert.deepEqual(Object.fromEntries(leaks), {}, 'URLs shown with more than scheme and host');
});

test('channels: a password inside an SMTP URL (smtp://user:password@host) is not stored or shown in plain', async () => {
  const r = await d.post(admin, '/api/alerts/channels', { type: 'email', url: `smtp://mailer:${S.smtpPassword}@127.0.0.1:${smtp.port}`,
    from: 'a@example.com', to: ['b@example.com'] });
  try {
    if (r.status === 400) return;   // refusing credentials in the URL (use smtp_user / smtp_password) is fine too
    assert.equal(r.status, 201, r.text);
    const list = await d.get(admin, '/api/alerts/channels');
    const dump = JSON.stringify(await redisDump(stack));
    assert.ok(!r.text.includes(S.smtpPassword), `POST answer shows the SMTP password: ${r.text}`);
    assert.ok(!list.text.includes(S.smtpPassword), 'GET /api/alerts/channels shows the SMTP password');
    assert.ok(!dump.includes(S.smtpPassword), 'the SMTP password from the URL is stored in plain in Redis');
  } finally {
    if (r.status === 201) await d.del(admin, `/api/alerts/channels/${r.json.id}`);
  }
});

test('channels: PUT changes what it is given and keeps sealed values it is not given; unknown ids 404; bad updates 400 and change nothing', async () => {
  const id = ch.webhook.id;
  const stored0 = JSON.parse(await stack.redis('HGET', 'lingmo:alert:channels', id));
  const r = await d.put(admin, `/api/alerts/channels/${id}`, { name: 'renamed hook' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { ...ch.webhook, name: 'renamed hook' });
  const stored1 = JSON.parse(await stack.redis('HGET', 'lingmo:alert:channels', id));
  assert.equal(stored1.url_sealed, stored0.url_sealed, 'the URL is kept');
  assert.equal(stored1.secret_sealed, stored0.secret_sealed, 'the secret is kept');
  for (const body of [{ type: 'nope' }, { url: 'ftp://x/y' }, { enabled: 1 }, { type: 'telegram' }, { type: 'email' }]) {
    const bad = await d.put(admin, `/api/alerts/channels/${id}`, body);
    assert.equal(bad.status, 400, `${JSON.stringify(body)}: ${bad.text}`);
  }
  assert.equal((await d.req('PUT', `/api/alerts/channels/${id}`, { auth: admin, body: 'x' })).status, 400);
  assert.deepEqual(JSON.parse(await stack.redis('HGET', 'lingmo:alert:channels', id)), stored1, 'bad updates changed nothing');
  for (const p of ['/api/alerts/channels/ffffffff', '/api/alerts/channels/xyz', `/api/alerts/channels/${id}0`]) {
    const nf = await d.put(admin, p, { name: 'x' });
    assert.equal(nf.status, 404, `${p}: ${nf.text}`);
  }
  assert.equal((await d.post(admin, '/api/alerts/channels/ffffffff/test', {})).status, 404);
  const back = await d.put(admin, `/api/alerts/channels/${id}`, { name: ch.webhook.name });
  assert.equal(back.status, 200);
  // A channel is deleted once (200, then 404).
  const tmp = await addChannel({ type: 'slack', url: `${recv.base}/ok/tmp` });
  assert.deepEqual((await d.del(admin, `/api/alerts/channels/${tmp.id}`)).json, { ok: true });
  assert.equal((await d.del(admin, `/api/alerts/channels/${tmp.id}`)).status, 404);
  assert.equal(await stack.redis('HEXISTS', 'lingmo:alert:channels', tmp.id), '0');
});

test('channels: changing the type (webhook -> e-mail) leaves one url in the view, the new one', async () => {
  const c = await addChannel({ type: 'webhook', url: `${recv.base}/ok/retype/${S.whToken}` });
  try {
    const r = await d.put(admin, `/api/alerts/channels/${c.id}`, { type: 'email', url: `smtp://127.0.0.1:${smtp.port}`, from: 'a@example.com', to: ['b@example.com'] });
    assert.equal(r.status, 200, r.text);
    assert.equal((r.text.match(/"url":/g) || []).length, 1, `the view has several "url" members: ${r.text}`);
    assert.equal(r.json.url, `smtp://127.0.0.1:${smtp.port}`);
  } finally {
    await d.del(admin, `/api/alerts/channels/${c.id}`);
  }
});

// --- test-send -----------------------------------------------------------------------------------

test('test-send, generic webhook: POST of the event as JSON with X-LingMo-Signature = sha256=HMAC-SHA256(secret, body)', async () => {
  const t0 = Date.now();
  const r = await testSend(ch.webhook.id);
  assert.deepEqual({ ok: r.ok, status: r.status, error: r.error }, { ok: true, status: 200, error: '' }, JSON.stringify(r));
  assert.ok(Number.isInteger(r.latency_ms) && r.latency_ms >= 0);
  const [h] = await waitHits('/ok/webhook/', 1);
  assert.equal(h.method, 'POST');
  assert.equal(h.url, `/ok/webhook/${S.whToken}?access=${S.whQuery}`, 'the full stored URL, token and query included');
  assert.match(h.headers['content-type'], /^application\/json/);
  assert.equal(h.headers['x-lingmo-signature'], `sha256=${hmacHex(S.whSecret, h.body)}`);
  assert.deepEqual(Object.keys(h.json).sort(), ['event', 'model', 'provider', 'severity', 'text', 'time', 'title', 'ts'].sort());
  assert.equal(h.json.event, 'test');
  assert.equal(h.json.severity, 'info');
  assert.equal(h.json.title, 'LingMo test alert');
  assert.ok(h.json.ts >= t0 - 1000 && h.json.ts <= Date.now() + 1000, `ts ${h.json.ts}`);
  assert.equal(h.json.time, new Date(Math.floor(h.json.ts / 1000) * 1000).toISOString().replace('.000Z', 'Z'));

  // Without a secret there is no signature header.
  const plain = await addChannel({ type: 'webhook', url: `${recv.base}/ok/unsigned` });
  assert.equal((await testSend(plain.id)).ok, true);
  const [u] = await waitHits('/ok/unsigned', 1);
  assert.equal(u.headers['x-lingmo-signature'], undefined);
  ch.unsigned = plain;
});

test('test-send, DingTalk: text message; the URL gets timestamp (ms) and sign = base64(HMAC-SHA256(secret, timestamp+"\\n"+secret))', async () => {
  const r = await testSend(ch.dingtalk.id);
  assert.equal(r.ok, true, JSON.stringify(r));
  const [h] = await waitHits('/ok/dingtalk/', 1);
  assert.equal(h.path, '/ok/dingtalk/robot/send');
  assert.equal(h.query.access_token, S.dingToken);
  assert.match(h.query.timestamp, /^\d{13}$/);
  assert.ok(Math.abs(Number(h.query.timestamp) - Date.now()) < 60000, `timestamp ${h.query.timestamp}`);
  assert.equal(h.query.sign, hmacB64(S.dingSecret, `${h.query.timestamp}\n${S.dingSecret}`), `sign in ${h.url}`);
  assert.ok(!/[+/=]/.test(h.url.split('sign=')[1]), `the sign is URL-encoded: ${h.url}`);
  assert.deepEqual(Object.keys(h.json), ['msgtype', 'text']);
  assert.equal(h.json.msgtype, 'text');
  assert.match(h.json.text.content, /^\[LingMo info\] LingMo test alert\n/);
});

test('test-send, Feishu: text message with timestamp (s) and sign = base64(HMAC-SHA256(key=timestamp+"\\n"+secret, ""))', async () => {
  assert.equal((await testSend(ch.feishu.id)).ok, true);
  const [h] = await waitHits('/ok/feishu/', 1);
  assert.equal(h.path, `/ok/feishu/open-apis/bot/v2/hook/${S.feishuToken}`);
  assert.equal(h.json.msg_type, 'text');
  assert.match(h.json.content.text, /^\[LingMo info\] LingMo test alert/);
  assert.match(h.json.timestamp, /^\d{10}$/);
  assert.ok(Math.abs(Number(h.json.timestamp) * 1000 - Date.now()) < 60000);
  assert.equal(h.json.sign, hmacB64(`${h.json.timestamp}\n${S.feishuSecret}`, ''));
});

test('test-send, WeCom, Slack and Telegram: each gets its own body shape (Telegram: <url>/sendMessage with chat_id)', async () => {
  for (const t of ['wecom', 'slack', 'telegram']) assert.equal((await testSend(ch[t].id)).ok, true, t);
  const [w] = await waitHits('/ok/wecom/', 1);
  assert.equal(w.url, `/ok/wecom/cgi-bin/webhook/send?key=${S.wecomKey}`);
  assert.equal(w.json.msgtype, 'text');
  assert.match(w.json.text.content, /^\[LingMo info\] LingMo test alert/);
  const [s] = await waitHits('/ok/slack/', 1);
  assert.equal(s.path, `/ok/slack/services/T000/B000/${S.slackToken}`);
  assert.deepEqual(Object.keys(s.json), ['text']);
  assert.match(s.json.text, /^\[LingMo info\] LingMo test alert/);
  const [g] = await waitHits('/tg/', 1);
  assert.equal(g.method, 'POST');
  assert.equal(g.path, `/tg/bot${S.tgToken}/sendMessage`);
  assert.equal(g.json.chat_id, '-1001234567890');
  assert.match(g.json.text, /^\[LingMo info\] LingMo test alert/);
  assert.equal(g.json.disable_web_page_preview, true);
});

test('test-send, e-mail: the SMTP sink gets the message from From to every To, with Subject, after AUTH with the unsealed password', async () => {
  const n = smtp.messages.length;
  const r = await testSend(ch.email.id);
  assert.deepEqual({ ok: r.ok, status: r.status, error: r.error }, { ok: true, status: 250, error: '' }, JSON.stringify(r));
  const m = (await smtp.waitForMessages(n + 1))[n];
  assert.equal(m.from, 'lingmo@example.com');
  assert.deepEqual(m.to, ['ops@example.com', 'oncall@example.com']);
  assert.deepEqual({ user: m.auth?.user, password: m.auth?.password }, { user: 'mailer', password: S.smtpPassword });
  assert.equal(m.headers.subject, '[LingMo info] LingMo test alert');
  assert.equal(m.headers.to, 'ops@example.com, oncall@example.com');
  assert.equal(m.headers.from, 'lingmo@example.com');
  assert.match(m.headers['content-type'], /text\/plain; charset=utf-8/i);
  assert.match(m.body, /If you can read this, the channel works\./);
});

test('test-send, e-mail: the Date header is an RFC 5322 date (e.g. "Thu, 26 Nov 2026 15:12:24 +0000")', async () => {
  const n = smtp.messages.length;
  assert.equal((await testSend(ch.email.id)).ok, true);
  const m = (await smtp.waitForMessages(n + 1))[n];
  assert.match(m.headers.date ?? '', /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/,
    `Date: ${m.headers.date}`);
});

test('test-send failures: HTTP 500, 200 with an error code in the body, a closed port, a refusing SMTP server; unknown channel 404', async () => {
  const R = recv.base;
  const cases = [
    [{ type: 'webhook', url: `${R}/500/x` }, 500, /^HTTP 500$/],
    [{ type: 'dingtalk', url: `${R}/errcode/robot/send?access_token=t` }, 200, /refused.*errcode/],
    [{ type: 'wecom', url: `${R}/errcode/wecom` }, 200, /refused/],
    [{ type: 'feishu', url: `${R}/feishuerr/hook` }, 200, /refused.*19021/],
    [{ type: 'telegram', url: `${R}/tgerr/bot1:x`, chat_id: '1' }, 200, /refused/],
    [{ type: 'slack', url: `http://127.0.0.1:${closedPort}/x` }, 0, /./],
    [{ type: 'email', url: `smtp://127.0.0.1:${closedPort}`, from: 'a@example.com', to: ['b@example.com'] }, 0, /./],
  ];
  ch.failing = [];
  for (const [body, status, error] of cases) {
    const c = await addChannel(body);
    const r = await testSend(c.id);
    assert.equal(r.ok, false, `${JSON.stringify(body)}: ${JSON.stringify(r)}`);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${JSON.stringify(r)}`);
    assert.match(r.error, error, `${JSON.stringify(body)}: ${JSON.stringify(r)}`);
    ch.failing.push({ ...c, expect: { status, error } });
  }
  // The SMTP server refuses the message.
  const n = smtp.messages.length;
  smtp.reject = { data: '554 5.7.1 message refused' };
  try {
    const r = await testSend(ch.email.id);
    assert.equal(r.ok, false, JSON.stringify(r));
    assert.ok(r.error.length > 0);
  } finally {
    smtp.reject = {};
  }
  assert.equal(smtp.messages.length, n);
  // A slow answer is waited for; its latency is reported.
  const slow = await addChannel({ type: 'webhook', url: `${R}/slow/600/x` });
  const s = await testSend(slow.id);
  assert.equal(s.ok, true, JSON.stringify(s));
  assert.ok(s.latency_ms >= 550, JSON.stringify(s));
  assert.equal((await d.post(admin, '/api/alerts/channels/0badc0de/test', {})).status, 404);
});

test('SSRF guard: a channel pointing at the metadata address (169.254.169.254) is blocked even with 127.0.0.0/8 allowed; nothing is sent', async () => {
  ch.metadata = await addChannel({ type: 'webhook', url: 'http://169.254.169.254/latest/meta-data/' });
  const others = [{ type: 'slack', url: 'http://[::ffff:169.254.169.254]/x' }, { type: 'webhook', url: 'http://10.0.0.1/x' },
    { type: 'email', url: 'smtp://169.254.169.254:25', from: 'a@example.com', to: ['b@example.com'] }];
  const targets = [ch.metadata];
  for (const body of others) targets.push(await addChannel(body));
  for (const c of targets) {
    const t0 = performance.now();
    const r = await testSend(c.id);
    assert.equal(r.ok, false, `${c.url}: ${JSON.stringify(r)}`);
    assert.equal(r.status, 0, `${c.url}: ${JSON.stringify(r)}`);
    assert.match(r.error, /^blocked: /, `${c.url}: ${JSON.stringify(r)}`);
    assert.ok(performance.now() - t0 < 1000, 'refused before any connection attempt');
  }
  for (const c of targets.slice(1)) assert.equal((await d.del(admin, `/api/alerts/channels/${c.id}`)).status, 200);
});

// --- rules -----------------------------------------------------------------------------------------

test('rules: create, list, update, delete; unknown event or channel and bad fields are 400 and store nothing', async () => {
  const r = await d.post(admin, '/api/alerts/rules', { event: 'exhausted', channels: [ch.webhook.id] });
  assert.equal(r.status, 201, r.text);
  assert.match(r.json.id, /^[0-9a-f]{8}$/);
  assert.deepEqual(r.json, { id: r.json.id, event: 'exhausted', channels: [ch.webhook.id], cooldown_s: 1800, enabled: true });
  const list = await d.get(admin, '/api/alerts/rules');
  assert.deepEqual(list.json.rules.find((x) => x.id === r.json.id), r.json);
  const up = await d.put(admin, `/api/alerts/rules/${r.json.id}`, { cooldown_s: 120, channels: [ch.webhook.id, ch.slack.id], enabled: false });
  assert.equal(up.status, 200, up.text);
  assert.deepEqual(up.json, { ...r.json, cooldown_s: 120, channels: [ch.webhook.id, ch.slack.id], enabled: false });
  const again = await d.put(admin, `/api/alerts/rules/${r.json.id}`, { event: 'all_exhausted' });
  assert.equal(again.json.event, 'all_exhausted');
  assert.deepEqual(again.json.channels, [ch.webhook.id, ch.slack.id], 'fields not given are kept');

  const n = await stack.redis('HLEN', 'lingmo:alert:rules');
  const c = [ch.webhook.id];
  for (const body of [{ event: 'nope', channels: c }, { event: 'test', channels: c }, { event: 5, channels: c }, { channels: c },
    { event: 'exhausted' }, { event: 'exhausted', channels: [] }, { event: 'exhausted', channels: ['ffffffff'] },
    { event: 'exhausted', channels: [ch.webhook.id, 'ffffffff'] }, { event: 'exhausted', channels: [5] }, { event: 'exhausted', channels: ch.webhook.id },
    { event: 'exhausted', channels: c, cooldown_s: 59 }, { event: 'exhausted', channels: c, cooldown_s: 604801 },
    { event: 'exhausted', channels: c, cooldown_s: '600' }, { event: 'exhausted', channels: c, cooldown_s: 90.5 },
    { event: 'exhausted', channels: c, enabled: 'yes' }]) {
    const bad = await d.post(admin, '/api/alerts/rules', body);
    assert.equal(bad.status, 400, `${JSON.stringify(body)}: ${bad.text}`);
    assert.equal(bad.json.error.code, 'invalid_request');
  }
  assert.equal((await d.req('POST', '/api/alerts/rules', { auth: admin, body: 'x' })).status, 400);
  assert.equal(await stack.redis('HLEN', 'lingmo:alert:rules'), n, 'nothing stored');
  const stored = await stack.redis('HGET', 'lingmo:alert:rules', r.json.id);
  for (const body of [{ event: 'nope' }, { channels: ['ffffffff'] }, { cooldown_s: 1 }]) {
    assert.equal((await d.put(admin, `/api/alerts/rules/${r.json.id}`, body)).status, 400, JSON.stringify(body));
  }
  assert.equal(await stack.redis('HGET', 'lingmo:alert:rules', r.json.id), stored, 'bad updates changed nothing');
  assert.equal((await d.put(admin, '/api/alerts/rules/ffffffff', { cooldown_s: 60 })).status, 404);
  assert.deepEqual((await d.del(admin, `/api/alerts/rules/${r.json.id}`)).json, { ok: true });
  assert.equal((await d.del(admin, `/api/alerts/rules/${r.json.id}`)).status, 404);
  assert.deepEqual((await d.get(admin, '/api/alerts/rules')).json.rules, []);
});

// --- the engine ----------------------------------------------------------------------------------

test('a dead channel (a receiver that never answers, a closed port) does not delay a healthy channel on another rule for the same event', async () => {
  ch.hang = await addChannel({ name: 'dead', type: 'webhook', url: `${recv.base}/hang/dead` });
  ch.closed = await addChannel({ name: 'closed', type: 'webhook', url: `http://127.0.0.1:${closedPort}/x` });
  ch.healthy = await addChannel({ name: 'healthy', type: 'webhook', url: `${recv.base}/ok/healthy` });
  await addRule('exhausted', [ch.hang.id]);
  await addRule('exhausted', [ch.closed.id]);
  await addRule('exhausted', [ch.healthy.id]);
  const t0 = performance.now();
  await park({ v2: { kind: 'quota', reason: 'insufficient_quota' } });
  const [ok] = await waitHits('/ok/healthy', 1, { timeout: 5000 });
  const [dead] = await waitHits('/hang/dead', 1, { timeout: 2000 });
  assert.ok(ok.t - t0 < 2500, `the healthy channel got the event ${(ok.t - t0).toFixed(0)} ms after the park`);
  assert.ok(Math.abs(ok.t - dead.t) < 1000, `healthy ${(ok.t - t0).toFixed(0)} ms, dead ${(dead.t - t0).toFixed(0)} ms after the park`);
  assert.equal(ok.json.event, 'exhausted');
  assert.equal(ok.json.provider, 'v2');
  // The closed port is a failure in the history at once.
  await waitFor(async () => (await deliveries(`?channel=${ch.closed.id}`)).some((x) => !x.ok), { timeout: 3000, what: 'the closed-port failure to be recorded' });
  await deleteAllRules();
  await stack.redis('DEL', 'lingmo:provider_state');
  // The dead receiver keeps the request; the history test below finds its timeout.
  ch.hangFiredAt = performance.now();
});

test('events: exhausted, switched, key_invalid, all_exhausted and warn_level each fire once (de-duplicated across engine runs)', async () => {
  ch.events = await addChannel({ name: 'events', type: 'webhook', url: `${recv.base}/ok/events/${S.evToken}`, secret: S.evSecret });
  const rules = {};
  for (const e of ['warn_level', 'switched', 'exhausted', 'key_invalid', 'all_exhausted']) rules[e] = await addRule(e, [ch.events.id]);
  ch.eventRules = rules;
  await setUsed(85);
  const until = await park({
    v1: { kind: 'quota', reason: 'insufficient_quota: you exceeded your current quota' },
    v2: { kind: 'threshold', reason: 'switch threshold 99 of 100 reached' },
    a3: { kind: 'auth', reason: 'HTTP 401 invalid_api_key' },
  });
  ch.until = until;
  const all = await waitHits('/ok/events/', 6, { timeout: 5000 });
  await engineRuns(2);
  const evs = hits('/ok/events/');
  const summary = evs.map((h) => `${h.json.event}:${h.json.provider}:${h.json.model}`).sort();
  assert.deepEqual(summary, ['all_exhausted::alert-model', 'all_exhausted::gpt-test', 'exhausted:v1:', 'key_invalid:a3:', 'switched:v2:', 'warn_level:v1:'],
    'each event exactly once after several engine runs');
  assert.equal(all.length, 6);
  for (const h of evs) {
    assert.equal(h.headers['x-lingmo-signature'], `sha256=${hmacHex(S.evSecret, h.body)}`, 'signed');
    assert.ok(Math.abs(h.json.ts - Date.now()) < 15000);
  }
  const by = (e, p) => evs.find((h) => h.json.event === e && (h.json.provider === p || h.json.model === p)).json;
  assert.equal(by('exhausted', 'v1').severity, 'critical');
  assert.match(by('exhausted', 'v1').text, new RegExp(`insufficient_quota: you exceeded your current quota.*${until.v1}`));
  assert.match(by('exhausted', 'v1').title, /^v1: quota exhausted/);
  assert.equal(by('switched', 'v2').severity, 'warning');
  assert.match(by('switched', 'v2').title, /^v2: switch threshold reached/);
  assert.equal(by('key_invalid', 'a3').severity, 'critical');
  assert.match(by('key_invalid', 'a3').text, /HTTP 401 invalid_api_key/);
  assert.equal(by('all_exhausted', 'gpt-test').severity, 'critical');
  assert.match(by('all_exhausted', 'gpt-test').text, /v1, v2|v2, v1/);
  assert.match(by('all_exhausted', 'alert-model').text, /parked: a3\b/);
  const warn = by('warn_level', 'v1');
  assert.equal(warn.severity, 'info');
  assert.equal(warn.title, 'v1: 80% of 100 requests/day');
  assert.match(warn.text, new RegExp(`used 85% in window ${today()}`));

  // The de-duplication keys: one per rule and event key, living as long as the cool-down.
  const keys = await firedKeys();
  const mine = keys.filter((k) => Object.values(rules).some((r) => k.startsWith(`lingmo:alert:fired:${r.id}:`)));
  assert.equal(mine.length, 6, mine.join('\n'));
  const exKey = `lingmo:alert:fired:${rules.exhausted.id}:exhausted:v1:${until.v1}`;
  assert.ok(mine.includes(exKey), mine.join('\n'));
  const ttl = Number(await stack.redis('TTL', exKey));
  assert.ok(ttl > 1790 && ttl <= 1800, `TTL ${ttl}`);
  const warnKey = mine.find((k) => k.includes(':warn:v1:0:'));
  assert.ok(warnKey.includes(`:warn:v1:0:${today()}:`), warnKey);
  assert.ok(Number(await stack.redis('TTL', warnKey)) > 7 * 86400, 'warn_level keys last past the window (8 days)');
});

test('warn_level: the next level (95%) fires once more, as a warning; staying at it fires nothing new', async () => {
  const n = hits('/ok/events/').length;
  await setUsed(96);
  await waitHits('/ok/events/', n + 1, { timeout: 4000 });
  await engineRuns(2);
  const fresh = hits('/ok/events/').slice(n);
  assert.equal(fresh.length, 1, fresh.map((h) => h.body).join('\n'));
  assert.equal(fresh[0].json.event, 'warn_level');
  assert.equal(fresh[0].json.severity, 'warning');
  assert.equal(fresh[0].json.title, 'v1: 95% of 100 requests/day');
});

test('circuit_open: a breaker noted open by a worker fires once, as a warning; an expired note fires nothing', async () => {
  const rule = await addRule('circuit_open', [ch.events.id]);
  const n = hits('/ok/events/').length;
  const until = Date.now() + 30000;
  await stack.redis('HSET', 'lingmo:circuits',
    'v2', JSON.stringify({ since_ms: Date.now(), open_until_ms: until, cause: 'server_error', pid: 1234 }),
    'a3', JSON.stringify({ since_ms: Date.now() - 120000, open_until_ms: Date.now() - 60000, cause: 'connect', pid: 1234 }));
  await waitHits('/ok/events/', n + 1, { timeout: 4000 });
  await engineRuns(2);
  const fresh = hits('/ok/events/').slice(n);
  assert.deepEqual(fresh.map((h) => `${h.json.event}:${h.json.provider}:${h.json.severity}`), ['circuit_open:v2:warning']);
  assert.equal(fresh[0].json.title, 'v2: circuit breaker open after repeated failures');
  assert.match(fresh[0].json.text, new RegExp(`last failure: server_error.*until epoch ms ${until}`));
  assert.ok((await firedKeys()).includes(`lingmo:alert:fired:${rule.id}:circuit:v2`));
  // The quota view and the metrics show the open breaker too.
  const stat = (await d.get(admin, '/api/quota/stat')).json;
  assert.deepEqual(stat.circuits.v2, { since: stat.circuits.v2.since, until, cause: 'server_error' });
  assert.equal(stat.circuits.a3, undefined, 'an expired note is not an open breaker');
  assert.match((await d.get(null, '/metrics')).text, /^lingmo_provider_circuit_open\{provider="v2"\} 1$/m);
  await stack.redis('DEL', 'lingmo:circuits');
  assert.equal((await d.del(admin, `/api/alerts/rules/${rule.id}`)).status, 200);
});

test('cool-down: with the fired key gone (cool-down over) the event fires again, once; a new park is a new event; cooldown_s sets the TTL', async () => {
  const rules = ch.eventRules;
  let n = hits('/ok/events/').length;
  // The cool-down ends: the same state fires again.
  const exKey = `lingmo:alert:fired:${rules.exhausted.id}:exhausted:v1:${ch.until.v1}`;
  assert.equal(await stack.redis('DEL', exKey), '1');
  await waitHits('/ok/events/', n + 1, { timeout: 4000 });
  await engineRuns(1);
  let fresh = hits('/ok/events/').slice(n);
  assert.deepEqual(fresh.map((h) => `${h.json.event}:${h.json.provider}`), ['exhausted:v1']);
  // A new park of the same provider (another unusable_until_ms) is a new event.
  n = hits('/ok/events/').length;
  const put = await d.put(admin, `/api/alerts/rules/${rules.exhausted.id}`, { cooldown_s: 120 });
  assert.equal(put.status, 200, put.text);
  const until = await park({ v1: { kind: 'quota', reason: 'parked again' } });
  await waitHits('/ok/events/', n + 1, { timeout: 4000 });
  await engineRuns(1);
  fresh = hits('/ok/events/').slice(n);
  assert.deepEqual(fresh.map((h) => `${h.json.event}:${h.json.provider}`), ['exhausted:v1']);
  assert.match(fresh[0].json.text, /parked again/);
  const ttl = Number(await stack.redis('TTL', `lingmo:alert:fired:${rules.exhausted.id}:exhausted:v1:${until.v1}`));
  assert.ok(ttl > 110 && ttl <= 120, `TTL ${ttl} with cooldown_s 120`);
  ch.until.v1 = until.v1;
});

test('a disabled rule fires nothing; enabled again it fires', async () => {
  const rule = ch.eventRules.switched;
  assert.equal((await d.put(admin, `/api/alerts/rules/${rule.id}`, { enabled: false })).status, 200);
  const n = hits('/ok/events/').length;
  await stack.redis('DEL', `lingmo:alert:fired:${rule.id}:switched:v2:${ch.until.v2}`);
  await engineRuns(2);
  assert.equal(hits('/ok/events/').length, n, 'nothing sent for a disabled rule');
  assert.equal((await d.put(admin, `/api/alerts/rules/${rule.id}`, { enabled: true })).status, 200);
  const [h] = (await waitHits('/ok/events/', n + 1, { timeout: 4000 })).slice(n);
  assert.equal(h.json.event, 'switched');
});

test('a disabled channel gets no events (the other channels of the rule do)', async () => {
  const off = await addChannel({ name: 'off', type: 'webhook', url: `${recv.base}/ok/disabled` });
  assert.equal((await d.put(admin, `/api/alerts/channels/${off.id}`, { enabled: false })).json.enabled, false);
  const rule = await addRule('key_invalid', [off.id, ch.healthy.id]);
  const n = hits('/ok/healthy').length;
  await waitHits('/ok/healthy', n + 1, { timeout: 4000, what: 'the key_invalid event on the enabled channel' });
  await engineRuns(1);
  assert.equal(hits('/ok/disabled').length, 0, `a disabled channel was sent ${hits('/ok/disabled').length} event(s)`);
  await d.del(admin, `/api/alerts/rules/${rule.id}`);
});

test('e-mail from the engine: Subject is the event title, and a body line that starts with "." arrives as written', async () => {
  const rule = await addRule('key_invalid', [ch.email.id]);
  const n = smtp.messages.length;
  await park({ a3: { kind: 'auth', reason: 'HTTP 401\n.hidden line after a dot\nlast line' } });
  const m = (await smtp.waitForMessages(n + 1, { timeout: 4000 }))[n];
  await d.del(admin, `/api/alerts/rules/${rule.id}`);
  assert.equal(m.headers.subject, '[LingMo critical] a3: the vendor refused the API key');
  assert.deepEqual(m.to, ['ops@example.com', 'oncall@example.com']);
  const lines = m.body.split('\r\n');
  assert.equal(lines[0], 'HTTP 401', m.body);
  assert.match(lines[2], /^last line \(parked until epoch ms \d+\)$/, m.body);
  assert.equal(lines[1], '.hidden line after a dot', `the line arrived as ${JSON.stringify(lines[1])} (dot-stuffed twice: by the message builder and by curl?)`);
});

test('SSRF from the engine: an event for a rule on the metadata channel is recorded as a blocked delivery', async () => {
  const rule = await addRule('all_exhausted', [ch.metadata.id]);
  await waitFor(async () => (await deliveries(`?channel=${ch.metadata.id}`)).some((x) => x.event === 'all_exhausted'),
    { timeout: 4000, what: 'the blocked all_exhausted delivery' });
  const got = (await deliveries(`?channel=${ch.metadata.id}`)).filter((x) => x.event === 'all_exhausted');
  assert.equal(got[0].ok, false);
  assert.equal(got[0].status, 0);
  assert.match(got[0].error, /^blocked: 169\.254\.169\.254/);
  await d.del(admin, `/api/alerts/rules/${rule.id}`);
});

test('deleting a channel that a rule uses does not leave the rule pointing at nothing (409, or the rule loses it)', async () => {
  const c = await addChannel({ type: 'slack', url: `${recv.base}/ok/doomed` });
  const rule = await addRule('all_exhausted', [c.id, ch.healthy.id]);
  try {
    const del = await d.del(admin, `/api/alerts/channels/${c.id}`);
    if (del.status === 409) return;
    assert.equal(del.status, 200, del.text);
    const after = (await d.get(admin, '/api/alerts/rules')).json.rules.find((r) => r.id === rule.id);
    assert.ok(!after || !after.channels.includes(c.id), `rule ${rule.id} still lists the deleted channel: ${JSON.stringify(after)}`);
  } finally {
    await d.del(admin, `/api/alerts/rules/${rule.id}`);
  }
});

// --- history, audit, secrets ---------------------------------------------------------------------

test('deliveries: newest first, ok and failures with status and error, filter by channel, limit', async () => {
  // The dead receiver's delivery ends as a failure too, after curl's 10 s limit.
  const left = 12000 - (performance.now() - ch.hangFiredAt);
  await waitFor(async () => (await deliveries(`?channel=${ch.hang.id}`)).length > 0,
    { timeout: Math.max(left, 500), what: 'the hung delivery to be recorded' });
  const [h] = await deliveries(`?channel=${ch.hang.id}`);
  assert.deepEqual({ ok: h.ok, status: h.status, event: h.event }, { ok: false, status: 0, event: 'exhausted' }, JSON.stringify(h));
  assert.match(h.error, /timed out/i, JSON.stringify(h));
  assert.ok(h.latency_ms >= 9000, JSON.stringify(h));

  assert.equal((await testSend(ch.unsigned.id)).ok, true);
  const all = await deliveries('?limit=1000');
  assert.ok(all.length >= 20, `${all.length}`);
  assert.deepEqual([all[0].channel, all[0].event, all[0].ok], [ch.unsigned.id, 'test', true], 'newest first');
  for (const x of all) {
    assert.deepEqual(Object.keys(x).sort(), ['channel', 'error', 'event', 'latency_ms', 'ok', 'status', 'title', 'ts']);
    assert.equal(x.ok, x.error === '', JSON.stringify(x));
    assert.ok(Number.isInteger(x.ts) && Number.isInteger(x.latency_ms) && Number.isInteger(x.status), JSON.stringify(x));
  }
  const wh = await deliveries(`?channel=${ch.webhook.id}`);
  assert.ok(wh.length >= 1 && wh.every((x) => x.channel === ch.webhook.id));
  assert.deepEqual({ ...wh.at(-1), ts: 0, latency_ms: 0 }, { ts: 0, channel: ch.webhook.id, event: 'test', title: 'LingMo test alert', ok: true, status: 200, latency_ms: 0, error: '' });
  const mail = await deliveries(`?channel=${ch.email.id}`);
  assert.ok(mail.some((x) => x.ok && x.status === 250), JSON.stringify(mail));
  assert.ok(mail.some((x) => !x.ok && x.error), 'the refused message is recorded');
  for (const f of ch.failing) {
    const [x] = await deliveries(`?channel=${f.id}`);
    assert.equal(x.ok, false);
    assert.equal(x.status, f.expect.status, JSON.stringify(x));
    assert.match(x.error, f.expect.error, JSON.stringify(x));
  }
  const ev = await deliveries(`?channel=${ch.events.id}&limit=1000`);
  assert.deepEqual([...new Set(ev.map((x) => x.event))].sort(), ['all_exhausted', 'circuit_open', 'exhausted', 'key_invalid', 'switched', 'warn_level']);
  assert.ok(ev.every((x) => x.ok));
  assert.deepEqual(await deliveries('?limit=2'), all.slice(0, 2));
  assert.equal((await deliveries('?limit=0')).length, 0);
  assert.equal((await deliveries('?channel=ffffffff')).length, 0);
  assert.equal((await deliveries()).length, Math.min(50, all.length), 'the default limit is 50');
});

test('audit: alert.* actions for channel and rule changes and test-sends, with their targets, no secrets', async () => {
  const r = await d.get(admin, '/api/audit?action=alert.&limit=500');
  assert.equal(r.status, 200, r.text);
  const actions = new Set(r.json.entries.map((e) => e.action));
  for (const a of ['alert.channel.add', 'alert.channel.update', 'alert.channel.delete', 'alert.channel.test', 'alert.rule.add', 'alert.rule.update', 'alert.rule.delete']) {
    assert.ok(actions.has(a), `${a} missing: ${[...actions].join(', ')}`);
  }
  const test = r.json.entries.find((e) => e.action === 'alert.channel.test' && e.target === `/api/alerts/channels/${ch.webhook.id}/test`);
  assert.ok(test, 'the test-send is logged with its target');
  assert.equal(test.user, 'admin');
  assert.equal(test.status, 200);
  assert.ok(r.json.entries.some((e) => e.action === 'alert.channel.add' && e.status === 400), 'refused changes are logged too');
  assertNoSecrets(JSON.stringify(await auditFromRedis(stack)), 'the audit log');
  assert.ok(!r.json.entries.some((e) => !e.action.startsWith('alert.')), 'the prefix filter');
});

test('no URL token, signing secret or SMTP password anywhere in Redis, in the API or in the daemon output', async () => {
  const dump = JSON.stringify(await redisDump(stack));
  const out = d.outputWithoutPasswordLine();
  const api = [(await d.get(admin, '/api/alerts/channels')).text, (await d.get(admin, '/api/alerts/rules')).text, (await d.get(admin, '/api/alerts/deliveries?limit=1000')).text].join('\n');
  for (const [name, v] of Object.entries(S)) {
    assert.ok(!dump.includes(v), `${name} is stored in plain in Redis`);
    assert.ok(!out.includes(v), `${name} is in the daemon output`);
    assert.ok(!api.includes(v), `${name} is in the API`);
  }
  // The receiver saw them (the values were really used).
  assert.ok(recv.got.some((h) => h.url.includes(S.whToken)));
});

// --- the dispatcher under load, shutdown ---------------------------------------------------------

test('a dead channel delays nothing else when several events fire at once (3 parks, a dead and a healthy rule)', async () => {
  await deleteAllRules();
  await stack.redis('DEL', 'lingmo:provider_state');
  await addRule('exhausted', [ch.hang.id]);
  await addRule('exhausted', [ch.healthy.id]);
  const n = hits('/ok/healthy').length;
  const t0 = performance.now();
  try {
    await park({ v1: { kind: 'quota' }, v2: { kind: 'quota' }, a3: { kind: 'quota' } });
    await waitHits('/ok/healthy', n + 1, { timeout: 4000 });
    await sleep(2500 - (performance.now() - t0));
    const fresh = hits('/ok/healthy').slice(n);
    assert.deepEqual(fresh.map((h) => h.json.provider).sort(), ['a3', 'v1', 'v2'],
      `within 2.5 s the healthy channel got ${fresh.length} of 3 events (${fresh.map((h) => `${h.json.provider} @${(h.t - t0).toFixed(0)} ms`).join(', ')}); dead receiver holds ${recv.hung.size}`);
  } finally {
    await deleteAllRules();
    await stack.redis('DEL', 'lingmo:provider_state');
    recv.release();
  }
});

test('SIGTERM while a delivery hangs: the daemon exits 0 within 5 s', async () => {
  await addRule('switched', [ch.hang.id]);
  const n = hits('/hang/').length;
  await park({ v2: { kind: 'threshold' } });
  await waitHits('/hang/', n + 1, { timeout: 4000 });
  const t0 = performance.now();
  d.signal('SIGTERM');
  const exited = await waitFor(() => d.exit, { timeout: 15000, what: 'the daemon to exit' }).catch(() => null);
  const ms = performance.now() - t0;
  if (!exited) await d.kill();
  await sleep(20);
  assert.deepEqual(d.exit, { code: 0, signal: null }, `exit after SIGTERM (${ms.toFixed(0)} ms):\n${d.output().slice(-2000)}`);
  assert.ok(ms < 5000, `exit took ${ms.toFixed(0)} ms with a delivery hanging`);
  assert.match(d.output(), /stopped/);
});
