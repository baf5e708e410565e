// End-to-end: the official OpenAI Node SDK against providers of every vendor dialect behind
// LingMo Gateway — Chat Completions with parallel tool calls (stream and not, and the manual
// tool loop), the Responses API (create, stream helper, create({stream:true})), and embeddings.
// Model `to-openai` is served by an OpenAI-dialect fake (v1), `to-anthropic` by an
// Anthropic-dialect fake (v2), `to-gemini` by a Gemini-dialect fake (v3); `gpt-test` by all three.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack, request } from '../integration/harness.mjs';

const DIALECTS = [
  { dialect: 'openai', model: 'to-openai', vendor: 1, id: 'v1', upstream: 'm-v1' },
  { dialect: 'anthropic', model: 'to-anthropic', vendor: 2, id: 'v2', upstream: 'm-v2' },
  { dialect: 'gemini', model: 'to-gemini', vendor: 3, id: 'v3', upstream: 'gemini-3-flash' },
];

let stack;
let client;

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
  client = new OpenAI({ apiKey: stack.key, baseURL: `http://127.0.0.1:${stack.gatewayPort}/v1`, maxRetries: 0, timeout: 20000 });
});
after(async () => { await stack?.stop(); });
beforeEach(async () => { await stack.resetVendors(); });
afterEach(() => { stack.checkLog(); });

// ---------------------------------------------------------------------------------------------
// Scripted vendor answers (tests/fakes/README.md, mode "answer") and the tools
// ---------------------------------------------------------------------------------------------

const CALLS = [
  { name: 'get_weather', input: { city: 'Oslo', days: 2, units: 'metric' } },
  { name: 'get_time', input: { tz: 'Europe/Oslo' } },
];
const PARAMS = {
  get_weather: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' }, units: { type: 'string' } }, required: ['city'] },
  get_time: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] },
};
const CHAT_TOOLS = CALLS.map((c) => ({ type: 'function', function: { name: c.name, description: `the ${c.name} tool`, parameters: PARAMS[c.name] } }));
const RESPONSES_TOOLS = CALLS.map((c) => ({ type: 'function', name: c.name, description: `the ${c.name} tool`, parameters: PARAMS[c.name], strict: false }));
const RESULTS = { get_weather: 'Sunny, 21 °C', get_time: '14:05' };
const REASONING = 'The user wants two facts. I should call both tools at once.';
const FINAL = 'Sunny and 21 °C in Oslo; it is 14:05.';

const vendorCallId = (d, k) => ({ openai: `call_e2e_${k}`, anthropic: `toolu_e2e_${k}` })[d.dialect];

function scripted(d, { reasoning, text, calls = [], times } = {}) {
  const a = {};
  if (d.dialect === 'openai') {
    if (reasoning) a.reasoning = reasoning;
    if (text) a.text = text;
    if (calls.length) a.tool_calls = calls.map((c, k) => ({ id: vendorCallId(d, k), name: c.name, arguments: c.input }));
  } else if (d.dialect === 'anthropic') {
    if (reasoning) Object.assign(a, { thinking: reasoning, signature: 'sig-e2e' });
    if (text) a.text = text;
    if (calls.length) a.tool_calls = calls.map((c, k) => ({ id: vendorCallId(d, k), name: c.name, input: c.input }));
  } else {
    if (reasoning) a.thoughts = reasoning;
    if (text) a.text = text;
    if (calls.length) a.function_calls = calls.map((c) => ({ name: c.name, args: c.input }));
  }
  return { mode: 'answer', answer: a, ...(times ? { times } : {}) };
}

// Checks [{id, name, arguments}] (arguments a JSON string) against CALLS.
function assertCalls(d, calls) {
  assert.equal(calls.length, 2, JSON.stringify(calls));
  calls.forEach((c, k) => {
    assert.equal(c.name, CALLS[k].name);
    assert.equal(typeof c.arguments, 'string');
    assert.deepEqual(JSON.parse(c.arguments), CALLS[k].input);
    assert.equal(typeof c.id, 'string');
    assert.ok(c.id.length > 0);
    if (vendorCallId(d, k)) assert.equal(c.id, vendorCallId(d, k), 'the vendor\'s call id is passed through');
  });
  assert.notEqual(calls[0].id, calls[1].id);
}

