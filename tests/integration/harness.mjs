// Integration-test harness for LingMo Gateway: starts a complete stack (redis-server, N fake
// vendors, nginx with the lingmo module), seeds it through the `lingmo-admin` CLI, and gives the
// tests small helpers to talk to every part of it. No npm dependencies (Node >= 20).
//
//   const stack = await startStack({ vendors: 3, nginxConf: { maxAttempts: 3 } });
//   const r = await stack.chat({ model: 'gpt-test', messages: [...] });
//   await stack.stop();   // also fails if the error log shows a crash or an [alert]/[crit]/[emerg]
//
// Environment: LINGMO_BUILD_DIR (default <repo>/build) holds ngx_module/ngx_http_lingmo_module.so
// and controlplane/lingmo-admin. LINGMO_KEEP_TMP=1 keeps the temp dir of every stack (it is
// always kept when stop() finds a problem). NGINX_BIN / REDIS_SERVER / REDIS_CLI override binaries.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const BUILD_DIR = path.resolve(process.env.LINGMO_BUILD_DIR || path.join(REPO, 'build'));
export const MODULE_SO = path.join(BUILD_DIR, 'ngx_module', 'ngx_http_lingmo_module.so');
export const ADMIN_BIN = path.join(BUILD_DIR, 'controlplane', 'lingmo-admin');
export const FAKE_VENDOR = path.join(REPO, 'tests', 'fakes', 'fake_vendor.mjs');
// The fake for each vendor dialect, and the base URL path a provider of that dialect uses.
export const FAKES = {
  openai: { script: FAKE_VENDOR, basePath: '/v1' },
  anthropic: { script: path.join(REPO, 'tests', 'fakes', 'fake_anthropic.mjs'), basePath: '/v1' },
  gemini: { script: path.join(REPO, 'tests', 'fakes', 'fake_gemini.mjs'), basePath: '/v1beta' },
};
export const NGINX_BIN = process.env.NGINX_BIN || '/usr/sbin/nginx';
export const REDIS_SERVER = process.env.REDIS_SERVER || 'redis-server';
export const REDIS_CLI = process.env.REDIS_CLI || 'redis-cli';
export const DEFAULT_KEY = 'lm-test-0123456789abcdef0123';
export const MODEL = 'gpt-test';
// A worker that exits with a non-zero code died too (e.g. a sanitizer report ends it with code 1).
const BAD_LOG_LINE = /\[(alert|crit|emerg)\]|exited on signal|worker process \d+ exited with code [1-9]/;

export { sleep };

// ---------------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------------

// Every child process of this test process, killed on exit whatever happens to the test (the
// nginx workers, our grandchildren, first: a SIGKILLed master would leave them running).
const children = new Set();

function childPidsOf(ppid) {
  const out = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(e));
    } catch { /* raced with an exit */ }
  }
  return out;
}

function killAllChildrenSync() {
  for (const c of children) {
    const pids = c.lingmoNginx ? [...childPidsOf(c.pid), c.pid] : [c.pid];
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  children.clear();
}
process.on('exit', killAllChildrenSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killAllChildrenSync();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });
}

// Other helpers' children too (the daemon, Sentinel's redis-servers): killed with the rest.
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Environment for nginx processes. With LINGMO_NGINX_PRELOAD (tests/sanitize.sh sets it to the
// ASan/UBSan runtimes) a sanitizer build of the module can run inside the stock nginx binary;
// reports go to <dir>/asan.<pid>, which stop() treats as a failure.
export function nginxEnv(dir) {
  const preload = process.env.LINGMO_NGINX_PRELOAD;
  if (!preload) return process.env;
  return { ...process.env, LD_PRELOAD: preload,
    ASAN_OPTIONS: `detect_leaks=0:log_path=${dir}/asan`, UBSAN_OPTIONS: `print_stacktrace=1:log_path=${dir}/asan` };
}

export function run(cmd, args, { input, timeout = 20000, env } = {}) {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout, env: env ?? process.env, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, signal: err?.signal });
      });
    if (input !== undefined) child.stdin.end(input);
  });
}

