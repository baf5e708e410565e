// Browser-test helpers: Debian's chromium driven by playwright-core (no downloaded browsers),
// a full stack (redis-server, fake vendors, nginx with the module; tests/integration/harness.mjs)
// with lingmo-controld serving the built console (tests/controlplane/daemon.mjs), screenshots
// into tests/artifacts/browser/, and small helpers for Element Plus widgets.
//
// Env: CHROMIUM (default /usr/bin/chromium), LINGMO_WEB_DIST (default controlplane/web/dist),
// LINGMO_BUILD_DIR (the C++ build), LINGMO_BROWSER_HEADFUL=1 to watch it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';
import { REPO, sleep, waitFor } from '../integration/harness.mjs';

export { sleep, waitFor };
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const WEB_DIST = path.resolve(process.env.LINGMO_WEB_DIST || path.join(REPO, 'controlplane', 'web', 'dist'));
export const ARTIFACTS = path.join(REPO, 'tests', 'artifacts', 'browser');
export const DESKTOP = { width: 1366, height: 860 };
export const PHONE = { width: 390, height: 844 };

export function requireBuiltUi() {
  if (!fs.existsSync(path.join(WEB_DIST, 'index.html'))) {
    throw new Error(`${WEB_DIST}/index.html not found: build the console (cd controlplane/web && npm ci && npm run build)`);
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM)`);
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: process.env.LINGMO_BROWSER_HEADFUL !== '1',
    args: ['--no-sandbox', '--headless=new', '--disable-background-networking', '--disable-dev-shm-usage',
      '--disable-gpu', '--no-first-run', '--disable-extensions', '--disable-component-update', '--disable-sync'],
  });
}

// A browser context whose page errors are collected (a test can assert there were none).
export async function newContext(browser, { viewport = DESKTOP, phone = false, locale = 'zh-CN' } = {}) {
  const ctx = await browser.newContext({
    viewport, locale, deviceScaleFactor: 1, isMobile: phone, hasTouch: phone, timezoneId: 'UTC',
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  ctx.setDefaultTimeout(20000);   // generous: CI shares two cores between chromium, nginx, the daemon and Redis
  // Uncaught exceptions and console errors (Vue reports render errors there), but not the
  // browser's own "Failed to load resource" lines for the 4xx/5xx answers the tests provoke.
  ctx.pageErrors = [];
  ctx.on('page', (p) => {
    p.on('pageerror', (e) => ctx.pageErrors.push(e.message));
    p.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) ctx.pageErrors.push(m.text());
    });
  });
  return ctx;
}

export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await sleep(150);  // let transitions settle
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// A fake OpenAI-compatible vendor of our own (not seeded as a provider): the one the UI adds.
export async function startFakeVendor(dir, { name, key }) {
  const portFile = path.join(dir, `${name}.port`);
  const child = spawn(process.execPath, [path.join(REPO, 'tests', 'fakes', 'fake_vendor.mjs'), '--port', '0', '--name', name,
    '--key', key, '--port-file', portFile], { stdio: 'ignore' });
  process.on('exit', () => { try { child.kill('SIGKILL'); } catch { /* gone */ } });
  const port = await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`fake vendor ${name} exited`);
    return fs.existsSync(portFile) && Number(fs.readFileSync(portFile, 'utf8').trim());
  }, { timeout: 10000, what: `fake vendor ${name}` });
  return { name, key, port, baseUrl: `http://127.0.0.1:${port}/v1`, child, stop: () => child.kill('SIGTERM') };
}

// ---- Element Plus helpers ----------------------------------------------------------------------

export const byTest = (id) => `[data-test="${id}"]`;

// Opens an <el-select> (found by a locator inside it or on it) and clicks the option with `label`.
export async function pickOption(page, select, label) {
  await select.click();
  const item = page.locator('.el-select-dropdown__item:visible', { hasText: label }).first();
  await item.click();
  await page.keyboard.press('Escape').catch(() => {});
}

// Confirms the open ElMessageBox.
export async function confirmBox(page) {
  const box = page.locator('.el-message-box');
  await box.waitFor();
  await box.locator('.el-message-box__btns .el-button--primary').click();
  await box.waitFor({ state: 'hidden' });
}

// Drags a handle (a locator) onto the upper part of a target element with real mouse moves
// (SortableJS runs in fallback mode: pointer events, as on a phone).
export async function dragAbove(page, handle, target) {
  const h = await handle.boundingBox();
  const t = await target.boundingBox();
  assert.ok(h && t, 'drag: elements are visible');
  const sx = h.x + h.width / 2;
  const sy = h.y + h.height / 2;
  const tx = t.x + t.width / 2;
  const ty = t.y + t.height * 0.25;
  await page.mouse.move(sx, sy);
  await page.mouse.down();
  await page.mouse.move(sx, sy + 6, { steps: 3 });
  await page.mouse.move(tx, ty, { steps: 15 });
  await sleep(100);
  await page.mouse.move(tx, ty - 2, { steps: 2 });
  await page.mouse.up();
}

// The texts of a list's items, in DOM order.
export async function attrList(locator, attr) {
  return locator.evaluateAll((els, a) => els.map((e) => e.getAttribute(a)), attr);
}
