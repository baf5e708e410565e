#!/usr/bin/env node
// Fake LLM vendor speaking the Anthropic Messages wire format.
//
// Used by integration tests that exercise the gateway's Anthropic dialect (translation to and
// from Anthropic upstreams). Node.js >= 20, ES module, no npm dependencies.
//
// Usage:
//   node tests/fakes/fake_anthropic.mjs --port 0 --name claudeA \
//        [--host 127.0.0.1] [--key sk-ant-expected] [--port-file /path]
//        [--tls-cert cert.pem --tls-key key.pem]   (serve HTTPS instead of HTTP)
//
// See tests/fakes/README.md for the full behaviour and the control API.

import {
  Ctx, JSON_CONTENT_TYPE, ModeState, Stats, bearerToken, countOr, isObj, parseArgs, parseJsonOrNull,
  requestRecord, sendCustom, sendJson, sendText, serveFake, splitInThree, splitText, writeSeq,
} from './fake_common.mjs';

const OPTS = parseArgs('fake_anthropic', process.argv.slice(2));
const NAME = OPTS.name;

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

const MODES = new Set([
  'normal', 'answer', '429', 'quota', 'spend_limit', '529', '401', '400', '500', 'hang',
  'reset_mid_stream', 'error_mid_stream', 'custom',
]);

const DEFAULT_CHUNKS = { reset_mid_stream: 2, error_mid_stream: 2 };

// Extra mode parameter: retry_after (the retry-after header of mode "429").
function checkRetryAfter(b, next) {
  if (b.retry_after !== undefined && b.retry_after !== null) {
    if (!Number.isInteger(b.retry_after) || b.retry_after < 0) return 'retry_after must be a non-negative integer';
    next.retry_after = b.retry_after;
  }
  return null;
}

// /v1/messages requests take the mode (modes.take()); checkAnswer is below.
const modes = new ModeState({
  modes: MODES, defaultChunks: DEFAULT_CHUNKS, extraFields: { retry_after: null }, checkExtra: checkRetryAfter, checkAnswer,
});
const stats = new Stats({
  requests: 0, count_tokens_requests: 0, connections: 0, aborted: 0, last_request: null, last_count_tokens_request: null,
});
let idCounter = 0; // never reset, so ids stay unique for the process lifetime

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function requestId() {
  return `req_fake_${NAME}_${++idCounter}`;
}

// Anthropic error envelope. `extra` goes into `error` (e.g. details). The body's request_id is
// the `request-id` header's value (one is minted when extraHeaders has none).
function sendError(res, status, type, message, extraHeaders, extra) {
  const hdrs = { ...(extraHeaders || {}) };
  if (hdrs['request-id'] === undefined) hdrs['request-id'] = requestId();
  const body = { type: 'error', error: { type, message, ...(extra || {}) }, request_id: hdrs['request-id'] };
  sendJson(res, status, body, hdrs);
}

function bad(res, message, extraHeaders) {
  sendError(res, 400, 'invalid_request_error', message, extraHeaders);
}

// x-api-key OR Authorization: Bearer (gateways and Claude Code with ANTHROPIC_AUTH_TOKEN).
function authOk(req) {
  if (OPTS.key === null) return true;
  return req.headers['x-api-key'] === OPTS.key || bearerToken(req) === OPTS.key;
}

function send401(res, extraHeaders) {
  sendError(res, 401, 'authentication_error', 'invalid x-api-key', extraHeaders);
}

// Splits a tool input JSON text into input_json_delta fragments, the first one "".
function splitJson(s) {
  return ['', ...splitInThree(s)];
}

// Text of the last user message (string content, or its text blocks joined).
function lastUserText(body) {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (!isObj(m) || m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) {
      return m.content.filter((b) => isObj(b) && b.type === 'text' && typeof b.text === 'string')
        .map((b) => b.text).join('');
    }
    return '';
  }
  return '';
}

function defaultText(body) {
  const t = lastUserText(body);
  return t.startsWith('echo:') ? t.slice(5) : `${NAME} says hello`;
}

// ---------------------------------------------------------------------------
// Request validation (the subset of the real API's checks that reveals translation bugs).
// Returns an error message or null.
// ---------------------------------------------------------------------------

