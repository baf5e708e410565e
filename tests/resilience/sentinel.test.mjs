// Redis Sentinel (docs/SCALING.md): nginx configured with `lingmo_redis sentinel=... master=...`
// and lingmo-controld with REDIS_SENTINELS follow a failover without a restart. Each test runs a
// master (the stack's redis-server), a replica and one sentinel (quorum 1, down-after 1 s) on
// loopback.
//
// What must hold, under 20 concurrent clients for 10 s:
//  - no client request fails while the master changes (requests never wait for Redis; the
//    workers serve from their snapshot meanwhile);
//  - both workers log that they moved to the new master, and configuration written on the new
//    master afterwards (lingmo-admin finding it through the sentinels) is served within seconds;
//  - the usage counters on the new master equal what the clients were answered, exactly: batches
//    the old master acknowledged but the new one lacks are sent again (same ids: idempotent), and
//    none is counted twice.
// Two ways to fail over: SENTINEL FAILOVER with the old master alive (it keeps accepting writes
// until Sentinel demotes it some seconds later), and the master SIGKILLed.
// The daemon test: a login made before a manual failover still works after it, API calls keep
// answering throughout, and a write made after it lands on the new master.
// With fake sentinels whose answers the test decides: a replica named as the master is refused
// (ROLE), a master demoted under a connected worker is left at its first READONLY answer, a
// sentinel that accepts connections but never answers is passed over after a second.
// And the configuration errors of the Sentinel form (nginx -t, lingmo-controld).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, nginxTest, waitFor, sleep, freePort } from '../integration/harness.mjs';
import { startDaemon, adminSession, runDaemon } from '../controlplane/daemon.mjs';
import {
  MASTER_NAME, adminViaSentinels, cli, drive, startFakeSentinel, startReplica, startSentinel, usageTotals, waitMasterIs,
  waitReplicated, waitSentinelSeesReplica,
} from './redis_sentinel.mjs';

const LOAD_MS = 10000;
const FAILOVER_AT_MS = 3000;

// A stack whose nginx finds Redis through a sentinel. `deadFirst`: the list starts with an address
// where nothing listens, so the workers must pass it over.
async function sentinelStack({ deadFirst = false } = {}) {
  const lab = {};
  try {
    const stack = await startStack({
      vendors: 1,
      beforeNginx: async (s) => {
        lab.replica = await startReplica(s.dir, s.redisPort);
        lab.sentinel = await startSentinel(s.dir, s.redisPort);
        await waitSentinelSeesReplica(lab.sentinel.port, lab.replica.port);
        lab.sentinels = [...(deadFirst ? [await freePort()] : []), lab.sentinel.port];
        s.conf.redis = `sentinel=${lab.sentinels.map((p) => `127.0.0.1:${p}`).join(',')} master=${MASTER_NAME}`;
      },
    });
    lab.stack = stack;
    lab.stop = async () => {
      try { await stack.stop(); } finally {
        await lab.sentinel.stop();
        await lab.replica.stop();
      }
    };
    return lab;
  } catch (e) {
    await lab.sentinel?.stop();
    await lab.replica?.stop();
    throw e;
  }
}

// Worker pids that logged "redis master ... moved from <from> to <to>".
function workersThatMoved(stack, from, to) {
  const re = new RegExp(` (\\d+)#\\d+: (?:\\*\\d+ )?lingmo: redis master "${MASTER_NAME}" moved from 127\\.0\\.0\\.1:${from} to 127\\.0\\.0\\.1:${to}`, 'g');
  return new Set([...stack.errorLog().matchAll(re)].map((m) => m[1]));
}

// Waits until the provider's counters on `port` equal `want`, then checks they stay there.
async function expectUsage(port, provider, want) {
  let last;
  try {
    await waitFor(async () => {
      last = await usageTotals(port, provider);
      return JSON.stringify(last) === JSON.stringify(want);
    }, { timeout: 15000, interval: 200, what: `usage of ${provider}` });
  } catch (e) {
    assert.deepEqual(last, want, `usage of ${provider} on the new master: ${e.message}`);
  }
  await sleep(2500);  // more than two flush ticks: a late replay would show now
  assert.deepEqual(await usageTotals(port, provider), want, `usage of ${provider} changed after settling`);
}

