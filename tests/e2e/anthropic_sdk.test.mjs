// End-to-end: the official Anthropic Node SDK (`@anthropic-ai/sdk`) talks to LingMo Gateway's
// /v1/messages, exactly as Claude Code or an application would, with providers of every vendor
// dialect behind it: model `to-openai` is served by an OpenAI-dialect fake (v1), `to-anthropic` by
// an Anthropic-dialect fake (v2, passthrough), `to-gemini` by a Gemini-dialect fake (v3), and
// `gpt-test` by all three in priority order v1, v2, v3 (failover across dialects).
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startStack, waitFor } from '../integration/harness.mjs';

const DIALECTS = [
  { dialect: 'openai', model: 'to-openai', vendor: 1, id: 'v1', upstream: 'm-v1' },
  { dialect: 'anthropic', model: 'to-anthropic', vendor: 2, id: 'v2', upstream: 'm-v2' },
  { dialect: 'gemini', model: 'to-gemini', vendor: 3, id: 'v3', upstream: 'gemini-3-flash' },
];
const ALL_MODELS = ['auto', 'gpt-test', 'to-openai', 'to-anthropic', 'to-gemini'];
// Anthropic's tool_use id pattern: ids the gateway hands out must survive a replay to real Anthropic.
const TOOL_ID = /^[a-zA-Z0-9_-]+$/;

let stack;
let baseURL;
let client;

function anthropic(opts = {}) {
  return new Anthropic({ apiKey: stack.key, baseURL, maxRetries: 0, timeout: 20000, ...opts });
}

// A client that records the request headers it sends (to prove which auth header the SDK used).
function recordingClient(opts) {
  const sent = [];
  const c = anthropic({
    ...opts,
    fetch: async (url, init) => {
      sent.push({ url: String(url), headers: new Headers(init?.headers) });
      return fetch(url, init);
    },
  });
  return { client: c, sent };
}

before(async () => {
  stack = await startStack({
    dialects: ['openai', 'anthropic', 'gemini'],
    seed: async (st) => {
      for (const [i, v] of st.vendors.entries()) {
        await st.admin('provider', 'add', '--id', v.name, '--base-url', v.baseUrl, '--api-key', v.key, '--dialect', v.dialect,
          '--model', `gpt-test=fake-${v.name}`,
          '--model', `to-${v.dialect}=${v.dialect === 'gemini' ? 'gemini-3-flash' : `m-${v.name}`}`,
          '--priority', String(10 * (i + 1)));
      }
    },
  });
  baseURL = `http://127.0.0.1:${stack.gatewayPort}`;
  client = anthropic();
});
after(async () => { await stack?.stop(); });
beforeEach(async () => { await stack.resetVendors(); });
afterEach(() => { stack.checkLog(); });

const user = (content) => [{ role: 'user', content }];

// ---------------------------------------------------------------------------------------------
// Scripted vendor answers, one shape per dialect (tests/fakes/README.md, mode "answer").
// ---------------------------------------------------------------------------------------------

const CALLS = [
  { name: 'get_weather', input: { city: 'Oslo', days: 2, units: 'metric' } },
  { name: 'get_time', input: { tz: 'Europe/Oslo' } },
];
const TOOLS = [
  { name: 'get_weather', description: 'Weather forecast for a city',
    input_schema: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' }, units: { type: 'string' } }, required: ['city'] } },
  { name: 'get_time', description: 'Current time in a time zone',
    input_schema: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] } },
];
const RESULTS = { get_weather: 'Sunny, 21 °C', get_time: '14:05' };
const THINKING = 'The user wants two facts. I should call both tools at once.';
const SIGNATURE = 'sig-e2e-anthropic';

// The vendor-side id of call k (OpenAI and Anthropic vendors keep theirs; Gemini gives none and
// the gateway mints one).
const vendorCallId = (d, k) => ({ openai: `call_e2e_${k}`, anthropic: `toolu_e2e_${k}` })[d.dialect];

function scripted(d, { thinking, text, calls = [], times } = {}) {
  const a = {};
  if (d.dialect === 'openai') {
    if (thinking) a.reasoning = thinking;
    if (text) a.text = text;
    if (calls.length) a.tool_calls = calls.map((c, k) => ({ id: vendorCallId(d, k), name: c.name, arguments: c.input }));
  } else if (d.dialect === 'anthropic') {
    if (thinking) Object.assign(a, { thinking, signature: SIGNATURE });
    if (text) a.text = text;
    if (calls.length) a.tool_calls = calls.map((c, k) => ({ id: vendorCallId(d, k), name: c.name, input: c.input }));
  } else {
    if (thinking) a.thoughts = thinking;
    if (text) a.text = text;
    if (calls.length) a.function_calls = calls.map((c) => ({ name: c.name, args: c.input }));
  }
  return { mode: 'answer', answer: a, ...(times ? { times } : {}) };
}