// The tool results as the vendor received them: [{ id?, name?, content }].
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

async function assertVendorGotResults(d, calls) {
  const got = (await stack.vendor(d.vendor).stats()).last_request.body;
  const results = toolResultsAtVendor(d, got);
  if (d.dialect === 'gemini') {
    assert.deepEqual(results, calls.map((c) => ({ name: c.name, content: RESULTS[c.name] })));
    const modelTurn = got.contents.at(-2);
    assert.equal(modelTurn.role, 'model');
    const fcs = modelTurn.parts.filter((p) => p.functionCall);
    assert.deepEqual(fcs.map((p) => p.functionCall), CALLS.map((c) => ({ name: c.name, args: c.input })));
    for (const p of fcs) assert.match(p.thoughtSignature, /^sig-get_/, 'Gemini 3 thought signature replayed from the call id');
  } else {
    assert.deepEqual(results, calls.map((c) => ({ id: c.id, content: RESULTS[c.name] })));
  }
}

const question = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Weather and time in Oslo?' }];

// ---------------------------------------------------------------------------------------------
// Chat Completions with tools
// ---------------------------------------------------------------------------------------------

for (const d of DIALECTS) {
  test(`OpenAI SDK chat → ${d.dialect} vendor: parallel tool calls (non-stream), then the manual tool loop`, async () => {
    const v = stack.vendor(d.vendor);
    await v.mode(scripted(d, { reasoning: REASONING, text: 'Checking both.', calls: CALLS, times: 1 }));
    const { data: completion, response } = await client.chat.completions.create({
      model: d.model, messages: question, tools: CHAT_TOOLS, tool_choice: 'auto',
    }).withResponse();
    assert.equal(response.headers.get('x-lingmo-provider'), d.id);
    assert.equal(completion.object, 'chat.completion');
    const choice = completion.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.role, 'assistant');
    assert.equal(choice.message.content, 'Checking both.');
    assert.equal(choice.message.reasoning_content, REASONING, 'the vendor\'s reasoning as reasoning_content');
    for (const tc of choice.message.tool_calls) assert.equal(tc.type, 'function');
    const calls = choice.message.tool_calls.map((tc) => ({ id: tc.id, name: tc.function.name, arguments: tc.function.arguments }));
    assertCalls(d, calls);
    const u = completion.usage;
    assert.ok(u.prompt_tokens > 0 && u.completion_tokens > 0, JSON.stringify(u));
    assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);

    // The vendor got the tools in its own dialect, and the system prompt where it belongs.
    const got = (await v.stats()).last_request.body;
    if (d.dialect === 'anthropic') {
      assert.deepEqual(got.tools.map((t) => t.name), ['get_weather', 'get_time']);
      assert.deepEqual(got.tools[0].input_schema, PARAMS.get_weather);
      assert.equal(got.system, 'Be brief.');
    } else if (d.dialect === 'gemini') {
      assert.deepEqual(got.tools[0].functionDeclarations.map((f) => f.name), ['get_weather', 'get_time']);
      assert.deepEqual(got.systemInstruction, { parts: [{ text: 'Be brief.' }] });
    } else {
      assert.deepEqual(got.tools.map((t) => t.function.name), ['get_weather', 'get_time']);
    }

    // The loop an application writes without runTools: the assistant message as it came back,
    // one tool message per call, and a final answer.
    await v.mode(scripted(d, { text: FINAL, times: 1 }));
    const followUp = await client.chat.completions.create({
      model: d.model, tools: CHAT_TOOLS,
      messages: [...question, choice.message,
        ...calls.map((c) => ({ role: 'tool', tool_call_id: c.id, content: RESULTS[c.name] }))],
    });
    assert.equal(followUp.choices[0].finish_reason, 'stop');
    assert.equal(followUp.choices[0].message.content, FINAL);
    assert.equal(followUp.choices[0].message.tool_calls ?? undefined, undefined);
    await assertVendorGotResults(d, calls);
  });

  test(`OpenAI SDK chat → ${d.dialect} vendor: parallel tool calls in a stream (chunks and the stream helper), then the tool loop`, async () => {
    const v = stack.vendor(d.vendor);
    // Raw chunks: tool_calls fragments by index, the first one with id and name.
    await v.mode(scripted(d, { reasoning: REASONING, text: 'Checking both.', calls: CALLS, times: 1 }));
    const stream = await client.chat.completions.create({
      model: d.model, messages: question, tools: CHAT_TOOLS, stream: true, stream_options: { include_usage: true },
    });
    const acc = [];
    let content = '';
    let reasoning = '';
    let finish = null;
    const usage = [];
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.usage) usage.push(chunk.usage);
      const c = chunk.choices[0];
      if (!c) continue;
      content += c.delta?.content ?? '';
      reasoning += c.delta?.reasoning_content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
      for (const tc of c.delta?.tool_calls ?? []) {
        if (!acc[tc.index]) {
          assert.ok(tc.id && tc.function?.name, `the first fragment of call ${tc.index} has id and name: ${JSON.stringify(tc)}`);
          acc[tc.index] = { id: tc.id, name: tc.function.name, arguments: '' };
        }
        acc[tc.index].arguments += tc.function?.arguments ?? '';
      }
    }
    assert.equal(finish, 'tool_calls');
    assert.equal(content, 'Checking both.');
    assert.equal(reasoning, REASONING);
    assertCalls(d, acc);
    assert.equal(usage.length, 1, 'one usage chunk, as asked');
    assert.equal(usage[0].total_tokens, usage[0].prompt_tokens + usage[0].completion_tokens);

    // The SDK's stream helper assembles the same calls; no usage chunk when not asked.
    await v.mode(scripted(d, { reasoning: REASONING, text: 'Checking both.', calls: CALLS, times: 1 }));
    const helper = client.chat.completions.stream({ model: d.model, messages: question, tools: CHAT_TOOLS });
    const argsDone = [];
    let sawUsage = false;
    helper.on('tool_calls.function.arguments.done', (e) => argsDone.push(e.name));
    helper.on('chunk', (chunk) => { if (chunk.usage) sawUsage = true; });
    const final = await helper.finalChatCompletion();
    assert.deepEqual(argsDone, ['get_weather', 'get_time']);
    assert.equal(sawUsage, false, 'no usage chunk when the client did not ask');
    const message = final.choices[0].message;
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    assert.equal(message.content, 'Checking both.');
    const calls = message.tool_calls.map((tc) => ({ id: tc.id, name: tc.function.name, arguments: tc.function.arguments }));
    assertCalls(d, calls);
    assert.deepEqual(message.tool_calls.map((tc) => tc.function.parsed_arguments ?? JSON.parse(tc.function.arguments)), CALLS.map((c) => c.input));

    // Tool results back, streamed final answer.
    await v.mode(scripted(d, { text: FINAL, times: 1 }));
    const next = client.chat.completions.stream({
      model: d.model, tools: CHAT_TOOLS,
      messages: [...question, { role: 'assistant', content: message.content, tool_calls: message.tool_calls.map(({ id, type, function: f }) => ({ id, type, function: { name: f.name, arguments: f.arguments } })) },
        ...calls.map((c) => ({ role: 'tool', tool_call_id: c.id, content: RESULTS[c.name] }))],
    });
    const deltas = [];
    next.on('content.delta', (e) => deltas.push(e.delta));
    const answer = await next.finalChatCompletion();
    assert.ok(deltas.length >= 2, JSON.stringify(deltas));
    assert.equal(deltas.join(''), FINAL);
    assert.equal(answer.choices[0].message.content, FINAL);
    assert.equal(answer.choices[0].finish_reason, 'stop');
    await assertVendorGotResults(d, calls);
  });
}

