// The official, unmodified SDKs (@e2b/code-interpreter 2.8.0 on e2b 2.51.0) against `cellblock serve`: control
// plane (create, list, connect, info, timeout, kill) and sandbox traffic through the one shared endpoint.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  AuthenticationError,
  CommandExitError,
  Sandbox,
  SandboxError,
  SandboxNotFoundError,
  TimeoutError,
} from '@e2b/code-interpreter';

import { newApiKey, randomTag, startServer, waitFor, within } from './serve_harness.mjs';

const kPngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const kDefaultTimeoutS = 300;
const suite = `lifecycle-${randomTag()}`;

let server;
let sbx; // the main sandbox of this file, created with metadata and envs
const created = new Set();

async function create(opts = {}) {
  const s = await Sandbox.create({ ...opts, metadata: { suite, ...(opts.metadata ?? {}) } });
  created.add(s.sandboxId);
  return s;
}

async function listAll(query) {
  const paginator = Sandbox.list({ query });
  const items = [];
  while (paginator.hasNext) items.push(...(await paginator.nextItems()));
  return items;
}

before(async () => {
  server = await startServer({ poolSize: 2 });
  sbx = await create({ envs: { FOO: 'bar baz', CELLBLOCK_T: '1' } });
});

after(async () => {
  for (const id of created) await Sandbox.kill(id).catch(() => false);
  const result = await server?.stop();
  if (result) {
    assert.deepEqual(result.killedViaApi, [], 'the tests left sandboxes running');
    // Unclean stops are asserted in serve_restart.test.mjs; here they are only reported.
    if (result.killedBySigkill || result.leftovers.length) {
      process.stderr.write(`*** server stop: ${JSON.stringify(result)}\n`);
    }
  }
});

describe('create and list', { timeout: 90_000 }, () => {
  test('list with the suite metadata finds exactly the sandbox', async () => {
    const items = await listAll({ metadata: { suite } });
    assert.deepEqual(items.map((i) => i.sandboxId), [sbx.sandboxId]);
    const item = items[0];
    assert.equal(item.state, 'running');
    assert.deepEqual(item.metadata, { suite });
    assert.equal(item.name, 'code-interpreter-v1');
    assert.ok(item.startedAt instanceof Date && item.endAt instanceof Date);
    const none = await listAll({ metadata: { suite: suite + '-other' } });
    assert.deepEqual(none, []);
  });

  test('metadata with spaces, & and = round-trips through the filter', async () => {
    const tricky = { 'a b': 'c&d', x: '1=2', 'p%q': 'r+s/t?u' };
    const s = await create({ metadata: tricky });
    try {
      const info = await s.getInfo();
      assert.deepEqual(info.metadata, { suite, ...tricky });
      const both = await listAll({ metadata: { suite, 'a b': 'c&d', x: '1=2' } });
      assert.deepEqual(both.map((i) => i.sandboxId), [s.sandboxId]);
      const odd = await listAll({ metadata: { 'p%q': 'r+s/t?u', suite } });
      assert.deepEqual(odd.map((i) => i.sandboxId), [s.sandboxId]);
      assert.deepEqual(odd[0].metadata, { suite, ...tricky });
      // Every pair must match (AND), exactly.
      assert.deepEqual(await listAll({ metadata: { suite, 'a b': 'c' } }), []);
      assert.deepEqual(await listAll({ metadata: { suite, 'a b': 'c&d', x: '1' } }), []);
      // The plain suite filter now finds both sandboxes.
      const all = await listAll({ metadata: { suite } });
      assert.deepEqual(all.map((i) => i.sandboxId).sort(), [s.sandboxId, sbx.sandboxId].sort());
    } finally {
      assert.equal(await s.kill(), true);
      created.delete(s.sandboxId);
    }
  });

  test('list pages with limit 1 (nextItems / hasNext)', async () => {
    const s = await create({ metadata: { paged: '1' } });
    try {
      const paginator = Sandbox.list({ query: { metadata: { suite } }, limit: 1 });
      const first = await paginator.nextItems();
      assert.equal(first.length, 1);
      assert.equal(paginator.hasNext, true, 'a second page exists');
      const second = await paginator.nextItems();
      assert.equal(second.length, 1);
      assert.equal(paginator.hasNext, false, 'X-Next-Token after the last page');
      const ids = [first[0].sandboxId, second[0].sandboxId].sort();
      assert.deepEqual(ids, [s.sandboxId, sbx.sandboxId].sort());
      // Newest first.
      assert.equal(first[0].sandboxId, s.sandboxId);
    } finally {
      await s.kill();
      created.delete(s.sandboxId);
    }
  });

  test('getInfo reports metadata, template and dates', async () => {
    const before = Date.now();
    const info = await sbx.getInfo();
    assert.equal(info.sandboxId, sbx.sandboxId);
    assert.equal(info.name, 'code-interpreter-v1');
    assert.equal(typeof info.templateId, 'string');
    assert.deepEqual(info.metadata, { suite });
    assert.equal(info.state, 'running');
    assert.ok(info.startedAt instanceof Date && !Number.isNaN(info.startedAt.getTime()));
    assert.ok(info.startedAt.getTime() <= before + 1000, 'startedAt lies in the future');
    assert.ok(before - info.startedAt.getTime() < 5 * 60_000, 'startedAt is too old');
    // This sandbox has not had its timeout changed: the server default (300 s) applies.
    const ttl = (info.endAt.getTime() - info.startedAt.getTime()) / 1000;
    assert.ok(Math.abs(ttl - kDefaultTimeoutS) <= 2, `endAt - startedAt = ${ttl} s`);
    assert.match(info.envdVersion, /^\d+\.\d+\.\d+$/);
  });
});

