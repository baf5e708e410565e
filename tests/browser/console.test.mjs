// The admin console in a real browser (Debian's chromium, headless, via playwright-core) against
// a real stack: redis-server, nginx with the lingmo module, fake vendors, and lingmo-controld
// serving the built console from WEB_ROOT. The tests run in order on one stack and share a page:
// each checks what the user sees AND what the gateway then does (X-LingMo-Provider on a real chat
// completion through nginx), so a broken feature fails here even when the page still renders.
// Screenshots of every page (desktop zh-CN and en, phone zh-CN) go to tests/artifacts/browser/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MODEL, chatBody, startStack } from '../integration/harness.mjs';
import { ADMIN_PASSWORD, startDaemon } from '../controlplane/daemon.mjs';
import {
  DESKTOP, PHONE, WEB_DIST, attrList, byTest, confirmBox, dragAbove, launchBrowser, newContext, pickOption, requireBuiltUi,
  screenshot, sleep, startFakeVendor, waitFor,
} from './lib.mjs';

const PAGES = ['dashboard', 'providers', 'quota', 'keys', 'alerts', 'logs', 'settings', 'agents'];
const PATH = { dashboard: '/', providers: '/providers', quota: '/quota', keys: '/keys', alerts: '/alerts', logs: '/logs', settings: '/settings', agents: '/agents' };
const UI_KEY = 'sk-ui-vendor-key-7f3a';

let stack;
let d;
let vendor;
let browser;
let ctx;
let page;
let base;

before(async () => {
  requireBuiltUi();
  stack = await startStack({ vendors: 2 });   // providers v1 (priority 10), v2 (20), model gpt-test; key stack.key
  vendor = await startFakeVendor(stack.dir, { name: 'vui', key: UI_KEY });
  d = await startDaemon(stack, { env: { OUTBOUND_ALLOW: '127.0.0.0/8', WEB_ROOT: WEB_DIST, BALANCE_SYNC_INTERVAL: '0' } });
  base = d.base;
  browser = await launchBrowser();
  ctx = await newContext(browser);
  page = await ctx.newPage();
});

after(async () => {
  try { await browser?.close(); } catch { /* already gone */ }
  try {
    if (d && !d.exit) await d.stop();
  } finally {
    vendor?.stop();
    await stack?.stop();
  }
});

// The paths of the /api calls the page makes while `fn` runs (e.g. to see that a login answer is
// enough, without another GET /api/session).
async function apiCallsDuring(p, fn) {
  const calls = [];
  const on = (r) => { const u = new URL(r.url()); if (u.pathname.startsWith('/api/')) calls.push(`${r.method()} ${u.pathname}`); };
  p.on('request', on);
  try { await fn(); } finally { p.off('request', on); }
  return calls;
}

// What the dashboard's usage chart draws (data-series of the timeline card) and what
// GET /api/usage/series says for the same range and counter (providers with nothing left out).
async function chartData(p) {
  return JSON.parse(await p.locator(byTest('timeline')).getAttribute('data-series'));
}
async function seriesFromApi(step, count, metric) {
  const r = (await d.get(await apiSession(), `/api/usage/series?step=${step}&count=${count}`)).json;
  const providers = {};
  for (const [id, f] of Object.entries(r.providers)) if (f[metric].some((x) => x > 0)) providers[id] = f[metric];
  return { step: r.step, metric, buckets: r.buckets, providers };
}
// Waits until the chart shows exactly what the API says (usage counters arrive in batches, and
// an hour may turn between the two reads); `refresh` clicks the refresh button between tries.
async function chartMatchesApi(step, count, metric, { refresh = true, timeout = 8000 } = {}) {
  let page_;
  let api_;
  await waitFor(async () => {
    if (refresh) await page.click(byTest('dash-refresh'));
    api_ = await seriesFromApi(step, count, metric);
    await sleep(200);
    page_ = await chartData(page);
    return JSON.stringify(page_) === JSON.stringify(api_);
  }, { timeout, interval: 300, what: `the ${step} chart of ${metric} to match /api/usage/series` }).catch((e) => {
    throw new Error(`${e.message}\npage: ${JSON.stringify(page_)}\napi:  ${JSON.stringify(api_)}`);
  });
  return page_;
}

