// Redis replication and Sentinel on loopback for the resilience suite (sentinel.test.mjs): a
// replica of a stack's redis-server and a sentinel watching that pair, with short timeouts so a
// failover takes seconds. Sentinels run as `redis-server <conf> --sentinel` (the same binary as
// Debian's redis-sentinel). No npm dependencies (Node >= 20).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ADMIN_BIN, REDIS_CLI, REDIS_SERVER, chatBody, freePort, run, sleep, track, waitExit, waitFor } from '../integration/harness.mjs';

export const MASTER_NAME = 'mymaster';


// redis-cli against 127.0.0.1:port; the trimmed output (one line per array element).
export async function cli(port, ...args) {
  const r = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 });
  if (r.code !== 0) throw new Error(`redis-cli -p ${port} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

class RedisProc {
  constructor(child, port, what) {
    this.child = child;
    this.port = port;
    this.what = what;
    track(child);   // SIGKILLed at exit whatever happened to the test
  }

  async ready() {
    await waitFor(async () => {
      if (this.child.exitCode !== null) throw new Error(`${this.what} on port ${this.port} exited with ${this.child.exitCode}`);
      return (await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(this.port), 'PING'], { timeout: 2000 })).stdout.trim() === 'PONG';
    }, { timeout: 10000, what: `${this.what} PING` });
    return this;
  }

  kill9() { this.child.kill('SIGKILL'); return waitExit(this.child, 5000); }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    if (!(await waitExit(this.child, 5000))) this.child.kill('SIGKILL');
  }
}

function writeConf(file, lines) {
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

// A replica of 127.0.0.1:masterPort, started from a config file (Sentinel rewrites it when it
// promotes the replica), once its link to the master is up.
export async function startReplica(dir, masterPort) {
  // The master's diskless-sync delay (5 s by default) would hold the first sync back.
  await cli(masterPort, 'CONFIG', 'SET', 'repl-diskless-sync-delay', '0');
  const port = await freePort();
  const conf = writeConf(path.join(dir, `replica-${port}.conf`), [
    `port ${port}`, 'bind 127.0.0.1', 'save ""', 'appendonly no', `dir ${dir}`, `dbfilename replica-${port}.rdb`,
    `logfile ${path.join(dir, `replica-${port}.log`)}`, 'repl-diskless-sync-delay 0', `replicaof 127.0.0.1 ${masterPort}`,
  ]);
  const p = await new RedisProc(spawn(REDIS_SERVER, [conf], { stdio: 'ignore' }), port, 'replica').ready();
  await waitFor(async () => /master_link_status:up/.test(await cli(port, 'INFO', 'replication')),
    { timeout: 10000, what: 'the replica to sync' });
  return p;
}

// A sentinel monitoring 127.0.0.1:masterPort as MASTER_NAME (quorum 1): the master is judged down
// after `downAfterMs` without an answer.
export async function startSentinel(dir, masterPort, { downAfterMs = 1000, failoverTimeoutMs = 10000 } = {}) {
  const port = await freePort();
  const conf = writeConf(path.join(dir, `sentinel-${port}.conf`), [
    `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `logfile ${path.join(dir, `sentinel-${port}.log`)}`,
    `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 1`,
    `sentinel down-after-milliseconds ${MASTER_NAME} ${downAfterMs}`,
    `sentinel failover-timeout ${MASTER_NAME} ${failoverTimeoutMs}`,
    `sentinel parallel-syncs ${MASTER_NAME} 1`,
  ]);
  return new RedisProc(spawn(REDIS_SERVER, [conf, '--sentinel'], { stdio: 'ignore' }), port, 'sentinel').ready();
}

// Waits until the sentinel knows the replica on `replicaPort` as a healthy one (a failover needs one).
export async function waitSentinelSeesReplica(sentinelPort, replicaPort) {
  await waitFor(async () => {
    const lines = (await cli(sentinelPort, 'SENTINEL', 'replicas', MASTER_NAME)).split('\n');
    const at = lines.indexOf(`127.0.0.1:${replicaPort}`);
    if (at < 0) return false;
    const flags = lines[lines.indexOf('flags', at) + 1] ?? '';
    const link = lines[lines.indexOf('master-link-status', at) + 1] ?? '';
    return flags === 'slave' && link === 'ok';
  }, { timeout: 15000, interval: 100, what: `sentinel ${sentinelPort} to see the replica on ${replicaPort}` });
}

// The port of the master the sentinel names now.
export async function masterPortOf(sentinelPort) {
  const [, port] = (await cli(sentinelPort, 'SENTINEL', 'get-master-addr-by-name', MASTER_NAME)).split('\n');
  return Number(port);
}

export async function waitMasterIs(sentinelPort, port, timeout = 20000) {
  await waitFor(async () => (await masterPortOf(sentinelPort)) === port, { timeout, interval: 50, what: `the sentinels to name port ${port}` });
}

// Waits until the replica has everything the master wrote so far (same replication offset).
export async function waitReplicated(masterPort, replicaPort) {
  await waitFor(async () => {
    const m = /master_repl_offset:(\d+)/.exec(await cli(masterPort, 'INFO', 'replication'))?.[1];
    const r = /slave_repl_offset:(\d+)/.exec(await cli(replicaPort, 'INFO', 'replication'))?.[1];
    return m !== undefined && m === r;
  }, { timeout: 10000, what: 'the replica to catch up' });
}

