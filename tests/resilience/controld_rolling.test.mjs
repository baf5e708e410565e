// A rolling restart of the control plane (docs/DEPLOY.md, "Control plane: rolling restart"): two
// lingmo-controld replicas on one Redis behind nginx, configured as deploy/nginx/tls.conf
// configures them (its upstream and console location, read from the file).
// While admin clients call the API through nginx without pause — reads, and writes that add a
// provider each — each replica in turn gets SIGTERM (and must exit 0) and is started again on its
// port. Meanwhile a connectivity test (POST /api/model/test against a vendor that answers after
// 1.5 s) is in flight on the replica being stopped. Asserted:
//   * not one call failed: every read 200, every write 201 (a 502 would be a lost write);
//   * the session made before the restarts still works on every answer (sessions are in Redis);
//   * every provider whose add was answered 201 is in the list afterwards, exactly once;
//   * the slow connectivity test in flight on the stopped replica finished with its answer;
//   * the data plane served the providers added during the restarts (they were published).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, chatBody, sleep, waitFor } from '../integration/harness.mjs';
import { adminSession, startDaemon } from '../controlplane/daemon.mjs';
import { pick } from './lib.mjs';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

const CLIENTS = pick(4, 8);
let stack;
const replicas = [];   // the running Daemon of each slot
let ports = [];

before(async () => {
  stack = await startStack({
    vendors: 2,
    beforeNginx: async (s) => {
      for (let i = 0; i < 2; i++) replicas.push(await startDaemon(s, { env: { OUTBOUND_ALLOW: '127.0.0.1' } }));
      ports = replicas.map((d) => d.port);
      // deploy/nginx/tls.conf's upstream and console location as shipped, with the second
      // replica added as DEPLOY.md says (the same server parameters on each line).
      const tls = fs.readFileSync(path.join(REPO, 'deploy/nginx/tls.conf'), 'utf8');
      const upstream = /^upstream lingmo_controld \{[^}]*\}/m.exec(tls)[0];
      const server = /^\s*server 127\.0\.0\.1:8000(.*);$/m.exec(upstream);
      s.conf.http = upstream.replace(server[0], ports.map((p) => `    server 127.0.0.1:${p}${server[1]};`).join('\n'));
      s.conf.locations = /^ {4}location \/ \{[^}]*\}/m.exec(tls)[0];
    },
  });
});

after(async () => {
  for (const d of replicas) await d?.kill();
  await stack?.stop();
});

// One admin API call through nginx (keep-alive, as a browser makes it).
async function api(token, method, p, body) {
  const res = await fetch(`http://127.0.0.1:${stack.gatewayPort}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, text };
}

test('rolling restart of two controld replicas behind nginx: no call fails, no write is lost, the session holds', async () => {
  const admin = await adminSession(replicas[0]);
  const slow = stack.vendor(2);
  await slow.mode({ mode: 'slow_first_byte', delay_ms: 1500 });

  let running = true;
  const failures = [];
  const added = [];
  let calls = 0;
  const client = async (c) => {
    for (let n = 0; running; n++) {
      let r;
      if (n % 3 === 2) {
        const id = `roll-${c}-${n}`;
        r = await api(admin.token, 'POST', '/api/model/add', {
          id, base_url: stack.vendor(1).baseUrl, api_key: 'sk-v1', models: [`${id}-model=fake-roll`], priority: 900,
        }).catch((e) => ({ status: 0, text: String(e) }));
        if (r.status === 201) added.push(id);
        else failures.push(`POST ${id}: ${r.status} ${r.text.slice(0, 200)}`);
      } else {
        r = await api(admin.token, 'GET', n % 2 ? '/api/model/list' : '/api/quota/stat')
          .catch((e) => ({ status: 0, text: String(e) }));
        if (r.status !== 200) failures.push(`GET: ${r.status} ${r.text.slice(0, 200)}`);
      }
      calls++;
      await sleep(5);
    }
  };
  const load = Array.from({ length: CLIENTS }, (_, c) => client(c));

  const inFlight = [];
  for (let i = 0; i < replicas.length; i++) {
    await sleep(400);
    // A slow call made straight to the replica about to stop: it must be answered, not cut.
    const old = replicas[i];
    inFlight.push(old.post(admin, '/api/model/test', { id: 'v2' }));
    await sleep(300);
    const ms = await old.stop({ timeout: 10000 });   // asserts exit code 0
    assert.ok(ms >= 700, `replica ${i} exited ${ms.toFixed(0)} ms after SIGTERM, before its request in flight was answered`);
    replicas[i] = await startDaemon(stack, { port: ports[i], env: { OUTBOUND_ALLOW: '127.0.0.1' } });
    await waitFor(async () => (await replicas[i].healthz()).status === 200, { what: `replica ${i} healthy again` });
  }
  await sleep(500);
  running = false;
  await Promise.all(load);

  if (failures.length) {
    const log = fs.readFileSync(path.join(stack.dir, 'error.log'), 'utf8').split('\n').filter((l) => /upstream|lingmo_controld/.test(l));
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${calls} calls failed during the rolling restart; nginx says:\n${log.slice(0, 10).join('\n')}`);
  }
  assert.ok(calls >= 50, `only ${calls} calls made`);
  assert.ok(added.length >= 10, `only ${added.length} providers added`);
  for (const r of await Promise.all(inFlight)) {
    assert.equal(r.status, 200, `connectivity test in flight on a stopped replica: ${r.status} ${r.text}`);
    assert.equal(JSON.parse(r.text).ok, true, r.text);
  }

  // Nothing lost, nothing doubled: every acknowledged add is listed once.
  const list = await api(admin.token, 'GET', '/api/model/list');
  assert.equal(list.status, 200, list.text);
  const ids = JSON.parse(list.text).providers.map((p) => p.id);
  for (const id of added) assert.equal(ids.filter((x) => x === id).length, 1, `${id} listed ${ids.filter((x) => x === id).length} times`);

  // Published to the data plane: the last provider added serves its model.
  const last = added[added.length - 1];
  await waitFor(async () => (await stack.chat(chatBody({ model: `${last}-model` }))).status === 200,
    { timeout: 3000, what: `a chat for ${last}-model` });
});
