// What real agent tools send (vendors.md section 7), end to end: Claude Code (Anthropic Messages,
// ?beta=true, x-api-key or Bearer, long anthropic-beta lists, ~50 KB bodies full of fields only
// Anthropic knows), Codex CLI (Responses API with developer role, namespace and web_search tools,
// reasoning items), OpenClaw (chat with max_completion_tokens, the developer role and cache_control
// on tools) and Qwen Code's Anthropic mode (thinking budget == max_tokens), each routed to vendors
// of other dialects and checked on the vendor side (a valid body of its dialect) and on the client
// side (a complete answer in the client's dialect). Bodies come from tests/fixtures/translate/requests/.
//
// Vendors: v1 openai, v2 anthropic, v3 gemini. Models: cc-openai (v1), cc-openai-capped (provider
// oa-cap on v1 with an 8192-token output ceiling), cc-anthropic (v2), cc-gemini (v3, gemini-3).
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, readStream, REPO } from './harness.mjs';

const FIXTURES = path.join(REPO, 'tests', 'fixtures', 'translate', 'requests');
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
const UPSTREAM = { 'cc-openai': 'deepseek-chat', 'cc-anthropic': 'claude-sonnet-4-5-20250929', 'cc-gemini': 'gemini-3-flash-preview' };

let stack;
before(async () => {
  stack = await startStack({
    dialects: ['openai', 'anthropic', 'gemini'],
    nginxConf: { clientMaxBodySize: '8m' },
    seed: async (st) => {
      const model = { v1: 'cc-openai', v2: 'cc-anthropic', v3: 'cc-gemini' };
      for (const [i, v] of st.vendors.entries()) {
        await st.admin('provider', 'add', '--id', v.name, '--base-url', v.baseUrl, '--api-key', v.key, '--dialect', v.dialect,
          '--model', `gpt-test=fake-${v.name}`, '--model', `${model[v.name]}=${UPSTREAM[model[v.name]]}`, '--priority', String(10 * (i + 1)));
      }
      const v1 = st.vendors[0];
      await st.admin('provider', 'add', '--id', 'oa-cap', '--base-url', v1.baseUrl, '--api-key', v1.key, '--dialect', 'openai',
        '--model', 'cc-openai-capped=deepseek-chat', '--max-output-tokens', '8192', '--priority', '5');
    },
  });
});
after(async () => { await stack?.stop(); });
beforeEach(async () => { await stack.resetVendors(); });
afterEach(() => { stack.checkLog(); });

// ---------------------------------------------------------------------------------------------
// Requests as the tools send them
// ---------------------------------------------------------------------------------------------

const CC_BETA = 'claude-code-20250219,oauth-2025-04-20,interleaved-thinking-2025-05-14,context-management-2025-06-27,' +
  'prompt-caching-scope-2026-01-05,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,' +
  'thinking-display-updates-2026-08-18,fine-grained-tool-streaming-2025-05-14,token-counting-2024-11-01';

// Claude Code's headers; `auth` 'x-api-key' (ANTHROPIC_API_KEY) or 'bearer' (ANTHROPIC_AUTH_TOKEN).
function ccHeaders(auth) {
  const h = {
    'anthropic-version': '2023-06-01',
    'anthropic-beta': CC_BETA,
    'anthropic-dangerous-direct-browser-access': 'true',
    'x-app': 'cli',
    'user-agent': 'claude-cli/2.1.332 (external, cli)',
    'x-claude-code-session-id': '4b8d2e61-7f3a-4c19-9e05-d2a6c8f41b73',
    'x-stainless-lang': 'js',
    'x-stainless-package-version': '0.70.0',
    'x-stainless-retry-count': '0',
    'x-stainless-timeout': '600',
  };
  if (auth === 'x-api-key') h['x-api-key'] = stack.key;
  else h.Authorization = `Bearer ${stack.key}`;
  return h;
}

function parseSse(s) {
  return s.events.map((e) => {
    const ev = /^event: ?(.*)$/m.exec(e.raw)?.[1];
    let data = e.data;
    try { data = JSON.parse(e.data); } catch { /* [DONE] */ }
    return { event: ev, data };
  });
}

async function post(p, body, headers, { stream = true } = {}) {
  if (!stream) return stack.gw({ method: 'POST', path: p, body, headers, key: null });
  const r = await stack.chat(body, { path: p, headers, key: null, stream: true });
  const s = await readStream(r);
  s.sse = parseSse(s);
  return s;
}

// Claude Code: always POST /v1/messages?beta=true, always streaming.
const claudeCode = (body, auth = 'x-api-key') => post('/v1/messages?beta=true', body, ccHeaders(auth));

// ---------------------------------------------------------------------------------------------
// Stream readers (strict about the event grammar each client relies on)
// ---------------------------------------------------------------------------------------------