function assertToolUse(d, content) {
  const uses = content.filter((b) => b.type === 'tool_use');
  assert.equal(uses.length, 2, JSON.stringify(content));
  uses.forEach((b, k) => {
    assert.equal(b.name, CALLS[k].name);
    assert.equal(typeof b.input, 'object', 'input is a parsed object, not a JSON string');
    assert.deepEqual(b.input, CALLS[k].input);
    assert.match(b.id, TOOL_ID);
    if (vendorCallId(d, k)) assert.equal(b.id, vendorCallId(d, k), 'the vendor\'s call id is passed through');
  });
  assert.notEqual(uses[0].id, uses[1].id);
  return uses;
}

// The tool results as the vendor received them, in one shape: [{ id?, name?, content }].
function toolResultsAtVendor(d, body) {
  if (d.dialect === 'openai') {
    return body.messages.filter((m) => m.role === 'tool').map((m) => ({ id: m.tool_call_id, content: m.content }));
  }
  if (d.dialect === 'anthropic') {
    const last = body.messages.at(-1);
    assert.equal(last.role, 'user');
    return last.content.filter((b) => b.type === 'tool_result')
      .map((b) => ({ id: b.tool_use_id, content: typeof b.content === 'string' ? b.content : b.content.map((x) => x.text).join('') }));
  }
  const last = body.contents.at(-1);
  assert.equal(last.role, 'user');
  return last.parts.filter((p) => p.functionResponse)
    .map((p) => ({ name: p.functionResponse.name, content: p.functionResponse.response.result ?? JSON.stringify(p.functionResponse.response) }));
}

// Sends the tool results for `uses` back (the turn after a tool_use answer) and checks both the
// final answer and what the vendor received, in its own dialect.
async function followUp(d, question, assistantContent, uses, { stream = false } = {}) {
  const v = stack.vendor(d.vendor);
  const messages = [
    { role: 'user', content: question },
    { role: 'assistant', content: assistantContent },
    { role: 'user', content: uses.map((u) => ({ type: 'tool_result', tool_use_id: u.id, content: RESULTS[u.name] })) },
  ];
  const body = { model: d.model, max_tokens: 1024, tools: TOOLS, messages };
  await v.mode(scripted(d, { text: 'Sunny and 21 °C in Oslo; it is 14:05.', times: 1 }));
  const final = stream ? await client.messages.stream(body).finalMessage() : await client.messages.create(body);
  assert.equal(final.stop_reason, 'end_turn');
  assert.deepEqual(final.content, [{ type: 'text', text: 'Sunny and 21 °C in Oslo; it is 14:05.' }]);

  const got = (await v.stats()).last_request.body;
  const results = toolResultsAtVendor(d, got);
  if (d.dialect === 'gemini') {
    assert.deepEqual(results, uses.map((u) => ({ name: u.name, content: RESULTS[u.name] })));
    // The model turn replays each call with the thought signature Gemini gave it.
    const modelTurn = got.contents.at(-2);
    assert.equal(modelTurn.role, 'model');
    const fcs = modelTurn.parts.filter((p) => p.functionCall);
    assert.deepEqual(fcs.map((p) => p.functionCall), CALLS.map((c) => ({ name: c.name, args: c.input })));
    for (const p of fcs) assert.match(p.thoughtSignature, /^sig-get_/, 'Gemini 3 thought signature replayed');
  } else {
    assert.deepEqual(results, uses.map((u) => ({ id: u.id, content: RESULTS[u.name] })));
  }
  if (d.dialect === 'anthropic') {
    // Thinking blocks are replayed to Anthropic with their signature (required with tool use).
    const replayed = got.messages.at(-2).content;
    assert.deepEqual(replayed.find((b) => b.type === 'thinking'), { type: 'thinking', thinking: THINKING, signature: SIGNATURE });
  }
  return final;
}

// ---------------------------------------------------------------------------------------------
// Per dialect: text, stream, tools, thinking, mid-stream failure
// ---------------------------------------------------------------------------------------------