describe('sandbox traffic through the shared endpoint', { timeout: 120_000 }, () => {
  test('a second client (Sandbox.connect) shares the kernel state', async () => {
    const first = await sbx.runCode('x = 41');
    assert.equal(first.error, undefined);
    const other = await Sandbox.connect(sbx.sandboxId);
    assert.equal(other.sandboxId, sbx.sandboxId);
    const second = await other.runCode('x + 1');
    assert.equal(second.error, undefined, JSON.stringify(second.error));
    assert.equal(second.text, '42');
  });

  test('matplotlib chart (png + chart) and a DataFrame', async () => {
    const plot = await sbx.runCode([
      'import matplotlib.pyplot as plt',
      'fig, ax = plt.subplots()',
      'ax.plot([1, 2, 3], [4, 5, 6], label="rise")',
      'ax.set_title("Signal")',
      'plt.show()',
    ].join('\n'));
    assert.equal(plot.error, undefined, JSON.stringify(plot.error));
    assert.ok(plot.results.length >= 1);
    const png = Buffer.from(plot.results[0].png ?? '', 'base64');
    assert.ok(png.length > 100, 'png missing or too small');
    assert.deepEqual(png.subarray(0, 8), kPngSignature);
    assert.equal(plot.results[0].chart?.type, 'line');
    assert.equal(plot.results[0].chart.title, 'Signal');
    assert.deepEqual(plot.results[0].chart.elements[0].points.map(([x, y]) => [Number(x), Number(y)]),
                     [[1, 4], [2, 5], [3, 6]]);

    const df = await sbx.runCode('import pandas as pd\npd.DataFrame({"a": [1, 2], "b": ["x", "y"]})');
    assert.equal(df.error, undefined, JSON.stringify(df.error));
    const main = df.results.find((r) => r.isMainResult);
    assert.match(main?.html ?? '', /<table/);
    assert.deepEqual(main.data?.a, [1, 2]);
    assert.deepEqual(main.data?.b, ['x', 'y']);
  });

  test('files write, read and list', async () => {
    const dir = `/home/user/files-${randomTag()}`;
    await sbx.files.write(`${dir}/a.txt`, 'hello from the host');
    await sbx.files.write(`${dir}/b.bin`, new Uint8Array([0, 1, 2, 255]).buffer);
    assert.equal(await sbx.files.read(`${dir}/a.txt`), 'hello from the host');
    const bytes = await sbx.files.read(`${dir}/b.bin`, { format: 'bytes' });
    assert.deepEqual([...bytes], [0, 1, 2, 255]);
    const entries = await sbx.files.list(dir);
    assert.deepEqual(entries.map((e) => e.name).sort(), ['a.txt', 'b.bin']);
    assert.ok(entries.every((e) => e.type === 'file'));
    // The kernel sees the same file system.
    const ex = await sbx.runCode(`open("${dir}/a.txt").read()`);
    assert.equal(ex.text, 'hello from the host');
  });

  test('commands.run succeeds and fails', async () => {
    const ok = await sbx.commands.run('echo hi');
    assert.equal(ok.exitCode, 0);
    assert.equal(ok.stdout, 'hi\n');
    assert.equal(ok.stderr, '');
    await assert.rejects(sbx.commands.run('echo oops >&2; exit 3'), (err) => {
      assert.ok(err instanceof CommandExitError, `expected CommandExitError, got ${err}`);
      assert.equal(err.exitCode, 3);
      assert.equal(err.stderr, 'oops\n');
      return true;
    });
  });

  test('envs given at create reach commands and the kernel', async () => {
    const cmd = await sbx.commands.run('echo "$FOO"');
    assert.equal(cmd.stdout, 'bar baz\n');
    const ex = await sbx.runCode('import os; os.environ["FOO"]');
    assert.equal(ex.error, undefined, JSON.stringify(ex.error));
    assert.equal(ex.text, 'bar baz');
  });
});

