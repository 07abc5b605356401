// @e2b/code-interpreter 2.8.0, unmodified, against cellblock-agent in debug mode.
// E2B_SANDBOX_URL points at the interpreter listener here, so the SDK's envd calls (isRunning after a broken
// stream) also exercise routing by E2b-Sandbox-Port on that listener.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { NotFoundError, Sandbox, TimeoutError } from '@e2b/code-interpreter';

import { startAgent, within } from './harness.mjs';

const kPngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const kAnsiEscape = /\x1b\[/;

let agent;
let sandbox;

before(async () => {
  agent = await startAgent({ via: 'interpreter' });
  sandbox = await Sandbox.create();
});

after(async () => {
  await agent?.stop();
});

function assertPng(base64) {
  assert.equal(typeof base64, 'string', 'png must be a base64 string');
  const bytes = Buffer.from(base64, 'base64');
  assert.ok(bytes.length > 100, `png too small: ${bytes.length} bytes`);
  assert.deepEqual(bytes.subarray(0, 8), kPngSignature, 'png does not start with the PNG signature');
}

describe('runCode basics', { timeout: 60_000 }, () => {
  test('print goes to logs.stdout', async () => {
    const ex = await sandbox.runCode('print("hello from cellblock")');
    assert.equal(ex.error, undefined);
    assert.deepEqual(ex.logs.stdout, ['hello from cellblock\n']);
    assert.deepEqual(ex.logs.stderr, []);
    assert.equal(ex.results.length, 0, 'print() has no result');
  });

  test('stderr goes to logs.stderr', async () => {
    const ex = await sandbox.runCode('import sys; sys.stderr.write("oops\\n"); sys.stderr.flush()');
    assert.equal(ex.error, undefined);
    assert.equal(ex.logs.stderr.join(''), 'oops\n');
    assert.deepEqual(ex.logs.stdout, []);
  });

  test('an exception gives error.name/value/traceback without ANSI escapes', async () => {
    const ex = await sandbox.runCode('def f():\n    raise ValueError("bad value 7")\nf()');
    assert.ok(ex.error, 'expected an error');
    assert.equal(ex.error.name, 'ValueError');
    assert.equal(ex.error.value, 'bad value 7');
    assert.equal(typeof ex.error.traceback, 'string');
    assert.match(ex.error.traceback, /ValueError/);
    assert.match(ex.error.traceback, /bad value 7/);
    assert.match(ex.error.traceback, /f\(\)/, 'traceback should show the failing frame');
    assert.doesNotMatch(ex.error.traceback, kAnsiEscape, 'traceback contains ANSI escapes');
    assert.equal(ex.results.length, 0);
  });

  test('state is kept between runs and executionCount increments', async () => {
    const first = await sandbox.runCode('x = 41');
    assert.equal(first.error, undefined);
    assert.equal(first.text, undefined, 'an assignment has no main result');
    const second = await sandbox.runCode('x + 1');
    assert.equal(second.error, undefined);
    assert.equal(second.text, '42');
    assert.equal(second.results.length, 1);
    assert.equal(second.results[0].isMainResult, true);
    assert.equal(typeof first.executionCount, 'number');
    assert.equal(second.executionCount, first.executionCount + 1);
  });

  test('text/plain of a string result has its quotes stripped', async () => {
    const ex = await sandbox.runCode('"abc" + "def"');
    assert.equal(ex.text, 'abcdef');
  });
});

describe('rich results', { timeout: 90_000 }, () => {
  test('matplotlib line plot gives png and a line chart', async () => {
    const code = [
      'import matplotlib.pyplot as plt',
      'fig, ax = plt.subplots()',
      'ax.plot([1, 2, 3], [4, 5, 6], label="rise")',
      'ax.set_title("Signal")',
      'ax.set_xlabel("Time (s)")',
      'plt.show()',
    ].join('\n');
    const ex = await sandbox.runCode(code);
    assert.equal(ex.error, undefined, JSON.stringify(ex.error));
    assert.ok(ex.results.length >= 1, 'expected a display result');
    const r = ex.results[0];
    assert.equal(r.isMainResult, false, 'a displayed figure is not the main result');
    assertPng(r.png);
    assert.ok(r.chart, `results[0] has no chart; formats: ${r.formats()}`);
    assert.equal(r.chart.type, 'line');
    assert.equal(r.chart.title, 'Signal');
    assert.equal(r.chart.x_label, 'Time (s)');
    assert.equal(r.chart.x_unit, 's');
    assert.ok(Array.isArray(r.chart.elements) && r.chart.elements.length === 1, 'one line element expected');
    const line = r.chart.elements[0];
    assert.equal(line.label, 'rise');
    assert.deepEqual(line.points.map(([x, y]) => [Number(x), Number(y)]), [[1, 4], [2, 5], [3, 6]]);
    assert.deepEqual(r.extra, {}, 'no unknown top-level keys expected on a matplotlib result');
  });

  test('matplotlib bar chart gives chart type bar', async () => {
    const code = [
      'import matplotlib.pyplot as plt',
      'plt.figure()',
      'plt.bar(["a", "b", "c"], [3, 1, 2])',
      'plt.show()',
    ].join('\n');
    const ex = await sandbox.runCode(code);
    assert.equal(ex.error, undefined, JSON.stringify(ex.error));
    assert.ok(ex.results.length >= 1);
    const r = ex.results[0];
    assertPng(r.png);
    assert.equal(r.chart?.type, 'bar');
    const bars = r.chart.elements.map((e) => [e.label, Number(e.value)]);
    assert.deepEqual(bars, [['a', 3], ['b', 1], ['c', 2]]);
  });

  test('a DataFrame as last expression gives html and data', async () => {
    const ex = await sandbox.runCode('import pandas as pd\npd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})');
    assert.equal(ex.error, undefined, JSON.stringify(ex.error));
    const main = ex.results.find((r) => r.isMainResult);
    assert.ok(main, 'expected a main result');
    assert.match(main.html ?? '', /<table/);
    assert.ok(main.data, `no data format; formats: ${main.formats()}`);
    assert.deepEqual(main.data.a, [1, 2, 3]);
    assert.deepEqual(main.data.b, ['x', 'y', 'z']);
    assert.match(main.text ?? '', /a\s+b/);
  });

  test('display(HTML(...)) gives an html result', async () => {
    const ex = await sandbox.runCode('from IPython.display import display, HTML\ndisplay(HTML("<b>x</b>"))');
    assert.equal(ex.error, undefined, JSON.stringify(ex.error));
    assert.equal(ex.results.length, 1);
    assert.equal(ex.results[0].html, '<b>x</b>');
    assert.equal(ex.results[0].isMainResult, false);
    assert.equal(ex.text, undefined);
  });
});

describe('streaming and environment', { timeout: 60_000 }, () => {
  test('onStdout/onStderr are called while the cell still runs', async () => {
    const events = [];
    const started = Date.now();
    const code = [
      'import sys, time',
      'print("first", flush=True)',
      'sys.stderr.write("warn\\n"); sys.stderr.flush()',
      'time.sleep(1.5)',
      'print("second", flush=True)',
    ].join('\n');
    const ex = await sandbox.runCode(code, {
      onStdout: (m) => events.push({ kind: 'out', line: m.line, at: Date.now() }),
      onStderr: (m) => events.push({ kind: 'err', line: m.line, at: Date.now() }),
    });
    const finished = Date.now();
    assert.equal(ex.error, undefined);
    assert.equal(events.filter((e) => e.kind === 'out').map((e) => e.line).join(''), 'first\nsecond\n');
    assert.equal(events.filter((e) => e.kind === 'err').map((e) => e.line).join(''), 'warn\n');
    const first = events.find((e) => e.line.includes('first'));
    assert.ok(finished - first.at >= 1000,
              `"first" arrived only ${finished - first.at} ms before the end (${first.at - started} ms after start)`);
    assert.deepEqual(ex.logs.stdout.join(''), 'first\nsecond\n');
  });

  test('envs apply to one execution only', async () => {
    const withEnv = await sandbox.runCode('import os; os.getenv("CELLBLOCK_A")', { envs: { CELLBLOCK_A: 'B' } });
    assert.equal(withEnv.error, undefined);
    assert.equal(withEnv.text, 'B');
    const without = await sandbox.runCode('import os; str(os.getenv("CELLBLOCK_A", "unset"))');
    assert.equal(without.error, undefined);
    assert.equal(without.text, 'unset', 'a per-execution env var leaked into the next execution');
  });

  test('input() fails fast with StdinNotImplementedError', async () => {
    const ex = await within(20_000, sandbox.runCode('input("name? ")', { timeoutMs: 20_000 }), 'input()');
    assert.ok(ex.error, 'expected an error');
    assert.equal(ex.error.name, 'StdinNotImplementedError');
  });
});

describe('contexts', { timeout: 60_000 }, () => {
  test('create, run, list, restart, remove', async () => {
    const cwd = join(agent.workdir, 'ctx dir');
    mkdirSync(cwd);
    const ctx = await sandbox.createCodeContext({ cwd });
    assert.equal(typeof ctx.id, 'string');
    assert.ok(ctx.id.length > 0);
    assert.equal(ctx.language, 'python');
    assert.equal(ctx.cwd, cwd);

    const where = await sandbox.runCode('import os; os.getcwd()', { context: ctx });
    assert.equal(where.error, undefined);
    assert.equal(where.text, cwd);
    assert.equal(where.executionCount, 1, 'execution_count starts at 1 in a fresh context');

    // The default context must not share state with the new one.
    await sandbox.runCode('only_in_ctx = 5', { context: ctx });
    const isolated = await sandbox.runCode('only_in_ctx');
    assert.equal(isolated.error?.name, 'NameError');

    const listed = await sandbox.listCodeContexts();
    assert.ok(Array.isArray(listed));
    assert.ok(listed.some((c) => c.id !== ctx.id && c.language === 'python' && c.cwd === agent.workdir),
              `the default python context is not listed: ${JSON.stringify(listed)}`);
    const entry = listed.find((c) => c.id === ctx.id);
    assert.ok(entry, `context ${ctx.id} missing from ${JSON.stringify(listed)}`);
    assert.equal(entry.cwd, cwd);
    assert.equal(entry.language, 'python');

    await sandbox.restartCodeContext(ctx);
    const afterRestart = await sandbox.runCode('only_in_ctx', { context: ctx });
    assert.equal(afterRestart.error?.name, 'NameError');
    assert.match(afterRestart.error.value, /only_in_ctx/);
    const stillThere = await sandbox.runCode('1 + 2', { context: ctx });
    assert.equal(stillThere.text, '3', 'the context must be usable under the same id after a restart');

    await sandbox.removeCodeContext(ctx.id);
    const after = await sandbox.listCodeContexts();
    assert.equal(after.find((c) => c.id === ctx.id), undefined, 'removed context still listed');
    // A short request timeout: on an error status the SDK leaves its request timer running, which would keep
    // this test process alive for the default 60 s.
    await assert.rejects(sandbox.runCode('1', { context: ctx, requestTimeoutMs: 5_000 }), NotFoundError);
  });

  test('contexts in the default cwd each get a fresh kernel of their own; the one kept ready is not listed', async () => {
    const made = [];
    for (let i = 0; i < 3; i++) {
      const ctx = await sandbox.createCodeContext();
      made.push(ctx);
      assert.equal(ctx.cwd, agent.workdir);
      const first = await sandbox.runCode(`mine = ${i}`, { context: ctx });
      assert.equal(first.error, undefined);
      assert.equal(first.executionCount, 1, 'a fresh kernel');
    }
    for (const [i, ctx] of made.entries()) {
      assert.equal((await sandbox.runCode('mine', { context: ctx })).text, String(i));
    }
    assert.equal((await sandbox.runCode('mine')).error?.name, 'NameError', 'the default context has its own state');
    const listed = await sandbox.listCodeContexts();
    for (const ctx of made) assert.ok(listed.some((c) => c.id === ctx.id), `${ctx.id} is listed`);
    const others = listed.filter((c) => !made.some((m) => m.id === c.id));
    assert.equal(others.length, 1, `only the default context besides these: ${JSON.stringify(listed)}`);
    for (const ctx of made) await sandbox.removeCodeContext(ctx.id);
  });

  test('runCode with an unknown context is rejected', async () => {
    const context = { id: 'no-such-context', language: 'python', cwd: '/' };
    await assert.rejects(sandbox.runCode('1', { context, requestTimeoutMs: 5_000 }), NotFoundError);
  });

  test('default context cwd is the workdir', async () => {
    const ex = await sandbox.runCode('import os; os.getcwd()');
    assert.equal(ex.text, agent.workdir);
  });
});

describe('execution control', { timeout: 100_000 }, () => {
  test('a timed-out cell is interrupted and the context stays usable', async () => {
    const started = Date.now();
    await assert.rejects(sandbox.runCode('import time; time.sleep(30)', { timeoutMs: 2000 }), TimeoutError);
    assert.ok(Date.now() - started < 10_000, 'the client-side timeout took too long');
    const t0 = Date.now();
    const ex = await within(8_000, sandbox.runCode('1+1', { timeoutMs: 8_000 }), '1+1 after an aborted cell');
    assert.equal(ex.text, '2');
    assert.ok(Date.now() - t0 < 5_000, `1+1 took ${Date.now() - t0} ms after the aborted cell`);
  });

  test('50 MB of output streams through with bounded agent memory', async (t) => {
    const kChunk = 64 * 1024;
    const kCount = 800; // 50 MiB in total
    const code = `import sys\nchunk = "x" * ${kChunk - 1} + "\\n"\nfor _ in range(${kCount}):\n    sys.stdout.write(chunk)\nsys.stdout.flush()\n"done"`;
    let received = 0;
    let maxRss = agent.rssKiB();
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, agent.rssKiB());
    }, 50);
    let ex;
    try {
      ex = await sandbox.runCode(code, {
        timeoutMs: 90_000,
        onStdout: (m) => {
          received += m.line.length;
        },
      });
    } finally {
      clearInterval(sampler);
    }
    t.diagnostic(`agent RSS peak ${Math.round(maxRss / 1024)} MiB`);
    assert.equal(ex.error, undefined, JSON.stringify(ex.error));
    assert.equal(ex.text, 'done');
    assert.equal(received, kChunk * kCount, 'stdout bytes lost or duplicated');
    assert.ok(agent.alive(), 'agent died');
    assert.ok(maxRss < 300 * 1024, `agent RSS peaked at ${Math.round(maxRss / 1024)} MiB`);
    ex.logs.stdout.length = 0; // let the 50 MB go
  });
});
