#!/usr/bin/env node
// Fake LLM vendor speaking the OpenAI Chat Completions wire format (and OpenAI embeddings).
//
// Used by integration tests, the end-to-end test, the benchmark and the
// offline demo. Node.js >= 20, ES module, no npm dependencies.
//
// Usage:
//   node tests/fakes/fake_vendor.mjs --port 0 --name vendorA \
//        [--host 127.0.0.1] [--key sk-expected] [--port-file /path]
//        [--tls-cert cert.pem --tls-key key.pem]   (serve HTTPS instead of HTTP)
//
// See tests/fakes/README.md for the full behaviour and the control API.

import {
  Ctx, JSON_CONTENT_TYPE, ModeState, Stats, bearerToken, countOr, isObj, parseArgs, parseJsonOrNull,
  requestRecord, sendCustom, sendJson, sendText, serveFake, splitInThree, splitText, writeSeq,
} from './fake_common.mjs';

// No --tls-cert/--tls-key pairing check here (the other fakes have one).
const OPTS = parseArgs('fake_vendor', process.argv.slice(2), { checkTlsPair: false });
const NAME = OPTS.name;

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

const MODES = new Set([
  'normal', '429', 'rate_limit', '500', '402', '401', '400', 'hang',
  'hang_after_headers', 'reset_mid_stream', 'malformed', 'slow_first_byte',
  'keepalive_comments', 'custom', 'answer',
]);

const DEFAULT_CHUNKS = { reset_mid_stream: 2 };
const DEFAULT_DELAY = { slow_first_byte: 2000, keepalive_comments: 50 };

// Chat and embeddings requests take the mode (modes.take()); checkAnswer is below.
const modes = new ModeState({
  modes: MODES, defaultChunks: DEFAULT_CHUNKS, extraFields: { stamp: false }, checkExtra: checkStamp, checkAnswer,
});
const stats = new Stats({ requests: 0, embeddings_requests: 0, connections: 0, aborted: 0, last_request: null });
let idCounter = 0; // never reset, so ids stay unique for the process lifetime

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function oaiError(message, type, param, code) {
  return { error: { message, type, param, code } };
}

function maskKey(k) {
  if (!k) return '';
  if (k.length <= 8) return '*'.repeat(k.length);
  return `${k.slice(0, 3)}${'*'.repeat(Math.min(k.length - 7, 20))}${k.slice(-4)}`;
}

