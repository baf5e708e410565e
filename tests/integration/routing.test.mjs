// Routing follows Redis without a reload: provider enable/disable, parked state, providers added
// at run time; "auto"; unknown models; per-key model allowlists.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, waitFor, MODEL } from './harness.mjs';

let stack;
before(async () => { stack = await startStack({ vendors: 3 }); });
after(async () => { await stack?.stop(); });
beforeEach(async () => { await stack.resetVendors(); });
afterEach(() => { stack.checkLog(); });

// Fresh client connections land on either worker: several in a row check both have the change.
async function expectProvider(id, { model = MODEL, n = 8, key } = {}) {
  for (let i = 0; i < n; i++) {
    const r = await stack.chat(chatBody({ model }), { key });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-lingmo-provider'], id, `request ${i} went to ${r.headers['x-lingmo-provider']}`);
  }
}

// Runs the admin command, then asserts the routing change is live within `ms` (no reload).
async function switchesTo(id, adminArgs, ms = 1500) {
  const t0 = performance.now();
  await stack.admin(...adminArgs);
  await waitFor(async () => (await stack.chat(chatBody())).headers['x-lingmo-provider'] === id,
    { timeout: ms, interval: 20, what: `requests to go to ${id} after lingmo-admin ${adminArgs.join(' ')}` });
  const took = performance.now() - t0;
  await expectProvider(id);
  return took;
}

test('provider disable / enable takes effect within 1.5 s without reload', async () => {
  const nginxPid = stack.nginx.pid;
  const workers = stack.workerPids().sort();
  await expectProvider('v1');
  // Requests racing the admin command may still reach v1; once the switch is seen, none may.
  await switchesTo('v2', ['provider', 'disable', 'v1']);
  const seen = (await stack.vendor(1).stats()).requests;
  assert.ok(seen >= 8 && seen <= 10, `v1 got ${seen} requests`);
  await expectProvider('v2');
  assert.equal((await stack.vendor(1).stats()).requests, seen, 'no request reached the disabled v1');
  const models = await stack.models();
  assert.ok(models.json.data.some((m) => m.id === MODEL), 'model still served by v2 and v3');
  await switchesTo('v1', ['provider', 'enable', 'v1']);
  assert.equal(stack.nginx.pid, nginxPid);
  assert.deepEqual(stack.workerPids().sort(), workers, 'same workers: no reload happened');
});

test('config changes are pushed to every worker (pub/sub), faster than the 1 s poll', async () => {
  // Both workers must switch: after the first request to v2, every following request (fresh
  // connections, either worker) must go to v2 too. A worker relying on its 1 s poll alone would fail.
  for (let round = 0; round < 2; round++) {
    const off = await stack.msUntilProvider('v2', () => stack.admin('provider', 'disable', 'v1'), { timeout: 500 });
    const on = await stack.msUntilProvider('v1', () => stack.admin('provider', 'enable', 'v1'), { timeout: 500 });
    const park = await stack.msUntilProvider('v2', () => stack.admin('state', 'park', 'v1', '--seconds', '60'), { timeout: 500 });
    const clear = await stack.msUntilProvider('v1', () => stack.admin('state', 'clear', 'v1'), { timeout: 500 });
    process.stderr.write(`# switch latency ms: disable ${off.toFixed(0)} enable ${on.toFixed(0)} park ${park.toFixed(0)} clear ${clear.toFixed(0)}\n`);
  }
});

test('a parked provider is skipped until cleared', async () => {
  await switchesTo('v2', ['state', 'park', 'v1', '--seconds', '60', '--reason', 'test-park']);
  assert.equal((await stack.vendor(1).stats()).requests, 0);
  // Everything parked or failing: the error names the parked provider and why.
  await stack.vendor(2).mode('500');
  await stack.vendor(3).mode('500');
  const r = await stack.chat(chatBody());
  assert.equal(r.status, 502, r.text);
  assert.match(r.json.error.message, /v1 \(parked \(admin\) for \d+ s: test-park\)/);
  assert.equal(r.headers['x-lingmo-skipped'], 'v1=parked:admin');
  await stack.resetVendors();
  await switchesTo('v1', ['state', 'clear', 'v1']);
});

test('every provider disabled or parked: 503 no_usable_provider with the reasons', async () => {
  await stack.admin('provider', 'disable', 'v1');
  await stack.admin('state', 'park', 'v2', '--seconds', '60', '--reason', 'quota-empty');
  await stack.admin('state', 'park', 'v3', '--seconds', '60');
  try {
    await stack.waitConfigLoaded();
    const r = await waitFor(async () => {
      const x = await stack.chat(chatBody());
      return x.status !== 200 && x;
    }, { timeout: 1500, what: 'no provider to be usable' });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error.code, 'no_usable_provider');
    assert.match(r.json.error.message, /v1 \(disabled\)/);
    assert.match(r.json.error.message, /v2 \(parked \(admin\) for \d+ s: quota-empty\)/);
    assert.match(r.json.error.message, /v3 \(parked \(admin\) for \d+ s\)/);
    assert.equal(r.headers['x-lingmo-skipped'], 'v1=disabled;v2=parked:admin;v3=parked:admin');
    for (const i of [1, 2, 3]) assert.equal((await stack.vendor(i).stats()).requests, 0);
  } finally {
    await stack.admin('provider', 'enable', 'v1');
    await stack.admin('state', 'clear', 'v2');
    await stack.admin('state', 'clear', 'v3');
    await stack.waitConfigLoaded();
  }
  await waitFor(async () => (await stack.chat(chatBody())).status === 200, { timeout: 1500, what: 'providers back' });
});