// ---------------------------------------------------------------------------------------------
// Responses API
// ---------------------------------------------------------------------------------------------

function assertResponseUsage(u) {
  assert.ok(u, 'the final response has usage');
  assert.ok(u.input_tokens > 0 && u.output_tokens > 0, JSON.stringify(u));
  assert.equal(u.total_tokens, u.input_tokens + u.output_tokens);
  assert.equal(typeof u.input_tokens_details?.cached_tokens, 'number');
  assert.equal(typeof u.output_tokens_details?.reasoning_tokens, 'number');
}

for (const d of DIALECTS) {
  test(`OpenAI SDK responses → ${d.dialect} vendor: create returns output_text, instructions reach the vendor, usage`, async () => {
    const v = stack.vendor(d.vendor);
    const { data: r, response } = await client.responses.create({
      model: d.model, instructions: 'Be brief.', input: 'hello',
    }).withResponse();
    assert.equal(response.headers.get('x-lingmo-provider'), d.id);
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.match(r.id, /^resp_/);
    assert.equal(r.output_text, `${d.id} says hello`);
    assert.deepEqual(r.output.map((o) => o.type), ['message']);
    assert.deepEqual(r.output[0].content.map((c) => c.type), ['output_text']);
    assertResponseUsage(r.usage);
    assert.equal(r.usage.output_tokens, 3);
    const got = (await v.stats()).last_request.body;
    if (d.dialect === 'openai') assert.deepEqual(got.messages[0], { role: 'system', content: 'Be brief.' });
    else if (d.dialect === 'anthropic') assert.equal(got.system, 'Be brief.');
    else assert.deepEqual(got.systemInstruction, { parts: [{ text: 'Be brief.' }] });
  });

  test(`OpenAI SDK responses → ${d.dialect} vendor: responses.stream delivers text deltas and the final response`, async () => {
    const text = 'The quick brown fox jumps over the lazy dog';
    await stack.vendor(d.vendor).mode({ ...scripted(d, { text }), delay_ms: 5 });
    const stream = client.responses.stream({ model: d.model, input: 'tell me' });
    const deltas = [];
    const types = [];
    const seqs = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    stream.on('event', (e) => { types.push(e.type); seqs.push(e.sequence_number); });
    const final = await stream.finalResponse();
    assert.ok(deltas.length >= 2, JSON.stringify(deltas));
    assert.equal(deltas.join(''), text);
    assert.equal(final.status, 'completed');
    assert.equal(final.output_text, text);
    assertResponseUsage(final.usage);
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.completed');
    assert.deepEqual(seqs, seqs.map((_, i) => i), 'sequence_number counts from 0 without gaps');
  });

  test(`OpenAI SDK responses → ${d.dialect} vendor: function_call items (create and stream), then function_call_output`, async () => {
    const v = stack.vendor(d.vendor);
    await v.mode(scripted(d, { reasoning: REASONING, text: 'Checking both.', calls: CALLS, times: 1 }));
    const input = [{ role: 'user', content: 'Weather and time in Oslo?' }];
    const r = await client.responses.create({ model: d.model, input, tools: RESPONSES_TOOLS });
    assert.equal(r.status, 'completed');
    assert.deepEqual(r.output.map((o) => o.type), ['reasoning', 'message', 'function_call', 'function_call']);
    assert.equal(r.output[0].summary.map((s) => s.text).join(''), REASONING);
    assert.equal(r.output_text, 'Checking both.');
    const fcs = r.output.filter((o) => o.type === 'function_call');
    assertCalls(d, fcs.map((o) => ({ id: o.call_id, name: o.name, arguments: o.arguments })));
    for (const o of fcs) assert.ok(o.id && o.id !== o.call_id, 'item id and call_id are distinct');
    assertResponseUsage(r.usage);

    // The same answer streamed with create({stream:true}): argument deltas per item add up.
    await v.mode(scripted(d, { reasoning: REASONING, text: 'Checking both.', calls: CALLS, times: 1 }));
    const events = [];
    for await (const e of await client.responses.create({ model: d.model, input, tools: RESPONSES_TOOLS, stream: true })) events.push(e);
    assert.equal(events[0].type, 'response.created');
    const done = events.at(-1);
    assert.equal(done.type, 'response.completed');
    const added = events.filter((e) => e.type === 'response.output_item.added' && e.item.type === 'function_call');
    assert.deepEqual(added.map((e) => e.item.name), ['get_weather', 'get_time']);
    for (const a of added) {
      const args = events.filter((e) => e.type === 'response.function_call_arguments.delta' && e.item_id === a.item.id).map((e) => e.delta).join('');
      const argsDone = events.find((e) => e.type === 'response.function_call_arguments.done' && e.item_id === a.item.id);
      assert.equal(args, argsDone.arguments, `deltas of ${a.item.name} add up to its arguments`);
      assert.deepEqual(JSON.parse(args), CALLS.find((c) => c.name === a.item.name).input);
      const itemDone = events.find((e) => e.type === 'response.output_item.done' && e.item.id === a.item.id);
      assert.equal(itemDone.output_index, a.output_index);
      assert.equal(itemDone.item.arguments, args);
    }
    const sfcs = done.response.output.filter((o) => o.type === 'function_call');
    const streamed = sfcs.map((o) => ({ id: o.call_id, name: o.name, arguments: o.arguments }));
    assertCalls(d, streamed);
    assertResponseUsage(done.response.usage);

    // Tool results back: the whole output as input (as the SDK docs show), plus the outputs.
    await v.mode(scripted(d, { text: FINAL, times: 1 }));
    const next = client.responses.stream({
      model: d.model, tools: RESPONSES_TOOLS,
      input: [...input, ...done.response.output,
        ...sfcs.map((o) => ({ type: 'function_call_output', call_id: o.call_id, output: RESULTS[o.name] }))],
    });
    const final = await next.finalResponse();
    assert.equal(final.output_text, FINAL);
    assertResponseUsage(final.usage);
    await assertVendorGotResults(d, streamed);
  });

  test(`OpenAI SDK → ${d.dialect} vendor: a stream cut after it started throws in chat and in responses streams`, async () => {
    const v = stack.vendor(d.vendor);
    await v.mode({ mode: 'reset_mid_stream', chunks: 3, delay_ms: 40 });
    let text = '';
    await assert.rejects((async () => {
      for await (const chunk of await client.chat.completions.create({ model: d.model, messages: question, stream: true })) {
        text += chunk.choices[0]?.delta?.content ?? '';
      }
    })(), (e) => {
      assert.ok(e instanceof OpenAI.APIError, `${e.constructor.name}: ${e.message}`);
      assert.match(e.message, /upstream stream failed after it had started/);
      return true;
    });
    assert.match(text, new RegExp(`^\\s*${d.id}-\\w+-0\\s*${d.id}-\\w+-1\\s*${d.id}-\\w+-2\\s*$`), 'the text before the cut arrived');

    await v.mode({ mode: 'reset_mid_stream', chunks: 3, delay_ms: 40 });
    const stream = client.responses.stream({ model: d.model, input: 'hello' });
    const deltas = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    stream.on('error', () => {});
    await assert.rejects(stream.finalResponse(), (e) => {
      assert.ok(e instanceof OpenAI.OpenAIError, `${e.constructor.name}: ${e.message}`);
      assert.match(e.message, /upstream stream failed after it had started/);
      return true;
    });
    assert.equal(deltas.length, 3);
    assert.equal((await v.stats()).requests, 2, 'no retry once a stream was committed');
  });
}