const BLOCK_TYPES_NEED = {
  text: (b) => typeof b.text === 'string' || 'text: Field required',
  thinking: (b) => (typeof b.signature === 'string' ? true : 'thinking.signature: Field required'),
  tool_use: (b) => {
    if (typeof b.id !== 'string') return 'tool_use.id: Field required';
    if (typeof b.name !== 'string') return 'tool_use.name: Field required';
    if (!isObj(b.input)) return 'tool_use.input: Input should be a valid dictionary';
    return true;
  },
  tool_result: (b) => (typeof b.tool_use_id === 'string' ? true : 'tool_result.tool_use_id: Field required'),
};

function validateMessages(body) {
  if (body.messages === undefined) return 'messages: Field required';
  if (!Array.isArray(body.messages)) return 'messages: Input should be a valid list';
  const msgs = body.messages;
  if (msgs.length === 0) return 'messages: at least one message is required';
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    if (!isObj(m)) return `messages.${i}: Input should be a valid dictionary`;
    if (m.role !== 'user' && m.role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (m.content === undefined) return `messages.${i}.content: Field required`;
    if (typeof m.content !== 'string' && !Array.isArray(m.content)) return `messages.${i}.content: Input should be a valid list`;
    const isFinalAssistant = i === msgs.length - 1 && m.role === 'assistant';
    if (m.content.length === 0 && !isFinalAssistant) {
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    }
    if (Array.isArray(m.content)) {
      for (let j = 0; j < m.content.length; j++) {
        const b = m.content[j];
        if (!isObj(b)) return `messages.${i}.content.${j}: Input should be a valid dictionary`;
        if (typeof b.type !== 'string') return `messages.${i}.content.${j}.type: Field required`;
        const need = BLOCK_TYPES_NEED[b.type];
        if (need) {
          const r = need(b);
          if (r !== true) return `messages.${i}.content.${j}.${r}`;
        }
        if (b.type === 'text' && b.text === '') return 'messages: text content blocks must be non-empty';
        if (b.type === 'tool_use' && m.role !== 'assistant') return `messages.${i}.content.${j}: tool_use blocks can only appear in assistant messages`;
        if (b.type === 'tool_result' && m.role !== 'user') return `messages.${i}.content.${j}: tool_result blocks can only appear in user messages`;
      }
    }
  }
  // tool_use / tool_result pairing: first every tool_result against the message before it, then
  // every tool_use against the message after it.
  const toolUseIds = (m) => (isObj(m) && m.role === 'assistant' && Array.isArray(m.content)
    ? m.content.filter((b) => b.type === 'tool_use').map((b) => b.id) : []);
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    if (m.role === 'user' && Array.isArray(m.content)) {
      const prev = i > 0 ? toolUseIds(msgs[i - 1]) : [];
      for (let j = 0; j < m.content.length; j++) {
        const b = m.content[j];
        if (b.type === 'tool_result' && !prev.includes(b.tool_use_id)) {
          return `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${b.tool_use_id}. ` +
            'Each `tool_result` block must have a corresponding `tool_use` block in the previous message.';
        }
      }
    }
  }
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    if (m.role === 'assistant' && i + 1 < msgs.length) {
      const ids = toolUseIds(m);
      if (ids.length > 0) {
        const n = msgs[i + 1];
        const answered = n.role === 'user' && Array.isArray(n.content)
          ? new Set(n.content.filter((b) => b.type === 'tool_result').map((b) => b.tool_use_id)) : new Set();
        const missing = ids.filter((id) => !answered.has(id));
        if (missing.length > 0) {
          return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. ` +
            'Each `tool_use` block must have a corresponding `tool_result` block in the next message.';
        }
      }
    }
  }
  return null;
}

function validateBody(body) {
  if (typeof body.model !== 'string' || body.model === '') return 'model: Field required';
  if (body.max_tokens === undefined) return 'max_tokens: Field required';
  if (!Number.isInteger(body.max_tokens)) return 'max_tokens: Input should be a valid integer';
  if (body.max_tokens < 1) return 'max_tokens: Input should be greater than or equal to 1';
  const mErr = validateMessages(body);
  if (mErr) return mErr;
  if (body.system !== undefined) {
    if (Array.isArray(body.system)) {
      for (let j = 0; j < body.system.length; j++) {
        const b = body.system[j];
        if (!isObj(b)) return `system.${j}: Input should be a valid dictionary`;
        if (b.type !== 'text') return `system.${j}.type: Input should be 'text'`;
        if (typeof b.text !== 'string') return `system.${j}.text: Field required`;
      }
    } else if (typeof body.system !== 'string') {
      return 'system: Input should be a valid string or a list of text blocks';
    }
  }
  if (body.temperature !== undefined) {
    if (typeof body.temperature !== 'number' || !Number.isFinite(body.temperature)) return 'temperature: Input should be a valid number';
    if (body.temperature < 0) return 'temperature: Input should be greater than or equal to 0';
    if (body.temperature > 1) return 'temperature: Input should be less than or equal to 1';
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return 'stream: Input should be a valid boolean';
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return 'tools: Input should be a valid list';
    for (let j = 0; j < body.tools.length; j++) {
      const t = body.tools[j];
      if (!isObj(t)) return `tools.${j}: Input should be a valid dictionary`;
      if (t.type === undefined || t.type === 'custom') {
        if (typeof t.name !== 'string') return `tools.${j}.custom.name: Field required`;
        if (!isObj(t.input_schema)) return `tools.${j}.custom.input_schema: Field required`;
      }
    }
  }
  if (body.tool_choice !== undefined) {
    const tc = body.tool_choice;
    if (!isObj(tc) || !['auto', 'any', 'tool', 'none'].includes(tc.type)) {
      return "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'";
    }
    if (tc.type === 'tool' && typeof tc.name !== 'string') return 'tool_choice.tool.name: Field required';
  }
  return null;
}

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

// Builds the answer plan (blocks + stop reason + usage) from a scripted answer or the default.
function buildPlan(body, scripted) {
  const blocks = [];
  let nDeltas = 0;
  if (scripted) {
    if (typeof scripted.thinking === 'string') {
      const pieces = splitText(scripted.thinking);
      nDeltas += pieces.length;
      blocks.push({
        type: 'thinking', thinking: scripted.thinking, pieces,
        signature: typeof scripted.signature === 'string' ? scripted.signature : `sig-${NAME}-${idCounter + 1}`,
      });
    }
    if (typeof scripted.text === 'string' && scripted.text !== '') {
      const pieces = splitText(scripted.text);
      nDeltas += pieces.length;
      blocks.push({ type: 'text', text: scripted.text, pieces });
    }
    const calls = Array.isArray(scripted.tool_calls) ? scripted.tool_calls : [];
    for (const c of calls) {
      const input = isObj(c.input) ? c.input : {};
      const json = JSON.stringify(input);
      const pieces = splitJson(json);
      nDeltas += pieces.length - 1;
      blocks.push({
        type: 'tool_use', id: typeof c.id === 'string' ? c.id : `toolu_${NAME}_${++idCounter}`,
        name: String(c.name), input, pieces,
      });
    }
  } else {
    const text = defaultText(body);
    const pieces = splitText(text);
    nDeltas += pieces.length;
    blocks.push({ type: 'text', text, pieces });
  }
  const hasTools = blocks.some((b) => b.type === 'tool_use');
  const stopReason = scripted && typeof scripted.stop_reason === 'string'
    ? scripted.stop_reason : (hasTools ? 'tool_use' : 'end_turn');
  const stopSequence = stopReason === 'stop_sequence' && scripted && typeof scripted.stop_sequence === 'string'
    ? scripted.stop_sequence : null;
  const u = scripted && isObj(scripted.usage) ? scripted.usage : {};
  const usage = {
    input_tokens: countOr(u.input_tokens, 10 * body.messages.length),
    cache_creation_input_tokens: countOr(u.cache_creation_input_tokens, 0),
    cache_read_input_tokens: countOr(u.cache_read_input_tokens, 0),
    output_tokens: countOr(u.output_tokens, nDeltas),
  };
  return { blocks, stopReason, stopSequence, usage };
}

function blockContent(b) {
  if (b.type === 'thinking') return { type: 'thinking', thinking: b.thinking, signature: b.signature };
  if (b.type === 'text') return { type: 'text', text: b.text };
  return { type: 'tool_use', id: b.id, name: b.name, input: b.input };
}

function messageBody(id, model, plan) {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: plan.blocks.map(blockContent),
    stop_reason: plan.stopReason,
    stop_sequence: plan.stopSequence,
    usage: plan.usage,
  };
}

function sse(type, obj) {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...obj })}\n\n`;
}

function messageStartEvent(id, model, usage) {
  return sse('message_start', {
    message: {
      id, type: 'message', role: 'assistant', model, content: [],
      stop_reason: null, stop_sequence: null,
      usage: {
        input_tokens: usage.input_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
        cache_read_input_tokens: usage.cache_read_input_tokens,
        output_tokens: Math.min(1, usage.output_tokens),
      },
    },
  });
}

// The events of block `index`: start, (ping after the first block start), deltas, stop.
function blockEvents(b, index) {
  const out = [];
  let start;
  if (b.type === 'thinking') start = { type: 'thinking', thinking: '', signature: '' };
  else if (b.type === 'text') start = { type: 'text', text: '' };
  else start = { type: 'tool_use', id: b.id, name: b.name, input: {} };
  out.push(sse('content_block_start', { index, content_block: start }));
  if (index === 0) out.push(sse('ping', {}));
  for (const p of b.pieces) {
    let delta;
    if (b.type === 'thinking') delta = { type: 'thinking_delta', thinking: p };
    else if (b.type === 'text') delta = { type: 'text_delta', text: p };
    else delta = { type: 'input_json_delta', partial_json: p };
    out.push(sse('content_block_delta', { index, delta }));
  }
  if (b.type === 'thinking') out.push(sse('content_block_delta', { index, delta: { type: 'signature_delta', signature: b.signature } }));
  out.push(sse('content_block_stop', { index }));
  return out;
}

function streamEvents(id, model, plan) {
  const out = [messageStartEvent(id, model, plan.usage)];
  if (plan.blocks.length === 0) out.push(sse('ping', {}));
  plan.blocks.forEach((b, i) => out.push(...blockEvents(b, i)));
  out.push(sse('message_delta', {
    delta: { stop_reason: plan.stopReason, stop_sequence: plan.stopSequence },
    usage: { ...plan.usage },
  }));
  out.push(sse('message_stop', {}));
  return out;
}

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
};

// ---------------------------------------------------------------------------
// /v1/messages
// ---------------------------------------------------------------------------

// Common front door of /v1/messages and /v1/messages/count_tokens: auth, version header, JSON.
// Returns the parsed body or null (an answer was sent).
function frontDoor(req, res, raw) {
  if (!authOk(req)) { send401(res); return null; }
  if (typeof req.headers['anthropic-version'] !== 'string' || req.headers['anthropic-version'] === '') {
    bad(res, 'anthropic-version: header is required');
    return null;
  }
  let body;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    bad(res, `There was an issue with your request body: invalid JSON (${e.message})`);
    return null;
  }
  if (!isObj(body)) {
    bad(res, 'Input should be a valid dictionary');
    return null;
  }
  return body;
}

