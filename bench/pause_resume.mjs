// Pause and resume latency of `cellblock serve` (memory pause: the sandbox's cgroup frozen in place), for an idle
// sandbox and for one holding a 500 MB DataFrame, measured through the control API as a client sees it
// (POST /sandboxes/{id}/pause → 204; POST /v2/sandboxes/{id}/connect → 201), and the first runCode after a
// resume. Then the filesystem-only pause (`memory: false`: files saved, processes ended) and its resume (a boot
// on the saved files up to a ready kernel), and a snapshot (POST /sandboxes/{id}/snapshots) of a sandbox that
// wrote 200 MB. E2B's published figures (a Firecracker snapshot: about 4 s per GiB of RAM to pause, about 1 s
// to resume) are printed beside them; they are E2B's, not measured here.
//
// Usage: node bench/pause_resume.mjs [--runs 20] (bench/pause_resume_run starts it as root with a built tree).

import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { Sandbox } from '../tests/sdk/node_modules/@e2b/code-interpreter/dist/index.mjs';

import { startServer } from '../tests/sdk/serve_harness.mjs';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    'frame-mb': { type: 'string', default: '500' },
  },
});
const runs = Number(opts.runs);
const kTargetMs = 20;
const kDiskResumeTargetMs = 1200;
const kSnapshotTargetMs = 1000;
const diskRuns = Math.max(3, Math.ceil(runs / 4));  // each one is a boot: fewer of them

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { n: s.length, p50: q(0.5), p99: q(0.99), max: s.at(-1) };
}

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return [Number(process.hrtime.bigint() - t0) / 1e6, value];
}

async function api(server, method, path, body) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'X-API-KEY': server.apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  await res.arrayBuffer();
  return res.status;
}

// Pauses and resumes `sbx` `runs` times; each resume is followed by a runCode that must see `probe`.
async function cycle(server, sbx, probe, expected) {
  const pause = [];
  const resume = [];
  const firstRun = [];
  for (let i = 0; i < runs; i++) {
    const [p, paused] = await timed(() => api(server, 'POST', `/sandboxes/${sbx.sandboxId}/pause`));
    if (paused !== 204) throw new Error(`pause answered ${paused}`);
    const [r, resumed] = await timed(() => api(server, 'POST', `/v2/sandboxes/${sbx.sandboxId}/connect`));
    if (resumed !== 201) throw new Error(`connect answered ${resumed}`);
    const [f, run] = await timed(() => sbx.runCode(probe));
    if (run.text !== expected) throw new Error(`after a resume ${probe} gave ${run.text}`);
    pause.push(p);
    resume.push(r);
    firstRun.push(f);
  }
  return { pause: stats(pause), resume: stats(resume), firstRun: stats(firstRun) };
}

// Filesystem-only pause and resume; the first runCode after the resume must find `file` written before.
async function diskCycle(server, sbx, file) {
  const pause = [];
  const resume = [];
  const firstRun = [];
  for (let i = 0; i < diskRuns; i++) {
    const [p, paused] = await timed(() => api(server, 'POST', `/sandboxes/${sbx.sandboxId}/pause`, { memory: false }));
    if (paused !== 204) throw new Error(`pause answered ${paused}`);
    const [r, resumed] = await timed(() => api(server, 'POST', `/v2/sandboxes/${sbx.sandboxId}/connect`));
    if (resumed !== 201) throw new Error(`connect answered ${resumed}`);
    const [f, run] = await timed(() => sbx.runCode(`len(open('${file}').read())`));
    if (run.error || Number(run.text) <= 0) throw new Error(`after a resume the file was not there: ${run.text}`);
    pause.push(p);
    resume.push(r);
    firstRun.push(f);
  }
  return { pause: stats(pause), resume: stats(resume), firstRun: stats(firstRun) };
}

// Snapshots of a sandbox that wrote `mb` MiB of files; each is deleted again.
async function snapshotCycle(server, sbx) {
  const taken = [];
  for (let i = 0; i < diskRuns; i++) {
    const [t, snap] = await timed(() => sbx.createSnapshot());
    taken.push(t);
    await Sandbox.deleteSnapshot(snap.snapshotId);
  }
  return stats(taken);
}

async function memoryMiB(sbx) {
  const metrics = await sbx.getMetrics();
  return metrics.length ? metrics.at(-1).memUsed / 2 ** 20 : NaN;
}

