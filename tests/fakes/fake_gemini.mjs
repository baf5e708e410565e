#!/usr/bin/env node
// Fake LLM vendor speaking the Gemini native (generateContent) wire format.
//
// Used by integration tests that exercise the gateway's translation to Gemini upstreams.
// Node.js >= 20, ES module, no npm dependencies.
//
// Usage:
//   node tests/fakes/fake_gemini.mjs --port 0 --name gemA \
//        [--host 127.0.0.1] [--key AIza-expected] [--port-file /path]
//        [--tls-cert cert.pem --tls-key key.pem]   (serve HTTPS instead of HTTP)
//
// See tests/fakes/README.md for the full behaviour and the control API.

import {
  Ctx, ModeState, Stats, countOr, isObj, parseArgs, parseJsonOrNull, readBody, requestRecord, sendCustom,
  sendText, serveFake, splitText, writeSeq,
} from './fake_common.mjs';

const OPTS = parseArgs('fake_gemini', process.argv.slice(2));
const NAME = OPTS.name;

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

const MODES = new Set([
  'normal', 'answer', '429', 'quota', '503', '500', '400', 'key_invalid', 'hang',
  'reset_mid_stream', 'custom',
]);

const DEFAULT_CHUNKS = { reset_mid_stream: 2 };

// Generate requests take the mode (modes.take()); checkAnswer is below.
const modes = new ModeState({ modes: MODES, defaultChunks: DEFAULT_CHUNKS, checkAnswer });
const stats = new Stats({
  requests: 0, count_tokens_requests: 0, connections: 0, aborted: 0, last_request: null, last_count_tokens_request: null,
});
let idCounter = 0; // never reset, so ids stay unique for the process lifetime

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const JSON_TYPE = 'application/json; charset=UTF-8';

// API answers are pretty-printed like Google's (control answers are compact, in fake_common.mjs).
function sendJson(res, status, obj, extraHeaders) {
  sendText(res, status, JSON.stringify(obj, null, 2), JSON_TYPE, extraHeaders);
}

// google.rpc error envelope.
function gError(code, status, message, details) {
  const e = { code, message, status };
  if (details) e.details = details;
  return { error: e };
}

function sendError(res, code, status, message, details, extraHeaders) {
  sendJson(res, code, gError(code, status, message, details), extraHeaders);
}

function bad(res, message, extraHeaders) {
  sendError(res, 400, 'INVALID_ARGUMENT', message, undefined, extraHeaders);
}

function sendKeyInvalid(res, extraHeaders) {
  const msg = 'API key not valid. Please pass a valid API key.';
  sendError(res, 400, 'INVALID_ARGUMENT', msg, [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'API_KEY_INVALID',
      domain: 'googleapis.com',
      metadata: { service: 'generativelanguage.googleapis.com' },
    },
    { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: msg },
  ], extraHeaders);
}