function send401(res, presented) {
  sendJson(res, 401, oaiError(
    `Incorrect API key provided: ${maskKey(presented)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    'invalid_request_error', null, 'invalid_api_key'));
}

function authOk(req) {
  if (OPTS.key === null) return true;
  return bearerToken(req) === OPTS.key;
}

// Mode parameter "stamp": every JSON stream event of normal and answer streams gets
// "x_fake_sent_us" as its first member, the moment it was written in microseconds of
// CLOCK_MONOTONIC (process.hrtime), which every process on the same machine shares: a client reads
// its own process.hrtime at arrival and subtracts (bench/stream_probe.mjs).
function checkStamp(b, next) {
  if (b.stamp === undefined) return null;
  if (typeof b.stamp !== 'boolean') return 'stamp must be a boolean';
  next.stamp = b.stamp;
  return null;
}

function stamped(events, on) {
  if (!on) return events;
  return events.map((e) => (e.startsWith('data: {')
    ? () => `data: {"x_fake_sent_us":${process.hrtime.bigint() / 1000n},${e.slice(7)}`
    : e));
}

function nowSecs() {
  return Math.floor(Date.now() / 1000);
}

function echoText(body) {
  const msgs = body && Array.isArray(body.messages) ? body.messages : null;
  if (!msgs) return null;
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (m && m.role === 'user') {
      if (typeof m.content === 'string' && m.content.startsWith('echo:')) return m.content.slice(5);
      return null;
    }
  }
  return null;
}

function promptTokens(body) {
  return (body && Array.isArray(body.messages) ? body.messages.length : 0) * 10;
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

// Checks that make translation bugs visible (the real API rejects these too). Only arrays of
// objects are looked at; anything else is left alone as before. Returns an OpenAI error or null.
function validateMessages(body) {
  const msgs = body.messages;
  if (!Array.isArray(msgs)) return null;
  const seenIds = new Set();
  let sawToolCalls = false;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    if (m === null || typeof m !== 'object' || Array.isArray(m)) continue;
    if (m.role === undefined) {
      return oaiError(`Missing required parameter: 'messages[${i}].role'.`, 'invalid_request_error',
        `messages[${i}].role`, 'missing_required_parameter');
    }
    if (!ROLES.has(m.role)) {
      return oaiError(`Invalid value: '${m.role}'. Supported values are: 'system', 'developer', 'user', 'assistant', and 'tool'.`,
        'invalid_request_error', `messages[${i}].role`, 'invalid_value');
    }
    if (m.role === 'assistant' && Array.isArray(m.tool_calls)) {
      for (const tc of m.tool_calls) {
        if (tc && typeof tc.id === 'string') { seenIds.add(tc.id); sawToolCalls = true; }
      }
    }
    if (m.role === 'tool') {
      if (!sawToolCalls) {
        return oaiError("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          'invalid_request_error', `messages.[${i}].role`, null);
      }
      if (!seenIds.has(m.tool_call_id)) {
        return oaiError(`Invalid parameter: 'tool_call_id' of '${m.tool_call_id}' not found in 'tool_calls' of previous message.`,
          'invalid_request_error', `messages.[${i}].tool_call_id`, null);
      }
    }
  }
  return null;
}

// Plan of a scripted answer (mode "answer"): pieces, tool calls, finish reason and usage.
function scriptedPlan(body, a) {
  const reasoning = typeof a.reasoning === 'string' && a.reasoning !== '' ? splitText(a.reasoning) : [];
  const text = typeof a.text === 'string' && a.text !== '' ? splitText(a.text) : [];
  const calls = (Array.isArray(a.tool_calls) ? a.tool_calls : []).map((c, k) => {
    const args = typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments ?? {});
    return {
      id: typeof c.id === 'string' ? c.id : `call_${NAME}_${idCounter}_${k}`,
      name: String(c.name),
      arguments: args,
      pieces: splitInThree(args),
    };
  });
  const nDeltas = reasoning.length + text.length + calls.reduce((n, c) => n + c.pieces.length, 0);
  const finish = typeof a.finish_reason === 'string' ? a.finish_reason : (calls.length ? 'tool_calls' : 'stop');
  const u = a.usage && typeof a.usage === 'object' ? a.usage : {};
  const P = countOr(u.prompt_tokens, promptTokens(body));
  const C = countOr(u.completion_tokens, nDeltas);
  const usage = { prompt_tokens: P, completion_tokens: C, total_tokens: P + C };
  if (Number.isInteger(u.cached_tokens)) usage.prompt_tokens_details = { cached_tokens: u.cached_tokens };
  if (reasoning.length) usage.completion_tokens_details = { reasoning_tokens: reasoning.length };
  return { reasoning, text, calls, finish, usage, reasoningText: a.reasoning, textFull: a.text };
}

// The chunks of a streamed answer: ev(delta, finish) makes one `data:` event. With
// stream_options.include_usage every chunk carries "usage": null and usageChunk(usage) makes the
// final usage chunk (choices: []); without it usageChunk is null.
function chunkMaker(id, model, body) {
  const includeUsage = !!(body && body.stream_options && body.stream_options.include_usage === true);
  const created = nowSecs();
  const ev = (delta, finish) => {
    const o = {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    };
    if (includeUsage) o.usage = null;
    return `data: ${JSON.stringify(o)}\n\n`;
  };
  const usageChunk = includeUsage
    ? (usage) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`
    : null;
  return { ev, usageChunk };
}

function scriptedNonStream(id, model, plan) {
  const message = { role: 'assistant', content: plan.text.length ? plan.textFull : null };
  if (plan.reasoning.length) message.reasoning_content = plan.reasoningText;
  if (plan.calls.length) {
    message.tool_calls = plan.calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  }
  message.refusal = null;
  return {
    id,
    object: 'chat.completion',
    created: nowSecs(),
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: plan.finish }],
    usage: plan.usage,
  };
}

function scriptedStream(id, model, body, plan) {
  const { ev, usageChunk } = chunkMaker(id, model, body);
  const out = [ev({ role: 'assistant', content: '' }, null)];
  for (const r of plan.reasoning) out.push(ev({ content: null, reasoning_content: r }, null));
  for (const t of plan.text) out.push(ev({ content: t }, null));
  plan.calls.forEach((c, index) => {
    out.push(ev({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }, null));
    for (const piece of c.pieces) out.push(ev({ tool_calls: [{ index, function: { arguments: piece } }] }, null));
  });
  out.push(ev({}, plan.finish));
  if (usageChunk) out.push(usageChunk(plan.usage));
  out.push('data: [DONE]\n\n');
  return out;
}

// ---------------------------------------------------------------------------
// Chat completions
// ---------------------------------------------------------------------------

function nonStreamBody(id, model, body, content) {
  const P = promptTokens(body);
  const C = 3;
  return {
    id,
    object: 'chat.completion',
    created: nowSecs(),
    model,
    choices: [{
      index: 0,
      message: { role: 'assistant', content, refusal: null },
      logprobs: null,
      finish_reason: 'stop',
    }],
    usage: { prompt_tokens: P, completion_tokens: C, total_tokens: P + C },
  };
}

// Builds the SSE event strings of a normal streamed answer.
// opts.final=false omits finish chunk, usage chunk and [DONE].
function streamEvents(id, model, body, nChunks, final) {
  const { ev, usageChunk } = chunkMaker(id, model, body);
  const out = [ev({ role: 'assistant', content: '' }, null)];
  const echo = echoText(body);
  if (echo !== null) out.push(ev({ content: echo }, null));
  for (let i = 0; i < nChunks; i++) out.push(ev({ content: `${NAME}-chunk-${i} ` }, null));
  if (!final) return out;
  out.push(ev({}, 'stop'));
  if (usageChunk) {
    const P = promptTokens(body);
    out.push(usageChunk({ prompt_tokens: P, completion_tokens: nChunks, total_tokens: P + nChunks }));
  }
  out.push('data: [DONE]\n\n');
  return out;
}

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
};

