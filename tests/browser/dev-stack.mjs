#!/usr/bin/env node
// A throw-away stack for working on the console (docs/UI.md): redis-server, two seeded fake
// vendors (providers v1, v2 serving gpt-test), a third fake vendor that is not a provider yet,
// nginx with the module, and lingmo-controld serving controlplane/web/dist, with the admin
// password set to `dev-password-1` (or LINGMO_DEV_PASSWORD) and the gateway URL setting pointing
// at that nginx. Prints the URLs and runs until Ctrl-C.
//
//   LINGMO_BUILD_DIR=build node tests/browser/dev-stack.mjs
//   cd controlplane/web && LINGMO_API=<the daemon URL it prints> npm run dev    # hot reload on :5173
import { startStack, chatBody } from '../integration/harness.mjs';
import { adminSession, startDaemon } from '../controlplane/daemon.mjs';
import { WEB_DIST, startFakeVendor } from './lib.mjs';

const password = process.env.LINGMO_DEV_PASSWORD || 'dev-password-1';
const stack = await startStack({ vendors: 2 });
const vendor = await startFakeVendor(stack.dir, { name: 'vdev', key: 'sk-dev-vendor-key' });
const d = await startDaemon(stack, { env: { OUTBOUND_ALLOW: '127.0.0.0/8', WEB_ROOT: WEB_DIST, BALANCE_SYNC_INTERVAL: '0' } });
const admin = await adminSession(d, { newPassword: password });
// The address the agent page puts into the set-ups (the shared setting gateway_url).
await d.put(admin, '/api/settings', { gateway_url: `http://127.0.0.1:${stack.gatewayPort}` });
for (let i = 0; i < 5; i++) await stack.chat(chatBody());  // some traffic for the dashboard and the logs
console.log(`console:       ${d.base}/   (admin / ${password})
gateway:       http://127.0.0.1:${stack.gatewayPort}/v1   (key ${stack.key})
spare vendor:  ${vendor.baseUrl}   (key ${vendor.key}; add it from a template, with this base URL)
redis:         127.0.0.1:${stack.redisPort}
vite dev:      cd controlplane/web && LINGMO_API=${d.base} npm run dev
Ctrl-C stops everything.`);
const stop = async () => {
  await d.kill();
  vendor.stop();
  await stack.stop().catch(() => {});
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
