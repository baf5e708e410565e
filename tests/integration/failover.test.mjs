// Invisible failover before the first byte, no failover for client errors, the error event after
// the first byte, and the errors when every candidate fails.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, contentOf, freePort, waitFor } from './harness.mjs';
import { startScriptedVendor } from './scripted_vendor.mjs';

let stack;
before(async () => { stack = await startStack({ vendors: 3 }); });
after(async () => { await stack?.stop(); });
beforeEach(async () => { await stack.resetVendors(); });
afterEach(() => { stack.checkLog(); });

const requests = async (i) => (await stack.vendor(i).stats()).requests;

// mode -> x-lingmo-attempts expected (an HTTP error shows its status, anything else its cause).
const BEFORE_FIRST_BYTE = [
  { mode: '429', attempt: /^v1=429;v2=ok$/ },
  { mode: 'rate_limit', attempt: /^v1=429;v2=ok$/ },
  { mode: '500', attempt: /^v1=500;v2=ok$/ },
  { mode: '401', attempt: /^v1=401;v2=ok$/ },
  { mode: '402', attempt: /^v1=402;v2=ok$/ },
  { mode: 'hang', attempt: /^v1=first_byte_timeout;v2=ok$/, slow: true },
  { mode: 'reset_mid_stream', attempt: /^v1=interrupted;v2=ok$/ },
  { mode: 'malformed', attempt: /^v1=malformed;v2=ok$/ },
];

for (const c of BEFORE_FIRST_BYTE) {
  test(`non-stream: v1 mode ${c.mode} fails over to v2`, async () => {
    await stack.vendor(1).mode({ mode: c.mode });
    const t0 = performance.now();
    const r = await stack.chat(chatBody());
    const ms = performance.now() - t0;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'v2 says hello');
    assert.equal(r.headers['x-lingmo-provider'], 'v2');
    assert.match(r.headers['x-lingmo-attempts'], c.attempt);
    assert.equal(await requests(1), 1);
    assert.equal(await requests(2), 1);
    assert.equal(await requests(3), 0);
    assert.equal((await stack.vendor(2).stats()).last_request.body.model, 'fake-v2', 'v2 gets its own model id');
    assert.equal((await stack.vendor(2).stats()).last_request.headers.authorization, 'Bearer sk-v2');
    if (c.slow) {
      assert.ok(ms >= 1400 && ms < 4000, `first-byte timeout of 1.5 s took ${ms.toFixed(0)} ms`);
      assert.equal((await stack.vendor(1).stats()).aborted, 1, 'the hung call was closed');
    } else {
      assert.ok(ms < 1400, `failover took ${ms.toFixed(0)} ms`);
    }
  });
}

for (const c of [
  { mode: '429', attempt: 'v1=429;v2=ok' },
  { mode: '500', attempt: 'v1=500;v2=ok' },
  { mode: 'hang', attempt: 'v1=first_byte_timeout;v2=ok' },
  // 200 headers and then silence: nothing reached the client yet, so failover is still possible.
  { mode: 'hang_after_headers', attempt: 'v1=idle_timeout;v2=ok' },
  { mode: 'malformed', attempt: 'v1=malformed;v2=ok' },
  // The role chunk arrives, then the connection is cut: nothing substantive reached the client.
  { mode: 'reset_mid_stream', chunks: 0, attempt: 'v1=interrupted;v2=ok' },
]) {
  test(`stream: v1 mode ${c.mode}${c.chunks !== undefined ? ` chunks=${c.chunks}` : ''} fails over to v2`, async () => {
    await stack.vendor(1).mode({ mode: c.mode, chunks: c.chunks });
    const s = await stack.chatStream(chatBody());
    assert.equal(s.status, 200, s.text);
    assert.match(s.headers['content-type'], /^text\/event-stream/);
    assert.equal(s.headers['x-lingmo-provider'], 'v2');
    if (typeof c.attempt === 'string') assert.equal(s.headers['x-lingmo-attempts'], c.attempt);
    else assert.match(s.headers['x-lingmo-attempts'], c.attempt);
    assert.equal(contentOf(s), 'v2-chunk-0 v2-chunk-1 v2-chunk-2 ');
    assert.ok(!s.text.includes('v1-chunk'), 'nothing from v1 reached the client');
    assert.equal(s.events.at(-1).data, '[DONE]');
    assert.equal(await requests(1), 1);
    assert.equal(await requests(2), 1);
  });
}