// Polls `fn` until it returns a truthy value (which is returned) or `timeout` ms pass (then
// throws, with the last value or error in the message).
export async function waitFor(fn, { timeout = 5000, interval = 50, what = 'condition' } = {}) {
  const deadline = performance.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (performance.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${detail})`);
    }
    await sleep(interval);
  }
}

// Resolves true when `child` has exited (now or within `ms`), false otherwise.
export function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => { clearTimeout(t); resolve(true); });
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP client (node:http, one fresh connection per request unless an agent is given)
// ---------------------------------------------------------------------------------------------

// Sends a request; resolves once the response headers are in, with the body unread.
// The returned promise has abort(), which destroys the request (the client goes away).
export function rawRequest({ port, method = 'GET', path: p = '/', headers = {}, body, agent = false, timeout = 30000 }) {
  let req;
  const promise = new Promise((resolve, reject) => {
    const h = { ...headers };
    let payload = body;
    if (payload !== undefined && typeof payload !== 'string' && !Buffer.isBuffer(payload)) {
      payload = JSON.stringify(payload);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    }
    if (payload !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'transfer-encoding')) {
      h['Content-Length'] = Buffer.byteLength(payload);
    }
    req = http.request({ host: '127.0.0.1', port, method, path: p, headers: h, agent, setHost: !('Host' in h || 'host' in h) });
    req.setTimeout(timeout, () => req.destroy(new Error(`request timed out after ${timeout} ms`)));
    req.on('error', reject);
    req.on('response', (res) => resolve(res));
    if (payload !== undefined) req.end(payload); else req.end();
  });
  promise.abort = () => req.destroy(new Error('aborted by the test'));
  return promise;
}

export function readAll(res) {
  return new Promise((resolve, reject) => {
    const parts = [];
    res.on('data', (c) => parts.push(c));
    res.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('response aborted')));
  });
}

function tryJson(text) {
  try { return JSON.parse(text); } catch { return undefined; }
}

// Full request: { status, headers, text, json }.
export async function request(opts) {
  const res = await rawRequest(opts);
  const text = await readAll(res);
  return { status: res.statusCode, headers: res.headers, text, json: tryJson(text) };
}

// Reads an SSE response to its end. Returns { status, headers, text, events, complete, error }:
// events are [{ data, t }] in arrival order, `t` = performance.now() when the event's blank line
// arrived; `complete` is false when the connection broke before a clean end of the body.
export function readStream(resp, { onEvent } = {}) {
  const res = resp.res ?? resp;
  return new Promise((resolve) => {
    let text = '';
    let buf = '';
    const events = [];
    let settled = false;
    const finish = (complete, error) => {
      if (settled) return;
      settled = true;
      resolve({ status: res.statusCode, headers: res.headers, text, events, complete, error });
    };
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      const t = performance.now();
      text += chunk;
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
        const ev = { raw: block, data, t };
        events.push(ev);
        if (onEvent) onEvent(ev, events.length);
      }
    });
    res.on('end', () => finish(true));
    res.on('aborted', () => finish(false, new Error('aborted')));
    res.on('error', (e) => finish(false, e));
    res.on('close', () => finish(res.complete, res.complete ? undefined : new Error('closed early')));
  });
}

// JSON chunks of an SSE result (skips [DONE] and non-JSON data).
export function chunksOf(stream) {
  return stream.events.filter((e) => e.data && e.data !== '[DONE]').map((e) => tryJson(e.data)).filter(Boolean);
}

export function contentOf(stream) {
  return chunksOf(stream).map((c) => c.choices?.[0]?.delta?.content ?? '').join('');
}

export function chatBody(extra = {}) {
  return { model: MODEL, messages: [{ role: 'user', content: 'hi' }], ...extra };
}

// Parses complete HTTP/1.1 responses off the front of `buf` (Content-Length or chunked bodies).
// Returns { responses: [{ status, headers, body }], rest } with `rest` the unparsed tail.
export function parseResponses(buf) {
  const responses = [];
  let pos = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) break;
    const lines = buf.subarray(pos, headEnd).toString('latin1').split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    let p = headEnd + 4;
    let body;
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts = [];
      let done = false;
      for (;;) {
        const eol = buf.indexOf('\r\n', p);
        if (eol < 0) break;
        const size = parseInt(buf.subarray(p, eol).toString('latin1'), 16);
        if (Number.isNaN(size) || eol + 2 + size + 2 > buf.length) break;
        parts.push(buf.subarray(eol + 2, eol + 2 + size));
        p = eol + 2 + size + 2;
        if (size === 0) { done = true; break; }
      }
      if (!done) break;
      body = Buffer.concat(parts);
    } else {
      const len = Number(headers['content-length'] ?? 0);
      if (p + len > buf.length) break;
      body = buf.subarray(p, p + len);
      p += len;
    }
    responses.push({ status, headers, body: body.toString('utf8') });
    pos = p;
  }
  return { responses, rest: buf.subarray(pos) };
}

// Sends raw HTTP/1.1 requests one after another on ONE connection, each after the previous
// response is complete and `settleMs` more have passed (no pipelining). Returns every response
// received (including unsolicited ones) and whether the server closed the connection.
export async function rawExchange(port, requests, { settleMs = 150, timeout = 5000 } = {}) {
  const sock = net.connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  let closed = false;
  sock.on('data', (c) => { buf = Buffer.concat([buf, c]); });
  sock.on('close', () => { closed = true; });
  sock.on('error', () => {});
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  try {
    for (let i = 0; i < requests.length; i++) {
      if (closed) break;
      sock.write(requests[i]);
      await waitFor(() => closed || parseResponses(buf).responses.length > i, { timeout, interval: 10, what: `response ${i + 1}` });
      await sleep(settleMs);
    }
  } finally {
    sock.destroy();
  }
  const { responses, rest } = parseResponses(buf);
  return { responses, rest: rest.toString('latin1'), closed };
}

// A raw HTTP/1.1 request text.
export function rawHttp(method, p, { headers = {}, body } = {}) {
  const b = body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body));
  let h = `${method} ${p} HTTP/1.1\r\nHost: gateway.test\r\n`;
  for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
  if (b !== undefined) h += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\n`;
  return `${h}\r\n${b ?? ''}`;
}

