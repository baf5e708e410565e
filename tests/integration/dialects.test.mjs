// Dialect translation end to end: every client API (chat completions, Anthropic Messages, OpenAI
// Responses) against every vendor dialect (OpenAI, Anthropic, Gemini), stream and non-stream,
// with real content checked on both sides: answers and tool calls arrive in the client's dialect,
// conversation history reaches each vendor as a valid body of its own dialect, Gemini thought
// signatures survive a round trip through client ids, errors and failover look native to the
// client, and embeddings, count_tokens and /v1/models behave per dialect.
//
// Vendors: v1 openai, v2 anthropic, v3 gemini, v4 openai. Models (besides gpt-test on all four):
//   to-openai -> v1 only, to-anthropic -> v2 only, to-gemini -> v3 only (gemini-3-flash: signed calls),
//   to-gemini25 -> v3 only (gemini-2.5-flash: calls not signed),
//   trio -> v1, v2, v3 (in that order), fo -> fo-a (anthropic, v2), fo-g (gemini, v3), fo-o (openai, v1),
//   emb -> v1, v4 (embeddings), emb-none -> v2, v3 only.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, readStream, waitFor, sleep } from './harness.mjs';

let stack;
const VENDOR_OF = { openai: 'v1', anthropic: 'v2', gemini: 'v3' };

before(async () => {
  stack = await startStack({
    vendors: 4,
    dialects: ['openai', 'anthropic', 'gemini', 'openai'],
    seed: async (st) => {
      const extra = {
        v1: ['to-openai=m-v1', 'trio=m-v1', 'emb=emb-v1'],
        v2: ['to-anthropic=m-v2', 'trio=m-v2', 'emb-none=m-v2'],
        v3: ['to-gemini=gemini-3-flash', 'trio=gemini-3-flash', 'emb-none=gemini-embedding-001', 'to-gemini25=gemini-2.5-flash'],
        v4: ['emb=emb-v4'],
      };
      for (const [i, v] of st.vendors.entries()) {
        const models = [`gpt-test=fake-${v.name}`, ...extra[v.name]].flatMap((m) => ['--model', m]);
        await st.admin('provider', 'add', '--id', v.name, '--base-url', v.baseUrl, '--api-key', v.key, '--dialect', v.dialect,
          ...models, '--priority', String(10 * (i + 1)));
      }
      // Failover across dialects: an Anthropic provider first, then Gemini, then OpenAI.
      const [v1, v2, v3] = st.vendors;
      await st.admin('provider', 'add', '--id', 'fo-a', '--base-url', v2.baseUrl, '--api-key', v2.key, '--dialect', 'anthropic',
        '--model', 'fo=m-fo-a', '--priority', '1');
      await st.admin('provider', 'add', '--id', 'fo-g', '--base-url', v3.baseUrl, '--api-key', v3.key, '--dialect', 'gemini',
        '--model', 'fo=gemini-2.5-flash', '--priority', '2');
      await st.admin('provider', 'add', '--id', 'fo-o', '--base-url', v1.baseUrl, '--api-key', v1.key, '--dialect', 'openai',
        '--model', 'fo=m-fo-o', '--priority', '3');
    },
  });
});
after(async () => { await stack?.stop(); });
beforeEach(async () => {
  await stack.resetVendors();
  // The OpenAI fake streams its echo text and then `chunks` filler pieces: none, so that an echo
  // answer is exactly the prompt in every dialect.
  for (const v of ['v1', 'v4']) await stack.vendor(v).mode({ mode: 'normal', chunks: 0 });
});
afterEach(() => { stack.checkLog(); });

// ---------------------------------------------------------------------------------------------
// Clients: one request in each client dialect, and readers that turn any answer into a neutral
// form { text, reasoning, calls: [{id, name, args}], finish, usage } after checking its shape.
// ---------------------------------------------------------------------------------------------

const ANTHROPIC = { 'anthropic-version': '2023-06-01' };
const CLIENTS = ['chat', 'messages', 'responses'];
const DIALECTS = ['openai', 'anthropic', 'gemini'];
const PATH = { chat: '/v1/chat/completions', messages: '/v1/messages', responses: '/v1/responses' };

// A simple one-question body in a client's dialect.
function simpleBody(client, model, text, extra = {}) {
  if (client === 'chat') return { model, messages: [{ role: 'user', content: text }], ...extra };
  if (client === 'messages') return { model, max_tokens: 1024, messages: [{ role: 'user', content: text }], ...extra };
  return { model, input: text, ...extra };
}

// Sends `body` to the client's endpoint. Non-stream: { status, headers, json, text }. Stream:
// the readStream() result with `sse` = [{ event, data (parsed or raw) }].
async function send(client, body, { stream = false, headers = {}, key, query = '' } = {}) {
  const h = client === 'messages' ? { ...ANTHROPIC, ...headers } : headers;
  const b = stream ? { ...body, stream: true } : body;
  if (!stream) return stack.gw({ method: 'POST', path: PATH[client] + query, body: b, headers: h, key });
  const r = await stack.chat(b, { path: PATH[client] + query, headers: h, key, stream: true });
  const s = await readStream(r);
  s.sse = parseSse(s);
  return s;
}

function parseSse(s) {
  return s.events.map((e) => {
    const ev = /^event: ?(.*)$/m.exec(e.raw)?.[1];
    let data = e.data;
    try { data = JSON.parse(e.data); } catch { /* [DONE] or raw */ }
    return { event: ev, data };
  });
}

// --- chat completions -------------------------------------------------------------------------

function chatUsage(u) {
  return u && { prompt: u.prompt_tokens, completion: u.completion_tokens, total: u.total_tokens,
    cached: u.prompt_tokens_details?.cached_tokens ?? 0 };
}

function readChat(r) {
  assert.equal(r.status, 200, r.text);
  const j = r.json;
  assert.equal(j.object, 'chat.completion', r.text);
  assert.equal(j.choices.length, 1);
  const m = j.choices[0].message;
  assert.equal(m.role, 'assistant');
  return {
    text: m.content ?? '',
    reasoning: m.reasoning_content ?? '',
    calls: (m.tool_calls ?? []).map((c) => {
      assert.equal(c.type, 'function');
      return { id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments) };
    }),
    finish: j.choices[0].finish_reason,
    usage: chatUsage(j.usage),
    raw: j,
  };
}