for (const d of DIALECTS) {
  test(`Anthropic SDK → ${d.dialect} vendor: messages.create returns a Message with the vendor's text and usage`, async () => {
    const { data: msg, response } = await client.messages.create({
      model: d.model, max_tokens: 256, system: 'Be brief.', messages: user('hello'),
    }).withResponse();
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.match(msg.id, /^msg_/);
    assert.deepEqual(msg.content, [{ type: 'text', text: `${d.id} says hello` }]);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.stop_sequence, null);
    assert.equal(msg.usage.output_tokens, 3);
    assert.ok(msg.usage.input_tokens > 0, JSON.stringify(msg.usage));
    assert.equal(response.headers.get('x-lingmo-provider'), d.id);
    const st = await stack.vendor(d.vendor).stats();
    assert.equal(st.requests, 1);
    if (d.dialect === 'gemini') {
      assert.match(st.last_request.url, /\/models\/gemini-3-flash:generateContent$/);
      assert.deepEqual(st.last_request.body.systemInstruction, { parts: [{ text: 'Be brief.' }] });
    } else {
      assert.equal(st.last_request.body.model, d.upstream);
      if (d.dialect === 'openai') assert.deepEqual(st.last_request.body.messages[0], { role: 'system', content: 'Be brief.' });
      else assert.equal(st.last_request.body.system, 'Be brief.');
    }
  });

  test(`Anthropic SDK → ${d.dialect} vendor: messages.stream emits text events and a finalMessage`, async () => {
    const text = 'The quick brown fox jumps over the lazy dog';
    await stack.vendor(d.vendor).mode({ ...scripted(d, { text }), delay_ms: 5 });
    const stream = client.messages.stream({ model: d.model, max_tokens: 256, messages: user('tell me') });
    const deltas = [];
    const events = [];
    stream.on('text', (delta, snapshot) => {
      deltas.push(delta);
      assert.equal(snapshot, deltas.join(''), 'the snapshot is the text so far');
    });
    stream.on('streamEvent', (e) => events.push(e.type));
    const final = await stream.finalMessage();
    assert.ok(deltas.length >= 2, `text arrives in pieces: ${JSON.stringify(deltas)}`);
    assert.equal(deltas.join(''), text);
    assert.equal(await stream.finalText(), text);
    assert.deepEqual(final.content, [{ type: 'text', text }]);
    assert.equal(final.stop_reason, 'end_turn');
    assert.ok(final.usage.output_tokens > 0 && final.usage.input_tokens > 0, JSON.stringify(final.usage));
    assert.equal(events[0], 'message_start');
    assert.equal(events.at(-1), 'message_stop');
    assert.equal(events.at(-2), 'message_delta');
    assert.equal(events.filter((e) => e === 'content_block_start').length, 1);
    const { response } = await stream.withResponse();
    assert.equal(response.headers.get('x-lingmo-provider'), d.id);
    assert.match(response.headers.get('content-type'), /^text\/event-stream/);
  });

  test(`Anthropic SDK → ${d.dialect} vendor: two parallel tool calls (non-stream), then the tool_result turn`, async () => {
    const question = 'Weather and time in Oslo?';
    await stack.vendor(d.vendor).mode(scripted(d, { thinking: THINKING, text: 'Checking both.', calls: CALLS, times: 1 }));
    const msg = await client.messages.create({ model: d.model, max_tokens: 1024, tools: TOOLS, messages: user(question) });
    assert.equal(msg.stop_reason, 'tool_use');
    assert.deepEqual(msg.content.map((b) => b.type), ['thinking', 'text', 'tool_use', 'tool_use']);
    assert.equal(msg.content[1].text, 'Checking both.');
    const uses = assertToolUse(d, msg.content);
    // The vendor got the tools in its own dialect.
    const got = (await stack.vendor(d.vendor).stats()).last_request.body;
    const names = d.dialect === 'openai' ? got.tools.map((t) => t.function.name)
      : d.dialect === 'anthropic' ? got.tools.map((t) => t.name) : got.tools[0].functionDeclarations.map((f) => f.name);
    assert.deepEqual(names, ['get_weather', 'get_time']);
    await followUp(d, question, msg.content, uses);
  });

  test(`Anthropic SDK → ${d.dialect} vendor: two parallel tool calls in a stream (input_json), then the tool_result turn`, async () => {
    const question = 'Weather and time in Oslo?';
    await stack.vendor(d.vendor).mode(scripted(d, { thinking: THINKING, text: 'Checking both.', calls: CALLS, times: 1 }));
    const stream = client.messages.stream({ model: d.model, max_tokens: 1024, tools: TOOLS, messages: user(question) });
    const json = [];
    const blocks = [];
    stream.on('inputJson', (partial) => json.push(partial));
    stream.on('contentBlock', (b) => blocks.push(b.type));
    const final = await stream.finalMessage();
    assert.equal(final.stop_reason, 'tool_use');
    assert.deepEqual(blocks, ['thinking', 'text', 'tool_use', 'tool_use']);
    assert.deepEqual(final.content.map((b) => b.type), ['thinking', 'text', 'tool_use', 'tool_use']);
    const uses = assertToolUse(d, final.content);
    assert.equal(json.join(''), CALLS.map((c) => JSON.stringify(c.input)).join(''), 'input_json_delta fragments concatenate to the inputs');
    await followUp(d, question, final.content, uses, { stream: true });
  });

  test(`Anthropic SDK → ${d.dialect} vendor: the vendor's reasoning arrives as thinking blocks (create and stream)`, async () => {
    await stack.vendor(d.vendor).mode(scripted(d, { thinking: THINKING, text: 'Two facts.', times: 2 }));
    const msg = await client.messages.create({
      model: d.model, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: user('think first'),
    });
    assert.deepEqual(msg.content.map((b) => b.type), ['thinking', 'text']);
    assert.equal(msg.content[0].thinking, THINKING);
    assert.equal(typeof msg.content[0].signature, 'string');
    if (d.dialect === 'anthropic') assert.equal(msg.content[0].signature, SIGNATURE);
    assert.equal(msg.content[1].text, 'Two facts.');

    const stream = client.messages.stream({
      model: d.model, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: user('think first'),
    });
    const thoughts = [];
    const texts = [];
    stream.on('thinking', (delta) => thoughts.push(delta));
    stream.on('text', (delta) => {
      assert.equal(thoughts.join(''), THINKING, 'all thinking comes before the text');
      texts.push(delta);
    });
    const final = await stream.finalMessage();
    assert.ok(thoughts.length >= 2, JSON.stringify(thoughts));
    assert.equal(thoughts.join(''), THINKING);
    assert.equal(texts.join(''), 'Two facts.');
    assert.deepEqual(final.content.map((b) => b.type), ['thinking', 'text']);
    assert.equal(final.content[0].thinking, THINKING);
    if (d.dialect === 'anthropic') assert.equal(final.content[0].signature, SIGNATURE);
  });

  test(`Anthropic SDK → ${d.dialect} vendor: a stream cut after it started raises an error in the SDK stream`, async () => {
    const v = stack.vendor(d.vendor);
    await v.mode({ mode: 'reset_mid_stream', chunks: 3, delay_ms: 40 });
    const stream = client.messages.stream({ model: d.model, max_tokens: 256, messages: user('hello') });
    const deltas = [];
    const events = [];
    let emitted = null;
    stream.on('text', (delta) => deltas.push(delta));
    stream.on('streamEvent', (e) => events.push(e.type));
    stream.on('error', (e) => { emitted = e; });
    await assert.rejects(stream.finalMessage(), (e) => {
      assert.ok(e instanceof Anthropic.APIError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.type, 'api_error');
      assert.equal(e.error?.type, 'error');
      assert.match(e.message, /upstream stream failed after it had started/);
      assert.match(e.message, new RegExp(`${d.id} \\(`));
      return true;
    });
    assert.ok(emitted instanceof Anthropic.APIError, 'the stream emitted the error too');
    assert.equal(deltas.length, 3, `the text before the cut reached the client: ${JSON.stringify(deltas)}`);
    assert.match(deltas.join(''), new RegExp(`^\\s*${d.id}-\\w+-0\\s*${d.id}-\\w+-1\\s*${d.id}-\\w+-2\\s*$`));
    assert.ok(!events.includes('message_stop'), events.join(','));
    assert.equal((await v.stats()).requests, 1, 'no retry once the stream was committed');
  });
}

