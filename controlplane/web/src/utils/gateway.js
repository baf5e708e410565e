// The gateway's public base URL (where nginx with the module answers /v1/...), for the agent
// set-ups. It is the shared setting `gateway_url` (GET/PUT /api/settings; admins set it on the
// settings page). Until it is set, the console guesses: this page's host on port 8080 (the
// quickstart).

// Earlier consoles kept the URL in this browser; the settings page offers it once for saving.
export const LEGACY_KEY = 'lingmo.gatewayUrl';

export function defaultGatewayUrl() {
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  return `${location.protocol}//${host}:8080`;
}

// The root URL as stored and used: no spaces, no trailing slash, no /v1 (the set-ups add it
// where a tool wants it).
export function normalizeGatewayUrl(url) {
  return String(url || '').trim().replace(/\/+$/, '').replace(/\/v1$/, '');
}

// What the daemon accepts: http:// or https://, at most 512 characters, no blanks, quotes or <>.
export function validGatewayUrl(url) {
  return /^https?:\/\/[^\s"<>]+$/.test(url) && url.length <= 512;
}

export function legacyGatewayUrl() {
  try { return normalizeGatewayUrl(localStorage.getItem(LEGACY_KEY)); } catch { return ''; }
}

export function forgetLegacyGatewayUrl() {
  try { localStorage.removeItem(LEGACY_KEY); } catch { /* storage blocked */ }
}