function readAnthropicStream(s) {
  assert.equal(s.status, 200, s.text.slice(0, 2000));
  assert.match(s.headers['content-type'], /^text\/event-stream/);
  const evs = s.sse;
  for (const e of evs) assert.equal(e.event, e.data?.type, `event name = data.type: ${JSON.stringify(e).slice(0, 300)}`);
  assert.equal(evs[0].event, 'message_start');
  assert.equal(evs.filter((e) => e.event === 'message_start').length, 1);
  assert.equal(evs.at(-1).event, 'message_stop', `ends with message_stop: ${s.text.slice(-300)}`);
  const blocks = [];
  let open = null, stop = null, usage = null;
  for (const { event, data } of evs) {
    if (event === 'content_block_start') {
      assert.equal(open, null);
      assert.equal(data.index, blocks.length, 'sequential block indices');
      blocks.push({ ...data.content_block, json: '' });
      open = data.index;
    } else if (event === 'content_block_delta') {
      assert.equal(data.index, open);
      const b = blocks[open], d = data.delta;
      if (d.type === 'text_delta') b.text += d.text;
      else if (d.type === 'thinking_delta') b.thinking += d.thinking;
      else if (d.type === 'input_json_delta') b.json += d.partial_json;
    } else if (event === 'content_block_stop') {
      assert.equal(data.index, open);
      if (blocks[open].type === 'tool_use') blocks[open].input = blocks[open].json ? JSON.parse(blocks[open].json) : {};
      open = null;
    } else if (event === 'message_delta') {
      stop = data.delta.stop_reason;
      usage = data.usage;
    } else {
      assert.ok(['message_start', 'message_stop', 'ping'].includes(event), `unexpected event ${event}: ${JSON.stringify(data)}`);
    }
  }
  for (const b of blocks) delete b.json;
  return { blocks, stop, usage, text: blocks.filter((b) => b.type === 'text').map((b) => b.text).join('') };
}