async function goto(name) {
  await page.goto(base + PATH[name]);
  await page.locator(byTest(`page-${name}`)).waitFor();
}

// A chat completion through nginx; waits (up to `timeout`) until it is served by `provider`.
async function servedBy(provider, { model = MODEL, key, timeout = 3000 } = {}) {
  let last;
  await waitFor(async () => {
    last = await stack.chat(chatBody({ model }), { key });
    return last.status === 200 && last.headers['x-lingmo-provider'] === provider;
  }, { timeout, interval: 50, what: `a chat completion for ${model} served by ${provider}` }).catch((e) => {
    throw new Error(`${e.message}; last answer: ${last?.status} provider=${last?.headers?.['x-lingmo-provider']} ${last?.text?.slice(0, 200)}`);
  });
  return last;
}

test('first login: the one-time password leads to the password change, then the dashboard; the session is only an HttpOnly cookie', async () => {
  await page.goto(base + '/providers');
  await page.waitForURL(/\/login/);
  await page.locator(byTest('login-submit')).waitFor();
  await screenshot(page, 'desktop-zh-login');

  // A wrong password is refused on the page.
  await page.fill(byTest('login-password'), 'not-the-password');
  await page.click(byTest('login-submit'));
  await page.locator(byTest('login-error')).waitFor();
  assert.match(await page.locator(byTest('login-error')).innerText(), /用户名或密码错误/);

  await page.fill(byTest('login-password'), d.password);
  let login;
  const calls = await apiCallsDuring(page, async () => {
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/login') && r.request().method() === 'POST');
    await page.click(byTest('login-submit'));
    login = await (await answer).json();
    await page.waitForURL(/\/password$/);
    await page.locator(byTest('must-change')).waitFor();
  });
  // The login answer carries the role: no GET /api/session after it.
  assert.equal(login.role, 'admin');
  assert.deepEqual(calls, ['POST /api/login']);
  await screenshot(page, 'desktop-zh-password-first-run');

  // Every other page stays behind the change-password gate.
  await page.goto(base + '/keys');
  await page.waitForURL(/\/password$/);

  await page.fill(byTest('pw-old'), d.password);
  await page.fill(byTest('pw-new'), ADMIN_PASSWORD);
  await page.fill(byTest('pw-repeat'), ADMIN_PASSWORD);
  await page.click(byTest('pw-submit'));
  await page.locator(byTest('page-dashboard')).waitFor();

  // The new password works (and the one-time password does not) for a script too.
  assert.equal((await d.login('admin', ADMIN_PASSWORD)).status, 200);
  assert.equal((await d.login('admin', d.password)).status, 401);

  // No token in script-readable storage; the cookie is HttpOnly and SameSite=Strict.
  const storage = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }) + document.cookie);
  assert.ok(!/lingmo_session|[0-9a-f]{64}/.test(storage), `a session token is readable by scripts: ${storage}`);
  const cookie = (await ctx.cookies()).find((c) => c.name === 'lingmo_session');
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', JSON.stringify(cookie));
  assert.deepEqual(ctx.pageErrors, []);
});

