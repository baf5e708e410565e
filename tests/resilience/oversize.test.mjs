// Oversize input, from clients and from vendors: bodies over client_max_body_size (1m here) in
// every client dialect and every way of sending them (Content-Length, chunked, Expect:
// 100-continue), request headers and URIs over nginx's buffers, a huge Authorization value,
// JSON nested deeply enough to exhaust a recursive parser's stack while staying under the size
// limit, and vendor answers over lingmo_max_response_size (256k here) or with one SSE event over
// the framer's 4 MiB. Each gets an error in the endpoint's dialect (or a failover), and no
// worker dies.
//
// integration/errors covers the chat endpoint's 413 (Content-Length, chunked, crossing the limit
// mid-upload) and the keep-alive connection after it; not repeated here.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, parseResponses, sleep, waitFor } from '../integration/harness.mjs';
import { ANTHROPIC_HEADERS, CLIENTS, PATH, bodyFor, rawConnect } from './lib.mjs';

let stack;
before(async () => {
  stack = await startStack({
    vendors: 2,
    nginxConf: { clientMaxBodySize: '1m', location: 'lingmo_max_response_size 256k;' },
    seed: async (st) => {
      const v1 = st.vendor(1);
      await st.admin('provider', 'add', '--id', 'v1', '--base-url', v1.baseUrl, '--api-key', v1.key,
        '--model', 'gpt-test=fake-v1', '--model', 'only-v1=fake-v1', '--priority', '10');
    },
  });
});
after(async () => { await stack?.stop(); });
beforeEach(async () => { await stack.resetVendors(); });
afterEach(async () => {
  stack.checkLog();
  const r = await stack.chat(chatBody());
  assert.equal(r.status, 200, `gateway unhealthy after the test: ${r.status} ${r.text}`);
});

const ENDPOINTS = [...CLIENTS.map((c) => ({ client: c, path: PATH[c] })), { client: 'messages', path: '/v1/messages/count_tokens' }];
const anthropicPath = (p) => /\/messages(\/count_tokens)?$/.test(p.split('?')[0]);

// The JSON error of an endpoint's dialect, with the status the gateway maps it to.
function assertDialectError(path, r, status, { anthropicType, openaiCode } = {}) {
  const what = `${path}: ${r.status} ${r.headers?.['content-type']} ${String(r.text ?? r.body).slice(0, 160)}`;
  assert.equal(r.status, status, what);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/, what);
  const j = JSON.parse(r.text ?? r.body);
  if (anthropicPath(path)) {
    assert.equal(j.type, 'error', what);
    assert.equal(typeof j.error.message, 'string', what);
    if (anthropicType) assert.equal(j.error.type, anthropicType, what);
  } else {
    assert.equal(typeof j.error?.message, 'string', what);
    assert.ok('type' in j.error && 'code' in j.error && 'param' in j.error, what);
    if (openaiCode) assert.equal(j.error.code, openaiCode, what);
  }
  return j;
}

async function noVendorCalled() {
  for (const i of [1, 2]) assert.equal((await stack.vendor(i).stats()).requests, 0, `v${i} was called`);
}

function bigBody(client, bytes) {
  return JSON.stringify(bodyFor(client, 'gpt-test', 'x'.repeat(bytes)));
}

test('bodies over client_max_body_size: 413 in the dialect of every endpoint (Content-Length and chunked)', async () => {
  for (const { client, path } of ENDPOINTS) {
    const body = bigBody(client, 1.2 * 1024 * 1024);
    const headers = { 'Content-Type': 'application/json', ...(client === 'messages' ? ANTHROPIC_HEADERS : {}) };
    for (const chunked of [false, true]) {
      const r = await stack.chat(body, { path, headers: chunked ? { ...headers, 'Transfer-Encoding': 'chunked' } : headers });
      assertDialectError(path, r, 413, { anthropicType: 'request_too_large', openaiCode: 'request_too_large' });
    }
  }
  await noVendorCalled();
});