function readChatStream(s) {
  assert.equal(s.status, 200, s.text.slice(0, 2000));
  assert.equal(s.sse.at(-1).data, '[DONE]', `ends with [DONE]: ${s.text.slice(-300)}`);
  let text = '', reasoning = '', finish = null, usage = null;
  const calls = [];
  for (const { data: c } of s.sse.slice(0, -1)) {
    assert.equal(c.object, 'chat.completion.chunk', JSON.stringify(c));
    if (c.usage) usage = c.usage;
    const ch = c.choices?.[0];
    if (!ch) continue;
    text += ch.delta?.content ?? '';
    reasoning += ch.delta?.reasoning_content ?? '';
    for (const t of ch.delta?.tool_calls ?? []) {
      if (!calls[t.index]) calls[t.index] = { id: t.id, name: t.function.name, arguments: '' };
      calls[t.index].arguments += t.function?.arguments ?? '';
    }
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  return { text, reasoning, finish, usage, calls };
}

// The Responses event set Codex needs, with consistent sequence numbers and items.
function readResponsesStream(s) {
  assert.equal(s.status, 200, s.text.slice(0, 2000));
  const evs = s.sse;
  evs.forEach((e, i) => {
    assert.equal(e.event, e.data?.type, `event name = data.type: ${JSON.stringify(e).slice(0, 300)}`);
    assert.equal(e.data.sequence_number, i, `sequence_number of event ${i}`);
  });
  assert.equal(evs[0].event, 'response.created');
  assert.equal(evs.at(-1).event, 'response.completed', `ends with response.completed: ${s.text.slice(-300)}`);
  const added = evs.filter((e) => e.event === 'response.output_item.added').map((e) => e.data.output_index);
  const done = evs.filter((e) => e.event === 'response.output_item.done').map((e) => e.data.output_index);
  assert.deepEqual([...done].sort(), [...added].sort(), 'every item added is done');
  const response = evs.at(-1).data.response;
  assert.equal(response.status, 'completed');
  assert.ok(response.usage && Number.isInteger(response.usage.input_tokens), 'usage on response.completed');
  return { types: new Set(evs.map((e) => e.event)), response, evs };
}

// ---------------------------------------------------------------------------------------------
// Claude Code
// ---------------------------------------------------------------------------------------------

// Everything under `v` (deep) that has key `k`.
function findKey(v, k, out = []) {
  if (Array.isArray(v)) v.forEach((x) => findKey(x, k, out));
  else if (v && typeof v === 'object') for (const [kk, vv] of Object.entries(v)) { if (kk === k) out.push(vv); findKey(vv, k, out); }
  return out;
}
const textOf = (c) => (typeof c === 'string' ? c : (c ?? []).filter((p) => p.type === 'text').map((p) => p.text).join('\n'));

test('Claude Code first turn (x-api-key, ?beta=true, 47 KB) to an OpenAI vendor: Anthropic-only fields dropped, tools and system converted', async () => {
  const cc = { ...fixture('claude_code_first_turn.json'), model: 'cc-openai' };
  assert.ok(JSON.stringify(cc).length > 40000);
  const v1 = stack.vendor('v1');
  await v1.mode({ mode: 'answer', answer: { text: 'Let me read it.', tool_calls: [{ id: 'call_r1', name: 'Read', arguments: { file_path: '/srv/app/README.md', limit: 200 } }] } });
  const s = await claudeCode(cc, 'x-api-key');
  assert.equal(s.headers['x-lingmo-provider'], 'v1');
  const a = readAnthropicStream(s);
  assert.deepEqual(a.blocks.map((b) => b.type), ['text', 'tool_use']);
  assert.equal(a.text, 'Let me read it.');
  assert.deepEqual(a.blocks[1], { type: 'tool_use', id: 'call_r1', name: 'Read', input: { file_path: '/srv/app/README.md', limit: 200 } });
  assert.equal(a.stop, 'tool_use');

  const got = (await v1.stats()).last_request;
  assert.equal(got.url, '/v1/chat/completions');
  assert.equal(got.headers.authorization, 'Bearer sk-v1', 'the vendor key, as OpenAI auth');
  for (const h of ['x-api-key', 'anthropic-beta', 'anthropic-version']) assert.equal(got.headers[h], undefined, `${h} not sent to an OpenAI vendor`);
  const b = got.body;
  assert.equal(b.model, 'deepseek-chat');
  const txt = JSON.stringify(b);
  for (const f of ['cache_control', 'defer_loading', 'output_config', 'context_management', 'clear_thinking_20251015', 'ephemeral'])
    assert.ok(!txt.includes(f), `${f} must not reach an OpenAI vendor`);
  for (const k of ['thinking', 'metadata', 'system', 'output_config', 'context_management', 'stop_sequences'])
    assert.ok(!(k in b), `top-level ${k} dropped`);
  assert.equal(b.max_tokens ?? b.max_completion_tokens, 32000, 'the output cap is kept');
  assert.equal(b.stream, true);
  assert.deepEqual(b.stream_options, { include_usage: true });
  assert.equal(b.temperature, 1);
  // System: the system blocks and the role:"system" message, as one system message first.
  assert.equal(b.messages[0].role, 'system');
  const sys = textOf(b.messages[0].content);
  assert.match(sys, /You are Claude Code/);
  assert.match(sys, /"Explanatory" output style/, 'the role:"system" message joins the system prompt');
  assert.equal(b.messages.filter((m) => m.role === 'system' || m.role === 'developer').length, 1);
  assert.deepEqual(b.messages.slice(1).map((m) => m.role), ['user']);
  const lastUser = cc.messages.at(-1).content.at(-1).text;
  assert.ok(textOf(b.messages[1].content).includes(lastUser), 'the prompt reaches the vendor');
  // Tools: every Claude Code tool as an OpenAI function with its schema.
  assert.equal(b.tools.length, cc.tools.length);
  cc.tools.forEach((t, i) => {
    const f = b.tools[i];
    assert.equal(f.type, 'function');
    assert.equal(f.function.name, t.name);
    assert.equal(f.function.description, t.description);
    assert.deepEqual(f.function.parameters, t.input_schema, `${t.name}: parameters = input_schema`);
  });
});

test('Claude Code tool turn (Bearer auth) to an OpenAI vendor: tool results paired, images kept, thinking dropped', async () => {
  const cc = { ...fixture('claude_code_tool_turn.json'), model: 'cc-openai' };
  const s = await claudeCode(cc, 'bearer');
  const a = readAnthropicStream(s);
  assert.equal(a.stop, 'end_turn');
  assert.equal(a.text, 'v1-chunk-0 v1-chunk-1 v1-chunk-2 ');
  const b = (await stack.vendor('v1').stats()).last_request.body;
  const roles = b.messages.map((m) => m.role);
  assert.equal(roles[0], 'system');
  // Every tool message answers a call of the closest assistant message before it.
  let calls = [];
  for (const m of b.messages) {
    if (m.role === 'assistant') calls = (m.tool_calls ?? []).map((c) => c.id);
    if (m.role === 'tool') assert.ok(calls.includes(m.tool_call_id), `tool message ${m.tool_call_id} follows its call`);
    if (m.role === 'user') calls = [];
  }
  const uses = cc.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((x) => x.type === 'tool_use');
  const sentCalls = b.messages.flatMap((m) => m.tool_calls ?? []);
  assert.deepEqual(sentCalls.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]), uses.map((u) => [u.id, u.name, u.input]));
  assert.equal(b.messages.filter((m) => m.role === 'tool').length, uses.length);
  // Images (the user's and the one a tool returned) as data URIs.
  const images = findKey(b.messages, 'image_url').map((x) => x.url ?? x);
  assert.equal(images.length, 2, `two images: ${images.map((u) => u.slice(0, 40))}`);
  for (const u of images) assert.match(u, /^data:image\/png;base64,iVBOR/);
  // The failed tool's text still reaches the model.
  const errResult = cc.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).find((x) => x.type === 'tool_result' && x.is_error);
  const errText = textOf(errResult.content);
  assert.ok(b.messages.some((m) => m.role === 'tool' && textOf(m.content).includes(errText.slice(0, 40))), 'an is_error result keeps its text');
  const txt = JSON.stringify(b);
  for (const f of ['cache_control', '"signature"', '"thinking"', 'tool_use_id', 'reasoning_content'])
    assert.ok(!txt.includes(f), `${f} must not reach an OpenAI vendor`);
  assert.deepEqual(b.stop, ['\n\nHuman:'], 'stop_sequences -> stop');
});

