// e2b 2.51.0 Commands and Pty APIs, unmodified, against cellblock-agent in debug mode.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { CommandExitError, Sandbox, TimeoutError } from 'e2b';

import { startAgent, waitFor, within } from './harness.mjs';

let agent;
let sandbox;

before(async () => {
  agent = await startAgent({ via: 'envd' });
  sandbox = await Sandbox.create();
});

after(async () => {
  await agent?.stop();
});

const pidAlive = (pid) => existsSync(`/proc/${pid}`);

describe('foreground commands', { timeout: 60_000 }, () => {
  test('echo hi', async () => {
    const r = await sandbox.commands.run('echo hi');
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.stderr, '');
  });

  test('stderr is separate from stdout', async () => {
    const r = await sandbox.commands.run('echo out; echo err 1>&2');
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  test('a non-zero exit throws CommandExitError with the exit code and output', async () => {
    const err = await sandbox.commands.run('echo before; exit 3').then(
      () => assert.fail('expected CommandExitError'), (e) => e);
    assert.ok(err instanceof CommandExitError, `got ${err?.name}: ${err?.message}`);
    assert.equal(err.exitCode, 3);
    assert.equal(err.stdout, 'before\n');
  });

  test('envs and cwd options', async () => {
    const env = await sandbox.commands.run('echo "$CB_FOO-$CB_BAR"', { envs: { CB_FOO: 'foo', CB_BAR: 'b a r' } });
    assert.equal(env.stdout, 'foo-b a r\n');
    const dir = join(agent.workdir, 'cmd-cwd');
    mkdirSync(dir);
    const cwd = await sandbox.commands.run('pwd', { cwd: dir });
    assert.equal(cwd.stdout, `${dir}\n`);
    const dflt = await sandbox.commands.run('pwd');
    assert.equal(dflt.stdout, `${agent.workdir}\n`, 'default cwd must be the workdir');
  });

  test('user root is accepted (Authorization: Basic cm9vdDo=)', async () => {
    const r = await sandbox.commands.run('id -un', { user: 'root' });
    assert.equal(r.stdout, 'root\n');
  });

  test('a missing cwd is rejected', async () => {
    await assert.rejects(sandbox.commands.run('pwd', { cwd: join(agent.workdir, 'no/such/dir') }));
  });

  test('onStdout streams while the command runs', async () => {
    const chunks = [];
    const r = await sandbox.commands.run('for i in 1 2 3; do echo line$i; sleep 0.4; done', {
      onStdout: (data) => chunks.push({ data, at: Date.now() }),
    });
    const end = Date.now();
    assert.equal(r.stdout, 'line1\nline2\nline3\n');
    assert.equal(chunks.map((c) => c.data).join(''), 'line1\nline2\nline3\n');
    assert.ok(end - chunks[0].at >= 700, `first chunk came only ${end - chunks[0].at} ms before the end`);
  });

  test('large output is complete', async () => {
    const r = await sandbox.commands.run('head -c 3000000 /dev/zero | tr "\\0" "a"');
    assert.equal(r.stdout.length, 3_000_000);
    assert.ok(/^a+$/.test(r.stdout));
  });
});

describe('background commands', { timeout: 60_000 }, () => {
  test('list shows it, kill returns true, wait rejects', async () => {
    const h = await sandbox.commands.run('sleep 30', { background: true });
    assert.equal(typeof h.pid, 'number');
    assert.ok(pidAlive(h.pid), `pid ${h.pid} is not a live process`);
    const listed = await sandbox.commands.list();
    const entry = listed.find((p) => p.pid === h.pid);
    assert.ok(entry, `pid ${h.pid} missing from ${JSON.stringify(listed)}`);
    assert.equal(entry.cmd, '/bin/bash');
    assert.ok(entry.args.includes('sleep 30'), `args ${JSON.stringify(entry.args)}`);

    assert.equal(await sandbox.commands.kill(h.pid), true);
    await assert.rejects(within(10_000, h.wait(), 'wait after kill'), (e) => e instanceof CommandExitError);
    assert.ok(await waitFor(() => !pidAlive(h.pid), { timeoutMs: 5_000 }), 'killed process still alive');
    const after = await waitFor(async () => {
      const l = await sandbox.commands.list();
      return l.every((p) => p.pid !== h.pid) ? l : null;
    }, { timeoutMs: 5_000 });
    assert.ok(after, 'killed process still listed');
    assert.equal(await sandbox.commands.kill(h.pid), false, 'kill of a gone pid must return false');
  });

  test('stdin: sendStdin and closeStdin', async () => {
    const h = await sandbox.commands.run('cat', { background: true, stdin: true });
    await sandbox.commands.sendStdin(h.pid, 'hello ');
    await h.sendStdin('stdin\n');
    await sandbox.commands.closeStdin(h.pid);
    const r = await within(10_000, h.wait(), 'cat after closeStdin');
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, 'hello stdin\n');
  });

  test('disconnect leaves the process running and connect re-attaches', async () => {
    const marker = join(agent.workdir, 'reattach-marker');
    const h = await sandbox.commands.run(`sleep 1; touch '${marker}'; echo finished`, { background: true });
    await h.disconnect();
    const again = await sandbox.commands.connect(h.pid);
    const r = await within(15_000, again.wait(), 'wait after connect');
    assert.equal(r.exitCode, 0);
    assert.ok(existsSync(marker), 'process did not run to completion after disconnect');
    assert.match(r.stdout, /finished/);
  });

  test('timeoutMs kills a background command and wait rejects with TimeoutError', async () => {
    const started = Date.now();
    const h = await sandbox.commands.run('sleep 10', { background: true, timeoutMs: 2000 });
    await assert.rejects(within(8_000, h.wait(), 'wait with timeoutMs'), TimeoutError);
    assert.ok(Date.now() - started < 8_000);
    assert.ok(await waitFor(() => !pidAlive(h.pid), { timeoutMs: 5_000 }),
              'the agent must kill a process whose Connect-Timeout-Ms elapsed');
  });
});

describe('pty', { timeout: 60_000 }, () => {
  test('create, input, resize, kill', async () => {
    const decoder = new TextDecoder();
    let screen = '';
    const h = await sandbox.pty.create({
      cols: 80,
      rows: 24,
      onData: (d) => {
        screen += decoder.decode(d, { stream: true });
      },
    });
    assert.equal(typeof h.pid, 'number');
    assert.ok(pidAlive(h.pid));

    await sandbox.pty.sendInput(h.pid, new TextEncoder().encode('echo $((6*7))\n'));
    assert.ok(await waitFor(() => /(^|[^0-9*])42\r?\n/.test(screen), { timeoutMs: 10_000 }),
              `no 42 on the terminal: ${JSON.stringify(screen.slice(-500))}`);

    const sizeBefore = screen.length;
    await sandbox.pty.resize(h.pid, { cols: 101, rows: 33 });
    await sandbox.pty.sendInput(h.pid, new TextEncoder().encode('stty size\n'));
    assert.ok(await waitFor(() => screen.slice(sizeBefore).includes('33 101'), { timeoutMs: 10_000 }),
              `stty size did not report 33 101: ${JSON.stringify(screen.slice(sizeBefore))}`);

    assert.equal(await sandbox.pty.kill(h.pid), true);
    await within(10_000, h.wait().catch(() => undefined), 'pty wait after kill');
    assert.ok(await waitFor(() => !pidAlive(h.pid), { timeoutMs: 5_000 }), 'pty process still alive');
  });
});