test('Expect: 100-continue with an oversize Content-Length: 413 at once, before any body byte is sent', async () => {
  for (const { client, path } of ENDPOINTS) {
    const c = await rawConnect(stack.gatewayPort);
    c.write(`POST ${path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${stack.key}\r\nContent-Type: application/json\r\n` +
      `${client === 'messages' ? 'anthropic-version: 2023-06-01\r\n' : ''}Content-Length: ${5 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`);
    await waitFor(() => parseResponses(Buffer.from(c.data(), 'latin1')).responses.length > 0, { timeout: 3000, what: `${path}: an answer without the body` });
    c.sock.destroy();
    const [r] = parseResponses(Buffer.from(c.data(), 'latin1')).responses;
    assertDialectError(path, r, 413, { anthropicType: 'request_too_large', openaiCode: 'request_too_large' });
  }
  await noVendorCalled();
});

test('a body just under the limit with 20000 messages is accepted and relayed whole', async () => {
  const messages = Array.from({ length: 20000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `m${i}` }));
  messages[messages.length - 1] = { role: 'user', content: 'last' };
  const body = JSON.stringify(chatBody({ messages }));
  assert.ok(body.length > 600 * 1024 && body.length < 1024 * 1024, `${body.length} bytes`);
  const r = await stack.chat(body, { headers: { 'Content-Type': 'application/json' } });
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.equal((await stack.vendor(1).stats()).last_request.body.messages.length, 20000);
});

test('a huge Authorization value (7 KB, within the header buffers): 401, the key is not echoed', async () => {
  const key = `lm-${'k'.repeat(7000)}Z9y8`;
  for (const { client, path } of ENDPOINTS) {
    const r = await stack.chat(JSON.parse(bigBody(client, 10)), { path, key, headers: client === 'messages' ? ANTHROPIC_HEADERS : {} });
    assertDialectError(path, r, 401);
    assert.ok(r.text.length < 600, `the answer is short (${r.text.length} bytes), not an echo`);
    assert.ok(!r.text.includes('kkkkkkkkkk'), 'the key is not echoed');
  }
  await noVendorCalled();
});

// Requests nginx refuses while reading the head (before any location is chosen).
const HEAD_CASES = [
  { name: 'one 20 KB header', headers: { 'X-Big': 'a'.repeat(20000) } },
  { name: '2000 headers', headers: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`X-H${i}`, 'v'.repeat(20)])) },
  { name: 'a 20 KB URI', query: `?${'q'.repeat(20000)}` },
];

test('headers and URIs over the buffers: refused (400/414), nothing reaches a vendor, the workers live', async () => {
  const pids = stack.workerPids();
  for (const c of HEAD_CASES) {
    for (const { client, path } of ENDPOINTS) {
      const r = await stack.chat(bodyFor(client, 'gpt-test'), { path: path + (c.query ?? ''),
        headers: { ...(client === 'messages' ? ANTHROPIC_HEADERS : {}), ...(c.headers ?? {}) } });
      assert.ok([400, 414, 431, 494].includes(r.status), `${c.name} ${path}: ${r.status}`);
    }
  }
  await noVendorCalled();
  assert.deepEqual(stack.workerPids(), pids, 'no worker died');
});

test('headers and URIs over the buffers: the error is JSON in the endpoint\'s dialect',
  async () => {
    for (const c of HEAD_CASES) {
      for (const { client, path } of ENDPOINTS) {
        const r = await stack.chat(bodyFor(client, 'gpt-test'), { path: path + (c.query ?? ''),
          headers: { ...(client === 'messages' ? ANTHROPIC_HEADERS : {}), ...(c.headers ?? {}) } });
        assertDialectError(path, { ...r, status: r.status }, r.status);
      }
    }
  });