for (const auth of ['x-api-key', 'bearer']) {
  test(`Claude Code to an Anthropic vendor (${auth}): passthrough with the vendor key, betas forwarded, body unchanged but the model`, async () => {
    const v2 = stack.vendor('v2');
    const cc = { ...fixture('claude_code_tool_turn.json'), model: 'cc-anthropic' };
    await v2.mode({ mode: 'answer', times: 1, answer: { thinking: 'Reading the file first.', signature: 'sig-vendor-77', text: 'On it.',
      tool_calls: [{ id: 'toolu_01Pass', name: 'Read', input: { file_path: '/srv/app/a.py' } }],
      usage: { input_tokens: 12, output_tokens: 30, cache_read_input_tokens: 20000, cache_creation_input_tokens: 1500 } } });
    const s = await claudeCode(cc, auth);
    const a = readAnthropicStream(s);
    assert.deepEqual(a.blocks.map((b) => b.type), ['thinking', 'text', 'tool_use']);
    assert.equal(a.blocks[0].thinking, 'Reading the file first.');
    assert.ok(s.text.includes('"signature":"sig-vendor-77"'), 'the vendor signature reaches the client');
    assert.equal(a.blocks[2].id, 'toolu_01Pass');
    assert.deepEqual(a.blocks[2].input, { file_path: '/srv/app/a.py' });
    assert.equal(a.stop, 'tool_use');
    assert.equal(a.usage.cache_read_input_tokens, 20000);
    assert.equal(a.usage.cache_creation_input_tokens, 1500);

    const got = (await v2.stats()).last_request;
    assert.match(got.url, /^\/v1\/messages(\?|$)/);
    assert.equal(got.headers['x-api-key'], 'sk-v2', 'the VENDOR key, not the gateway key');
    assert.ok(!JSON.stringify(got.headers).includes(stack.key), 'the gateway key appears in no header');
    assert.equal(got.headers['anthropic-beta'], CC_BETA, 'anthropic-beta forwarded as sent');
    assert.equal(got.headers['anthropic-version'], '2023-06-01');
    assert.equal(got.body.model, UPSTREAM['cc-anthropic']);
    const { model: _a, ...sent } = cc;
    const { model: _b, ...received } = got.body;
    assert.deepEqual(received, sent, 'the body passes unchanged (cache_control, thinking signatures, context_management, ...)');
  });
}

test('Claude Code first turn with a role:"system" message to an Anthropic vendor: the vendor gets a valid body, the rest unchanged', async () => {
  // Real Anthropic refuses any role but user/assistant in messages: the system message has to join `system`.
  const cc = { ...fixture('claude_code_first_turn.json'), model: 'cc-anthropic' };
  const sysMsg = cc.messages.find((m) => m.role === 'system');
  assert.ok(sysMsg, 'the fixture has a role:"system" message');
  const s = await claudeCode(cc);
  const a = readAnthropicStream(s);
  assert.equal(a.text, 'v2 says hello');
  const got = (await stack.vendor('v2').stats()).last_request.body;
  assert.ok(got.messages.every((m) => m.role === 'user' || m.role === 'assistant'), `roles: ${got.messages.map((m) => m.role)}`);
  assert.deepEqual(got.messages, cc.messages.filter((m) => m.role !== 'system'), 'the other messages unchanged');
  const sys = typeof got.system === 'string' ? [{ type: 'text', text: got.system }] : got.system;
  const sysText = sys.map((b) => b.text).join('\n');
  assert.ok(sysText.includes(textOf(sysMsg.content)), 'the system message text is in the system prompt');
  for (const blk of cc.system) assert.ok(sys.some((b) => b.text === blk.text && JSON.stringify(b.cache_control) === JSON.stringify(blk.cache_control)),
    'the original system blocks keep their text and cache_control');
  for (const k of ['tools', 'metadata', 'thinking', 'context_management', 'output_config', 'max_tokens', 'temperature', 'stream'])
    assert.deepEqual(got[k], cc[k], `${k} unchanged`);
});