test('connection refused fails over to the next provider', async () => {
  const deadPort = await freePort();  // nobody listens here
  await stack.admin('provider', 'add', '--id', 'dead', '--base-url', `http://127.0.0.1:${deadPort}/v1`,
    '--api-key', 'sk-dead', '--model', 'gpt-test=fake-dead', '--priority', '1');
  try {
    await stack.waitConfigLoaded();
    for (const stream of [false, true]) {
      const r = stream ? await stack.chatStream(chatBody()) : await stack.chat(chatBody());
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['x-lingmo-provider'], 'v1');
      assert.equal(r.headers['x-lingmo-attempts'], 'dead=connect;v1=ok');
      if (stream) assert.equal(contentOf(r), 'v1-chunk-0 v1-chunk-1 v1-chunk-2 ');
      else assert.equal(r.json.choices[0].message.content, 'v1 says hello');
    }
  } finally {
    await stack.admin('provider', 'remove', 'dead');
    await stack.waitConfigLoaded();
  }
});

test('a vendor 400 is returned as is, without failover', async () => {
  await stack.vendor(1).mode({ mode: '400' });
  const r = await stack.chat(chatBody({ temperature: 9 }));
  assert.equal(r.status, 400, r.text);
  assert.deepEqual(r.json, {
    error: { message: "Invalid value for 'temperature'", type: 'invalid_request_error', param: 'temperature', code: null },
  });
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=400');
  assert.equal(await requests(1), 1);
  assert.equal(await requests(2), 0);
  assert.equal(await requests(3), 0);
  // Same for a stream request.
  await stack.vendor(1).mode({ mode: '400' });
  const s = await stack.chat(chatBody({ temperature: 9 }), { stream: true });
  assert.equal(s.status, 400);
  assert.equal(await requests(2), 0);
  s.res.resume();
});

for (const rst of [false, true]) {
  test(`stream cut after the first byte (${rst ? 'RST' : 'FIN'}): error event, no [DONE], no failover`, async () => {
    await stack.vendor(1).mode({ mode: 'reset_mid_stream', chunks: 2, rst });
    const s = await stack.chatStream(chatBody());
    assert.equal(s.status, 200);
    assert.equal(s.headers['x-lingmo-provider'], 'v1');
    const datas = s.events.map((e) => e.data);
    assert.equal(datas.length, 4, s.text);
    assert.equal(JSON.parse(datas[0]).choices[0].delta.role, 'assistant');
    assert.equal(contentOf({ events: s.events.slice(0, 3) }), 'v1-chunk-0 v1-chunk-1 ');
    const last = JSON.parse(datas[3]);
    assert.ok(last.error, `last event is an error: ${datas[3]}`);
    assert.equal(last.error.code, 'stream_interrupted');
    assert.equal(typeof last.error.message, 'string');
    assert.ok(!s.text.includes('[DONE]'), 'an interrupted stream must not end with [DONE]');
    assert.equal(await requests(1), 1);
    assert.equal(await requests(2), 0, 'no failover once bytes reached the client');
    assert.equal(await requests(3), 0);
  });
}