// Deeply nested JSON in an otherwise valid request, under client_max_body_size. On a separate
// stack: a crash here must not be blamed on (or hide behind) the other tests of this file.
test('deeply nested JSON under the size limit: an answer (200 or 400 in the dialect), no worker crash',
  async () => {
    const st = await startStack({ vendors: 1, nginxConf: { clientMaxBodySize: '1m' } });
    st.allowLogLine(/exited on signal/);  // asserted below instead, so that stop() cleans up
    try {
      const pids = st.workerPids();
      const depth = 200000;
      const answers = {};
      for (const client of CLIENTS) {
        const base = JSON.stringify(bodyFor(client, 'gpt-test'));
        const body = `${base.slice(0, -1)},"metadata_x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
        assert.ok(body.length < 1024 * 1024);
        let r;
        try {
          r = await st.chat(body, { path: PATH[client], headers: { 'Content-Type': 'application/json', ...(client === 'messages' ? ANTHROPIC_HEADERS : {}) } });
        } catch (e) {
          r = { status: 0, text: e.message, headers: {} };
        }
        answers[client] = r;
        await sleep(300);  // a crashed worker is replaced before the next dialect is tried
      }
      for (const [client, r] of Object.entries(answers)) {
        assert.ok(r.status === 200 || r.status === 400, `${client}: ${r.status} ${r.text.slice(0, 200)} (all: ${Object.entries(answers).map(([c, x]) => `${c}=${x.status || x.text}`).join(', ')})`);
        if (r.status === 400) assertDialectError(PATH[client], r, 400);
      }
      const crashes = st.errorLog().split('\n').filter((l) => /exited on signal/.test(l));
      assert.deepEqual(crashes, [], 'worker crashes');
      assert.deepEqual(st.workerPids(), pids, 'the workers are the same processes');
    } finally {
      await st.stop();
    }
  });

test('a vendor answer over lingmo_max_response_size: failed over, or 502 in the dialect when no one else serves', async () => {
  const huge = { id: 'chatcmpl-big', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'b'.repeat(400 * 1024) }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
  await stack.vendor(1).mode({ mode: 'custom', status: 200, body: huge, times: 1 });
  const r = await stack.chat(chatBody());
  assert.equal(r.status, 200, r.text.slice(0, 200));
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=malformed;v2=ok');
  assert.equal(r.json.choices[0].message.content, 'v2 says hello');
  for (const client of CLIENTS) {
    await stack.resetParks();
    await stack.vendor(1).mode({ mode: 'custom', status: 200, body: huge, times: 1 });
    const one = await stack.chat(bodyFor(client, 'only-v1'), { path: PATH[client], headers: client === 'messages' ? ANTHROPIC_HEADERS : {} });
    const j = assertDialectError(PATH[client], one, 502);
    assert.match(j.error.message, /lingmo_max_response_size/, client);
    assert.ok(one.text.length < 2000, `${client}: the answer is an error, not the vendor body (${one.text.length} bytes)`);
  }
});

test('one SSE event over the framer limit (4 MiB): the stream is refused with a dialect error, not relayed', async () => {
  const piece = `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"${'e'.repeat(5 * 1024 * 1024)}"},"finish_reason":null}]}\n\n`;
  for (const client of CLIENTS) {
    await stack.resetParks();
    await stack.vendor(1).mode({ mode: 'custom', status: 200, body: piece, headers: { 'content-type': 'text/event-stream' }, times: 1 });
    const r = await stack.chat(bodyFor(client, 'only-v1', 'hi', { stream: true }), { path: PATH[client], headers: client === 'messages' ? ANTHROPIC_HEADERS : {} });
    const text = await new Promise((resolve) => { let t = ''; r.res.on('data', (c) => { t += c; }); r.res.on('end', () => resolve(t)); r.res.on('error', () => resolve(t)); });
    const j = assertDialectError(PATH[client], { status: r.status, headers: r.headers, text }, 502);
    assert.match(j.error.message, /size limit|malformed/, client);
    assert.ok(text.length < 2000, `${client}: ${text.length} bytes relayed`);
  }
});
