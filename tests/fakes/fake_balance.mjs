#!/usr/bin/env node
// Fake vendor balance endpoints: each vendor's real wire format on its real path, for the
// control plane's balance sync (controlplane/daemon/balance_sync.h, shared/quota/balance.h).
// Node.js >= 20, ES module, no npm dependencies; the server plumbing is fake_common.mjs.
//
// Usage:
//   node tests/fakes/fake_balance.mjs --port 0 --name bal [--host 127.0.0.1] [--port-file /path]
//
// Endpoints (GET), each optionally behind a tag prefix (/<tag>/user/balance): the tag lets
// several providers of one kind be scripted apart.
//   /user/balance                    deepseek          {"is_available","balance_infos":[...]}
//   /v1/users/me/balance             moonshot          {"code":0,"data":{"available_balance",...}}
//   /v1/user/info                    siliconflow       {"code":20000,"data":{"totalBalance":"..."}}
//   /api/v1/key                      openrouter        {"data":{"limit","limit_remaining","usage",...}}
//   /v1/accounts                     stepfun           {"balance",...}
//   /v1/api-key                      xai               {"api_key_blocked","api_key_disabled","team_blocked",...}
//   /api/monitor/usage/quota/limit   zhipu             {"code":200,"data":{"limits":[...]}}
//   /v1/token_plan/remains           minimax           {"base_resp","model_remains":[...]}
//   /v1/organization/costs           openai_admin      {"object":"page","data":[buckets],"has_more":false}
//   /v1/organizations/cost_report    anthropic_admin   {"data":[buckets],"has_more":false}
//
// Control (no auth):
//   POST /_control/mode {"tag"|"kind", "mode", "amount", "percent", "currency", "reset_ms",
//                        "status", "body", "times"}      -> {"ok":true}
//     mode: good (default) | low | zero | garbage | wrong_types | html | 500 | 401 | timeout | custom
//     amount: money for good/low (defaults per kind); percent: plan window share used (zhipu,
//     minimax); times: one-shot for that many requests. A tag's mode beats its kind's.
//   GET  /_control/mode    the modes set
//   GET  /_control/stats   {name, requests: {tag or kind: n}, last: {tag or kind: {authorization,
//                          x_api_key, anthropic_version, url}}, times: {tag or kind: [epoch ms of
//                          the last 200 requests]}, connections, open_connections}
//   POST /_control/reset   every mode back to good, counters cleared
import { parseArgs, sendJson, sendText, serveFake } from './fake_common.mjs';

const OPTS = parseArgs('fake_balance', process.argv.slice(2));

const PATHS = {
  '/user/balance': 'deepseek',
  '/v1/users/me/balance': 'moonshot',
  '/v1/user/info': 'siliconflow',
  '/api/v1/key': 'openrouter',
  '/v1/accounts': 'stepfun',
  '/v1/api-key': 'xai',
  '/api/monitor/usage/quota/limit': 'zhipu',
  '/v1/token_plan/remains': 'minimax',
  '/v1/organization/costs': 'openai_admin',
  '/v1/organizations/cost_report': 'anthropic_admin',
};
const KINDS = new Set(Object.values(PATHS));
const MODES = new Set(['good', 'low', 'zero', 'garbage', 'wrong_types', 'html', '500', '401', 'timeout', 'custom']);
const GOOD_AMOUNT = 23.5;
const LOW_AMOUNT = 1.5;

// --- modes -----------------------------------------------------------------------------------

const modes = {
  byKey: new Map(),  // tag or kind -> mode
  get current() { return Object.fromEntries(this.byKey); },
  reset() { this.byKey.clear(); },
  set(b) {
    if (b === null || typeof b !== 'object' || Array.isArray(b)) return 'body must be an object';
    const key = b.tag ?? b.kind;
    if (typeof key !== 'string' || key === '') return 'tag or kind is required';
    if (b.tag === undefined && !KINDS.has(key)) return `unknown kind ${key}`;
    const mode = b.mode === undefined ? 'good' : String(b.mode);
    if (!MODES.has(mode)) return `unknown mode ${mode}`;
    for (const k of ['amount', 'percent', 'reset_ms']) {
      if (b[k] !== undefined && (typeof b[k] !== 'number' || !Number.isFinite(b[k]))) return `${k} must be a number`;
    }
    if (b.times !== undefined && (!Number.isInteger(b.times) || b.times < 1)) return 'times must be a positive integer';
    if (mode === 'custom' && (!Number.isInteger(b.status) || b.status < 100 || b.status > 599)) return 'custom needs an HTTP status';
    this.byKey.set(key, { mode, amount: b.amount, percent: b.percent, currency: b.currency, reset_ms: b.reset_ms,
      status: b.status, body: b.body, times: b.times ?? null });
    return null;
  },
  // The mode for one request of `kind` under `tag`; consumes one use of a one-shot mode.
  take(tag, kind) {
    for (const key of [tag, kind]) {
      const m = key && this.byKey.get(key);
      if (!m) continue;
      if (m.times !== null && --m.times <= 0) this.byKey.delete(key);
      return m;
    }
    return { mode: 'good' };
  },
};

