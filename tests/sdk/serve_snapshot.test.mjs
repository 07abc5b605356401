// Filesystem-only pause and persistent snapshots with the official SDKs against `cellblock serve`
// (e2b-lifecycle.md §3, §4, §7): a sandbox paused without memory has no process left (its cgroups are gone) and
// keeps its files; its resume boots it anew on them with the same id, token and environment. A snapshot is a
// copy of a running sandbox's files taken in an instant; sandboxes started from it have those files and are
// independent of each other; deleting it is refused while sandboxes use it. Both survive a server restart.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Sandbox, SandboxError, SandboxNotFoundError } from '@e2b/code-interpreter';
import { Template } from 'e2b';

import { controlCall, randomTag, readHandle, reapLeftovers, startServer } from './serve_harness.mjs';

const suite = `snapshot-${randomTag()}`;
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

// Files written, changed and deleted in the writable layer (home, /tmp, a template file, a template directory
// replaced by a new one): what a pause on disk or a snapshot must keep exactly.
async function writeFiles(sbx) {
  const script = [
    'set -e',
    'echo home > /home/user/notes.txt && chown user:user /home/user/notes.txt',
    'echo tmp > /tmp/scratch.txt',
    'mkdir -p /home/user/data && head -c 1000000 /dev/urandom > /home/user/data/blob && sha256sum /home/user/data/blob | cut -c1-64 > /home/user/data/blob.sha',
    'rm -f /etc/debian_version',
    'rm -rf /opt/cellblock-probe && mkdir -p /opt/cellblock-probe && echo new > /opt/cellblock-probe/only',
  ].join('\n');
  const result = await sbx.commands.run(`bash -c '${script.replace(/'/g, "'\\''")}'`, { user: 'root' });
  assert.equal(result.exitCode, 0, result.stderr);
  return (await sbx.files.read('/home/user/data/blob.sha')).trim();
}

async function checkFiles(sbx, sha) {
  assert.equal((await sbx.files.read('/home/user/notes.txt')).trim(), 'home');
  assert.equal((await sbx.files.read('/tmp/scratch.txt')).trim(), 'tmp');
  const sum = await sbx.commands.run('sha256sum /home/user/data/blob | cut -c1-64');
  assert.equal(sum.stdout.trim(), sha);
  assert.equal(await sbx.files.exists('/etc/debian_version'), false, 'a deleted template file stays deleted');
  assert.equal((await sbx.files.read('/opt/cellblock-probe/only')).trim(), 'new');
  const owner = await sbx.commands.run('stat -c %U /home/user/notes.txt');
  assert.equal(owner.stdout.trim(), 'user', 'ownership is kept');
}

describe('pause without memory', { timeout: 240_000 }, () => {
  test('pause({keepMemory:false}) ends every process and keeps the files; connect boots it anew', async () => {
    const sbx = await Sandbox.create({ metadata: { suite, case: 'fs' }, envs: { TEST_VAR: 'kept' } });
    try {
      const sha = await writeFiles(sbx);
      assert.equal((await sbx.runCode('x = 41')).error, undefined);
      const handle = readHandle(server.stateDir, sbx.sandboxId);
      assert.ok(handle.cgroups.every((g) => existsSync(g)));

      assert.equal(await sbx.pause({ keepMemory: false }), true);
      assert.equal(await sbx.isRunning(), false);
      assert.equal((await sbx.getInfo()).state, 'paused');
      assert.ok(handle.cgroups.every((g) => !existsSync(g)), 'its processes and their memory are gone');
      assert.equal(existsSync(join(server.stateDir, 'sandboxes', sbx.sandboxId)), false);
      const again = await api('POST', `/sandboxes/${sbx.sandboxId}/pause`, { memory: false });
      assert.equal(again.status, 409);
      assert.match(again.json.message, /is already paused/);

      const resumed = await Sandbox.connect(sbx.sandboxId);
      await checkFiles(resumed, sha);
      const lost = await resumed.runCode('x');
      assert.equal(lost.error?.name, 'NameError', 'a new kernel: memory was not kept');
      assert.equal((await resumed.commands.run('echo $TEST_VAR')).stdout.trim(), 'kept');
      assert.equal((await sbx.runCode('1 + 1')).text, '2', 'the old handle keeps working: same token');
    } finally {
      await sbx.kill();
    }
  });

  test("onTimeout {action:'pause', keepMemory:false}: paused on disk at the timeout, resumed explicitly", async () => {
    const sbx = await Sandbox.create({
      metadata: { suite, case: 'fs-timeout' },
      timeoutMs: 3_000,
      lifecycle: { onTimeout: { action: 'pause', keepMemory: false } },
    });
    try {
      await sbx.files.write('/home/user/at-timeout.txt', 'still here');
      await new Promise((r) => setTimeout(r, 5_000));  // E2B's own test waits 5 s after a 3 s timeout
      assert.equal((await sbx.getInfo()).state, 'paused');
      assert.equal(await sbx.isRunning(), false, 'traffic does not wake a sandbox paused on disk');
      const resumed = await Sandbox.connect(sbx.sandboxId, { timeoutMs: 60_000 });
      assert.equal(await resumed.files.read('/home/user/at-timeout.txt'), 'still here');
    } finally {
      await sbx.kill();
    }
  });
});