// lingmo-admin finding the master through the sentinels (the flags under test, not --redis).
export async function adminViaSentinels(stack, sentinels, ...args) {
  const r = await run(ADMIN_BIN, ['--redis-sentinels', sentinels.map((p) => `127.0.0.1:${p}`).join(','),
    '--redis-master', MASTER_NAME, '--secret-file', stack.secretFile, ...args]);
  if (r.code !== 0) throw new Error(`lingmo-admin ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

// The six usage counters of a provider summed over its days (lingmo:usage:<provider>:<day>).
export async function usageTotals(port, provider) {
  const sum = { requests: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, failures: 0, cost_micros: 0 };
  const keys = (await cli(port, '--scan', '--pattern', `lingmo:usage:${provider}:*`)).split('\n').filter(Boolean);
  for (const k of keys) {
    const f = (await cli(port, 'HGETALL', k)).split('\n');
    for (let i = 0; i + 1 < f.length; i += 2) if (f[i] in sum) sum[f[i]] += Number(f[i + 1]);
  }
  return sum;
}

// `clients` loops sending non-stream chat requests for `ms`. Returns what came back: successes
// per provider with the usage the answers reported, and every failure (status, or error).
export async function drive(stack, { clients = 20, ms = 10000, model } = {}) {
  const out = { ok: 0, degraded: 0, failures: [], usage: {} };
  const deadline = performance.now() + ms;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < deadline) {
      try {
        const r = await stack.chat(chatBody(model ? { model } : {}), { agent: false });
        const u = r.json?.usage;
        if (r.status !== 200 || !u) {
          out.failures.push(`HTTP ${r.status}: ${r.text.slice(0, 200)}`);
          continue;
        }
        out.ok++;
        if (r.headers['x-lingmo-degraded']) out.degraded++;
        const p = r.headers['x-lingmo-provider'];
        const acc = (out.usage[p] ??= { requests: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, failures: 0, cost_micros: 0 });
        acc.requests++;
        acc.prompt_tokens += u.prompt_tokens;
        acc.completion_tokens += u.completion_tokens;
        acc.total_tokens += u.total_tokens;
      } catch (e) {
        out.failures.push(e.message);
      }
    }
  }));
  return out;
}

export { sleep };

// A fake sentinel (RESP over TCP, in this process) whose answers the test decides: `master` is
// the port it names for MASTER_NAME (null: nil, as for an unknown name), `hang` makes it accept
// connections and never answer. It speaks AUTH, PING, SENTINEL get-master-addr-by-name and
// SUBSCRIBE; publish() sends a message to its subscribers. `queries` counts the address queries.
export async function startFakeSentinel({ master = null, hang = false } = {}) {
  const net = await import('node:net');
  const state = { master, hang, queries: 0, subscribers: new Set(), sockets: new Set() };
  const bulk = (s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  const server = net.createServer((sock) => {
    state.sockets.add(sock);
    sock.on('close', () => { state.sockets.delete(sock); state.subscribers.delete(sock); });
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const cmd = parseCommand();
        if (!cmd) return;
        if (state.hang) continue;
        const name = cmd[0].toUpperCase();
        if (name === 'AUTH') sock.write('+OK\r\n');
        else if (name === 'PING') sock.write('+PONG\r\n');
        else if (name === 'SENTINEL' && cmd[1]?.toLowerCase() === 'get-master-addr-by-name') {
          state.queries++;
          sock.write(cmd[2] === MASTER_NAME && state.master ? `*2\r\n${bulk('127.0.0.1')}${bulk(String(state.master))}` : '*-1\r\n');
        } else if (name === 'SUBSCRIBE') {
          state.subscribers.add(sock);
          sock.write(`*3\r\n${bulk('subscribe')}${bulk(cmd[1])}:1\r\n`);
        } else sock.write(`-ERR unknown command '${cmd[0]}'\r\n`);
      }
    });
    // One RESP array of bulk strings off the front of buf, or null when incomplete.
    function parseCommand() {
      if (!buf.length || buf[0] !== 0x2a) return null;
      let pos = buf.indexOf('\r\n');
      if (pos < 0) return null;
      const n = Number(buf.subarray(1, pos).toString());
      pos += 2;
      const out = [];
      for (let i = 0; i < n; i++) {
        const eol = buf.indexOf('\r\n', pos);
        if (eol < 0) return null;
        const len = Number(buf.subarray(pos + 1, eol).toString());
        if (eol + 2 + len + 2 > buf.length) return null;
        out.push(buf.subarray(eol + 2, eol + 2 + len).toString());
        pos = eol + 2 + len + 2;
      }
      buf = buf.subarray(pos);
      return out;
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = server.address().port;
  state.publish = (channel, msg) => {
    for (const s of state.subscribers) s.write(`*3\r\n${bulk('message')}${bulk(channel)}${bulk(msg)}`);
  };
  state.close = () => new Promise((resolve) => {
    for (const s of state.sockets) s.destroy();
    server.close(() => resolve());
  });
  return state;
}