test('Anthropic SDK → anthropic vendor: an error event mid-stream raises an error in the SDK stream', async () => {
  await stack.vendor(2).mode({ mode: 'error_mid_stream', chunks: 2, delay_ms: 30 });
  const stream = client.messages.stream({ model: 'to-anthropic', max_tokens: 256, messages: user('hello') });
  const deltas = [];
  stream.on('text', (delta) => deltas.push(delta));
  stream.on('error', () => {});
  await assert.rejects(stream.finalMessage(), (e) => {
    assert.ok(e instanceof Anthropic.APIError, `${e.constructor.name}: ${e.message}`);
    assert.ok(['api_error', 'overloaded_error'].includes(e.type), e.type);
    assert.match(e.message, /Overloaded/);
    return true;
  });
  assert.equal(deltas.length, 2);
});

// Vendor usage with cached input, in each vendor's terms: 40 prompt tokens of which 32 cached
// (Anthropic: 8 uncached + 30 read + 2 written), 12 output tokens.
const CACHED_USAGE = {
  openai: { prompt_tokens: 40, completion_tokens: 12, cached_tokens: 32 },
  anthropic: { input_tokens: 8, output_tokens: 12, cache_read_input_tokens: 30, cache_creation_input_tokens: 2 },
  gemini: { promptTokenCount: 40, candidatesTokenCount: 12, cachedContentTokenCount: 32, totalTokenCount: 52 },
};

