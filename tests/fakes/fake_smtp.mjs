// A tiny SMTP sink for tests: plain SMTP (no TLS, no STARTTLS offered), EHLO/HELO, optional AUTH
// PLAIN / LOGIN (any credentials accepted, recorded), MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT.
// Every accepted message is recorded. Node.js >= 20, ES module, no npm dependencies.
//
// In a test (same process):
//   import { startFakeSmtp } from '../fakes/fake_smtp.mjs';
//   const smtp = await startFakeSmtp();              // 127.0.0.1, a free port
//   ... smtp.port, smtp.messages: [{ helo, auth, from, to, data, headers, body, t }]
//   smtp.reject = { data: '554 5.7.1 refused' };      // answer a step with an error instead
//   await smtp.waitForMessages(1);  await smtp.close();
//
// Stand-alone: node tests/fakes/fake_smtp.mjs [--port N] [--host H]
//   prints "LISTENING <port>", then one JSON line per received message; SIGTERM/SIGINT exit 0.
//
// auth is null or { mechanism, user, password }. headers: the message's header fields with
// lower-cased names (folded lines joined). data: the message as received, dot-unstuffed, CRLF
// line ends, without the final ".".
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const b64 = (s) => Buffer.from(s, 'base64').toString('utf8');

function parseMessage(data) {
  const end = data.indexOf('\r\n\r\n');
  const head = end < 0 ? data : data.slice(0, end);
  const body = end < 0 ? '' : data.slice(end + 4);
  const headers = {};
  let last = null;
  for (const line of head.split('\r\n')) {
    if (/^[ \t]/.test(line) && last) {
      headers[last] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    const v = line.slice(colon + 1).trim();
    headers[last] = last in headers ? `${headers[last]}\n${v}` : v;
  }
  return { headers, body };
}

export class FakeSmtp {
  constructor({ host = '127.0.0.1', hostname = 'fake-smtp.test' } = {}) {
    this.host = host;
    this.hostname = hostname;
    this.port = 0;
    this.messages = [];
    this.sessions = 0;
    this.commands = [];          // every command line received, in order (AUTH payloads included)
    this.reject = {};            // { helo, auth, mail, rcpt, data }: an error line to answer that step with
    this.onMessage = null;       // called with each recorded message
    this.sockets = new Set();
    this.server = net.createServer((sock) => this.#session(sock));
  }

  listen(port = 0) {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => {
        this.port = this.server.address().port;
        resolve(this);
      });
    });
  }

  close() {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  // Resolves with the messages once at least `n` are recorded (rejects after `timeout` ms).
  waitForMessages(n, { timeout = 5000 } = {}) {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const tick = () => {
        if (this.messages.length >= n) return resolve(this.messages);
        if (Date.now() - t0 > timeout) return reject(new Error(`fake SMTP: ${this.messages.length} of ${n} messages after ${timeout} ms`));
        setTimeout(tick, 20);
      };
      tick();
    });
  }

  #session(sock) {
    this.sessions++;
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => {});
    sock.setEncoding('latin1');
    const reply = (line) => { if (!sock.destroyed) sock.write(`${line}\r\n`); };
    let buf = '';
    let state = 'command';            // command | data | auth-plain | auth-login-user | auth-login-pass
    let tx = { helo: null, auth: null, from: null, to: [] };
    let data = [];
    let loginUser = '';
    const fail = (step) => this.reject[step];

    const onLine = (line) => {
      if (state === 'data') {
        if (line === '.') {
          state = 'command';
          if (fail('data')) { reply(fail('data')); tx = { ...tx, from: null, to: [] }; return; }
          const text = data.map((l) => (l.startsWith('.') ? l.slice(1) : l)).join('\r\n');
          const msg = { helo: tx.helo, auth: tx.auth, from: tx.from, to: tx.to, data: Buffer.from(text, 'latin1').toString('utf8'),
            ...parseMessage(Buffer.from(text, 'latin1').toString('utf8')), t: performance.now() };
          this.messages.push(msg);
          if (this.onMessage) this.onMessage(msg);
          tx = { ...tx, from: null, to: [] };
          data = [];
          reply('250 2.0.0 OK: queued');
        } else {
          data.push(line);
        }
        return;
      }
      this.commands.push(line);
      if (state === 'auth-plain') {
        state = 'command';
        return finishPlain(line);
      }
      if (state === 'auth-login-user') {
        loginUser = b64(line);
        state = 'auth-login-pass';
        return reply('334 UGFzc3dvcmQ6');
      }
      if (state === 'auth-login-pass') {
        state = 'command';
        if (fail('auth')) return reply(fail('auth'));
        tx.auth = { mechanism: 'LOGIN', user: loginUser, password: b64(line) };
        return reply('235 2.7.0 Authentication successful');
      }
      const m = /^(\S+)\s*(.*)$/.exec(line);
      const verb = (m?.[1] || '').toUpperCase();
      const arg = m?.[2] || '';
      switch (verb) {
        case 'EHLO':
          if (fail('helo')) return reply(fail('helo'));
          tx.helo = arg;
          reply(`250-${this.hostname} greets ${arg}`);
          reply('250-AUTH PLAIN LOGIN');
          reply('250-8BITMIME');
          return reply('250 SIZE 10485760');
        case 'HELO':
          if (fail('helo')) return reply(fail('helo'));
          tx.helo = arg;
          return reply(`250 ${this.hostname}`);
        case 'AUTH': {
          const [mech, initial] = arg.split(/\s+/);
          if ((mech || '').toUpperCase() === 'PLAIN') {
            if (initial) return finishPlain(initial);
            state = 'auth-plain';
            return reply('334 ');
          }
          if ((mech || '').toUpperCase() === 'LOGIN') {
            if (initial) {
              loginUser = b64(initial);
              state = 'auth-login-pass';
              return reply('334 UGFzc3dvcmQ6');
            }
            state = 'auth-login-user';
            return reply('334 VXNlcm5hbWU6');
          }
          return reply('504 5.5.4 Unrecognized authentication type');
        }
        case 'MAIL': {
          const a = /^FROM:\s*<([^>]*)>/i.exec(arg);
          if (!a) return reply('501 5.5.4 Syntax: MAIL FROM:<address>');
          if (fail('mail')) return reply(fail('mail'));
          tx.from = a[1];
          tx.to = [];
          return reply('250 2.1.0 OK');
        }
        case 'RCPT': {
          const a = /^TO:\s*<([^>]*)>/i.exec(arg);
          if (!a) return reply('501 5.5.4 Syntax: RCPT TO:<address>');
          if (tx.from === null) return reply('503 5.5.1 MAIL first');
          if (fail('rcpt')) return reply(fail('rcpt'));
          tx.to.push(a[1]);
          return reply('250 2.1.5 OK');
        }
        case 'DATA':
          if (!tx.to.length) return reply('503 5.5.1 RCPT first');
          state = 'data';
          data = [];
          return reply('354 End data with <CR><LF>.<CR><LF>');
        case 'RSET':
          tx = { ...tx, from: null, to: [] };
          return reply('250 2.0.0 OK');
        case 'NOOP':
          return reply('250 2.0.0 OK');
        case 'QUIT':
          reply('221 2.0.0 Bye');
          return sock.end();
        default:
          return reply('502 5.5.2 Command not recognized');
      }
    };

    const finishPlain = (payload) => {
      if (fail('auth')) return reply(fail('auth'));
      const [, user = '', password = ''] = b64(payload).split('\0');
      tx.auth = { mechanism: 'PLAIN', user, password };
      return reply('235 2.7.0 Authentication successful');
    };

    sock.on('data', (chunk) => {
      buf += chunk;
      for (let nl = buf.indexOf('\r\n'); nl >= 0; nl = buf.indexOf('\r\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        onLine(line);
      }
    });
    reply(`220 ${this.hostname} ESMTP fake`);
  }
}

export async function startFakeSmtp(opts = {}) {
  const s = new FakeSmtp(opts);
  return s.listen(opts.port ?? 0);
}

// Stand-alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
  };
  const port = Number(opt('--port', '0'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('usage: fake_smtp.mjs [--port N] [--host H]\n');
    process.exit(2);
  }
  const s = await startFakeSmtp({ host: opt('--host', '127.0.0.1'), port });
  s.onMessage = (m) => process.stdout.write(`${JSON.stringify({ from: m.from, to: m.to, auth: m.auth, headers: m.headers, body: m.body })}\n`);
  process.stdout.write(`LISTENING ${s.port}\n`);
  for (const sig of ['SIGTERM', 'SIGINT']) process.once(sig, () => s.close().then(() => process.exit(0)));
}
