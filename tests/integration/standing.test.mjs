// A provider's standing follows the vendor's own word (shared/vendors/error_signatures.json):
// quota errors park it until its reset, rate limits cool it down for the vendor's Retry-After,
// a rejected key parks it until the provider is edited, repeated 5xx open a circuit breaker that
// lets exactly one trial through after its cooldown, and rate-limit headers saying "0 left" make
// the gateway step aside before the vendor has to refuse. Real nginx, Redis and fake vendors
// answering in each vendor's real error shapes.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack, chatBody, sleep } from './harness.mjs';

let stack;
// Requests on one keep-alive connection reach the same worker: what it learned applies at once.
// Other workers learn it through Redis pub/sub a few milliseconds later (checked separately).
let sticky;
before(async () => {
  sticky = new http.Agent({ keepAlive: true, maxSockets: 1 });
  stack = await startStack({ vendors: 2, nginxConf: { http: 'lingmo_circuit_breaker 2 1s;' } });
});
after(async () => { sticky?.destroy(); await stack?.stop(); });
beforeEach(async () => { await stack.resetVendors(); });
afterEach(() => { stack.checkLog(); });

async function state(id) {
  const raw = await stack.redis('HGET', 'lingmo:provider_state', id);
  return raw ? JSON.parse(raw) : null;
}

// v1 answers once with `status`/`body`; the request must be served by v2, and the next one must
// pass v1 over with the given skip code (or try it again when `skip` is null).
async function expectStanding({ status, body, headers, skip }) {
  await stack.vendor(1).mode({ mode: 'custom', status, body, headers, times: 1 });
  const r = await stack.chat(chatBody(), { agent: sticky });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['x-lingmo-attempts'], `v1=${status};v2=ok`);
  const before = (await stack.vendor(1).stats()).requests;
  const next = await stack.chat(chatBody(), { agent: sticky });
  assert.equal(next.status, 200, next.text);
  if (skip) {
    assert.equal(next.headers['x-lingmo-skipped'], `v1=${skip}`);
    assert.equal(next.headers['x-lingmo-provider'], 'v2');
    // ... and every worker knows shortly after (fresh connections land on either worker).
    await sleep(100);
    for (let i = 0; i < 4; i++) assert.equal((await stack.chat(chatBody())).headers['x-lingmo-skipped'], `v1=${skip}`);
    assert.equal((await stack.vendor(1).stats()).requests, before, 'a parked provider gets no request');
  } else {
    assert.equal(next.headers['x-lingmo-skipped'], undefined);
    assert.equal(next.headers['x-lingmo-provider'], 'v1');
  }
}

const SIGNATURES = [
  { name: 'OpenAI insufficient_quota (429)', status: 429, skip: 'parked:quota',
    body: { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } } },
  { name: 'Anthropic billing_error (402)', status: 402, skip: 'parked:quota',
    body: { type: 'error', error: { type: 'billing_error', message: 'Your credit balance is too low.' } } },
  { name: 'Anthropic spend limit (429 rate_limit_error + enforced_spend_limit_reached)', status: 429, skip: 'parked:quota',
    body: { type: 'error', error: { type: 'rate_limit_error', message: 'spend limit', details: { error_code: 'enforced_spend_limit_reached' } } } },
  { name: 'DeepSeek Insufficient Balance (402)', status: 402, skip: 'parked:quota',
    body: { error: { message: 'Insufficient Balance', type: 'unknown_error', param: null, code: 'invalid_request_error' } } },
  { name: 'Zhipu 1113 (429)', status: 429, skip: 'parked:quota',
    body: { error: { code: '1113', message: '余额不足或无可用资源包,请充值。' } } },
  { name: 'Zhipu 1308 usage cap (429)', status: 429, skip: 'parked:quota',
    body: { error: { code: '1308', message: 'Usage limit reached for 5 hour. Your limit will reset at 2026-11-26 18:00:00' } } },
  { name: 'DashScope Arrearage (HTTP 400!)', status: 400, skip: 'parked:quota',
    body: { error: { message: 'Access denied, please make sure your account is in good standing.', type: 'Arrearage', param: null, code: 'Arrearage' } } },
  { name: 'DashScope AllocationQuota.FreeTierOnly (403)', status: 403, skip: 'parked:quota',
    body: { error: { message: 'The free tier of the model has been exhausted.', type: 'AllocationQuota.FreeTierOnly', code: 'AllocationQuota.FreeTierOnly' } } },
  { name: 'Moonshot exceeded_current_quota_error (429)', status: 429, skip: 'parked:quota',
    body: { error: { type: 'exceeded_current_quota_error', message: 'Your account is suspended due to insufficient balance' } } },
  { name: 'Groq per-day limit (429 TPD)', status: 429, skip: 'parked:quota',
    body: { error: { message: 'Rate limit reached for model `llama-3.3-70b-versatile` on tokens per day (TPD): Limit 100000, Used 99999', type: 'tokens', code: 'rate_limit_exceeded' } } },
  { name: 'Cerebras per-minute 429 (code says quota, it is a rate limit)', status: 429, skip: 'parked:rate_limited',
    body: { message: 'Requests per minute limit exceeded - too many requests sent.', type: 'too_many_requests_error', param: 'quota', code: 'request_quota_exceeded' } },
  { name: 'Gemini invalid key (HTTP 400 API_KEY_INVALID)', status: 400, skip: 'parked:auth',
    body: { error: { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT',
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }] } } },
  { name: 'Anthropic overloaded (529): failover, no park', status: 529, skip: null,
    body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } },
];

for (const sig of SIGNATURES) {
  test(`classified: ${sig.name} -> ${sig.skip ?? 'failover only'}`, async () => {
    await expectStanding(sig);
  });
}

