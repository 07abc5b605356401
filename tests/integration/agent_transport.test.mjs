// The agent as a sandbox runs it: both services on one Unix socket (routed by E2b-Sandbox-Port), an access token
// from the environment, E2B's signed file URLs. Plain HTTP over the socket, no SDK.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const agentBin = process.env.CELLBLOCK_AGENT ||
    fileURLToPath(new URL('../../build/dev/src/agent/cellblock-agent', import.meta.url));
const kToken = 'tok-' + Math.random().toString(16).slice(2);
let agent;
let dir;
let socketPath;

function request(method, path, { port = 49983, headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, headers: { 'E2b-Sandbox-Port': String(port), ...headers } },
                             (res) => {
                               const chunks = [];
                               res.on('data', (c) => chunks.push(c));
                               res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
                                                             text: Buffer.concat(chunks).toString('utf8') }));
                             });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function signature(path, operation, username, expiration) {
  const text = `${path}:${operation}:${username}:${kToken}` + (expiration === undefined ? '' : `:${expiration}`);
  return 'v1_' + createHash('sha256').update(text).digest('base64').replace(/=+$/, '');
}

before(async () => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'cellblock-transport-')));
  socketPath = join(dir, 'agent.sock');
  agent = spawn(agentBin, ['--listen', '', '--unix-socket', socketPath, '--workdir', dir, '--env', 'SANDBOX_LEVEL=yes'],
                { env: { ...process.env, CELLBLOCK_ACCESS_TOKEN: kToken }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  agent.stderr.on('data', (c) => { stderr += c; });
  await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('agent not ready:\n' + stderr)), 60_000);
    agent.stdout.on('data', (c) => {
      out += c;
      if (/^ready$/m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    agent.once('exit', (code) => reject(new Error(`agent exited (${code}):\n${stderr}`)));
  });
});

after(async () => {
  agent.kill('SIGTERM');
  await new Promise((resolve) => agent.once('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
});

test('the token is not visible to sandboxed code', async () => {
  const res = await request('POST', '/execute', { port: 49999, headers: { 'X-Access-Token': kToken },
                                                  body: JSON.stringify({ code: 'import os; os.environ.get("CELLBLOCK_ACCESS_TOKEN", "absent")' }) });
  const lines = res.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.find((l) => l.type === 'result').text, 'absent');
});

test('routes by E2b-Sandbox-Port on one socket', async () => {
  assert.equal((await request('GET', '/health', { port: 49983 })).status, 204);
  const interpreter = await request('GET', '/health', { port: 49999 });
  assert.equal(interpreter.status, 200);
  const other = await request('GET', '/', { port: 8000 });
  assert.equal(other.status, 502);
  assert.equal(JSON.parse(other.text).code, 502);
  const missing = await new Promise((resolve, reject) => {
    http.get({ socketPath, path: '/health' }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); })
        .on('error', reject);
  });
  assert.equal(missing, 400);
});

test('envd routes need the access token', async () => {
  const denied = await request('GET', '/envs');
  assert.equal(denied.status, 401);
  assert.deepEqual(JSON.parse(denied.text),
                   { code: 401, message: 'unauthorized access, please provide a valid access token or method signing if supported' });
  const wrong = await request('GET', '/envs', { headers: { 'X-Access-Token': kToken + 'x' } });
  assert.equal(wrong.status, 401);
  const allowed = await request('GET', '/envs', { headers: { 'X-Access-Token': kToken } });
  assert.equal(allowed.status, 200);
  assert.deepEqual(JSON.parse(allowed.text), { SANDBOX_LEVEL: 'yes' });
  const rpc = await request('POST', '/filesystem.Filesystem/Stat',
                            { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: dir }) });
  assert.equal(rpc.status, 401);
});

test('/execute needs the token, /contexts does not (as the SDK sends it)', async () => {
  const body = JSON.stringify({ code: '40 + 2' });
  assert.equal((await request('POST', '/execute', { port: 49999, body })).status, 401);
  const ok = await request('POST', '/execute', { port: 49999, body, headers: { 'X-Access-Token': kToken } });
  assert.equal(ok.status, 200);
  const lines = ok.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.find((l) => l.type === 'result').text, '42');
  assert.equal(lines.at(-1).type, 'end_of_execution');
  const contexts = await request('GET', '/contexts', { port: 49999 });
  assert.equal(contexts.status, 200);
  assert.ok(JSON.parse(contexts.text).length >= 1);
});

test('files accept the token or a valid signature', async () => {
  const file = join(dir, 'signed.txt');
  writeFileSync(file, 'signed content');
  const q = (params) => '/files?' + new URLSearchParams(params).toString();
  assert.equal((await request('GET', q({ path: file }))).status, 401);
  assert.equal((await request('GET', q({ path: file }), { headers: { 'X-Access-Token': kToken } })).text, 'signed content');
  const good = await request('GET', q({ path: file, signature: signature(file, 'read', '') }));
  assert.equal(good.status, 200);
  assert.equal(good.text, 'signed content');
  const wrongOp = await request('GET', q({ path: file, signature: signature(file, 'write', '') }));
  assert.equal(wrongOp.status, 401);
  const future = Math.floor(Date.now() / 1000) + 600;
  const expiring = await request('GET', q({ path: file, signature: signature(file, 'read', '', future),
                                            signature_expiration: String(future) }));
  assert.equal(expiring.status, 200);
  const past = Math.floor(Date.now() / 1000) - 10;
  const expired = await request('GET', q({ path: file, signature: signature(file, 'read', '', past),
                                           signature_expiration: String(past) }));
  assert.equal(expired.status, 401);
  const upload = await request('POST', q({ path: join(dir, 'up.txt'), signature: signature(join(dir, 'up.txt'), 'write', '') }),
                               { headers: { 'Content-Type': 'application/octet-stream' }, body: 'uploaded' });
  assert.equal(upload.status, 200, upload.text);
  assert.equal(JSON.parse(upload.text)[0].name, 'up.txt');
});

test('other ports are relayed to a server inside the sandbox (web previews)', async () => {
  const server = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    res.end(`preview ${req.method} ${req.url} token=${req.headers['x-access-token'] ?? 'none'}`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  try {
    const res = await request('GET', '/index.html?q=1', { port, headers: { 'X-Access-Token': kToken } });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'preview GET /index.html?q=1 token=none', 'the access token must not reach the app');
  } finally {
    server.close();
  }
  const closed = await request('GET', '/', { port });  // the server is gone now
  assert.equal(closed.status, 502);
});