function handleMessages(req, res, raw) {
  const ctx = new Ctx(req, res, stats);
  stats.requests++;
  stats.last_request = requestRecord(req, parseJsonOrNull(raw));
  const body = frontDoor(req, res, raw);
  if (!body) return;
  const vErr = validateBody(body);
  if (vErr) return bad(res, vErr);

  const m = modes.take();
  const n = ++idCounter;
  const hdrs = { 'request-id': `req_fake_${NAME}_${n}`, ...(m.headers || {}) };
  const id = `msg_${NAME}_${n}`;
  const model = body.model;
  const stream = body.stream === true;
  const delay = m.delay_ms ?? 0;

  switch (m.mode) {
    case 'normal':
    case 'answer': {
      const plan = buildPlan(body, m.mode === 'answer' ? m.answer : null);
      if (!stream) return sendJson(res, 200, messageBody(id, model, plan), hdrs);
      res.writeHead(200, { ...SSE_HEADERS, ...hdrs });
      return writeSeq(ctx, streamEvents(id, model, plan), delay, () => res.end());
    }

    case '429':
      return sendError(res, 429, 'rate_limit_error',
        `This request would exceed the rate limit for your organization (${NAME}) of 50 requests per minute. ` +
        'For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. ' +
        'Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at ' +
        'https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.',
        { 'retry-after': String(m.retry_after ?? 1), ...hdrs });

    case 'spend_limit':
      return sendError(res, 429, 'rate_limit_error',
        'You have reached your specified API usage limits. You will regain access on 2099-01-01 at 00:00 UTC.',
        hdrs, { details: { error_code: 'enforced_spend_limit_reached' } });

    case 'quota':
      return sendError(res, 402, 'billing_error',
        'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
        hdrs);

    case '529':
      return sendError(res, 529, 'overloaded_error', 'Overloaded', hdrs);

    case '401':
      return send401(res, hdrs);

    case '400':
      return sendError(res, 400, 'invalid_request_error',
        `max_tokens: 200000 > 64000, which is the maximum allowed number of output tokens for ${model}`, hdrs);

    case '500':
      return sendError(res, 500, 'api_error', 'Internal server error', hdrs);

    case 'custom':
      return sendCustom(res, m, JSON_CONTENT_TYPE, hdrs);

    case 'hang':
      return; // never respond; Ctx counts the abort when the client goes away

    case 'reset_mid_stream':
    case 'error_mid_stream': {
      const text = `${NAME}-part-0 ${NAME}-part-1 ${NAME}-part-2 ${NAME}-part-3`;
      const plan = buildPlan(body, { text });
      if (!stream) {
        if (m.mode === 'error_mid_stream') {
          // A non-stream request has no stream to break: answer with the error status instead.
          return sendError(res, 529, 'overloaded_error', 'Overloaded', hdrs);
        }
        return ctx.sendHalfThenCut(JSON.stringify(messageBody(id, model, plan)), JSON_CONTENT_TYPE, hdrs, m.rst);
      }
      const n = m.chunks ?? DEFAULT_CHUNKS[m.mode];
      const ev = [
        messageStartEvent(id, model, plan.usage),
        sse('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
        sse('ping', {}),
      ];
      for (let i = 0; i < n; i++) {
        ev.push(sse('content_block_delta', { index: 0, delta: { type: 'text_delta', text: `${NAME}-part-${i} ` } }));
      }
      res.writeHead(200, { ...SSE_HEADERS, ...hdrs });
      if (m.mode === 'reset_mid_stream') return writeSeq(ctx, ev, delay, () => ctx.destroyAfterFlush(m.rst));
      ev.push(sse('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }));
      return writeSeq(ctx, ev, delay, () => res.end());
    }

    default:
      return sendError(res, 500, 'api_error', `fake_anthropic: unhandled mode ${m.mode}`);
  }
}

// count_tokens: N = Math.ceil(JSON.stringify(body).length / 4) over the parsed request body.
// It needs the same auth and anthropic-version header, and does not use up a mode.
function handleCountTokens(req, res, raw) {
  stats.count_tokens_requests++;
  stats.last_count_tokens_request = requestRecord(req, parseJsonOrNull(raw));
  const body = frontDoor(req, res, raw);
  if (!body) return;
  if (body.messages === undefined) return bad(res, 'messages: Field required');
  if (!Array.isArray(body.messages)) return bad(res, 'messages: Input should be a valid list');
  sendJson(res, 200, { input_tokens: Math.ceil(JSON.stringify(body).length / 4) });
}

// ---------------------------------------------------------------------------
// Mode "answer"
// ---------------------------------------------------------------------------

function checkAnswer(a) {
  if (!isObj(a)) return 'answer must be an object';
  for (const k of ['thinking', 'signature', 'text', 'stop_reason', 'stop_sequence']) {
    if (a[k] !== undefined && typeof a[k] !== 'string') return `answer.${k} must be a string`;
  }
  if (a.tool_calls !== undefined) {
    if (!Array.isArray(a.tool_calls)) return 'answer.tool_calls must be an array';
    for (const c of a.tool_calls) {
      if (!isObj(c) || typeof c.name !== 'string') return 'each answer.tool_calls entry needs a name';
      if (c.input !== undefined && !isObj(c.input)) return 'answer.tool_calls[].input must be an object';
      if (c.id !== undefined && typeof c.id !== 'string') return 'answer.tool_calls[].id must be a string';
    }
  }
  if (a.usage !== undefined && !isObj(a.usage)) return 'answer.usage must be an object';
  return null;
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

const MODELS = [
  { type: 'model', id: 'claude-sonnet-4-5', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' },
  { type: 'model', id: 'claude-haiku-4-5', display_name: 'Claude Haiku 4.5', created_at: '2025-10-01T00:00:00Z' },
];
const MODELS_BODY = JSON.stringify({
  data: MODELS, has_more: false, first_id: MODELS[0].id, last_id: MODELS[MODELS.length - 1].id,
});

serveFake({
  prog: 'fake_anthropic',
  opts: OPTS,
  stats,
  modes,
  routes: [
    { paths: ['/v1/messages', '/messages'], method: 'POST', onBody: handleMessages },
    { paths: ['/v1/messages/count_tokens', '/messages/count_tokens'], method: 'POST', onBody: handleCountTokens },
    {
      paths: ['/v1/models', '/models'],
      method: 'GET',
      onRequest: (req, res) => {
        if (!authOk(req)) return send401(res);
        return sendText(res, 200, MODELS_BODY, JSON_CONTENT_TYPE);
      },
    },
  ],
  notFound: (req, res, p) => sendError(res, 404, 'not_found_error', `Not found: ${req.method} ${p}`),
  methodNotAllowed: (res, allow) => {
    res.setHeader('Allow', allow);
    sendError(res, 405, 'invalid_request_error', 'Method not allowed');
  },
});