test('a park that expires ends by itself', async () => {
  await switchesTo('v2', ['state', 'park', 'v1', '--seconds', '1']);
  await waitFor(async () => (await stack.chat(chatBody())).headers['x-lingmo-provider'] === 'v1',
    { timeout: 2500, what: 'v1 to be used again after its 1 s park' });
  await stack.admin('state', 'clear', 'v1');
});

test('a provider added at run time with a new model is usable without reload, and removable', async () => {
  const v3 = stack.vendor(3);
  const before = await stack.chat(chatBody({ model: 'gpt-new' }));
  assert.equal(before.status, 404);
  await stack.admin('provider', 'add', '--id', 'newbie', '--base-url', v3.baseUrl, '--api-key', 'sk-v3',
    '--model', 'gpt-new=fake-new', '--model', 'gpt-new-mini=fake-new-mini', '--priority', '5');
  try {
    const r = await waitFor(async () => {
      const x = await stack.chat(chatBody({ model: 'gpt-new' }));
      return x.status === 200 && x;
    }, { timeout: 1500, what: 'gpt-new to become usable' });
    assert.equal(r.headers['x-lingmo-provider'], 'newbie');
    assert.equal(r.json.choices[0].message.content, 'v3 says hello');
    await stack.waitConfigLoaded();
    const r2 = await stack.chat(chatBody({ model: 'gpt-new-mini' }));
    assert.equal(r2.status, 200, r2.text);
    const got = (await v3.stats()).last_request;
    assert.equal(got.body.model, 'fake-new-mini');
    assert.equal(got.headers.authorization, 'Bearer sk-v3');
    const ids = (await stack.models()).json.data.map((m) => m.id);
    assert.deepEqual(ids, ['auto', 'gpt-new', 'gpt-new-mini', MODEL], 'models of the new provider listed, by priority');
    // gpt-test is not served by the new provider: routing for it is unchanged.
    await expectProvider('v1', { n: 2 });
  } finally {
    await stack.admin('provider', 'remove', 'newbie');
  }
  await waitFor(async () => (await stack.chat(chatBody({ model: 'gpt-new' }))).status === 404,
    { timeout: 1500, what: 'gpt-new to disappear after provider remove' });
  await stack.waitConfigLoaded();
});

test('model "auto" uses the first usable provider and its default model', async () => {
  const r = await stack.chat(chatBody({ model: 'auto' }));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['x-lingmo-provider'], 'v1');
  assert.equal((await stack.vendor(1).stats()).last_request.body.model, 'fake-v1');
  await stack.vendor(1).mode('500');
  const r2 = await stack.chat(chatBody({ model: 'auto' }));
  assert.equal(r2.status, 200);
  assert.equal(r2.headers['x-lingmo-attempts'], 'v1=500;v2=ok');
  assert.equal((await stack.vendor(2).stats()).last_request.body.model, 'fake-v2');
});

test('an unknown model is 404 model_not_found and reaches no vendor', async () => {
  const r = await stack.chat(chatBody({ model: 'no-such-model' }));
  assert.equal(r.status, 404, r.text);
  assert.equal(r.json.error.code, 'model_not_found');
  assert.equal(r.json.error.type, 'invalid_request_error');
  assert.equal(r.json.error.param, 'model');
  assert.match(r.json.error.message, /no-such-model/);
  for (const i of [1, 2, 3]) assert.equal((await stack.vendor(i).stats()).requests, 0);
});

test('a key restricted to gpt-test cannot use other models and only lists its own', async () => {
  const restricted = 'lm-restricted-key-000000001';
  await stack.admin('key', 'add', '--name', 'restricted', '--secret', restricted, '--model', MODEL);
  await stack.admin('provider', 'add', '--id', 'other', '--base-url', stack.vendor(2).baseUrl, '--api-key', 'sk-v2',
    '--model', 'gpt-other=fake-other', '--priority', '50');
  try {
    await stack.waitConfigLoaded();
    const ok = await stack.chat(chatBody(), { key: restricted });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.choices[0].message.content, 'v1 says hello');

    const denied = await stack.chat(chatBody({ model: 'gpt-other' }), { key: restricted });
    assert.equal(denied.status, 404, denied.text);
    assert.equal(denied.json.error.code, 'model_not_found');
    // ... while the unrestricted key can use it.
    const allowed = await stack.chat(chatBody({ model: 'gpt-other' }));
    assert.equal(allowed.status, 200, allowed.text);
    assert.equal(allowed.headers['x-lingmo-provider'], 'other');

    const mine = await stack.models({ key: restricted });
    assert.equal(mine.status, 200);
    assert.equal(mine.json.object, 'list');
    assert.deepEqual(mine.json.data.map((m) => m.id), [MODEL]);
    const all = await stack.models();
    assert.deepEqual(all.json.data.map((m) => m.id), ['auto', MODEL, 'gpt-other']);
    assert.equal((await stack.vendor(2).stats()).requests, 1, 'the denied request reached no vendor');
  } finally {
    await stack.admin('provider', 'remove', 'other');
    await stack.admin('key', 'revoke', restricted);
    await stack.waitConfigLoaded();
  }
});