describe('snapshots', { timeout: 300_000 }, () => {
  test('create, list, start from it (independent copies), refuse to delete while used, delete', async () => {
    const name = `snap-${randomTag(3)}`;
    const source = await Sandbox.create({ metadata: { suite, case: 'snap' } });
    try {
      const sha = await writeFiles(source);
      assert.equal((await source.runCode('y = 6 * 7')).error, undefined);
      const snap = await source.createSnapshot({ name });
      assert.equal(snap.snapshotId, `cellblock/${name}:default`);
      assert.deepEqual(snap.names, [`cellblock/${name}`]);
      assert.equal((await source.runCode('y')).text, '42', 'the sandbox runs on with its memory');
      const unnamed = await Sandbox.createSnapshot(source.sandboxId);
      assert.match(unnamed.snapshotId, /^[a-z0-9]{20}:default$/);
      assert.deepEqual(unnamed.names, []);

      const mine = await source.listSnapshots().nextItems();
      assert.deepEqual(mine.map((s) => s.snapshotId), [unnamed.snapshotId, snap.snapshotId], 'newest first');
      const byName = await Sandbox.listSnapshots({ name }).nextItems();
      assert.deepEqual(byName.map((s) => s.snapshotId), [snap.snapshotId]);
      assert.deepEqual(await Sandbox.listSnapshots({ name: 'no-such-snapshot' }).nextItems(), []);
      assert.equal(await Template.exists(name), true, 'a snapshot is a template');
      assert.equal(await Template.exists(snap.snapshotId), true);

      const first = await Sandbox.create(snap.snapshotId, { metadata: { suite, case: 'from-snap' } });
      const second = await Sandbox.create(unnamed.snapshotId, { metadata: { suite, case: 'from-snap' } });
      try {
        await checkFiles(first, sha);
        await checkFiles(second, sha);
        assert.equal((await api('GET', `/sandboxes/${second.sandboxId}`)).json.templateID,
                     unnamed.snapshotId.split(':')[0], "its template is the snapshot's");
        await first.files.write('/home/user/notes.txt', 'changed in the first');
        assert.equal((await second.files.read('/home/user/notes.txt')).trim(), 'home', 'copies are independent');
        assert.equal((await source.files.read('/home/user/notes.txt')).trim(), 'home');
        await assert.rejects(Sandbox.deleteSnapshot(snap.snapshotId), (e) => {
          assert.ok(e instanceof SandboxError, String(e));
          assert.match(e.message, /because there are running sandboxes using it/);
          return true;
        });
      } finally {
        await first.kill();
        await second.kill();
      }
      assert.equal(await Sandbox.deleteSnapshot(snap.snapshotId), true);
      assert.equal(await Sandbox.deleteSnapshot(snap.snapshotId), false);
      assert.equal(await Template.exists(name), false);
      assert.equal(await Sandbox.deleteSnapshot(unnamed.snapshotId), true);
      await assert.rejects(Sandbox.create(snap.snapshotId), /does not exist/);
    } finally {
      await source.kill();
    }
  });

  test('errors: a paused or unknown sandbox, a bad name, another team namespace', async () => {
    const sbx = await Sandbox.create({ metadata: { suite, case: 'snap-errors' } });
    try {
      const badName = await api('POST', `/sandboxes/${sbx.sandboxId}/snapshots`, { name: 'has space' });
      assert.equal(badName.status, 400);
      assert.match(badName.json.message, /invalid snapshot name/);
      const foreign = await api('POST', `/sandboxes/${sbx.sandboxId}/snapshots`, { name: 'acme/snap' });
      assert.equal(foreign.status, 400);
      assert.equal(foreign.json.message, "namespace 'acme' must match your team 'cellblock'");
      assert.equal(await sbx.pause(), true);
      await assert.rejects(sbx.createSnapshot(), SandboxNotFoundError);
      await assert.rejects(Sandbox.createSnapshot('nosuchsandbox'), SandboxNotFoundError);
      const builtIn = await api('DELETE', '/templates/code-interpreter');
      assert.equal(builtIn.status, 400);
    } finally {
      await sbx.kill();
    }
  });
});

describe('after a restart of the server', { timeout: 300_000 }, () => {
  test('a sandbox paused on disk and a snapshot are still there', async () => {
    const sbx = await Sandbox.create({ metadata: { suite, case: 'restart' } });
    const sha = await writeFiles(sbx);
    const snap = await sbx.createSnapshot();
    assert.equal(await sbx.pause({ keepMemory: false }), true);
    const stateDir = server.stateDir;
    const apiKey = server.apiKey;
    await server.stop({ keepState: true });
    server = await startServer({ poolSize: 1, stateDir, apiKey });
    try {
      assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'paused');
      const resumed = await Sandbox.connect(sbx.sandboxId);
      await checkFiles(resumed, sha);
      await resumed.kill();
      const child = await Sandbox.create(snap.snapshotId);
      await checkFiles(child, sha);
      await child.kill();
      assert.equal(await Sandbox.deleteSnapshot(snap.snapshotId), true);
      assert.deepEqual(readdirSync(join(stateDir, 'layers')), [], 'saved files go once nothing uses them');
    } finally {
      await server.stop();
      reapLeftovers(stateDir);
      rmSync(stateDir, { recursive: true, force: true });
      server = undefined;
    }
  });
});