function answerNormal(ctx, m, id, model, body, stream, interDelay) {
  const res = ctx.res;
  if (!stream) {
    const echo = echoText(body);
    sendJson(res, 200, nonStreamBody(id, model, body, echo !== null ? echo : `${NAME} says hello`), m.headers);
    return;
  }
  const n = m.chunks ?? 3;
  if (!res.headersSent) res.writeHead(200, { ...SSE_HEADERS, ...(m.headers || {}) });
  writeSeq(ctx, stamped(streamEvents(id, model, body, n, true), m.stamp), interDelay, () => res.end());
}

// Answers the plain error modes (shared by chat and embeddings). Returns true when it answered.
function answerErrorMode(req, res, m, model) {
  switch (m.mode) {
    case '429':
      sendJson(res, 429, oaiError(
        'You exceeded your current quota, please check your plan and billing details.',
        'insufficient_quota', null, 'insufficient_quota'));
      return true;

    case 'rate_limit':
      sendJson(res, 429, oaiError(
        `Rate limit reached for ${model} in organization org-${NAME} on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.`,
        'requests', null, 'rate_limit_exceeded'), { 'retry-after': '1' });
      return true;

    case '500':
      sendJson(res, 500, oaiError(
        'The server had an error while processing your request.', 'server_error', null, null));
      return true;

    case '402':
      sendJson(res, 402, oaiError(
        'Insufficient Balance', 'unknown_error', null, 'invalid_request_error'));
      return true;

    case '401':
      send401(res, bearerToken(req));
      return true;

    case '400':
      sendJson(res, 400, oaiError(
        "Invalid value for 'temperature'", 'invalid_request_error', 'temperature', null));
      return true;

    case 'custom':
      sendCustom(res, m, JSON_CONTENT_TYPE, m.headers);
      return true;

    case 'hang':
      return true; // never respond; Ctx counts the abort when the client goes away

    default:
      return false;
  }
}

// Common front door of chat and embeddings: counts and records the request, then checks auth and
// the JSON body (neither uses up a mode). Returns the parsed body, or null when it answered.
function frontDoor(req, res, raw) {
  stats.requests++;
  const body = parseJsonOrNull(raw);
  stats.last_request = requestRecord(req, body);
  if (!authOk(req)) {
    send401(res, bearerToken(req));
    return null;
  }
  if (!isObj(body)) {
    sendJson(res, 400, oaiError(
      'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)',
      'invalid_request_error', null, null));
    return null;
  }
  return body;
}

