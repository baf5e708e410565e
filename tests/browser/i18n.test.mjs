// The console's translations, without a browser: zh-CN and en have the same keys (and the same
// {placeholders}), every key the sources use exists in both, no Chinese is hard-coded in a
// component, and no template has literal text outside the messages (a heuristic: text nodes of
// .vue templates may hold only {{ … }}, punctuation and a few technical tokens).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SRC, checkI18n, flatten, loadLocales } from '../../controlplane/web/scripts/i18n-check.mjs';
import { TOOLS, buildSnippets } from '../../controlplane/web/src/utils/agents.js';
import { normalizeGatewayUrl, validGatewayUrl } from '../../controlplane/web/src/utils/gateway.js';

function vueFiles(dir = SRC) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...vueFiles(p));
    else if (e.name.endsWith('.vue')) out.push(p);
  }
  return out;
}

test('zh-CN and en have the same keys and placeholders; every key the sources use exists', async () => {
  const r = await checkI18n();
  assert.deepEqual(r.problems, []);
  assert.ok(r.keys > 400, `only ${r.keys} keys`);
  const { zh, en } = await loadLocales();
  assert.deepEqual(Object.keys(flatten(zh)).sort(), Object.keys(flatten(en)).sort());
});

test('zh-CN is the default locale and the fallback is en', () => {
  const text = fs.readFileSync(path.join(SRC, 'i18n', 'index.js'), 'utf8');
  assert.match(text, /return 'zh-CN';/);
  assert.match(text, /fallbackLocale: 'en'/);
});

test('no component hard-codes Chinese or literal text in its template', () => {
  // Tokens that are the same in every language: units, symbols, protocol words.
  const ALLOWED = /^(LingMo|→|%|·|—|✓|✗|TTFB|ms|HTTP|[0-9:.,;()/%+-]*)$/;
  const problems = [];
  for (const file of vueFiles()) {
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(SRC, file);
    const code = text.replace(/\/\/.*$/gm, '').replace(/<!--[\s\S]*?-->/g, '');
    if (/[\u4e00-\u9fff]/.test(code)) problems.push(`${rel}: Chinese characters outside the message files`);
    const m = /<template>([\s\S]*)<\/template>\s*<script/.exec(text);
    if (!m) continue;
    // Tags (quoted attribute values may hold ">"), then the text between them.
    const nodes = m[1].replace(/\{\{[\s\S]*?\}\}/g, ' ').split(/<(?:[^>"']|"[^"]*"|'[^']*')*>/);
    for (const n of nodes) {
      const bad = n.trim().split(/\s+/).filter((tok) => tok && /[A-Za-z]/.test(tok) && !ALLOWED.test(tok));
      if (bad.length) problems.push(`${rel}: literal text "${n.trim().slice(0, 60)}"`);
    }
  }
  assert.deepEqual(problems, []);
});

test('agent set-ups: every tool renders, with the gateway URL, the key and the model; OpenAI-style bases end in /v1, Anthropic-style ones do not', () => {
  const ctx = { root: 'https://gw.example.com', key: 'lm-0123456789abcdef0123456789abcdef0123456789abcdef', model: 'deepseek-chat', small: 'glm-4.7-flash' };
  for (const tool of TOOLS) {
    const s = buildSnippets(tool, ctx);
    assert.ok(s.length >= 1, tool);
    const all = s.map((x) => x.code).join('\n');
    assert.ok(all.includes('https://gw.example.com'), `${tool}: no gateway URL`);
    assert.ok(all.includes('deepseek-chat'), `${tool}: no model`);
    assert.ok(all.includes(ctx.key), `${tool}: no key`);
  }
  const claude = buildSnippets('claude-code', ctx).map((x) => x.code).join('\n');
  assert.match(claude, /ANTHROPIC_BASE_URL=https:\/\/gw\.example\.com\n/);
  assert.match(claude, /ANTHROPIC_DEFAULT_HAIKU_MODEL=glm-4\.7-flash/);
  assert.deepEqual(JSON.parse(buildSnippets('claude-code', ctx)[1].code).env.ANTHROPIC_AUTH_TOKEN, ctx.key);
  assert.match(buildSnippets('codex', ctx)[0].code, /base_url = "https:\/\/gw\.example\.com\/v1"\nenv_key = "LINGMO_KEY"\nwire_api = "responses"/);
  assert.match(buildSnippets('cline', ctx)[0].code, /Base URL: +https:\/\/gw\.example\.com\/v1\n/);
  const qwen = JSON.parse(buildSnippets('qwen-code', ctx)[1].code);
  assert.equal(qwen.modelProviders.openai[0].baseUrl, 'https://gw.example.com/v1');
  assert.equal(qwen.modelProviders.anthropic[0].baseUrl, 'https://gw.example.com');
  // Without a key: a placeholder, never an empty value.
  for (const tool of TOOLS) {
    const all = buildSnippets(tool, { ...ctx, key: '' }).map((x) => x.code).join('\n');
    assert.ok(!/Bearer \n|AUTH_TOKEN=\n|apiKey: \n/.test(all), `${tool}: an empty key`);
  }
});

test('gateway URL: stored as the root (no /v1, no trailing slash) and checked as the daemon checks gateway_url', () => {
  assert.equal(normalizeGatewayUrl('  https://gw.example.com/v1/ '), 'https://gw.example.com');
  assert.equal(normalizeGatewayUrl('http://10.0.0.5:8080//'), 'http://10.0.0.5:8080');
  assert.equal(normalizeGatewayUrl('https://example.com/llm/v1'), 'https://example.com/llm');
  assert.equal(normalizeGatewayUrl(null), '');
  assert.ok(validGatewayUrl('https://gw.example.com'));
  assert.ok(validGatewayUrl('http://[::1]:8080'));
  for (const bad of ['gw.example.com', 'ftp://gw.example.com', 'https://gw example.com', 'https://gw.example.com/"x"', `https://${'a'.repeat(510)}`]) {
    assert.ok(!validGatewayUrl(bad), bad);
  }
});
