// lingmo-controld POST /api/model/test (a real request to a vendor, behind the SSRF guard) and
// configuration export / import (GET /api/config/export, POST /api/config/import).
// One stack (2 fake vendors: v1, v2 seeded by lingmo-admin), a daemon with OUTBOUND_ALLOW for the
// loopback fakes, one without it (the guard), and for the migration a daemon on another Redis
// database with another secret key (a second installation).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ADMIN_BIN, run, startStack } from '../integration/harness.mjs';
import { ADMIN_PASSWORD, adminSession, auditFromRedis, configVersion, redisDump, startDaemon } from './daemon.mjs';

let stack;
let open;      // OUTBOUND_ALLOW=127.0.0.0/8
let guarded;   // no OUTBOUND_ALLOW
let admin;     // session on `open` (same Redis: valid on `guarded` too)

before(async () => {
  stack = await startStack({ vendors: 2 });
  open = await startDaemon(stack, { env: { OUTBOUND_ALLOW: '127.0.0.0/8' } });
  admin = await adminSession(open);
  guarded = await startDaemon(stack);
});

after(async () => {
  try {
    for (const d of [open, guarded]) if (d && !d.exit) await d.stop();
  } finally {
    await stack?.stop();
  }
});

const today = () => new Date().toISOString().slice(0, 10);

// --- POST /api/model/test ------------------------------------------------------------------------