test('providers: add one from a vendor template against a fake vendor, test connectivity inline, and it serves through nginx', async () => {
  await goto('providers');
  await page.click(byTest('add-provider'));
  await page.locator(byTest('template-picker')).waitFor();
  await screenshot(page, 'desktop-zh-providers-template-picker');

  // A template with a documented free tier: the preview lists its free-tier quota rules in words
  // (GET /api/templates/gemini), and where the data comes from.
  const gemini = (await d.get(await apiSession(), '/api/templates/gemini')).json;
  assert.ok(gemini.free_tier.documented && gemini.free_tier.quotas.length > 0);
  await page.click(byTest('tpl-gemini'));
  await page.locator(byTest('tpl-free-rule')).first().waitFor();
  assert.deepEqual(await attrList(page.locator(byTest('tpl-free-rule')), 'data-spec'), gemini.free_tier.quotas);
  const rule1 = await page.locator(byTest('tpl-free-rule')).nth(1).innerText();   // requests/day=20@America/Los_Angeles:gemini-2.5-flash
  assert.equal(rule1.trim(), '每天 20 请求 (America/Los_Angeles) [gemini-2.5-flash]');
  assert.match(await page.locator(byTest('tpl-preview-free')).innerText(), /有公开的免费额度/);
  assert.match(await page.locator(byTest('tpl-preview-balance')).innerText(), /没有余额 API/);
  await page.click('button:has-text("更换厂商")');

  await page.fill(byTest('template-search'), 'deepseek');
  await page.click(byTest('tpl-deepseek'));

  // The template prefilled the form: id, base URL and its models with the vendor model ids of
  // GET /api/templates/deepseek; the preview shows them, the notes and the balance sync.
  const tpl = (await d.get(await apiSession(), '/api/templates/deepseek')).json;
  assert.equal(await page.inputValue(byTest('pf-id')), 'deepseek');
  assert.equal(await page.inputValue(byTest('pf-base-url')), 'https://api.deepseek.com/v1');
  const preview = page.locator(byTest('tpl-preview-model'));
  await preview.first().waitFor();
  assert.deepEqual(await attrList(preview, 'data-name'), tpl.models.map((m) => m.name));
  assert.deepEqual(await attrList(preview, 'data-upstream'), tpl.models.map((m) => m.upstream));
  assert.deepEqual(await preview.allInnerTexts(), tpl.models.map((m) => `${m.name} → ${m.upstream}`));
  const formModels = async (sel) => page.locator(byTest(sel)).evaluateAll((els) => els.map((e) => e.value));
  assert.deepEqual(await formModels('pf-model-name'), tpl.models.map((m) => m.name));
  assert.deepEqual(await formModels('pf-model-upstream'), tpl.models.map((m) => m.upstream));
  assert.ok(tpl.notes.length > 20);
  assert.equal((await page.locator(byTest('tpl-preview-notes')).innerText()).trim(), tpl.notes);
  assert.equal(await page.locator(byTest('tpl-preview-balance')).getAttribute('data-kind'), 'deepseek');
  const balanceText = await page.locator(byTest('tpl-preview-balance')).innerText();
  assert.ok(balanceText.includes('deepseek') && balanceText.includes(tpl.balance.url), balanceText);
  assert.match(await page.locator(byTest('tpl-preview-free')).innerText(), /没有公开的免费额度/);
  await screenshot(page, 'desktop-zh-providers-template-preview');

  // Point it at the fake vendor; a wrong key is reported inline as a refused key.
  await page.fill(byTest('pf-base-url'), vendor.baseUrl);
  await page.fill(byTest('pf-key'), 'sk-wrong-key-000000');
  await page.click(byTest('pf-test'));
  await page.locator(byTest('test-fail')).waitFor();
  assert.match(await page.locator(byTest('test-fail')).innerText(), /密钥被拒绝/);

  // The right key: connected, with the vendor's answer shown in the dialog.
  await page.fill(byTest('pf-key'), UI_KEY);
  await page.click(byTest('pf-test'));
  await page.locator(byTest('test-ok')).waitFor();
  assert.match(await page.locator(byTest('test-answer')).innerText(), /vui/);
  await screenshot(page, 'desktop-zh-providers-add-form');

  await page.click(byTest('pf-save'));
  await page.locator(byTest('provider-dialog')).waitFor({ state: 'hidden' });
  await page.locator(byTest('provider-row-deepseek')).waitFor();

  // Stored as the UI said: template vendor, our base URL, the sealed key shown masked.
  const view = (await d.get(await apiSession(), '/api/model/deepseek')).json;
  assert.equal(view.vendor, 'deepseek');
  assert.equal(view.base_url, vendor.baseUrl);
  assert.equal(view.api_key_masked, 'sk-****7f3a');
  assert.deepEqual(view.models.map((m) => [m.name, m.upstream]), tpl.models.map((m) => [m.name, m.upstream]));

  // It serves a real chat completion through nginx, with the vendor key the UI stored.
  const r = await servedBy('deepseek', { model: 'deepseek-chat' });
  assert.equal(r.json.choices[0].message.role, 'assistant');

  // The row's own test button shows the result inline, in the row's details.
  await page.click(byTest('test-deepseek'));
  await page.locator(`${byTest('provider-detail-deepseek')} ${byTest('test-ok')}`).waitFor();
  await screenshot(page, 'desktop-zh-providers-row-test');
});

