// Isolation of `cellblock serve` sandboxes, probed from inside them through the official SDK: processes, files,
// network, other sandboxes, and resource abuse (fork bomb, memory hog).

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Sandbox } from '@e2b/code-interpreter';

import { randomTag, readHandle, startServer, within, writeHostFile } from './serve_harness.mjs';

const kTemplateCache = '/var/cache/cellblock/templates';
const suite = `isolation-${randomTag()}`;

let server;
let a;
let b;
const created = new Set();
const cleanups = [];

async function create(kind) {
  const s = await Sandbox.create({ metadata: { suite, kind } });
  created.add(s.sandboxId);
  return s;
}

async function kill(s) {
  const result = await Sandbox.kill(s.sandboxId);
  created.delete(s.sandboxId);
  return result;
}

/** Runs Python in the sandbox and returns the text of the last expression; fails on a Python error. */
async function py(s, code, opts = {}) {
  const ex = await s.runCode(code, opts);
  assert.equal(ex.error, undefined, `python error: ${JSON.stringify(ex.error)}`);
  return ex.text;
}

before(async () => {
  server = await startServer({ poolSize: 2 });
  [a, b] = await Promise.all([create('a'), create('b')]);
});

after(async () => {
  for (const c of cleanups) c();
  for (const id of created) await Sandbox.kill(id).catch(() => false);
  const result = await server?.stop();
  if (result) {
    assert.deepEqual(result.killedViaApi, [], 'the tests left sandboxes running');
    if (result.killedBySigkill || result.leftovers.length) {
      process.stderr.write(`*** server stop: ${JSON.stringify(result)}\n`);
    }
  }
});

describe('processes', { timeout: 60_000 }, () => {
  test('only the sandbox\'s own few processes are visible and PID 1 is cellblock-agent', async () => {
    const out = await a.commands.run(
      'for p in /proc/[0-9]*; do printf "%s %s\\n" "${p#/proc/}" "$(tr "\\0" " " < $p/cmdline)"; done');
    const procs = out.stdout.trim().split('\n').map((l) => {
      const i = l.indexOf(' ');
      return { pid: Number(l.slice(0, i)), cmd: l.slice(i + 1) };
    });
    assert.ok(procs.length >= 2 && procs.length <= 15, `unexpected process count: ${out.stdout}`);
    const pid1 = procs.find((p) => p.pid === 1);
    assert.ok(pid1, 'no PID 1 visible');
    assert.match(pid1.cmd, /^\/opt\/cellblock\/bin\/cellblock-agent /);
    // Nothing of the host: not this test runner, not the server.
    for (const p of procs) {
      assert.doesNotMatch(p.cmd, /node|cellblock serve|--test|systemd|sshd/, `host process visible: ${p.cmd}`);
    }
    assert.ok(procs.every((p) => p.pid < 1000), 'host-sized pids visible');
    const mine = await a.commands.run(`test -e /proc/${server.pid} && echo visible || echo hidden`);
    assert.equal(mine.stdout, 'hidden\n', `the server's host pid ${server.pid} is visible inside`);
  });

  test('root inside is an unprivileged id on the host (user namespace)', async (t) => {
    const map = await a.commands.run('cat /proc/self/uid_map', { user: 'root' });
    const [inside, outside] = map.stdout.trim().split(/\s+/).map(Number);
    assert.equal(inside, 0);
    assert.ok(outside >= 1000, `uid 0 inside maps to host uid ${outside}`);
    const kernelUid = Number(await py(a, 'import os; str(os.getuid())'));
    const handle = readHandle(server.stateDir, a.sandboxId);
    const status = readFileSync(`/proc/${handle.pid}/status`, 'utf8');
    const hostUid = Number(/^Uid:\s+(\d+)/m.exec(status)[1]);
    assert.ok(hostUid >= 1000, `the sandbox's PID 1 runs as host uid ${hostUid}`);
    t.diagnostic(`kernel uid inside ${kernelUid}; PID 1 host uid ${hostUid}; uid_map ${map.stdout.trim()}`);
  });
});