test('a plain 400 is the client\'s error: returned as is, no failover, no park', async () => {
  await stack.vendor(1).mode({ mode: 'custom', status: 400, times: 1,
    body: { error: { message: "Invalid value for 'top_p'", type: 'invalid_request_error', param: 'top_p', code: null } } });
  const r = await stack.chat(chatBody());
  assert.equal(r.status, 400);
  assert.equal(r.json.error.param, 'top_p');
  assert.equal((await stack.vendor(2).stats()).requests, 0);
  assert.equal(await state('v1'), null);
});

test('Gemini per-day RESOURCE_EXHAUSTED parks until the next midnight in Los Angeles', async () => {
  await stack.vendor(1).mode({ mode: 'custom', status: 429, times: 1, body: [{ error: { code: 429,
    message: 'You exceeded your current quota.', status: 'RESOURCE_EXHAUSTED', details: [
      { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier' }] },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '22s' }] } }] });
  const t0 = Date.now();
  const r = await stack.chat(chatBody());
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=429;v2=ok');
  const st = await state('v1');
  assert.equal(st.kind, 'quota');
  assert.ok(st.unusable_until_ms > t0 && st.unusable_until_ms <= t0 + 25 * 3600 * 1000);
  const la = new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .format(new Date(st.unusable_until_ms));
  assert.equal(la, '00:00', 'parked until local midnight in Los Angeles');
});

test('a rate limit cools the provider down for the vendor\'s Retry-After, then it serves again', async () => {
  await stack.vendor(1).mode({ mode: 'rate_limit', times: 1 });  // 429 rate_limit_exceeded, retry-after: 1
  const r = await stack.chat(chatBody(), { agent: sticky });
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=429;v2=ok');
  const st = await state('v1');
  assert.equal(st.kind, 'rate_limited');
  assert.ok(st.unusable_until_ms - Date.now() <= 1100, 'cooldown honours retry-after: 1');
  assert.equal((await stack.chat(chatBody(), { agent: sticky })).headers['x-lingmo-skipped'], 'v1=parked:rate_limited');
  await sleep(1300);
  const back = await stack.chat(chatBody());
  assert.equal(back.headers['x-lingmo-provider'], 'v1');
});

test('a rejected key parks the provider until it is edited', async () => {
  await stack.vendor(1).mode({ mode: '401', times: 1 });
  await stack.chat(chatBody(), { agent: sticky });
  assert.equal((await state('v1')).kind, 'auth');
  assert.equal((await stack.chat(chatBody(), { agent: sticky })).headers['x-lingmo-skipped'], 'v1=parked:auth');
  // Editing the provider (here: storing its key again) changes its fingerprint: the park lapses.
  const v1 = stack.vendor(1);
  await stack.admin('provider', 'add', '--id', 'v1', '--base-url', v1.baseUrl, '--api-key', v1.key,
    '--model', 'gpt-test=fake-v1', '--priority', '10');
  await sleep(100);
  const r = await stack.chat(chatBody());
  assert.equal(r.headers['x-lingmo-provider'], 'v1');
  assert.equal(r.headers['x-lingmo-skipped'], undefined);
});

test('circuit breaker: repeated 500s open it, one half-open trial after the cooldown closes it', async () => {
  // One keep-alive connection: every request reaches the same worker (breakers are per worker).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await stack.vendor(1).mode({ mode: '500' });
    for (let i = 0; i < 2; i++) {
      const r = await stack.chat(chatBody(), { agent });
      assert.equal(r.headers['x-lingmo-attempts'], 'v1=500;v2=ok');
    }
    const open = await stack.chat(chatBody(), { agent });
    assert.equal(open.headers['x-lingmo-skipped'], 'v1=circuit_open');
    assert.equal(open.headers['x-lingmo-attempts'], 'v2=ok');
    const seen = (await stack.vendor(1).stats()).requests;
    assert.equal(seen, 2);

    // After the cooldown exactly one trial goes to v1; it fails, so the breaker opens again.
    await sleep(1100);
    const trial = await stack.chat(chatBody(), { agent });
    assert.equal(trial.headers['x-lingmo-attempts'], 'v1=500;v2=ok');
    const reopened = await stack.chat(chatBody(), { agent });
    assert.equal(reopened.headers['x-lingmo-skipped'], 'v1=circuit_open');
    assert.equal((await stack.vendor(1).stats()).requests, 3, 'one trial, not a sweep');

    // The vendor recovers; after the (doubled) cooldown the trial succeeds and closes the breaker.
    await stack.vendor(1).mode({ mode: 'normal' });
    await sleep(2100);
    const ok = await stack.chat(chatBody(), { agent });
    assert.equal(ok.headers['x-lingmo-provider'], 'v1');
    const after = await stack.chat(chatBody(), { agent });
    assert.equal(after.headers['x-lingmo-provider'], 'v1');
    assert.equal(after.headers['x-lingmo-skipped'], undefined);
  } finally {
    agent.destroy();
  }
});

test('rate-limit headers saying nothing is left make the gateway step aside until the reset', async () => {
  await stack.vendor(1).mode({ mode: 'normal', times: 1,
    headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-limit-requests': '15' } });
  const r = await stack.chat(chatBody(), { agent: sticky });
  assert.equal(r.headers['x-lingmo-provider'], 'v1', 'the answer itself is fine');
  const next = await stack.chat(chatBody(), { agent: sticky });
  assert.equal(next.headers['x-lingmo-skipped'], 'v1=parked:rate_limited');
  assert.equal(next.headers['x-lingmo-provider'], 'v2');
  await sleep(1200);
  assert.equal((await stack.chat(chatBody())).headers['x-lingmo-provider'], 'v1');
});