function handleChat(req, res, raw) {
  const ctx = new Ctx(req, res, stats);
  const body = frontDoor(req, res, raw);
  if (!body) return;
  // Invalid roles and dangling tool messages: rejected before a mode is used up.
  const vErr = validateMessages(body);
  if (vErr) return sendJson(res, 400, vErr);

  const m = modes.take();
  const id = `chatcmpl-${NAME}-${++idCounter}`;
  const model = typeof body.model === 'string' ? body.model : 'fake-model';
  const stream = body.stream === true;

  if (answerErrorMode(req, res, m, model)) return;
  switch (m.mode) {
    case 'normal':
      return answerNormal(ctx, m, id, model, body, stream, m.delay_ms ?? 0);

    case 'answer': {
      const plan = scriptedPlan(body, m.answer);
      if (!stream) return sendJson(res, 200, scriptedNonStream(id, model, plan), m.headers);
      res.writeHead(200, { ...SSE_HEADERS, ...(m.headers || {}) });
      return writeSeq(ctx, stamped(scriptedStream(id, model, body, plan), m.stamp), m.delay_ms ?? 0, () => res.end());
    }

    case 'hang_after_headers':
      res.writeHead(200, stream ? SSE_HEADERS : { 'Content-Type': 'application/json' });
      res.flushHeaders();
      return;

    case 'reset_mid_stream': {
      if (stream) {
        res.writeHead(200, SSE_HEADERS);
        const ev = streamEvents(id, model, body, m.chunks ?? 2, false);
        writeSeq(ctx, ev, m.delay_ms ?? 0, () => ctx.destroyAfterFlush(m.rst));
      } else {
        ctx.sendHalfThenCut(JSON.stringify(nonStreamBody(id, model, body, `${NAME} says hello`)), JSON_CONTENT_TYPE, undefined, m.rst);
      }
      return;
    }

    case 'malformed':
      if (stream) {
        res.writeHead(200, SSE_HEADERS);
        res.write('data: {not json}\n\n');
        res.write('data: [DONE]\n\n');
        res.end();
      } else {
        sendText(res, 200, '{"id": "x", "choices": [', JSON_CONTENT_TYPE);
      }
      return;

    case 'slow_first_byte':
      ctx.later(m.delay_ms ?? DEFAULT_DELAY.slow_first_byte,
        () => answerNormal(ctx, m, id, model, body, stream, 0));
      return;

    case 'keepalive_comments': {
      if (!stream) return answerNormal(ctx, m, id, model, body, false, 0);
      const d = m.delay_ms ?? DEFAULT_DELAY.keepalive_comments;
      res.writeHead(200, SSE_HEADERS);
      let k = 0;
      const tick = () => {
        res.write(': keep-alive\n\n');
        if (++k < 3) ctx.later(d, tick);
        else ctx.later(d, () => answerNormal(ctx, m, id, model, body, true, 0));
      };
      tick();
      return;
    }

    default:
      return sendJson(res, 500, oaiError(`fake_vendor: unhandled mode ${m.mode}`, 'server_error', null, null));
  }
}

// ---------------------------------------------------------------------------
// Embeddings
// ---------------------------------------------------------------------------