// ---------------------------------------------------------------------------------------------
// The stack
// ---------------------------------------------------------------------------------------------

class Vendor {
  constructor(name, port, key, child, dialect = 'openai') {
    this.name = name;
    this.port = port;
    this.key = key;
    this.child = child;
    this.dialect = dialect;
    this.baseUrl = `http://127.0.0.1:${port}${FAKES[dialect].basePath}`;
  }

  async #control(method, p, body) {
    const r = await request({ port: this.port, method, path: p, body, agent: false });
    if (r.status !== 200) throw new Error(`${this.name} ${method} ${p}: HTTP ${r.status} ${r.text}`);
    return r.json;
  }

  mode(m) { return this.#control('POST', '/_control/mode', typeof m === 'string' ? { mode: m } : m); }
  stats() { return this.#control('GET', '/_control/stats'); }
  reset() { return this.#control('POST', '/_control/reset', {}); }
}

function nginxConfText(s, o) {
  const loc = (max) => `
      lingmo_gateway on;
      lingmo_first_byte_timeout ${o.firstByteTimeout};
      lingmo_idle_timeout ${o.idleTimeout};
      lingmo_connect_timeout ${o.connectTimeout};
      lingmo_max_attempts ${max};
      ${o.location}`;
  const d = s.dir;
  return `# generated by tests/integration/harness.mjs
load_module ${MODULE_SO};
worker_processes ${o.workerProcesses};
master_process on;
daemon off;
error_log ${d}/error.log info;
pid ${d}/nginx.pid;
${o.main}
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${d}/tmp_client_body;
  proxy_temp_path ${d}/tmp_proxy;
  fastcgi_temp_path ${d}/tmp_fastcgi;
  uwsgi_temp_path ${d}/tmp_uwsgi;
  scgi_temp_path ${d}/tmp_scgi;
  lingmo_redis ${o.redis || `127.0.0.1:${s.redisPort}`};
  lingmo_secret_key_file ${s.secretFile};
  ${o.http}
  server {
    listen 127.0.0.1:${s.gatewayPort};
    client_max_body_size ${o.clientMaxBodySize};
    ${o.server}
    location /v1/ {${loc(o.maxAttempts)}
    }
    # Same gateway with a lower attempt cap (tests of lingmo_max_attempts).
    location /v2/ {${loc(2)}
    }
    ${o.locations}
  }
}
`;
}

const CONF_DEFAULTS = {
  workerProcesses: 2,
  firstByteTimeout: '1500ms',
  idleTimeout: '1500ms',
  connectTimeout: '1s',
  maxAttempts: 3,
  clientMaxBodySize: '64k',
  main: '',
  redis: '',  // the arguments of lingmo_redis ('' = the stack's redis-server), e.g. 'sentinel=... master=...'
  http: '',
  server: '',
  location: '',
  locations: '',
};

export class Stack {
  constructor(opts) {
    this.opts = opts;
    this.key = DEFAULT_KEY;
    this.vendors = [];
    this.problems = [];
    this.stopped = false;
  }

  // --- control of the parts -------------------------------------------------------------------

  vendor(i) {
    if (typeof i === 'string') {
      const v = this.vendors.find((x) => x.name === i);
      if (!v) throw new Error(`no vendor ${i}`);
      return v;
    }
    const v = this.vendors[i - 1];
    if (!v) throw new Error(`no vendor #${i}`);
    return v;
  }

  // Fresh vendors and a fresh standing for every provider: parks, cooldowns and circuit breakers
  // from the previous test are cleared (lingmo-admin state clear '*' reaches every worker).
  async resetVendors() {
    await Promise.all(this.vendors.map((v) => v.reset()));
    await this.resetParks();
  }

  async resetParks() {
    await this.admin('state', 'clear', '*');
    await sleep(50);  // pub/sub delivery + the workers' state reload
  }

  // Runs lingmo-admin against this stack's Redis; throws on a non-zero exit.
  async admin(...args) {
    const r = await this.adminRaw(...args);
    if (r.code !== 0) throw new Error(`lingmo-admin ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  adminRaw(...args) {
    return run(ADMIN_BIN, ['--redis', `127.0.0.1:${this.redisPort}`, '--secret-file', this.secretFile, ...args]);
  }

  async redis(...args) {
    const r = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(this.redisPort), ...args], { timeout: 5000 });
    if (r.code !== 0) throw new Error(`redis-cli ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout.trim();
  }

  async usage(providerId) {
    return JSON.parse(await this.admin('usage', providerId));
  }

  // Throws if the error log gained a crash or an [alert]/[crit]/[emerg] line since the last call
  // (tests call it in afterEach, so a worker crash fails the test that caused it).
  checkLog() {
    const log = this.errorLog();
    const fresh = log.slice(this.logChecked ?? 0);
    this.logChecked = log.length;
    const bad = this.badLogLines(fresh);
    if (bad.length) throw new Error(`nginx error log:\n  ${bad.slice(0, 20).join('\n  ')}`);
  }

  // Error-log lines a test caused on purpose (e.g. /worker process 123 exited on signal 9/ after
  // it SIGKILLed that worker): checkLog() and stop() do not count lines matching `re` as problems.
  allowLogLine(re) {
    (this.allowedLogLines ??= []).push(re);
  }

  badLogLines(text) {
    const allowed = this.allowedLogLines ?? [];
    return text.split('\n').filter((l) => BAD_LOG_LINE.test(l) && !allowed.some((re) => re.test(l)));
  }

  errorLog() {
    try { return fs.readFileSync(path.join(this.dir, 'error.log'), 'utf8'); } catch { return ''; }
  }

  // Waits until every worker has logged loading config version `version` (default: the current
  // lingmo:config:version in Redis). Only config writes bump the version (not `state ...`).
  async waitConfigLoaded({ version, timeout = 3000 } = {}) {
    const v = version ?? Number(await this.redis('GET', 'lingmo:config:version'));
    const want = this.conf.workerProcesses;
    const re = new RegExp(` (\\d+)#\\d+: (?:\\*\\d+ )?lingmo: config version ${v} loaded`, 'g');
    return waitFor(() => {
      // Only the workers running now: after a reload, the old workers' lines must not count.
      const live = new Set(this.workerPids().map(String));
      const pids = new Set([...this.errorLog().matchAll(re)].map((m) => m[1]).filter((p) => live.has(p)));
      return pids.size >= want ? v : null;
    }, { timeout, what: `all ${want} workers to load config version ${v}` });
  }

  // Pids of the nginx master's children (the workers), from /proc.
  workerPids() {
    return this.nginx ? childPidsOf(this.nginx.pid) : [];
  }

  // Resident set size in KiB of a pid (from /proc/PID/status).
  static rssKiB(pid) {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  }

  // --- redis process ----------------------------------------------------------------------------

  async startRedis() {
    const args = ['--port', String(this.redisPort), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir,
      '--logfile', path.join(this.dir, 'redis.log'), '--daemonize', 'no'];
    if (this.opts.redisAppendOnly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
    else args.push('--appendonly', 'no');
    this.redisChild = track(spawn(REDIS_SERVER, args, { stdio: 'ignore' }));
    const child = this.redisChild;
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      const r = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(this.redisPort), 'PING'], { timeout: 2000 });
      return r.stdout.trim() === 'PONG';
    }, { timeout: 10000, what: 'redis PING' });
  }

  // SIGKILLs redis-server (no shutdown save): "Redis went away".
  async killRedis() {
    const child = this.redisChild;
    child.kill('SIGKILL');
    await waitExit(child, 5000);
  }

  // --- HTTP to the gateway ---------------------------------------------------------------------

  authHeaders(key) {
    const k = key === undefined ? this.key : key;
    return k === null ? {} : { Authorization: `Bearer ${k}` };
  }

  // Any request to the gateway: { status, headers, text, json }.
  gw({ method = 'GET', path: p, body, headers = {}, key, agent } = {}) {
    return request({ port: this.gatewayPort, method, path: p, body, agent, headers: { ...this.authHeaders(key), ...headers } });
  }

  // POST /v1/chat/completions. Non-stream: { status, headers, text, json }. With {stream:true}
  // (or body.stream true): { status, headers, res } as soon as the headers arrive; read the body
  // with readStream(). `key: null` sends no Authorization header.
  async chat(body, { key, stream, path: p = '/v1/chat/completions', headers = {}, agent, port } = {}) {
    let b = body;
    if (stream && b && typeof b === 'object' && b.stream === undefined) b = { ...b, stream: true };
    const isStream = stream ?? (b && typeof b === 'object' && b.stream === true);
    const opts = { port: port ?? this.gatewayPort, method: 'POST', path: p, body: b, agent, headers: { ...this.authHeaders(key), ...headers } };
    if (!isStream) return request(opts);
    const res = await rawRequest(opts);
    return { status: res.statusCode, headers: res.headers, res };
  }

  // Stream request read to the end: the readStream() result.
  async chatStream(body, opts = {}) {
    const r = await this.chat(body, { ...opts, stream: true });
    return readStream(r);
  }

  readStream(resp, opts) { return readStream(resp, opts); }

  // Runs `action` (e.g. a lingmo-admin change), then polls chat requests (fresh connections, so
  // both workers are asked) until `n` in a row are answered by provider `id`. Returns the ms from
  // the end of `action` to the first such answer.
  async msUntilProvider(id, action, { timeout = 1500, n = 8, model = MODEL } = {}) {
    await action();
    const t0 = performance.now();
    let first = null;
    let streak = 0;
    await waitFor(async () => {
      const r = await this.chat(chatBody({ model }));
      if (r.headers['x-lingmo-provider'] === id) {
        if (first === null) first = performance.now() - t0;
        streak++;
      } else {
        if (first !== null) throw new Error(`a request went to ${r.headers['x-lingmo-provider']} after one went to ${id}`);
        streak = 0;
      }
      return streak >= n;
    }, { timeout: timeout + 2000, interval: 5, what: `${n} requests in a row to go to ${id}` });
    if (first > timeout) throw new Error(`requests went to ${id} only ${first.toFixed(0)} ms after the change (limit ${timeout} ms)`);
    return first;
  }

  models({ key } = {}) {
    return this.gw({ path: '/v1/models', key });
  }

  // Writes the standard configuration through lingmo-admin: provider vN (priority 10*N, model
  // gpt-test=fake-vN, key sk-vN) per vendor and the gateway key. Idempotent (add replaces).
  async seed() {
    for (const [i, v] of this.vendors.entries()) {
      await this.admin('provider', 'add', '--id', v.name, '--base-url', v.baseUrl, '--api-key', v.key,
        '--model', `${MODEL}=fake-${v.name}`, '--priority', String(10 * (i + 1)), '--dialect', v.dialect);
    }
    const out = await this.admin('key', 'add', '--name', 'test', '--secret', this.key);
    if (out.trim() !== this.key) throw new Error(`key add printed ${JSON.stringify(out)}`);
    if (this.opts.seed) await this.opts.seed(this);
  }

  // --- lifecycle ------------------------------------------------------------------------------

  async start() {
    const o = this.opts;
    this.conf = { ...CONF_DEFAULTS, ...(o.nginxConf || {}) };
    for (const f of [MODULE_SO, ADMIN_BIN]) {
      if (!fs.existsSync(f)) throw new Error(`${f} not found: build first (cmake --build), or set LINGMO_BUILD_DIR`);
    }
    this.dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'lingmo-it-'));
    // Sanitizer reports are written by the workers, which run as another user when the tests run
    // as root: they must be able to create their asan.<pid> files here.
    if (process.env.LINGMO_NGINX_PRELOAD) await fsp.chmod(this.dir, 0o777);
    // nginx workers run as an unprivileged user when the master is root: let them reach the dir.
    await fsp.chmod(this.dir, 0o755);
    this.secretFile = path.join(this.dir, 'secret.key');
    [this.redisPort, this.gatewayPort] = await Promise.all([freePort(), freePort()]);

    await this.startRedis();

    // Fake vendors.
    const n = o.vendors ?? 3;
    const vendorStarts = [];
    for (let i = 1; i <= n; i++) {
      const name = `v${i}`;
      const dialect = (o.dialects || [])[i - 1] || 'openai';  // opts.dialects: one per vendor
      const portFile = path.join(this.dir, `${name}.port`);
      const child = track(spawn(process.execPath, [FAKES[dialect].script, '--port', '0', '--name', name, '--key', `sk-${name}`, '--port-file', portFile],
        { stdio: ['ignore', 'ignore', fs.openSync(path.join(this.dir, `${name}.stderr`), 'w')] }));
      vendorStarts.push(waitFor(() => {
        if (child.exitCode !== null) throw new Error(`fake vendor ${name} exited with ${child.exitCode}`);
        return fs.existsSync(portFile) && Number(fs.readFileSync(portFile, 'utf8').trim());
      }, { timeout: 10000, what: `vendor ${name} port file` }).then((port) => new Vendor(name, port, `sk-${name}`, child, dialect)));
    }
    this.vendors = await Promise.all(vendorStarts);

    // Seed through the CLI.
    const g = await run(ADMIN_BIN, ['gen-secret', this.secretFile]);
    if (g.code !== 0) throw new Error(`lingmo-admin gen-secret failed: ${g.stderr}`);
    await this.seed();
    // opts.beforeNginx(stack): last chance to start more processes (a replica, sentinels) and to
    // change stack.conf (e.g. conf.redis) before nginx.conf is written.
    if (o.beforeNginx) await o.beforeNginx(this);

    // nginx.
    this.confFile = path.join(this.dir, 'nginx.conf');
    await fsp.writeFile(this.confFile, nginxConfText(this, this.conf));
    const t = await run(NGINX_BIN, ['-t', '-q', '-c', this.confFile, '-p', this.dir + '/', '-e', path.join(this.dir, 'startup.log')],
      { env: nginxEnv(this.dir) });
    if (t.code !== 0) throw new Error(`nginx -t failed (${t.code}):\n${t.stderr}${t.stdout}`);
    const errFd = fs.openSync(path.join(this.dir, 'nginx.stderr'), 'w');
    this.nginx = track(spawn(NGINX_BIN, ['-c', this.confFile, '-p', this.dir + '/', '-e', path.join(this.dir, 'startup.log')],
      { stdio: ['ignore', errFd, errFd], env: nginxEnv(this.dir) }));
    this.nginx.lingmoNginx = true;
    fs.closeSync(errFd);
    const ng = this.nginx;
    await waitFor(async () => {
      if (ng.exitCode !== null) throw new Error(`nginx exited with ${ng.exitCode}: ${fs.readFileSync(path.join(this.dir, 'nginx.stderr'), 'utf8')}`);
      const r = await this.models();
      return r.status === 200 && r.json?.data?.some((m) => m.id === MODEL);
    }, { timeout: 10000, what: 'GET /v1/models to list gpt-test' });
    await this.waitConfigLoaded({ timeout: 5000 });
    return this;
  }

  // A second nginx node (same module, same Redis, same vendors, same conf) on its own port: the
  // multi-node layout. Returns its port; stop() stops it too and checks its error log.
  async startSecondNginx() {
    const dir = path.join(this.dir, 'node2');
    await fsp.mkdir(dir, { recursive: true });
    await fsp.chmod(dir, 0o755);
    const port = await freePort();
    const conf = path.join(dir, 'nginx.conf');
    await fsp.writeFile(conf, nginxConfText({ ...this, dir, gatewayPort: port }, this.conf));
    const errFd = fs.openSync(path.join(dir, 'nginx.stderr'), 'w');
    this.nginx2 = track(spawn(NGINX_BIN, ['-c', conf, '-p', dir + '/', '-e', path.join(dir, 'startup.log')],
      { stdio: ['ignore', errFd, errFd], env: nginxEnv(dir) }));
    this.nginx2.lingmoNginx = true;
    this.nginx2Dir = dir;
    fs.closeSync(errFd);
    await waitFor(async () => {
      if (this.nginx2.exitCode !== null) throw new Error(`second nginx exited: ${fs.readFileSync(path.join(dir, 'nginx.stderr'), 'utf8')}`);
      const r = await request({ port, method: 'GET', path: '/v1/models', headers: this.authHeaders() });
      return r.status === 200;
    }, { timeout: 10000, what: 'second nginx to serve /v1/models' });
    return port;
  }

  // Stops everything. Throws (after cleaning up) if nginx needed SIGKILL or the error log shows a
  // crash or an [alert]/[crit]/[emerg] line.
  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    if (this.nginx && this.nginx.exitCode === null) {
      this.nginx.kill('SIGQUIT');
      if (!(await waitExit(this.nginx, 10000))) {
        this.problems.push('nginx did not exit within 10 s of SIGQUIT (graceful shutdown hung); sent SIGKILL');
        const workers = this.workerPids();  // before the master dies and they are re-parented
        this.nginx.kill('SIGKILL');
        await waitExit(this.nginx, 5000);
        for (const pid of workers) {
          try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
        }
      }
    }
    if (this.nginx2 && this.nginx2.exitCode === null) {
      this.nginx2.kill('SIGQUIT');
      if (!(await waitExit(this.nginx2, 10000))) {
        this.problems.push('second nginx did not exit within 10 s of SIGQUIT');
        this.nginx2.kill('SIGKILL');
      }
      const log2 = fs.existsSync(path.join(this.nginx2Dir, 'error.log')) ? fs.readFileSync(path.join(this.nginx2Dir, 'error.log'), 'utf8') : '';
      const bad2 = log2.split('\n').filter((l) => BAD_LOG_LINE.test(l));
      if (bad2.length) this.problems.push(`second nginx error log has bad lines:\n  ${bad2.slice(0, 20).join('\n  ')}`);
    }
    await Promise.all(this.vendors.map(async (v) => {
      v.child.kill('SIGTERM');
      if (!(await waitExit(v.child, 3000))) v.child.kill('SIGKILL');
    }));
    if (this.redisChild && this.redisChild.exitCode === null) {
      this.redisChild.kill('SIGTERM');
      if (!(await waitExit(this.redisChild, 5000))) this.redisChild.kill('SIGKILL');
    }
    for (const f of fs.readdirSync(this.dir).filter((n) => n.startsWith('asan.'))) {
      this.problems.push(`sanitizer report ${f}:\n${fs.readFileSync(path.join(this.dir, f), 'utf8').slice(0, 4000)}`);
    }
    const bad = this.badLogLines(this.errorLog());
    if (bad.length) this.problems.push(`error log has ${bad.length} bad line(s):\n  ${bad.slice(0, 20).join('\n  ')}`);
    if (this.problems.length || process.env.LINGMO_KEEP_TMP === '1') {
      process.stderr.write(`# harness: kept ${this.dir}\n`);
    } else {
      await fsp.rm(this.dir, { recursive: true, force: true });
    }
    if (this.problems.length) throw new Error(`stack problems:\n${this.problems.join('\n')}`);
  }
}

export async function startStack(opts = {}) {
  const s = new Stack(opts);
  try {
    return await s.start();
  } catch (e) {
    try { await s.stop(); } catch (e2) { process.stderr.write(`# harness: ${e2.message}\n`); }
    throw e;
  }
}

// Writes a small nginx config and runs `nginx -t` on it: { code, stderr }.
export async function nginxTest(httpBody, { main = '' } = {}) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'lingmo-conf-'));
  try {
    const conf = path.join(dir, 'nginx.conf');
    await fsp.writeFile(conf, `load_module ${MODULE_SO};
error_log ${dir}/error.log info;
pid ${dir}/nginx.pid;
${main}
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp_client_body;
  proxy_temp_path ${dir}/tmp_proxy;
  fastcgi_temp_path ${dir}/tmp_fastcgi;
  uwsgi_temp_path ${dir}/tmp_uwsgi;
  scgi_temp_path ${dir}/tmp_scgi;
${httpBody}
}
`);
    const r = await run(NGINX_BIN, ['-t', '-c', conf, '-p', dir + '/', '-e', path.join(dir, 'startup.log')], { env: nginxEnv(dir) });
    return { code: r.code, stderr: r.stderr + r.stdout, dir };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