const stats = {
  connections: 0,
  openConnections: 0,
  requests: {},
  last: {},
  times: {},  // tag or kind -> epoch ms of the last 200 requests
  reset() { this.requests = {}; this.last = {}; this.times = {}; this.connections = 0; },
  body(name) {
    return { name, requests: this.requests, last: this.last, times: this.times, connections: this.connections, open_connections: this.openConnections };
  },
};

// --- answers ---------------------------------------------------------------------------------

const money = (m, def = GOOD_AMOUNT) => (m.amount !== undefined ? m.amount : m.mode === 'low' ? LOW_AMOUNT : m.mode === 'zero' ? 0 : def);
const share = (m) => (m.percent !== undefined ? m.percent : m.mode === 'zero' ? 100 : m.mode === 'low' ? 96 : 12);

function goodBody(kind, m) {
  const a = money(m);
  const now = Date.now();
  const reset = now + (m.reset_ms ?? 3600_000);
  switch (kind) {
    case 'deepseek':
      return { is_available: a > 0, balance_infos: [{ currency: m.currency ?? 'CNY', total_balance: a.toFixed(2), granted_balance: '0.00', topped_up_balance: a.toFixed(2) }] };
    case 'moonshot':
      return { code: 0, data: { available_balance: a, voucher_balance: 0, cash_balance: a }, scode: '0x0', status: true };
    case 'siliconflow':
      return { code: 20000, message: 'OK', status: true,
        data: { id: 'user-1', name: 'fake', email: 'fake@example.test', balance: '0.00', chargeBalance: a.toFixed(2), totalBalance: a.toFixed(2), status: 'normal' } };
    case 'openrouter':
      return { data: { label: 'sk-or-v1-fak...e00', limit: 100, limit_remaining: a, limit_reset: 'monthly', usage: 100 - a, usage_daily: 0, is_free_tier: false, is_provisioning_key: false } };
    case 'stepfun':
      return { object: 'account', type: 'personal', balance: a, total_cash_balance: 100, total_voucher_balance: 0 };
    case 'xai':
      return { redacted_api_key: 'xai-...fake', api_key_id: 'k1', name: 'fake', team_id: 't1', acls: ['api-key:model:*'],
        api_key_blocked: m.mode === 'zero', api_key_disabled: false, team_blocked: false };
    case 'zhipu':
      return { code: 200, msg: '操作成功', success: true, data: { level: 'lite', limits: [
        { type: 'TIME_LIMIT', unit: 5, number: 1, usage: 100, currentValue: 28, remaining: 72, percentage: 28, nextResetTime: now + 30 * 86400_000 },
        { type: 'TOKENS_LIMIT', unit: 3, number: 5, percentage: share(m), nextResetTime: reset }] } };
    case 'minimax': {
      const p = share(m);
      return { base_resp: { status_code: 0, status_msg: 'success' }, model_remains: [{
        model_name: 'MiniMax-M2', start_time: now - 3600_000, end_time: reset, remains_time: reset - now,
        current_interval_total_count: 1500, current_interval_usage_count: Math.round(1500 * (100 - p) / 100),
        current_interval_remaining_percent: 100 - p, weekly_start_time: now - 86400_000, weekly_end_time: now + 6 * 86400_000,
        current_weekly_total_count: 15000, current_weekly_usage_count: 13500, current_weekly_remaining_percent: 90 }] };
    }
    case 'openai_admin': {
      const day = Math.floor(now / 86400_000) * 86400;
      return { object: 'page', has_more: false, next_page: null, data: [
        { object: 'bucket', start_time: day - 86400, end_time: day, results: [{ object: 'organization.costs.result', amount: { value: a / 2, currency: 'usd' }, line_item: null, project_id: null }] },
        { object: 'bucket', start_time: day, end_time: day + 86400, results: [{ object: 'organization.costs.result', amount: { value: a / 2, currency: 'usd' }, line_item: null, project_id: null }] }] };
    }
    case 'anthropic_admin':
      return { has_more: false, next_page: null, data: [{ starting_at: new Date(now - 86400_000).toISOString(), ending_at: new Date(now).toISOString(),
        results: [{ currency: 'USD', amount: String(Math.round(a * 100 * 100) / 100), workspace_id: null, description: null, cost_type: null }] }] };
    default:
      return {};
  }
}

