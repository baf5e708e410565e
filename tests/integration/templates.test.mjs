// Providers created from vendor templates (shared/vendors/templates.json) through lingmo-admin,
// and the per-provider parameter quirks the data plane applies to the vendor body.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, sleep } from './harness.mjs';

let stack;
before(async () => { stack = await startStack({ vendors: 1 }); });
after(async () => { await stack?.stop(); });
afterEach(() => { stack.checkLog(); });

test('a provider from a template, with quirks: dropped and renamed fields never reach the vendor', async () => {
  const v1 = stack.vendor(1);
  await stack.admin('provider', 'add', '--id', 'tpl', '--template', 'ollama', '--base-url', v1.baseUrl,
    '--api-key', v1.key, '--model', 'tpl-model=fake-tpl', '--priority', '1',
    '--drop-param', 'logprobs', '--rename-param', 'max_tokens=max_completion_tokens');
  await sleep(100);
  const r = await stack.chat(chatBody({ model: 'tpl-model', logprobs: true, max_tokens: 7 }));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['x-lingmo-provider'], 'tpl');
  const sent = (await v1.stats()).last_request.body;
  assert.equal(sent.model, 'fake-tpl');
  assert.equal(sent.logprobs, undefined);
  assert.equal(sent.max_tokens, undefined);
  assert.equal(sent.max_completion_tokens, 7);
  const stored = JSON.parse(await stack.redis('HGET', 'lingmo:providers', 'tpl'));
  assert.equal(stored.vendor, 'ollama');
  assert.equal(stored.name, 'Ollama (local)');
});

test('--free-tier adds the template\'s documented free-tier quota rules', async () => {
  const v1 = stack.vendor(1);
  await stack.admin('provider', 'add', '--id', 'groq-free', '--template', 'groq', '--free-tier',
    '--base-url', v1.baseUrl, '--api-key', v1.key, '--priority', '50');
  const stored = JSON.parse(await stack.redis('HGET', 'lingmo:providers', 'groq-free'));
  assert.ok(stored.quotas.length > 0, 'free-tier rules stored');
  assert.ok(stored.models.some((m) => m.name === 'llama-3.3-70b-versatile'), 'template models prefilled');
  const out = await stack.admin('quota', 'groq-free');
  assert.equal(out.trim().split('\n').length, stored.quotas.length);
});

test('native-dialect templates store their dialect (translated by the gateway)', async () => {
  await stack.admin('provider', 'add', '--id', 'claude', '--template', 'anthropic', '--api-key', 'x', '--disabled');
  const claude = JSON.parse(await stack.redis('HGET', 'lingmo:providers', 'claude'));
  assert.equal(claude.dialect, 'anthropic');
  assert.equal(claude.base_url, 'https://api.anthropic.com/v1');
  await stack.admin('provider', 'add', '--id', 'gem', '--template', 'gemini', '--api-key', 'x', '--disabled');
  assert.equal(JSON.parse(await stack.redis('HGET', 'lingmo:providers', 'gem')).dialect, 'gemini');
  await stack.admin('provider', 'remove', 'claude');
  await stack.admin('provider', 'remove', 'gem');
});
