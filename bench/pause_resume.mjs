// Pause and resume latency of `cellblock serve` (memory pause: the sandbox's cgroup frozen in place), for an idle
// sandbox and for one holding a 500 MB DataFrame, measured through the control API as a client sees it
// (POST /sandboxes/{id}/pause → 204; POST /v2/sandboxes/{id}/connect → 201), and the first runCode after a
// resume. E2B's published figures (a Firecracker snapshot: about 4 s per GiB of RAM to pause, about 1 s to
// resume) are printed beside them; they are E2B's, not measured here.
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

async function memoryMiB(sbx) {
  const metrics = await sbx.getMetrics();
  return metrics.length ? metrics.at(-1).memUsed / 2 ** 20 : NaN;
}

const server = await startServer({ poolSize: 1 });
const rows = [];
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
lines.push('Filesystem-only pause (`keepMemory: false`) and snapshots are not built yet: no rows for them.');
console.log(lines.join('\n'));
