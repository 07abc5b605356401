// The artifacts app's HTTP API (docs/web-api.md) against the real server, a real sandbox kernel and the fake
// LLM provider: access control, chat turns streamed as the AI SDK UI message stream, history, hand-run cells,
// files, stop, and clear errors for bad input.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { createServer } from 'node:net';

import { startFakeLlm } from '../chat/fake_llm.mjs';
import { finalOutputs, login, readUiStream, startApp, textOf } from './app_harness.mjs';

const chatId = () => `chat-${Math.random().toString(36).slice(2, 10)}`;
const userMessage = (text, parts = []) => ({
  id: `u-${Math.random().toString(36).slice(2, 10)}`,
  role: 'user',
  parts: [{ type: 'text', text }, ...parts],
});

describe('the app API', () => {
  let app;
  let cookie;
  const call = (path, init = {}) =>
    fetch(app.url + path, { ...init, headers: { cookie, ...(init.headers ?? {}) } });
  const json = async (path, init) => {
    const response = await call(path, init);
    return { status: response.status, body: await response.json() };
  };
  const turn = (id, text, model = 'anthropic/claude-fake-1', extra = {}) =>
    call('/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, messages: [userMessage(text, extra.parts)], model }),
      signal: extra.signal,
    });

  before(async () => {
    app = await startApp();
    cookie = await login(app);
  });
  after(async () => app?.stop());

  test('nothing but the page itself is reachable without logging in', async () => {
    const page = await fetch(app.url + '/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /text\/html/);
    assert.match(page.headers.get('content-security-policy'), /default-src 'self'/);
    for (const path of ['/api/session', '/api/chats', '/api/config', '/api/files']) {
      const response = await fetch(app.url + path);
      assert.equal(response.status, 401, path);
      const body = await response.json();
      assert.equal(body.code, 401);
      assert.match(body.message, /log in/);
    }
    const wrong = await fetch(app.url + '/login?token=wrong', { redirect: 'manual' });
    assert.equal(wrong.status, 401);
  });

  test('the login link sets a strict, HttpOnly session cookie', async () => {
    const response = await fetch(app.loginLink, { redirect: 'manual' });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/');
    const setCookie = response.headers.get('set-cookie');
    assert.match(setCookie, /^cellblock_session=[0-9a-f]{64}; /);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.doesNotMatch(setCookie, /Secure/);
    const session = await json('/api/session');
    assert.deepEqual(session, { status: 200, body: { user: 'local' } });
    // Behind a TLS-terminating proxy the cookie is Secure.
    const proxied = await fetch(app.loginLink, { redirect: 'manual', headers: { 'x-forwarded-proto': 'https' } });
    assert.match(proxied.headers.get('set-cookie'), /; Secure/);
  });

  test('a cross-site request with the cookie is refused; scripts use the API key', async () => {
    const foreign = await call('/api/chats', { headers: { origin: 'https://evil.example' } });
    assert.equal(foreign.status, 403);
    const byKey = await fetch(app.url + '/api/chats', { headers: { 'x-api-key': app.server.apiKey } });
    assert.equal(byKey.status, 200);
    const badKey = await fetch(app.url + '/api/chats', { headers: { 'x-api-key': 'e2b_' + '0'.repeat(40) } });
    assert.equal(badKey.status, 401);
  });

  test('the configuration lists both providers with the models they report, and no key', async () => {
    const { status, body } = await json('/api/config');
    assert.equal(status, 200);
    assert.deepEqual(body.providers.map((p) => p.id), ['anthropic', 'openai']);
    assert.deepEqual(body.providers[0].models, ['claude-fake-1']);
    assert.deepEqual(body.providers[1].models, ['gpt-fake-1']);
    assert.equal(body.defaultModel, 'anthropic/claude-fake-1');
    assert.doesNotMatch(JSON.stringify(body), /test-key/);
  });

  test('bad turn requests get clear errors', async () => {
    const cases = [
      ['not json', 400, /not valid JSON/],
      [JSON.stringify({ messages: [userMessage('hi')] }), 400, /`id`/],
      [JSON.stringify({ id: 'x', messages: [] }), 400, /`messages`/],
      [JSON.stringify({ id: 'x', messages: [{ role: 'assistant', parts: [] }] }), 400, /user's new message/],
      [JSON.stringify({ id: 'x', messages: [userMessage('hi')], model: 'nope/x' }), 400, /unknown provider/],
      [JSON.stringify({ id: '../etc', messages: [userMessage('hi')] }), 400, /chat id/],
    ];
    for (const [body, status, message] of cases) {
      const response = await call('/api/chat', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      assert.equal(response.status, status, body);
      const error = await response.json();
      assert.equal(error.code, status);
      assert.match(error.message, message);
    }
  });

  test('a text answer streams as the UI message stream and is kept in the history', async () => {
    const id = chatId();
    const response = await turn(id, 'hello there', 'openai/gpt-fake-1');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-vercel-ai-ui-message-stream'), 'v1');
    assert.match(response.headers.get('content-type'), /text\/event-stream/);
    const { chunks, done } = await readUiStream(response);
    assert.ok(done, 'the stream ends with [DONE]');
    assert.equal(chunks[0].type, 'data-chat');
    assert.equal(chunks[0].data.id, id);
    assert.equal(chunks[1].type, 'start');
    assert.equal(textOf(chunks), 'Hello! I can run Python code for you.');
    assert.deepEqual(chunks.at(-1), { type: 'finish', finishReason: 'stop' });

    const list = await json('/api/chats');
    assert.ok(list.body.chats.some((c) => c.id === id && c.title === 'hello there'));
    const detail = await json(`/api/chats/${id}`);
    assert.equal(detail.body.model, 'openai/gpt-fake-1');
    assert.deepEqual(detail.body.messages.map((m) => m.role), ['user', 'assistant']);
    const text = detail.body.messages[1].parts.find((p) => p.type === 'text');
    assert.equal(text.text, 'Hello! I can run Python code for you.');
  });

  test('the model fixes a failing cell, draws a chart, and a follow-up reuses its variables', async () => {
    const id = chatId();
    const { chunks } = await readUiStream(await turn(id, 'calculate pi with Monte Carlo and plot it'));
    const outputs = finalOutputs(chunks);
    assert.equal(outputs.length, 2, JSON.stringify(chunks.filter((c) => c.type.startsWith('tool-output'))));
    assert.equal(outputs[0].error.name, 'NameError');
    assert.equal(outputs[1].error, null);
    assert.match(outputs[1].stdout, /pi ≈ 3\.1\d+ from 100000 samples/);
    const figure = outputs[1].results.find((r) => r.png);
    assert.ok(figure, 'the figure arrives as a PNG');
    assert.ok(figure.chart, 'and as chart data the page can draw');
    assert.equal(figure.chart.type, 'scatter');
    assert.ok(chunks.some((c) => c.type === 'tool-input-delta'), 'the code streams while it is written');
    assert.deepEqual(chunks.at(-1), { type: 'finish', finishReason: 'stop' });

    // The model was told of the error (so it could fix it) and shown the figure.
    const requests = await (await fetch(app.fake.url + '/__requests')).json();
    const last = requests.filter((r) => r.method === 'POST').at(-1);
    const sent = JSON.stringify(last.body);
    assert.match(sent, /"is_error":true/);
    assert.match(sent, /NameError/);
    assert.match(sent, /"media_type":"image\/png"/);

    const follow = await readUiStream(await turn(id, 'now reuse the estimate'));
    const [reuse] = finalOutputs(follow.chunks);
    assert.match(reuse.stdout, /previous estimate: 3\.1\d+/);
  });

  test('provider keys never reach the sandbox', async () => {
    const response = await call('/api/run', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'import os\nprint(sorted(k for k in os.environ if "KEY" in k or "TOKEN" in k))' }),
    });
    const { chunks } = await readUiStream(response);
    const [output] = finalOutputs(chunks);
    assert.equal(output.stdout.trim(), '[]');
  });

  test('files: upload, list, analyse, download', async () => {
    const csv = 'x,y\n1,2\n3,4\n5,6\n';
    const upload = await json('/api/files?path=/home/user/data.csv', { method: 'POST', body: csv });
    assert.equal(upload.status, 200, JSON.stringify(upload.body));
    const listed = await json('/api/files?path=/home/user');
    assert.ok(listed.body.entries.some((e) => e.name === 'data.csv' && e.type === 'file' && e.size === csv.length));

    const id = chatId();
    const file = { type: 'file', mediaType: 'text/csv', filename: 'data.csv', url: 'sandbox:///home/user/data.csv' };
    const { chunks } = await readUiStream(await turn(id, 'analyse the csv I uploaded', undefined, { parts: [file] }));
    const [output] = finalOutputs(chunks);
    assert.equal(output.error, null, JSON.stringify(output.error));
    assert.match(output.stdout, /mean/);
    const requests = await (await fetch(app.fake.url + '/__requests')).json();
    assert.match(JSON.stringify(requests.at(-1).body), /\/home\/user\/data\.csv \(text\/csv\)/);

    const download = await call('/api/files/download?path=/home/user/summary.csv');
    assert.equal(download.status, 200);
    assert.match(download.headers.get('content-disposition'), /attachment; filename="summary.csv"/);
    assert.match(await download.text(), /mean/);

    const missing = await call('/api/files/download?path=/home/user/nope.csv');
    assert.equal(missing.status, 404);
    const sneaky = await json('/api/files?path=/home/user/../../etc');
    assert.equal(sneaky.status, 400);
  });

  test('stop interrupts the running cell, keeps what it printed, and the kernel stays usable', async () => {
    const id = chatId();
    const response = await turn(id, 'run a long sleep loop');
    let printed = false;
    const { chunks, done } = await readUiStream(response, {
      onChunk: (chunk) => {
        if (!printed && chunk.type === 'tool-output-available' && chunk.preliminary && /\b2\n/.test(chunk.output.stdout)) {
          printed = true;
          call(`/api/chat/${id}/stop`, { method: 'POST' }).then((stopped) => assert.equal(stopped.status, 204));
        }
      },
    });
    assert.ok(printed);
    // The stream itself tells the end: the cell's KeyboardInterrupt, then an interrupted finish.
    assert.ok(done);
    assert.equal(finalOutputs(chunks)[0].error.name, 'KeyboardInterrupt');
    assert.deepEqual(chunks.at(-1), { type: 'finish', finishReason: 'interrupted' });
    // The stored answer says it was interrupted and keeps the output so far.
    const answer = (await json(`/api/chats/${id}`)).body.messages.at(-1);
    assert.equal(answer.metadata.finishReason, 'interrupted');
    const tool = answer.parts.find((p) => p.type === 'tool-run_code');
    assert.equal(tool.output.error.name, 'KeyboardInterrupt');
    assert.match(tool.output.stdout, /^0\n1\n2\n/);
    const again = await call(`/api/chat/${id}/stop`, { method: 'POST' });
    assert.equal(again.status, 404, 'nothing is left to stop');
    assert.match((await again.json()).message, /no answer is streaming/);

    const hand = await readUiStream(await call('/api/run', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ chatId: id, code: 'print("still here")' }),
    }));
    assert.equal(finalOutputs(hand.chunks)[0].stdout, 'still here\n');
    const stored = (await json(`/api/chats/${id}`)).body;
    assert.equal(stored.messages.length, 3, 'the hand-run cell joins the conversation');
  });

  test('a turn outlives its connection: a reconnect replays what it missed and follows to the end', async () => {
    const id = chatId();
    const controller = new AbortController();
    const first = await turn(id, 'count slowly', undefined, { signal: controller.signal });
    let messageId;
    await readUiStream(first, {
      onChunk: (chunk) => {
        if (chunk.type === 'start') messageId = chunk.messageId;
        if (chunk.type === 'tool-output-available' && /^0\n1\n/.test(chunk.output.stdout ?? '')) {
          controller.abort();  // the page goes away (a reload, a phone asleep)
          return false;
        }
      },
    }).catch((error) => {
      if (error.name !== 'AbortError') throw error;
    });
    assert.ok(messageId);
    assert.equal((await json(`/api/chats/${id}`)).body.answering, true, 'the history says the answer is being written');

    const resumed = await call(`/api/chat/${id}/stream`);
    assert.equal(resumed.status, 200);
    assert.equal(resumed.headers.get('x-vercel-ai-ui-message-stream'), 'v1');
    const { chunks, done } = await readUiStream(resumed);
    assert.ok(done);
    // The replay starts at the beginning of the answer and ends with it: nothing was lost in between.
    assert.equal(chunks[0].type, 'data-chat');
    assert.deepEqual(chunks[1], { type: 'start', messageId });
    assert.equal(finalOutputs(chunks)[0].stdout, '0\n1\n2\n3\n4\n5\n6\n7\n');
    assert.match(textOf(chunks), /Counting slowly\.[\s\S]*Counted to 7\./);
    assert.deepEqual(chunks.at(-1), { type: 'finish', finishReason: 'stop' });

    const detail = (await json(`/api/chats/${id}`)).body;
    assert.equal(detail.answering, false);
    const stored = detail.messages.at(-1);
    assert.equal(stored.id, messageId);
    assert.equal(stored.metadata.finishReason, 'stop');
    // Nothing is streaming any more: 204, as the AI SDK's resumable streams expect.
    assert.equal((await call(`/api/chat/${id}/stream`)).status, 204);
    assert.equal((await call('/api/chat/never-started/stream')).status, 204);
  });

  test('each conversation has its own kernel; files are shared; the least recently used kernel goes first', async () => {
    const run = async (chatId, code) => {
      const { chunks } = await readUiStream(await call('/api/run', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ chatId, code }),
      }));
      return finalOutputs(chunks)[0];
    };
    const ids = [chatId(), chatId(), chatId(), chatId(), chatId()];
    assert.equal((await run(ids[0], 'secret = "first"\nopen("/home/user/shared.txt", "w").write("from the first")')).error, null);
    const other = await run(ids[1], 'print(open("/home/user/shared.txt").read())\nprint(secret)');
    assert.equal(other.stdout, 'from the first\n', 'files are shared by the conversations');
    assert.equal(other.error.name, 'NameError', 'variables are not');
    assert.equal((await run(ids[0], 'print(secret)')).stdout, 'first\n');

    // Four kernels per sandbox: a fifth conversation shuts down the one used least recently (ids[1]).
    for (const id of ids.slice(2)) assert.equal((await run(id, `mine = ${JSON.stringify(id)}`)).error, null);
    assert.equal((await run(ids[0], 'print(secret)')).stdout, 'first\n');
    assert.equal((await run(ids[4], 'print(mine)')).stdout, `${ids[4]}\n`);
    const evicted = await run(ids[1], 'print(secret)');
    assert.equal(evicted.error.name, 'NameError', 'the evicted conversation starts a fresh kernel');
    // Deleting a conversation shuts its kernel down with it.
    assert.equal((await call(`/api/chats/${ids[4]}`, { method: 'DELETE' })).status, 204);
  });

  test('a conversation answers one turn at a time', async () => {
    const id = chatId();
    const first = await turn(id, 'run a long sleep loop');
    const second = await turn(id, 'hello');
    assert.equal(second.status, 409);
    assert.match((await second.json()).message, /still answering/);
    assert.equal((await call(`/api/chat/${id}/stop`, { method: 'POST' })).status, 204);
    const { chunks } = await readUiStream(first);
    assert.deepEqual(chunks.at(-1), { type: 'finish', finishReason: 'interrupted' });
  });

  test('deleting a conversation removes it', async () => {
    const id = chatId();
    await readUiStream(await turn(id, 'hello'));
    assert.equal((await call(`/api/chats/${id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await call(`/api/chats/${id}`)).status, 404);
    assert.equal((await call(`/api/chats/${id}`, { method: 'DELETE' })).status, 404);
  });
});

describe('the app without a provider', () => {
  let app;
  let cookie;
  before(async () => {
    app = await startApp({ providers: false, poolSize: 0 });
    cookie = await login(app);
  });
  after(async () => app?.stop());

  test('says how to configure one, and still runs code by hand', async () => {
    const config = await (await fetch(app.url + '/api/config', { headers: { cookie } })).json();
    assert.deepEqual(config.providers, []);
    const response = await fetch(app.url + '/api/chat', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'c1', messages: [userMessage('hi')] }),
    });
    assert.equal(response.status, 503);
    assert.match((await response.json()).message, /ANTHROPIC_API_KEY/);
    const run = await readUiStream(await fetch(app.url + '/api/run', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ code: '6 * 7' }),
    }));
    assert.equal(finalOutputs(run.chunks)[0].results[0].text, '42');
  });
});

describe('a local model server started after cellblock', () => {
  let app;
  let late;
  after(async () => {
    await late?.close();
    await app?.stop();
  });

  test('its models appear once it runs', async () => {
    const port = await freePort();
    app = await startApp({
      poolSize: 0,
      providerList: [
        { id: 'local', kind: 'openai', baseUrl: `http://127.0.0.1:${port}/openai/v1`, apiKey: 'test-key' },
      ],
    });
    const cookie = await login(app);
    const config = async () => (await fetch(app.url + '/api/config', { headers: { cookie } })).json();
    assert.deepEqual((await config()).providers[0].models, []);
    late = await startFakeLlm({ port });
    assert.deepEqual((await config()).providers[0].models, ['gpt-fake-1']);
    assert.equal((await config()).defaultModel, 'local/gpt-fake-1');
  });
});

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

describe('--app-internet off', () => {
  test("the app's sandboxes are created with allow_internet_access false", async () => {
    const app = await startApp({ providers: false, poolSize: 0, serveArgs: ['--app-internet', 'off'] });
    try {
      const headers = { 'x-api-key': app.server.apiKey };
      const upload = await fetch(`${app.url}/api/files?path=/home/user/x.txt`, { method: 'POST', headers, body: 'x' });
      assert.equal(upload.status, 200, await upload.text());
      const listed = await (await fetch(`${app.url}/v2/sandboxes`, { headers })).json();
      assert.equal(listed.length, 1);
      const info = await (await fetch(`${app.url}/sandboxes/${listed[0].sandboxID}`, { headers })).json();
      assert.equal(info.allowInternetAccess, false);
    } finally {
      await app.stop();
    }
  });
});