test('all candidates out of quota: 429 insufficient_quota naming every provider', async () => {
  for (const i of [1, 2, 3]) await stack.vendor(i).mode('429');
  const r = await stack.chat(chatBody());
  assert.equal(r.status, 429, r.text);
  assert.equal(r.json.error.type, 'insufficient_quota');
  assert.equal(r.json.error.code, 'insufficient_quota');
  for (const id of ['v1', 'v2', 'v3']) assert.match(r.json.error.message, new RegExp(`\\b${id}\\b`));
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=429;v2=429;v3=429');
  for (const i of [1, 2, 3]) assert.equal(await requests(i), 1);
});

test('all candidates failing with 500: 502 all_providers_failed', async () => {
  for (const i of [1, 2, 3]) await stack.vendor(i).mode('500');
  for (const stream of [false, true]) {
    const r = await stack.chat(chatBody({ stream }));
    const text = stream ? await new Promise((res) => { let t = ''; r.res.on('data', (c) => { t += c; }); r.res.on('end', () => res(t)); }) : r.text;
    const json = JSON.parse(text);
    assert.equal(r.status, 502, text);
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.equal(json.error.type, 'upstream_error');
    assert.equal(json.error.code, 'all_providers_failed');
    for (const id of ['v1', 'v2', 'v3']) assert.match(json.error.message, new RegExp(`\\b${id}\\b`));
    assert.equal(r.headers['x-lingmo-attempts'], 'v1=500;v2=500;v3=500');
  }
  for (const i of [1, 2, 3]) assert.equal(await requests(i), 2);
});

test('lingmo_max_attempts caps the number of vendors tried', async () => {
  for (const i of [1, 2, 3]) await stack.vendor(i).mode('500');
  const r = await stack.chat(chatBody(), { path: '/v2/chat/completions' });  // location with lingmo_max_attempts 2
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.error.code, 'all_providers_failed');
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=500;v2=500');
  assert.match(r.json.error.message, /maximum number of attempts/);
  assert.equal(await requests(1), 1);
  assert.equal(await requests(2), 1);
  assert.equal(await requests(3), 0, 'the third vendor is not tried');
  // With a working third vendor the capped location still stops after two.
  await stack.vendor(3).mode('normal');
  await stack.vendor(1).mode('500');
  await stack.vendor(2).mode('500');
  const r2 = await stack.chat(chatBody(), { path: '/v2/chat/completions' });
  assert.equal(r2.status, 502);
  assert.equal(await requests(3), 0);
  // ... while /v1/ (max 3) reaches it.
  await stack.vendor(1).mode('500');
  await stack.vendor(2).mode('500');
  const r3 = await stack.chat(chatBody());
  assert.equal(r3.status, 200);
  assert.equal(r3.json.choices[0].message.content, 'v3 says hello');
  assert.equal(r3.headers['x-lingmo-attempts'], 'v1=500;v2=500;v3=ok');
});

test('mixed failures: timeouts everywhere give 504, and 429+500 gives 502', async () => {
  for (const i of [1, 2, 3]) await stack.vendor(i).mode('hang');
  const r = await stack.chat(chatBody(), { path: '/v2/chat/completions' });
  assert.equal(r.status, 504, r.text);
  assert.equal(r.json.error.code, 'upstream_timeout');
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=first_byte_timeout;v2=first_byte_timeout');
  await stack.resetVendors();
  await stack.vendor(1).mode('429');
  await stack.vendor(2).mode('500');
  await stack.vendor(3).mode('429');
  const r2 = await stack.chat(chatBody());
  assert.equal(r2.status, 502, r2.text);
  assert.equal(r2.json.error.code, 'all_providers_failed');
});

test('a slow first byte under lingmo_first_byte_timeout is waited for, not failed over', async () => {
  await stack.vendor(1).mode({ mode: 'slow_first_byte', delay_ms: 900 });
  const t0 = performance.now();
  const r = await stack.chat(chatBody());
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=ok');
  assert.ok(performance.now() - t0 >= 850);
  await stack.vendor(1).mode({ mode: 'slow_first_byte', delay_ms: 2500 });
  const r2 = await stack.chat(chatBody());
  assert.equal(r2.status, 200);
  assert.equal(r2.headers['x-lingmo-attempts'], 'v1=first_byte_timeout;v2=ok');
  assert.equal(await requests(2), 1);
});