for (const d of DIALECTS) {
  test(`Anthropic SDK → ${d.dialect} vendor: usage with cached input maps to input/cache_read/cache_creation/output`, async () => {
    await stack.vendor(d.vendor).mode({ mode: 'answer', times: 2, answer: { text: 'From the cache.', usage: CACHED_USAGE[d.dialect] } });
    const want = d.dialect === 'anthropic'
      ? { input_tokens: 8, cache_creation_input_tokens: 2, cache_read_input_tokens: 30, output_tokens: 12 }
      : { input_tokens: 8, cache_creation_input_tokens: 0, cache_read_input_tokens: 32, output_tokens: 12 };
    const msg = await client.messages.create({ model: d.model, max_tokens: 64, messages: user('hello') });
    assert.deepEqual(pick(msg.usage, Object.keys(want)), want);
    const final = await client.messages.stream({ model: d.model, max_tokens: 64, messages: user('hello') }).finalMessage();
    assert.deepEqual(pick(final.usage, Object.keys(want)), want);
    assert.equal(final.content[0].text, 'From the cache.');
  });
}

// A vendor's "cut at the token limit" and "filtered", in its own terms.
const STOPS = {
  openai: { length: { finish_reason: 'length' }, filtered: { finish_reason: 'content_filter' } },
  anthropic: { length: { stop_reason: 'max_tokens' }, filtered: { stop_reason: 'refusal' } },
  gemini: { length: { finish_reason: 'MAX_TOKENS' }, filtered: { finish_reason: 'SAFETY' } },
};

for (const d of DIALECTS) {
  test(`Anthropic SDK → ${d.dialect} vendor: stop reasons max_tokens and refusal (create and stream)`, async () => {
    for (const [kind, want] of [['length', 'max_tokens'], ['filtered', 'refusal']]) {
      await stack.vendor(d.vendor).mode({ mode: 'answer', times: 2, answer: { text: 'cut off here', ...STOPS[d.dialect][kind] } });
      const msg = await client.messages.create({ model: d.model, max_tokens: 3, messages: user('hello') });
      assert.equal(msg.stop_reason, want, `${kind}: ${msg.stop_reason}`);
      assert.equal(msg.content[0].text, 'cut off here');
      const final = await client.messages.stream({ model: d.model, max_tokens: 3, messages: user('hello') }).finalMessage();
      assert.equal(final.stop_reason, want, `${kind} (stream): ${final.stop_reason}`);
    }
  });
}