// Vendor usage with cached input, in each vendor's terms: 40 prompt tokens of which 32 cached
// (Anthropic: 8 uncached + 30 read + 2 written), 12 output tokens.
const CACHED_USAGE = {
  openai: { prompt_tokens: 40, completion_tokens: 12, cached_tokens: 32 },
  anthropic: { input_tokens: 8, output_tokens: 12, cache_read_input_tokens: 30, cache_creation_input_tokens: 2 },
  gemini: { promptTokenCount: 40, candidatesTokenCount: 12, cachedContentTokenCount: 32, totalTokenCount: 52 },
};

for (const d of DIALECTS) {
  test(`OpenAI SDK → ${d.dialect} vendor: usage with cached input, in chat and responses, stream and not`, async () => {
    await stack.vendor(d.vendor).mode({ mode: 'answer', times: 4, answer: { text: 'From the cache.', usage: CACHED_USAGE[d.dialect] } });
    const cached = d.dialect === 'anthropic' ? 30 : 32;
    const chat = await client.chat.completions.create({ model: d.model, messages: question });
    assert.deepEqual(chat.usage, { prompt_tokens: 40, completion_tokens: 12, total_tokens: 52, prompt_tokens_details: { cached_tokens: cached } });
    let streamed;
    for await (const c of await client.chat.completions.create({ model: d.model, messages: question, stream: true, stream_options: { include_usage: true } })) {
      if (c.usage) streamed = c.usage;
    }
    assert.deepEqual(streamed, chat.usage);
    const want = { input_tokens: 40, input_tokens_details: { cached_tokens: cached }, output_tokens: 12, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 52 };
    const r = await client.responses.create({ model: d.model, input: 'hello' });
    assert.deepEqual(r.usage, want);
    const rs = await client.responses.stream({ model: d.model, input: 'hello' }).finalResponse();
    assert.deepEqual(rs.usage, want);
    assert.equal(rs.output_text, 'From the cache.');
  });
}