test('test a stored provider: one real request with its key, the answer and the vendor model list; nothing counted or published', async () => {
  const v0 = await configVersion(stack);
  const usage0 = await stack.redis('HGETALL', `lingmo:usage:v1:${today()}`);
  const before = (await stack.vendor(1).stats()).requests;
  const r = await open.post(admin, '/api/model/test', { id: 'v1' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ok, true, r.text);
  assert.equal(r.json.provider, 'v1');
  assert.equal(r.json.model, 'gpt-test');
  assert.equal(r.json.upstream_model, 'fake-v1');
  assert.equal(r.json.status, 200);
  assert.equal(r.json.answer, 'v1 says hello');
  assert.ok(Number.isInteger(r.json.latency_ms) && r.json.latency_ms >= 0);
  assert.ok(Array.isArray(r.json.vendor_models) && r.json.vendor_models.length > 0, r.text);
  assert.ok(!r.text.includes('sk-v1'), 'the vendor key is not in the answer');
  const stats = await stack.vendor(1).stats();
  assert.equal(stats.requests, before + 1, 'one chat request');
  assert.equal(stats.last_request.headers.authorization, 'Bearer sk-v1');
  assert.equal(stats.last_request.body.model, 'fake-v1');
  assert.equal(await configVersion(stack), v0, 'a test publishes nothing');
  assert.equal(await stack.redis('HGETALL', `lingmo:usage:v1:${today()}`), usage0, 'not counted in usage');
  const top = (await auditFromRedis(stack))[0];
  assert.deepEqual([top.action, top.status, top.user], ['provider.test', 200, 'admin']);
});

test('test an unsaved provider: a wrong key is classified as auth; nothing is stored', async () => {
  const r = await open.post(admin, '/api/model/test', { base_url: stack.vendor(2).baseUrl, api_key: 'wrong-key-000000', models: ['m1'] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ok, false);
  assert.equal(r.json.status, 401);
  assert.equal(r.json.provider, 'connectivity-test');
  assert.equal(r.json.error.class, 'auth', r.text);
  assert.ok(!r.text.includes('wrong-key-000000'), 'the key is not echoed in full');
  assert.equal(await stack.redis('HEXISTS', 'lingmo:providers', 'connectivity-test'), '0');
  const good = await open.post(admin, '/api/model/test', { base_url: stack.vendor(2).baseUrl, api_key: 'sk-v2', models: ['m2=fake-m2'] });
  assert.equal(good.json.ok, true, good.text);
  assert.equal(good.json.upstream_model, 'fake-m2');
});

test('an unsaved provider that reuses a stored id does not get the stored key', async () => {
  const r = await open.post(admin, '/api/model/test', { id: 'v1', base_url: stack.vendor(2).baseUrl, models: ['m'] });
  assert.equal(r.status, 200, r.text);
  const last = (await stack.vendor(2).stats()).last_request;
  assert.equal(last.headers.authorization, undefined, `v1's key went to another URL: ${last.headers.authorization}`);
  assert.equal(r.json.error.class, 'auth');
});

test('test: unknown stored id 404, invalid unsaved provider 400, non-http schemes 400', async () => {
  assert.equal((await open.post(admin, '/api/model/test', { id: 'nope' })).status, 404);
  for (const body of [{ base_url: 'ftp://127.0.0.1/v1', models: ['m'] }, { base_url: 'file:///etc/passwd', models: ['m'] },
    { base_url: 'gopher://127.0.0.1:6379/_PING', models: ['m'] }, { base_url: stack.vendor(1).baseUrl, models: [] },
    { template: 'no-such-vendor', api_key: 'sk-x' }]) {
    const r = await open.post(admin, '/api/model/test', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
  }
});

test('test: a one-field unsaved provider is validated as one (documented rule: stored form only with id and no base_url/template)', async () => {
  // {"template":"x"} or {"base_url":"..."} alone are unsaved providers: 400 with the add message,
  // not a lookup of the stored provider "" (404 "provider  not found").
  const got = {};
  for (const body of [{ template: 'no-such-vendor' }, { base_url: 'http://127.0.0.1:9/v1' }]) {
    const r = await open.post(admin, '/api/model/test', body);
    got[JSON.stringify(body)] = `${r.status} ${r.json?.error?.message}`;
  }
  assert.match(got['{"template":"no-such-vendor"}'], /^400 no vendor template/, JSON.stringify(got));
  assert.match(got['{"base_url":"http://127.0.0.1:9/v1"}'], /^400 a provider needs at least one model/, JSON.stringify(got));
});

test('SSRF guard: without OUTBOUND_ALLOW, loopback, private, metadata and disguised addresses are refused and nothing is sent', async () => {
  const port = stack.vendor(1).port;
  const before = (await stack.vendor(1).stats()).requests;
  const stored = await guarded.post(admin, '/api/model/test', { id: 'v1' });
  assert.equal(stored.status, 200, stored.text);
  assert.equal(stored.json.status, 0);
  assert.equal(stored.json.error.class, 'blocked', stored.text);
  const hosts = ['127.0.0.1', 'localhost', 'localhost.', '127.1', '2130706433', '0x7f.0.0.1', '0177.0.0.1', '0.0.0.0', '[::1]',
    '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[0:0:0:0:0:ffff:127.0.0.1]', '169.254.169.254', '10.0.0.1', '192.168.1.1', '[fe80::1]'];
  for (const host of hosts) {
    const r = await guarded.post(admin, '/api/model/test', { base_url: `http://${host}:${port}/v1`, api_key: 'sk-v1', models: ['m'] });
    assert.equal(r.status, 200, `${host}: ${r.text}`);
    assert.equal(r.json.ok, false, `${host} was reached: ${r.text}`);
    assert.equal(r.json.status, 0, `${host}: ${r.text}`);
    // Refused by the guard, or (a name the resolver does not know) never resolved.
    assert.ok(r.json.error?.class === 'blocked' || /^cannot resolve/.test(r.json.error?.message), `${host}: ${r.text}`);
  }
  // A proxy is the host connected to: a loopback proxy is refused too.
  const viaProxy = await guarded.post(admin, '/api/model/test', {
    base_url: 'http://198.51.100.7/v1', proxy: `http://127.0.0.1:${stack.vendor(2).port}`, models: ['m'] });
  assert.equal(viaProxy.json.error?.class, 'blocked', viaProxy.text);
  assert.equal((await stack.vendor(1).stats()).requests, before, 'the vendor behind the guard got nothing');
  // OUTBOUND_ALLOW opens exactly what it lists.
  const narrow = await startDaemon(stack, { env: { OUTBOUND_ALLOW: '127.0.0.2/32' } });
  try {
    const s = await narrow.session('admin', ADMIN_PASSWORD);
    const r = await narrow.post(s, '/api/model/test', { id: 'v1' });
    assert.equal(r.json.error?.class, 'blocked', r.text);
  } finally {
    await narrow.stop();
  }
});

// --- export / import ------------------------------------------------------------------------------

let exportSealed;
let exportPlain;

test('export: providers with sealed keys, key hashes, settings, the secret key id; include_secrets=1 gives plain keys', async () => {
  assert.equal((await open.put(admin, '/api/settings', { threshold: 0.9 })).status, 200);
  const r = await open.get(admin, '/api/config/export');
  assert.equal(r.status, 200, r.text);
  exportSealed = r.json;
  assert.equal(r.json.lingmo_export, 1);
  assert.match(r.json.secret_key_id, /^[0-9a-f]{8}$/);
  assert.deepEqual(r.json.providers.map((p) => p.id).sort(), ['v1', 'v2']);
  for (const p of r.json.providers) {
    assert.match(p.api_key_sealed, new RegExp(`^lmk1:${r.json.secret_key_id}:`));
    assert.equal(p.api_key, undefined);
  }
  assert.ok(!r.text.includes('sk-v1') && !r.text.includes(stack.key), 'no plain secrets');
  assert.equal(r.json.gateway_keys.length, 1);
  assert.match(r.json.gateway_keys[0].hash, /^[0-9a-f]{64}$/);
  assert.equal(r.json.settings.threshold, '0.9');

  const plain = await open.get(admin, '/api/config/export?include_secrets=1');
  assert.equal(plain.status, 200, plain.text);
  exportPlain = plain.json;
  assert.deepEqual(Object.fromEntries(plain.json.providers.map((p) => [p.id, p.api_key])), { v1: 'sk-v1', v2: 'sk-v2' });
  assert.ok(plain.json.providers.every((p) => p.api_key_sealed === undefined));
  assert.ok(!plain.text.includes(stack.key), 'gateway key secrets were never stored');
  assert.ok(!open.output().includes('sk-v1') && !open.output().includes('sk-v2'), 'the plain keys are not logged');
});

test('export with include_secrets=1 (vendor keys in plain text) is written to the audit log, distinguishable from a sealed export', async () => {
  await open.get(admin, '/api/config/export');
  await open.get(admin, '/api/config/export?include_secrets=1');
  const entries = (await auditFromRedis(stack)).filter((e) => e.action.startsWith('config.export'));
  assert.ok(entries.length >= 2, `no config.export entries: ${JSON.stringify((await auditFromRedis(stack)).slice(0, 3))}`);
  const [plain, sealed] = entries;   // newest first
  for (const e of [plain, sealed]) {
    assert.equal(e.user, 'admin');
    assert.equal(e.status, 200);
    assert.match(e.target, /^\/api\/config\/export/);
  }
  assert.notDeepEqual([plain.action, plain.target], [sealed.action, sealed.target],
    `an auditor cannot tell the plain-text export from the sealed one: ${JSON.stringify(plain)} vs ${JSON.stringify(sealed)}`);
});

test('export and import are admin-only (a viewer gets 403 forbidden)', async () => {
  const rec = JSON.parse(await stack.redis('HGET', 'lingmo:admin:users', 'admin'));
  await stack.redis('HSET', 'lingmo:admin:users', 'viewer-m', JSON.stringify({ ...rec, role: 'viewer', must_change: false }));
  const v = await open.session('viewer-m', ADMIN_PASSWORD);
  for (const [method, p, body] of [['GET', '/api/config/export'], ['GET', '/api/config/export?include_secrets=1'],
    ['POST', '/api/config/import', exportPlain], ['POST', '/api/model/test', { id: 'v1' }]]) {
    const r = await open.req(method, p, { auth: v, body });
    assert.equal(r.status, 403, `${method} ${p}: ${r.text}`);
    assert.equal(r.json.error.code, 'forbidden');
  }
  await stack.redis('HDEL', 'lingmo:admin:users', 'viewer-m');
});

test('import into another installation (other Redis DB, other secret key): plain keys are resealed; idempotent; sealed ones refused', async () => {
  const otherKey = path.join(stack.dir, 'other.key');
  const g = await run(ADMIN_BIN, ['gen-secret', otherKey]);
  assert.equal(g.code, 0, g.stderr);
  const other = await startDaemon(stack, { secretFile: otherKey, env: { REDIS_DB: '2' } });
  try {
    assert.ok(other.password, 'a new account store');
    const s = await adminSession(other);
    const v0 = Number(await stack.redis('-n', '2', 'GET', 'lingmo:config:version'));
    const r = await other.post(s, '/api/config/import', exportPlain);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.failed, []);
    assert.equal(r.json.created, 2 + 1 + Object.keys(exportPlain.settings).length, r.text);
    assert.ok(Number(await stack.redis('-n', '2', 'GET', 'lingmo:config:version')) > v0, 'the import was published');
    const p = await other.get(s, '/api/model/v1');
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.api_key_masked, '****', 'resealed with the new key and readable');
    const sealed = JSON.parse(await stack.redis('-n', '2', 'HGET', 'lingmo:providers', 'v1')).api_key_sealed;
    assert.ok(sealed.startsWith('lmk1:') && !sealed.includes(exportSealed.secret_key_id));
    const dump = JSON.stringify(await redisDump(stack, { db: 2 }));
    assert.ok(!dump.includes('sk-v1') && !dump.includes('sk-v2'), 'no plain vendor key stored');
    assert.equal(await stack.redis('-n', '2', 'HGET', 'lingmo:settings', 'threshold'), '0.9');
    assert.equal(await stack.redis('-n', '2', 'HLEN', 'lingmo:gateway_keys'), '1');

    // Again: nothing changes, nothing is published.
    const v1 = Number(await stack.redis('-n', '2', 'GET', 'lingmo:config:version'));
    const again = await other.post(s, '/api/config/import', exportPlain);
    assert.deepEqual({ created: again.json.created, updated: again.json.updated, failed: again.json.failed }, { created: 0, updated: 0, failed: [] });
    assert.equal(again.json.unchanged, r.json.created);
    assert.equal(Number(await stack.redis('-n', '2', 'GET', 'lingmo:config:version')), v1);

    // Keys sealed with the first installation's secret cannot be used here: refused, with a reason.
    const before = await stack.redis('-n', '2', 'HGETALL', 'lingmo:providers');
    const refused = await other.post(s, '/api/config/import', exportSealed);
    assert.equal(refused.status, 200, refused.text);
    assert.deepEqual(refused.json.failed.map((f) => f.item).sort(), ['provider v1', 'provider v2']);
    assert.match(refused.json.failed[0].error, /another secret key/);
    assert.equal(await stack.redis('-n', '2', 'HGETALL', 'lingmo:providers'), before);

    // Bad documents and bad items.
    for (const body of [{}, { lingmo_export: 2 }, { providers: [] }]) {
      const bad = await other.post(s, '/api/config/import', body);
      assert.equal(bad.status, 400, `${JSON.stringify(body)}: ${bad.text}`);
    }
    const mixed = await other.post(s, '/api/config/import', {
      lingmo_export: 1,
      providers: [{ id: 'bad id', base_url: 'http://x/v1', models: ['m'] }, { id: 'imp-ok', base_url: 'http://127.0.0.1:9/v1', models: ['m'], api_key: 'sk-imported-0001' }],
      gateway_keys: [{ hash: 'zz', value: { name: 'x' } }],
    });
    assert.equal(mixed.status, 200, mixed.text);
    assert.equal(mixed.json.created, 1);
    assert.deepEqual(mixed.json.failed.map((f) => f.item), ['provider bad id', 'gateway key zz']);
    assert.equal(await stack.redis('-n', '2', 'HEXISTS', 'lingmo:providers', 'bad id'), '0');
    assert.ok(!(await stack.redis('-n', '2', 'HGET', 'lingmo:providers', 'imp-ok')).includes('sk-imported-0001'));
    const audit = (await stack.redis('-n', '2', 'LRANGE', 'lingmo:audit', '0', '-1')).split('\n').map((l) => JSON.parse(l));
    assert.ok(audit.some((e) => e.action === 'config.import' && e.status === 200));
    assert.ok(!JSON.stringify(audit).includes('sk-v1'));
    assert.ok(!other.outputWithoutPasswordLine().includes('sk-v1') && !other.outputWithoutPasswordLine().includes('sk-imported-0001'));
  } finally {
    await other.stop();
    await stack.redis('-n', '2', 'FLUSHDB');
  }
});

test('alert channels and rules travel too: plain secrets are resealed by the other installation; sealed ones refused; re-import unchanged', async () => {
  const chan = await open.post(admin, '/api/alerts/channels', { name: 'mig', type: 'webhook', url: 'https://hooks.example.com/t/mig-token-123', secret: 'mig-secret-456' });
  assert.equal(chan.status, 201, chan.text);
  const rule = await open.post(admin, '/api/alerts/rules', { event: 'exhausted', channels: [chan.json.id], cooldown_s: 600 });
  assert.equal(rule.status, 201, rule.text);
  const sealedDoc = (await open.get(admin, '/api/config/export')).json;
  const plainDoc = (await open.get(admin, '/api/config/export?include_secrets=1')).json;
  const [sc] = sealedDoc.alert_channels;
  assert.match(sc.url_sealed, /^lmk1:/);
  assert.ok(!JSON.stringify(sealedDoc).includes('mig-token-123') && !JSON.stringify(sealedDoc).includes('mig-secret-456'));
  const [pc] = plainDoc.alert_channels;
  assert.equal(pc.url_plain, 'https://hooks.example.com/t/mig-token-123');
  assert.equal(pc.secret_plain, 'mig-secret-456');
  assert.equal(pc.url_sealed, undefined);
  assert.deepEqual(plainDoc.alert_rules, [rule.json]);

  const otherKey = path.join(stack.dir, 'other-alerts.key');
  assert.equal((await run(ADMIN_BIN, ['gen-secret', otherKey])).code, 0);
  const other = await startDaemon(stack, { secretFile: otherKey, env: { REDIS_DB: '3' } });
  try {
    const s = await adminSession(other);
    const refused = await other.post(s, '/api/config/import', { lingmo_export: 1, secret_key_id: sealedDoc.secret_key_id, alert_channels: sealedDoc.alert_channels });
    assert.deepEqual(refused.json.failed.map((f) => f.item), [`alert channel ${chan.json.id}`]);
    assert.match(refused.json.failed[0].error, /another secret key/);
    const r = await other.post(s, '/api/config/import', { lingmo_export: 1, alert_channels: plainDoc.alert_channels, alert_rules: plainDoc.alert_rules });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual({ created: r.json.created, failed: r.json.failed }, { created: 2, failed: [] });
    const view = (await other.get(s, '/api/alerts/channels')).json.channels[0];
    assert.equal(view.url, 'https://hooks.example.com/…', 'the resealed URL opens with the new key');
    assert.equal(view.has_secret, true);
    assert.deepEqual((await other.get(s, '/api/alerts/rules')).json.rules, [rule.json]);
    const dump = JSON.stringify(await redisDump(stack, { db: 3 }));
    assert.ok(!dump.includes('mig-token-123') && !dump.includes('mig-secret-456'), 'stored sealed');
    const again = await other.post(s, '/api/config/import', { lingmo_export: 1, alert_channels: plainDoc.alert_channels, alert_rules: plainDoc.alert_rules });
    assert.deepEqual({ created: again.json.created, updated: again.json.updated, unchanged: again.json.unchanged }, { created: 0, updated: 0, unchanged: 2 });
    const bad = await other.post(s, '/api/config/import', { lingmo_export: 1, alert_channels: [{ id: 'zz', type: 'webhook' }], alert_rules: [{ id: 'abcdef01', event: 'nope' }] });
    assert.deepEqual(bad.json.failed.map((f) => f.item), ['alert channel zz', 'alert rule abcdef01']);
  } finally {
    await other.stop();
    await stack.redis('-n', '3', 'FLUSHDB');
    await open.del(admin, `/api/alerts/rules/${rule.json.id}`);
    await open.del(admin, `/api/alerts/channels/${chan.json.id}`);
  }
});

test('import validates settings like PUT /api/settings: bad values and unknown names are refused, not stored', async () => {
  const before = await stack.redis('HGETALL', 'lingmo:settings');
  const r = await open.post(admin, '/api/config/import', { lingmo_export: 1, settings: { threshold: '7', warn_levels: '2,x', no_such_setting: 'x' } });
  assert.equal(r.status, 200, r.text);
  const stored = await stack.redis('HGETALL', 'lingmo:settings');
  await stack.redis('HDEL', 'lingmo:settings', 'no_such_setting', 'warn_levels');   // clean up before asserting
  await stack.redis('HSET', 'lingmo:settings', 'threshold', '0.9');
  assert.equal(stored, before, `import stored unvalidated settings; answer ${r.text}`);
  assert.deepEqual(r.json.failed.map((f) => f.item).sort(), ['setting no_such_setting', 'setting threshold', 'setting warn_levels']);
});

test('import refuses an auto_switch value PUT /api/settings could never write ("maybe" would read as on)', async () => {
  const r = await open.post(admin, '/api/config/import', { lingmo_export: 1, settings: { auto_switch: 'maybe' } });
  const stored = await stack.redis('HGET', 'lingmo:settings', 'auto_switch');
  await stack.redis('HDEL', 'lingmo:settings', 'auto_switch');
  assert.equal(r.status, 200, r.text);
  assert.equal(stored, '', `auto_switch=${stored} was stored; answer ${r.text}`);
  assert.deepEqual(r.json.failed.map((f) => f.item), ['setting auto_switch']);
});
