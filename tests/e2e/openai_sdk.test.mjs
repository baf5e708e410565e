// End-to-end: the official OpenAI Node SDK talks to LingMo Gateway (nginx + module) backed by
// fake vendors, exactly as an application would. The stack comes from the integration harness.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack, MODEL } from '../integration/harness.mjs';

let stack;
let client;

before(async () => {
  stack = await startStack({ vendors: 3 });
  client = new OpenAI({ apiKey: stack.key, baseURL: `http://127.0.0.1:${stack.gatewayPort}/v1`, maxRetries: 0, timeout: 20000 });
});
after(async () => { await stack?.stop(); });
beforeEach(async () => { await stack.resetVendors(); });
afterEach(() => { stack.checkLog(); });

const messages = [{ role: 'user', content: 'hello' }];

test('SDK: non-stream chat.completions.create returns the vendor content and usage', async () => {
  const { data: completion, response } = await client.chat.completions.create({ model: MODEL, messages }).withResponse();
  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.choices[0].message.role, 'assistant');
  assert.equal(completion.choices[0].message.content, 'v1 says hello');
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.deepEqual(completion.usage, { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 });
  assert.equal(response.headers.get('x-lingmo-provider'), 'v1');
  assert.equal((await stack.vendor(1).stats()).last_request.body.model, 'fake-v1');
});

test('SDK: stream with for-await collects every content delta in order', async () => {
  await stack.vendor(1).mode({ mode: 'normal', chunks: 6, delay_ms: 20 });
  const stream = await client.chat.completions.create({ model: MODEL, messages, stream: true });
  const deltas = [];
  let finish = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.usage, undefined, 'no usage in chunks when the client did not ask');
    const c = chunk.choices[0];
    if (c?.delta?.content) deltas.push(c.delta.content);
    if (c?.finish_reason) finish = c.finish_reason;
  }
  assert.deepEqual(deltas, ['v1-chunk-0 ', 'v1-chunk-1 ', 'v1-chunk-2 ', 'v1-chunk-3 ', 'v1-chunk-4 ', 'v1-chunk-5 ']);
  assert.equal(deltas.join(''), 'v1-chunk-0 v1-chunk-1 v1-chunk-2 v1-chunk-3 v1-chunk-4 v1-chunk-5 ');
  assert.equal(finish, 'stop');
  assert.equal(chunks, 8, 'role + 6 content + finish');
});

test('SDK: stream_options.include_usage yields a final usage chunk', async () => {
  const stream = await client.chat.completions.create({
    model: MODEL, messages, stream: true, stream_options: { include_usage: true },
  });
  const all = [];
  for await (const chunk of stream) all.push(chunk);
  const last = all.at(-1);
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 });
  assert.equal(all.filter((c) => c.usage).length, 1);
  assert.equal(all.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'v1-chunk-0 v1-chunk-1 v1-chunk-2 ');
});

test('SDK: v1 out of quota is invisible to the client (failover to v2)', async () => {
  await stack.vendor(1).mode('429');
  const completion = await client.chat.completions.create({ model: MODEL, messages });
  assert.equal(completion.choices[0].message.content, 'v2 says hello');
  await stack.vendor(1).mode('429');
  const stream = await client.chat.completions.create({ model: MODEL, messages, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'v2-chunk-0 v2-chunk-1 v2-chunk-2 ');
  // The quota error parked v1: the second request went straight to v2.
  assert.equal((await stack.vendor(1).stats()).requests, 1);
  assert.equal((await stack.vendor(2).stats()).requests, 2);
});

test('SDK: models.list() lists gpt-test', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes(MODEL), JSON.stringify(ids));
  assert.deepEqual(ids, ['auto', MODEL]);
});

test('SDK: a wrong key throws AuthenticationError (401)', async () => {
  const bad = new OpenAI({ apiKey: 'lm-wrong-key-000000000000', baseURL: client.baseURL, maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model: MODEL, messages }), (e) => {
    assert.ok(e instanceof OpenAI.AuthenticationError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.status, 401);
    assert.equal(e.code, 'invalid_api_key');
    return true;
  });
  assert.equal((await stack.vendor(1).stats()).requests, 0);
});

test('SDK: every vendor out of quota throws RateLimitError with code insufficient_quota', async () => {
  for (const i of [1, 2, 3]) await stack.vendor(i).mode('429');
  await assert.rejects(client.chat.completions.create({ model: MODEL, messages }), (e) => {
    assert.ok(e instanceof OpenAI.RateLimitError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.status, 429);
    assert.equal(e.code, 'insufficient_quota');
    assert.equal(e.type, 'insufficient_quota');
    assert.match(e.message, /v1.*v2.*v3/s);
    return true;
  });
  for (const i of [1, 2, 3]) assert.equal((await stack.vendor(i).stats()).requests, 1, 'maxRetries 0: one attempt each');
});
