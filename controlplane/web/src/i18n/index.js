// vue-i18n set-up: zh-CN (default) and en. The choice is remembered in localStorage (a UI
// preference, not a secret). Element Plus's own texts follow through <el-config-provider>.
import { createI18n } from 'vue-i18n';
import zhCN from './zh-CN.js';
import en from './en.js';

export const LOCALES = [
  { code: 'zh-CN', label: '简体中文' },
  { code: 'en', label: 'English' },
];
const STORE_KEY = 'lingmo.locale';

function initial() {
  try {
    const saved = localStorage.getItem(STORE_KEY);
    if (LOCALES.some((l) => l.code === saved)) return saved;
  } catch { /* storage blocked */ }
  return 'zh-CN';
}

export const i18n = createI18n({
  legacy: false,
  globalInjection: true,
  locale: initial(),
  fallbackLocale: 'en',
  messages: { 'zh-CN': zhCN, en },
  warnHtmlMessage: false,
  missingWarn: false,
  fallbackWarn: false,
});

export function setLocale(code) {
  i18n.global.locale.value = code;
  document.documentElement.lang = code;
  try { localStorage.setItem(STORE_KEY, code); } catch { /* storage blocked */ }
}

document.documentElement.lang = i18n.global.locale.value;