// 429 RESOURCE_EXHAUSTED with a QuotaFailure of `quotaId`, in the real API's words (which speak of
// the quota even for per-minute limits). retrySeconds adds a RetryInfo, as for a per-minute limit;
// null leaves it out, as for a daily quota.
function sendQuotaExceeded(res, model, quotaId, limit, retrySeconds, extraHeaders) {
  const metric = 'generativelanguage.googleapis.com/generate_content_free_tier_requests';
  let message = 'You exceeded your current quota, please check your plan and billing details. For more information on this error, ' +
    'head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: ' +
    `https://ai.dev/usage?tab=rate-limit. \n* Quota exceeded for metric: ${metric}, limit: ${limit}, model: ${model}`;
  const details = [
    {
      '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
      violations: [{ quotaMetric: metric, quotaId, quotaDimensions: { location: 'global', model }, quotaValue: String(limit) }],
    },
    { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
  ];
  if (retrySeconds !== null) {
    message += `\nPlease retry in ${retrySeconds}.0s.`;
    details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retrySeconds}s` });
  }
  sendError(res, 429, 'RESOURCE_EXHAUSTED', message, details, extraHeaders);
}

// x-goog-api-key header or ?key= query parameter.
function authOk(req, query) {
  if (OPTS.key === null) return true;
  return req.headers['x-goog-api-key'] === OPTS.key || query.get('key') === OPTS.key;
}

// Both spellings are accepted by the real API (proto JSON): camelCase and snake_case.
function snake(s) {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
function fieldSet(names) {
  const s = new Set();
  for (const n of names) { s.add(n); s.add(snake(n)); }
  return s;
}
function get(o, camel) {
  return o[camel] !== undefined ? o[camel] : o[snake(camel)];
}

const TOP_FIELDS = fieldSet(['model', 'contents', 'tools', 'toolConfig', 'safetySettings', 'systemInstruction',
  'generationConfig', 'cachedContent']);
const GEN_FIELDS = fieldSet(['stopSequences', 'responseMimeType', 'responseSchema', 'responseJsonSchema',
  '_responseJsonSchema', 'responseModalities', 'candidateCount', 'maxOutputTokens', 'temperature', 'topP', 'topK',
  'seed', 'presencePenalty', 'frequencyPenalty', 'responseLogprobs', 'logprobs', 'enableEnhancedCivicAnswers',
  'speechConfig', 'thinkingConfig', 'imageConfig', 'mediaResolution']);
const THINKING_FIELDS = fieldSet(['thinkingBudget', 'includeThoughts', 'thinkingLevel']);
const CONTENT_FIELDS = fieldSet(['role', 'parts']);
const PART_FIELDS = fieldSet(['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode',
  'codeExecutionResult', 'thought', 'thoughtSignature', 'videoMetadata', 'partMetadata', 'mediaResolution']);
const PART_DATA = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode',
  'codeExecutionResult'];

function unknownNames(obj, known, at) {
  const bad = Object.keys(obj).filter((k) => !known.has(k));
  if (bad.length === 0) return null;
  return bad.map((k) => `Invalid JSON payload received. Unknown name "${k}"${at ? ` at '${at}'` : ''}: Cannot find field.`).join('\n');
}

// Text parts (not thoughts) of the last user turn, joined.
function lastUserText(body) {
  const contents = Array.isArray(body.contents) ? body.contents : [];
  for (let i = contents.length - 1; i >= 0; i--) {
    const c = contents[i];
    if (!isObj(c) || (c.role !== undefined && c.role !== 'user')) continue;
    const parts = Array.isArray(c.parts) ? c.parts : [];
    return parts.filter((p) => isObj(p) && typeof p.text === 'string' && p.thought !== true).map((p) => p.text).join('');
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

const THOUGHT_SIG_MSG = 'Function call is missing a thought_signature in functionCall parts. This is required for tools ' +
  'to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, ' +
  'function call `default_api:%NAME%` , position %POS%. Please refer to ' +
  'https://ai.google.dev/gemini-api/docs/thought-signatures for more details.';

function validateBody(body, model) {
  let err = unknownNames(body, TOP_FIELDS, '');
  if (err) return err;
  const contents = body.contents;
  if (contents === undefined || (Array.isArray(contents) && contents.length === 0)) {
    return '* GenerateContentRequest.contents: contents is not specified\n';
  }
  if (!Array.isArray(contents)) {
    return 'Invalid JSON payload received. Unknown name "contents": Proto field is not repeating, cannot start list.';
  }
  const gemini3 = model.startsWith('gemini-3');
  for (let i = 0; i < contents.length; i++) {
    const c = contents[i];
    if (!isObj(c)) return `Invalid value at 'contents[${i}]' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content), ${JSON.stringify(c)}`;
    err = unknownNames(c, CONTENT_FIELDS, `contents[${i}]`);
    if (err) return err;
    if (c.role !== undefined && c.role !== 'user' && c.role !== 'model') return 'Please use a valid role: user, model.';
    if (!Array.isArray(c.parts) || c.parts.length === 0) {
      return `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.\n`;
    }
    for (let j = 0; j < c.parts.length; j++) {
      const p = c.parts[j];
      const at = `contents[${i}].parts[${j}]`;
      if (!isObj(p)) return `Invalid value at '${at}' (type.googleapis.com/google.ai.generativelanguage.v1beta.Part), ${JSON.stringify(p)}`;
      err = unknownNames(p, PART_FIELDS, at);
      if (err) return err;
      const data = PART_DATA.filter((k) => get(p, k) !== undefined);
      if (data.length === 0) {
        return `* GenerateContentRequest.${at}.data: required oneof field 'data' must have one initialized field\n`;
      }
      if (data.length > 1) {
        return `Invalid JSON payload received. Unknown name "${data[1]}" at '${at}': Oneof field 'data' is already set. Cannot set '${data[1]}'`;
      }
      const fc = get(p, 'functionCall');
      if (fc !== undefined) {
        if (!isObj(fc) || typeof fc.name !== 'string' || fc.name === '') {
          return `* GenerateContentRequest.${at}.function_call.name: Name cannot be empty.\n`;
        }
        if (fc.args !== undefined && !isObj(fc.args)) {
          return `Invalid value at '${at}.function_call.args' (type.googleapis.com/google.protobuf.Struct), ${JSON.stringify(fc.args)}`;
        }
      }
      const fr = get(p, 'functionResponse');
      if (fr !== undefined) {
        if (!isObj(fr) || typeof fr.name !== 'string' || fr.name === '') {
          return `* GenerateContentRequest.${at}.function_response.name: Name cannot be empty.\n`;
        }
        if (!isObj(fr.response)) {
          return `Invalid value at '${at}.function_response.response' (type.googleapis.com/google.protobuf.Struct), ${JSON.stringify(fr.response ?? null)}`;
        }
      }
    }
  }
  // Function call / response pairing, and Gemini 3 thought signatures.
  const callsOf = (c) => c.parts.map((p) => get(p, 'functionCall')).filter((x) => x !== undefined);
  for (let i = 0; i < contents.length; i++) {
    const c = contents[i];
    const role = c.role ?? 'user';
    if (role === 'model' && gemini3) {
      let pos = 0;
      for (const p of c.parts) {
        const fc = get(p, 'functionCall');
        if (fc === undefined) continue;
        const sig = get(p, 'thoughtSignature');
        if (typeof sig !== 'string' || sig === '') {
          return THOUGHT_SIG_MSG.replace('%NAME%', fc.name).replace('%POS%', String(i + 1 + pos));
        }
        pos++;
      }
    }
    if (role !== 'user') continue;
    const responses = c.parts.map((p) => get(p, 'functionResponse')).filter((x) => x !== undefined);
    const prev = i > 0 && (contents[i - 1].role ?? 'user') === 'model' ? callsOf(contents[i - 1]) : [];
    if (responses.length > 0 && prev.length === 0) {
      return 'Please ensure that function response turn comes immediately after a function call turn.';
    }
    if (prev.length > 0 && responses.length !== prev.length) {
      return 'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.';
    }
    const names = new Set(prev.map((fc) => fc.name));
    for (let j = 0; j < c.parts.length; j++) {
      const fr = get(c.parts[j], 'functionResponse');
      if (fr !== undefined && !names.has(fr.name)) {
        return `* GenerateContentRequest.contents[${i}].parts[${j}].function_response.name: function response name "${fr.name}" ` +
          'does not match any function call in the preceding model turn\n';
      }
    }
  }
  const gc = get(body, 'generationConfig');
  if (gc !== undefined) {
    if (!isObj(gc)) return `Invalid value at 'generation_config' (type.googleapis.com/google.ai.generativelanguage.v1beta.GenerationConfig), ${JSON.stringify(gc)}`;
    err = unknownNames(gc, GEN_FIELDS, 'generation_config');
    if (err) return err;
    const t = gc.temperature;
    if (t !== undefined) {
      if (typeof t !== 'number' || !Number.isFinite(t)) return `Invalid value at 'generation_config.temperature' (TYPE_FLOAT), ${JSON.stringify(t)}`;
      if (t < 0 || t > 2) return `* GenerateContentRequest.generation_config.temperature: temperature must be in the range [0.0, 2.0]\n`;
    }
    const tc = get(gc, 'thinkingConfig');
    if (tc !== undefined) {
      if (!isObj(tc)) return `Invalid value at 'generation_config.thinking_config', ${JSON.stringify(tc)}`;
      err = unknownNames(tc, THINKING_FIELDS, 'generation_config.thinking_config');
      if (err) return err;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

// Builds the answer plan: a list of stream steps (each an array of parts), the finish reason and
// the final usage. The non-stream answer is the concatenation of all steps' parts.
function buildPlan(body, model, scripted) {
  const steps = [];
  let thoughtPieces = 0;
  let visible = 0;
  if (scripted) {
    if (typeof scripted.thoughts === 'string' && scripted.thoughts !== '') {
      for (const t of splitText(scripted.thoughts)) steps.push([{ text: t, thought: true }]);
      thoughtPieces = steps.length;
    }
    if (typeof scripted.text === 'string' && scripted.text !== '') {
      for (const t of splitText(scripted.text)) { steps.push([{ text: t }]); visible++; }
    }
    const calls = Array.isArray(scripted.function_calls) ? scripted.function_calls : [];
    if (calls.length > 0) {
      const n = ++idCounter;
      const parts = calls.map((c, k) => {
        const fc = { name: String(c.name), args: isObj(c.args) ? c.args : {} };
        if (typeof c.id === 'string') fc.id = c.id;
        const part = { functionCall: fc };
        if (typeof c.thought_signature === 'string') part.thoughtSignature = c.thought_signature;
        else if (model.startsWith('gemini-3')) part.thoughtSignature = `sig-${c.name}-${n}-${k}`;
        return part;
      });
      steps.push(parts);
      visible += calls.length;
    }
  } else {
    for (const t of splitText(defaultText(body))) { steps.push([{ text: t }]); visible++; }
  }
  const finishReason = scripted && typeof scripted.finish_reason === 'string' ? scripted.finish_reason : 'STOP';
  const P = 10 * body.contents.length;
  const u = scripted && isObj(scripted.usage) ? scripted.usage : {};
  const usage = { promptTokenCount: countOr(u.promptTokenCount, P) };
  if (Number.isInteger(u.cachedContentTokenCount)) usage.cachedContentTokenCount = u.cachedContentTokenCount;
  usage.candidatesTokenCount = countOr(u.candidatesTokenCount, visible);
  const thoughts = countOr(u.thoughtsTokenCount, thoughtPieces);
  if (thoughts > 0 || u.thoughtsTokenCount !== undefined) usage.thoughtsTokenCount = thoughts;
  usage.totalTokenCount = countOr(u.totalTokenCount, usage.promptTokenCount + usage.candidatesTokenCount + thoughts);
  return { steps, finishReason, usage, thoughtPieces };
}

function responseBody(parts, finishReason, usage, model, responseId) {
  const cand = { content: { role: 'model', parts }, index: 0 };
  if (finishReason) cand.finishReason = finishReason;
  return { candidates: [cand], usageMetadata: usage, modelVersion: model, responseId };
}

// Non-stream: the steps' parts with adjacent text pieces (of the same kind: thought or not)
// merged back into one part, as the real API answers.
function nonStreamBody(plan, model, responseId) {
  const parts = [];
  for (const p of plan.steps.flat()) {
    const prev = parts[parts.length - 1];
    if (prev && typeof p.text === 'string' && typeof prev.text === 'string' && (prev.thought === true) === (p.thought === true)) {
      parts[parts.length - 1] = { ...prev, text: prev.text + p.text };
    } else {
      parts.push({ ...p });
    }
  }
  if (parts.length === 0) parts.push({ text: '' });
  return responseBody(parts, plan.finishReason, plan.usage, model, responseId);
}

// One SSE event per step; usage on every event, cumulative (capped at the final numbers); the
// last event carries finishReason and the final usage. No [DONE]: the stream ends with the body.
function streamEvents(plan, model, responseId, final = true) {
  const steps = plan.steps.length > 0 ? plan.steps : [[{ text: '' }]];
  const out = [];
  let thoughtsSoFar = 0;
  let visibleSoFar = 0;
  const fu = plan.usage;
  steps.forEach((parts, i) => {
    const last = final && i === steps.length - 1;
    let usage;
    if (last) {
      usage = fu;
    } else {
      for (const p of parts) {
        if (p.thought === true) thoughtsSoFar++;
        else if (p.text !== '' || p.functionCall) visibleSoFar++;
      }
      const cand = Math.min(visibleSoFar, fu.candidatesTokenCount);
      const th = Math.min(thoughtsSoFar, fu.thoughtsTokenCount ?? 0);
      usage = { promptTokenCount: fu.promptTokenCount, candidatesTokenCount: cand };
      if (fu.thoughtsTokenCount !== undefined) usage.thoughtsTokenCount = th;
      usage.totalTokenCount = fu.promptTokenCount + cand + th;
    }
    out.push(`data: ${JSON.stringify(responseBody(parts, last ? plan.finishReason : null, usage, model, responseId))}\r\n\r\n`);
  });
  return out;
}

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
};

// ---------------------------------------------------------------------------
// generateContent / streamGenerateContent
// ---------------------------------------------------------------------------

function parseJsonBody(res, raw) {
  let body;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    bad(res, `Invalid JSON payload received. ${e.message}`);
    return null;
  }
  if (!isObj(body)) {
    bad(res, 'Invalid JSON payload received. Expected an object.');
    return null;
  }
  return body;
}

function handleGenerate(req, res, raw, model, stream, query) {
  const ctx = new Ctx(req, res, stats);
  stats.requests++;
  stats.last_request = requestRecord(req, parseJsonOrNull(raw));

  if (!authOk(req, query)) return sendKeyInvalid(res);
  if (stream && query.get('alt') !== 'sse') {
    return bad(res, 'fake_gemini only supports streamGenerateContent with ?alt=sse (without it the real API answers one JSON array).');
  }
  const body = parseJsonBody(res, raw);
  if (!body) return;
  const vErr = validateBody(body, model);
  if (vErr) return bad(res, vErr);

  const m = modes.take();
  const hdrs = { ...(m.headers || {}) };
  const responseId = `resp-${NAME}-${++idCounter}`;
  const delay = m.delay_ms ?? 0;

  switch (m.mode) {
    case 'normal':
    case 'answer': {
      const plan = buildPlan(body, model, m.mode === 'answer' ? m.answer : null);
      if (!stream) return sendJson(res, 200, nonStreamBody(plan, model, responseId), hdrs);
      res.writeHead(200, { ...SSE_HEADERS, ...hdrs });
      return writeSeq(ctx, streamEvents(plan, model, responseId), delay, () => res.end());
    }

    case '429':
      return sendQuotaExceeded(res, model, 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', 10, 7, hdrs);

    case 'quota':
      return sendQuotaExceeded(res, model, 'GenerateRequestsPerDayPerProjectPerModel-FreeTier', 20, null, hdrs);

    case '503':
      return sendError(res, 503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.', undefined, hdrs);

    case '500':
      return sendError(res, 500, 'INTERNAL',
        'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
        undefined, hdrs);

    case '400':
      return sendError(res, 400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', undefined, hdrs);

    case 'key_invalid':
      return sendKeyInvalid(res, hdrs);

    case 'custom':
      return sendCustom(res, m, JSON_TYPE, hdrs);

    case 'hang':
      return; // never respond; Ctx counts the abort when the client goes away

    case 'reset_mid_stream': {
      const n = m.chunks ?? DEFAULT_CHUNKS.reset_mid_stream;
      const text = Array.from({ length: Math.max(n, 1) + 2 }, (_, i) => `${NAME}-part-${i}`).join(' ');
      const plan = buildPlan(body, model, { text });
      if (!stream) {
        return ctx.sendHalfThenCut(JSON.stringify(nonStreamBody(plan, model, responseId)), JSON_TYPE, hdrs, m.rst);
      }
      res.writeHead(200, { ...SSE_HEADERS, ...hdrs });
      const ev = streamEvents(plan, model, responseId, false).slice(0, n);
      return writeSeq(ctx, ev, delay, () => ctx.destroyAfterFlush(m.rst));
    }

    default:
      return sendError(res, 500, 'INTERNAL', `fake_gemini: unhandled mode ${m.mode}`);
  }
}

// countTokens: totalTokens = Math.ceil(JSON.stringify(body).length / 4) over the parsed request
// body. Same auth; needs `contents` or `generateContentRequest`; does not use up a mode.
function handleCountTokens(req, res, raw, query) {
  stats.count_tokens_requests++;
  stats.last_count_tokens_request = requestRecord(req, parseJsonOrNull(raw));
  if (!authOk(req, query)) return sendKeyInvalid(res);
  const body = parseJsonBody(res, raw);
  if (!body) return;
  const inner = get(body, 'generateContentRequest');
  const contents = inner !== undefined ? (isObj(inner) ? inner.contents : undefined) : body.contents;
  if (!Array.isArray(contents) || contents.length === 0) {
    return bad(res, '* CountTokensRequest.contents: contents is not specified\n');
  }
  sendJson(res, 200, { totalTokens: Math.ceil(JSON.stringify(body).length / 4) });
}

// ---------------------------------------------------------------------------
// Mode "answer"
// ---------------------------------------------------------------------------

function checkAnswer(a) {
  if (!isObj(a)) return 'answer must be an object';
  for (const k of ['thoughts', 'text', 'finish_reason']) {
    if (a[k] !== undefined && typeof a[k] !== 'string') return `answer.${k} must be a string`;
  }
  if (a.function_calls !== undefined) {
    if (!Array.isArray(a.function_calls)) return 'answer.function_calls must be an array';
    for (const c of a.function_calls) {
      if (!isObj(c) || typeof c.name !== 'string') return 'each answer.function_calls entry needs a name';
      if (c.args !== undefined && !isObj(c.args)) return 'answer.function_calls[].args must be an object';
      if (c.id !== undefined && typeof c.id !== 'string') return 'answer.function_calls[].id must be a string';
      if (c.thought_signature !== undefined && typeof c.thought_signature !== 'string') {
        return 'answer.function_calls[].thought_signature must be a string';
      }
    }
  }
  if (a.usage !== undefined && !isObj(a.usage)) return 'answer.usage must be an object';
  return null;
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

const MODELS = ['gemini-2.5-flash', 'gemini-3-flash-preview'].map((id) => ({
  name: `models/${id}`,
  version: '001',
  displayName: id,
  description: `${NAME} fake ${id}`,
  inputTokenLimit: 1048576,
  outputTokenLimit: 65536,
  supportedGenerationMethods: ['generateContent', 'countTokens'],
  temperature: 1,
  topP: 0.95,
  topK: 64,
  maxTemperature: 2,
  thinking: true,
}));
const MODELS_BODY = JSON.stringify({ models: MODELS });

const GEN_PATH = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/;

serveFake({
  prog: 'fake_gemini',
  opts: OPTS,
  stats,
  modes,
  routes: [
    {
      pattern: GEN_PATH,
      method: 'POST',
      onRequest: (req, res, query, g) => {
        const model = decodeURIComponent(g[1]);
        if (g[2] === 'countTokens') return readBody(req, (raw) => handleCountTokens(req, res, raw, query));
        return readBody(req, (raw) => handleGenerate(req, res, raw, model, g[2] === 'streamGenerateContent', query));
      },
    },
    {
      paths: ['/v1beta/models'],
      method: 'GET',
      onRequest: (req, res, query) => {
        if (!authOk(req, query)) return sendKeyInvalid(res);
        return sendText(res, 200, MODELS_BODY, JSON_TYPE);
      },
    },
  ],
  notFound: (req, res, p) => sendError(res, 404, 'NOT_FOUND', `Requested entity was not found. (${req.method} ${p})`),
  methodNotAllowed: (res, allow) => {
    res.setHeader('Allow', allow);
    sendError(res, 405, 'INVALID_ARGUMENT', 'Method not allowed');
  },
  controlContentType: JSON_TYPE,
});