// A Bearer session for checks made beside the browser.
let apiSess;
async function apiSession() {
  if (!apiSess) apiSess = await d.session('admin', ADMIN_PASSWORD);
  return apiSess;
}

test('the request shows in the request log with its routing explanation, and on the dashboard', async () => {
  await goto('logs');
  const row = page.locator('[data-test^="log-provider-"]', { hasText: 'deepseek' }).first();
  await row.waitFor();
  // Expand it: the routing explanation names the provider that served.
  await page.locator('.el-table__row', { has: row }).locator('.el-table__expand-icon').click();
  const explain = page.locator(byTest('log-explain')).first();
  await explain.waitFor();
  assert.match(await explain.innerText(), /deepseek/);
  await screenshot(page, 'desktop-zh-logs-expanded');

  // Filter by status "failed": the successful request disappears; the empty state says why.
  await pickOption(page, page.locator(byTest('log-status')), '失败');
  await page.click(byTest('log-search'));
  await page.locator('.el-table__empty-text', { hasText: '没有符合筛选条件的请求' }).waitFor();
  await page.click('button:has-text("重置")');
  await row.waitFor();

  await goto('dashboard');
  await page.locator(byTest('serving-now-deepseek-chat')).waitFor();
  assert.equal((await page.locator(byTest('serving-now-deepseek-chat')).innerText()).trim(), 'deepseek');
  assert.match(await page.locator(byTest('last-served-deepseek-chat')).innerText(), /deepseek/);
  assert.equal((await page.locator(byTest('serving-now-gpt-test')).innerText()).trim(), 'v1');
  // Today's requests are the keys' counters: what the API says, and at least our requests.
  const keys = (await d.get(await apiSession(), '/api/keys')).json.keys;
  const want = keys.reduce((n, k) => n + (k.today?.requests || 0), 0);
  assert.ok(want >= 1);
  await waitFor(async () => Number((await page.locator(byTest('stat-requests-value')).innerText()).replace(/\D/g, '')) >= want,
    { timeout: 5000, what: `the dashboard to count ${want} requests` });

  // Usage over time is GET /api/usage/series (hourly, 24 buckets by default): the chart draws
  // exactly its numbers, and the current hour counts the requests deepseek served.
  let chart = await chartMatchesApi('hour', 24, 'requests');
  assert.equal(chart.buckets.length, 24);
  assert.ok(chart.providers.deepseek?.at(-1) >= 1, JSON.stringify(chart));
  await screenshot(page, 'desktop-zh-dashboard-after-traffic');

  // Live refresh (every 5 s, no clicks): two more requests show up in the current hour.
  await pickOption(page, page.locator(byTest('live-select')), '每 5 秒');
  const before = chart.providers.deepseek.at(-1);
  for (let i = 0; i < 2; i++) await servedBy('deepseek', { model: 'deepseek-chat' });
  await waitFor(async () => (await chartData(page)).providers.deepseek?.at(-1) >= before + 2,
    { timeout: 12000, interval: 250, what: 'the live chart to count two more requests' });
  chart = await chartMatchesApi('hour', 24, 'requests', { refresh: false, timeout: 12000 });

  // 30 days, daily; tokens: the same numbers as the API's daily buckets.
  await page.click(byTest('range-30d'));
  await page.locator(`${byTest('timeline-metric')} label`, { hasText: 'token' }).click();
  chart = await chartMatchesApi('day', 30, 'total_tokens');
  assert.equal(chart.buckets.length, 30);
  assert.match(chart.buckets.at(-1), /^\d{4}-\d{2}-\d{2}$/);
  assert.ok(chart.providers.deepseek?.at(-1) > 0, JSON.stringify(chart));
  await screenshot(page, 'desktop-zh-dashboard-30-days');
  await page.click(byTest('range-24h'));
  await page.locator(`${byTest('timeline-metric')} label`, { hasText: '请求' }).click();
  await pickOption(page, page.locator(byTest('live-select')), '每 10 秒');
});