test('Claude Code tool turn to a Gemini vendor: valid contents, signatures on calls, schemas cleaned', async () => {
  const cc = { ...fixture('claude_code_tool_turn.json'), model: 'cc-gemini' };
  const s = await claudeCode(cc);
  const a = readAnthropicStream(s);
  assert.equal(a.text, 'v3 says hello');
  const b = (await stack.vendor('v3').stats()).last_request.body;
  assert.match((await stack.vendor('v3').stats()).last_request.url, /gemini-3-flash-preview:streamGenerateContent\?alt=sse/);
  assert.match(b.systemInstruction.parts.map((p) => p.text).join(''), /You are Claude Code/);
  const roles = b.contents.map((c) => c.role);
  roles.forEach((r, i) => i && assert.notEqual(r, roles[i - 1], 'turns alternate'));
  const fcs = b.contents.flatMap((c) => c.parts).filter((p) => p.functionCall);
  const frs = b.contents.flatMap((c) => c.parts).filter((p) => p.functionResponse);
  const uses = cc.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((x) => x.type === 'tool_use');
  assert.deepEqual(fcs.map((p) => p.functionCall.name), uses.map((u) => u.name));
  assert.deepEqual(frs.map((p) => p.functionResponse.name), uses.map((u) => u.name), 'each result named after its call');
  for (const p of fcs) assert.equal(typeof p.thoughtSignature, 'string', 'gemini-3 needs a signature on every call');
  assert.equal(findKey(b.contents, 'inlineData').length, 2, 'both images inline');
  const decls = b.tools[0].functionDeclarations;
  assert.equal(decls.length, cc.tools.length);
  const schemas = JSON.stringify(decls);
  for (const k of ['$schema', 'additionalProperties', 'cache_control', 'defer_loading'])
    assert.ok(!schemas.includes(`"${k}"`), `${k} is not in Gemini's schema subset`);
  assert.equal(b.generationConfig.maxOutputTokens, 32000);
});

test('Claude Code count_tokens (?beta=true): an Anthropic vendor counts, other dialects get a size-true estimate', async () => {
  const body = fixture('claude_code_first_turn.json');
  const { max_tokens: _m, stream: _s, temperature: _t, metadata: _md, ...countBody } = body;
  const headers = ccHeaders('x-api-key');
  const viaAnthropic = await stack.gw({ method: 'POST', path: '/v1/messages/count_tokens?beta=true', key: null, headers, body: { ...countBody, model: 'cc-anthropic' } });
  assert.equal(viaAnthropic.status, 200, viaAnthropic.text);
  const st = await stack.vendor('v2').stats();
  assert.equal(st.count_tokens_requests, 1);
  assert.equal(st.last_count_tokens_request.headers['anthropic-beta'], CC_BETA);
  assert.equal(viaAnthropic.json.input_tokens, Math.ceil(JSON.stringify(st.last_count_tokens_request.body).length / 4));
  for (const model of ['cc-openai', 'cc-gemini']) {
    const r = await stack.gw({ method: 'POST', path: '/v1/messages/count_tokens?beta=true', key: null, headers, body: { ...countBody, model } });
    assert.equal(r.status, 200, r.text);
    const n = r.json.input_tokens;
    // ~47 KB of mostly English and JSON: roughly 4 characters a token.
    assert.ok(n > 6000 && n < 24000, `${model}: estimate ${n} for ${JSON.stringify(countBody).length} characters`);
  }
});

test('Claude Code max_tokens 32000 is clamped to a provider\'s output ceiling', async () => {
  const cc = { ...fixture('claude_code_observed_2_1_332.json'), model: 'cc-openai-capped' };
  const s = await claudeCode(cc);
  readAnthropicStream(s);
  assert.equal(s.headers['x-lingmo-provider'], 'oa-cap');
  const b = (await stack.vendor('v1').stats()).last_request.body;
  assert.equal(b.max_tokens ?? b.max_completion_tokens, 8192);
  assert.ok(!('thinking' in b));
});

test('Claude Code with fields and blocks nobody knows yet: translation is not broken, unknowns are dropped', async () => {
  const cc = fixture('claude_code_first_turn.json');
  cc.future_option = { mode: 'turbo', level: 3 };
  cc.tools = [...cc.tools, { type: 'web_search_20250305', name: 'web_search', max_uses: 5 }, { type: 'code_execution_20250825', name: 'code_execution' }];
  cc.messages.at(-1).content.push({ type: 'container_upload', file_id: 'file_011CNha8iCJcU1wXNR6q4V8w' });
  cc.messages.at(-1).content.push({ type: 'text', text: 'echo:still fine', citations_mode: 'brief' });
  for (const model of ['cc-openai', 'cc-gemini']) {
    const s = await claudeCode({ ...cc, model });
    const a = readAnthropicStream(s);
    assert.ok(a.text.length > 0, `${model}: an answer`);
    const v = stack.vendor(model === 'cc-openai' ? 'v1' : 'v3');
    const txt = JSON.stringify((await v.stats()).last_request.body);
    for (const f of ['future_option', 'container_upload', 'file_011CNha8', 'web_search_20250305', 'code_execution', 'citations_mode'])
      assert.ok(!txt.includes(f), `${model}: ${f} dropped`);
  }
});