function pick(o, keys) {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

for (const d of DIALECTS) {
  test(`Anthropic SDK → ${d.dialect} vendor: stream.abort() ends the vendor call too`, async () => {
    const v = stack.vendor(d.vendor);
    await v.mode({ mode: 'normal', chunks: 30, delay_ms: 100 });
    const stream = client.messages.stream({ model: d.model, max_tokens: 256, messages: user('hello') });
    let n = 0;
    stream.on('text', () => { if (++n === 2) stream.abort(); });
    stream.on('error', () => {});
    await assert.rejects(stream.finalMessage(), (e) => e instanceof Anthropic.APIUserAbortError);
    assert.equal(n, 2);
    // The gateway cancels the vendor call instead of reading the remaining ~3 s of stream.
    await waitFor(async () => (await v.stats()).aborted === 1, { timeout: 2000, what: `${d.id} to see the call aborted` });
  });
}

test('Anthropic SDK: 24 concurrent streams over the three dialects each get their own answer', async () => {
  for (const d of DIALECTS) await stack.vendor(d.vendor).mode({ mode: 'normal', chunks: 4, delay_ms: 15 });
  const jobs = Array.from({ length: 24 }, async (_, k) => {
    const d = DIALECTS[k % 3];
    const text = await client.messages.stream({ model: d.model, max_tokens: 64, messages: user(`echo:job ${k} of 24`) }).finalText();
    // The OpenAI fake streams its chunks after the echo; the others answer the echo alone.
    const tail = d.dialect === 'openai' ? 'v1-chunk-0 v1-chunk-1 v1-chunk-2 v1-chunk-3 ' : '';
    assert.equal(text, `job ${k} of 24${tail}`, `job ${k} via ${d.model}`);
  });
  await Promise.all(jobs);
  for (const d of DIALECTS) assert.equal((await stack.vendor(d.vendor).stats()).requests, 8);
});

// ---------------------------------------------------------------------------------------------
// Token counting, auth, models, failover, errors
// ---------------------------------------------------------------------------------------------

for (const d of DIALECTS) {
  test(`Anthropic SDK → ${d.dialect} vendor: messages.countTokens is positive and grows with the input`, async () => {
    const count = (body) => client.messages.countTokens({ model: d.model, ...body }).withResponse();
    const small = await count({ messages: user('hi') });
    const medium = await count({ messages: user('hi '.repeat(100)) });
    const big = await count({ system: 'You are a meticulous assistant.', tools: TOOLS, messages: user('hi '.repeat(400)) });
    for (const r of [small, medium, big]) {
      assert.equal(typeof r.data.input_tokens, 'number');
      assert.ok(Number.isInteger(r.data.input_tokens), JSON.stringify(r.data));
    }
    assert.ok(small.data.input_tokens > 0, JSON.stringify(small.data));
    assert.ok(medium.data.input_tokens > small.data.input_tokens + 20, `${small.data.input_tokens} → ${medium.data.input_tokens}`);
    assert.ok(big.data.input_tokens > medium.data.input_tokens + 50, `${medium.data.input_tokens} → ${big.data.input_tokens}`);
    const st = await stack.vendor(d.vendor).stats();
    assert.equal(st.requests, 0, 'counting never runs a generation');
    if (d.dialect === 'anthropic') {
      // Forwarded to the Anthropic vendor, which counts ceil(len(body)/4).
      assert.equal(st.count_tokens_requests, 3);
      assert.equal(st.last_count_tokens_request.body.model, 'm-v2');
      assert.equal(big.data.input_tokens, Math.ceil(JSON.stringify(st.last_count_tokens_request.body).length / 4));
      assert.equal(big.response.headers.get('x-lingmo-count'), null);
    } else {
      assert.equal(big.response.headers.get('x-lingmo-count'), 'estimate');
    }
  });
}

test('Anthropic SDK: the gateway key works as apiKey, as authToken (Bearer) and as a bare x-api-key header', async () => {
  // SDK 1.14 sends `apiKey` as Authorization: Bearer (older SDKs and Claude Code's
  // ANTHROPIC_API_KEY send x-api-key), `authToken` as Bearer; the third client sends only x-api-key.
  const byKey = recordingClient({ apiKey: stack.key });
  const byToken = recordingClient({ apiKey: null, authToken: stack.key });
  const byHeader = recordingClient({ apiKey: null, authToken: null, defaultHeaders: { 'X-Api-Key': stack.key } });
  for (const { client: c, sent } of [byKey, byToken, byHeader]) {
    const msg = await c.messages.create({ model: 'to-openai', max_tokens: 64, messages: user('hello') });
    assert.equal(msg.content[0].text, 'v1 says hello');
    const n = await c.messages.countTokens({ model: 'to-anthropic', messages: user('hello') });
    assert.ok(n.input_tokens > 0);
    const stream = c.messages.stream({ model: 'to-gemini', max_tokens: 64, messages: user('hello') });
    assert.equal(await stream.finalText(), 'v3 says hello');
    const models = await c.models.list();
    assert.ok(models.data.some((m) => m.id === 'to-gemini'));
    assert.equal(sent.length, 4);
    for (const s of sent) assert.ok(s.headers.get('anthropic-version'), 'the SDK sends anthropic-version');
  }
  for (const s of byKey.sent) {
    assert.ok(s.headers.get('x-api-key') === stack.key || s.headers.get('authorization') === `Bearer ${stack.key}`,
      [...s.headers.keys()].join(','));
  }
  for (const s of byToken.sent) {
    assert.equal(s.headers.get('authorization'), `Bearer ${stack.key}`);
    assert.equal(s.headers.get('x-api-key'), null);
  }
  for (const s of byHeader.sent) {
    assert.equal(s.headers.get('x-api-key'), stack.key);
    assert.equal(s.headers.get('authorization'), null);
  }
  // The gateway key never reaches a vendor: each one sees only its own key.
  const h1 = (await stack.vendor(1).stats()).last_request.headers;
  const h2 = (await stack.vendor(2).stats()).last_count_tokens_request.headers;
  const h3 = (await stack.vendor(3).stats()).last_request.headers;
  assert.equal(h1.authorization, 'Bearer sk-v1');
  assert.equal(h2['x-api-key'], 'sk-v2');
  assert.equal(h3['x-goog-api-key'], 'sk-v3');
  for (const h of [h1, h2, h3]) assert.ok(!JSON.stringify(h).includes(stack.key), JSON.stringify(h));
});

test('Anthropic SDK: a wrong key, as Bearer or as x-api-key, throws AuthenticationError (401 authentication_error)', async () => {
  for (const opts of [{ apiKey: 'lm-wrong-key-000000000000' }, { apiKey: null, authToken: 'lm-wrong-key-000000000000' },
    { apiKey: null, authToken: null, defaultHeaders: { 'X-Api-Key': 'lm-wrong-key-000000000000' } }]) {
    const bad = anthropic(opts);
    await assert.rejects(bad.messages.create({ model: 'to-openai', max_tokens: 64, messages: user('hello') }), (e) => {
      assert.ok(e instanceof Anthropic.AuthenticationError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, 401);
      assert.equal(e.type, 'authentication_error');
      assert.equal(e.error.type, 'error');
      assert.ok(!e.message.includes('lm-wrong-key-000000000000'), 'the key is masked');
      return true;
    });
  }
  for (const i of [1, 2, 3]) assert.equal((await stack.vendor(i).stats()).requests, 0);
});

test('Anthropic SDK: models.list() returns the gateway\'s models in Anthropic\'s shape', async () => {
  for (const c of [client, anthropic({ apiKey: null, authToken: stack.key })]) {
    const models = [];
    for await (const m of c.models.list()) models.push(m);
    assert.deepEqual(models.map((m) => m.id).sort(), [...ALL_MODELS].sort());
    for (const m of models) {
      assert.equal(m.type, 'model');
      assert.equal(typeof m.display_name, 'string');
      assert.ok(m.display_name.length > 0);
      assert.ok(!Number.isNaN(Date.parse(m.created_at)), m.created_at);
      assert.equal(m.object, undefined, 'not the OpenAI shape');
    }
    const page = await c.models.list();
    assert.equal(page.has_more, false);
    assert.equal(page.first_id, page.data[0].id);
    assert.equal(page.last_id, page.data.at(-1).id);
  }
});

test('Anthropic SDK: a provider out of quota is invisible (failover across dialects, create and stream)', async () => {
  await stack.vendor(1).mode('429');  // OpenAI insufficient_quota: v1 is parked
  const { data: msg, response } = await client.messages.create({ model: 'gpt-test', max_tokens: 64, messages: user('hello') }).withResponse();
  assert.deepEqual(msg.content, [{ type: 'text', text: 'v2 says hello' }]);
  assert.equal(response.headers.get('x-lingmo-attempts'), 'v1=429;v2=ok');

  await stack.vendor(2).mode('quota');  // Anthropic billing_error: v2 is parked too
  const stream = client.messages.stream({ model: 'gpt-test', max_tokens: 64, messages: user('hello') });
  const final = await stream.finalMessage();
  assert.deepEqual(final.content, [{ type: 'text', text: 'v3 says hello' }]);
  assert.equal((await stream.withResponse()).response.headers.get('x-lingmo-provider'), 'v3');
  assert.equal((await stack.vendor(1).stats()).requests, 1, 'parked v1 was not asked again');
  assert.equal((await stack.vendor(2).stats()).requests, 2);
});

async function exhaustAll() {
  await stack.vendor(1).mode('429');    // OpenAI: insufficient_quota
  await stack.vendor(2).mode('quota');  // Anthropic: 402 billing_error
  await stack.vendor(3).mode('quota');  // Gemini: 429 RESOURCE_EXHAUSTED, daily quota
}

function isBillingError(e) {
  assert.ok(e instanceof Anthropic.PaymentRequiredError, `${e.constructor.name}: ${e.message}`);
  assert.equal(e.status, 402);
  assert.equal(e.type, 'billing_error');
  assert.equal(e.error.type, 'error');
  assert.equal(e.error.error.type, 'billing_error');
  return true;
}

test('Anthropic SDK: every provider out of quota throws PaymentRequiredError (402 billing_error), create and stream', async () => {
  await exhaustAll();
  await assert.rejects(client.messages.create({ model: 'gpt-test', max_tokens: 64, messages: user('hello') }), (e) => {
    isBillingError(e);
    assert.match(e.message, /v1.*v2.*v3/s, 'the message names every provider tried');
    return true;
  });
  for (const i of [1, 2, 3]) assert.equal((await stack.vendor(i).stats()).requests, 1, 'maxRetries 0: one attempt each');

  await stack.resetVendors();
  await exhaustAll();
  const stream = client.messages.stream({ model: 'gpt-test', max_tokens: 64, messages: user('hello') });
  stream.on('error', () => {});
  await assert.rejects(stream.finalMessage(), isBillingError);
});

// ---------------------------------------------------------------------------------------------
// Behaviours of the project's reference (shared/reference/vendors.md 4.5, 6.2) for Anthropic
// clients. These failed against the gateway when they were written; see the report.
// ---------------------------------------------------------------------------------------------

test('Anthropic SDK: while every provider stays parked for quota, the next request is still a 402 billing_error', async () => {
  await exhaustAll();
  await assert.rejects(client.messages.create({ model: 'gpt-test', max_tokens: 64, messages: user('hello') }), isBillingError);
  // All three are parked now: nothing is tried, but the cause is still the quota — not
  // "overloaded" (529), which the SDK and Claude Code would retry.
  // (Parks reach the other nginx worker through Redis pub/sub within milliseconds: wait for that.)
  await new Promise((r) => setTimeout(r, 300));
  await assert.rejects(client.messages.create({ model: 'gpt-test', max_tokens: 64, messages: user('hello') }), isBillingError);
  for (const i of [1, 2, 3]) assert.equal((await stack.vendor(i).stats()).requests, 1, 'parked providers are not asked');
});

test('Anthropic SDK: a vendor overloaded (529 / 503 UNAVAILABLE) surfaces as OverloadedError 529 overloaded_error', async () => {
  for (const [i, model, mode] of [[2, 'to-anthropic', '529'], [3, 'to-gemini', '503']]) {
    await stack.resetVendors();
    await stack.vendor(i).mode(mode);
    await assert.rejects(client.messages.create({ model, max_tokens: 64, messages: user('hello') }), (e) => {
      assert.equal(e.status, 529, `${model}: ${e.status} ${e.message}`);
      assert.ok(e instanceof Anthropic.OverloadedError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.type, 'overloaded_error');
      return true;
    });
  }
});

test('Anthropic SDK: a rate limit surfaces as RateLimitError 429 with retry-after, also while the provider cools down', async () => {
  await stack.vendor(2).mode({ mode: '429', retry_after: 2 });  // rate_limit_error, retry-after: 2
  const check = (e) => {
    assert.ok(e instanceof Anthropic.RateLimitError, `${e.constructor.name}: ${e.status} ${e.message}`);
    assert.equal(e.type, 'rate_limit_error');
    const ra = e.headers.get('retry-after');
    assert.ok(ra !== null && Number(ra) >= 1 && Number(ra) <= 2, `retry-after: ${ra}`);
    return true;
  };
  await assert.rejects(client.messages.create({ model: 'to-anthropic', max_tokens: 64, messages: user('hello') }), check);
  // v2 now cools down for the vendor's 2 s: the cause is still a rate limit. (The cooldown reaches
  // the other nginx worker through Redis pub/sub: give it a moment.)
  await new Promise((r) => setTimeout(r, 300));
  await assert.rejects(client.messages.create({ model: 'to-anthropic', max_tokens: 64, messages: user('hello') }), check);
  assert.equal((await stack.vendor(2).stats()).requests, 1);
});

test('Anthropic SDK: answers and errors carry a request-id (message._request_id, error.requestID)', async () => {
  const msg = await client.messages.create({ model: 'to-openai', max_tokens: 64, messages: user('hello') });
  assert.equal(typeof msg._request_id, 'string', `request-id header: ${msg._request_id}`);
  assert.ok(msg._request_id.length > 0);
  await assert.rejects(client.messages.create({ model: 'no-such-model', max_tokens: 64, messages: user('hello') }), (e) => {
    assert.ok(e instanceof Anthropic.NotFoundError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.type, 'not_found_error');
    assert.equal(typeof e.requestID, 'string', `request-id header: ${e.requestID}`);
    return true;
  });
});