// The right fields with the wrong types (what a careless parser would read as zero).
function wrongTypes(kind) {
  switch (kind) {
    case 'deepseek': return { is_available: true, balance_infos: [{ currency: 'CNY', total_balance: true }] };
    case 'moonshot': return { code: 0, data: { available_balance: 'lots', voucher_balance: 0, cash_balance: 0 } };
    case 'siliconflow': return { code: 20000, status: true, data: { totalBalance: '31,20', balance: '1', chargeBalance: '30' } };
    case 'openrouter': return { data: { limit: {}, limit_remaining: 1, usage: 1 } };
    case 'stepfun': return { object: 'account', balance: [1] };
    case 'xai': return { api_key_blocked: 'no', api_key_disabled: false, team_blocked: false };
    case 'zhipu': return { code: 200, success: true, data: { limits: [{ type: 'TOKENS_LIMIT', unit: 3, number: 5, percentage: 'high' }] } };
    case 'minimax': return { base_resp: { status_code: 0 }, model_remains: [{ model_name: 'MiniMax-M2', current_interval_remaining_percent: 'most' }] };
    case 'openai_admin': return { object: 'page', has_more: false, data: [{ results: [{ amount: { value: 'abc', currency: 'usd' } }] }] };
    case 'anthropic_admin': return { has_more: false, data: [{ results: [{ currency: 'USD', amount: '1.2.3' }] }] };
    default: return {};
  }
}

const hung = new Set();

function answer(req, res, tag, kind) {
  const key = tag || kind;
  stats.requests[key] = (stats.requests[key] ?? 0) + 1;
  (stats.times[key] ??= []).push(Date.now());
  if (stats.times[key].length > 200) stats.times[key].shift();
  stats.last[key] = { authorization: req.headers.authorization ?? null, x_api_key: req.headers['x-api-key'] ?? null,
    anthropic_version: req.headers['anthropic-version'] ?? null, url: req.url };
  const m = modes.take(tag, kind);
  switch (m.mode) {
    case 'garbage': return sendJson(res, 200, { hello: 'world', data: null, items: [1, 2, 3] });
    case 'wrong_types': return sendJson(res, 200, wrongTypes(kind));
    case 'html': return sendText(res, 200, '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>checking your browser</body></html>', 'text/html');
    case '500': return sendJson(res, 500, { error: { message: 'internal server error', type: 'server_error' } });
    case '401': return sendJson(res, 401, { error: { message: 'Invalid API key provided', type: 'authentication_error' } });
    case 'timeout':  // accepted, never answered (until the client gives up or the fake stops)
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return undefined;
    case 'custom': return sendText(res, m.status, typeof m.body === 'string' ? m.body : JSON.stringify(m.body ?? {}), 'application/json');
    default: return sendJson(res, 200, goodBody(kind, m));
  }
}

// /<tag>/<kind path> or /<kind path>.
const ROUTE = new RegExp(`^(?:/([A-Za-z0-9_-]+))?(${Object.keys(PATHS).map((p) => p.replace(/[/.]/g, (c) => `\\${c}`)).join('|')})$`);

serveFake({
  prog: 'fake_balance',
  opts: OPTS,
  stats,
  modes,
  routes: [{ pattern: ROUTE, method: 'GET', onRequest: (req, res, query, match) => answer(req, res, match[1] ?? '', PATHS[match[2]]) }],
  notFound: (req, res, p) => sendJson(res, 404, { error: { message: `no route ${p}` } }),
  methodNotAllowed: (res, allow) => sendJson(res, 405, { error: { message: 'method not allowed' } }, { Allow: allow }),
});
