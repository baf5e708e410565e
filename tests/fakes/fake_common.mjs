// Plumbing shared by the fake LLM vendors (fake_vendor.mjs, fake_anthropic.mjs, fake_gemini.mjs):
// the command line, the HTTP(S) server and its lifecycle, the mode state behind /_control/mode,
// the counters behind /_control/stats, the rest of the /_control/* API, and per-response helpers
// (timers cleared on close, paced writes, connections cut on purpose).
//
// Each fake keeps everything that belongs to its wire dialect: its routes, answers, validation,
// error bodies, modes and mode parameters. Node.js >= 20, ES module, no npm dependencies.
// See tests/fakes/README.md for the behaviour the fakes promise.

import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';

export const JSON_CONTENT_TYPE = 'application/json';

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

// Parses --port --name --host --key --port-file --tls-cert --tls-key (also as --opt=value) for
// the fake `prog` (e.g. "fake_vendor"). A bad argument prints `<prog>: <problem>` and the usage
// line and exits with status 2; -h/--help prints the usage line and exits with status 2.
// With checkTlsPair, --tls-cert and --tls-key must come together.
export function parseArgs(prog, argv, { checkTlsPair = true } = {}) {
  const usage = (msg) => {
    if (msg) process.stderr.write(`${prog}: ${msg}\n`);
    process.stderr.write(
      `usage: ${prog}.mjs --port N --name NAME [--host H] [--key KEY] [--port-file PATH] [--tls-cert C --tls-key K]\n`);
    process.exit(2);
  };
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
  if (checkTlsPair && (opts.tlsCert === null) !== (opts.tlsKey === null)) usage('--tls-cert and --tls-key go together');
  return opts;
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

export function isObj(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Reads the whole request body, then calls cb(buffer).
export function readBody(req, cb) {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => cb(parts.length === 1 ? parts[0] : Buffer.concat(parts)));
  req.on('error', () => {});
}

// The parsed JSON of a request body, or null when it is not JSON.
export function parseJsonOrNull(raw) {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
}

// What /_control/stats shows of a request (`last_request` and the like).
export function requestRecord(req, body) {
  return { headers: req.headers, body, url: req.url };
}

// The token of an `Authorization: Bearer <token>` header, or null.
export function bearerToken(req) {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(.*)$/i.exec(h);
  return m ? m[1].trim() : null;
}

// `v` when it is a non-negative integer (a token count given by a scripted answer), else `fallback`.
export function countOr(v, fallback) {
  return Number.isInteger(v) && v >= 0 ? v : fallback;
}

// Splits text into deterministic stream pieces: at word boundaries (whitespace stays with the
// following word); a single word of 2+ characters is cut in half. "" gives no pieces.
export function splitText(s) {
  if (s.length === 0) return [];
  let parts = s.match(/\s*\S+|\s+$/g) || [s];
  if (parts.join('') !== s) parts = [s];
  if (parts.length >= 2) return parts;
  const cps = Array.from(s);
  if (cps.length < 2) return [s];
  const h = Math.ceil(cps.length / 2);
  return [cps.slice(0, h).join(''), cps.slice(h).join('')];
}

// Splits a JSON text (tool call arguments) into three fragments; a text of fewer than three
// characters is split like splitText, and "" gives no fragments.
export function splitInThree(s) {
  const cps = Array.from(s);
  if (cps.length < 3) return cps.length ? splitText(s) : [];
  const a = Math.ceil(cps.length / 3);
  const b = Math.ceil((2 * cps.length) / 3);
  return [cps.slice(0, a).join(''), cps.slice(a, b).join(''), cps.slice(b).join('')];
}

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

// Answers `text` with a Content-Length; extraHeaders are added last (they may override).
export function sendText(res, status, text, contentType, extraHeaders) {
  const headers = {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
  };
  if (extraHeaders) Object.assign(headers, extraHeaders);
  res.writeHead(status, headers);
  res.end(text);
}

// Answers `obj` as compact JSON.
export function sendJson(res, status, obj, extraHeaders, contentType = JSON_CONTENT_TYPE) {
  sendText(res, status, JSON.stringify(obj), contentType, extraHeaders);
}

// Mode "custom": the mode's status and body (a string as is, anything else as JSON).
export function sendCustom(res, m, contentType, extraHeaders) {
  sendText(res, m.status, typeof m.body === 'string' ? m.body : JSON.stringify(m.body), contentType, extraHeaders);
}

// ---------------------------------------------------------------------------
// Per-response context: one pending timer at most, cleared on close. A response whose
// connection closes before it finished counts in stats.aborted, unless the fake cut it itself.
// ---------------------------------------------------------------------------

export class Ctx {
  constructor(req, res, stats) {
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

  // Cut the connection abruptly after everything written so far is flushed: FIN, or with rst a
  // TCP RST.
  destroyAfterFlush(rst) {
    const sock = this.req.socket;
    this.selfDestroyed = true;
    const kill = () => {
      if (rst && typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
      else sock.destroy();
    };
    // An empty write's callback runs once the earlier writes are handed to the kernel.
    if (sock.destroyed) return;
    sock.write('', kill);
  }

  // Mode "reset_mid_stream" without streaming: a 200 with the full Content-Length of `text`,
  // half of the body, then the connection is cut.
  sendHalfThenCut(text, contentType, extraHeaders, rst) {
    const buf = Buffer.from(text);
    this.res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': buf.length, ...extraHeaders });
    this.res.write(buf.subarray(0, buf.length >> 1));
    this.destroyAfterFlush(rst);
  }
}

// Writes events one per res.write(), `delay` ms apart (0 = back to back), then calls done().
// An event may be a function: it is called at the moment of writing and its string is sent
// (fake_vendor's `stamp` uses this to put the send time into each event).
export function writeSeq(ctx, events, delay, done) {
  const res = ctx.res;
  let i = 0;
  const step = () => {
    while (i < events.length) {
      if (ctx.closed) return;
      const e = events[i++];
      res.write(typeof e === 'function' ? e() : e);
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
// Mode state (/_control/mode)
// ---------------------------------------------------------------------------

// The mode that the fake's API requests get. The common parameters are times (one-shot for that
// many requests), chunks, delay_ms, rst, headers, and status/body for "custom" and answer for
// "answer"; a dialect adds its own with extraFields (names and defaults) and checkExtra.
export class ModeState {
  // modes: Set of the mode names; defaultChunks: {mode: chunks} when `chunks` is not given;
  // extraFields: dialect fields of the state and their defaults (listed after the common ones);
  // checkExtra(b, next): checks and copies the dialect's parameters from the control body b,
  // returns an error message or null; checkAnswer(answer): an error message or null.
  constructor({ modes, defaultChunks = {}, extraFields = {}, checkExtra = null, checkAnswer }) {
    this.modes = modes;
    this.defaultChunks = defaultChunks;
    this.extraFields = extraFields;
    this.checkExtra = checkExtra;
    this.checkAnswer = checkAnswer;
    this.current = this.normal();
  }

  normal() {
    return {
      mode: 'normal', times: null, chunks: null, delay_ms: null, rst: false,
      status: null, body: null, headers: null, answer: null, ...this.extraFields,
    };
  }

  reset() {
    this.current = this.normal();
  }

  // Takes the mode for one request and consumes one use of a one-shot mode.
  take() {
    const m = this.current;
    if (m.times !== null) {
      m.times -= 1;
      if (m.times <= 0) this.current = this.normal();
    }
    return m;
  }

  // Sets the mode from a POST /_control/mode body. Returns an error message (and changes
  // nothing) or null.
  set(b) {
    if (!isObj(b)) return 'body must be an object';
    const mode = b.mode === undefined ? 'normal' : String(b.mode);
    if (!this.modes.has(mode)) return `unknown mode ${mode}`;
    const next = this.normal();
    next.mode = mode;
    if (b.times !== undefined && b.times !== null) {
      if (!Number.isInteger(b.times) || b.times < 1) return 'times must be a positive integer';
      next.times = b.times;
    }
    if (b.chunks !== undefined && b.chunks !== null) {
      if (!Number.isInteger(b.chunks) || b.chunks < 0) return 'chunks must be a non-negative integer';
      next.chunks = b.chunks;
    }
    if (b.delay_ms !== undefined && b.delay_ms !== null) {
      if (typeof b.delay_ms !== 'number' || !Number.isFinite(b.delay_ms) || b.delay_ms < 0) {
        return 'delay_ms must be a non-negative number';
      }
      next.delay_ms = b.delay_ms;
    }
    if (this.checkExtra) {
      const err = this.checkExtra(b, next);
      if (err) return err;
    }
    if (b.rst !== undefined) next.rst = b.rst === true;
    // custom: answer with exactly this status, body (object -> JSON, string -> as is) and headers;
    // headers also apply to the other answers (e.g. x-ratelimit-remaining-requests: 0).
    if (b.headers !== undefined && b.headers !== null) {
      if (!isObj(b.headers)) return 'headers must be an object';
      next.headers = b.headers;
    }
    if (mode === 'custom') {
      if (!Number.isInteger(b.status) || b.status < 100 || b.status > 599) return 'custom needs an HTTP status';
      next.status = b.status;
      next.body = b.body ?? '';
    }
    if (mode === 'answer') {
      const err = this.checkAnswer(b.answer);
      if (err) return err;
      next.answer = b.answer;
    }
    if (next.chunks === null && this.defaultChunks[mode] !== undefined) next.chunks = this.defaultChunks[mode];
    this.current = next;
    return null;
  }
}

// ---------------------------------------------------------------------------
// Counters (/_control/stats)
// ---------------------------------------------------------------------------

// The counters of GET /_control/stats. `fields` are the counters a reset clears, with their
// initial values, in the order the stats answer lists them; every fake has requests,
// connections, aborted and last_request. The live open_connections gauge is listed right after
// connections and is not cleared by a reset.
export class Stats {
  #initial;

  constructor(fields) {
    this.#initial = { ...fields };
    this.openConnections = 0;
    this.reset();
  }

  reset() {
    Object.assign(this, this.#initial);
  }

  body(name) {
    const out = { name };
    for (const k of Object.keys(this.#initial)) {
      out[k] = this[k];
      if (k === 'connections') out.open_connections = this.openConnections;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

function findRoute(routes, p) {
  for (const route of routes) {
    if (route.pattern) {
      const match = route.pattern.exec(p);
      if (match) return { route, match };
    } else if (route.paths.includes(p)) {
      return { route, match: null };
    }
  }
  return null;
}

// Starts the fake: an HTTP server (HTTPS with --tls-cert/--tls-key) with long keep-alive and no
// request timeout, that
//   * sends `x-fake-vendor: <name>` on every answer;
//   * serves the dialect's `routes` first: each {paths: [...]} or {pattern: RegExp}, a method,
//     and onBody(req, res, raw, query, match) called with the whole body, or
//     onRequest(req, res, query, match) called at once (after draining the body of a GET);
//     another method gets methodNotAllowed(res, allow);
//   * then the control API (no auth): /_control/mode (GET, POST), /_control/stats,
//     /_control/reset (POST), /_control/health and /health, answered as compact JSON of
//     controlContentType;
//   * answers anything else with notFound(req, res, path);
// counts connections, answers unparsable requests with a bare 400, writes the port file
// atomically, prints `LISTENING <port>`, and exits with status 0 on SIGTERM and SIGINT.
export function serveFake({
  prog, opts, stats, modes, routes, notFound, methodNotAllowed, controlContentType = JSON_CONTENT_TYPE,
}) {
  const name = opts.name;
  const sendControl = (res, status, obj) => sendJson(res, status, obj, undefined, controlContentType);

  const setMode = (res, raw) => {
    let b;
    try {
      b = raw.length ? JSON.parse(raw.toString('utf8')) : {};
    } catch {
      return sendControl(res, 400, { ok: false, error: 'invalid JSON' });
    }
    const err = modes.set(b);
    if (err) return sendControl(res, 400, { ok: false, error: err });
    sendControl(res, 200, { ok: true });
  };

  const server = (opts.tlsCert ? https : http).createServer({
    ...(opts.tlsCert ? { cert: fs.readFileSync(opts.tlsCert), key: fs.readFileSync(opts.tlsKey) } : {}),
    keepAliveTimeout: 65000,
    headersTimeout: 66000,
    requestTimeout: 0, // hang modes must not be cut by node itself
  }, (req, res) => {
    res.setHeader('x-fake-vendor', name);
    const url = req.url || '/';
    const q = url.indexOf('?');
    const p = q >= 0 ? url.slice(0, q) : url;
    const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');

    const found = findRoute(routes, p);
    if (found) {
      const { route, match } = found;
      if (req.method !== route.method) return methodNotAllowed(res, route.method);
      if (route.onBody) return readBody(req, (raw) => route.onBody(req, res, raw, query, match));
      if (req.method === 'GET') req.resume();
      return route.onRequest(req, res, query, match);
    }
    if (p === '/_control/mode') {
      if (req.method === 'POST') return readBody(req, (raw) => setMode(res, raw));
      if (req.method === 'GET') {
        req.resume();
        return sendControl(res, 200, { ...modes.current });
      }
      return methodNotAllowed(res, 'GET, POST');
    }
    if (p === '/_control/stats') {
      req.resume();
      return sendControl(res, 200, stats.body(name));
    }
    if (p === '/_control/reset') {
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
      return readBody(req, () => {
        modes.reset();
        stats.reset();
        sendControl(res, 200, { ok: true });
      });
    }
    if (p === '/_control/health' || p === '/health') {
      req.resume();
      return sendControl(res, 200, { ok: true, name });
    }
    req.resume();
    return notFound(req, res, p);
  });

  server.on('connection', (sock) => {
    stats.connections++;
    stats.openConnections++;
    sock.setNoDelay(true);
    sock.on('close', () => { stats.openConnections--; });
  });

  server.on('clientError', (err, sock) => {
    if (sock.writable && !sock.destroyed) {
      sock.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    } else {
      sock.destroy();
    }
  });

  server.on('error', (err) => {
    process.stderr.write(`${prog} ${name}: ${err.message}\n`);
    process.exit(1);
  });

  server.listen(opts.port, opts.host, () => {
    const port = server.address().port;
    if (opts.portFile) {
      // Written to a temporary file and renamed, so a reader never sees a partly written file.
      const dir = path.dirname(opts.portFile);
      const tmp = path.join(dir, `.${path.basename(opts.portFile)}.${process.pid}.tmp`);
      fs.writeFileSync(tmp, `${port}\n`);
      fs.renameSync(tmp, opts.portFile);
    }
    process.stdout.write(`LISTENING ${port}\n`);
  });

  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // A closed stdout (e.g. parent went away) must not crash the fake.
  process.stdout.on('error', () => {});
  return server;
}
