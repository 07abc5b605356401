// Restarting `cellblock serve` on the same state directory: running sandboxes are reattached with their kernel
// state; sandboxes that died while the server was down are reaped; nothing is left behind on the host.

import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';

import { Sandbox, SandboxNotFoundError } from '@e2b/code-interpreter';

import {
  killSandboxPid1,
  processStartTime,
  randomTag,
  readHandle,
  reapLeftovers,
  sandboxDirs,
  sandboxProcesses,
  startServer,
  waitFor,
  waitForSettledSandboxes,
} from './serve_harness.mjs';

const suite = `restart-${randomTag()}`;
const servers = [];
const stateDirs = new Set();

function running(handle) {
  return processStartTime(handle.pid) === handle.pid_start_time;
}

async function listAll(query) {
  const paginator = Sandbox.list({ query });
  const items = [];
  while (paginator.hasNext) items.push(...(await paginator.nextItems()));
  return items;
}

async function start(opts) {
  const server = await startServer(opts);
  servers.push(server);
  stateDirs.add(server.stateDir);
  return server;
}

after(async () => {
  // Whatever a failed test left: the last server of each state directory kills and cleans up.
  for (const server of servers.reverse()) {
    if (server.alive()) await server.stop();
  }
  for (const dir of stateDirs) {
    reapLeftovers(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('restart on the same state directory', { timeout: 240_000 }, () => {
  test('a running sandbox is reattached with its kernel state; one killed meanwhile is reaped', async (t) => {
    const first = await start({ poolSize: 1 });
    const stateDir = first.stateDir;
    const keep = await Sandbox.create({ metadata: { suite, role: 'keep' }, envs: { KEPT: 'yes' } });
    const lose = await Sandbox.create({ metadata: { suite, role: 'lose' } });
    assert.equal((await keep.runCode('x = 41')).error, undefined);
    await keep.files.write('/home/user/kept.txt', 'still here');
    assert.equal((await lose.runCode('1 + 1')).text, '2');
    const keepInfo = await keep.getInfo();
    const keepHandle = readHandle(stateDir, keep.sandboxId);
    const loseHandle = readHandle(stateDir, lose.sandboxId);
    assert.ok(keepHandle && loseHandle, 'no handle.json for a claimed sandbox');
    // Stop with a full, idle warm pool: a stop racing a pool boot is covered in 'stopping' below.
    assert.ok(await waitForSettledSandboxes(stateDir, 3), 'the warm pool did not settle');

    const stopped = await first.stop({ keepState: true });
    t.diagnostic(`first server stopped in ${stopped.stopMs} ms (exit ${JSON.stringify(stopped.exit)})`);
    assert.equal(stopped.killedBySigkill, false, 'the server did not stop on SIGTERM');
    assert.deepEqual(stopped.exit, { code: 0, signal: null });
    assert.ok(running(keepHandle) && running(loseHandle), 'claimed sandboxes must survive a server stop');

    // While the server is down, one sandbox dies.
    assert.equal(killSandboxPid1(stateDir, lose.sandboxId), true);
    assert.ok(await waitFor(() => !running(loseHandle), { timeoutMs: 10_000 }), 'PID 1 survived SIGKILL');

    // Same port: the SDK objects created before the restart keep their sandbox URL.
    const second = await start({ poolSize: 1, stateDir, apiKey: first.apiKey, port: first.port });
    const listed = await listAll({ metadata: { suite } });
    assert.deepEqual(listed.map((i) => i.sandboxId), [keep.sandboxId], 'after the restart');
    assert.equal(listed[0].state, 'running');
    assert.equal(listed[0].startedAt.getTime(), keepInfo.startedAt.getTime(), 'startedAt changed');
    assert.equal(listed[0].endAt.getTime(), keepInfo.endAt.getTime(), 'endAt changed');

    // The old client object (old envd token) and a freshly connected one both reach the same kernel.
    assert.equal(await keep.isRunning(), true);
    const again = await Sandbox.connect(keep.sandboxId);
    const ex = await again.runCode('x + 1');
    assert.equal(ex.error, undefined, JSON.stringify(ex.error));
    assert.equal(ex.text, '42', 'kernel state lost across the restart');
    assert.equal((await keep.runCode('x + 2')).text, '43');
    assert.equal(await again.files.read('/home/user/kept.txt'), 'still here');
    assert.equal((await keep.commands.run('echo $KEPT')).stdout, 'yes\n');

    // The lost one: not listed, not found, its directory and cgroups gone.
    await assert.rejects(Sandbox.getInfo(lose.sandboxId), SandboxNotFoundError);
    assert.equal(await Sandbox.kill(lose.sandboxId), false);
    assert.equal(await lose.isRunning(), false);
    assert.ok(!sandboxDirs(stateDir).includes(lose.sandboxId), `directory of ${lose.sandboxId} left behind`);
    for (const group of loseHandle.cgroups) assert.equal(existsSync(group), false, `cgroup ${group} left behind`);

    // Killing the reattached one works and removes its directory.
    assert.equal(await keep.kill(), true);
    assert.equal(await keep.isRunning(), false);
    assert.ok(await waitFor(() => !running(keepHandle), { timeoutMs: 10_000 }));
    assert.ok(!sandboxDirs(stateDir).includes(keep.sandboxId), `directory of ${keep.sandboxId} left behind`);
    assert.deepEqual(await listAll({ metadata: { suite } }), []);

    assert.ok(await waitForSettledSandboxes(stateDir, 1), 'the warm pool did not settle');
    const final = await second.stop({ keepState: true });
    assert.equal(final.killedBySigkill, false, 'the second server did not stop on SIGTERM');
    assert.deepEqual(sandboxDirs(stateDir), [], 'sandbox directories left after a clean stop');
  });

  test('a sandbox past its end time while the server was down is reaped at the next start', async () => {
    const first = await start({ poolSize: 1 });
    const stateDir = first.stateDir;
    const s = await Sandbox.create({ metadata: { suite, role: 'expire' }, timeoutMs: 4_000 });
    const handle = readHandle(stateDir, s.sandboxId);
    assert.ok(await waitForSettledSandboxes(stateDir, 2), 'the warm pool did not settle');
    const stopped = await first.stop({ keepState: true });
    assert.equal(stopped.killedBySigkill, false, 'the server did not stop on SIGTERM');
    assert.ok(running(handle), 'the sandbox must survive the stop');
    await new Promise((r) => setTimeout(r, 5_000)); // its end time passes while nobody watches
    const second = await start({ poolSize: 1, stateDir, apiKey: first.apiKey });
    assert.deepEqual(await listAll({ metadata: { suite, role: 'expire' } }), []);
    await assert.rejects(Sandbox.getInfo(s.sandboxId), SandboxNotFoundError);
    assert.equal(running(handle), false, 'an expired sandbox still runs after the restart');
    assert.ok(!sandboxDirs(stateDir).includes(s.sandboxId));
    assert.ok(await waitForSettledSandboxes(stateDir, 1), 'the warm pool did not settle');
    const final = await second.stop({ keepState: true });
    assert.equal(final.killedBySigkill, false);
    assert.deepEqual(sandboxDirs(stateDir), []);
  });
});

describe('stopping', { timeout: 120_000 }, () => {
  test('SIGTERM while the warm pool is booting stops promptly and leaves no sandbox process', async (t) => {
    const server = await start({ poolSize: 2 });
    // The pool starts filling right after the listening line; stop in the middle of a boot.
    await waitFor(() => sandboxDirs(server.stateDir).length > 0, { timeoutMs: 5_000, intervalMs: 20 });
    const dirs = sandboxDirs(server.stateDir);
    const result = await server.stop({ keepState: true, killSandboxes: false });
    t.diagnostic(`stopped in ${result.stopMs} ms with pool sandboxes ${dirs.join(', ')} booting`);
    const survivors = sandboxDirs(server.stateDir).map((id) => {
      const handle = readHandle(server.stateDir, id);
      return `${id}: ${handle ? 'handle' : 'no handle'}, host pids [${sandboxProcesses(server.stateDir, id)}]`;
    });
    assert.equal(result.killedBySigkill, false, `the server ignored SIGTERM while booting; dirs: ${survivors}`);
    t.diagnostic(`left under sandboxes/: ${survivors.length ? survivors.join('; ') : 'nothing'}`);
    assert.deepEqual(survivors.filter((x) => !/host pids \[\]$/.test(x)), [],
                     'unclaimed pool sandboxes kept running after the server stopped');
  });

  test('repeated start/stop cycles: each server comes up and stops on SIGTERM', async (t) => {
    const timings = [];
    for (let i = 0; i < 4; i++) {
      const server = await start({ poolSize: 2 });
      await new Promise((r) => setTimeout(r, 1_500 + i * 1_500));
      const result = await server.stop({ keepState: true, killSandboxes: false, graceMs: 15_000 });
      const left = sandboxDirs(server.stateDir).filter((id) => sandboxProcesses(server.stateDir, id).length > 0);
      timings.push(`${result.stopMs} ms${result.killedBySigkill ? ' (SIGKILL)' : ''}` +
                   `${left.length ? ` left ${left.join(',')}` : ''}`);
    }
    t.diagnostic(`stop times: ${timings.join('; ')}`);
    assert.ok(timings.every((x) => !/SIGKILL|left/.test(x)), `unclean stops: ${timings.join('; ')}`);
  });
});
