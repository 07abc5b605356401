// Starts one `cellblock serve` (control plane + sandbox proxy + real ns sandboxes) for a test file and points the
// official, unmodified E2B SDKs at it through E2B_API_URL / E2B_SANDBOX_URL / E2B_API_KEY (no debug mode).
//
// Clean-up contract: tests kill what they create; `stop()` additionally lists and kills every sandbox through the
// API BEFORE stopping the server (the server leaves claimed sandboxes running across its own restart by design),
// then stops it with SIGTERM (SIGKILL after a grace period), then reaps whatever is still left of this server's
// sandboxes on the host (PID 1, cgroups, sandbox directories) and removes the state directory.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync, writeFileSync }
  from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Sandbox as BaseSandbox } from 'e2b';

import { readRssKiB, waitFor, within } from './harness.mjs';

export { readRssKiB, waitFor, within };

const kDefaultBinary = fileURLToPath(new URL('../../build/dev/src/cli/cellblock', import.meta.url));
// A fresh machine builds the code-interpreter template on the first start; that takes minutes.
const kReadyTimeoutMs = 10 * 60_000;
const kStopGraceMs = 20_000;
const kOutputKeep = 256 * 1024;
const kCgroupRoot = '/sys/fs/cgroup';
const kCgroupParent = 'cellblock';

export function serveBinary() {
  return process.env.CELLBLOCK_BIN || kDefaultBinary;
}

/** An API key in the shape the server seeds: `e2b_` + 40 lowercase hex. */
export function newApiKey() {
  return 'e2b_' + randomBytes(20).toString('hex');
}

/** A short random tag for metadata, file names and the like. */
export function randomTag(bytes = 6) {
  return randomBytes(bytes).toString('hex');
}

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function readText(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), or null when the process is gone. */
export function processStartTime(pid) {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[19]);
}

