// e2b 2.51.0 Filesystem API, unmodified, against cellblock-agent in debug mode (envdVersion 99.99.99, so the
// SDK uses every gated feature: octet-stream and gzip uploads included). The agent shares our filesystem, so
// every write is also checked on disk.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { FileNotFoundError, Sandbox } from 'e2b';

import { startAgent, waitFor } from './harness.mjs';

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

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

describe('read and write', { timeout: 90_000 }, () => {
  test('text round trip with a relative path', async () => {
    const info = await sandbox.files.write('hello.txt', 'hello, world');
    assert.equal(info.name, 'hello.txt');
    assert.equal(info.type, 'file');
    assert.equal(info.path, join(w, 'hello.txt'), 'relative paths resolve against the workdir');
    assert.equal(readFileSync(join(w, 'hello.txt'), 'utf8'), 'hello, world');
    assert.equal(await sandbox.files.read('hello.txt'), 'hello, world');
    assert.equal(await sandbox.files.read(join(w, 'hello.txt')), 'hello, world');
  });

  test('unicode text and bytes format', async () => {
    const text = 'žluťoučký kůň 🐎\n';
    await sandbox.files.write(join(w, 'u.txt'), text);
    assert.equal(await sandbox.files.read(join(w, 'u.txt')), text);
    const bytes = await sandbox.files.read(join(w, 'u.txt'), { format: 'bytes' });
    assert.ok(bytes instanceof Uint8Array);
    assert.deepEqual(Buffer.from(bytes), Buffer.from(text, 'utf8'));
    const blob = await sandbox.files.read(join(w, 'u.txt'), { format: 'blob' });
    assert.equal(await blob.text(), text);
  });

  test('binary round trip of random bytes', async () => {
    const data = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(256 * 1024)]);
    const info = await sandbox.files.write(join(w, 'bin/random.dat'), new Blob([data]));
    assert.equal(info.path, join(w, 'bin/random.dat'));
    assert.deepEqual(readFileSync(join(w, 'bin/random.dat')), data, 'bytes on disk differ');
    const back = await sandbox.files.read(join(w, 'bin/random.dat'), { format: 'bytes' });
    assert.equal(sha256(back), sha256(data));
  });

  test('a 50 MB file survives write and read', async () => {
    const data = randomBytes(50 * 1024 * 1024);
    await sandbox.files.write(join(w, 'big.bin'), new Blob([data]), { requestTimeoutMs: 60_000 });
    assert.equal(sha256(readFileSync(join(w, 'big.bin'))), sha256(data), 'bytes on disk differ');
    const back = await sandbox.files.read(join(w, 'big.bin'), { format: 'bytes', requestTimeoutMs: 60_000 });
    assert.equal(back.length, data.length);
    assert.equal(sha256(back), sha256(data));
    const stream = await sandbox.files.read(join(w, 'big.bin'), { format: 'stream' });
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of stream) {
      hash.update(chunk);
      n += chunk.length;
    }
    assert.equal(n, data.length);
    assert.equal(hash.digest('hex'), sha256(data));
  });

  test('octet-stream upload', async () => {
    const data = randomBytes(100_000);
    const info = await sandbox.files.write(join(w, 'octet/o.bin'), new Blob([data]), { useOctetStream: true });
    assert.equal(info.path, join(w, 'octet/o.bin'));
    assert.deepEqual(readFileSync(join(w, 'octet/o.bin')), data);
  });

  test('octet-stream upload from a ReadableStream', async () => {
    const parts = [Buffer.from('part one;'), Buffer.from('part two;'), Buffer.from('part three')];
    const stream = new ReadableStream({
      start(controller) {
        for (const p of parts) controller.enqueue(new Uint8Array(p));
        controller.close();
      },
    });
    await sandbox.files.write(join(w, 'streamed.txt'), stream);
    assert.equal(readFileSync(join(w, 'streamed.txt'), 'utf8'), 'part one;part two;part three');
  });

  test('gzip upload and gzip download', async () => {
    const text = 'compress me '.repeat(10_000);
    await sandbox.files.write(join(w, 'gz.txt'), text, { gzip: true });
    assert.equal(readFileSync(join(w, 'gz.txt'), 'utf8'), text, 'the agent must gunzip the upload');
    assert.equal(await sandbox.files.read(join(w, 'gz.txt'), { gzip: true }), text);
  });

  test('writeFiles writes several files, creating parents', async () => {
    const infos = await sandbox.files.writeFiles([
      { path: join(w, 'multi/a/one.txt'), data: 'one' },
      { path: 'multi/two.txt', data: 'two' },
    ]);
    assert.ok(Array.isArray(infos));
    assert.equal(infos.length, 2);
    assert.deepEqual(infos.map((i) => i.path).sort(), [join(w, 'multi/a/one.txt'), join(w, 'multi/two.txt')]);
    assert.equal(readFileSync(join(w, 'multi/a/one.txt'), 'utf8'), 'one');
    assert.equal(readFileSync(join(w, 'multi/two.txt'), 'utf8'), 'two');
  });

  test('overwrite truncates', async () => {
    await sandbox.files.write(join(w, 'over.txt'), 'a long first version');
    await sandbox.files.write(join(w, 'over.txt'), 'short');
    assert.equal(await sandbox.files.read(join(w, 'over.txt')), 'short');
  });

  test('empty file reads as empty string and empty bytes', async () => {
    writeFileSync(join(w, 'empty.txt'), '');
    assert.equal(await sandbox.files.read(join(w, 'empty.txt')), '');
    const bytes = await sandbox.files.read(join(w, 'empty.txt'), { format: 'bytes' });
    assert.equal(bytes.length, 0);
    await sandbox.files.write(join(w, 'empty2.txt'), '');
    assert.ok(existsSync(join(w, 'empty2.txt')));
    assert.equal(await sandbox.files.read(join(w, 'empty2.txt')), '');
  });

  test('metadata is stored with the file and returned', async () => {
    const info = await sandbox.files.write(join(w, 'meta.txt'), 'm', { metadata: { owner: 'me', Stage: 'two' } });
    assert.deepEqual(info.metadata, { owner: 'me', stage: 'two' }, 'metadata keys are lower-cased');
    const stat = await sandbox.files.getInfo(join(w, 'meta.txt'));
    assert.deepEqual(stat.metadata, { owner: 'me', stage: 'two' });
    await sandbox.files.write(join(w, 'meta.txt'), 'm2');
    assert.equal((await sandbox.files.getInfo(join(w, 'meta.txt'))).metadata, undefined,
                 'an upload without metadata clears it');
  });

  test('downloadUrl and uploadUrl work with a plain HTTP client', async () => {
    writeFileSync(join(w, 'dl.txt'), 'download me');
    const down = await sandbox.downloadUrl(join(w, 'dl.txt'));
    assert.ok(down.startsWith(`${agent.sandboxUrl}/files?`), down);
    const res = await fetch(down);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'download me');

    const up = await sandbox.uploadUrl(join(w, 'ul.txt'));
    const form = new FormData();
    form.append('file', new Blob(['uploaded']), join(w, 'ul.txt'));
    const upRes = await fetch(up, { method: 'POST', body: form });
    assert.equal(upRes.status, 200);
    const written = await upRes.json();
    assert.equal(written[0]?.path, join(w, 'ul.txt'));
    assert.equal(readFileSync(join(w, 'ul.txt'), 'utf8'), 'uploaded');
  });

  test('reading a missing file throws FileNotFoundError', async () => {
    await assert.rejects(sandbox.files.read(join(w, 'nope/missing.txt')), FileNotFoundError);
    await assert.rejects(sandbox.files.read('missing-relative.txt'), FileNotFoundError);
  });
});