test('quota monitor: a quota rule added in the provider form shows as a usage bar; manual usage entry moves it', async () => {
  // Edit v1: add a quota rule of 100 requests/day in the form's quota section.
  await goto('providers');
  await page.click(byTest('edit-v1'));
  await page.locator(byTest('provider-dialog')).waitFor();
  await page.locator('.el-collapse-item__header', { hasText: '额度规则' }).click();
  await page.click(byTest('pf-quota-add'));
  await page.fill(`${byTest('pf-quota-0')} .qnum input`, '100');
  await page.click(byTest('pf-save'));
  await page.locator(byTest('provider-dialog')).waitFor({ state: 'hidden' });
  const v1 = (await d.get(await apiSession(), '/api/model/v1')).json;
  assert.deepEqual(v1.quotas.map((q) => `${q.metric}/${q.window}=${q.limit}`), ['requests/day=100']);
  assert.equal(v1.has_api_key, true, 'the stored vendor key is kept');

  // The quota page shows the rule; "set used" writes the counter and the bar follows.
  await goto('quota');
  const rule = page.locator(byTest('rule-v1-0'));
  await rule.waitFor();
  await rule.locator('button', { hasText: '设置已用量' }).click();
  await page.locator('.el-message-box input').fill('42');
  await confirmBox(page);
  await waitFor(async () => (await rule.innerText()).includes('42.0%'), { what: 'the bar at 42%' });
  const stat = (await d.get(await apiSession(), '/api/quota/stat')).json;
  assert.equal(stat.rules.find((r) => r.provider === 'v1' && r.rule === 0).used, 42);
  assert.match(await rule.innerText(), /重置/);   // next reset shown
  assert.match(await rule.locator(byTest('forecast')).innerText(), /暂无速率|达到/);
});

test('quota monitor: dragging a provider to the top reorders priorities at once; the next request goes to it; a park shows with its reason and can be lifted', async () => {
  await servedBy('v1');   // v1 (priority 10) serves gpt-test before the change
  await goto('quota');
  const items = page.locator('[data-test^="prio-"]');
  await page.locator(byTest('prio-v2')).waitFor();
  assert.deepEqual((await attrList(items, 'data-id')).slice(0, 2), ['v1', 'v2']);

  await dragAbove(page, page.locator(`${byTest('prio-v2')} ${byTest('drag-handle')}`), page.locator(byTest('prio-v1')));
  await page.locator(byTest('order-saved')).waitFor();
  assert.deepEqual((await attrList(items, 'data-id')).slice(0, 2), ['v2', 'v1']);

  // Stored: v2 first with the reorder's priorities.
  const list = (await d.get(await apiSession(), '/api/model/list')).json;
  assert.deepEqual(list.providers.slice(0, 2).map((p) => [p.id, p.priority]), [['v2', 10], ['v1', 20]]);
  // And in force: the next requests for gpt-test are served by v2.
  await servedBy('v2', { timeout: 2000 });
  for (let i = 0; i < 3; i++) assert.equal((await stack.chat(chatBody())).headers['x-lingmo-provider'], 'v2');

  // A park (as the data plane or an operator sets one) shows on the page with its reason.
  await stack.admin('state', 'park', 'v2', '--seconds', '120', '--reason', 'ui-test maintenance window');
  await page.click('button:has-text("刷新")');
  const parked = page.locator(byTest('parked-v2'));
  await parked.waitFor();
  assert.match(await parked.innerText(), /ui-test maintenance window/);
  assert.match(await page.locator(byTest('prio-v2')).innerText(), /已暂停/);
  await screenshot(page, 'desktop-zh-quota-parked');
  await servedBy('v1', { timeout: 2000 });

  // "Lift the park" in the UI (POST /api/model/v2/clear): v2 serves again.
  await page.click(byTest('clear-v2'));
  await parked.waitFor({ state: 'detached' });
  assert.equal(await stack.redis('HEXISTS', 'lingmo:provider_state', 'v2'), '0');
  await servedBy('v2', { timeout: 2000 });
});