/** The runtime handle the server wrote next to a sandbox (null for one whose start never finished). */
export function readHandle(stateDir, id) {
  const text = readText(join(stateDir, 'sandboxes', id, 'handle.json'));
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** SIGKILLs a sandbox's PID 1 (which takes its whole pid namespace down). Returns true if it was running. */
export function killSandboxPid1(stateDir, id) {
  const handle = readHandle(stateDir, id);
  if (!handle || processStartTime(handle.pid) !== handle.pid_start_time) return false;
  process.kill(handle.pid, 'SIGKILL');
  return true;
}

/**
 * Host pids still belonging to a sandbox of this state directory: its PID 1 (if the identity matches) and
 * everything in its cgroups (found by id even when the sandbox never got a handle).
 */
export function sandboxProcesses(stateDir, id) {
  const handle = readHandle(stateDir, id);
  const pids = new Set(cgroupsOf(id, handle).flatMap(cgroupPids));
  if (handle && processStartTime(handle.pid) === handle.pid_start_time) pids.add(handle.pid);
  return [...pids];
}

/** Ids of the sandbox directories under <stateDir>/sandboxes. */
export function sandboxDirs(stateDir) {
  return readdirSafe(join(stateDir, 'sandboxes')).sort();
}

/**
 * Waits until at least `count` sandboxes exist under the state directory and none is still booting (each has
 * its handle and the server's ready marker), so that a stop does not race a warm-pool boot.
 */
export async function waitForSettledSandboxes(stateDir, count, timeoutMs = 60_000) {
  return waitFor(() => {
    const ids = sandboxDirs(stateDir);
    return ids.length >= count &&
           ids.every((id) => readHandle(stateDir, id) && existsSync(join(stateDir, 'sandboxes', id, 'ready')));
  }, { timeoutMs, intervalMs: 100 });
}

function cgroupsOf(id, handle) {
  const groups = new Set(handle?.cgroups ?? []);
  // A sandbox whose start hung never got a handle; its cgroups are still named after its id.
  for (const controller of readdirSafe(kCgroupRoot)) {
    for (const candidate of [join(kCgroupRoot, controller, kCgroupParent, id), join(kCgroupRoot, kCgroupParent, id)]) {
      if (existsSync(join(candidate, 'cgroup.procs'))) groups.add(candidate);
    }
  }
  return [...groups];
}

function readdirSafe(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function cgroupPids(group) {
  return (readText(join(group, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
}

function mountsBelow(dir) {
  const info = readText('/proc/self/mountinfo') ?? '';
  return info.split('\n').some((line) => {
    const mountPoint = line.split(' ')[4];
    return mountPoint && (mountPoint === dir || mountPoint.startsWith(dir + '/'));
  });
}

/**
 * Synchronously removes every trace of the sandboxes under <stateDir>/sandboxes: kills PID 1 (identity checked
 * by start time) and anything left in their cgroups, removes the cgroups and, unless a host mount is below it,
 * the directory. Returns [{id, hadProcesses, removed}] for what it found.
 */
export function reapLeftovers(stateDir) {
  const found = [];
  const root = join(stateDir, 'sandboxes');
  for (const id of readdirSafe(root)) {
    const dir = join(root, id);
    const handle = readHandle(stateDir, id);
    let hadProcesses = false;
    if (handle && processStartTime(handle.pid) === handle.pid_start_time) {
      hadProcesses = true;
      try {
        process.kill(handle.pid, 'SIGKILL');
      } catch {}
    }
    const groups = cgroupsOf(id, handle);
    // A paused sandbox is frozen: its processes die only once thawed.
    for (const group of groups) {
      if (existsSync(join(group, 'freezer.state'))) {
        try {
          writeFileSync(join(group, 'freezer.state'), 'THAWED');
        } catch {}
      }
    }
    for (let round = 0; round < 50; round++) {
      const pids = groups.flatMap(cgroupPids);
      if (pids.length === 0) break;
      hadProcesses = true;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      sleepSync(100);
    }
    for (const group of groups) {
      try {
        rmdirSync(group);
      } catch {}
    }
    let removed = false;
    if (!mountsBelow(dir)) {
      rmSync(dir, { recursive: true, force: true });
      removed = true;
    }
    found.push({ id, hadProcesses, removed });
  }
  return found;
}

/**
 * What a hung server is doing: the kernel wait channel of each thread, and its children that are still the
 * server's own image (cloned for a sandbox but never exec'd).
 */
export function describeThreads(pid) {
  let out = '';
  for (const tid of readdirSafe(`/proc/${pid}/task`)) {
    out += `  thread ${tid}: ${readText(`/proc/${pid}/task/${tid}/wchan`) ?? '?'}\n`;
  }
  for (const tid of readdirSafe(`/proc/${pid}/task`)) {
    for (const c of (readText(`/proc/${pid}/task/${tid}/children`) ?? '').split(' ').filter(Boolean)) {
      const exe = readText(`/proc/${c}/cmdline`)?.split('\0')[0] ?? '?';
      out += `  child ${c}: ${exe} wchan ${readText(`/proc/${c}/wchan`) ?? '?'}` +
             `${/cellblock$/.test(exe) ? ' (never exec\'d: stuck between clone and execve)' : ''}\n`;
    }
  }
  return out;
}

function waitForListening(child, state, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`cellblock serve not listening after ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code, signal) => fail(new Error(`cellblock serve exited early (code ${code}, signal ${signal})`));
    const onError = (err) => fail(err);
    state.onLine = () => {
      if (state.url) {
        cleanup();
        resolve(state.url);
      }
    };
    function cleanup() {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      state.onLine = null;
    }
    function fail(err) {
      cleanup();
      err.message += `\n--- serve stdout ---\n${state.stdout.slice(-8000)}\n--- serve stderr ---\n` +
                     `${state.stderr.slice(-8000)}`;
      reject(err);
    }
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/**
 * Starts `cellblock serve` on 127.0.0.1 (`port`, default 0: any free port) with a fresh state directory (or `stateDir`), a seeded API key
 * (or `apiKey`) and `--pool-size poolSize`; waits for the "listening on" line, streaming everything the server
 * prints before it (template build progress) to this process's stderr. Sets E2B_API_URL, E2B_SANDBOX_URL and
 * E2B_API_KEY and clears E2B_DEBUG.
 *
 * Sandboxes have internet by default; no test may send a packet off this machine, so the server confines them
 * (`networkArgs`, default: no egress at all and no resolver). A networking test passes its own fake internet
 * (tests/net) instead, e.g. `['--egress-within', '198.18.1.0/24,198.19.1.0/24', '--sandbox-dns', dns]`.
 *
 * @returns {Promise<{url:string, apiKey:string, stateDir:string, pid:number, opts:object, stdout:()=>string,
 *   stderr:()=>string, alive:()=>boolean, killAllSandboxes:()=>Promise<string[]>,
 *   stop:(o?:{keepState?:boolean, killSandboxes?:boolean, graceMs?:number})=>Promise<object>}>}
 */
export const kConfinedNetwork = Object.freeze(['--egress-within', 'none', '--sandbox-dns', 'none']);

export async function startServer({ poolSize = 2, defaultTimeout, stateDir, apiKey, port = 0, extraArgs = [],
                                    networkArgs = kConfinedNetwork } = {}) {
  if (process.getuid?.() !== 0) throw new Error('cellblock serve runs sandboxes and needs root');
  const ownStateDir = !stateDir;
  stateDir ??= realpathSync(mkdtempSync(join(tmpdir(), 'cellblock-serve-')));
  apiKey ??= newApiKey();
  const args = ['serve', '--listen', `127.0.0.1:${port}`, '--state-dir', stateDir, '--pool-size', String(poolSize)];
  if (defaultTimeout !== undefined) args.push('--default-timeout', String(defaultTimeout));
  args.push(...networkArgs, ...extraArgs);
  const child = spawn(serveBinary(), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CELLBLOCK_API_KEY: apiKey },
  });
  const state = { stdout: '', stderr: '', pending: '', url: null, onLine: null, table: null };
  const verbose = !!process.env.CELLBLOCK_SDK_VERBOSE;

  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    state.stdout = (state.stdout + chunk).slice(-kOutputKeep);
    if (!state.url || verbose) process.stderr.write(chunk); // build progress goes to the test log
    state.pending += chunk;
    let nl;
    while ((nl = state.pending.search(/[\r\n]/)) >= 0) {
      const m = /cellblock serve: listening on (http:\/\/[\d.]+:\d+)/.exec(state.pending.slice(0, nl));
      if (m) state.url = m[1];
      state.pending = state.pending.slice(nl + 1);
    }
    state.onLine?.();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    state.stderr = (state.stderr + chunk).slice(-kOutputKeep);
    state.table ??= /nftables table inet (cellblock-[0-9a-f]+)/.exec(state.stderr)?.[1];
    if (!state.url || verbose) process.stderr.write(chunk);
  });

  let exited = false;
  let stopping = false;
  const exitPromise = new Promise((resolve) => child.once('exit', (code, signal) => {
    exited = true;
    if (!stopping) {
      process.stderr.write(`\n*** cellblock serve (pid ${child.pid}) exited unexpectedly: code ${code}, signal ` +
                           `${signal}\n--- serve stderr (tail) ---\n${state.stderr.slice(-8000)}\n---\n`);
    }
    resolve({ code, signal });
  }));

  // A crashed test process must leave neither the server nor its sandboxes behind.
  const reaper = () => {
    try {
      child.kill('SIGKILL');
    } catch {}
    sleepSync(200);
    try {
      reapLeftovers(stateDir);
      if (ownStateDir) rmSync(stateDir, { recursive: true, force: true });
    } catch {}
  };
  process.once('exit', reaper);

  try {
    await waitForListening(child, state, kReadyTimeoutMs);
  } catch (err) {
    stopping = true;
    process.off('exit', reaper);
    reaper();
    throw err;
  }

  delete process.env.E2B_DEBUG;
  process.env.E2B_API_URL = state.url;
  process.env.E2B_SANDBOX_URL = state.url;
  process.env.E2B_API_KEY = apiKey;
  const opts = { apiKey, apiUrl: state.url, sandboxUrl: state.url };

  async function killAllSandboxes() {
    const ids = [];
    const paginator = BaseSandbox.list({ ...opts, query: { state: ['running', 'paused'] } });
    while (paginator.hasNext) {
      for (const info of await paginator.nextItems()) ids.push(info.sandboxId);
    }
    await Promise.all(ids.map((id) => BaseSandbox.kill(id, opts).catch(() => false)));
    return ids;
  }

  return {
    url: state.url,
    port: Number(new URL(state.url).port),
    apiKey,
    stateDir,
    pid: child.pid,
    opts,
    stdout: () => state.stdout,
    stderr: () => state.stderr,
    alive: () => !exited,
    killAllSandboxes,
    /**
     * Stops the server. By default first kills every sandbox through the API, then SIGTERM (SIGKILL after
     * `graceMs`), then reaps leftovers and removes the state directory. `keepState` keeps the state directory
     * and the sandboxes (for a restart on the same state); `killSandboxes: false` skips the API kill.
     * Returns {stopMs, killedBySigkill, exit, killedViaApi, leftovers}.
     */
    async stop({ keepState = false, killSandboxes = !keepState, graceMs = kStopGraceMs } = {}) {
      let killedViaApi = [];
      let apiError = null;
      if (!exited && killSandboxes) {
        try {
          killedViaApi = await within(60_000, killAllSandboxes(), 'killing all sandboxes');
        } catch (err) {
          apiError = err;
        }
      }
      stopping = true;
      process.off('exit', reaper);
      const started = Date.now();
      let killedBySigkill = false;
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          killedBySigkill = true;
          process.stderr.write(`\n*** cellblock serve (pid ${child.pid}) ignored SIGTERM for ${graceMs} ms: ` +
                               `SIGKILL\n${describeThreads(child.pid)}--- serve stderr (tail) ---\n` +
                               `${state.stderr.slice(-4000)}\n---\n`);
          child.kill('SIGKILL');
        }, graceMs);
        await exitPromise;
        clearTimeout(timer);
      }
      const stopMs = Date.now() - started;
      const exit = await exitPromise;
      let leftovers = [];
      if (!keepState) {
        await sleep(100);
        leftovers = reapLeftovers(stateDir);
        // A server that died (or was killed) could not remove its firewall; with its sandboxes gone, do it.
        if (state.table) spawnSync('nft', ['delete', 'table', 'inet', state.table], { stdio: 'ignore' });
        if (ownStateDir) rmSync(stateDir, { recursive: true, force: true });
      }
      if (apiError) process.stderr.write(`\n*** killing sandboxes through the API failed: ${apiError}\n`);
      return { stopMs, killedBySigkill, exit, killedViaApi, leftovers, apiError };
    },
  };
}

/** Writes a file and returns its path (used for host-side secrets the sandboxes must not see). */
/** A JSON call to `server`'s control API with its key: {status, json (when the body is JSON), text}. */
export async function controlCall(server, method, path, body) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'X-API-KEY': server.apiKey, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

export function writeHostFile(path, content) {
  writeFileSync(path, content, { mode: 0o644 });
  return path;
}
