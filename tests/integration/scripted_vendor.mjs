// An in-process OpenAI-compatible vendor whose stream answers follow a script, for timings the
// fake vendor cannot express (e.g. content, then a long silence). Each chat request takes the
// next script; a step is { delay, content } (a content chunk), { delay, role: true },
// { delay, done: true } (finish chunk + [DONE], then end), or { delay, stall: true } (say nothing
// more, keep the connection open). `delay` is ms before the step.
import http from 'node:http';

export async function startScriptedVendor({ key = 'sk-scripted' } = {}) {
  const state = { requests: 0, closedEarly: 0, scripts: [], lastBody: null };
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      state.requests++;
      state.lastBody = JSON.parse(raw);
      if (req.headers.authorization !== `Bearer ${key}`) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end('{"error":{"message":"bad key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}');
        return;
      }
      const script = state.scripts.shift() ?? [{ delay: 0, role: true }, { delay: 0, content: 'default' }, { delay: 0, done: true }];
      const model = state.lastBody.model;
      const ev = (delta, finish) => `data: ${JSON.stringify({ id: `chatcmpl-scripted-${state.requests}`, object: 'chat.completion.chunk',
        created: 1, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      let finished = false;
      let timer = null;
      res.on('close', () => { clearTimeout(timer); if (!finished) state.closedEarly++; });
      const run = (i) => {
        if (i >= script.length || res.destroyed) return;
        const step = script[i];
        timer = setTimeout(() => {
          if (step.stall) return;
          if (step.role) res.write(ev({ role: 'assistant', content: '' }, null));
          if (step.content !== undefined) res.write(ev({ content: step.content }, null));
          if (step.done) {
            res.write(ev({}, 'stop'));
            res.write('data: [DONE]\n\n');
            finished = true;
            res.end();
            return;
          }
          run(i + 1);
        }, step.delay ?? 0);
      };
      run(0);
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  return {
    state,
    port,
    key,
    baseUrl: `http://127.0.0.1:${port}/v1`,
    script(steps) { state.scripts.push(steps); },
    reset() { state.requests = 0; state.closedEarly = 0; state.scripts = []; state.lastBody = null; },
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}
