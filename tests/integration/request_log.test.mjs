// lingmo_request_log_size: 0 turns the request log off (no record is written); the usage counters
// are kept regardless. (What a record holds and the listing API: tests/controlplane/logs_budgets.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, chatBody, sleep } from './harness.mjs';

let stack;
before(async () => { stack = await startStack({ vendors: 1, nginxConf: { http: 'lingmo_request_log_size 0;' } }); });
after(async () => { await stack?.stop(); });

test('lingmo_request_log_size 0: requests are served and counted, and no record is written', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await stack.chat(chatBody())).status, 200);
  await sleep(400);  // a flush would have happened by now
  assert.equal(await stack.redis('EXISTS', 'lingmo:log:requests'), '0');
  assert.equal((await stack.usage('v1')).requests, 3);
});
