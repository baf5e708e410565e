// Number, time and duration formatting in the console's language.
import { i18n } from '../i18n/index.js';

const t = (...a) => i18n.global.t(...a);
const loc = () => i18n.global.locale.value;

export function fmtNum(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  return Number(n).toLocaleString(loc(), { maximumFractionDigits: digits });
}

// 1234 -> 1.2k, 2500000 -> 2.5M (for chart axes and tight cards).
export function fmtCompact(n) {
  if (n === null || n === undefined) return '—';
  try {
    return new Intl.NumberFormat(loc(), { notation: 'compact', maximumFractionDigits: 1 }).format(n);
  } catch {
    return fmtNum(n);
  }
}

export function fmtPct(p, digits = 1) {
  if (p === null || p === undefined || Number.isNaN(Number(p))) return '—';
  return `${Number(p).toFixed(digits)}%`;
}

export function fmtTime(ms, { seconds = true, date = true } = {}) {
  if (!ms) return '—';
  const d = new Date(ms);
  const opts = { hour: '2-digit', minute: '2-digit', hour12: false };
  if (seconds) opts.second = '2-digit';
  if (date) Object.assign(opts, { year: 'numeric', month: '2-digit', day: '2-digit' });
  return d.toLocaleString(loc(), opts);
}

// A duration in ms as "3 h 20 min", "45 s", "2 d 4 h".
export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '—';
  let s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const parts = [];
  if (d) parts.push(t('units.days', { n: d }));
  if (h) parts.push(t('units.hours', { n: h }));
  if (m && !d) parts.push(t('units.minutes', { n: m }));
  if (!d && !h && (s || !parts.length)) parts.push(t('units.seconds', { n: s }));
  return parts.slice(0, 2).join(' ');
}

// "in 3 h" / "5 min ago".
export function fmtRelative(ms, now = Date.now()) {
  if (!ms) return '—';
  const diff = ms - now;
  return diff >= 0 ? t('units.in', { d: fmtDuration(diff) }) : t('units.ago', { d: fmtDuration(-diff) });
}

// Money from micro-units.
export function fmtCost(micros) {
  if (!micros) return '0';
  return (micros / 1e6).toLocaleString(loc(), { maximumFractionDigits: 4 });
}

// Copies text to the clipboard; falls back to a hidden textarea (plain HTTP pages have no
// navigator.clipboard).
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch { /* fall back */ }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  document.body.removeChild(ta);
  return ok;
}

// What an ApiError says, in the user's language: a translated headline for the error code and
// the daemon's own detail (which is in English).
export function errText(e) {
  if (!e) return '';
  if (e.status === 0) return t('errors.network');
  const key = `errors.code.${e.code}`;
  const head = e.code && i18n.global.te(key) ? t(key) : t('errors.http', { status: e.status });
  return e.message && e.message !== e.code ? `${head}: ${e.message}` : head;
}

// A quota rule in words ({metric, window, limit, model, describe?}): "100 requests per day
// (America/Los_Angeles) [model]". The daemon's own `describe` is English; this follows the language.
export function ruleText(r) {
  const n = fmtNum(r.limit, 2);
  const m = t(`metric.${r.metric}`);
  let s = r.window === 'oneoff' ? t('quota.ruleOneoff', { n, m }) : t('quota.rule', { n, m, w: t(`window.${r.window}`) });
  const tz = r.tz || /\(([A-Za-z_]+\/[A-Za-z_/+-]+)\)/.exec(r.describe || '')?.[1];
  if (tz && tz !== 'UTC') s += ` (${tz})`;
  if (r.model) s += ` [${r.model}]`;
  return s;
}
