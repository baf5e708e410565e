// Happy path: non-stream and stream relay, request rewriting towards the vendor, usage hiding,
// warm vendor connections, and cancelling the vendor call when the client goes away.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, chunksOf, contentOf, readStream, rawRequest, waitFor, sleep, MODEL } from './harness.mjs';

let stack;
before(async () => { stack = await startStack({ vendors: 3 }); });
after(async () => { await stack?.stop(); });
beforeEach(async () => { await stack.resetVendors(); });
afterEach(() => { stack.checkLog(); });

test('non-stream chat goes to the first-priority vendor with mapped model, its key and no routing fields', async () => {
  const v1 = stack.vendor(1);
  const body = {
    ...chatBody(),
    api_base: 'http://evil.example/v1',
    base_url: 'http://evil.example/v1',
    api_key: 'sk-client-supplied',
    custom_llm_provider: 'evil',
    temperature: 0.25,
  };
  const r = await stack.chat(body, { headers: { Host: 'evil.example', 'X-Forwarded-Host': 'evil.example' } });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.equal(r.json.object, 'chat.completion');
  assert.equal(r.json.choices[0].message.content, 'v1 says hello');
  assert.match(r.json.id, /^chatcmpl-v1-\d+$/);
  assert.deepEqual(r.json.usage, { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 });
  assert.equal(r.headers['x-lingmo-provider'], 'v1');
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=ok');

  const st = await v1.stats();
  assert.equal(st.requests, 1);
  const got = st.last_request;
  assert.equal(got.url, '/v1/chat/completions');
  assert.equal(got.body.model, 'fake-v1', 'client model name mapped to the vendor model id');
  assert.equal(got.headers.authorization, 'Bearer sk-v1', 'vendor key decrypted and sent');
  assert.equal(got.headers.host, `127.0.0.1:${v1.port}`, 'client Host header not forwarded');
  assert.equal(got.headers['x-forwarded-host'], undefined);
  for (const f of ['api_base', 'base_url', 'api_key', 'custom_llm_provider']) {
    assert.ok(!(f in got.body), `${f} must not reach the vendor (body: ${JSON.stringify(got.body)})`);
  }
  assert.equal(got.body.temperature, 0.25, 'ordinary parameters pass through');
  assert.deepEqual(got.body.messages, body.messages);
  assert.equal((await stack.vendor(2).stats()).requests, 0);
  assert.equal((await stack.vendor(3).stats()).requests, 0);
});

test('a repeated "model" key cannot smuggle another model to the vendor', async () => {
  // The gateway routes on the first "model"; a vendor parser that keeps the last must not see the second.
  const raw = `{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"model":"gpt-4-expensive"}`;
  const r = await stack.chat(raw, { headers: { 'Content-Type': 'application/json' } });
  assert.equal(r.status, 200, r.text);
  const st = await stack.vendor(1).stats();
  assert.equal(st.last_request.body.model, 'fake-v1');
});

test('stream: events are relayed one by one, end with [DONE], and hide the forced usage', async () => {
  await stack.vendor(1).mode({ mode: 'normal', chunks: 5, delay_ms: 200 });
  const t0 = performance.now();
  const r = await stack.chat(chatBody(), { stream: true });
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/event-stream/);
  assert.equal(r.headers['x-lingmo-provider'], 'v1');
  assert.equal(r.headers['x-lingmo-attempts'], 'v1=ok');
  const s = await readStream(r);
  assert.ok(s.complete, 'stream ended cleanly');

  const contentEvents = s.events.filter((e) => /"content":"v1-chunk-\d+ "/.test(e.data));
  assert.equal(contentEvents.length, 5, s.text);
  const spread = contentEvents[4].t - contentEvents[0].t;
  assert.ok(spread >= 600, `content events arrived ${spread.toFixed(0)} ms apart in total: the stream was buffered`);
  assert.ok(contentEvents[0].t - t0 < 800, 'first content event arrived before the vendor finished');
  assert.equal(contentOf(s), 'v1-chunk-0 v1-chunk-1 v1-chunk-2 v1-chunk-3 v1-chunk-4 ');
  assert.equal(s.events.at(-1).data, '[DONE]');
  assert.equal(s.events.filter((e) => e.data === '[DONE]').length, 1);
  assert.ok(!s.text.includes('"usage"'), `client did not ask for usage, but got: ${s.text}`);
  // role chunk + 5 content + finish chunk + [DONE]: the usage-only chunk was dropped.
  assert.equal(s.events.length, 8, s.text);
  const chunks = chunksOf(s);
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
  assert.ok(chunks.every((c) => c.model === 'fake-v1' && Array.isArray(c.choices) && c.choices.length === 1));

  const got = (await stack.vendor(1).stats()).last_request.body;
  assert.equal(got.stream, true);
  assert.deepEqual(got.stream_options, { include_usage: true }, 'gateway forces include_usage towards the vendor');
});

