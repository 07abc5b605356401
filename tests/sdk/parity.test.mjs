// Where cellblock-agent used to differ from envd in what the official SDK (e2b 2.51.0, unmodified, debug mode)
// sees: symlink targets, removing what is not there, and the watch events of an upload. The agent shares our
// filesystem, so each case is also set up or checked on disk.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Sandbox } from 'e2b';

import { startAgent, waitFor, within } from './harness.mjs';

let agent;
let sandbox;
let w; // workdir

before(async () => {
  agent = await startAgent({ via: 'envd' });
  sandbox = await Sandbox.create();
  w = agent.workdir;
});

after(async () => {
  await agent?.stop();
});

describe('symlinks', { timeout: 60_000 }, () => {
  test('getInfo of a symlink reports the absolute target, resolved against the link', async () => {
    await sandbox.files.write('test_file.txt', 'test');
    symlinkSync('test_file.txt', join(w, 'test_link'));
    const info = await sandbox.files.getInfo('test_link');
    assert.equal(info.name, 'test_link');
    assert.equal(info.symlinkTarget, join(w, 'test_file.txt'));
  });

  test('a link to a link and a link into another directory resolve to the final file', async () => {
    mkdirSync(join(w, 'links/deeper'), { recursive: true });
    writeFileSync(join(w, 'links/deeper/data.csv'), 'a,b\n');
    symlinkSync('deeper/data.csv', join(w, 'links/first'));
    symlinkSync('../first', join(w, 'links/deeper/second'));
    assert.equal((await sandbox.files.getInfo(join(w, 'links/deeper/second'))).symlinkTarget,
                 join(w, 'links/deeper/data.csv'));
    const listed = await sandbox.files.list(join(w, 'links'));
    assert.equal(listed.find((e) => e.name === 'first')?.symlinkTarget, join(w, 'links/deeper/data.csv'));
  });
});

describe('remove', { timeout: 60_000 }, () => {
  test('removing a path that does not exist succeeds, as with envd', async () => {
    await sandbox.files.remove(join(w, 'never-existed.txt'));
    await sandbox.files.remove('never-existed-either/inner');
    await sandbox.files.write('twice.txt', 'x');
    await sandbox.files.remove('twice.txt');
    await sandbox.files.remove('twice.txt');
    assert.equal(await sandbox.files.exists('twice.txt'), false);
  });
});

// Watches `dir`, runs `act`, and resolves with the events once `until` holds for them (or fails after 10 s with
// what arrived: SDK code awaiting an event that never comes would hang).
async function watchWhile(dir, options, act, until) {
  const events = [];
  const handle = await sandbox.files.watchDir(dir, (e) => events.push(e), { timeoutMs: 30_000, ...options });
  try {
    await act();
    const done = await waitFor(() => until(events), { timeoutMs: 10_000 });
    assert.ok(done, `expected event missing; got ${JSON.stringify(events.map(({ name, type }) => ({ name, type })))}`);
    await new Promise((r) => setTimeout(r, 300)); // let stragglers (temporary files, if any) arrive
    return events;
  } finally {
    await handle.stop();
  }
}

const has = (events, name, type) => events.some((e) => e.name === name && e.type === type);

function assertNoInternalFiles(events) {
  for (const e of events) assert.ok(!e.name.includes('.cellblock-upload'), `internal file in events: ${e.name}`);
}

