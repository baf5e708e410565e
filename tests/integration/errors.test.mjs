// Authentication and bad input: each answer is an OpenAI-format JSON error with the right status,
// no vendor is contacted, and the worker keeps serving.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startStack, chatBody, parseResponses, rawExchange, rawHttp, sleep, waitFor, MODEL } from './harness.mjs';

let stack;
before(async () => { stack = await startStack({ vendors: 2 }); });
after(async () => { await stack?.stop(); });
beforeEach(async () => { await stack.resetVendors(); });

// After every error case: no vendor was called, and a normal request still works.
afterEach(async () => {
  stack.checkLog();
  const r = await stack.chat(chatBody());
  assert.equal(r.status, 200, `gateway unhealthy after the test: ${r.status} ${r.text}`);
  assert.equal(r.json.choices[0].message.content, 'v1 says hello');
});

async function noVendorCalled() {
  for (const i of [1, 2]) assert.equal((await stack.vendor(i).stats()).requests, 0, `v${i} was called`);
}

function assertOpenAIError(r, status, { type, code, param } = {}) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/, `content-type of: ${r.text}`);
  assert.ok(r.json && r.json.error, `OpenAI error body expected, got: ${r.text}`);
  const e = r.json.error;
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  for (const f of ['type', 'param', 'code']) assert.ok(f in e, `error.${f} present`);
  if (type !== undefined) assert.equal(e.type, type);
  if (code !== undefined) assert.equal(e.code, code);
  if (param !== undefined) assert.equal(e.param, param);
  return e;
}

test('no Authorization header: 401', async () => {
  const r = await stack.chat(chatBody(), { key: null });
  const e = assertOpenAIError(r, 401, { type: 'invalid_request_error' });
  assert.match(e.message, /didn't provide an API key/);
  const basic = await stack.chat(chatBody(), { key: null, headers: { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
  assertOpenAIError(basic, 401);
  const m = await stack.models({ key: null });
  assertOpenAIError(m, 401);
  await noVendorCalled();
});

test('wrong key: 401 invalid_api_key without echoing the key', async () => {
  const wrong = 'lm-wrong-secret-key-5555aaaa9876';
  const r = await stack.chat(chatBody(), { key: wrong });
  const e = assertOpenAIError(r, 401, { type: 'invalid_request_error', code: 'invalid_api_key' });
  assert.ok(!e.message.includes(wrong), `message leaks the key: ${e.message}`);
  assert.ok(!e.message.includes('secret-key'), `message leaks the middle of the key: ${e.message}`);
  assert.match(e.message, /9876/, 'shows only a masked hint');
  const m = await stack.models({ key: wrong });
  assertOpenAIError(m, 401, { code: 'invalid_api_key' });
  await noVendorCalled();
});

test('a revoked key stops working within 1.5 s', async () => {
  const secret = 'lm-soon-revoked-key-00000042';
  await stack.admin('key', 'add', '--name', 'tmp', '--secret', secret);
  await stack.waitConfigLoaded();
  for (let i = 0; i < 4; i++) assert.equal((await stack.chat(chatBody(), { key: secret })).status, 200);
  await stack.resetVendors();
  const t0 = performance.now();
  await stack.admin('key', 'revoke', secret);
  await waitFor(async () => (await stack.chat(chatBody(), { key: secret })).status === 401,
    { timeout: 1500, interval: 20, what: 'the revoked key to be refused' });
  assert.ok(performance.now() - t0 < 1500);
  const served = (await stack.vendor(1).stats()).requests;
  for (let i = 0; i < 6; i++) {  // fresh connections: both workers refuse it
    const r = await stack.chat(chatBody(), { key: secret });
    assertOpenAIError(r, 401, { code: 'invalid_api_key' });
  }
  assert.equal((await stack.vendor(1).stats()).requests, served, 'refused requests reached no vendor');
});

test('invalid JSON: 400', async () => {
  const r = await stack.chat('{"model": "gpt-test", "messages": [', { headers: { 'Content-Type': 'application/json' } });
  const e = assertOpenAIError(r, 400, { type: 'invalid_request_error' });
  assert.match(e.message, /parse the JSON body/);
  const arr = await stack.chat('[1,2,3]', { headers: { 'Content-Type': 'application/json' } });
  assertOpenAIError(arr, 400, { type: 'invalid_request_error' });
  await noVendorCalled();
});

test('missing model: 400 param model', async () => {
  const r = await stack.chat({ messages: [{ role: 'user', content: 'hi' }] });
  assertOpenAIError(r, 400, { type: 'invalid_request_error', param: 'model' });
  const empty = await stack.chat({ model: '', messages: [{ role: 'user', content: 'hi' }] });
  assertOpenAIError(empty, 400, { param: 'model' });
  const num = await stack.chat({ model: 42, messages: [{ role: 'user', content: 'hi' }] });
  assertOpenAIError(num, 400, { param: 'model' });
  await noVendorCalled();
});

test('missing or bad messages: 400 param messages', async () => {
  const r = await stack.chat({ model: MODEL });
  assertOpenAIError(r, 400, { type: 'invalid_request_error', param: 'messages' });
  const empty = await stack.chat({ model: MODEL, messages: [] });
  assertOpenAIError(empty, 400, { param: 'messages' });
  const norole = await stack.chat({ model: MODEL, messages: [{ content: 'hi' }] });
  assertOpenAIError(norole, 400, { param: 'messages' });
  const badStream = await stack.chat({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: 'yes' });
  assertOpenAIError(badStream, 400, { param: 'stream' });
  await noVendorCalled();
});

test('GET on /v1/chat/completions: 405 with Allow: POST', async () => {
  const r = await stack.gw({ method: 'GET', path: '/v1/chat/completions' });
  assertOpenAIError(r, 405, { type: 'invalid_request_error' });
  assert.equal(r.headers.allow, 'POST');
  const del = await stack.gw({ method: 'DELETE', path: '/v1/chat/completions' });
  assertOpenAIError(del, 405);
  const post = await stack.gw({ method: 'POST', path: '/v1/models', body: {} });
  assertOpenAIError(post, 405);
  await noVendorCalled();
});

test('unknown path: 404 JSON', async () => {
  const r = await stack.gw({ method: 'POST', path: '/v1/foo', body: chatBody() });
  assertOpenAIError(r, 404, { type: 'invalid_request_error', code: 'unknown_url' });
  assert.match(r.json.error.message, /\/v1\/foo/);
  const g = await stack.gw({ path: '/v1/foo' });
  assertOpenAIError(g, 404);
  await noVendorCalled();
});

function bigBody() {
  return JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] }));
}