test('stream: a client that asks include_usage gets the vendor usage chunk', async () => {
  await stack.vendor(1).mode({ mode: 'normal', chunks: 4 });
  const s = await stack.chatStream(chatBody({
    messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }],
    stream_options: { include_usage: true },
  }));
  assert.equal(s.status, 200);
  assert.equal(s.events.at(-1).data, '[DONE]');
  const chunks = chunksOf(s);
  const usageChunks = chunks.filter((c) => c.usage);
  assert.equal(usageChunks.length, 1, s.text);
  const u = usageChunks[0];
  assert.deepEqual(u.choices, []);
  assert.deepEqual(u.usage, { prompt_tokens: 20, completion_tokens: 4, total_tokens: 24 });
  assert.equal(chunks.at(-1), u, 'usage chunk is the last JSON chunk');
  assert.equal(contentOf(s), 'v1-chunk-0 v1-chunk-1 v1-chunk-2 v1-chunk-3 ');
});

test('stream: vendor keep-alive comments are absorbed and the answer is intact', async () => {
  await stack.vendor(1).mode({ mode: 'keepalive_comments', delay_ms: 30 });
  const s = await stack.chatStream(chatBody());
  assert.equal(s.status, 200);
  assert.equal(contentOf(s), 'v1-chunk-0 v1-chunk-1 v1-chunk-2 ');
  assert.equal(s.events.at(-1).data, '[DONE]');
  assert.ok(s.events.every((e) => e.data !== ''), `no empty events relayed: ${s.text}`);
});

test('vendor connections are kept warm across sequential requests', async () => {
  for (let i = 0; i < 20; i++) {
    const r = await stack.chat(chatBody());
    assert.equal(r.status, 200);
    assert.equal(r.json.choices[0].message.content, 'v1 says hello');
  }
  const st = await stack.vendor(1).stats();
  assert.equal(st.requests, 20);
  assert.ok(st.connections <= 4, `vendor saw ${st.connections} new connections for 20 requests (2 workers)`);
});

test('a client that goes away mid-stream cancels the vendor call', async () => {
  const v1 = stack.vendor(1);
  await v1.mode({ mode: 'normal', chunks: 50, delay_ms: 100 });
  const r = await stack.chat(chatBody(), { stream: true });
  assert.equal(r.status, 200);
  let seen = 0;
  await new Promise((resolve) => {
    r.res.setEncoding('utf8');
    let buf = '';
    r.res.on('data', (c) => {
      buf += c;
      seen = buf.split('\n\n').length - 1;
      if (seen >= 2) {
        r.res.destroy();
        resolve();
      }
    });
    r.res.on('close', resolve);
  });
  assert.ok(seen >= 2);
  const t0 = performance.now();
  await waitFor(async () => (await v1.stats()).aborted === 1, { timeout: 1500, what: 'vendor to see the call aborted' });
  const elapsed = performance.now() - t0;
  assert.ok(elapsed < 1500, `abort took ${elapsed} ms`);
  const st = await v1.stats();
  assert.equal(st.requests, 1);
  // The gateway stays healthy.
  await sleep(50);
  const ok = await stack.chat(chatBody());
  assert.equal(ok.status, 200);
  assert.equal(ok.json.choices[0].message.content, 'v1 says hello');
});

for (const stream of [false, true]) {
  test(`a client that goes away while the vendor is silent (${stream ? 'stream' : 'non-stream'}) cancels the call, without failover`, async () => {
    const v1 = stack.vendor(1);
    await v1.mode({ mode: 'hang' });
    const r = rawRequest({ port: stack.gatewayPort, method: 'POST', path: '/v1/chat/completions',
      headers: stack.authHeaders(), body: chatBody({ stream }) });
    r.catch(() => {});
    await waitFor(async () => (await v1.stats()).requests === 1, { timeout: 1000, what: 'the vendor to get the call' });
    await sleep(200);
    const tAbort = performance.now();
    r.abort();
    await waitFor(async () => (await v1.stats()).aborted === 1, { timeout: 1000, what: 'the hung vendor call to be cancelled' });
    const took = performance.now() - tAbort;
    assert.ok(took < 1000, `cancelled ${took.toFixed(0)} ms after the client left`);
    await sleep(1600);  // past the 1.5 s first-byte timeout: nothing may fail over for a client that is gone
    assert.equal((await stack.vendor(2).stats()).requests, 0, 'no failover for a client that went away');
    assert.equal((await stack.vendor(3).stats()).requests, 0);
  });
}