function fnv1a(str) {
  let h = 0x811c9dc5;
  const b = Buffer.from(str, 'utf8');
  for (let i = 0; i < b.length; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

// Deterministic unit vector of `dims` numbers for one input (same text, same vector).
function embedVector(text, dims) {
  const v = [];
  for (let d = 0; d < dims; d++) v.push((fnv1a(`${d}:${text}`) % 2001) / 1000 - 1);
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

// Inputs as [text, tokens]: a string counts ceil(length / 4) tokens (at least 1); a token array
// counts its length.
function embeddingInputs(input) {
  const one = (x) => {
    if (typeof x === 'string') return x === '' ? null : [x, Math.max(1, Math.ceil(x.length / 4))];
    if (Array.isArray(x) && x.length > 0 && x.every(Number.isInteger)) return [JSON.stringify(x), x.length];
    return null;
  };
  if (typeof input === 'string') {
    const r = one(input);
    return r ? [r] : null;
  }
  if (!Array.isArray(input) || input.length === 0) return null;
  if (input.every(Number.isInteger)) return [one(input)];
  const out = input.map(one);
  return out.every((r) => r !== null) ? out : null;
}

function embeddingsBody(model, inputs, dims, base64) {
  let tokens = 0;
  const data = inputs.map(([text, n], index) => {
    tokens += n;
    const vec = embedVector(text, dims);
    const embedding = base64 ? Buffer.from(new Float32Array(vec).buffer).toString('base64') : vec;
    return { object: 'embedding', index, embedding };
  });
  return { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

function handleEmbeddings(req, res, raw) {
  const ctx = new Ctx(req, res, stats);
  stats.embeddings_requests++;
  const body = frontDoor(req, res, raw);
  if (!body) return;
  if (body.input === undefined) {
    return sendJson(res, 400, oaiError("'input' is a required property", 'invalid_request_error', null, null));
  }
  const inputs = embeddingInputs(body.input);
  if (!inputs) {
    return sendJson(res, 400, oaiError(
      "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      'invalid_request_error', null, null));
  }
  let dims = 8;
  if (body.dimensions !== undefined) {
    if (!Number.isInteger(body.dimensions) || body.dimensions < 1 || body.dimensions > 3072) {
      return sendJson(res, 400, oaiError(`Invalid value for 'dimensions' = ${JSON.stringify(body.dimensions)}.`,
        'invalid_request_error', 'dimensions', null));
    }
    dims = body.dimensions;
  }
  const base64 = body.encoding_format === 'base64';

  const m = modes.take();
  const model = typeof body.model === 'string' ? body.model : 'fake-embedding';
  if (answerErrorMode(req, res, m, model)) return;
  const answer = () => sendJson(res, 200, embeddingsBody(model, inputs, dims, base64), m.headers);
  switch (m.mode) {
    case 'hang_after_headers':
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      return;

    case 'reset_mid_stream':
      ctx.sendHalfThenCut(JSON.stringify(embeddingsBody(model, inputs, dims, base64)), JSON_CONTENT_TYPE, undefined, m.rst);
      return;

    case 'malformed':
      sendText(res, 200, '{"object": "list", "data": [', JSON_CONTENT_TYPE);
      return;

    case 'slow_first_byte':
      ctx.later(m.delay_ms ?? DEFAULT_DELAY.slow_first_byte, answer);
      return;

    default: // normal, answer, keepalive_comments: a normal embeddings answer
      return answer();
  }
}

// ---------------------------------------------------------------------------
// Mode "answer"
// ---------------------------------------------------------------------------

// Scripted answer for mode "answer": {reasoning?, text?, tool_calls?: [{id?, name, arguments}],
// finish_reason?, usage?: {prompt_tokens?, completion_tokens?, cached_tokens?}}.
function checkAnswer(a) {
  if (!isObj(a)) return 'answer must be an object';
  for (const k of ['reasoning', 'text', 'finish_reason']) {
    if (a[k] !== undefined && typeof a[k] !== 'string') return `answer.${k} must be a string`;
  }
  if (a.tool_calls !== undefined) {
    if (!Array.isArray(a.tool_calls)) return 'answer.tool_calls must be an array';
    for (const c of a.tool_calls) {
      if (c === null || typeof c !== 'object' || typeof c.name !== 'string') return 'each answer.tool_calls entry needs a name';
      if (c.id !== undefined && typeof c.id !== 'string') return 'answer.tool_calls[].id must be a string';
      if (c.arguments !== undefined && typeof c.arguments !== 'string' && (c.arguments === null || typeof c.arguments !== 'object')) {
        return 'answer.tool_calls[].arguments must be a JSON string (or an object)';
      }
    }
  }
  if (a.usage !== undefined && (a.usage === null || typeof a.usage !== 'object')) return 'answer.usage must be an object';
  return null;
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

const MODELS_BODY = JSON.stringify({
  object: 'list',
  data: [{ id: 'fake-model', object: 'model', created: 1700000000, owned_by: NAME }],
});

serveFake({
  prog: 'fake_vendor',
  opts: OPTS,
  stats,
  modes,
  routes: [
    { paths: ['/v1/chat/completions', '/chat/completions'], method: 'POST', onBody: handleChat },
    { paths: ['/v1/embeddings', '/embeddings'], method: 'POST', onBody: handleEmbeddings },
    {
      paths: ['/v1/models', '/models'],
      method: 'GET',
      onRequest: (req, res) => {
        if (!authOk(req)) return send401(res, bearerToken(req));
        return sendText(res, 200, MODELS_BODY, JSON_CONTENT_TYPE);
      },
    },
  ],
  notFound: (req, res) => sendJson(res, 404, oaiError(`Invalid URL (${req.method} ${req.url})`, 'invalid_request_error', null, null)),
  methodNotAllowed: (res, allow) => {
    res.setHeader('Allow', allow);
    sendJson(res, 405, oaiError('Method not allowed', 'invalid_request_error', null, null));
  },
});
