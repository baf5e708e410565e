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

import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

function usage(msg) {
  if (msg) process.stderr.write(`fake_gemini: ${msg}\n`);
  process.stderr.write(
    'usage: fake_gemini.mjs --port N --name NAME [--host H] [--key KEY] [--port-file PATH] [--tls-cert C --tls-key K]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 0, name: 'fake', host: '127.0.0.1', key: null, portFile: null, tlsCert: null, tlsKey: null };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const next = () => {
      if (v !== undefined) return v;
      if (i + 1 >= argv.length) usage(`missing value for ${a}`);
      return argv[++i];
    };
    switch (a) {
      case '--port': {
        const p = Number(next());
        if (!Number.isInteger(p) || p < 0 || p > 65535) usage('invalid --port');
        opts.port = p;
        break;
      }
      case '--name': opts.name = next(); break;
      case '--host': opts.host = next(); break;
      case '--key': opts.key = next(); break;
      case '--port-file': opts.portFile = next(); break;
      case '--tls-cert': opts.tlsCert = next(); break;
      case '--tls-key': opts.tlsKey = next(); break;
      case '-h':
      case '--help': usage(); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if ((opts.tlsCert === null) !== (opts.tlsKey === null)) usage('--tls-cert and --tls-key go together');
  return opts;
}

const OPTS = parseArgs(process.argv.slice(2));
const NAME = OPTS.name;

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

const MODES = new Set([
  'normal', 'answer', '429', 'quota', '503', '500', '400', 'key_invalid', 'hang',
  'reset_mid_stream', 'custom',
]);

const DEFAULT_CHUNKS = { reset_mid_stream: 2 };

function normalMode() {
  return {
    mode: 'normal', times: null, chunks: null, delay_ms: null, rst: false,
    status: null, body: null, headers: null, answer: null,
  };
}

let modeState = normalMode();
let stats;
function resetStats() {
  stats = { requests: 0, count_tokens_requests: 0, connections: 0, aborted: 0, last_request: null, last_count_tokens_request: null };
}
resetStats();
let openConnections = 0;
let idCounter = 0; // never reset, so ids stay unique for the process lifetime

// Takes the mode for one generate request and consumes one use of a one-shot mode.
function takeMode() {
  const m = modeState;
  if (m.times !== null) {
    m.times -= 1;
    if (m.times <= 0) modeState = normalMode();
  }
  return m;
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const JSON_TYPE = 'application/json; charset=UTF-8';

// API answers are pretty-printed like Google's; control answers (compact=true) are not.
function sendJson(res, status, obj, extraHeaders, compact = false) {
  const body = compact ? JSON.stringify(obj) : JSON.stringify(obj, null, 2);
  const headers = {
    'Content-Type': JSON_TYPE,
    'Content-Length': Buffer.byteLength(body),
  };
  if (extraHeaders) Object.assign(headers, extraHeaders);
  res.writeHead(status, headers);
  res.end(body);
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

// x-goog-api-key header or ?key= query parameter.
function authOk(req, query) {
  if (OPTS.key === null) return true;
  return req.headers['x-goog-api-key'] === OPTS.key || query.get('key') === OPTS.key;
}

function readBody(req, cb) {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => cb(parts.length === 1 ? parts[0] : Buffer.concat(parts)));
  req.on('error', () => {});
}

function isObj(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
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

// Splits text into deterministic stream pieces: at word boundaries (whitespace stays with the
// following word); a single word of 2+ characters is cut in half. "" gives no pieces.
function splitText(s) {
  if (s.length === 0) return [];
  let parts = s.match(/\s*\S+|\s+$/g) || [s];
  if (parts.join('') !== s) parts = [s];
  if (parts.length >= 2) return parts;
  const cps = Array.from(s);
  if (cps.length < 2) return [s];
  const h = Math.ceil(cps.length / 2);
  return [cps.slice(0, h).join(''), cps.slice(h).join('')];
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
  const num = (v, d) => (Number.isInteger(v) && v >= 0 ? v : d);
  const usage = { promptTokenCount: num(u.promptTokenCount, P) };
  if (Number.isInteger(u.cachedContentTokenCount)) usage.cachedContentTokenCount = u.cachedContentTokenCount;
  usage.candidatesTokenCount = num(u.candidatesTokenCount, visible);
  const thoughts = num(u.thoughtsTokenCount, thoughtPieces);
  if (thoughts > 0 || u.thoughtsTokenCount !== undefined) usage.thoughtsTokenCount = thoughts;
  usage.totalTokenCount = num(u.totalTokenCount, usage.promptTokenCount + usage.candidatesTokenCount + thoughts);
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
// Per-response context: one pending timer at most, cleared on close.
// ---------------------------------------------------------------------------

class Ctx {
  constructor(req, res) {
    this.req = req;
    this.res = res;
    this.timer = null;
    this.closed = false;
    this.selfDestroyed = false;
    res.on('close', () => {
      this.closed = true;
      if (this.timer) { clearTimeout(this.timer); this.timer = null; }
      if (!res.writableFinished && !this.selfDestroyed) stats.aborted++;
    });
  }

  later(ms, fn) {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.closed) fn();
    }, ms);
  }

  destroyAfterFlush(rst) {
    const sock = this.req.socket;
    this.selfDestroyed = true;
    const kill = () => {
      if (rst && typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
      else sock.destroy();
    };
    if (sock.destroyed) return;
    sock.write('', kill);
  }
}

function writeSeq(ctx, events, delay, done) {
  const res = ctx.res;
  let i = 0;
  const step = () => {
    while (i < events.length) {
      if (ctx.closed) return;
      res.write(events[i++]);
      if (delay > 0 && i < events.length) {
        ctx.later(delay, step);
        return;
      }
    }
    if (!ctx.closed) done();
  };
  step();
}

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
  const ctx = new Ctx(req, res);
  stats.requests++;
  let parsed = null;
  try { parsed = JSON.parse(raw.toString('utf8')); } catch { /* reported below */ }
  stats.last_request = { headers: req.headers, body: parsed, url: req.url };

  if (!authOk(req, query)) return sendKeyInvalid(res);
  if (stream && query.get('alt') !== 'sse') {
    return bad(res, 'fake_gemini only supports streamGenerateContent with ?alt=sse (without it the real API answers one JSON array).');
  }
  const body = parseJsonBody(res, raw);
  if (!body) return;
  const vErr = validateBody(body, model);
  if (vErr) return bad(res, vErr);

  const m = takeMode();
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
      return sendError(res, 429, 'RESOURCE_EXHAUSTED',
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, ' +
        'head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: ' +
        `https://ai.dev/usage?tab=rate-limit. \n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: ${model}\nPlease retry in 7.0s.`,
        [
          {
            '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
            violations: [{
              quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
              quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
              quotaDimensions: { location: 'global', model },
              quotaValue: '10',
            }],
          },
          { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' },
        ], hdrs);

    case 'quota':
      return sendError(res, 429, 'RESOURCE_EXHAUSTED',
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, ' +
        'head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: ' +
        `https://ai.dev/usage?tab=rate-limit. \n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 20, model: ${model}`,
        [
          {
            '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
            violations: [{
              quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
              quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier',
              quotaDimensions: { location: 'global', model },
              quotaValue: '20',
            }],
          },
          { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
        ], hdrs);

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

    case 'custom': {
      const text = typeof m.body === 'string' ? m.body : JSON.stringify(m.body);
      res.writeHead(m.status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text), ...hdrs });
      return res.end(text);
    }

    case 'hang':
      return; // never respond; Ctx counts the abort when the client goes away

    case 'reset_mid_stream': {
      const n = m.chunks ?? DEFAULT_CHUNKS.reset_mid_stream;
      const text = Array.from({ length: Math.max(n, 1) + 2 }, (_, i) => `${NAME}-part-${i}`).join(' ');
      const plan = buildPlan(body, model, { text });
      if (!stream) {
        const buf = Buffer.from(JSON.stringify(nonStreamBody(plan, model, responseId)));
        res.writeHead(200, { 'Content-Type': JSON_TYPE, 'Content-Length': buf.length, ...hdrs });
        res.write(buf.subarray(0, buf.length >> 1));
        return ctx.destroyAfterFlush(m.rst);
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
  let parsed = null;
  try { parsed = JSON.parse(raw.toString('utf8')); } catch { /* reported below */ }
  stats.last_count_tokens_request = { headers: req.headers, body: parsed, url: req.url };
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
// Control API
// ---------------------------------------------------------------------------

function badControl(res, msg) {
  sendJson(res, 400, { ok: false, error: msg }, undefined, true);
}

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

function handleSetMode(res, raw) {
  let b;
  try {
    b = raw.length ? JSON.parse(raw.toString('utf8')) : {};
  } catch {
    return badControl(res, 'invalid JSON');
  }
  if (!isObj(b)) return badControl(res, 'body must be an object');
  const mode = b.mode === undefined ? 'normal' : String(b.mode);
  if (!MODES.has(mode)) return badControl(res, `unknown mode ${mode}`);
  const next = normalMode();
  next.mode = mode;
  if (b.times !== undefined && b.times !== null) {
    if (!Number.isInteger(b.times) || b.times < 1) return badControl(res, 'times must be a positive integer');
    next.times = b.times;
  }
  if (b.chunks !== undefined && b.chunks !== null) {
    if (!Number.isInteger(b.chunks) || b.chunks < 0) return badControl(res, 'chunks must be a non-negative integer');
    next.chunks = b.chunks;
  }
  if (b.delay_ms !== undefined && b.delay_ms !== null) {
    if (typeof b.delay_ms !== 'number' || !Number.isFinite(b.delay_ms) || b.delay_ms < 0) {
      return badControl(res, 'delay_ms must be a non-negative number');
    }
    next.delay_ms = b.delay_ms;
  }
  if (b.rst !== undefined) next.rst = b.rst === true;
  if (b.headers !== undefined && b.headers !== null) {
    if (!isObj(b.headers)) return badControl(res, 'headers must be an object');
    next.headers = b.headers;
  }
  if (mode === 'custom') {
    if (!Number.isInteger(b.status) || b.status < 100 || b.status > 599) return badControl(res, 'custom needs an HTTP status');
    next.status = b.status;
    next.body = b.body ?? '';
  }
  if (mode === 'answer') {
    const err = checkAnswer(b.answer);
    if (err) return badControl(res, err);
    next.answer = b.answer;
  }
  if (next.chunks === null && DEFAULT_CHUNKS[mode] !== undefined) next.chunks = DEFAULT_CHUNKS[mode];
  modeState = next;
  sendJson(res, 200, { ok: true }, undefined, true);
}

function statsBody() {
  return {
    name: NAME,
    requests: stats.requests,
    count_tokens_requests: stats.count_tokens_requests,
    connections: stats.connections,
    open_connections: openConnections,
    aborted: stats.aborted,
    last_request: stats.last_request,
    last_count_tokens_request: stats.last_count_tokens_request,
  };
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

function notFound(res, req, p) {
  sendError(res, 404, 'NOT_FOUND', `Requested entity was not found. (${req.method} ${p})`);
}

function methodNotAllowed(res, allow) {
  res.setHeader('Allow', allow);
  sendError(res, 405, 'INVALID_ARGUMENT', 'Method not allowed');
}

const GEN_PATH = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/;

const server = (OPTS.tlsCert ? https : http).createServer({
  ...(OPTS.tlsCert ? { cert: fs.readFileSync(OPTS.tlsCert), key: fs.readFileSync(OPTS.tlsKey) } : {}),
  keepAliveTimeout: 65000,
  headersTimeout: 66000,
  requestTimeout: 0, // hang modes must not be cut by node itself
}, (req, res) => {
  res.setHeader('x-fake-vendor', NAME);
  const url = req.url || '/';
  const q = url.indexOf('?');
  const p = q >= 0 ? url.slice(0, q) : url;
  const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');

  const g = GEN_PATH.exec(p);
  if (g) {
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
    const model = decodeURIComponent(g[1]);
    if (g[2] === 'countTokens') return readBody(req, (raw) => handleCountTokens(req, res, raw, query));
    return readBody(req, (raw) => handleGenerate(req, res, raw, model, g[2] === 'streamGenerateContent', query));
  }
  if (p === '/v1beta/models') {
    if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
    req.resume();
    if (!authOk(req, query)) return sendKeyInvalid(res);
    res.writeHead(200, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(MODELS_BODY) });
    return res.end(MODELS_BODY);
  }
  if (p === '/_control/mode') {
    if (req.method === 'POST') return readBody(req, (raw) => handleSetMode(res, raw));
    if (req.method === 'GET') {
      req.resume();
      return sendJson(res, 200, { ...modeState }, undefined, true);
    }
    return methodNotAllowed(res, 'GET, POST');
  }
  if (p === '/_control/stats') {
    req.resume();
    return sendJson(res, 200, statsBody(), undefined, true);
  }
  if (p === '/_control/reset') {
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
    return readBody(req, () => {
      modeState = normalMode();
      resetStats();
      sendJson(res, 200, { ok: true }, undefined, true);
    });
  }
  if (p === '/_control/health' || p === '/health') {
    req.resume();
    return sendJson(res, 200, { ok: true, name: NAME }, undefined, true);
  }
  req.resume();
  return notFound(res, req, p);
});

server.on('connection', (sock) => {
  stats.connections++;
  openConnections++;
  sock.setNoDelay(true);
  sock.on('close', () => { openConnections--; });
});

server.on('clientError', (err, sock) => {
  if (sock.writable && !sock.destroyed) {
    sock.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  } else {
    sock.destroy();
  }
});

server.on('error', (err) => {
  process.stderr.write(`fake_gemini ${NAME}: ${err.message}\n`);
  process.exit(1);
});

server.listen(OPTS.port, OPTS.host, () => {
  const port = server.address().port;
  if (OPTS.portFile) {
    const dir = path.dirname(OPTS.portFile);
    const tmp = path.join(dir, `.${path.basename(OPTS.portFile)}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, `${port}\n`);
    fs.renameSync(tmp, OPTS.portFile);
  }
  process.stdout.write(`LISTENING ${port}\n`);
});

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdout.on('error', () => {});