describe('timeouts', { timeout: 60_000 }, () => {
  test('setTimeout moves endAt', async () => {
    await sbx.setTimeout(120_000);
    const info = await sbx.getInfo();
    const left = (info.endAt.getTime() - Date.now()) / 1000;
    assert.ok(left > 110 && left <= 122, `endAt is ${left} s away after setTimeout(120 s)`);
    const listed = (await listAll({ metadata: { suite } })).find((i) => i.sandboxId === sbx.sandboxId);
    assert.equal(listed.endAt.getTime(), info.endAt.getTime(), 'list and getInfo disagree on endAt');
    await sbx.setTimeout(kDefaultTimeoutS * 1000);
  });

  test('a sandbox created with timeoutMs 5000 and one shortened by setTimeout are gone within ~15 s',
       async () => {
    const short = await create({ timeoutMs: 5000, metadata: { kind: 'short' } });
    const shortened = await create({ metadata: { kind: 'shortened' } });
    const t0 = Date.now();
    await shortened.setTimeout(4000);
    assert.equal(await short.isRunning(), true);
    assert.equal(await shortened.isRunning(), true);
    const gone = await waitFor(async () => !(await short.isRunning()) && !(await shortened.isRunning()),
                               { timeoutMs: 15_000, intervalMs: 500 });
    assert.ok(gone, 'a sandbox outlived its timeout by more than 10 s');
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 3000, `sandboxes died after only ${elapsed} ms`);
    const ids = (await listAll({ metadata: { suite } })).map((i) => i.sandboxId);
    assert.ok(!ids.includes(short.sandboxId) && !ids.includes(shortened.sandboxId), 'timed-out sandbox listed');
    await assert.rejects(Sandbox.getInfo(short.sandboxId), SandboxNotFoundError);
    assert.equal(await Sandbox.kill(short.sandboxId), false);
    created.delete(short.sandboxId);
    created.delete(shortened.sandboxId);
  });
});

describe('kill', { timeout: 90_000 }, () => {
  test('kill → true; then unlisted, not running, unusable; second kill → false', async () => {
    const s = await create({ metadata: { kind: 'kill' } });
    assert.ok((await listAll({ metadata: { suite, kind: 'kill' } })).some((i) => i.sandboxId === s.sandboxId));
    assert.equal((await s.runCode('1 + 1')).text, '2');
    assert.equal(await s.kill(), true);
    created.delete(s.sandboxId);
    assert.deepEqual(await listAll({ metadata: { suite, kind: 'kill' } }), []);
    assert.equal(await s.isRunning(), false);
    await assert.rejects(s.runCode('1 + 1', { requestTimeoutMs: 10_000 }));
    await assert.rejects(s.commands.run('true', { requestTimeoutMs: 10_000 }));
    assert.equal(await s.kill(), false);
    assert.equal(await Sandbox.kill(s.sandboxId), false);
    await assert.rejects(Sandbox.connect(s.sandboxId), SandboxNotFoundError);
  });

  test('unknown ids: kill → false, getInfo → SandboxNotFoundError', async () => {
    assert.equal(await Sandbox.kill('nope'), false);
    assert.equal(await Sandbox.kill('a'.repeat(20)), false);
    await assert.rejects(Sandbox.getInfo('nope'), SandboxNotFoundError);
    await assert.rejects(Sandbox.setTimeout('nope', 10_000), SandboxNotFoundError);
  });

  test('an in-flight runCode rejects with TimeoutError when the sandbox is killed', async () => {
    const s = await create({ metadata: { kind: 'inflight' } });
    let stdoutSeen = false;
    const running = s.runCode('import time\nprint("started", flush=True)\ntime.sleep(60)', {
      timeoutMs: 60_000,
      onStdout: () => {
        stdoutSeen = true;
      },
    });
    running.catch(() => {}); // observed below
    assert.ok(await waitFor(() => stdoutSeen, { timeoutMs: 15_000 }), 'the cell never started');
    const t0 = Date.now();
    assert.equal(await Sandbox.kill(s.sandboxId), true);
    created.delete(s.sandboxId);
    await assert.rejects(within(20_000, running, 'the in-flight runCode'), (err) => {
      assert.ok(err instanceof TimeoutError, `expected TimeoutError, got ${err?.name}: ${err?.message}`);
      assert.match(err.message, /killed/i);
      return true;
    });
    assert.ok(Date.now() - t0 < 10_000, 'the in-flight request outlived the kill by more than 10 s');
  });
});

describe('control-plane errors', { timeout: 30_000 }, () => {
  test('a wrong API key → AuthenticationError', async () => {
    const apiKey = newApiKey();
    await assert.rejects(Sandbox.create({ apiKey }), AuthenticationError);
    await assert.rejects(Sandbox.list({ apiKey }).nextItems(), AuthenticationError);
    await assert.rejects(Sandbox.kill(sbx.sandboxId, { apiKey }), AuthenticationError);
    assert.equal(await sbx.isRunning(), true, 'a rejected kill must not kill');
  });

  test('an unknown template → 400', async () => {
    await assert.rejects(Sandbox.create(`no-such-template-${randomTag()}`), (err) => {
      assert.ok(err instanceof SandboxError, `expected SandboxError, got ${err}`);
      assert.match(err.message, /^400: /);
      assert.equal(err.statusCode ?? 400, 400);
      return true;
    });
  });
});

describe('teardown of the main sandbox', { timeout: 30_000 }, () => {
  test('kill the main sandbox; nothing of this suite is listed any more', async () => {
    assert.equal(await sbx.kill(), true);
    created.delete(sbx.sandboxId);
    assert.deepEqual(await listAll({ metadata: { suite } }), []);
  });
});