test('SENTINEL FAILOVER under load: no failed request, the workers follow, new config is served, usage exact', async () => {
  const lab = await sentinelStack({ deadFirst: true });
  const { stack } = lab;
  const oldPort = stack.redisPort;
  const newPort = lab.replica.port;
  try {
    await stack.waitConfigLoaded();
    const load = drive(stack, { clients: 20, ms: LOAD_MS });
    await sleep(FAILOVER_AT_MS);
    assert.equal(await cli(lab.sentinel.port, 'SENTINEL', 'FAILOVER', MASTER_NAME), 'OK');
    await waitMasterIs(lab.sentinel.port, newPort);

    // Configuration written on the new master reaches the workers: lingmo-admin finds the new
    // master through the sentinels (the dead address first in its list too).
    await adminViaSentinels(stack, lab.sentinels, 'provider', 'add', '--id', 'late', '--base-url', stack.vendor(1).baseUrl,
      '--api-key', 'sk-v1', '--model', 'gpt-late=fake-late', '--priority', '5');
    assert.equal(await cli(newPort, 'HEXISTS', 'lingmo:providers', 'late'), '1');
    let lateServed = 0;
    await waitFor(async () => {
      const r = await stack.chat(chatBody({ model: 'gpt-late' }));
      if (r.status === 200 && r.headers['x-lingmo-provider'] === 'late') lateServed++;
      return lateServed > 0;
    }, { timeout: 8000, interval: 100, what: 'a provider added on the new master to be served' });

    const res = await load;
    assert.deepEqual(res.failures, [], `${res.failures.length} failed requests of ${res.ok + res.failures.length}`);
    assert.ok(res.ok >= 100, `only ${res.ok} requests in ${LOAD_MS} ms`);
    assert.equal(workersThatMoved(stack, oldPort, newPort).size, stack.conf.workerProcesses,
      `every worker logs the move:\n${stack.errorLog().split('\n').filter((l) => /master|sentinel/.test(l)).slice(-20).join('\n')}`);

    await expectUsage(newPort, 'v1', res.usage.v1);
    assert.equal((await usageTotals(newPort, 'late')).requests, lateServed);
    stack.checkLog();
  } finally {
    await lab.stop();
  }
});

test('master SIGKILLed under load: no failed request, usage exact on the promoted replica', async () => {
  const lab = await sentinelStack();
  const { stack } = lab;
  const oldPort = stack.redisPort;
  const newPort = lab.replica.port;
  try {
    await stack.waitConfigLoaded();
    const load = drive(stack, { clients: 20, ms: LOAD_MS });
    await sleep(FAILOVER_AT_MS);
    await stack.killRedis();
    await waitMasterIs(lab.sentinel.port, newPort);

    const res = await load;
    assert.deepEqual(res.failures, [], `${res.failures.length} failed requests of ${res.ok + res.failures.length}`);
    assert.ok(res.ok >= 100, `only ${res.ok} requests in ${LOAD_MS} ms`);
    await waitFor(() => workersThatMoved(stack, oldPort, newPort).size === stack.conf.workerProcesses,
      { timeout: 5000, what: 'every worker to log the move' });
    await expectUsage(newPort, 'v1', res.usage.v1);
    stack.checkLog();
  } finally {
    await lab.stop();
  }
});

test('lingmo-controld with REDIS_SENTINELS keeps answering across a failover; the session survives, writes go to the new master', async () => {
  const lab = await sentinelStack();
  const { stack } = lab;
  const oldPort = stack.redisPort;
  const newPort = lab.replica.port;
  let d;
  try {
    d = await startDaemon(stack, { env: { REDIS_SENTINELS: `127.0.0.1:${lab.sentinel.port}`, REDIS_MASTER: MASTER_NAME } });
    assert.match(d.output(), new RegExp(`Redis master ${MASTER_NAME} via sentinels 127\\.0\\.0\\.1:${lab.sentinel.port}`));
    const s = await adminSession(d);
    await waitReplicated(oldPort, newPort);  // the session is on the replica too

    // API calls every 50 ms from before the failover to after it.
    let polling = true;
    const failed = [];
    let calls = 0;
    const poller = (async () => {
      while (polling) {
        const r = await d.get(s, '/api/model/list').catch((e) => ({ status: 0, text: e.message }));
        calls++;
        if (r.status !== 200) failed.push(`${r.status} ${r.text}`);
        await sleep(50);
      }
    })();
    await sleep(500);
    assert.equal(await cli(lab.sentinel.port, 'SENTINEL', 'FAILOVER', MASTER_NAME), 'OK');
    await waitMasterIs(lab.sentinel.port, newPort);
    await waitFor(() => d.output().includes(`moved from 127.0.0.1:${oldPort} to 127.0.0.1:${newPort}`),
      { timeout: 5000, what: 'the daemon to notice the new master' });

    // A write now lands on the new master (the old one still accepts writes until it is demoted).
    const add = await d.post(s, '/api/model/add', { id: 'after-failover', base_url: stack.vendor(1).baseUrl, models: ['m-after'], api_key: 'sk-v1' });
    assert.equal(add.status, 201, add.text);
    assert.equal(await cli(newPort, 'HEXISTS', 'lingmo:providers', 'after-failover'), '1');
    // The login made on the old master is valid on the new one.
    const who = await d.get(s, '/api/session');
    assert.equal(who.status, 200, who.text);
    await sleep(500);
    polling = false;
    await poller;
    assert.deepEqual(failed, [], `${failed.length} of ${calls} API calls failed`);
    assert.ok(calls >= 10);
    await d.stop();
    d = undefined;
  } finally {
    await d?.kill();
    await lab.stop();
  }
});