test('gateway keys: create one (secret shown once, copy button), it works through nginx, revoke it and it stops working', async () => {
  await goto('keys');
  await page.click(byTest('create-key'));
  await page.fill(byTest('key-name'), 'ui-laptop');
  await page.click(byTest('key-save'));
  await page.locator(byTest('secret-dialog')).waitFor();
  const secret = (await page.locator(byTest('key-secret')).innerText()).trim();
  assert.match(secret, /^lm-[0-9a-f]{48}$/);
  await page.locator(`${byTest('secret-dialog')} ${byTest('copy')}`).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  await screenshot(page, 'desktop-zh-keys-secret');
  await page.click(byTest('secret-done'));
  await page.locator(byTest('key-secret')).waitFor({ state: 'detached' });

  const row = page.locator('[data-test^="key-row-"][data-name="ui-laptop"]');
  await row.waitFor();
  const id = (await row.getAttribute('data-test')).replace('key-row-', '');
  // Shown once: the page no longer holds the secret.
  assert.ok(!(await page.content()).includes(secret), 'the secret is still in the page');

  const ok = await stack.chat(chatBody(), { key: secret });
  assert.equal(ok.status, 200, ok.text);
  await screenshot(page, 'desktop-zh-keys-created');

  await page.click(byTest(`revoke-${id}`));
  await confirmBox(page);
  await row.waitFor({ state: 'detached' });
  await waitFor(async () => (await stack.chat(chatBody(), { key: secret })).status === 401, { timeout: 3000, what: 'the revoked key to get 401' });
});

test('agent set-up: the gateway URL set on the settings page is in the snippets with a new key, and the curl one works as printed', async () => {
  // Not set yet: the page guesses this host on port 8080 and sends admins to the settings.
  assert.equal((await d.get(await apiSession(), '/api/settings')).json.gateway_url, null);
  await goto('agents');
  await page.locator(byTest('agent-url-unset')).waitFor();
  assert.equal((await page.locator(byTest('agent-url')).innerText()).trim(), 'http://127.0.0.1:8080');
  assert.match(await page.locator(byTest('snippet-claude-code-shell')).innerText(), /ANTHROPIC_BASE_URL=http:\/\/127\.0\.0\.1:8080\n/);

  // An earlier console kept the URL in this browser: the settings page offers it once.
  await page.evaluate(() => localStorage.setItem('lingmo.gatewayUrl', 'http://old.example:8080/v1'));
  await page.click(byTest('agent-url-settings'));
  await page.locator(byTest('page-settings')).waitFor();
  await page.locator(byTest('settings-gateway-url-legacy')).waitFor();
  assert.equal(await page.inputValue(byTest('settings-gateway-url')), 'http://old.example:8080');

  // Set it for everyone (typed with /v1/, stored as the root) through PUT /api/settings.
  const root = `http://127.0.0.1:${stack.gatewayPort}`;
  await page.fill(byTest('settings-gateway-url'), `${root}/v1/`);
  await page.click(byTest('settings-save'));
  await waitFor(async () => (await d.get(await apiSession(), '/api/settings')).json.gateway_url === root, { what: 'gateway_url stored' });
  // The page drops its browser copy once it has read the PUT's answer, which can come a moment after
  // the daemon stored the value: wait for it rather than read it once.
  await waitFor(async () => (await page.evaluate(() => localStorage.getItem('lingmo.gatewayUrl'))) === null,
    { what: 'the browser copy of the URL to be dropped' });
  await page.reload();
  await page.locator(byTest('page-settings')).waitFor();
  await waitFor(async () => (await page.inputValue(byTest('settings-gateway-url'))) === root, { what: 'the saved URL on the settings page' });
  assert.equal(await page.locator(byTest('settings-gateway-url-legacy')).count(), 0);

  await goto('agents');
  await page.locator(byTest('agent-url-shared')).waitFor();
  assert.equal((await page.locator(byTest('agent-url')).innerText()).trim(), root);
  assert.equal(await page.locator(byTest('agent-url-unset')).count(), 0);
  await page.click(byTest('agent-new-key'));
  // Claude Code: the root URL without /v1, and the new key's secret.
  const claude = page.locator(byTest('snippet-claude-code-shell'));
  await waitFor(async () => /ANTHROPIC_AUTH_TOKEN=lm-[0-9a-f]{48}/.test(await claude.innerText()), { what: 'the key in the Claude Code set-up' });
  const text = await claude.innerText();
  assert.ok(text.includes(`ANTHROPIC_BASE_URL=${root}\n`), text);
  const secret = /ANTHROPIC_AUTH_TOKEN=(lm-[0-9a-f]{48})/.exec(text)[1];
  await screenshot(page, 'desktop-zh-agents-filled');

  // The curl check, run as printed (URL, header and body from the page): served through nginx.
  await page.locator('.el-tabs__item', { hasText: 'curl' }).click();
  const curl = await page.locator(`${byTest('snippet-curl-chat')} pre`).innerText();
  const url = /curl -s -D - (\S+) \\/.exec(curl)[1];
  const body = /-d '(.*)'$/m.exec(curl)[1];
  assert.equal(url, `${root}/v1/chat/completions`);
  assert.ok(curl.includes(`Authorization: Bearer ${secret}`));
  const res = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body });
  assert.equal(res.status, 200, await res.text());
  assert.ok(res.headers.get('x-lingmo-provider'));
});