test('body over client_max_body_size (64k) with Content-Length: 413 JSON', async () => {
  const r = await stack.chat(bigBody(), { headers: { 'Content-Type': 'application/json' } });
  assertOpenAIError(r, 413, { type: 'invalid_request_error' });
  await noVendorCalled();
});

test('chunked body over client_max_body_size (64k), sent in one piece: 413 JSON', async () => {
  const r = await stack.chat(bigBody(), { headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } });
  assertOpenAIError(r, 413, { type: 'invalid_request_error' });
  await noVendorCalled();
});

test('chunked body that crosses client_max_body_size after the headers: 413 JSON', async () => {
  // The body arrives in pieces after the request head (as with Expect: 100-continue or a slow
  // uploader), so the limit is hit while nginx reads the body asynchronously.
  const sock = net.connect(stack.gatewayPort, '127.0.0.1');
  let got = Buffer.alloc(0);
  sock.on('data', (c) => { got = Buffer.concat([got, c]); });
  sock.on('error', () => {});
  await new Promise((resolve) => sock.once('connect', resolve));
  sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${stack.key}\r\n` +
    'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
  await sleep(100);
  const body = bigBody();
  for (let i = 0; i < body.length && !sock.destroyed; i += 16 * 1024) {
    const part = body.slice(i, i + 16 * 1024);
    sock.write(`${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`);
    await sleep(20);
  }
  if (!sock.destroyed) sock.write('0\r\n\r\n');
  await waitFor(() => parseResponses(got).responses.length > 0 || sock.destroyed, { timeout: 3000, what: 'a response' });
  sock.destroy();
  const r = parseResponses(got).responses[0];
  assert.ok(r, `no response: ${got.toString('latin1').slice(0, 200)}`);
  assertOpenAIError({ status: r.status, headers: r.headers, text: r.body, json: (() => { try { return JSON.parse(r.body); } catch { return undefined; } })() },
    413, { type: 'invalid_request_error' });
  await noVendorCalled();
});

test('a body just under the limit is accepted', async () => {
  const body = JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'y'.repeat(60 * 1024) }] }));
  const r = await stack.chat(body, { headers: { 'Content-Type': 'application/json' } });
  assert.equal(r.status, 200, r.text);
  assert.equal((await stack.vendor(1).stats()).last_request.body.messages[0].content.length, 60 * 1024);
});

test('a client that disconnects while sending its body does not harm the worker', async () => {
  await new Promise((resolve, reject) => {
    const s = net.connect(stack.gatewayPort, '127.0.0.1', () => {
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${stack.key}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"model":"gpt-te');
      setTimeout(() => { s.destroy(); resolve(); }, 100);
    });
    s.on('error', reject);
  });
  await noVendorCalled();
});

test('/v1/models lists the models of the key', async () => {
  const r = await stack.models();
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.equal(r.json.object, 'list');
  assert.deepEqual(r.json.data.map((m) => m.id), ['auto', MODEL]);
  for (const m of r.json.data) {
    assert.equal(m.object, 'model');
    assert.equal(m.owned_by, 'lingmo');
    assert.equal(typeof m.created, 'number');
  }
  const head = await stack.gw({ method: 'HEAD', path: '/v1/models' });
  assert.equal(head.status, 200);
  assert.equal(head.text, '');
  await noVendorCalled();
});

// Each error answer must leave the keep-alive connection usable: exactly one response per request
// (an unread request body must not be parsed as a second request), and the next request works.
const KEEPALIVE_CASES = [
  { name: 'no Authorization (401)', status: 401, req: () => rawHttp('POST', '/v1/chat/completions', { body: chatBody() }) },
  { name: 'wrong key (401)', status: 401, req: () => rawHttp('POST', '/v1/chat/completions', { headers: { Authorization: 'Bearer lm-nope-nope-nope' }, body: chatBody() }) },
  { name: 'unknown path with a body (404)', status: 404, req: () => rawHttp('POST', '/v1/foo', { headers: auth(), body: chatBody() }) },
  { name: 'PUT with a body (405)', status: 405, req: () => rawHttp('PUT', '/v1/chat/completions', { headers: auth(), body: chatBody() }) },
  { name: 'invalid JSON (400)', status: 400, req: () => rawHttp('POST', '/v1/chat/completions', { headers: auth(), body: '{"model":' }) },
  { name: 'unknown model (404)', status: 404, req: () => rawHttp('POST', '/v1/chat/completions', { headers: auth(), body: chatBody({ model: 'nope' }) }) },
  { name: 'GET /v1/models (200)', status: 200, req: () => rawHttp('GET', '/v1/models', { headers: auth() }) },
  { name: 'a stream (200)', status: 200, req: () => rawHttp('POST', '/v1/chat/completions', { headers: auth(), body: chatBody({ stream: true }) }) },
];
function auth() { return { Authorization: `Bearer ${stack.key}` }; }

for (const c of KEEPALIVE_CASES) {
  test(`keep-alive: after ${c.name} the same connection serves the next request`, async () => {
    const good = rawHttp('POST', '/v1/chat/completions', { headers: auth(), body: chatBody() });
    const x = await rawExchange(stack.gatewayPort, [c.req(), good]);
    const statuses = x.responses.map((r) => r.status);
    assert.equal(x.responses[0]?.status, c.status, `first response: ${JSON.stringify(x.responses[0])}`);
    assert.match(x.responses[0].headers['content-type'], c.status === 200 && /stream/.test(c.name) ? /event-stream/ : /json/);
    assert.deepEqual(statuses, [c.status, 200],
      `one response per request on the connection, got ${JSON.stringify(statuses)}: ${x.responses.slice(1).map((r) => `${r.status} ${r.body.slice(0, 80)}`).join(' | ')}`);
    assert.equal(JSON.parse(x.responses[1].body).choices[0].message.content, 'v1 says hello');
    assert.equal(x.rest, '', 'no stray bytes after the responses');
  });
}
