// The gateway's public base URL (where nginx with the module answers /v1/...), for the agent
// set-ups. The daemon does not know it, so the console asks once and remembers it in this
// browser (localStorage; not a secret). Default: this page's host on port 8080 (the quickstart).
const KEY = 'lingmo.gatewayUrl';

export function defaultGatewayUrl() {
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  return `${location.protocol}//${host}:8080`;
}

export function getGatewayUrl() {
  try { return localStorage.getItem(KEY) || defaultGatewayUrl(); } catch { return defaultGatewayUrl(); }
}

// Stores the root URL (no trailing slash, no /v1: the set-ups add it where a tool wants it).
export function setGatewayUrl(url) {
  const clean = normalizeGatewayUrl(url);
  try { localStorage.setItem(KEY, clean); } catch { /* storage blocked */ }
  return clean;
}

export function normalizeGatewayUrl(url) {
  return String(url || '').trim().replace(/\/+$/, '').replace(/\/v1$/, '');
}