const server = await startServer({ poolSize: 1 });
const rows = [];
let diskRow;
let snapshotRow;
try {
  const idle = await Sandbox.create({ metadata: { bench: 'pause-idle' } });
  await idle.runCode('x = 1');
  rows.push(['idle sandbox (kernel warm, data stack imported)', await cycle(server, idle, 'x', '1')]);
  await idle.kill();

  const big = await Sandbox.create({ metadata: { bench: 'pause-frame' }, timeoutMs: 3_600_000 });
  const rowsInFrame = Math.round((Number(opts['frame-mb']) * 2 ** 20) / 8 / 8);
  const made = await big.runCode(
      `import numpy as np, pandas as pd\ndf = pd.DataFrame(np.random.rand(${rowsInFrame}, 8))\n` +
      `int(df.memory_usage(deep=True).sum() / 2**20)`);
  if (made.error) throw new Error(`making the DataFrame: ${made.error.name}: ${made.error.value}`);
  await sleep(5500);  // one metrics sample after the allocation
  const mib = await memoryMiB(big);
  rows.push([`sandbox holding a ${made.text} MiB DataFrame (cgroup memory ${mib.toFixed(0)} MiB)`,
             await cycle(server, big, 'df.shape[0]', String(rowsInFrame))]);
  await big.kill();

  const files = await Sandbox.create({ metadata: { bench: 'pause-disk' }, timeoutMs: 3_600_000 });
  const wrote = await files.commands.run(
      'head -c 200000000 /dev/urandom > /home/user/written.bin && echo hello > /home/user/small.txt && sync');
  if (wrote.exitCode !== 0) throw new Error(`writing 200 MB: ${wrote.stderr}`);
  snapshotRow = await snapshotCycle(server, files);
  diskRow = await diskCycle(server, files, '/home/user/small.txt');
  await files.kill();
} finally {
  await server.stop();
}

const f = (x) => x.toFixed(x >= 100 ? 0 : 1);
const lines = [];
lines.push(`## cellblock serve: pause and resume with memory (${new Date().toISOString()}, ${runs} cycles each)`);
lines.push('');
lines.push('| sandbox | pause p50 ms | pause p99 ms | resume p50 ms | resume p99 ms | first runCode after ' +
           'resume p50 ms | target (p50) | |');
lines.push('|---|---:|---:|---:|---:|---:|---|---|');
for (const [name, r] of rows) {
  const met = r.pause.p50 <= kTargetMs && r.resume.p50 <= kTargetMs;
  lines.push(`| ${name} | ${f(r.pause.p50)} | ${f(r.pause.p99)} | ${f(r.resume.p50)} | ${f(r.resume.p99)} | ` +
             `${f(r.firstRun.p50)} | pause and resume ≤ ${kTargetMs} ms | ${met ? 'met' : 'MISSED'} |`);
}
lines.push('| E2B (published, not measured here): Firecracker memory snapshot | ~4000 per GiB of RAM | | ~1000 | | | | |');
lines.push('');
lines.push(`## Filesystem-only pause and snapshots (a sandbox that wrote 200 MB; ${diskRuns} cycles each)`);
lines.push('');
lines.push('| operation | p50 ms | p99 ms | target (p50) | |');
lines.push('|---|---:|---:|---|---|');
lines.push(`| pause without memory (files saved, processes ended) | ${f(diskRow.pause.p50)} | ${f(diskRow.pause.p99)} | | |`);
lines.push(`| resume on the saved files (boot to a ready kernel) | ${f(diskRow.resume.p50)} | ${f(diskRow.resume.p99)} | ` +
           `≤ ${kDiskResumeTargetMs} ms | ${diskRow.resume.p50 <= kDiskResumeTargetMs ? 'met' : 'MISSED'} |`);
lines.push(`| first runCode after it | ${f(diskRow.firstRun.p50)} | ${f(diskRow.firstRun.p99)} | | |`);
lines.push(`| snapshot of the 200 MB written | ${f(snapshotRow.p50)} | ${f(snapshotRow.p99)} | ≤ ${kSnapshotTargetMs} ms | ` +
           `${snapshotRow.p50 <= kSnapshotTargetMs ? 'met' : 'MISSED'} |`);
lines.push('| E2B (published, not measured here): resume from a snapshot | | ~1000 | | |');
console.log(lines.join('\n'));
