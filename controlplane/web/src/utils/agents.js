// Copy-ready set-ups for coding agents and SDKs (docs/AGENT_GUIDE.md), filled with this gateway's
// URL, a gateway key and model names. Pure functions: the agent page and the tests use them.
//
// ctx: { root: 'http://host:8080' (no /v1), key: 'lm-…' or '', model: 'deepseek-chat', small: 'claude-haiku-4-5',
//        embed: '' }
// Each tool returns [{ id, title (i18n key), lang, code, note? (i18n key) }].

export const TOOLS = ['claude-code', 'cursor', 'codex', 'openclaw', 'cline', 'continue', 'qwen-code', 'sdk', 'curl'];

export const KEY_PLACEHOLDER = 'lm-...your-gateway-key...';

function q(s) { return JSON.stringify(s); }

export function buildSnippets(tool, ctx) {
  const root = ctx.root.replace(/\/+$/, '');
  const v1 = `${root}/v1`;
  const key = ctx.key || KEY_PLACEHOLDER;
  const model = ctx.model || 'auto';
  const small = ctx.small || model;
  switch (tool) {
    case 'claude-code':
      return [
        { id: 'shell', title: 'agents.s.shellSession', lang: 'sh', code: [
          `export ANTHROPIC_BASE_URL=${root}`,
          `export ANTHROPIC_AUTH_TOKEN=${key}`,
          `export ANTHROPIC_MODEL=${model}`,
          `export ANTHROPIC_DEFAULT_OPUS_MODEL=${model}`,
          `export ANTHROPIC_DEFAULT_SONNET_MODEL=${model}`,
          `export ANTHROPIC_DEFAULT_HAIKU_MODEL=${small}`,
          'export CLAUDE_CODE_MAX_OUTPUT_TOKENS=8192',
          'export CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1',
          'unset ANTHROPIC_API_KEY',
          'claude',
        ].join('\n') },
        { id: 'settings', title: 'agents.s.claudeSettings', lang: '~/.claude/settings.json', note: 'agents.n.claudeSettings', code: JSON.stringify({
          env: {
            ANTHROPIC_BASE_URL: root,
            ANTHROPIC_AUTH_TOKEN: key,
            ANTHROPIC_MODEL: model,
            ANTHROPIC_DEFAULT_OPUS_MODEL: model,
            ANTHROPIC_DEFAULT_SONNET_MODEL: model,
            ANTHROPIC_DEFAULT_HAIKU_MODEL: small,
            CLAUDE_CODE_MAX_OUTPUT_TOKENS: '8192',
            CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY: '1',
          },
        }, null, 2) },
      ];
    case 'cursor':
      return [
        { id: 'fields', title: 'agents.s.cursorFields', lang: 'Cursor Settings → Models', note: 'agents.n.cursor', code: [
          `OpenAI API Key:            ${key}`,
          `Override OpenAI Base URL:  ${v1}`,
          `+ Add model:               ${model}`,
        ].join('\n') },
      ];
    case 'codex':
      return [
        { id: 'toml', title: 'agents.s.codexConfig', lang: '~/.codex/config.toml', code: [
          `model = ${q(model)}`,
          'model_provider = "lingmo"',
          '',
          '[model_providers.lingmo]',
          'name = "LingMo Gateway"',
          `base_url = ${q(v1)}`,
          'env_key = "LINGMO_KEY"',
          'wire_api = "responses"',
        ].join('\n') },
        { id: 'shell', title: 'agents.s.shell', lang: 'sh', code: `export LINGMO_KEY=${key}\ncodex` },
      ];
    case 'openclaw':
      return [
        { id: 'json5', title: 'agents.s.openclawConfig', lang: '~/.openclaw/openclaw.json', code: [
          '{',
          '  models: {',
          '    mode: "merge",',
          '    providers: {',
          '      lingmo: {',
          `        baseUrl: ${q(v1)},`,
          '        apiKey: "${LINGMO_KEY}",',
          '        api: "openai-completions",',
          '        models: [',
          '          {',
          `            id: ${q(model)},`,
          `            name: ${q(`${model} via LingMo`)},`,
          '            reasoning: false,',
          '            input: ["text"],',
          '            cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },',
          '            contextWindow: 128000,',
          '            maxTokens: 8192,',
          '          },',
          '        ],',
          '      },',
          '    },',
          '  },',
          `  agents: { defaults: { model: { primary: ${q(`lingmo/${model}`)} } } },`,
          '}',
        ].join('\n') },
        { id: 'shell', title: 'agents.s.shell', lang: 'sh', code: `export LINGMO_KEY=${key}` },
      ];
    case 'cline':
      return [
        { id: 'fields', title: 'agents.s.clineFields', lang: 'Cline ⚙', code: [
          'API Provider:  OpenAI Compatible',
          `Base URL:      ${v1}`,
          `API Key:       ${key}`,
          `Model ID:      ${model}`,
        ].join('\n') },
      ];
    case 'continue': {
      const lines = [
        'name: LingMo',
        'version: 0.0.1',
        'schema: v1',
        'models:',
        `  - name: ${model} via LingMo`,
        '    provider: openai',
        `    model: ${model}`,
        `    apiBase: ${v1}`,
        `    apiKey: ${key}`,
        '    roles: [chat, edit, apply]',
        '    capabilities: [tool_use]',
      ];
      if (ctx.embed) {
        lines.push(
          '  - name: Embeddings via LingMo',
          '    provider: openai',
          `    model: ${ctx.embed}`,
          `    apiBase: ${v1}`,
          `    apiKey: ${key}`,
          '    roles: [embed]',
        );
      }
      return [{ id: 'yaml', title: 'agents.s.continueConfig', lang: '~/.continue/config.yaml', code: lines.join('\n') }];
    }
    case 'qwen-code':
      return [
        { id: 'shell', title: 'agents.s.qwenShell', lang: 'sh', code: [
          `export OPENAI_BASE_URL=${v1}`,
          `export OPENAI_API_KEY=${key}`,
          `export OPENAI_MODEL=${model}`,
          'qwen --auth-type openai',
        ].join('\n') },
        { id: 'settings', title: 'agents.s.qwenSettings', lang: '~/.qwen/settings.json', note: 'agents.n.qwen', code: JSON.stringify({
          security: { auth: { selectedType: 'openai' } },
          modelProviders: {
            openai: [{ id: model, name: `${model} via LingMo`, envKey: 'LINGMO_KEY', baseUrl: v1 }],
            anthropic: [{ id: model, name: `${model} via LingMo (Anthropic)`, envKey: 'LINGMO_KEY', baseUrl: root }],
          },
        }, null, 2) },
      ];
    case 'sdk':
      return [
        { id: 'py-openai', title: 'agents.s.pyOpenai', lang: 'python', code: [
          'from openai import OpenAI',
          '',
          `client = OpenAI(base_url=${q(v1)}, api_key=${q(key)})`,
          `r = client.chat.completions.create(model=${q(model)},`,
          '                                   messages=[{"role": "user", "content": "Hello"}])',
          'print(r.choices[0].message.content)',
        ].join('\n') },
        { id: 'js-openai', title: 'agents.s.jsOpenai', lang: 'javascript', code: [
          "import OpenAI from 'openai';",
          `const client = new OpenAI({ baseURL: ${q(v1)}, apiKey: ${q(key)} });`,
          `const r = await client.chat.completions.create({ model: ${q(model)}, messages: [{ role: 'user', content: 'Hello' }] });`,
          'console.log(r.choices[0].message.content);',
        ].join('\n') },
        { id: 'ts-anthropic', title: 'agents.s.tsAnthropic', lang: 'typescript', note: 'agents.n.anthropicBase', code: [
          "import Anthropic from '@anthropic-ai/sdk';",
          `const client = new Anthropic({ baseURL: ${q(root)}, apiKey: ${q(key)} });`,
          `const msg = await client.messages.create({ model: ${q(model)}, max_tokens: 1024,`,
          "  messages: [{ role: 'user', content: 'Hello' }] });",
          'console.log(msg.content);',
        ].join('\n') },
        { id: 'py-anthropic', title: 'agents.s.pyAnthropic', lang: 'python', code: [
          'from anthropic import Anthropic',
          '',
          `client = Anthropic(base_url=${q(root)}, api_key=${q(key)})`,
          `msg = client.messages.create(model=${q(model)}, max_tokens=1024,`,
          '                             messages=[{"role": "user", "content": "Hello"}])',
          'print(msg.content)',
        ].join('\n') },
      ];
    case 'curl':
      return [
        { id: 'models', title: 'agents.s.curlModels', lang: 'sh', code: `curl -s ${v1}/models -H "Authorization: Bearer ${key}"` },
        { id: 'chat', title: 'agents.s.curlChat', lang: 'sh', code: [
          `curl -s -D - ${v1}/chat/completions \\`,
          `  -H "Authorization: Bearer ${key}" -H "content-type: application/json" \\`,
          `  -d '${JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hi' }] })}'`,
        ].join('\n') },
        { id: 'messages', title: 'agents.s.curlMessages', lang: 'sh', code: [
          `curl -s -D - "${v1}/messages?beta=true" \\`,
          `  -H "Authorization: Bearer ${key}" -H "anthropic-version: 2023-06-01" -H "content-type: application/json" \\`,
          `  -d '${JSON.stringify({ model, max_tokens: 256, messages: [{ role: 'user', content: 'Say hi' }] })}'`,
        ].join('\n') },
      ];
    default:
      return [];
  }
}
