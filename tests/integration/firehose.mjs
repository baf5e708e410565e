// An in-process OpenAI-compatible vendor for flow-control tests: it streams a large answer
// (`chunks` events of `chunkBytes` content each) as fast as the connection takes it, honouring
// back-pressure (it waits for 'drain' whenever res.write() returns false), and reports how far it
// got. If the gateway stopped reading, `written` stops growing and `finished` stays false.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export async function startFirehose({ key = 'sk-fire', chunks = 4000, chunkBytes = 2048 } = {}) {
  const state = {
    requests: 0,
    written: 0,          // bytes handed to res.write()
    total: 0,            // bytes the whole answer takes
    blocked: 0,          // times res.write() returned false
    waitingDrain: false, // blocked right now
    finished: false,     // res.end() called after the last event
    closedEarly: false,  // the connection closed before the answer was complete
    lastWriteAt: 0,
    chunks,
  };
  const filler = 'z'.repeat(chunkBytes);
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      state.requests++;
      if (req.headers.authorization !== `Bearer ${key}`) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'bad key', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }));
        return;
      }
      const body = JSON.parse(raw);
      const withUsage = body.stream_options?.include_usage === true;
      const id = `chatcmpl-fire-${state.requests}`;
      const ev = (delta, finish) => `data: ${JSON.stringify({
        id, object: 'chat.completion.chunk', created: 1, model: body.model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(withUsage ? { usage: null } : {}),
      })}\n\n`;
      const events = function* () {
        yield ev({ role: 'assistant', content: '' }, null);
        for (let i = 0; i < chunks; i++) yield ev({ content: `[${i}]${filler}` }, null);
        yield ev({}, 'stop');
        if (withUsage) {
          yield `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model: body.model, choices: [],
            usage: { prompt_tokens: 7, completion_tokens: chunks, total_tokens: 7 + chunks } })}\n\n`;
        }
        yield 'data: [DONE]\n\n';
      };
      // Total size, for the "not finished yet" check.
      state.total = 0;
      for (const e of events()) state.total += Buffer.byteLength(e);
      state.written = 0;
      state.finished = false;
      state.closedEarly = false;
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      const it = events();
      res.on('close', () => { if (!state.finished) state.closedEarly = true; });
      const pump = () => {
        state.waitingDrain = false;
        for (;;) {
          if (res.destroyed) return;
          const n = it.next();
          if (n.done) {
            state.finished = true;
            res.end();
            return;
          }
          state.written += Buffer.byteLength(n.value);
          state.lastWriteAt = performance.now();
          if (!res.write(n.value)) {
            state.blocked++;
            state.waitingDrain = true;
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  return {
    state,
    port,
    key,
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
