// Checks the console's translations: zh-CN and en have exactly the same keys, no message is empty,
// placeholders ({name}) match between the two, every key the sources use literally exists, and
// the prefix of every key built at run time (t(`metric.${m}`)) is a group in both locales.
// Used by `npm run check-i18n` and by tests/browser/i18n.test.mjs. No dependencies.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SRC = path.resolve(HERE, '..', 'src');

export function flatten(obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object') flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (/\.(vue|js|mjs)$/.test(e.name) && !p.includes(`${path.sep}i18n${path.sep}`)) out.push(p);
  }
  return out;
}

// Keys the sources name: t('a.b'), te('a.b'), $t('a.b'), and i18n keys kept in data
// (title: 'nav.x', note: 'agents.n.y', meta titles). Dynamic ones: t(`prefix.${...}`).
export function usedKeys() {
  const literal = new Set();
  const prefixes = new Set();
  for (const file of walk(SRC)) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\$?\bte?\(\s*'([a-zA-Z0-9_.-]+)'/g)) literal.add(m[1]);
    for (const m of text.matchAll(/\b(?:title|note): '([a-z]+\.[a-zA-Z0-9_.-]+)'/g)) literal.add(m[1]);
    for (const m of text.matchAll(/\$?\bte?\(\s*`([a-zA-Z0-9_.-]+)\.\$\{/g)) prefixes.add(m[1]);
  }
  return { literal: [...literal].sort(), prefixes: [...prefixes].sort() };
}

export async function loadLocales() {
  const zh = (await import(pathToFileURL(path.join(SRC, 'i18n', 'zh-CN.js')).href)).default;
  const en = (await import(pathToFileURL(path.join(SRC, 'i18n', 'en.js')).href)).default;
  return { zh, en };
}

const placeholders = (s) => [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');

export async function checkI18n() {
  const { zh, en } = await loadLocales();
  const fz = flatten(zh);
  const fe = flatten(en);
  const problems = [];
  for (const k of Object.keys(fz)) if (!(k in fe)) problems.push(`en is missing ${k}`);
  for (const k of Object.keys(fe)) if (!(k in fz)) problems.push(`zh-CN is missing ${k}`);
  for (const [k, v] of Object.entries(fz)) {
    if (typeof v !== 'string' || !v.trim()) problems.push(`zh-CN ${k} is empty`);
    if (k in fe && placeholders(v) !== placeholders(fe[k])) problems.push(`placeholders differ in ${k}: zh-CN {${placeholders(v)}} en {${placeholders(fe[k])}}`);
    // Characters vue-i18n's message syntax would take (| plural, @: linked, {} outside placeholders).
    for (const [loc, msg] of [['zh-CN', v], ['en', fe[k]]]) {
      if (typeof msg !== 'string') continue;
      if (/\||@[:.]|\{(?!\w+\})|(?<!\{\w{0,40})\}/.test(msg)) problems.push(`${loc} ${k} has message-syntax characters: ${msg}`);
    }
  }
  for (const [k, v] of Object.entries(fe)) if (typeof v !== 'string' || !v.trim()) problems.push(`en ${k} is empty`);
  const { literal, prefixes } = usedKeys();
  for (const k of literal) {
    if (!(k in fz)) problems.push(`the sources use ${k}, which zh-CN lacks`);
    if (!(k in fe)) problems.push(`the sources use ${k}, which en lacks`);
  }
  const isGroup = (o, p) => p.split('.').reduce((x, part) => (x && typeof x === 'object' ? x[part] : undefined), o);
  for (const p of prefixes) {
    if (typeof isGroup(zh, p) !== 'object') problems.push(`the sources build keys under ${p}., which is not a group in zh-CN`);
    if (typeof isGroup(en, p) !== 'object') problems.push(`the sources build keys under ${p}., which is not a group in en`);
  }
  return { problems, keys: Object.keys(fz).length, literal: literal.length, prefixes };
}

if (import.meta.url === pathToFileURL(process.argv[1] || '').href) {
  const r = await checkI18n();
  if (r.problems.length) {
    console.error(r.problems.join('\n'));
    process.exit(1);
  }
  console.log(`i18n: ${r.keys} keys in zh-CN and en; ${r.literal} used literally, ${r.prefixes.length} dynamic groups: ok`);
}