// A vendor's "cut at the token limit" and "filtered", in its own terms.
const STOPS = {
  openai: { length: { finish_reason: 'length' }, filtered: { finish_reason: 'content_filter' } },
  anthropic: { length: { stop_reason: 'max_tokens' }, filtered: { stop_reason: 'refusal' } },
  gemini: { length: { finish_reason: 'MAX_TOKENS' }, filtered: { finish_reason: 'SAFETY' } },
};

for (const d of DIALECTS) {
  test(`OpenAI SDK → ${d.dialect} vendor: length / content_filter finishes, and incomplete responses`, async () => {
    for (const [kind, finish, reason] of [['length', 'length', 'max_output_tokens'], ['filtered', 'content_filter', 'content_filter']]) {
      await stack.vendor(d.vendor).mode({ mode: 'answer', times: 4, answer: { text: 'cut off here', ...STOPS[d.dialect][kind] } });
      const c = await client.chat.completions.create({ model: d.model, max_tokens: 3, messages: question });
      assert.equal(c.choices[0].finish_reason, finish);
      assert.equal(c.choices[0].message.content, 'cut off here');
      let streamed = null;
      for await (const ch of await client.chat.completions.create({ model: d.model, max_tokens: 3, messages: question, stream: true })) {
        streamed = ch.choices[0]?.finish_reason ?? streamed;
      }
      assert.equal(streamed, finish);
      const r = await client.responses.create({ model: d.model, input: 'hello', max_output_tokens: 3 });
      assert.equal(r.status, 'incomplete');
      assert.deepEqual(r.incomplete_details, { reason });
      assert.equal(r.output_text, 'cut off here');
      const stream = client.responses.stream({ model: d.model, input: 'hello', max_output_tokens: 3 });
      let last = null;
      stream.on('event', (e) => { last = e.type; });
      const rs = await stream.finalResponse();
      assert.equal(last, 'response.incomplete');
      assert.equal(rs.status, 'incomplete');
      assert.deepEqual(rs.incomplete_details, { reason });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Embeddings
// ---------------------------------------------------------------------------------------------

// The fake's vector for `input`, asked directly (floats), to compare with what came through.
async function vendorVector(input, extra = {}) {
  const v = stack.vendor(1);
  const r = await request({ port: v.port, method: 'POST', path: '/v1/embeddings', headers: { Authorization: `Bearer ${v.key}` },
    body: { model: 'direct', input, encoding_format: 'float', ...extra } });
  assert.equal(r.status, 200, r.text);
  return r.json.data.map((x) => x.embedding);
}

test('OpenAI SDK embeddings → openai vendor: vectors, order, usage; base64 (the SDK default) and float', async () => {
  const { data: e, response } = await client.embeddings.create({ model: 'to-openai', input: ['hello', 'world, again'] }).withResponse();
  assert.equal(response.headers.get('x-lingmo-provider'), 'v1');
  assert.equal(e.object, 'list');
  assert.deepEqual(e.data.map((x) => [x.object, x.index]), [['embedding', 0], ['embedding', 1]]);
  const sent = (await stack.vendor(1).stats()).last_request.body;
  assert.equal(sent.model, 'm-v1');
  assert.deepEqual(sent.input, ['hello', 'world, again']);
  assert.equal(sent.encoding_format, 'base64', 'the SDK asks for base64 and decodes it');
  const want = await vendorVector(['hello', 'world, again']);
  for (const [i, x] of e.data.entries()) {
    assert.equal(x.embedding.length, 8);
    x.embedding.forEach((n, k) => assert.ok(Math.abs(n - want[i][k]) < 1e-6, `vector ${i}[${k}]: ${n} vs ${want[i][k]}`));
  }
  assert.notDeepEqual(e.data[0].embedding, e.data[1].embedding);
  assert.deepEqual(e.usage, { prompt_tokens: 5, total_tokens: 5 });  // ceil(5/4) + ceil(12/4)

  const f = await client.embeddings.create({ model: 'to-openai', input: 'hello', encoding_format: 'float', dimensions: 4 });
  const sent2 = (await stack.vendor(1).stats()).last_request.body;
  assert.deepEqual([sent2.encoding_format, sent2.dimensions], ['float', 4]);
  assert.equal(f.data.length, 1);
  assert.equal(f.data[0].embedding.length, 4);
  const want4 = await vendorVector('hello', { dimensions: 4 });
  f.data[0].embedding.forEach((n, k) => assert.ok(Math.abs(n - want4[0][k]) < 1e-6));
  assert.equal((await stack.vendor(1).stats()).embeddings_requests, 4, 'two through the gateway, two direct');
});

test('OpenAI SDK embeddings: a model whose only provider is out of quota throws RateLimitError insufficient_quota', async () => {
  await stack.vendor(1).mode('429');
  await assert.rejects(client.embeddings.create({ model: 'to-openai', input: 'hello' }), (e) => {
    assert.ok(e instanceof OpenAI.RateLimitError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.code, 'insufficient_quota');
    return true;
  });
});

// ---------------------------------------------------------------------------------------------
// Behaviours of the project's reference (shared/reference/vendors.md 6.2, "Error translation to
// the client's dialect") for OpenAI clients. These failed against the gateway when they were
// written; see the report.
// ---------------------------------------------------------------------------------------------

test('OpenAI SDK: a vendor overloaded (Anthropic 529, Gemini 503 UNAVAILABLE) surfaces as 503', async () => {
  for (const [i, model, mode] of [[2, 'to-anthropic', '529'], [3, 'to-gemini', '503']]) {
    await stack.resetVendors();
    await stack.vendor(i).mode(mode);
    await assert.rejects(client.chat.completions.create({ model, messages: question }), (e) => {
      assert.ok(e instanceof OpenAI.InternalServerError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, 503, `${model}: ${e.status} ${e.message}`);
      return true;
    });
  }
});

test('OpenAI SDK: while every provider stays parked for quota, the next request is still 429 insufficient_quota', async () => {
  await stack.vendor(1).mode('429');
  await stack.vendor(2).mode('quota');
  await stack.vendor(3).mode('quota');
  const check = (e) => {
    assert.ok(e instanceof OpenAI.RateLimitError, `${e.constructor.name}: ${e.status} ${e.message}`);
    assert.equal(e.code, 'insufficient_quota');
    return true;
  };
  await assert.rejects(client.chat.completions.create({ model: 'gpt-test', messages: question }), check);
  // All three are parked now: nothing is tried, but the cause is still the quota (not a 503).
  // (Parks reach the other nginx worker through Redis pub/sub within milliseconds: wait for that.)
  await new Promise((r) => setTimeout(r, 300));
  await assert.rejects(client.chat.completions.create({ model: 'gpt-test', messages: question }), check);
  await assert.rejects(client.responses.create({ model: 'gpt-test', input: 'hello' }), check);
  for (const i of [1, 2, 3]) assert.equal((await stack.vendor(i).stats()).requests, 1);
});
