#!/usr/bin/env node
// A tiny outbound proxy for tests: speaks SOCKS5 (no auth, CONNECT) and HTTP (absolute-URI
// forwarding and CONNECT tunnels) on one port, and counts what went through it, so tests can
// prove that a provider's traffic really used its configured proxy.
//   node tests/fakes/fake_proxy.mjs --port 0 [--port-file F]
//   GET /_proxy/stats on the same port -> {"socks5":n,"http":n,"connect":n,"targets":[...]}
import net from 'node:net';
import fs from 'node:fs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const stats = { socks5: 0, http: 0, connect: 0, targets: [] };

function pipe(a, b) {
  a.pipe(b); b.pipe(a);
  a.on('error', () => b.destroy()); b.on('error', () => a.destroy());
  a.on('close', () => b.destroy()); b.on('close', () => a.destroy());
}

function socks5(sock, first) {
  // greeting: VER NMETHODS METHODS... -> no auth
  let buf = first;
  const need = (n) => buf.length >= n;
  const stage1 = () => {
    if (!need(2) || !need(2 + buf[1])) return false;
    buf = buf.subarray(2 + buf[1]);
    sock.write(Buffer.from([5, 0]));
    return true;
  };
  let greeted = false;
  const onData = (d) => {
    buf = Buffer.concat([buf, d]);
    if (!greeted) { if (!stage1()) return; greeted = true; }
    if (!need(5)) return;
    const atyp = buf[3];
    let host, off;
    if (atyp === 1) { if (!need(10)) return; host = [...buf.subarray(4, 8)].join('.'); off = 8; }
    else if (atyp === 3) { const l = buf[4]; if (!need(7 + l)) return; host = buf.subarray(5, 5 + l).toString(); off = 5 + l; }
    else if (atyp === 4) { if (!need(22)) return; host = buf.subarray(4, 20).toString('hex').match(/.{4}/g).join(':'); off = 20; }
    else { sock.destroy(); return; }
    const port = buf.readUInt16BE(off);
    const rest = buf.subarray(off + 2);
    sock.removeListener('data', onData);
    stats.socks5++; stats.targets.push(`${host}:${port}`);
    const up = net.connect(port, host, () => {
      sock.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
      if (rest.length) up.write(rest);
      pipe(sock, up);
    });
    up.on('error', () => { sock.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])); });
  };
  sock.on('data', onData);
  onData(Buffer.alloc(0));
}

function http(sock, first) {
  let buf = first;
  const onData = (d) => {
    buf = Buffer.concat([buf, d]);
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    sock.removeListener('data', onData);
    const head = buf.subarray(0, end).toString();
    const [method, target] = head.split(' ');
    if (method === 'GET' && target === '/_proxy/stats') {
      const body = JSON.stringify(stats);
      sock.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    if (method === 'CONNECT') {
      const [host, port] = target.split(':');
      stats.connect++; stats.targets.push(target);
      const up = net.connect(Number(port), host, () => {
        sock.write('HTTP/1.1 200 Connection established\r\n\r\n');
        const rest = buf.subarray(end + 4);
        if (rest.length) up.write(rest);
        pipe(sock, up);
      });
      up.on('error', () => sock.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
      return;
    }
    // absolute-URI forwarding: rewrite the request line to origin-form, keep the rest as is
    const url = new URL(target);
    stats.http++; stats.targets.push(url.host);
    const lines = head.split('\r\n');
    lines[0] = `${method} ${url.pathname}${url.search} ${lines[0].split(' ')[2]}`;
    const up = net.connect(Number(url.port || 80), url.hostname, () => {
      up.write(lines.join('\r\n') + '\r\n\r\n');
      const rest = buf.subarray(end + 4);
      if (rest.length) up.write(rest);
      pipe(sock, up);
    });
    up.on('error', () => sock.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
  };
  sock.on('data', onData);
  onData(Buffer.alloc(0));
}

const server = net.createServer((sock) => {
  sock.once('data', (d) => (d[0] === 5 ? socks5 : http)(sock, d));
  sock.on('error', () => {});
});
server.listen(Number(args.port || 0), args.host || '127.0.0.1', () => {
  const port = server.address().port;
  console.log(`LISTENING ${port}`);
  if (args['port-file']) {
    fs.writeFileSync(args['port-file'] + '.tmp', `${port}\n`);
    fs.renameSync(args['port-file'] + '.tmp', args['port-file']);
  }
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
