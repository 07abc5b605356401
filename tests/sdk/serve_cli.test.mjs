// `cellblock sandbox create|ls|exec|pause|resume|kill` and `cellblock keys` against a running `cellblock serve`.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { serveBinary, startServer } from './serve_harness.mjs';

const run = promisify(execFile);
let server;

before(async () => {
  server = await startServer({ poolSize: 1 });
});

after(async () => {
  await server?.stop();
});

function cli(args, { apiKey = server.apiKey, input } = {}) {
  const child = run(serveBinary(), ['sandbox', '--server', `127.0.0.1:${server.port}`, ...args],
                    { env: { ...process.env, E2B_API_KEY: apiKey }, timeout: 120_000 });
  if (input !== undefined) {
    child.child.stdin.end(input);
  }
  return child;
}

test('create, ls, exec, kill', async () => {
  const { stdout: created } = await cli(['create', '--timeout', '120']);
  const id = created.trim();
  assert.match(id, /^[a-z0-9]{20}$/);

  const { stdout: listing } = await cli(['ls']);
  assert.match(listing, new RegExp(`^${id}\\s+code-interpreter\\s+running`, 'm'));

  const { stdout: printed } = await cli(['exec', id, 'print("hello from", 6 * 7)\n21 * 2']);
  assert.equal(printed, 'hello from 42\n42\n');

  const { stdout: piped } = await cli(['exec', id, '-'], { input: 'import os\nprint(os.getcwd())' });
  assert.equal(piped, '/home/user\n');

  await assert.rejects(cli(['exec', id, '1/0']), (error) => {
    assert.equal(error.code, 1);
    assert.match(error.stderr, /ZeroDivisionError/);
    return true;
  });

  await cli(['exec', id, 'kept = "across the pause"']);
  assert.equal((await cli(['pause', id])).stdout.trim(), `paused ${id}`);
  assert.match((await cli(['ls'])).stdout, new RegExp(`^${id}\\s+code-interpreter\\s+paused`, 'm'));
  await assert.rejects(cli(['pause', id]), (error) => {
    assert.match(error.stderr, /409/);
    assert.match(error.stderr, /already paused/);
    return true;
  });
  assert.equal((await cli(['resume', id, '--timeout', '60'])).stdout.trim(), `resumed ${id}`);
  assert.equal((await cli(['exec', id, 'kept'])).stdout, 'across the pause\n');

  const { stdout: killed } = await cli(['kill', id]);
  assert.equal(killed.trim(), `killed ${id}`);
  await assert.rejects(cli(['kill', id]), (error) => {
    assert.match(error.stderr, /404/);
    return true;
  });
});

test('a wrong key and an unreachable server give clear errors', async () => {
  await assert.rejects(cli(['ls'], { apiKey: 'e2b_' + '1'.repeat(40) }), (error) => {
    assert.match(error.stderr, /401/);
    return true;
  });
  await assert.rejects(run(serveBinary(), ['sandbox', '--server', '127.0.0.1:1', 'ls'], { timeout: 30_000 }),
                       (error) => {
                         assert.match(error.stderr, /cannot reach cellblock serve/);
                         return true;
                       });
});

test('keys create, list and revoke work on the state directory', async () => {
  const keys = (args) => run(serveBinary(), ['keys', '--state-dir', server.stateDir, ...args], { timeout: 30_000 });
  const { stdout: key } = await keys(['create', '--name', 'cli-test']);
  assert.match(key.trim(), /^e2b_[0-9a-f]{40}$/);
  const { stdout: listing } = await keys(['list']);
  assert.match(listing, /cli-test/);
  assert.ok(!listing.includes(key.trim()), 'keys list must never show a key');
  const ok = await fetch(`${server.url}/v2/sandboxes`, { headers: { 'X-API-KEY': key.trim() } });
  assert.equal(ok.status, 200);
  const prefix = key.trim().slice(4, 12);
  await keys(['revoke', prefix]);
  const revoked = await fetch(`${server.url}/v2/sandboxes`, { headers: { 'X-API-KEY': key.trim() } });
  assert.equal(revoked.status, 401);
});