test('alerts, settings and every page render without errors (desktop screenshots)', async () => {
  // A webhook channel pointing at the fake vendor (any 2xx is a delivery); test-send shows the result inline.
  await goto('alerts');
  await page.click(byTest('add-channel'));
  await page.fill(byTest('ch-name'), 'ops-hook');
  await page.fill(byTest('ch-url'), `http://127.0.0.1:${vendor.port}/v1/models`);
  await page.click(byTest('ch-save'));
  const testBtn = page.locator('[data-test^="test-channel-"]:not([data-test*="result"])').first();
  await testBtn.click();
  const result = page.locator('[data-test^="test-channel-result-"]').first();
  await result.waitFor();
  assert.match(await result.innerText(), /✓|✗/);
  await screenshot(page, 'desktop-zh-alerts-test-send');
  for (const name of PAGES) {
    await goto(name);
    await sleep(400);
    await screenshot(page, `desktop-zh-${name}`);
  }
  assert.deepEqual(ctx.pageErrors, []);
});

test('language: switching to English translates the console, survives a reload, and switches back', async () => {
  await goto('dashboard');
  await page.click(byTest('lang-switch'));
  await page.click(byTest('lang-en'));
  await waitFor(async () => (await page.locator(byTest('nav-providers')).innerText()).includes('Providers'), { what: 'the English menu' });
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  assert.match(await page.locator(byTest('stat-requests')).innerText(), /Requests today/);
  await page.reload();
  await page.locator(byTest('page-dashboard')).waitFor();
  assert.match(await page.locator(byTest('nav-quota')).innerText(), /Quota monitor/);
  // No Chinese left in the English console (data such as the vendor templates' names aside).
  const data = ['简体中文', ...(await d.get(await apiSession(), '/api/model/list')).json.providers.map((p) => p.name)];
  for (const name of PAGES) {
    await goto(name);
    await sleep(400);
    let visible = await page.locator('.layout').innerText();
    for (const x of data) visible = visible.split(x).join('');
    assert.ok(!/[\u4e00-\u9fff]/.test(visible), `${name}: Chinese text in the English console: ${visible.match(/.{0,30}[\u4e00-\u9fff]+.{0,30}/)?.[0]}`);
    await screenshot(page, `desktop-en-${name}`);
  }
  await page.click(byTest('lang-switch'));
  await page.click(byTest('lang-zh-CN'));
  await waitFor(async () => (await page.locator(byTest('nav-providers')).innerText()).includes('供应商'), { what: 'the Chinese menu' });
});

