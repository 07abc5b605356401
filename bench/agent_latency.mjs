// `1+1` round-trip latency through cellblock-agent versus the same kind of kernel driven directly, in one run.
//
//   (a) @e2b/code-interpreter 2.8.0 sandbox.runCode('1+1') in debug mode
//   (b) raw HTTP POST /execute with node's fetch (undici, keep-alive), body read to the end
//   (c) peer: Debian's jupyter_client BlockingKernelClient.execute_interactive against a kernel started with the
//       agent's argv (bench/jupyter_client_peer.py)
//   (d) peer: a minimal pyzmq client against that kernel: the floor for any client
//   (e) peer: the minimal pyzmq client against a kernel configured exactly like the agent's (PYTHONPATH and
//       exec_lines of the cellblock_kernel start-up module, whose display formatters run on every result);
//       the agent's overhead is measured against this one
//
// Paths are interleaved in rounds so that load drift on a shared machine hits them alike.
// Usage: node bench/agent_latency.mjs --interpreter-url http://127.0.0.1:PORT [--agent-pid PID]
//        [--iterations 300] [--warmup 30] [--rounds 10] [--out-dir DIR]   (bench/run does all of this)

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const kTargetP50Ms = 3.0;
const kTargetOverheadMs = 0.5;
const here = fileURLToPath(new URL('.', import.meta.url));

const { values: opts } = parseArgs({
  options: {
    'interpreter-url': { type: 'string' },
    'agent-pid': { type: 'string' },
    iterations: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '10' },
    'out-dir': { type: 'string', default: join(here, '.results') },
    python: { type: 'string', default: '/usr/bin/python3' },
    'startup-module-dir': { type: 'string', default: join(here, '../templates/code-interpreter/python') },
  },
});
if (!opts['interpreter-url']) {
  console.error('--interpreter-url is required (bench/run starts the agent and passes it)');
  process.exit(2);
}
const iterations = Number(opts.iterations);
const warmup = Number(opts.warmup);
const rounds = Number(opts.rounds);
const baseUrl = opts['interpreter-url'].replace(/\/$/, '');

process.env.E2B_DEBUG = 'true';
process.env.E2B_SANDBOX_URL = baseUrl;
process.env.E2B_API_KEY ||= 'e2b_' + '0'.repeat(40);
const { Sandbox } = await import(new URL('../tests/sdk/node_modules/@e2b/code-interpreter/dist/index.mjs',
                                         import.meta.url));

// ---- measured paths -------------------------------------------------------------------------------------------

const sandbox = await Sandbox.create();

async function sdkOnce() {
  const t0 = process.hrtime.bigint();
  const ex = await sandbox.runCode('1+1');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (ex.text !== '2') throw new Error(`SDK path: unexpected result ${JSON.stringify(ex.toJSON())}`);
  return ms;
}

const executeInit = {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', 'E2b-Sandbox-Id': 'debug_sandbox_id', 'E2b-Sandbox-Port': '49999' },
  body: JSON.stringify({ code: '1+1' }),
};

async function httpOnce() {
  const t0 = process.hrtime.bigint();
  const res = await fetch(`${baseUrl}/execute`, executeInit);
  const text = await res.text();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 200 || !text.includes('"text":"2"') || !text.trimEnd().endsWith('{"type":"end_of_execution"}')) {
    throw new Error(`HTTP path: unexpected response ${res.status} ${text.slice(0, 300)}`);
  }
  return ms;
}