describe('files', { timeout: 60_000 }, () => {
  test('a host file outside the template cannot be read', async () => {
    const path = writeHostFile(`/root/cellblock-secret-${randomTag()}`, 'host secret\n');
    cleanups.push(() => rmSync(path, { force: true }));
    const ex = await a.runCode(`open(${JSON.stringify(path)}).read()`);
    assert.ok(ex.error, `the sandbox read the host file: ${ex.text}`);
    assert.ok(['FileNotFoundError', 'PermissionError'].includes(ex.error.name), `got ${ex.error.name}`);
    const asRoot = await a.commands.run(`cat ${path} 2>&1; echo "rc=$?"`, { user: 'root' });
    assert.doesNotMatch(asRoot.stdout, /host secret/);
    assert.match(asRoot.stdout, /rc=[1-9]/);
    // Nor the server's state directory.
    const state = await a.commands.run(`ls ${server.stateDir} 2>&1; echo "rc=$?"`, { user: 'root' });
    assert.match(state.stdout, /rc=[1-9]/);
  });

  test('another sandbox\'s files are invisible', async () => {
    const name = `only-in-a-${randomTag()}`;
    await a.files.write(`/home/user/${name}`, 'a private');
    await a.commands.run(`echo a > /tmp/${name}`);
    assert.equal(await a.files.read(`/home/user/${name}`), 'a private');
    const look = await b.commands.run(
      `ls /home/user/${name} /tmp/${name} 2>/dev/null; find / -xdev -name '${name}*' 2>/dev/null; true`,
      { user: 'root', timeoutMs: 60_000 });
    assert.equal(look.stdout, '', `sandbox b sees a's files: ${look.stdout}`);
    assert.equal(await py(b, `import os; str(os.path.exists("/home/user/${name}"))`), 'False');
  });

  test('a write to /usr as root stays in that sandbox and off the template', async () => {
    const name = `marker-${randomTag()}`;
    await a.commands.run(`echo usr-write > /usr/local/bin/${name}`, { user: 'root' });
    assert.equal((await a.commands.run(`cat /usr/local/bin/${name}`)).stdout, 'usr-write\n');
    const inB = await b.commands.run(`test -e /usr/local/bin/${name} && echo present || echo absent`);
    assert.equal(inB.stdout, 'absent\n');
    for (const t of readdirSync(kTemplateCache)) {
      assert.equal(existsSync(join(kTemplateCache, t, 'rootfs/usr/local/bin', name)), false,
                   `the write reached the template ${t}`);
    }
    // A fresh sandbox (from the pool) does not see it either.
    const c = await create('fresh');
    try {
      const inC = await c.commands.run(`test -e /usr/local/bin/${name} && echo present || echo absent`);
      assert.equal(inC.stdout, 'absent\n');
    } finally {
      await kill(c);
    }
  });
});

describe('network', { timeout: 60_000 }, () => {
  test('a TCP server on the host\'s 127.0.0.1 (and its other addresses) is unreachable', async () => {
    let accepted = 0;
    const host = createServer((sock) => {
      accepted++;
      sock.end('hello from the host\n');
    });
    await new Promise((r) => host.listen(0, '0.0.0.0', r));
    const port = host.address().port;
    try {
      const addresses = ['127.0.0.1'];
      for (const list of Object.values(networkInterfaces())) {
        for (const i of list) if (i.family === 'IPv4' && !i.internal) addresses.push(i.address);
      }
      const code = [
        'import socket',
        'out = []',
        `for addr in ${JSON.stringify(addresses)}:`,
        '    try:',
        `        s = socket.create_connection((addr, ${port}), timeout=3)`,
        '        out.append(addr + ":connected:" + s.recv(100).decode())',
        '    except Exception as e:',
        '        out.append(addr + ":" + type(e).__name__)',
        '"|".join(out)',
      ].join('\n');
      const text = await py(a, code, { timeoutMs: 30_000 });
      const results = text.split('|');
      assert.equal(results.length, addresses.length);
      assert.equal(results[0], '127.0.0.1:ConnectionRefusedError');
      for (const r of results) assert.doesNotMatch(r, /connected/, `reached the host: ${r}`);
      assert.equal(accepted, 0, 'the host server accepted a connection from the sandbox');
    } finally {
      host.close();
    }
  });

  test('the sandbox has its loopback and its own link to the host, nothing else', async () => {
    const names = await py(a, 'import socket; ",".join(sorted(n for _, n in socket.if_nameindex()))');
    assert.equal(names, 'eth0,lo');
  });
});