test('a replica named as the master is refused (ROLE); a demoted master is left on READONLY; a silent sentinel is passed over', async () => {
  let replica;
  const fakes = {};
  let stack;
  try {
    stack = await startStack({
      vendors: 1,
      beforeNginx: async (s) => {
        replica = await startReplica(s.dir, s.redisPort);
        fakes.silent = await startFakeSentinel({ hang: true });
        fakes.stale = await startFakeSentinel({ master: replica.port });  // names the replica first
        s.conf.redis = `sentinel=127.0.0.1:${fakes.silent.port},127.0.0.1:${fakes.stale.port} master=${MASTER_NAME}`;
        // Once a worker has refused the replica, name the real master (startStack waits for it).
        waitFor(() => / is a slave, not the master/.test(s.errorLog()), { timeout: 9000, interval: 50 })
          .catch(() => {})
          .finally(() => { fakes.stale.master = s.redisPort; });
      },
    });
    const oldPort = stack.redisPort;
    const newPort = replica.port;
    await stack.waitConfigLoaded();
    const log0 = stack.errorLog();
    assert.match(log0, new RegExp(`127\\.0\\.0\\.1:${newPort} is a slave, not the master`));
    assert.match(log0, /sentinel query reset: the sentinel did not answer within 1 s/);

    const want = { requests: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, failures: 0, cost_micros: 0 };
    const send = async (n) => {
      for (let i = 0; i < n; i++) {
        const r = await stack.chat(chatBody());
        assert.equal(r.status, 200, r.text);
        want.requests++;
        want.prompt_tokens += r.json.usage.prompt_tokens;
        want.completion_tokens += r.json.usage.completion_tokens;
        want.total_tokens += r.json.usage.total_tokens;
      }
    };
    await send(20);
    await waitFor(async () => (await usageTotals(oldPort, 'v1')).requests === want.requests, { timeout: 5000, what: 'usage on the master' });

    // A failover behind the sentinel's back: the replica is promoted, the old master demoted,
    // and the (stale) sentinel keeps naming the old master and announces nothing.
    await cli(newPort, 'REPLICAOF', 'NO', 'ONE');
    await cli(oldPort, 'REPLICAOF', '127.0.0.1', String(newPort));
    await send(20);  // their usage flush meets READONLY
    await waitFor(() => /reset: the node answers as a replica/.test(stack.errorLog()), { timeout: 5000, what: 'a READONLY answer to drop the link' });
    fakes.stale.master = newPort;
    await send(20);
    await waitFor(() => workersThatMoved(stack, oldPort, newPort).size === stack.conf.workerProcesses,
      { timeout: 8000, what: 'every worker to move to the new master' });
    await expectUsage(newPort, 'v1', want);
    stack.checkLog();
  } finally {
    await stack?.stop();
    await replica?.stop();
    await fakes.silent?.close();
    await fakes.stale?.close();
  }
});

test('configuration errors of the Sentinel form: nginx -t and lingmo-controld', async () => {
  const good = await nginxTest('lingmo_redis sentinel=127.0.0.1:26379,[::1]:26380,127.0.0.1 master=mymaster password=p sentinel_password=q db=2;');
  assert.equal(good.code, 0, good.stderr);
  for (const conf of [
    'lingmo_redis sentinel=127.0.0.1:26379;',                      // no master=
    'lingmo_redis 127.0.0.1:6379 master=mymaster;',                 // master= without sentinel=
    'lingmo_redis 127.0.0.1:6379 sentinel_password=x;',
    'lingmo_redis sentinel=unix:/run/sentinel.sock master=m;',      // sentinels are host:port
    'lingmo_redis sentinel=127.0.0.1:26379, master=m;',             // empty item
    'lingmo_redis sentinel=127.0.0.1:26379,no-such-host.invalid master=m;',
  ]) {
    const r = await nginxTest(conf);
    assert.notEqual(r.code, 0, conf);
    assert.match(r.stderr, /lingmo_redis/, `${conf}: ${r.stderr}`);
  }

  const key = { ENCRYPT_KEY: 'ab'.repeat(32) };
  for (const [env, re] of [
    [{ REDIS_MASTER: 'mymaster' }, /REDIS_MASTER is set but REDIS_SENTINELS is not/],
    [{ REDIS_SENTINELS: '127.0.0.1:26379' }, /master's name/],
    [{ REDIS_SENTINELS: '127.0.0.1:0', REDIS_MASTER: 'm' }, /REDIS_SENTINELS/],
  ]) {
    const r = await runDaemon(['--port', '0'], { env: { ...key, ...env } });
    assert.equal(r.code, 2, `${JSON.stringify(env)}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, re);
  }
  // No sentinel answers: exit 1 like an unreachable Redis, naming each sentinel.
  const dead = await freePort();
  const r = await runDaemon(['--port', '0', '--redis-sentinels', `127.0.0.1:${dead}`, '--redis-master', 'm'], { env: key });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, new RegExp(`cannot reach Redis.*127\\.0\\.0\\.1:${dead}`));
});