async function sample(fn, n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

// The peer keeps its kernel between batches: "<client> N" on stdin → one JSON line of samples on stdout.
function startPeer(extraArgs = []) {
  const child = spawn(opts.python,
                      [join(here, 'jupyter_client_peer.py'), '--serve', '--warmup', String(warmup), ...extraArgs],
                      { stdio: ['pipe', 'pipe', 'inherit'],
                        env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' } });
  const lines = createInterface({ input: child.stdout });
  const queue = [];
  const waiters = [];
  lines.on('line', (l) => (waiters.length ? waiters.shift()(l) : queue.push(l)));
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const next = () => Promise.race([
    new Promise((resolve) => (queue.length ? resolve(queue.shift()) : waiters.push(resolve))),
    exited.then((code) => {
      throw new Error(`peer exited with code ${code}`);
    }),
  ]);
  return {
    ready: next().then((l) => {
      if (l !== 'ready') throw new Error(`peer said ${l}`);
    }),
    async run(client, n) {
      child.stdin.write(`${client} ${n}\n`);
      return JSON.parse(await next()).samples_ms;
    },
    async stop() {
      child.stdin.end('quit\n');
      await exited;
    },
  };
}

// ---- statistics and report --------------------------------------------------------------------------------------

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { n: s.length, p50: q(0.5), p99: q(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length, min: s[0] };
}

function readRssMiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

const f = (x) => x.toFixed(3);

// ---- run ----------------------------------------------------------------------------------------------------------

const peer = startPeer();
const agentLikePeer = existsSync(join(opts['startup-module-dir'], 'cellblock_kernel'))
  ? startPeer(['--startup-module-dir', opts['startup-module-dir'], '--agent-url', baseUrl])
  : null;
await peer.ready;
await agentLikePeer?.ready;
await sample(sdkOnce, warmup);
await sample(httpOnce, warmup);

const samples = { sdk: [], http: [], jupyter_client: [], raw: [], raw_agent_like: [], agent_http_py: [] };
const perRound = Math.ceil(iterations / rounds);
for (let r = 0; r < rounds; r++) {
  samples.sdk.push(...await sample(sdkOnce, perRound));
  samples.http.push(...await sample(httpOnce, perRound));
  samples.jupyter_client.push(...await peer.run('jupyter_client', perRound));
  samples.raw.push(...await peer.run('raw', perRound));
  if (agentLikePeer) {
    samples.raw_agent_like.push(...await agentLikePeer.run('raw', perRound));
    samples.agent_http_py.push(...await agentLikePeer.run('agent_http', perRound));
  }
}
await peer.stop();
await agentLikePeer?.stop();

const rows = [
  ['(a) agent via SDK `sandbox.runCode`', stats(samples.sdk)],
  ['(b) agent via raw HTTP `POST /execute` (keep-alive)', stats(samples.http)],
  ['(c) peer: jupyter_client `BlockingKernelClient` → kernel', stats(samples.jupyter_client)],
  ['(d) peer: minimal pyzmq client → kernel (floor)', stats(samples.raw)],
];
if (agentLikePeer) {
  rows.push(['(e) peer: minimal pyzmq client → kernel configured like the agent\'s', stats(samples.raw_agent_like)]);
  rows.push(['(f) agent via minimal Python HTTP client (same client work as e)', stats(samples.agent_http_py)]);
}
const agentP50 = rows[1][1].p50;
// The overhead compares like with like: the same minimal Python client work against the agent (f) and straight to
// an identically configured kernel (e). Without the start-up module, (b) against the bare kernel (d).
const byName = (tag) => rows.find(([name]) => name.startsWith(`(${tag})`))[1];
const kernelTag = agentLikePeer ? 'e' : 'd';
const agentTag = agentLikePeer ? 'f' : 'b';
const kernelP50 = byName(kernelTag).p50;
const overhead = byName(agentTag).p50 - kernelP50;
const overheadVsJc = agentP50 - rows[2][1].p50;

const lines = [];
lines.push(`## cellblock-agent \`1+1\` latency (${new Date().toISOString()})`);
lines.push('');
lines.push(`node ${process.version}, ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ` +
           `${iterations} iterations per path after ${warmup} warm-up, ${rounds} interleaved rounds.`);
lines.push('');
lines.push('| path | p50 ms | p99 ms | mean ms | min ms | n |');
lines.push('|---|---:|---:|---:|---:|---:|');
for (const [name, s] of rows) lines.push(`| ${name} | ${f(s.p50)} | ${f(s.p99)} | ${f(s.mean)} | ${f(s.min)} | ${s.n} |`);
lines.push('');
lines.push('| metric | measured | target | |');
lines.push('|---|---:|---:|---|');
lines.push(`| agent p50 (b) | ${f(agentP50)} ms | ≤ ${kTargetP50Ms} ms | ${agentP50 <= kTargetP50Ms ? 'met' : 'MISSED'} |`);
lines.push(`| agent overhead p50 (${agentTag} − ${kernelTag}) | ${f(overhead)} ms | ≤ ${kTargetOverheadMs} ms | ` +
           `${overhead <= kTargetOverheadMs ? 'met' : 'MISSED'} |`);
lines.push(`| agent vs jupyter_client p50 (b − c) | ${f(overheadVsJc)} ms | — | |`);
if (agentLikePeer) lines.push(`| start-up module cost p50 (e − d) | ${f(kernelP50 - byName('d').p50)} ms | — | |`);
lines.push(`| SDK client cost p50 (a − b) | ${f(rows[0][1].p50 - agentP50)} ms | — | |`);
if (opts['agent-pid']) {
  const rss = readRssMiB(Number(opts['agent-pid']));
  if (rss !== null) lines.push(`| agent RSS after the run | ${rss} MiB | — | |`);
}
const report = lines.join('\n');
console.log(report);

mkdirSync(opts['out-dir'], { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
writeFileSync(join(opts['out-dir'], `agent_latency-${stamp}.md`), report + '\n');
writeFileSync(join(opts['out-dir'], `agent_latency-${stamp}.json`),
              JSON.stringify({ iterations, warmup, rounds, samples_ms: samples,
                               stats: Object.fromEntries(rows.map(([n, s]) => [n, s])) }, null, 1));
