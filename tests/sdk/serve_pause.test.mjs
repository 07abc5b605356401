// Pause and resume with the official SDKs against `cellblock serve` (e2b-lifecycle.md): a paused sandbox is
// frozen (no CPU, memory kept), unreachable and listed as paused; connecting resumes it with its kernel's
// variables, its files and its tokens; a timeout can pause instead of kill, and traffic can resume it; a paused
// sandbox survives a restart of the server; every error answers as E2B does.

import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Sandbox, SandboxNotFoundError } from '@e2b/code-interpreter';

import { controlCall, randomTag, readHandle, reapLeftovers, startServer, waitFor } from './serve_harness.mjs';

const suite = `pause-${randomTag()}`;
let server;

before(async () => {
  server = await startServer({ poolSize: 1 });
});

after(async () => {
  await server?.stop();
});

function api(method, path, body) {
  return controlCall(server, method, path, body);
}

function freezerState(id) {
  const handle = readHandle(server.stateDir, id);
  const group = handle.cgroups.find((g) => g.includes('/freezer/'));
  assert.ok(group, `no freezer cgroup in ${JSON.stringify(handle.cgroups)}`);
  return readFileSync(join(group, 'freezer.state'), 'utf8').trim();
}

function cpuUsageNs(id) {
  const handle = readHandle(server.stateDir, id);
  const group = handle.cgroups.find((g) => g.includes('/cpuacct/'));
  return Number(readFileSync(join(group, 'cpuacct.usage'), 'utf8'));
}