test('phone: the side menu collapses into a drawer; every page fits the screen', async () => {
  const phone = await newContext(browser, { viewport: PHONE, phone: true });
  try {
    const p = await phone.newPage();
    await p.goto(base + '/login');
    await p.fill(byTest('login-password'), ADMIN_PASSWORD);
    await p.click(byTest('login-submit'));
    await p.locator(byTest('page-dashboard')).waitFor();
    assert.equal(await p.locator('.aside').count(), 0, 'no fixed side menu on a phone');
    assert.equal(await p.locator(byTest('nav')).isVisible(), false);
    await p.click(byTest('menu-toggle'));
    await p.locator(byTest('nav-keys')).waitFor();
    await screenshot(p, 'phone-zh-menu');
    await p.click(byTest('nav-keys'));
    await p.locator(byTest('page-keys')).waitFor();
    await p.locator(byTest('nav')).waitFor({ state: 'hidden' });
    for (const name of PAGES) {
      await p.goto(base + PATH[name]);
      await p.locator(byTest(`page-${name}`)).waitFor();
      await sleep(400);
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${name} is ${overflow}px wider than the phone screen`);
      await screenshot(p, `phone-zh-${name}`);
    }
    assert.deepEqual(phone.pageErrors, []);
  } finally {
    await phone.close();
  }
});

test('viewer: an account created for reading logs in with its one-time password and sees no change buttons', async () => {
  const created = await d.post(await apiSession(), '/api/users', { name: 'ui-viewer', role: 'viewer' });
  assert.equal(created.status, 201, created.text);
  const vctx = await newContext(browser);
  try {
    const p = await vctx.newPage();
    await p.goto(base + '/login');
    await p.fill(byTest('login-user'), 'ui-viewer');
    await p.fill(byTest('login-password'), created.json.password);
    const calls = await apiCallsDuring(p, async () => {
      await p.click(byTest('login-submit'));
      await p.locator(byTest('must-change')).waitFor();
    });
    assert.deepEqual(calls, ['POST /api/login'], 'the role comes with the login answer');
    await p.fill(byTest('pw-old'), created.json.password);
    await p.fill(byTest('pw-new'), 'viewer-password-1');
    await p.fill(byTest('pw-repeat'), 'viewer-password-1');
    await p.click(byTest('pw-submit'));
    await p.locator(byTest('page-dashboard')).waitFor();
    assert.match(await p.locator(byTest('user-menu')).innerText(), /ui-viewer[\s\S]*只读/);
    await p.goto(base + '/providers');
    await p.locator(byTest('provider-row-deepseek')).waitFor();
    assert.equal(await p.locator(byTest('add-provider')).count(), 0);
    assert.equal(await p.locator('[data-test^="delete-"]').count(), 0);
    await p.goto(base + '/quota');
    await p.locator(byTest('prio-v1')).waitFor();
    assert.equal(await p.locator(byTest('drag-handle')).count(), 0);
    await p.goto(base + '/keys');
    await p.locator(byTest('page-keys')).waitFor();
    assert.equal(await p.locator(byTest('create-key')).count(), 0);
    await screenshot(p, 'desktop-zh-viewer-keys');
    // The shared gateway URL: shown on the agent page (no link to change it), read-only in the settings.
    const root = `http://127.0.0.1:${stack.gatewayPort}`;
    await p.goto(base + '/agents');
    await p.locator(byTest('agent-url-shared')).waitFor();
    assert.equal((await p.locator(byTest('agent-url')).innerText()).trim(), root);
    assert.equal(await p.locator(byTest('agent-url-settings')).count(), 0);
    assert.ok((await p.locator(byTest('snippet-claude-code-shell')).innerText()).includes(`ANTHROPIC_BASE_URL=${root}\n`));
    await p.goto(base + '/settings');
    await waitFor(async () => (await p.inputValue(byTest('settings-gateway-url'))) === root, { what: 'the URL on the viewer\'s settings page' });
    assert.equal(await p.locator(byTest('settings-gateway-url')).isDisabled(), true);
    assert.equal(await p.locator(byTest('settings-save')).count(), 0);
    assert.deepEqual(vctx.pageErrors, []);
  } finally {
    await vctx.close();
  }
});

test('session expiry: the next call returns to the login page with "session expired"; Redis down shows the storage banner', async () => {
  await goto('dashboard');
  const sessions = (await stack.redis('--scan', '--pattern', 'lingmo:admin:session:*')).split('\n').filter(Boolean);
  assert.ok(sessions.length >= 1);
  await stack.redis('DEL', ...sessions);
  // The dashboard's live refresh may reach the daemon before our click and end the session itself
  // (the button is then gone with the page): either call must lead to the login page.
  await page.locator(byTest('dash-refresh')).click({ timeout: 3000 }).catch(() => {});
  await page.waitForURL(/\/login\?/);
  await page.locator(byTest('expired-msg')).waitFor();
  assert.match(await page.locator(byTest('expired-msg')).innerText(), /会话已过期/);
  await screenshot(page, 'desktop-zh-session-expired');

  await page.fill(byTest('login-password'), ADMIN_PASSWORD);
  await page.click(byTest('login-submit'));
  await page.locator(byTest('page-dashboard')).waitFor();
  await stack.killRedis();
  await page.click(byTest('dash-refresh'));
  await page.locator(byTest('storage-banner')).waitFor();
  await screenshot(page, 'desktop-zh-storage-unavailable');
});