describe('watchDir and files.write', { timeout: 120_000 }, () => {
  for (const recursive of [false, true]) {
    const mode = recursive ? 'recursive' : 'flat';

    test(`${mode}: a new file written with files.write is reported as create and write`, async () => {
      const dir = join(w, `watch-new-${mode}`);
      mkdirSync(dir);
      const events = await watchWhile(dir, { recursive }, () => sandbox.files.write(join(dir, 'new.txt'), 'hello'),
                                      (ev) => has(ev, 'new.txt', 'write'));
      assert.ok(has(events, 'new.txt', 'create'), JSON.stringify(events));
      assertNoInternalFiles(events);
      assert.deepEqual(readdirSync(dir), ['new.txt'], 'nothing but the file is left in the directory');
    });

    test(`${mode}: overwriting an existing file is reported as a write`, async () => {
      const dir = join(w, `watch-existing-${mode}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'existing.txt'), 'old content');
      const events = await watchWhile(dir, { recursive },
                                      () => sandbox.files.write(join(dir, 'existing.txt'), 'new content'),
                                      (ev) => has(ev, 'existing.txt', 'write'));
      assertNoInternalFiles(events);
      assert.equal(await sandbox.files.read(join(dir, 'existing.txt')), 'new content');
    });

    test(`${mode}: octet-stream and gzip uploads are reported as writes too`, async () => {
      const dir = join(w, `watch-octet-${mode}`);
      mkdirSync(dir);
      const events = await watchWhile(dir, { recursive }, async () => {
        await sandbox.files.write(join(dir, 'raw.bin'), new Uint8Array([1, 2, 3]).buffer, { useOctetStream: true });
        await sandbox.files.write(join(dir, 'packed.txt'), 'zipped', { gzip: true });
      }, (ev) => has(ev, 'raw.bin', 'write') && has(ev, 'packed.txt', 'write'));
      assertNoInternalFiles(events);
    });

    test(`${mode}: several files in one files.write call each get a write`, async () => {
      const dir = join(w, `watch-many-${mode}`);
      mkdirSync(dir);
      const names = ['one.txt', 'two.txt', 'three.txt'];
      const events = await watchWhile(dir, { recursive },
                                      () => sandbox.files.write(names.map((n) => ({ path: join(dir, n), data: n }))),
                                      (ev) => names.every((n) => has(ev, n, 'write')));
      assertNoInternalFiles(events);
    });
  }

  test('recursive: a file written into folders that did not exist yet is reported with its path', async () => {
    const dir = join(w, 'watch-fresh-folders');
    mkdirSync(dir);
    const events = await watchWhile(dir, { recursive: true },
                                    () => sandbox.files.write(join(dir, 'made/by/upload/file.txt'), 'deep'),
                                    (ev) => has(ev, 'made/by/upload/file.txt', 'write'));
    for (const name of ['made', 'made/by', 'made/by/upload', 'made/by/upload/file.txt']) {
      assert.ok(has(events, name, 'create'), `no create for ${name}: ${JSON.stringify(events)}`);
    }
    assertNoInternalFiles(events);
  });

  test('recursive: a folder created after the watch started, then written into', async () => {
    const dir = join(w, 'watch-later-folder');
    mkdirSync(dir);
    const events = await watchWhile(dir, { recursive: true }, async () => {
      await sandbox.files.makeDir(join(dir, 'later'));
      await new Promise((r) => setTimeout(r, 200));
      await sandbox.files.write(join(dir, 'later/file.txt'), 'x');
      await sandbox.files.write(join(dir, 'later/file.txt'), 'again');
    }, (ev) => ev.filter((e) => e.name === 'later/file.txt' && e.type === 'write').length >= 1);
    assert.ok(has(events, 'later', 'create'));
    assertNoInternalFiles(events);
  });

  test('an SDK waiting for the write of a file gets it', async () => {
    const dir = join(w, 'watch-await');
    mkdirSync(dir);
    let handle;
    const written = new Promise((resolve) => {
      sandbox.files.watchDir(dir, (e) => {
        if (e.type === 'write' && e.name === 'result.json') resolve(e);
      }, { timeoutMs: 30_000, includeEntry: true }).then((h) => { handle = h; });
    });
    await waitFor(() => handle, { timeoutMs: 10_000 });
    try {
      await sandbox.files.write(join(dir, 'result.json'), '{"done":true}');
      const event = await within(10_000, written, 'waiting for the write event');
      assert.equal(event.entry?.path, join(dir, 'result.json'));
    } finally {
      await handle?.stop();
    }
  });
});