test('events 1 s apart are within lingmo_idle_timeout (1.5 s)', async () => {
  await stack.vendor(1).mode({ mode: 'normal', chunks: 2, delay_ms: 1000, times: 1 });
  const ok = await stack.chatStream(chatBody());
  assert.equal(contentOf(ok), 'v1-chunk-0 v1-chunk-1 ');
  assert.equal(ok.events.at(-1).data, '[DONE]');
  assert.equal(ok.headers['x-lingmo-attempts'], 'v1=ok');
});

// A provider with a scripted stream ("scripted", priority 1) in front of v2 for model gpt-scripted.
async function withScripted(fn) {
  const sv = await startScriptedVendor();
  await stack.admin('provider', 'add', '--id', 'scripted', '--base-url', sv.baseUrl, '--api-key', sv.key,
    '--model', 'gpt-scripted=scripted-model', '--priority', '1');
  await stack.admin('provider', 'add', '--id', 'v2-alt', '--base-url', stack.vendor(2).baseUrl, '--api-key', 'sk-v2',
    '--model', 'gpt-scripted=fake-v2', '--priority', '20');
  try {
    await stack.waitConfigLoaded();
    await fn(sv);
  } finally {
    await stack.admin('provider', 'remove', 'scripted');
    await stack.admin('provider', 'remove', 'v2-alt');
    await stack.waitConfigLoaded();
    await sv.close();
  }
}

test('silence after content longer than lingmo_idle_timeout ends the stream with an error event', async () => {
  await withScripted(async (sv) => {
    sv.script([{ delay: 0, role: true }, { delay: 50, content: 'part-1 ' }, { delay: 100, content: 'part-2 ' }, { stall: true, delay: 0 }]);
    const t0 = performance.now();
    const s = await stack.chatStream(chatBody({ model: 'gpt-scripted' }));
    const ms = performance.now() - t0;
    assert.equal(s.status, 200);
    assert.equal(s.headers['x-lingmo-provider'], 'scripted');
    assert.equal(contentOf({ events: s.events.slice(0, -1) }), 'part-1 part-2 ');
    const last = JSON.parse(s.events.at(-1).data);
    assert.equal(last.error?.code, 'stream_interrupted', s.text);
    assert.match(last.error.message, /idle_timeout/);
    assert.ok(!s.text.includes('[DONE]'));
    assert.ok(ms >= 1500 && ms < 2600, `idle timeout fired after ${ms.toFixed(0)} ms (150 ms of content + 1.5 s)`);
    assert.equal(await requests(2), 0, 'no failover after content reached the client');
    await waitFor(() => sv.state.closedEarly === 1, { timeout: 1500, what: 'the stalled call to be closed' });
  });
});

test('silence after only the role chunk fails over unseen', async () => {
  await withScripted(async (sv) => {
    sv.script([{ delay: 0, role: true }, { stall: true, delay: 0 }]);
    const s = await stack.chatStream(chatBody({ model: 'gpt-scripted' }));
    assert.equal(s.status, 200);
    assert.equal(s.headers['x-lingmo-provider'], 'v2-alt');
    assert.equal(s.headers['x-lingmo-attempts'], 'scripted=idle_timeout;v2-alt=ok');
    assert.equal(contentOf(s), 'v2-chunk-0 v2-chunk-1 v2-chunk-2 ');
    assert.equal(s.events.filter((e) => /"role"/.test(e.data)).length, 1, 'one role chunk only (the held one was dropped)');
    assert.equal(s.events.at(-1).data, '[DONE]');
    assert.equal(sv.state.lastBody.model, 'scripted-model');
  });
});