// ---------------------------------------------------------------------------------------------
// Codex CLI
// ---------------------------------------------------------------------------------------------

const CODEX_HEADERS = { 'user-agent': 'codex_cli_rs/0.63.0', originator: 'codex_cli_rs', 'openai-beta': 'responses=experimental', session_id: '019acf3e-5f21-7d40-9b8e-3c2d1f0a6e57' };
const codex = (body) => post('/v1/responses', body, { ...CODEX_HEADERS, Authorization: `Bearer ${stack.key}` });

test('Codex CLI to an OpenAI vendor: one system message, paired tool message, hosted tools dropped, namespace flattened, full event set', async () => {
  const cx = { ...fixture('codex_responses.json'), model: 'cc-openai' };
  const v1 = stack.vendor('v1');
  await v1.mode({ mode: 'answer', answer: { reasoning: 'Need the test file.', text: 'Adding the test.',
    tool_calls: [{ id: 'call_next1', name: 'shell_command', arguments: { command: 'cat tests/test_money.py', workdir: '/home/dev/ledger' } }] } });
  const s = await codex(cx);
  const r = readResponsesStream(s);
  for (const t of ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
    'response.output_text.delta', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
    'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.completed'])
    assert.ok(r.types.has(t), `Codex needs ${t}`);
  const out = r.response.output;
  assert.deepEqual(out.map((i) => i.type), ['reasoning', 'message', 'function_call']);
  assert.equal(out[1].content[0].text, 'Adding the test.');
  assert.equal(out[2].call_id, 'call_next1');
  assert.equal(out[2].name, 'shell_command');
  assert.deepEqual(JSON.parse(out[2].arguments), { command: 'cat tests/test_money.py', workdir: '/home/dev/ledger' });

  const b = (await v1.stats()).last_request.body;
  assert.equal(b.messages[0].role, 'system', 'instructions and developer items become the system message');
  assert.match(textOf(b.messages[0].content), /coding agent running in a terminal/);
  assert.match(textOf(b.messages[0].content), /<permissions instructions>/);
  assert.equal(b.messages.filter((m) => m.role === 'system' || m.role === 'developer').length, 1);
  const call = cx.input.find((i) => i.type === 'function_call');
  const ai = b.messages.findIndex((m) => m.tool_calls?.some((c) => c.id === call.call_id));
  assert.ok(ai > 0, 'the function_call is an assistant tool call');
  assert.match(textOf(b.messages[ai].content), /Checking how `parse_amount` validates/, 'the assistant text and its call are one turn');
  assert.deepEqual(JSON.parse(b.messages[ai].tool_calls[0].function.arguments), JSON.parse(call.arguments));
  assert.equal(b.messages[ai + 1].role, 'tool');
  assert.equal(b.messages[ai + 1].tool_call_id, call.call_id, 'the output is paired with its call');
  assert.match(textOf(b.messages[ai + 1].content), /^Exit code: 0/);
  const names = b.tools.map((t) => { assert.equal(t.type, 'function'); return t.function.name; });
  assert.ok(!names.some((n) => /web_search/.test(n)), 'hosted web_search dropped');
  for (const n of ['shell_command', 'update_plan', 'apply_patch', 'view_image']) assert.ok(names.includes(n), `${n} kept`);
  const ns = cx.tools.find((t) => t.type === 'namespace');
  for (const inner of ns.tools) assert.ok(names.some((n) => n.endsWith(inner.name)), `namespace tool ${inner.name} flattened into a function`);
  const txt = JSON.stringify(b);
  for (const f of ['encrypted_content', 'prompt_cache_key', '"include"', '"namespace"', '"input_text"', '"instructions"'])
    assert.ok(!txt.includes(f), `${f} is not a chat field`);
  assert.equal(b.stream, true);
});

