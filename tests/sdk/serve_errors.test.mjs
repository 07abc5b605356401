// Bad input to `cellblock serve` gets a clear status and E2B's {code, message} body, and the server keeps serving.
// Plain fetch, so every request is exactly what is written here.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';

import { Sandbox } from '@e2b/code-interpreter';

import { startServer } from './serve_harness.mjs';

let server;
let sandbox;

before(async () => {
  server = await startServer({ poolSize: 1 });
  sandbox = await Sandbox.create();
});

after(async () => {
  if (sandbox) await sandbox.kill().catch(() => false);
  await server?.stop();
});

async function api(method, path, { body, key = server.apiKey, headers = {} } = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(key ? { 'X-API-KEY': key } : {}), 'Content-Type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

function assertError(res, status, pattern) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json?.code, status, `body must carry the numeric code: ${res.text}`);
  assert.equal(typeof res.json?.message, 'string');
  if (pattern) assert.match(res.json.message, pattern);
}

test('missing or wrong API key → 401', async () => {
  assertError(await api('GET', '/v2/sandboxes', { key: '' }), 401, /X-API-KEY/);
  assertError(await api('GET', '/v2/sandboxes', { key: 'e2b_' + '0'.repeat(40) }), 401);
});

test('malformed create requests → 400 naming the problem', async () => {
  assertError(await api('POST', '/v2/sandboxes', { body: '{nope' }), 400, /JSON/);
  assertError(await api('POST', '/v2/sandboxes', { body: '[]' }), 400);
  assertError(await api('POST', '/v2/sandboxes', { body: '{}' }), 400, /templateID/);
  assertError(await api('POST', '/v2/sandboxes', { body: JSON.stringify({ templateID: 'no-such-template' }) }), 400,
              /no-such-template/);
  assertError(await api('POST', '/v2/sandboxes', { body: JSON.stringify({ templateID: 'base', timeout: -5 }) }), 400,
              /timeout/);
  assertError(await api('POST', '/v2/sandboxes', { body: JSON.stringify({ templateID: 'base', timeout: 'soon' }) }),
              400, /timeout/);
  assertError(await api('POST', '/v2/sandboxes',
                        { body: JSON.stringify({ templateID: 'base', timeout: 10 * 24 * 3600 }) }), 400, /timeout/);
  assertError(await api('POST', '/v2/sandboxes', { body: JSON.stringify({ templateID: 'base', metadata: { a: 1 } }) }),
              400, /metadata/);
  // autoPause is supported now (E2B accepts it); E2B's own lifecycle validation answers 400.
  assertError(await api('POST', '/v2/sandboxes', { body: JSON.stringify({ templateID: 'base', autoPauseMemory: false }) }),
              400, /autoPauseMemory=false only applies when autoPause is true/);
  assertError(await api('POST', '/v2/sandboxes', { body: JSON.stringify({ templateID: 'base', surprise: 1 }) }), 400,
              /surprise/);
});

// Sends a request whose body is `length` bytes of JSON-ish filler, in pieces, and returns all the server answered.
function rawPost(path, length) {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (data) => { answer += data; });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nX-API-KEY: ${server.apiKey}\r\n` +
                 `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`);
    const piece = 'x'.repeat(64 * 1024);
    let sent = 0;
    const pump = () => {
      while (sent < length) {
        const part = piece.slice(0, Math.min(piece.length, length - sent));
        sent += part.length;
        if (!socket.write(part)) return socket.once('drain', pump);
      }
    };
    pump();
  });
}

test('an oversized body → 413 with Connection: close, read by the client even while it is still sending', async () => {
  // The server answers before the body has arrived and does not read the rest: the answer says the connection
  // ends (so no client sends another request on it), and the server drains before closing (so no reset takes
  // the answer away). Repeated, for the races to show.
  const big = JSON.stringify({ templateID: 'base', metadata: { blob: 'x'.repeat(2 * 1024 * 1024) } });
  for (let i = 0; i < 20; i++) assertError(await api('POST', '/v2/sandboxes', { body: big }), 413);
  const answer = await rawPost('/v2/sandboxes', 2 * 1024 * 1024);
  assert.match(answer, /^HTTP\/1\.1 413 /);
  assert.match(answer, /\r\nConnection: close\r\n/i);
});

test('bad list queries → 400', async () => {
  assertError(await api('GET', '/v2/sandboxes?metadata=' + encodeURIComponent('a=b=c')), 400);
  assertError(await api('GET', '/v2/sandboxes?state=sleeping'), 400, /sleeping/);
  assertError(await api('GET', '/v2/sandboxes?order=sideways'), 400, /order/);
  assertError(await api('GET', '/v2/sandboxes?limit=0'), 400, /limit/);
  assertError(await api('GET', '/v2/sandboxes?nextToken=garbage'), 400);
  assertError(await api('GET', '/v2/sandboxes?startedAfter=yesterday'), 400);
});

test('unknown sandboxes: 404 JSON on the API, 502 sandbox JSON on the proxy', async () => {
  assertError(await api('GET', '/sandboxes/nosuchsandbox0000000'), 404);
  assertError(await api('DELETE', '/sandboxes/nosuchsandbox0000000'), 404);
  assertError(await api('POST', '/sandboxes/nosuchsandbox0000000/timeout', { body: '{"timeout":10}' }), 404);
  assertError(await api('POST', '/v2/sandboxes/nosuchsandbox0000000/connect', { body: '{}' }), 404);
  const proxied = await api('GET', '/health', { headers: { 'E2b-Sandbox-Id': 'nosuchsandbox0000000' } });
  assert.equal(proxied.status, 502);
  assert.deepEqual(proxied.json, { sandboxId: 'nosuchsandbox0000000', message: 'The sandbox was not found', code: 502 });
  assertError(await api('GET', '/no/such/route'), 404);
});

test('internal agent routes are not reachable through the proxy', async () => {
  const res = await api('POST', '/init', {
    body: JSON.stringify({ accessToken: 'stolen' }),
    headers: { 'E2b-Sandbox-Id': sandbox.sandboxId, 'E2b-Sandbox-Port': '49983' },
  });
  assert.equal(res.status, 404);
  const run = await sandbox.runCode('1 + 1');
  assert.equal(run.text, '2', 'the sandbox still answers with its real token');
});

test('sandbox traffic without the access token → 401', async () => {
  const res = await api('GET', '/envs', { key: '', headers: { 'E2b-Sandbox-Id': sandbox.sandboxId } });
  assert.equal(res.status, 401);
});

test('orphaned processes are reaped by the agent (PID 1)', async () => {
  await sandbox.commands.run('for i in 1 2 3 4 5; do (sleep 0.1 &) ; done; sleep 0.5');
  await new Promise((resolve) => setTimeout(resolve, 500));
  const zombies = await sandbox.commands.run("ps -eo stat= | grep -c '^Z' || true");
  assert.equal(zombies.stdout.trim(), '0', 'zombies left in the sandbox');
});

test('the server still serves after all of the above', async () => {
  const res = await api('GET', '/v2/sandboxes');
  assert.equal(res.status, 200);
  assert.ok(res.json.some((s) => s.sandboxID === sandbox.sandboxId));
});