describe('filesystem RPCs', { timeout: 60_000 }, () => {
  test('list shows entries with types and sizes', async () => {
    mkdirSync(join(w, 'listing/sub'), { recursive: true });
    writeFileSync(join(w, 'listing/five.txt'), '12345');
    const entries = await sandbox.files.list(join(w, 'listing'));
    const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
    assert.deepEqual(Object.keys(byName).sort(), ['five.txt', 'sub']);
    assert.equal(byName['five.txt'].type, 'file');
    assert.equal(byName['five.txt'].size, 5);
    assert.equal(byName['five.txt'].path, join(w, 'listing/five.txt'));
    assert.equal(byName.sub.type, 'dir');
    assert.ok(byName['five.txt'].modifiedTime instanceof Date);
    assert.ok(Math.abs(byName['five.txt'].modifiedTime.getTime() - Date.now()) < 10 * 60_000);
    writeFileSync(join(w, 'listing/sub/inner.txt'), 'in');
    const shallow = await sandbox.files.list(join(w, 'listing'));
    assert.equal(shallow.find((e) => e.name === 'inner.txt'), undefined, 'depth 1 must not descend');
    const deep = await sandbox.files.list(join(w, 'listing'), { depth: 2 });
    assert.ok(deep.some((e) => e.path === join(w, 'listing/sub/inner.txt')),
              `depth 2 misses sub/inner.txt: ${JSON.stringify(deep.map((e) => e.path))}`);
  });

  test('makeDir returns true, then false for an existing directory', async () => {
    assert.equal(await sandbox.files.makeDir(join(w, 'made/deep/dir')), true);
    assert.ok(existsSync(join(w, 'made/deep/dir')));
    assert.equal(await sandbox.files.makeDir(join(w, 'made/deep/dir')), false);
  });

  test('exists', async () => {
    writeFileSync(join(w, 'there.txt'), 'x');
    assert.equal(await sandbox.files.exists(join(w, 'there.txt')), true);
    assert.equal(await sandbox.files.exists('there.txt'), true);
    assert.equal(await sandbox.files.exists(join(w, 'not-there.txt')), false);
  });

  test('getInfo', async () => {
    writeFileSync(join(w, 'info.txt'), 'abc');
    const info = await sandbox.files.getInfo(join(w, 'info.txt'));
    assert.equal(info.name, 'info.txt');
    assert.equal(info.type, 'file');
    assert.equal(info.path, join(w, 'info.txt'));
    assert.equal(info.size, 3);
    assert.match(info.permissions, /^-[rwx-]{9}$/);
    const dir = await sandbox.files.getInfo(w);
    assert.equal(dir.type, 'dir');
    await assert.rejects(sandbox.files.getInfo(join(w, 'no-info.txt')), FileNotFoundError);
  });

  test('rename', async () => {
    writeFileSync(join(w, 'old-name.txt'), 'moving');
    const entry = await sandbox.files.rename(join(w, 'old-name.txt'), join(w, 'new-name.txt'));
    assert.equal(entry.path, join(w, 'new-name.txt'));
    assert.equal(entry.name, 'new-name.txt');
    assert.ok(!existsSync(join(w, 'old-name.txt')));
    assert.equal(readFileSync(join(w, 'new-name.txt'), 'utf8'), 'moving');
    await assert.rejects(sandbox.files.rename(join(w, 'old-name.txt'), join(w, 'x.txt')), FileNotFoundError);
  });

  test('remove deletes files and directories recursively', async () => {
    writeFileSync(join(w, 'doomed.txt'), 'x');
    await sandbox.files.remove(join(w, 'doomed.txt'));
    assert.equal(existsSync(join(w, 'doomed.txt')), false);
    mkdirSync(join(w, 'doomed-dir/inner'), { recursive: true });
    writeFileSync(join(w, 'doomed-dir/inner/f'), 'x');
    await sandbox.files.remove(join(w, 'doomed-dir'));
    assert.equal(existsSync(join(w, 'doomed-dir')), false);
    assert.equal(await sandbox.files.exists(join(w, 'doomed-dir')), false);
  });

  test('watchDir reports a created file', async () => {
    const dir = join(w, 'watched');
    mkdirSync(dir);
    const events = [];
    const handle = await sandbox.files.watchDir(dir, (e) => events.push(e), { timeoutMs: 30_000 });
    try {
      writeFileSync(join(dir, 'new-file.txt'), 'hi');
      const seen = await waitFor(() => events.find((e) => e.name === 'new-file.txt'), { timeoutMs: 10_000 });
      assert.ok(seen, `no event for new-file.txt; got ${JSON.stringify(events)}`);
      assert.ok(events.some((e) => e.name === 'new-file.txt' && e.type === 'create'),
                `no create event; got ${JSON.stringify(events)}`);
    } finally {
      await handle.stop();
    }
    const before = events.length;
    writeFileSync(join(dir, 'after-stop.txt'), 'x');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(events.length, before, 'events arrived after stop()');
  });

  test('watchDir on a missing directory throws', async () => {
    await assert.rejects(sandbox.files.watchDir(join(w, 'no-such-dir'), () => {}), FileNotFoundError);
  });
});