for (const [model, vendor] of [['cc-anthropic', 'v2'], ['cc-gemini', 'v3']]) {
  test(`Codex CLI to ${vendor === 'v2' ? 'an Anthropic' : 'a Gemini'} vendor: history paired in the vendor's dialect, answer in Responses events`, async () => {
    const cx = { ...fixture('codex_responses.json'), model };
    const s = await codex(cx);
    const r = readResponsesStream(s);
    assert.equal(r.response.output.find((i) => i.type === 'message')?.content[0].text, `${vendor} says hello`);
    const b = (await stack.vendor(vendor).stats()).last_request.body;
    const call = cx.input.find((i) => i.type === 'function_call');
    if (vendor === 'v2') {
      assert.match(b.system, /<permissions instructions>/);
      const roles = b.messages.map((m) => m.role);
      roles.forEach((x, i) => i && assert.notEqual(x, roles[i - 1], 'turns alternate'));
      const use = b.messages.at(-2).content.find((x) => x.type === 'tool_use');
      assert.equal(use.id, call.call_id);
      assert.deepEqual(use.input, JSON.parse(call.arguments));
      const res = b.messages.at(-1).content[0];
      assert.equal(res.type, 'tool_result');
      assert.equal(res.tool_use_id, call.call_id);
      assert.ok(!b.tools.some((t) => /web_search/.test(t.name ?? t.type)), 'hosted web_search dropped');
      assert.equal(b.tools.length, 6);
    } else {
      assert.match(b.systemInstruction.parts[0].text, /<permissions instructions>/);
      const model = b.contents.at(-2), user = b.contents.at(-1);
      assert.equal(model.role, 'model');
      assert.equal(model.parts.find((p) => p.functionCall).functionCall.name, 'shell_command');
      assert.equal(user.parts[0].functionResponse.name, 'shell_command');
      assert.equal(b.tools[0].functionDeclarations.length, 6);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// OpenClaw
// ---------------------------------------------------------------------------------------------

const openclaw = (body) => post('/v1/chat/completions', body, { Authorization: `Bearer ${stack.key}`, 'user-agent': 'openclaw/2026.9.6' });

test('OpenClaw to an Anthropic vendor: developer role -> system, max_completion_tokens -> max_tokens, tools and history converted', async () => {
  const oc = { ...fixture('openclaw_chat.json'), model: 'cc-anthropic' };
  await stack.vendor('v2').mode({ mode: 'answer', answer: { thinking: 'Old artifacts first.', text: 'Deleting now.',
    tool_calls: [{ id: 'toolu_oc1', name: 'exec', input: { command: 'find /var/lib/builds/artifacts -mtime +30 -delete' } }] } });
  const s = await openclaw(oc);
  const a = readChatStream(s);
  assert.equal(a.reasoning, 'Old artifacts first.', 'OpenClaw reads delta.reasoning_content');
  assert.equal(a.text, 'Deleting now.');
  assert.deepEqual(a.calls.map((c) => [c.id, c.name, JSON.parse(c.arguments)]), [['toolu_oc1', 'exec', { command: 'find /var/lib/builds/artifacts -mtime +30 -delete' }]]);
  assert.equal(a.finish, 'tool_calls');
  assert.ok(a.usage && a.usage.prompt_tokens > 0, 'include_usage was asked: a usage chunk');

  const b = (await stack.vendor('v2').stats()).last_request.body;
  assert.match(typeof b.system === 'string' ? b.system : b.system.map((x) => x.text).join(''), /personal assistant running inside OpenClaw/);
  assert.equal(b.max_tokens, 32000);
  assert.equal(b.stream, true);
  assert.deepEqual(b.messages.map((m) => m.role), ['user', 'assistant', 'user']);
  const calls = oc.messages.find((m) => m.tool_calls).tool_calls;
  assert.deepEqual(b.messages[1].content.filter((x) => x.type === 'tool_use').map((x) => [x.id, x.name, x.input]),
    calls.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]));
  const last = b.messages[2].content;
  assert.deepEqual(last.filter((x) => x.type === 'tool_result').map((x) => x.tool_use_id), calls.map((c) => c.id));
  assert.equal(last.findIndex((x) => x.type !== 'tool_result'), calls.length, 'tool results first');
  assert.ok(last.some((x) => x.type === 'image' && x.source.type === 'base64' && x.source.media_type === 'image/png'));
  assert.deepEqual(b.tools.map((t) => t.name), oc.tools.map((t) => t.function.name));
  for (const t of b.tools) {
    assert.ok(t.input_schema && !('function' in t) && !('strict' in t) && !('type' in t && t.type === 'function'), JSON.stringify(t).slice(0, 200));
  }
  for (const k of ['store', 'prompt_cache_key', 'reasoning_effort', 'stream_options', 'max_completion_tokens'])
    assert.ok(!(k in b), `${k} is not an Anthropic field`);
});

test('OpenClaw to a Gemini vendor: system instruction, function responses named, image inline, output cap', async () => {
  const oc = { ...fixture('openclaw_chat.json'), model: 'cc-gemini' };
  const s = await openclaw(oc);
  const a = readChatStream(s);
  assert.equal(a.text, 'v3 says hello');
  assert.equal(a.finish, 'stop');
  const b = (await stack.vendor('v3').stats()).last_request.body;
  assert.match(b.systemInstruction.parts[0].text, /personal assistant running inside OpenClaw/);
  assert.deepEqual(b.contents.map((c) => c.role), ['user', 'model', 'user']);
  const calls = oc.messages.find((m) => m.tool_calls).tool_calls;
  const fcs = b.contents[1].parts.filter((p) => p.functionCall);
  assert.deepEqual(fcs.map((p) => p.functionCall.name), calls.map((c) => c.function.name));
  for (const p of fcs) assert.equal(typeof p.thoughtSignature, 'string');
  assert.deepEqual(b.contents[2].parts.filter((p) => p.functionResponse).map((p) => p.functionResponse.name), calls.map((c) => c.function.name));
  assert.equal(b.contents[2].parts.find((p) => p.inlineData)?.inlineData.mimeType, 'image/png');
  assert.equal(b.generationConfig.maxOutputTokens, 32000);
  assert.equal(b.tools[0].functionDeclarations.length, oc.tools.length);
});

// ---------------------------------------------------------------------------------------------
// Qwen Code (Anthropic mode)
// ---------------------------------------------------------------------------------------------

const qwen = (body) => post('/v1/messages', body, { 'anthropic-version': '2023-06-01', 'x-api-key': stack.key, 'user-agent': 'QwenCode/0.2.1 (linux; x64)' });

test('Qwen Code Anthropic mode (thinking budget = max_tokens) to an OpenAI vendor', async () => {
  const qw = { ...fixture('qwen_code_anthropic.json'), model: 'cc-openai' };
  assert.equal(qw.thinking.budget_tokens, qw.max_tokens);
  await stack.vendor('v1').mode({ mode: 'answer', answer: { reasoning: 'Regex needs a comma group.', text: 'Here is the fix.' } });
  const a = readAnthropicStream(await qwen(qw));
  assert.deepEqual(a.blocks.map((b) => b.type), ['thinking', 'text']);
  assert.equal(a.text, 'Here is the fix.');
  const b = (await stack.vendor('v1').stats()).last_request.body;
  assert.equal(b.max_tokens ?? b.max_completion_tokens, 32000);
  assert.ok(!('thinking' in b) && !JSON.stringify(b).includes('budget_tokens'));
  assert.equal(b.messages[0].role, 'system');
  assert.match(textOf(b.messages[0].content), /You are Qwen Code/);
  assert.deepEqual(b.messages.slice(1).map((m) => m.role), ['user', 'assistant', 'user']);
  assert.equal(b.tools.length, qw.tools.length);
  assert.ok(!JSON.stringify(b).includes('cache_control'));
});

test('Qwen Code Anthropic mode to an Anthropic vendor: the thinking budget is brought below max_tokens', async () => {
  // Anthropic refuses budget_tokens >= max_tokens (without the interleaved-thinking beta, which Qwen does not send).
  const qw = { ...fixture('qwen_code_anthropic.json'), model: 'cc-anthropic' };
  const a = readAnthropicStream(await qwen(qw));
  assert.equal(a.text, 'v2 says hello');
  const b = (await stack.vendor('v2').stats()).last_request.body;
  assert.equal(b.thinking?.type, 'enabled');
  assert.ok(b.thinking.budget_tokens >= 1024, 'budget stays usable');
  assert.ok(b.thinking.budget_tokens < b.max_tokens, `budget_tokens ${b.thinking.budget_tokens} < max_tokens ${b.max_tokens}`);
});

// ---------------------------------------------------------------------------------------------
// Size
// ---------------------------------------------------------------------------------------------

test('a 3 MB Claude Code body is accepted and reaches the vendor whole', async () => {
  const cc = { ...fixture('claude_code_tool_turn.json'), model: 'cc-openai' };
  const big = 'line of a very long build log that the agent read back in full\n'.repeat(48000);  // ~3 MB
  const last = cc.messages.at(-1);
  last.content = last.content.map((b) => (b.type === 'tool_result' ? { ...b, content: big } : b));
  const size = Buffer.byteLength(JSON.stringify(cc));
  assert.ok(size > 3e6, `body is ${size} bytes`);
  const a = readAnthropicStream(await claudeCode(cc));
  assert.ok(a.text.length > 0);
  const b = (await stack.vendor('v1').stats()).last_request.body;
  const tool = b.messages.at(-1);
  assert.equal(tool.role, 'tool');
  assert.equal(textOf(tool.content).length, big.length, 'the tool result arrived whole');

  // And the same body passes through to an Anthropic vendor unchanged.
  const s2 = await claudeCode({ ...cc, model: 'cc-anthropic' });
  readAnthropicStream(s2);
  const got = (await stack.vendor('v2').stats()).last_request.body;
  assert.equal(JSON.stringify(got.messages).length, JSON.stringify(cc.messages).length);
});