describe('pause with memory', { timeout: 180_000 }, () => {
  test('pause → not running, frozen, listed paused → connect → variables, files and tokens kept', async () => {
    const sbx = await Sandbox.create({ metadata: { suite, case: 'basic' }, envs: { TEST_VAR: 'kept' } });
    try {
      assert.equal((await sbx.runCode('x = 41\nimport threading, time\nticks = [0]\n'
                                      + 'def tick():\n    while True:\n        ticks[0] += 1\n        time.sleep(0.01)\n'
                                      + 'threading.Thread(target=tick, daemon=True).start()')).error, undefined);
      await sbx.files.write('/home/user/before-pause.txt', 'written before the pause');

      assert.equal(await sbx.pause(), true);
      assert.equal(await sbx.isRunning(), false);
      assert.equal(freezerState(sbx.sandboxId), 'FROZEN');
      const info = await sbx.getInfo();
      assert.equal(info.state, 'paused');
      assert.deepEqual(info.lifecycle, { onTimeout: 'kill', autoResume: false });
      const listed = await Sandbox.list({ query: { state: ['paused'], metadata: { suite, case: 'basic' } } })
        .nextItems();
      assert.deepEqual(listed.map((s) => s.sandboxId), [sbx.sandboxId]);
      const running = await Sandbox.list({ query: { state: ['running'], metadata: { suite, case: 'basic' } } })
        .nextItems();
      assert.equal(running.length, 0);

      // No CPU while frozen, although a thread was ticking.
      const cpuBefore = cpuUsageNs(sbx.sandboxId);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(cpuUsageNs(sbx.sandboxId), cpuBefore, 'a frozen sandbox used CPU');

      // Pausing again: E2B's 409, which the SDK reports as false.
      assert.equal(await Sandbox.pause(sbx.sandboxId), false);
      const again = await api('POST', `/sandboxes/${sbx.sandboxId}/pause`, {});
      assert.equal(again.status, 409);
      assert.equal(again.json.code, 409);
      assert.match(again.json.message, /is already paused/);
      // A paused sandbox's timeout cannot be set (E2B: 404).
      await assert.rejects(sbx.setTimeout(60_000), SandboxNotFoundError);

      const resumed = await Sandbox.connect(sbx.sandboxId);
      assert.equal(await resumed.isRunning(), true);
      assert.equal(freezerState(sbx.sandboxId), 'THAWED');
      assert.equal((await resumed.runCode('x + 1')).text, '42');
      assert.equal((await resumed.runCode('ticks[0] > 0')).text, 'True');
      assert.equal(await resumed.files.read('/home/user/before-pause.txt'), 'written before the pause');
      assert.equal((await resumed.commands.run('echo $TEST_VAR')).stdout.trim(), 'kept');
      // The first handle's tokens still work: the resume kept them.
      assert.equal((await sbx.runCode('x')).text, '41');
      assert.equal((await sbx.getInfo()).state, 'running');
    } finally {
      await sbx.kill();
    }
  });

  test('connect answers 201 for a resume and 200 for a running sandbox; /resume refuses a running one', async () => {
    const sbx = await Sandbox.create({ metadata: { suite, case: 'status' } });
    try {
      const token = (await api('GET', `/sandboxes/${sbx.sandboxId}`)).json.envdAccessToken;
      assert.equal((await api('POST', `/v2/sandboxes/${sbx.sandboxId}/connect`, {})).status, 200);
      assert.equal((await api('POST', `/sandboxes/${sbx.sandboxId}/pause`)).status, 204);
      const reboot = await api('POST', `/v2/sandboxes/${sbx.sandboxId}/connect`, { memory: false });
      assert.equal(reboot.status, 201, 'memory:false boots it anew on its files, never a memory restore');
      assert.equal(reboot.json.envdAccessToken, token, 'a reboot keeps the token');
      assert.equal((await api('POST', `/sandboxes/${sbx.sandboxId}/pause`)).status, 204);
      const resumed = await api('POST', `/v2/sandboxes/${sbx.sandboxId}/connect`, { timeout: 60 });
      assert.equal(resumed.status, 201);
      assert.equal(resumed.json.sandboxID, sbx.sandboxId);
      assert.equal(resumed.json.envdAccessToken, token, 'a resume keeps the token');
      const running = await api('POST', `/sandboxes/${sbx.sandboxId}/resume`, {});
      assert.equal(running.status, 409);
      assert.match(running.json.message, /is already running/);
      assert.equal((await api('POST', `/sandboxes/${sbx.sandboxId}/pause`)).status, 204);
      assert.equal((await api('POST', `/sandboxes/${sbx.sandboxId}/resume`, {})).status, 201);
      assert.equal((await sbx.runCode('1 + 1')).text, '2');
    } finally {
      await sbx.kill();
    }
  });

  test('errors: unknown ids 404, a killed sandbox cannot be paused or resumed, bad bodies 400', async () => {
    assert.equal((await api('POST', '/sandboxes/nosuchsandbox0000000/pause', {})).status, 404);
    await assert.rejects(Sandbox.connect('nosuchsandbox0000000'), SandboxNotFoundError);
    const sbx = await Sandbox.create({ metadata: { suite, case: 'errors' } });
    assert.equal((await api('POST', `/sandboxes/${sbx.sandboxId}/pause`, { memory: 'yes' })).status, 400);
    assert.equal((await api('POST', `/sandboxes/${sbx.sandboxId}/pause`, { surprise: 1 })).status, 400);
    await sbx.kill();
    const gone = await api('POST', `/sandboxes/${sbx.sandboxId}/pause`, {});
    assert.equal(gone.status, 404);
    assert.match(gone.json.message, /doesn't exist or you don't have access to it/);
    await assert.rejects(Sandbox.connect(sbx.sandboxId), SandboxNotFoundError);
    await assert.rejects(Sandbox.pause(sbx.sandboxId), SandboxNotFoundError);
  });

  test('killing a paused sandbox removes it', async () => {
    const sbx = await Sandbox.create({ metadata: { suite, case: 'kill-paused' } });
    assert.equal(await sbx.pause(), true);
    assert.equal(await Sandbox.kill(sbx.sandboxId), true);
    await assert.rejects(sbx.getInfo(), SandboxNotFoundError);
    assert.ok(await waitFor(() => !readHandle(server.stateDir, sbx.sandboxId), { timeoutMs: 10_000 }),
              'the paused sandbox was not cleaned up');
  });
});