describe('resource abuse is contained', { timeout: 120_000 }, () => {
  test('a fork bomb: held at the pids limit; the server and another sandbox keep answering', async (t) => {
    const bomb = await create('forkbomb');
    const pidsGroup = readHandle(server.stateDir, bomb.sandboxId).cgroups.find((g) => /\/pids\//.test(g) ||
      existsSync(join(g, 'pids.max')));
    assert.ok(pidsGroup, 'no pids cgroup for the sandbox');
    const limit = Number(readFileSync(join(pidsGroup, 'pids.max'), 'utf8'));
    assert.ok(limit > 0 && limit < 100_000, `pids.max is ${limit}`);
    const started = Date.now();
    // The bomb grows inside the sandbox whether the command returns at once (bash backgrounded it) or only at its
    // timeout (the bomb's processes hold its output open): the pids are watched while it runs.
    const running = bomb.commands.run(':(){ :|:& };:', { timeoutMs: 8_000, requestTimeoutMs: 20_000 })
      .then(() => 'returned', (err) => `rejected: ${err?.name}`);
    let peak = 0;
    while (Date.now() - started < 15_000 && peak < limit) {
      peak = Math.max(peak, Number(readFileSync(join(pidsGroup, 'pids.current'), 'utf8')));
      await new Promise((r) => setTimeout(r, 100));
    }
    const outcome = await running;
    assert.ok(peak >= limit * 0.9, `the bomb only reached ${peak} of ${limit} pids (was it running?)`);
    assert.ok(peak <= limit, `pids.current ${peak} exceeded pids.max ${limit}`);
    const t0 = Date.now();
    assert.equal(await within(20_000, py(b, '1 + 1'), 'runCode in sandbox b during the fork bomb'), '2');
    const other = Date.now() - t0;
    const listed = await within(10_000, Sandbox.list({ query: { metadata: { suite } } }).nextItems(), 'list');
    assert.ok(listed.some((i) => i.sandboxId === b.sandboxId));
    const killT0 = Date.now();
    assert.equal(await within(30_000, kill(bomb), 'killing the fork-bomb sandbox'), true);
    const killMs = Date.now() - killT0;
    assert.equal(await bomb.isRunning(), false);
    assert.equal(existsSync(pidsGroup), false, 'the pids cgroup outlived the kill');
    assert.equal(await py(b, '2 + 2'), '4');
    t.diagnostic(`fork bomb: command ${outcome}; peak ${peak}/${limit} pids; b answered in ${other} ms ` +
                         `during it; kill took ${killMs} ms`);
  });

  test('a memory hog beyond the sandbox limit: the server and another sandbox keep answering', async (t) => {
    const hog = await create('memhog');
    const code = [
      'chunks = []',
      'while True:',
      '    chunks.append(bytearray(b"x" * (64 << 20)))', // touched, not lazily zero-mapped
    ].join('\n');
    const outcome = await within(90_000, hog.runCode(code, { timeoutMs: 60_000, requestTimeoutMs: 70_000 })
      .then((ex) => `error ${ex.error?.name}`, (err) => `rejected ${err?.name}: ${err?.message}`), 'memory hog');
    assert.doesNotMatch(outcome, /^error undefined/, 'the hog finished without any error');
    // Host view: the sandbox's memory cgroup held it to its limit (v1: max_usage/limit_in_bytes; v2: peak/max).
    const groups = readHandle(server.stateDir, hog.sandboxId).cgroups;
    const v1 = groups.find((g) => existsSync(join(g, 'memory.limit_in_bytes')));
    const v2 = groups.find((g) => existsSync(join(g, 'memory.max')));
    const memory = v1 ? { limit: 'memory.limit_in_bytes', peak: 'memory.max_usage_in_bytes', dir: v1 }
                      : { limit: 'memory.max', peak: 'memory.peak', dir: v2 };
    assert.ok(memory.dir, 'no memory cgroup for the sandbox');
    const limitBytes = Number(readFileSync(join(memory.dir, memory.limit), 'utf8'));
    const peakBytes = existsSync(join(memory.dir, memory.peak))
      ? Number(readFileSync(join(memory.dir, memory.peak), 'utf8')) : 0;
    assert.ok(limitBytes > 0 && limitBytes < 64 * 2 ** 30, `memory limit is ${limitBytes}`);
    assert.ok(peakBytes <= limitBytes, `memory peak ${peakBytes} exceeded the limit ${limitBytes}`);
    assert.ok(peakBytes === 0 || peakBytes >= limitBytes * 0.8, `the hog only reached ${peakBytes} bytes`);
    assert.equal(await within(20_000, py(b, '3 + 3'), 'sandbox b after the hog'), '6');
    const stillUsable = await hog.isRunning();
    let after = 'dead';
    if (stillUsable) {
      after = await hog.runCode('1 + 1', { timeoutMs: 30_000 }).then((ex) => ex.text ?? ex.error?.name,
                                                                       (e) => `rejected ${e?.name}`);
    }
    await kill(hog);
    const mib = (n) => Math.round(n / 2 ** 20);
    t.diagnostic(`memory hog (limit ${mib(limitBytes)} MiB, peak ${mib(peakBytes)} MiB): ${outcome}; ` +
                 `afterwards running=${stillUsable} next runCode=${after}`);
  });
});

describe('teardown', { timeout: 30_000 }, () => {
  test('kill a and b', async () => {
    assert.equal(await kill(a), true);
    assert.equal(await kill(b), true);
  });
});