function readChatStream(s) {
  assert.equal(s.status, 200, s.text);
  assert.match(s.headers['content-type'], /^text\/event-stream/);
  assert.ok(s.complete, 'stream ended cleanly');
  const last = s.sse.at(-1);
  assert.equal(last.data, '[DONE]', `stream ends with [DONE]: ${s.text.slice(-400)}`);
  assert.equal(s.sse.filter((e) => e.data === '[DONE]').length, 1);
  const chunks = s.sse.slice(0, -1).map((e) => e.data);
  let text = '', reasoning = '', finish = null, usage = null, roles = 0;
  const calls = [];
  const ids = new Set();
  for (const c of chunks) {
    assert.equal(typeof c, 'object', `every event is a JSON chunk: ${JSON.stringify(c)}`);
    assert.ok(!c.error, `no error chunk: ${JSON.stringify(c)}`);
    assert.equal(c.object, 'chat.completion.chunk');
    ids.add(c.id);
    if (c.usage) usage = chatUsage(c.usage);
    const ch = c.choices?.[0];
    if (!ch) continue;
    const d = ch.delta ?? {};
    if (d.role) roles++;
    if (d.content) text += d.content;
    if (d.reasoning_content) reasoning += d.reasoning_content;
    for (const tc of d.tool_calls ?? []) {
      assert.ok(Number.isInteger(tc.index), `tool call fragment without index: ${JSON.stringify(tc)}`);
      if (!calls[tc.index]) {
        assert.equal(tc.index, calls.length, 'tool call indices count up from 0 without gaps');
        assert.ok(tc.id, `first fragment of call ${tc.index} carries the id`);
        assert.ok(tc.function?.name, `first fragment of call ${tc.index} carries the name`);
        calls[tc.index] = { id: tc.id, name: tc.function.name, argText: '' };
      }
      calls[tc.index].argText += tc.function?.arguments ?? '';
    }
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  assert.equal(ids.size, 1, 'every chunk has the same id');
  assert.equal(roles, 1, 'exactly one role chunk');
  return {
    text, reasoning, finish, usage,
    calls: calls.map((c) => ({ id: c.id, name: c.name, args: JSON.parse(c.argText) })),
    chunks,
  };
}

// --- Anthropic Messages -----------------------------------------------------------------------

const ANTHROPIC_FINISH = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool_calls', refusal: 'content_filter' };

function anthropicUsage(u) {
  if (!u) return null;
  const cw = u.cache_creation_input_tokens ?? 0, cr = u.cache_read_input_tokens ?? 0;
  return { prompt: u.input_tokens + cw + cr, completion: u.output_tokens, total: u.input_tokens + cw + cr + u.output_tokens, cached: cr };
}

function fromBlocks(blocks) {
  const out = { text: '', reasoning: '', calls: [] };
  for (const b of blocks) {
    if (b.type === 'text') out.text += b.text;
    else if (b.type === 'thinking') out.reasoning += b.thinking;
    else if (b.type === 'tool_use') {
      assert.equal(typeof b.input, 'object', `tool_use input is an object: ${JSON.stringify(b)}`);
      assert.ok(b.input && !Array.isArray(b.input));
      out.calls.push({ id: b.id, name: b.name, args: b.input });
    }
  }
  return out;
}

function readMessages(r) {
  assert.equal(r.status, 200, r.text);
  const j = r.json;
  assert.equal(j.type, 'message', r.text);
  assert.equal(j.role, 'assistant');
  assert.ok(Array.isArray(j.content));
  assert.ok(j.stop_reason in ANTHROPIC_FINISH, `stop_reason ${j.stop_reason}`);
  for (const k of ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens'])
    assert.ok(Number.isInteger(j.usage?.[k]), `usage.${k} present: ${JSON.stringify(j.usage)}`);
  return { ...fromBlocks(j.content), finish: ANTHROPIC_FINISH[j.stop_reason], stop_reason: j.stop_reason,
    usage: anthropicUsage(j.usage), rawUsage: j.usage, blocks: j.content, raw: j };
}

// Checks the Anthropic event grammar and rebuilds the message. `allowError`: the stream may end
// with an `event: error` instead of message_delta/message_stop (returned as `error`).
function readMessagesStream(s, { allowError = false } = {}) {
  assert.equal(s.status, 200, s.text);
  assert.match(s.headers['content-type'], /^text\/event-stream/);
  const evs = s.sse;
  for (const e of evs) {
    assert.equal(typeof e.data, 'object', `every event carries JSON: ${JSON.stringify(e)}`);
    assert.equal(e.event, e.data.type, `event name matches data.type: ${JSON.stringify(e)}`);
  }
  assert.equal(evs[0]?.event, 'message_start', `first event is message_start: ${s.text.slice(0, 300)}`);
  assert.equal(evs.filter((e) => e.event === 'message_start').length, 1, 'exactly one message_start');
  const blocks = [];
  let open = null, stop = null, deltaUsage = null, error = null;
  const startUsage = evs[0].data.message.usage;
  for (const { event, data } of evs.slice(1)) {
    assert.equal(error, null, `nothing after an error event (got ${event})`);
    if (event === 'content_block_start') {
      assert.equal(open, null, `block ${data.index} starts while block ${open} is open`);
      assert.equal(data.index, blocks.length, 'block indices are sequential from 0');
      const b = { ...data.content_block };
      if (b.type === 'tool_use') { assert.deepEqual(b.input, {}); b.json = ''; }
      blocks.push(b);
      open = data.index;
    } else if (event === 'content_block_delta') {
      assert.equal(data.index, open, 'delta for the open block');
      const b = blocks[open], d = data.delta;
      if (d.type === 'text_delta') { assert.equal(b.type, 'text'); b.text += d.text; }
      else if (d.type === 'thinking_delta') { assert.equal(b.type, 'thinking'); b.thinking += d.thinking; }
      else if (d.type === 'signature_delta') { assert.equal(b.type, 'thinking'); b.signature = (b.signature ?? '') + d.signature; }
      else if (d.type === 'input_json_delta') { assert.equal(b.type, 'tool_use'); b.json += d.partial_json; b.deltas = (b.deltas ?? 0) + 1; }
      else assert.fail(`unknown delta ${JSON.stringify(d)}`);
    } else if (event === 'content_block_stop') {
      assert.equal(data.index, open, 'stop for the open block');
      const b = blocks[open];
      if (b.type === 'tool_use') { b.input = b.json === '' ? {} : JSON.parse(b.json); delete b.json; }
      open = null;
    } else if (event === 'message_delta') {
      assert.equal(open, null, 'message_delta after every block closed');
      stop = data.delta.stop_reason;
      deltaUsage = data.usage;
    } else if (event === 'message_stop') {
      assert.ok(stop, 'message_delta before message_stop');
    } else if (event === 'error') {
      assert.ok(allowError, `unexpected error event: ${JSON.stringify(data)}`);
      error = data;
    } else {
      assert.equal(event, 'ping', `unknown event ${event}`);
    }
  }
  if (error) {
    assert.equal(evs.filter((e) => e.event === 'message_stop').length, 0, 'no message_stop after an error');
    return { ...fromBlocks(blocks.filter((b) => b.type !== 'tool_use' || b.input)), error, blocks };
  }
  assert.equal(evs.at(-1).event, 'message_stop', `stream ends with message_stop: ${s.text.slice(-300)}`);
  assert.equal(evs.filter((e) => e.event === 'message_stop').length, 1);
  const usage = { ...startUsage, ...deltaUsage };
  return { ...fromBlocks(blocks), finish: ANTHROPIC_FINISH[stop], stop_reason: stop, usage: anthropicUsage(usage), rawUsage: usage, blocks };
}

// --- OpenAI Responses -------------------------------------------------------------------------

function responsesUsage(u) {
  return u && { prompt: u.input_tokens, completion: u.output_tokens, total: u.total_tokens, cached: u.input_tokens_details?.cached_tokens ?? 0 };
}

function fromOutput(output) {
  const out = { text: '', reasoning: '', calls: [] };
  for (const it of output) {
    if (it.type === 'message') {
      assert.equal(it.role, 'assistant');
      for (const p of it.content) if (p.type === 'output_text') out.text += p.text;
    } else if (it.type === 'reasoning') {
      for (const p of it.summary ?? []) out.reasoning += p.text;
      for (const p of it.content ?? []) out.reasoning += p.text ?? '';
    } else if (it.type === 'function_call') {
      assert.equal(typeof it.arguments, 'string');
      out.calls.push({ id: it.call_id, name: it.name, args: JSON.parse(it.arguments) });
    }
  }
  return out;
}

function readResponse(obj) {
  assert.equal(obj.object, 'response', JSON.stringify(obj).slice(0, 300));
  assert.ok(obj.id.startsWith('resp_'), obj.id);
  const o = fromOutput(obj.output);
  const incomplete = { max_output_tokens: 'length', content_filter: 'content_filter' }[obj.incomplete_details?.reason];
  assert.ok(obj.status === 'completed' || (obj.status === 'incomplete' && incomplete), `status ${obj.status} ${JSON.stringify(obj.incomplete_details)}`);
  return { ...o, finish: obj.status === 'incomplete' ? incomplete : (o.calls.length ? 'tool_calls' : 'stop'),
    status: obj.status, usage: responsesUsage(obj.usage), raw: obj };
}

function readResponses(r) {
  assert.equal(r.status, 200, r.text);
  return readResponse(r.json);
}

// Checks the Responses event set and rebuilds the output from the deltas; the rebuilt output must
// equal response.completed's. `allowError`: the stream may end with an `error` event instead.
function readResponsesStream(s, { allowError = false } = {}) {
  assert.equal(s.status, 200, s.text);
  assert.match(s.headers['content-type'], /^text\/event-stream/);
  const evs = s.sse;
  for (const [i, e] of evs.entries()) {
    assert.equal(typeof e.data, 'object', `event ${i} carries JSON: ${JSON.stringify(e)}`);
    assert.equal(e.event, e.data.type, `event name matches data.type: ${JSON.stringify(e).slice(0, 200)}`);
  }
  const errIdx = evs.findIndex((e) => e.event === 'error');
  if (errIdx >= 0) {
    assert.ok(allowError, `unexpected error event: ${JSON.stringify(evs[errIdx].data)}`);
    assert.equal(evs.filter((e) => e.event === 'response.completed').length, 0, 'no response.completed after an error');
  }
  const seqEvents = evs.filter((e) => e.event !== 'error' && e.event !== 'response.failed');
  seqEvents.forEach((e, i) => assert.equal(e.data.sequence_number, i, `sequence_number of event ${i} (${e.event})`));
  assert.equal(evs[0].event, 'response.created');
  assert.equal(evs.filter((e) => e.event === 'response.created').length, 1, 'exactly one response.created');
  const respId = evs[0].data.response.id;
  const items = [];
  const byId = new Map();
  const types = new Set(evs.map((e) => e.event));
  for (const { event, data } of evs) {
    if (event === 'response.output_item.added') {
      assert.equal(data.output_index, items.length, 'output items are numbered in order');
      const it = { ...data.item, _text: '', _args: '', _done: false };
      items.push(it);
      byId.set(it.id, it);
    } else if (event === 'response.output_text.delta') {
      const it = byId.get(data.item_id);
      assert.ok(it && !it._done, `text delta for an open item: ${JSON.stringify(data)}`);
      assert.equal(data.output_index, items.indexOf(it));
      it._text += data.delta;
    } else if (event === 'response.output_text.done') {
      assert.equal(data.text, byId.get(data.item_id)._text, 'output_text.done repeats the deltas');
    } else if (event === 'response.reasoning_summary_text.delta' || event === 'response.reasoning_text.delta') {
      byId.get(data.item_id)._text += data.delta;
    } else if (event === 'response.function_call_arguments.delta') {
      const it = byId.get(data.item_id);
      assert.ok(it && !it._done && it.type === 'function_call', `arguments delta for an open call: ${JSON.stringify(data)}`);
      it._args += data.delta;
    } else if (event === 'response.function_call_arguments.done') {
      assert.equal(data.arguments, byId.get(data.item_id)._args, 'function_call_arguments.done repeats the deltas');
    } else if (event === 'response.output_item.done') {
      const it = items[data.output_index];
      assert.ok(it && it.id === data.item.id && !it._done, `output_item.done for an open item: ${JSON.stringify(data).slice(0, 300)}`);
      it._done = true;
      it._final = data.item;
      if (it.type === 'message') assert.equal(data.item.content.map((p) => p.text).join(''), it._text);
      if (it.type === 'function_call') assert.equal(data.item.arguments, it._args);
    }
  }
  if (errIdx >= 0) {
    const text = items.filter((i) => i.type === 'message').map((i) => i._text).join('');
    return { text, error: evs[errIdx].data, types, items };
  }
  const last = evs.at(-1);
  // The terminal event: response.completed, or response.incomplete for a cut-off answer.
  assert.ok(['response.completed', 'response.incomplete'].includes(last.event), `stream ends with response.completed: ${s.text.slice(-300)}`);
  assert.equal(evs.filter((e) => /^response\.(completed|incomplete|failed)$/.test(e.event)).length, 1, 'one terminal event');
  assert.equal(last.data.response.id, respId, 'one response id throughout');
  assert.ok(items.every((i) => i._done), 'every output item was closed');
  const final = readResponse(last.data.response);
  assert.equal(last.event, `response.${final.status}`, 'the terminal event matches the status');
  assert.ok(final.usage, `${last.event} carries usage`);
  // What the deltas built equals what response.completed reports.
  const built = fromOutput(items.map((i) => i._final));
  assert.deepEqual(built, fromOutput(last.data.response.output), 'streamed items equal the completed output');
  const streamed = { text: items.filter((i) => i.type === 'message').map((i) => i._text).join(''),
    args: items.filter((i) => i.type === 'function_call').map((i) => i._args) };
  assert.equal(streamed.text, final.text);
  assert.deepEqual(streamed.args.map((a) => JSON.parse(a)), final.calls.map((c) => c.args));
  return { ...final, types, items };
}

async function ask(client, body, { stream = false, ...opts } = {}) {
  const r = await send(client, body, { stream, ...opts });
  const out = client === 'chat' ? (stream ? readChatStream(r) : readChat(r))
    : client === 'messages' ? (stream ? readMessagesStream(r) : readMessages(r))
      : (stream ? readResponsesStream(r) : readResponses(r));
  out.headers = r.headers;
  return out;
}

// Usage counters of every provider once they stop changing (what earlier requests counted has
// landed), and a wait until the one that served has grown by `delta` while the others stayed put.
async function allUsage() {
  const read = async () => {
    const o = {};
    for (const id of ['v1', 'v2', 'v3', 'v4']) o[id] = await stack.usage(id);
    return o;
  };
  let prev = await read();
  for (;;) {
    await sleep(250);  // longer than the workers' usage flush delay
    const now = await read();
    if (JSON.stringify(now) === JSON.stringify(prev)) return now;
    prev = now;
  }
}

async function expectUsageDelta(base, id, delta) {
  const want = { ...base[id] };
  for (const [k, v] of Object.entries(delta)) want[k] += v;
  let last;
  try {
    await waitFor(async () => {
      last = await stack.usage(id);
      return JSON.stringify(last) === JSON.stringify(want);
    }, { timeout: 3000, what: `usage of ${id}` });
  } catch {
    assert.deepEqual(last, want, `usage counters of ${id}`);
  }
  const now = await allUsage();
  assert.deepEqual(now[id], want, `usage of ${id} after settling`);
  for (const other of Object.keys(base)) if (other !== id) assert.deepEqual(now[other], base[other], `usage of ${other} unchanged`);
}

// ---------------------------------------------------------------------------------------------
// 1. Text answers, stop reasons and usage: 3 clients x 3 vendors x stream/non-stream
// ---------------------------------------------------------------------------------------------

// Non-ASCII, quotes, backslashes and a newline: anything an encoder could get wrong.
const ECHO = 'Grüße aus Zürich — 你好, "quoted" \\ back\\slash\nand a second line';

for (const dialect of DIALECTS) {
  test(`text: echo prompts come back intact in every client dialect (vendor ${dialect})`, async () => {
    const model = `to-${dialect}`;
    for (const client of CLIENTS) {
      for (const stream of [false, true]) {
        const what = `${client} ${stream ? 'stream' : 'non-stream'} via ${dialect}`;
        const a = await ask(client, simpleBody(client, model, `echo:${ECHO}`), { stream });
        assert.equal(a.text, ECHO, `${what}: answer text`);
        assert.equal(a.finish, 'stop', `${what}: finish`);
        assert.equal(a.calls.length, 0);
        assert.equal(a.reasoning, '', `${what}: no reasoning`);
        assert.equal(a.headers['x-lingmo-provider'], VENDOR_OF[dialect], what);
        if (client === 'messages') {
          assert.equal(a.stop_reason, 'end_turn', what);
          assert.deepEqual(a.blocks.map((b) => b.type), ['text'], `${what}: one text block`);
        }
        if (client === 'chat' && !stream) assert.equal(a.raw.choices[0].finish_reason, 'stop');
      }
    }
    const st = await stack.vendor(VENDOR_OF[dialect]).stats();
    assert.equal(st.requests, 6, 'each request reached the one vendor once');
  });
}

// Scripted usage per vendor dialect, with cached input, and what each client must see.
const USAGE_SCRIPT = {
  openai: { text: 'Cached answer here', usage: { prompt_tokens: 40, completion_tokens: 12, cached_tokens: 32 } },
  anthropic: { text: 'Cached answer here', usage: { input_tokens: 100, output_tokens: 42, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 } },
  gemini: { text: 'Cached answer here', usage: { promptTokenCount: 50, candidatesTokenCount: 20, cachedContentTokenCount: 5 } },
};
// Neutral usage (OpenAI semantics: prompt includes cached input).
const USAGE_NEUTRAL = {
  openai: { prompt: 40, completion: 12, total: 52, cached: 32 },
  anthropic: { prompt: 110, completion: 42, total: 152, cached: 7 },
  gemini: { prompt: 50, completion: 20, total: 70, cached: 5 },
};

for (const dialect of DIALECTS) {
  test(`usage: cached tokens are mapped into every client dialect and counted for the serving provider (vendor ${dialect})`, async () => {
    const model = `to-${dialect}`;
    const v = stack.vendor(VENDOR_OF[dialect]);
    await v.mode({ mode: 'answer', answer: USAGE_SCRIPT[dialect] });
    const base = await allUsage();
    const U = USAGE_NEUTRAL[dialect];
    for (const client of CLIENTS) {
      for (const stream of [false, true]) {
        const what = `${client} ${stream ? 'stream' : 'non-stream'} via ${dialect}`;
        const extra = client === 'chat' && stream ? { stream_options: { include_usage: true } } : {};
        const a = await ask(client, simpleBody(client, model, 'hello', extra), { stream });
        assert.equal(a.text, 'Cached answer here', what);
        assert.deepEqual(a.usage, U, `${what}: usage`);
        if (client === 'chat' && !stream) {
          assert.deepEqual(a.raw.usage.prompt_tokens_details, { cached_tokens: U.cached }, `${what}: prompt_tokens_details`);
        }
        if (client === 'chat' && stream) {
          const usageChunks = a.chunks.filter((c) => c.usage);
          assert.equal(usageChunks.length, 1, `${what}: one usage chunk`);
          assert.equal(a.chunks.at(-1), usageChunks[0], `${what}: the usage chunk comes last`);
          assert.deepEqual(usageChunks[0].choices, [], `${what}: the usage chunk has no choices`);
        }
        if (client === 'messages') {
          // Anthropic semantics: input_tokens excludes cached input; an Anthropic vendor's numbers pass as they are.
          const want = dialect === 'anthropic'
            ? { input_tokens: 100, output_tokens: 42, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 }
            : { input_tokens: U.prompt - U.cached, output_tokens: U.completion, cache_read_input_tokens: U.cached, cache_creation_input_tokens: 0 };
          for (const [k, val] of Object.entries(want)) assert.equal(a.rawUsage[k], val, `${what}: usage.${k}`);
        }
        if (client === 'responses') {
          assert.equal(a.raw.usage.input_tokens_details.cached_tokens, U.cached, what);
          assert.equal(a.raw.usage.total_tokens, U.total, what);
        }
      }
    }
    await expectUsageDelta(base, VENDOR_OF[dialect], { requests: 6, prompt_tokens: 6 * U.prompt, completion_tokens: 6 * U.completion, total_tokens: 6 * U.total });
  });
}

test('chat stream without include_usage shows no usage, whatever the vendor dialect', async () => {
  for (const dialect of DIALECTS) {
    await stack.vendor(VENDOR_OF[dialect]).mode({ mode: 'answer', answer: USAGE_SCRIPT[dialect] });
    const s = await send('chat', simpleBody('chat', `to-${dialect}`, 'hello'), { stream: true });
    const a = readChatStream(s);
    assert.equal(a.text, 'Cached answer here');
    assert.equal(a.usage, null, `${dialect}: no usage chunk for a client that did not ask (${s.text.slice(-300)})`);
  }
});

// Cut-off and filtered answers: each vendor's reason, mapped into each client's words.
const STOP_SCRIPTS = {
  openai: [['length', { text: 'cut off he', finish_reason: 'length' }], ['content_filter', { text: 'I cannot', finish_reason: 'content_filter' }]],
  anthropic: [['length', { text: 'cut off he', stop_reason: 'max_tokens' }], ['content_filter', { text: 'I cannot', stop_reason: 'refusal' }],
    ['stop', { text: 'up to the END', stop_reason: 'stop_sequence', stop_sequence: 'END' }]],
  gemini: [['length', { text: 'cut off he', finish_reason: 'MAX_TOKENS' }], ['content_filter', { text: 'I cannot', finish_reason: 'SAFETY' }]],
};
const CLIENT_REASON = {
  chat: { stop: 'stop', length: 'length', content_filter: 'content_filter' },
  messages: { stop: 'end_turn', length: 'max_tokens', content_filter: 'refusal' },
};

for (const dialect of DIALECTS) {
  test(`stop reasons: cut-off and filtered answers are mapped for every client (vendor ${dialect})`, async () => {
    const model = `to-${dialect}`;
    for (const [neutral, script] of STOP_SCRIPTS[dialect]) {
      await stack.vendor(VENDOR_OF[dialect]).mode({ mode: 'answer', answer: script });
      for (const client of CLIENTS) {
        for (const stream of [false, true]) {
          const what = `${client} ${stream ? 'stream' : 'non-stream'} via ${dialect}, vendor reason ${JSON.stringify(script)}`;
          const a = await ask(client, simpleBody(client, model, 'hi'), { stream });
          assert.equal(a.text, script.text, what);
          assert.equal(a.finish, neutral, what);
          if (client === 'chat' && !stream) assert.equal(a.raw.choices[0].finish_reason, CLIENT_REASON.chat[neutral], what);
          if (client === 'messages') {
            // An Anthropic vendor's own reason passes unchanged to an Anthropic client.
            const want = dialect === 'anthropic' ? script.stop_reason : CLIENT_REASON.messages[neutral];
            assert.equal(a.stop_reason, want, what);
          }
        }
      }
    }
  });
}

// Generation parameters and tool choice, from each client dialect into each vendor's fields.
function paramsBody(client, model) {
  if (client === 'chat') {
    return { model, messages: [{ role: 'user', content: 'hi' }], tools: TOOLS_CHAT, tool_choice: { type: 'function', function: { name: 'get_time' } },
      temperature: 1.5, top_p: 0.9, max_completion_tokens: 321, stop: 'END', parallel_tool_calls: false };
  }
  if (client === 'messages') {
    return { model, messages: [{ role: 'user', content: 'hi' }], tools: TOOLS_MESSAGES, tool_choice: { type: 'tool', name: 'get_time', disable_parallel_tool_use: true },
      temperature: 0.7, top_p: 0.9, top_k: 40, max_tokens: 321, stop_sequences: ['END'] };
  }
  return { model, input: 'hi', tools: TOOLS_RESPONSES, tool_choice: { type: 'function', name: 'get_time' }, temperature: 0.7, top_p: 0.9,
    max_output_tokens: 321, parallel_tool_calls: false };
}

test('parameters: temperature, top_p, output cap, stop sequences and a forced tool reach each vendor in its own fields', async () => {
  for (const client of CLIENTS) {
    const temp = client === 'chat' ? 1.5 : 0.7;
    const hasStop = client !== 'responses';
    for (const dialect of DIALECTS) {
      const what = `${client} -> ${dialect}`;
      const r = await send(client, paramsBody(client, `to-${dialect}`));
      assert.equal(r.status, 200, `${what}: ${r.text}`);
      const b = (await stack.vendor(VENDOR_OF[dialect]).stats()).last_request.body;
      if (dialect === 'openai') {
        assert.equal(b.temperature, temp, what);
        assert.equal(b.top_p, 0.9, what);
        assert.equal(b.max_completion_tokens ?? b.max_tokens, 321, `${what}: output cap`);
        if (hasStop) assert.deepEqual([b.stop].flat(), ['END'], what);
        assert.deepEqual(b.tool_choice, { type: 'function', function: { name: 'get_time' } }, what);
        assert.equal(b.parallel_tool_calls, false, what);
        assert.ok(!('top_k' in b), `${what}: top_k is not an OpenAI field`);
      } else if (dialect === 'anthropic') {
        assert.equal(b.temperature, Math.min(temp, 1), `${what}: temperature within Anthropic's 0..1`);
        assert.equal(b.top_p, 0.9, what);
        assert.equal(b.max_tokens, 321, what);
        if (hasStop) assert.deepEqual(b.stop_sequences, ['END'], what);
        assert.equal(b.tool_choice?.type, 'tool', what);
        assert.equal(b.tool_choice?.name, 'get_time', what);
        assert.equal(b.tool_choice?.disable_parallel_tool_use, true, what);
      } else {
        const g = b.generationConfig;
        assert.equal(g.temperature, temp, what);
        assert.equal(g.topP, 0.9, what);
        assert.equal(g.maxOutputTokens, 321, what);
        if (hasStop) assert.deepEqual(g.stopSequences, ['END'], what);
        assert.deepEqual(b.toolConfig, { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_time'] } }, what);
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------
// 2. Tool calls: two parallel calls with multi-fragment arguments
// ---------------------------------------------------------------------------------------------

const ARGS_A = { city: 'Zürich', units: 'metric', days: [1, 2, 3], opts: { detail: 'high "quoted" \\ value' } };
const ARGS_B = { tz: 'Europe/Oslo', format: '24h' };
const TOOL_SCRIPT = {
  openai: { text: 'Checking both.', tool_calls: [
    { id: 'call_w1', name: 'get_weather', arguments: ARGS_A }, { id: 'call_t2', name: 'get_time', arguments: ARGS_B }] },
  anthropic: { text: 'Checking both.', tool_calls: [
    { id: 'toolu_w1', name: 'get_weather', input: ARGS_A }, { id: 'toolu_t2', name: 'get_time', input: ARGS_B }] },
  gemini: { text: 'Checking both.', function_calls: [{ name: 'get_weather', args: ARGS_A }, { name: 'get_time', args: ARGS_B }] },
};
const TOOL_IDS = { openai: ['call_w1', 'call_t2'], anthropic: ['toolu_w1', 'toolu_t2'], gemini: null };

const TOOLS_CHAT = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, units: { type: 'string', enum: ['metric', 'imperial'] },
      days: { type: 'array', items: { type: 'integer' } }, opts: { type: 'object', properties: { detail: { type: 'string' } } } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', description: 'Local time in a zone',
    parameters: { type: 'object', properties: { tz: { type: 'string' }, format: { type: 'string' } }, required: ['tz'] } } },
];
const TOOLS_MESSAGES = TOOLS_CHAT.map((t) => ({ name: t.function.name, description: t.function.description, input_schema: t.function.parameters }));
const TOOLS_RESPONSES = TOOLS_CHAT.map((t) => ({ type: 'function', name: t.function.name, description: t.function.description, parameters: t.function.parameters }));
const TOOLS_FOR = { chat: TOOLS_CHAT, messages: TOOLS_MESSAGES, responses: TOOLS_RESPONSES };

// Drops what legitimately differs between two answers to the same script (minted ids).
function comparable(a, dialect) {
  return { text: a.text, reasoning: a.reasoning, finish: a.finish,
    calls: a.calls.map((c) => ({ name: c.name, args: c.args, ...(TOOL_IDS[dialect] ? { id: c.id } : {}) })) };
}

for (const dialect of DIALECTS) {
  test(`tool calls: two parallel calls reach every client dialect, stream equals non-stream (vendor ${dialect})`, async () => {
    const model = `to-${dialect}`;
    await stack.vendor(VENDOR_OF[dialect]).mode({ mode: 'answer', answer: TOOL_SCRIPT[dialect] });
    for (const client of CLIENTS) {
      const body = simpleBody(client, model, 'Weather in Zürich and the time in Oslo?', { tools: TOOLS_FOR[client] });
      const whole = await ask(client, body);
      const streamed = await ask(client, body, { stream: true });
      for (const [a, what] of [[whole, `${client} non-stream via ${dialect}`], [streamed, `${client} stream via ${dialect}`]]) {
        assert.equal(a.text, 'Checking both.', what);
        assert.equal(a.finish, 'tool_calls', `${what}: finish`);
        assert.deepEqual(a.calls.map((c) => c.name), ['get_weather', 'get_time'], what);
        assert.deepEqual(a.calls[0].args, ARGS_A, `${what}: arguments of call 0`);
        assert.deepEqual(a.calls[1].args, ARGS_B, `${what}: arguments of call 1`);
        if (TOOL_IDS[dialect]) assert.deepEqual(a.calls.map((c) => c.id), TOOL_IDS[dialect], `${what}: vendor ids pass through`);
        else {
          assert.ok(a.calls.every((c) => typeof c.id === 'string' && c.id.length > 0), `${what}: minted ids`);
          assert.notEqual(a.calls[0].id, a.calls[1].id, `${what}: distinct ids`);
        }
        if (client === 'messages') {
          assert.equal(a.stop_reason, 'tool_use', what);
          assert.deepEqual(a.blocks.map((b) => b.type), ['text', 'tool_use', 'tool_use'], what);
        }
      }
      if (client === 'messages' && dialect !== 'gemini') {
        for (const b of streamed.blocks.filter((x) => x.type === 'tool_use'))
          assert.ok(b.deltas >= 2, `${b.name}: input_json_delta fragments relayed one by one (${b.deltas})`);
      }
      if (client === 'chat') {
        assert.equal(whole.raw.choices[0].finish_reason, 'tool_calls');
        // Multi-fragment arguments were reassembled (OpenAI and Anthropic vendors send 2-3 pieces per call).
        if (dialect !== 'gemini') {
          const argChunks = streamed.chunks.filter((c) => c.choices?.[0]?.delta?.tool_calls?.some((t) => t.function?.arguments));
          assert.ok(argChunks.length >= 4, `argument fragments relayed one by one (${argChunks.length})`);
        }
      }
      if (client === 'responses') {
        for (const t of ['response.created', 'response.output_item.added', 'response.content_part.added', 'response.output_text.delta',
          'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
          'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.completed'])
          assert.ok(streamed.types.has(t), `Responses stream via ${dialect} has ${t}: ${[...streamed.types].join(', ')}`);
        const fc = streamed.raw.output.filter((i) => i.type === 'function_call');
        assert.equal(fc.length, 2);
        for (const i of fc) assert.equal(i.status, 'completed');
      }
      assert.deepEqual(comparable(streamed, dialect), comparable(whole, dialect), `${client} via ${dialect}: stream equals non-stream`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// 3. Thinking / reasoning
// ---------------------------------------------------------------------------------------------

const THINK_SCRIPT = {
  openai: { reasoning: 'First weigh the options carefully.', text: 'Take the train.' },
  anthropic: { thinking: 'First weigh the options carefully.', signature: 'sig-anthropic-real-1', text: 'Take the train.' },
  gemini: { thoughts: 'First weigh the options carefully.', text: 'Take the train.' },
};

for (const dialect of DIALECTS) {
  test(`thinking: vendor reasoning reaches every client dialect as its own reasoning form (vendor ${dialect})`, async () => {
    const model = `to-${dialect}`;
    await stack.vendor(VENDOR_OF[dialect]).mode({ mode: 'answer', answer: THINK_SCRIPT[dialect] });
    for (const client of CLIENTS) {
      for (const stream of [false, true]) {
        const what = `${client} ${stream ? 'stream' : 'non-stream'} via ${dialect}`;
        const a = await ask(client, simpleBody(client, model, 'Train or plane?'), { stream });
        assert.equal(a.text, 'Take the train.', what);
        assert.equal(a.reasoning, 'First weigh the options carefully.', `${what}: reasoning`);
        if (client === 'messages') {
          assert.deepEqual(a.blocks.map((b) => b.type), ['thinking', 'text'], `${what}: a thinking block, then the text`);
          if (dialect === 'anthropic') assert.equal(a.blocks[0].signature, 'sig-anthropic-real-1', `${what}: the real signature passes`);
        }
        if (client === 'chat' && !stream) assert.equal(a.raw.choices[0].message.content, 'Take the train.', 'reasoning is not mixed into content');
        if (client === 'responses') {
          const kinds = a.raw.output.map((i) => i.type);
          assert.deepEqual(kinds, ['reasoning', 'message'], `${what}: a reasoning item, then the message`);
        }
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// 4. Multi-turn history with tool calls and results, from each client dialect to each vendor
// ---------------------------------------------------------------------------------------------

// A valid 2x2 PNG.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DwnwEIGBgYGBgYAGgNAv5Vr1iGAAAAAElFTkSuQmCC';
const Q = 'Weather in Oslo and the time there? The map is attached.';
const RESULT_A = '{"temp_c":-3,"sky":"snow"}';
const RESULT_B = '14:05';

function historyBody(client, model) {
  if (client === 'chat') {
    return { model, tools: TOOLS_CHAT, messages: [
      { role: 'system', content: 'You are a weather bot.' },
      { role: 'user', content: [{ type: 'text', text: Q }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] },
      { role: 'assistant', content: 'Let me check.', tool_calls: [
        { id: 'call_h1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        { id: 'call_h2', type: 'function', function: { name: 'get_time', arguments: '{"tz":"Europe/Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_h1', content: RESULT_A },
      { role: 'tool', tool_call_id: 'call_h2', content: RESULT_B },
      { role: 'user', content: 'echo:thanks, all clear' },
    ] };
  }
  if (client === 'messages') {
    return { model, max_tokens: 2048, tools: TOOLS_MESSAGES.map((t, i) => (i === 1 ? { ...t, cache_control: { type: 'ephemeral' } } : t)),
      system: [{ type: 'text', text: 'You are a weather bot.', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: Q }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] },
        { role: 'assistant', content: [
          { type: 'thinking', thinking: 'Two lookups are needed.', signature: 'EqQBCkYIBxgCKkB-real-signature' },
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'toolu_h1', name: 'get_weather', input: { city: 'Oslo' } },
          { type: 'tool_use', id: 'toolu_h2', name: 'get_time', input: { tz: 'Europe/Oslo' } }] },
        { role: 'user', content: [
          { type: 'tool_result', tool_use_id: 'toolu_h1', content: [{ type: 'text', text: RESULT_A }] },
          { type: 'tool_result', tool_use_id: 'toolu_h2', content: RESULT_B, is_error: false },
          { type: 'text', text: 'echo:thanks, all clear', cache_control: { type: 'ephemeral' } }] },
      ] };
  }
  return { model, instructions: 'You are a weather bot.', tools: TOOLS_RESPONSES, store: false, input: [
    { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'Answer briefly.' }] },
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: Q }, { type: 'input_image', image_url: `data:image/png;base64,${PNG}` }] },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me check.' }] },
    { type: 'function_call', call_id: 'call_r1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
    { type: 'function_call', call_id: 'call_r2', name: 'get_time', arguments: '{"tz":"Europe/Oslo"}' },
    { type: 'function_call_output', call_id: 'call_r1', output: RESULT_A },
    { type: 'function_call_output', call_id: 'call_r2', output: RESULT_B },
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'echo:thanks, all clear' }] },
  ] };
}
const HISTORY_IDS = { chat: ['call_h1', 'call_h2'], messages: ['toolu_h1', 'toolu_h2'], responses: ['call_r1', 'call_r2'] };

const textOf = (c) => (typeof c === 'string' ? c : (c ?? []).filter((p) => p.type === 'text').map((p) => p.text).join('\n'));

function checkOpenAIVendorBody(body, client) {
  const ids = HISTORY_IDS[client];
  const m = body.messages;
  assert.equal(m[0].role, 'system', 'system prompt first');
  assert.match(textOf(m[0].content), /You are a weather bot\./);
  if (client === 'responses') assert.match(textOf(m[0].content), /Answer briefly\./, 'developer text joins the system prompt');
  assert.equal(m.filter((x) => x.role === 'system' || x.role === 'developer').length, 1, 'one system message');
  assert.deepEqual(m.slice(1).map((x) => x.role), ['user', 'assistant', 'tool', 'tool', 'user']);
  const parts = m[1].content;
  assert.ok(Array.isArray(parts), 'a user turn with an image is a parts array');
  assert.deepEqual(parts.find((p) => p.type === 'text')?.text, Q);
  assert.equal(parts.find((p) => p.type === 'image_url')?.image_url?.url, `data:image/png;base64,${PNG}`, 'image as a data URI');
  assert.equal(textOf(m[2].content), 'Let me check.');
  assert.deepEqual(m[2].tool_calls.map((c) => [c.id, c.type, c.function.name, JSON.parse(c.function.arguments)]),
    [[ids[0], 'function', 'get_weather', { city: 'Oslo' }], [ids[1], 'function', 'get_time', { tz: 'Europe/Oslo' }]]);
  assert.equal(m[3].tool_call_id, ids[0]);
  assert.equal(textOf(m[3].content), RESULT_A);
  assert.equal(m[4].tool_call_id, ids[1]);
  assert.equal(textOf(m[4].content), RESULT_B);
  assert.equal(textOf(m[5].content), 'echo:thanks, all clear');
  assert.deepEqual(body.tools.map((t) => [t.type, t.function.name, t.function.parameters.required]), [['function', 'get_weather', ['city']], ['function', 'get_time', ['tz']]]);
  const txt = JSON.stringify(body);
  for (const f of ['cache_control', '"thinking"', '"signature"', 'input_schema', 'tool_use', 'tool_result', '"instructions"', '"input"'])
    assert.ok(!txt.includes(f), `${f} does not reach an OpenAI vendor`);
}

function checkAnthropicVendorBody(body, client) {
  const ids = HISTORY_IDS[client];
  const sys = typeof body.system === 'string' ? body.system : body.system.map((b) => b.text).join('\n\n');
  assert.match(sys, /You are a weather bot\./, 'system prompt at the top level');
  if (client === 'responses') assert.match(sys, /Answer briefly\./);
  assert.ok(Number.isInteger(body.max_tokens) && body.max_tokens > 0, 'max_tokens set');
  const m = body.messages;
  assert.deepEqual(m.map((x) => x.role), ['user', 'assistant', 'user'], 'strictly alternating turns, no system role');
  const c0 = m[0].content;
  assert.ok(c0.some((b) => b.type === 'text' && b.text === Q));
  assert.deepEqual(c0.find((b) => b.type === 'image')?.source, { type: 'base64', media_type: 'image/png', data: PNG }, 'image as a base64 block');
  const c1 = m[1].content.filter((b) => b.type !== 'thinking');
  assert.deepEqual(c1.map((b) => b.type), ['text', 'tool_use', 'tool_use']);
  assert.equal(c1[0].text, 'Let me check.');
  assert.deepEqual(c1.slice(1).map((b) => [b.id, b.name, b.input]), [[ids[0], 'get_weather', { city: 'Oslo' }], [ids[1], 'get_time', { tz: 'Europe/Oslo' }]]);
  const c2 = m[2].content;
  assert.deepEqual(c2.map((b) => b.type), ['tool_result', 'tool_result', 'text'], 'tool results first, then the text');
  assert.deepEqual(c2.slice(0, 2).map((b) => b.tool_use_id), ids);
  assert.equal(textOf(c2[0].content), RESULT_A);
  assert.equal(textOf(c2[1].content), RESULT_B);
  assert.equal(c2[2].text, 'echo:thanks, all clear');
  assert.deepEqual(body.tools.map((t) => [t.name, t.input_schema.required]), [['get_weather', ['city']], ['get_time', ['tz']]]);
}

function checkGeminiVendorBody(body, client) {
  const sys = body.systemInstruction.parts.map((p) => p.text).join('\n\n');
  assert.match(sys, /You are a weather bot\./, 'system prompt as systemInstruction');
  if (client === 'responses') assert.match(sys, /Answer briefly\./);
  const c = body.contents;
  assert.deepEqual(c.map((x) => x.role), ['user', 'model', 'user']);
  assert.ok(c[0].parts.some((p) => p.text === Q));
  assert.deepEqual(c[0].parts.find((p) => p.inlineData)?.inlineData, { mimeType: 'image/png', data: PNG }, 'image as inlineData');
  const calls = c[1].parts.filter((p) => p.functionCall);
  assert.ok(c[1].parts.some((p) => p.text === 'Let me check.'));
  assert.deepEqual(calls.map((p) => [p.functionCall.name, p.functionCall.args]), [['get_weather', { city: 'Oslo' }], ['get_time', { tz: 'Europe/Oslo' }]]);
  for (const p of calls) assert.equal(typeof p.thoughtSignature, 'string', 'a gemini-3 model needs a signature on every call');
  const resp = c[2].parts.filter((p) => p.functionResponse);
  assert.deepEqual(resp.map((p) => p.functionResponse.name), ['get_weather', 'get_time'], 'responses named after their calls, same order');
  assert.deepEqual(resp[0].functionResponse.response, JSON.parse(RESULT_A), 'a JSON object result is passed as the object');
  assert.equal(typeof resp[1].functionResponse.response, 'object');
  assert.ok(JSON.stringify(resp[1].functionResponse.response).includes(RESULT_B), 'a text result is wrapped in an object');
  assert.equal(c[2].parts.at(-1).text, 'echo:thanks, all clear');
  assert.deepEqual(body.tools[0].functionDeclarations.map((d) => d.name), ['get_weather', 'get_time']);
}

for (const client of CLIENTS) {
  test(`history: a ${client} conversation with tool calls, results and an image reaches every vendor in its own dialect`, async () => {
    for (const dialect of DIALECTS) {
      const body = historyBody(client, `to-${dialect}`);
      for (const stream of [false, true]) {
        const a = await ask(client, body, { stream });
        assert.equal(a.text, 'thanks, all clear', `${client} -> ${dialect} (${stream ? 'stream' : 'non-stream'}): the vendor saw the last user text`);
      }
      const got = (await stack.vendor(VENDOR_OF[dialect]).stats()).last_request;
      if (dialect === 'openai') {
        assert.equal(got.url, '/v1/chat/completions');
        assert.equal(got.body.model, 'm-v1');
        if (client === 'chat') assert.deepEqual(got.body.messages, body.messages, 'chat to an OpenAI vendor: messages unchanged');
        checkOpenAIVendorBody(got.body, client);
      } else if (dialect === 'anthropic') {
        assert.match(got.url, /^\/v1\/messages/);
        assert.equal(got.body.model, 'm-v2');
        if (client === 'messages') {
          const { model: _m, stream: _s, ...rest } = got.body;
          const { model: _m2, ...sent } = body;
          assert.deepEqual(rest, sent, 'Messages to an Anthropic vendor: the body passes unchanged but for the model');
        }
        checkAnthropicVendorBody(got.body, client);
      } else {
        assert.match(got.url, /^\/v1beta\/models\/gemini-3-flash:streamGenerateContent\?alt=sse$/);
        checkGeminiVendorBody(got.body, client);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// 5. Gemini thought signatures survive the round trip through client tool-call ids
// ---------------------------------------------------------------------------------------------

// Real signatures are long base64 strings with + / and padding.
const SIG_A = `CiQB${'x9+/Qz'.repeat(60)}Ab==`;
const SIG_B = `CiQB${'Lm/+7k'.repeat(45)}w=`;

test('Gemini thought signatures: an OpenAI client sends the ids back, the vendor gets its exact signatures', async () => {
  const v3 = stack.vendor('v3');
  await v3.mode({ mode: 'answer', times: 1, answer: { function_calls: [
    { name: 'get_weather', args: { city: 'Oslo' }, thought_signature: SIG_A },
    { name: 'get_time', args: { tz: 'Europe/Oslo' }, thought_signature: SIG_B }] } });
  const first = await ask('chat', { model: 'to-gemini', tools: TOOLS_CHAT, messages: [{ role: 'user', content: Q }] });
  assert.equal(first.finish, 'tool_calls');
  const [a, b] = first.raw.choices[0].message.tool_calls;
  const r = await stack.chat({ model: 'to-gemini', tools: TOOLS_CHAT, messages: [
    { role: 'user', content: Q },
    { role: 'assistant', content: null, tool_calls: [a, b] },
    { role: 'tool', tool_call_id: a.id, content: RESULT_A },
    { role: 'tool', tool_call_id: b.id, content: RESULT_B },
  ] });
  assert.equal(r.status, 200, r.text);
  const st = await v3.stats();
  const model = st.last_request.body.contents[1];
  assert.equal(model.role, 'model');
  assert.deepEqual(model.parts.filter((p) => p.functionCall).map((p) => p.thoughtSignature), [SIG_A, SIG_B], 'the exact signatures the vendor issued');
  assert.equal(r.json.choices[0].message.content, 'v3 says hello');
});

test('Gemini thought signatures: an Anthropic client (streaming) sends tool_use ids back, the vendor gets its own signatures', async () => {
  const v3 = stack.vendor('v3');
  await v3.mode({ mode: 'answer', times: 1, answer: { text: 'Looking.', function_calls: [{ name: 'get_weather', args: { city: 'Oslo' } }, { name: 'get_time', args: { tz: 'Europe/Oslo' } }] } });
  const first = await ask('messages', { model: 'to-gemini', max_tokens: 512, tools: TOOLS_MESSAGES, messages: [{ role: 'user', content: Q }] }, { stream: true });
  assert.equal(first.stop_reason, 'tool_use');
  const uses = first.blocks.filter((x) => x.type === 'tool_use');
  assert.equal(uses.length, 2);
  const r = await send('messages', { model: 'to-gemini', max_tokens: 512, tools: TOOLS_MESSAGES, messages: [
    { role: 'user', content: Q },
    { role: 'assistant', content: first.blocks.map((x) => (x.type === 'tool_use' ? { type: 'tool_use', id: x.id, name: x.name, input: x.input } : { type: 'text', text: x.text })) },
    { role: 'user', content: uses.map((u, i) => ({ type: 'tool_result', tool_use_id: u.id, content: i ? RESULT_B : RESULT_A })) },
  ] }, { stream: true });
  const second = readMessagesStream(r);
  assert.equal(second.text, 'v3 says hello');
  const body = (await v3.stats()).last_request.body;
  const sigs = body.contents[1].parts.filter((p) => p.functionCall).map((p) => p.thoughtSignature);
  // The fake signs call k of its n-th answer as sig-<name>-<n>-<k>.
  assert.match(sigs[0] ?? '', /^sig-get_weather-(\d+)-0$/, `signature of call 0: ${sigs[0]}`);
  assert.match(sigs[1] ?? '', /^sig-get_time-(\d+)-1$/, `signature of call 1: ${sigs[1]}`);
  assert.equal(sigs[0].split('-')[2], sigs[1].split('-')[2], 'both from the same answer');
});

test('Gemini thought signatures: a Responses client sends call_ids back, the vendor gets its exact signatures', async () => {
  const v3 = stack.vendor('v3');
  await v3.mode({ mode: 'answer', times: 1, answer: { function_calls: [
    { name: 'get_weather', args: { city: 'Oslo' }, thought_signature: SIG_A },
    { name: 'get_time', args: { tz: 'Europe/Oslo' }, thought_signature: SIG_B }] } });
  const first = await ask('responses', { model: 'to-gemini', tools: TOOLS_RESPONSES, input: Q }, { stream: true });
  const calls = first.raw.output.filter((i) => i.type === 'function_call');
  assert.equal(calls.length, 2);
  const r = await send('responses', { model: 'to-gemini', tools: TOOLS_RESPONSES, input: [
    { type: 'message', role: 'user', content: Q },
    ...calls.map((c) => ({ type: 'function_call', call_id: c.call_id, name: c.name, arguments: c.arguments })),
    ...calls.map((c, i) => ({ type: 'function_call_output', call_id: c.call_id, output: i ? RESULT_B : RESULT_A })),
  ] });
  assert.equal(readResponses(r).text, 'v3 says hello');
  const body = (await v3.stats()).last_request.body;
  assert.deepEqual(body.contents[1].parts.filter((p) => p.functionCall).map((p) => p.thoughtSignature), [SIG_A, SIG_B]);
});

for (const model of ['to-gemini25', 'to-gemini']) {
  test(`Gemini function-call ids (${model === 'to-gemini' ? 'gemini-3, signed' : 'gemini-2.5, unsigned'}): ids Gemini gave its calls come back as functionCall.id / functionResponse.id (vendors.md 5.2)`, async () => {
    const v3 = stack.vendor('v3');
    await v3.mode({ mode: 'answer', times: 1, answer: { function_calls: [
      { name: 'get_weather', args: { city: 'Oslo' }, id: 'fc_weather_1', ...(model === 'to-gemini' ? { thought_signature: SIG_A } : {}) },
      { name: 'get_time', args: { tz: 'Europe/Oslo' }, id: 'fc_time_2', ...(model === 'to-gemini' ? { thought_signature: SIG_B } : {}) }] } });
    const first = await ask('chat', { model, tools: TOOLS_CHAT, messages: [{ role: 'user', content: Q }] });
    const calls = first.raw.choices[0].message.tool_calls;
    assert.equal(calls.length, 2);
    const r = await stack.chat({ model, tools: TOOLS_CHAT, messages: [
      { role: 'user', content: Q },
      { role: 'assistant', content: null, tool_calls: calls },
      { role: 'tool', tool_call_id: calls[0].id, content: RESULT_A },
      { role: 'tool', tool_call_id: calls[1].id, content: RESULT_B },
    ] });
    assert.equal(r.status, 200, r.text);
    const c = (await v3.stats()).last_request.body.contents;
    assert.deepEqual(c[1].parts.filter((p) => p.functionCall).map((p) => p.functionCall.id), ['fc_weather_1', 'fc_time_2'], `${model}: call ids echoed`);
    assert.deepEqual(c[2].parts.filter((p) => p.functionResponse).map((p) => p.functionResponse.id), ['fc_weather_1', 'fc_time_2'], `${model}: response ids echoed`);
    if (model === 'to-gemini') assert.deepEqual(c[1].parts.filter((p) => p.functionCall).map((p) => p.thoughtSignature), [SIG_A, SIG_B]);
  });
}

test('history: thinking the gateway made from another vendor\'s reasoning is not sent to an Anthropic vendor', async () => {
  // Turn 1 via an OpenAI vendor: reasoning_content becomes a thinking block without a real signature.
  await stack.vendor('v1').mode({ mode: 'answer', times: 1, answer: { reasoning: 'Look it up.', text: 'Checking.',
    tool_calls: [{ id: 'call_x1', name: 'get_weather', arguments: { city: 'Oslo' } }] } });
  const first = await ask('messages', { model: 'to-openai', max_tokens: 512, tools: TOOLS_MESSAGES, messages: [{ role: 'user', content: Q }] });
  assert.deepEqual(first.blocks.map((b) => b.type), ['thinking', 'text', 'tool_use']);
  // Turn 2, as Claude Code would send it, to an Anthropic vendor.
  const r = await send('messages', { model: 'to-anthropic', max_tokens: 512, tools: TOOLS_MESSAGES, messages: [
    { role: 'user', content: Q },
    { role: 'assistant', content: first.blocks },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_x1', content: RESULT_A }, { type: 'text', text: 'echo:ok' }] },
  ] });
  assert.equal(readMessages(r).text, 'ok');
  const sent = (await stack.vendor('v2').stats()).last_request.body.messages[1].content;
  assert.deepEqual(sent.map((b) => b.type), ['text', 'tool_use'], 'the unsigned thinking block is left out, the rest kept');
});

// ---------------------------------------------------------------------------------------------
// 6. Errors in the client's dialect
// ---------------------------------------------------------------------------------------------

function assertAnthropicError(r, status, type) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(r.json?.type, 'error', `Anthropic error shape expected: ${r.text}`);
  assert.equal(r.json.error?.type, type, r.text);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok(r.json.error.message.length > 0);
  return r.json.error;
}

function assertOpenAIError(r, status, { type, code } = {}) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  assert.ok(r.json?.error && typeof r.json.error === 'object', `OpenAI error shape expected: ${r.text}`);
  assert.notEqual(r.json.type, 'error', 'not the Anthropic shape');
  assert.equal(typeof r.json.error.message, 'string');
  if (type) assert.equal(r.json.error.type, type, r.text);
  if (code) assert.equal(r.json.error.code, code, r.text);
  return r.json.error;
}

async function allQuotaExhausted() {
  await stack.vendor('v1').mode('402');
  await stack.vendor('v2').mode('quota');
  await stack.vendor('v3').mode('quota');
}

test('errors: every provider out of quota -> chat and Responses 429 insufficient_quota, Messages 402 billing_error', async () => {
  await allQuotaExhausted();
  const chat = await send('chat', simpleBody('chat', 'trio', 'hi'));
  assertOpenAIError(chat, 429, { type: 'insufficient_quota', code: 'insufficient_quota' });
  assert.equal(chat.headers['x-lingmo-attempts'], 'v1=402;v2=402;v3=429', 'all three dialects were tried');

  await stack.resetVendors();
  await allQuotaExhausted();
  const msg = await send('messages', simpleBody('messages', 'trio', 'hi'), { stream: true });
  // A streaming client that gets an error before any byte gets a whole JSON error.
  assert.equal(msg.status, 402, msg.text);
  const parsed = { status: msg.status, headers: msg.headers, text: msg.text, json: JSON.parse(msg.text) };
  assertAnthropicError(parsed, 402, 'billing_error');

  await stack.resetVendors();
  await allQuotaExhausted();
  const resp = await send('responses', simpleBody('responses', 'trio', 'hi'));
  assertOpenAIError(resp, 429, { type: 'insufficient_quota', code: 'insufficient_quota' });
});

test('errors: every provider overloaded -> Messages 529 overloaded_error, chat 503 (vendors.md 6.2)', async () => {
  const overload = async () => {
    await stack.vendor('v1').mode({ mode: 'custom', status: 503, body: { error: { message: 'The engine is currently overloaded', type: 'server_error' } } });
    await stack.vendor('v2').mode('529');
    await stack.vendor('v3').mode('503');
  };
  await overload();
  const m = await send('messages', simpleBody('messages', 'trio', 'hi'));
  await stack.resetVendors();
  await overload();
  const c = await send('chat', simpleBody('chat', 'trio', 'hi'));
  assert.equal(m.headers['x-lingmo-attempts'], 'v1=503;v2=529;v3=503');
  assert.deepEqual([m.status, m.json?.error?.type, c.status], [529, 'overloaded_error', 503],
    `Messages: ${m.status} ${m.text.slice(0, 120)} / chat: ${c.status} ${c.text.slice(0, 120)}`);
  assertAnthropicError(m, 529, 'overloaded_error');
  assertOpenAIError(c, 503);
});

test('errors: every provider rate limited -> Messages 429 rate_limit_error, chat 429, both with retry-after', async () => {
  const limit = async () => {
    await stack.vendor('v1').mode('rate_limit');
    await stack.vendor('v2').mode('429');
    await stack.vendor('v3').mode('429');
  };
  await limit();
  const m = await send('messages', simpleBody('messages', 'trio', 'hi'));
  assert.equal(m.headers['x-lingmo-attempts'], 'v1=429;v2=429;v3=429');
  assertAnthropicError(m, 429, 'rate_limit_error');
  await stack.resetVendors();
  await limit();
  const c = await send('chat', simpleBody('chat', 'trio', 'hi'));
  assertOpenAIError(c, 429, { code: 'rate_limit_exceeded' });
  for (const [what, r] of [['messages', m], ['chat', c]])
    assert.match(r.headers['retry-after'] ?? '', /^\d+$/, `${what}: the vendors said when to retry, the client is told (retry-after)`);
});

test('errors: a vendor 400 is not failed over and is reworded in the client dialect', async () => {
  // Messages client, OpenAI vendor first: the OpenAI error becomes an Anthropic error.
  await stack.vendor('v1').mode({ mode: '400', times: 1 });
  const m = await send('messages', simpleBody('messages', 'trio', 'hi'));
  const e = assertAnthropicError(m, 400, 'invalid_request_error');
  assert.match(e.message, /temperature/, 'the vendor message is kept');
  assert.equal(m.headers['x-lingmo-attempts'], 'v1=400', 'no failover on a 400');
  assert.equal((await stack.vendor('v2').stats()).requests, 0);

  // Chat client, Anthropic vendor: the Anthropic error becomes an OpenAI error.
  await stack.vendor('v2').mode({ mode: '400', times: 1 });
  const c = await send('chat', simpleBody('chat', 'to-anthropic', 'hi'));
  const ce = assertOpenAIError(c, 400, { type: 'invalid_request_error' });
  assert.match(ce.message, /max_tokens/);

  // Messages client, Gemini vendor.
  await stack.vendor('v3').mode({ mode: '400', times: 1 });
  const g = await send('messages', simpleBody('messages', 'to-gemini', 'hi'), { stream: true });
  assertAnthropicError({ ...g, json: JSON.parse(g.text) }, 400, 'invalid_request_error');

  // Responses client, Anthropic vendor.
  await stack.vendor('v2').mode({ mode: '400', times: 1 });
  const r = await send('responses', simpleBody('responses', 'to-anthropic', 'hi'));
  const re = assertOpenAIError(r, 400, { type: 'invalid_request_error' });
  assert.match(re.message, /max_tokens/);
});

test('errors: unknown model -> 404 not_found_error for Anthropic clients, model_not_found for OpenAI clients', async () => {
  const m = await send('messages', simpleBody('messages', 'no-such-model', 'hi'));
  assertAnthropicError(m, 404, 'not_found_error');
  const ms = await send('messages', simpleBody('messages', 'no-such-model', 'hi'), { stream: true, query: '?beta=true' });
  assertAnthropicError({ ...ms, json: JSON.parse(ms.text) }, 404, 'not_found_error');
  const c = await send('chat', simpleBody('chat', 'no-such-model', 'hi'));
  assertOpenAIError(c, 404, { code: 'model_not_found' });
  const r = await send('responses', simpleBody('responses', 'no-such-model', 'hi'));
  assertOpenAIError(r, 404, { code: 'model_not_found' });
  for (const i of [1, 2, 3, 4]) assert.equal((await stack.vendor(i).stats()).requests, 0);
});

test('errors: a missing or wrong key -> 401 authentication_error for Anthropic clients, OpenAI shape for chat', async () => {
  const none = await send('messages', simpleBody('messages', 'to-anthropic', 'hi'), { key: null });
  assertAnthropicError(none, 401, 'authentication_error');
  const wrong = await send('messages', simpleBody('messages', 'to-anthropic', 'hi'), { key: null, headers: { 'x-api-key': 'lm-wrong-0000000000000000' } });
  assertAnthropicError(wrong, 401, 'authentication_error');
  const count = await stack.gw({ method: 'POST', path: '/v1/messages/count_tokens', key: null, headers: ANTHROPIC,
    body: { model: 'to-anthropic', messages: [{ role: 'user', content: 'hi' }] } });
  assertAnthropicError(count, 401, 'authentication_error');
  const chat = await send('chat', simpleBody('chat', 'to-anthropic', 'hi'), { key: null });
  const e = assertOpenAIError(chat, 401);
  assert.match(e.message, /API key/);
  const resp = await send('responses', simpleBody('responses', 'to-anthropic', 'hi'), { key: null });
  assertOpenAIError(resp, 401);
  // The gateway key works in x-api-key too.
  const ok = await send('messages', simpleBody('messages', 'to-anthropic', 'echo:fine'), { key: null, headers: { 'x-api-key': stack.key } });
  assert.equal(readMessages(ok).text, 'fine');
  assert.equal((await stack.vendor('v2').stats()).requests, 1, 'only the authenticated request reached the vendor');
});

test('errors: a stream that fails after content ends with an error in the client dialect, without the normal ending', async () => {
  // Anthropic client, Anthropic vendor (passthrough): the vendor's own error event.
  await stack.vendor('v2').mode({ mode: 'error_mid_stream', chunks: 2, delay_ms: 60, times: 1 });
  const a = readMessagesStream(await send('messages', simpleBody('messages', 'to-anthropic', 'hi'), { stream: true }), { allowError: true });
  assert.ok(a.error, 'an error event');
  assert.equal(a.error.type, 'error');
  assert.equal(typeof a.error.error?.type, 'string');
  assert.ok(a.text.length > 0, 'the content before the failure was relayed');

  // Anthropic client, OpenAI vendor that resets mid-stream.
  await stack.vendor('v1').mode({ mode: 'reset_mid_stream', chunks: 2, delay_ms: 60, times: 1 });
  const b = readMessagesStream(await send('messages', simpleBody('messages', 'to-openai', 'hi'), { stream: true }), { allowError: true });
  assert.ok(b.error, 'an error event');
  assert.equal(b.error.type, 'error');
  assert.equal(typeof b.error.error?.type, 'string');
  assert.equal(b.text, 'v1-chunk-0 v1-chunk-1 ');

  // Responses client, Gemini vendor that resets mid-stream.
  await stack.vendor('v3').mode({ mode: 'reset_mid_stream', chunks: 2, delay_ms: 60, times: 1 });
  const rs = await send('responses', simpleBody('responses', 'to-gemini', 'hi'), { stream: true });
  const c = readResponsesStream(rs, { allowError: true });
  assert.ok(c.error, `an error event: ${rs.text.slice(-400)}`);
  assert.ok(c.text.length > 0, 'the content before the failure was relayed');
  assert.ok(!c.types.has('response.completed'));

  // Chat client, Anthropic vendor with an error event.
  await stack.vendor('v2').mode({ mode: 'error_mid_stream', chunks: 2, delay_ms: 60, times: 1 });
  const s = await send('chat', simpleBody('chat', 'to-anthropic', 'hi'), { stream: true });
  assert.equal(s.status, 200);
  const lastData = s.sse.at(-1).data;
  assert.ok(lastData && typeof lastData === 'object' && lastData.error, `last event is a data: {"error"} chunk: ${s.text.slice(-300)}`);
  assert.equal(typeof lastData.error.message, 'string');
  assert.ok(!s.sse.some((e) => e.data === '[DONE]'), 'no [DONE] after an error');
  const content = s.sse.filter((e) => e.data?.choices).map((e) => e.data.choices[0]?.delta?.content ?? '').join('');
  assert.ok(content.length > 0, 'content before the failure was relayed');
});

// ---------------------------------------------------------------------------------------------
// 7. Invisible failover across dialects
// ---------------------------------------------------------------------------------------------

test('failover: an overloaded Anthropic provider is replaced by a Gemini one without a trace (Messages stream)', async () => {
  await stack.vendor('v2').mode({ mode: '529', times: 1 });
  const s = await send('messages', simpleBody('messages', 'fo', 'echo:served elsewhere'), { stream: true });
  assert.equal(s.headers['x-lingmo-attempts'], 'fo-a=529;fo-g=ok');
  assert.equal(s.headers['x-lingmo-provider'], 'fo-g');
  const a = readMessagesStream(s);
  assert.equal(a.text, 'served elsewhere');
  assert.ok(!/overloaded|req_fake_v2/i.test(s.text), 'nothing of the failed attempt reaches the client');
  assert.equal((await stack.vendor('v2').stats()).requests, 1);
  assert.match((await stack.vendor('v3').stats()).last_request.url, /gemini-2\.5-flash:streamGenerateContent/);

  // Non-stream too.
  await stack.vendor('v2').mode({ mode: '529', times: 1 });
  const w = await ask('messages', simpleBody('messages', 'fo', 'echo:whole answer'));
  assert.equal(w.text, 'whole answer');
  assert.equal(w.headers['x-lingmo-attempts'], 'fo-a=529;fo-g=ok');
});

test('failover: an Anthropic stream that resets before any content is replaced invisibly (chat and Messages clients)', async () => {
  await stack.vendor('v2').mode({ mode: 'reset_mid_stream', chunks: 0, times: 1 });
  const c = await send('chat', simpleBody('chat', 'fo', 'echo:second try'), { stream: true });
  assert.match(c.headers['x-lingmo-attempts'], /^fo-a=[^;]+;fo-g=ok$/);
  const a = readChatStream(c);  // one role chunk, one id, one [DONE]
  assert.equal(a.text, 'second try');

  await stack.vendor('v2').mode({ mode: 'reset_mid_stream', chunks: 0, times: 1 });
  const m = await send('messages', simpleBody('messages', 'fo', 'echo:second try'), { stream: true });
  assert.match(m.headers['x-lingmo-attempts'], /^fo-a=[^;]+;fo-g=ok$/);
  const b = readMessagesStream(m);  // exactly one message_start
  assert.equal(b.text, 'second try');
  assert.ok(!m.text.includes('m-fo-a'), 'no event of the first attempt');
});

test('failover: Anthropic and Gemini both fail, an OpenAI provider serves the Responses stream', async () => {
  await stack.vendor('v2').mode({ mode: '529', times: 1 });
  await stack.vendor('v3').mode({ mode: '503', times: 1 });
  const s = await send('responses', simpleBody('responses', 'fo', 'echo:third time lucky'), { stream: true });
  assert.equal(s.headers['x-lingmo-attempts'], 'fo-a=529;fo-g=503;fo-o=ok');
  const a = readResponsesStream(s);  // one response.created, contiguous sequence numbers
  assert.equal(a.text, 'third time lucky');
  assert.equal((await stack.vendor('v1').stats()).last_request.body.model, 'm-fo-o');
});

// ---------------------------------------------------------------------------------------------
// 8. Embeddings
// ---------------------------------------------------------------------------------------------

test('embeddings: served by an OpenAI-dialect provider and metered', async () => {
  const base = await allUsage();
  const input = ['hello world', 'x'.repeat(40)];
  const r = await stack.gw({ method: 'POST', path: '/v1/embeddings', body: { model: 'emb', input } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.object, 'list');
  assert.equal(r.json.data.length, 2);
  assert.equal(r.json.data[1].index, 1);
  assert.equal(r.json.data[0].embedding.length, 8);
  assert.equal(r.json.usage.prompt_tokens, 13);  // ceil(11/4) + 40/4
  assert.equal(r.headers['x-lingmo-provider'], 'v1');
  const got = (await stack.vendor('v1').stats()).last_request;
  assert.equal(got.url, '/v1/embeddings');
  assert.equal(got.body.model, 'emb-v1');
  assert.deepEqual(got.body.input, input);
  await expectUsageDelta(base, 'v1', { requests: 1, prompt_tokens: 13, total_tokens: 13 });
});

test('embeddings: a vendor 500 fails over to the next OpenAI-dialect provider', async () => {
  await stack.vendor('v1').mode({ mode: '500', times: 1 });
  const r = await stack.gw({ method: 'POST', path: '/v1/embeddings', body: { model: 'emb', input: 'fail me over' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=500;v4=ok');
  assert.equal(r.json.data.length, 1);
  assert.equal((await stack.vendor('v4').stats()).embeddings_requests, 1);
});

test('embeddings: a model served only by Anthropic/Gemini providers -> 503 explaining the dialect has no such endpoint', async () => {
  const r = await stack.gw({ method: 'POST', path: '/v1/embeddings', body: { model: 'emb-none', input: 'hi' } });
  const e = assertOpenAIError(r, 503);
  assert.match(e.message, /anthropic dialect has no such endpoint/);
  assert.match(e.message, /gemini dialect has no such endpoint/);
  const skipped = r.headers['x-lingmo-skipped'] ?? '';
  assert.match(skipped, /v2=unsupported_endpoint/);
  assert.match(skipped, /v3=unsupported_endpoint/);
  assert.equal((await stack.vendor('v2').stats()).requests, 0);
  assert.equal((await stack.vendor('v3').stats()).requests, 0);
});

// ---------------------------------------------------------------------------------------------
// 9. count_tokens
// ---------------------------------------------------------------------------------------------

function countBody(model, repeat) {
  return { model, system: 'You are terse.', tools: TOOLS_MESSAGES,
    messages: [{ role: 'user', content: 'The quick brown fox jumps over the lazy dog. '.repeat(repeat) }] };
}
const countTokens = (body) => stack.gw({ method: 'POST', path: '/v1/messages/count_tokens', headers: ANTHROPIC, body });

test('count_tokens: an Anthropic provider counts itself; other dialects get a local estimate that tracks the size', async () => {
  const v2 = stack.vendor('v2');
  const r = await countTokens(countBody('to-anthropic', 20));
  assert.equal(r.status, 200, r.text);
  const st = await v2.stats();
  assert.equal(st.count_tokens_requests, 1);
  assert.equal(st.requests, 0, 'not a generation request');
  const sent = st.last_count_tokens_request;
  assert.equal(sent.body.model, 'm-v2');
  assert.equal(sent.headers['x-api-key'], 'sk-v2');
  assert.equal(r.json.input_tokens, Math.ceil(JSON.stringify(sent.body).length / 4), 'the vendor count is returned');

  for (const dialect of ['openai', 'gemini']) {
    const small = await countTokens(countBody(`to-${dialect}`, 20));
    const big = await countTokens(countBody(`to-${dialect}`, 200));
    assert.equal(small.status, 200, small.text);
    assert.equal(big.status, 200, big.text);
    const n1 = small.json.input_tokens, n2 = big.json.input_tokens;
    assert.ok(Number.isInteger(n1) && n1 > 0, `${dialect}: a positive estimate (${n1})`);
    // The message grows tenfold; with the fixed system/tools part the count grows 4-15x.
    assert.ok(n2 > 4 * n1 && n2 < 15 * n1, `${dialect}: ${n1} -> ${n2} for 10x the message`);
    const onlyMsg = await countTokens({ model: `to-${dialect}`, messages: [{ role: 'user', content: 'abcd '.repeat(400) }] });
    const onlyMsg10 = await countTokens({ model: `to-${dialect}`, messages: [{ role: 'user', content: 'abcd '.repeat(4000) }] });
    const ratio = onlyMsg10.json.input_tokens / onlyMsg.json.input_tokens;
    assert.ok(ratio > 8 && ratio < 12, `${dialect}: 10x input -> ${ratio.toFixed(2)}x count`);
  }
  for (const v of ['v1', 'v3']) {
    const s = await stack.vendor(v).stats();
    assert.equal(s.requests, 0, `${v} was not asked to generate`);
  }
});

test('count_tokens adds no usage counters', async () => {
  const base = await allUsage();
  for (let i = 0; i < 4; i++) assert.equal((await countTokens(countBody('to-anthropic', 5))).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await countTokens(countBody('to-openai', 5))).status, 200);
  // One real request: once its usage is in, the count requests must not have added anything.
  const a = await ask('messages', simpleBody('messages', 'to-anthropic', 'echo:one two'));
  assert.equal(a.text, 'one two');
  await expectUsageDelta(base, 'v2', { requests: 1, prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 });
});

// ---------------------------------------------------------------------------------------------
// 10. Models list
// ---------------------------------------------------------------------------------------------

test('models: Anthropic list shape for Anthropic clients, OpenAI shape otherwise', async () => {
  const oa = await stack.gw({ path: '/v1/models' });
  assert.equal(oa.status, 200, oa.text);
  assert.equal(oa.json.object, 'list');
  const ids = oa.json.data.map((m) => m.id);
  for (const id of ['gpt-test', 'to-openai', 'to-anthropic', 'to-gemini', 'fo', 'emb']) assert.ok(ids.includes(id), `${id} listed`);
  for (const m of oa.json.data) assert.equal(m.object, 'model');
  assert.ok(!('has_more' in oa.json));

  for (const [what, opts] of [['anthropic-version', { headers: ANTHROPIC }], ['x-api-key', { key: null, headers: { 'x-api-key': stack.key } }]]) {
    const an = await stack.gw({ path: '/v1/models', ...opts });
    assert.equal(an.status, 200, an.text);
    assert.ok(!('object' in an.json), `${what}: not the OpenAI shape`);
    assert.equal(an.json.has_more, false);
    assert.deepEqual(an.json.data.map((m) => m.id), ids, `${what}: same models`);
    for (const m of an.json.data) {
      assert.equal(m.type, 'model');
      assert.equal(typeof m.display_name, 'string');
      assert.ok(!Number.isNaN(Date.parse(m.created_at)), `created_at is a date: ${m.created_at}`);
    }
    assert.equal(an.json.first_id, ids[0]);
    assert.equal(an.json.last_id, ids.at(-1));
  }
});

test('models/{id}: one model in the client\'s shape (the SDKs\' models.retrieve); unknown ids are 404 in that dialect', async () => {
  const oa = await stack.gw({ path: '/v1/models/to-gemini' });
  assert.equal(oa.status, 200, oa.text);
  assert.deepEqual([oa.json.id, oa.json.object], ['to-gemini', 'model']);
  const an = await stack.gw({ path: '/v1/models/to-gemini', headers: ANTHROPIC });
  assert.equal(an.status, 200, an.text);
  assert.deepEqual([an.json.id, an.json.type], ['to-gemini', 'model']);
  assert.match(an.headers['request-id'] || '', /^req_[0-9a-f]{24}$/);
  const missing = await stack.gw({ path: '/v1/models/no-such-model' });
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error.code, 'model_not_found');
  const missingAn = await stack.gw({ path: '/v1/models/no-such-model', headers: ANTHROPIC });
  assert.equal(missingAn.status, 404);
  assert.equal(missingAn.json.type, 'error');
  assert.equal(missingAn.json.error.type, 'not_found_error');
});
