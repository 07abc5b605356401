// Starts a fresh cellblock-agent for one test file and points the official E2B SDKs at it through debug mode.
//
// Debug mode (E2B_DEBUG=true) makes Sandbox.create() skip the control plane entirely; with E2B_SANDBOX_URL set,
// every envd and code-interpreter request goes to that one base URL and the agent routes it by the
// E2b-Sandbox-Port header. Nothing here talks to anything but 127.0.0.1.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const kDefaultAgent = fileURLToPath(new URL('../../build/dev/src/agent/cellblock-agent', import.meta.url));
const kReadyTimeoutMs = 60_000;
const kStopGraceMs = 5_000;
const kStderrKeep = 64 * 1024;

export const kEnvdPort = 49983;
export const kInterpreterPort = 49999;

export function agentPath() {
  return process.env.CELLBLOCK_AGENT || kDefaultAgent;
}

// Resolves once stdout has announced both ports and `ready`; rejects on exit or timeout.
function waitForReady(child, state, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`agent not ready after ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code, signal) => fail(new Error(`agent exited early (code ${code}, signal ${signal})`));
    const onError = (err) => fail(err);
    const onData = () => {
      if (state.envdPort && state.interpreterPort && state.ready) {
        cleanup();
        resolve();
      }
    };
    function cleanup() {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      state.emitter = null;
    }
    function fail(err) {
      cleanup();
      err.message += `\n--- agent stdout ---\n${state.stdout}\n--- agent stderr ---\n${state.stderr}`;
      reject(err);
    }
    child.once('exit', onExit);
    child.once('error', onError);
    state.emitter = onData;
    onData();
  });
}

function parseStdoutLine(line, state) {
  let m = /^envd listening on ([\d.]+):(\d+)\s*$/.exec(line);
  if (m) state.envdPort = Number(m[2]);
  m = /^interpreter listening on ([\d.]+):(\d+)\s*$/.exec(line);
  if (m) state.interpreterPort = Number(m[2]);
  if (line.trim() === 'ready') state.ready = true;
}

/**
 * Starts the agent with a fresh temporary workdir and ephemeral ports, waits for `ready`, and sets the
 * environment the SDKs read. `via` chooses which listener E2B_SANDBOX_URL points at ('envd' or 'interpreter');
 * both must route every SDK call by the E2b-Sandbox-Port header.
 *
 * @returns {Promise<{pid:number, workdir:string, envdUrl:string, interpreterUrl:string, sandboxUrl:string,
 *   stderr:()=>string, rssKiB:()=>number, alive:()=>boolean, stop:()=>Promise<void>}>}
 */
export async function startAgent({ via = 'envd', extraArgs = [] } = {}) {
  const workdir = realpathSync(mkdtempSync(join(tmpdir(), 'cellblock-sdk-')));
  const args = ['--listen', '127.0.0.1', '--envd-port', '0', '--interpreter-port', '0', '--workdir', workdir,
                ...extraArgs];
  const child = spawn(agentPath(), args, { cwd: workdir, stdio: ['ignore', 'pipe', 'pipe'] });
  const state = { stdout: '', stderr: '', pending: '', envdPort: 0, interpreterPort: 0, ready: false, emitter: null };

  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    state.stdout = (state.stdout + chunk).slice(-kStderrKeep);
    state.pending += chunk;
    let nl;
    while ((nl = state.pending.indexOf('\n')) >= 0) {
      parseStdoutLine(state.pending.slice(0, nl), state);
      state.pending = state.pending.slice(nl + 1);
    }
    state.emitter?.();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    state.stderr = (state.stderr + chunk).slice(-kStderrKeep);
    if (process.env.CELLBLOCK_SDK_VERBOSE) process.stderr.write(chunk);
  });

  // A crashed test process must not leave an agent (and its kernels) behind.
  const reaper = () => {
    try {
      child.kill('SIGKILL');
    } catch {}
  };
  process.once('exit', reaper);

  try {
    await waitForReady(child, state, kReadyTimeoutMs);
  } catch (err) {
    reaper();
    rmSync(workdir, { recursive: true, force: true });
    throw err;
  }

  const envdUrl = `http://127.0.0.1:${state.envdPort}`;
  const interpreterUrl = `http://127.0.0.1:${state.interpreterPort}`;
  const sandboxUrl = via === 'interpreter' ? interpreterUrl : envdUrl;
  process.env.E2B_DEBUG = 'true';
  process.env.E2B_SANDBOX_URL = sandboxUrl;
  // Debug mode needs no key, but a dummy one keeps any control-plane code path from failing on its absence.
  process.env.E2B_API_KEY ||= 'e2b_' + '0'.repeat(40);
  // No control plane exists; make any accidental call fail fast on a closed local port instead of hanging.
  process.env.E2B_API_URL ||= 'http://127.0.0.1:9';

  let exited = child.exitCode !== null;
  let stopping = false;
  const exitPromise = new Promise((resolve) => child.once('exit', (code, signal) => {
    exited = true;
    // An agent that dies mid-file fails every later test; show why once, here.
    if (!stopping) {
      process.stderr.write(`\n*** cellblock-agent (pid ${child.pid}) exited unexpectedly: code ${code}, signal ` +
                           `${signal}\n--- agent stderr (tail) ---\n${state.stderr.slice(-8000)}\n---\n`);
    }
    resolve();
  }));

  return {
    pid: child.pid,
    workdir,
    envdUrl,
    interpreterUrl,
    sandboxUrl,
    stderr: () => state.stderr,
    alive: () => !exited,
    rssKiB: () => readRssKiB(child.pid),
    async stop() {
      stopping = true;
      process.off('exit', reaper);
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), kStopGraceMs);
        await exitPromise;
        clearTimeout(timer);
      }
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}

/** VmRSS of a process in KiB, or 0 if it is gone. */
export function readRssKiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Polls `predicate` every `intervalMs` until it is truthy or `timeoutMs` passes; returns the last value. */
export async function waitFor(predicate, { timeoutMs = 10_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let value;
  while (!(value = await predicate()) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return value;
}

/** Runs `promise` and fails with a clear message if it takes longer than `ms`. */
export async function within(ms, promise, what = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