describe('the timeout pauses, traffic resumes', { timeout: 120_000 }, () => {
  test('onTimeout pause: paused about a second after its timeout, then woken by traffic', async () => {
    const sbx = await Sandbox.create({
      metadata: { suite, case: 'auto' },
      timeoutMs: 3000,
      lifecycle: { onTimeout: 'pause', autoResume: true },
    });
    try {
      assert.equal((await sbx.runCode('y = "still here"')).error, undefined);
      assert.deepEqual((await sbx.getInfo()).lifecycle, { onTimeout: 'pause', autoResume: true });
      await new Promise((r) => setTimeout(r, 5000));
      const info = await Sandbox.getInfo(sbx.sandboxId);
      assert.equal(info.state, 'paused', 'the timeout paused the sandbox instead of killing it');
      assert.equal(freezerState(sbx.sandboxId), 'FROZEN');
      // Any traffic wakes it (the SDK sees nothing special); the kernel kept its variables.
      assert.equal((await sbx.runCode('y')).text, 'still here');
      const woken = await Sandbox.getInfo(sbx.sandboxId);
      assert.equal(woken.state, 'running');
      assert.ok(woken.endAt.getTime() - Date.now() > 250_000, 'an auto-resumed sandbox gets at least 5 minutes');
    } finally {
      await sbx.kill();
    }
  });

  test('onTimeout pause without autoResume: traffic gets the 502, an explicit connect resumes', async () => {
    const sbx = await Sandbox.create({ metadata: { suite, case: 'manual' }, timeoutMs: 2000,
                                       lifecycle: { onTimeout: 'pause' } });
    try {
      assert.ok(await waitFor(async () => (await Sandbox.getInfo(sbx.sandboxId)).state === 'paused',
                              { timeoutMs: 10_000 }));
      assert.equal(await sbx.isRunning(), false);
      const res = await fetch(`${server.url}/health`, { headers: { 'E2b-Sandbox-Id': sbx.sandboxId } });
      assert.equal(res.status, 502);
      await sbx.connect();
      assert.equal(await sbx.isRunning(), true);
    } finally {
      await sbx.kill();
    }
  });

  test('auto-resume needs the sandbox token on envd traffic (403 otherwise)', async () => {
    const sbx = await Sandbox.create({ metadata: { suite, case: 'token' }, lifecycle: { onTimeout: 'pause',
                                                                                           autoResume: true } });
    try {
      assert.equal(await sbx.pause(), true);
      const res = await fetch(`${server.url}/envs`, {
        headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983', 'X-Access-Token': 'wrong' },
      });
      assert.equal(res.status, 403);
      assert.deepEqual(await res.json(), {
        sandboxId: sbx.sandboxId,
        message: "This sandbox can't be resumed with the credentials provided. Check your access token and try again.",
        code: 403,
      });
      assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'paused');
    } finally {
      await sbx.kill();
    }
  });
});

describe('a paused sandbox survives a restart of the server', { timeout: 240_000 }, () => {
  test('still paused after the restart, then resumed with its variables', async () => {
    const sbx = await Sandbox.create({ metadata: { suite, case: 'restart' } });
    assert.equal((await sbx.runCode('z = 7 * 6')).error, undefined);
    assert.equal(await sbx.pause(), true);
    const stateDir = server.stateDir;
    const apiKey = server.apiKey;
    await server.stop({ keepState: true });
    server = await startServer({ poolSize: 1, stateDir, apiKey });
    try {
      assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'paused');
      assert.equal(freezerState(sbx.sandboxId), 'FROZEN');
      const resumed = await Sandbox.connect(sbx.sandboxId);
      assert.equal((await resumed.runCode('z')).text, '42');
      await resumed.kill();
    } finally {
      await server.stop();
      reapLeftovers(stateDir);
      rmSync(stateDir, { recursive: true, force: true });
      server = undefined;
    }
  });
});
