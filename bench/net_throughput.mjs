// Sandbox networking against its peers, in one run, on this machine only (a fake internet in a network
// namespace, tests/net/fake_internet; nothing leaves the machine):
//
//   (1) download throughput from the fake internet's HTTP server: the host itself, a sandbox (veth, NAT,
//       nftables per packet), the same download inside bubblewrap with --share-net (the host's stack), and
//       inside a user+net namespace behind slirp4netns (a user-space network stack);
//   (2) the same over HTTPS to a name: the host, and a sandbox whose allowOut names the domain (through the
//       egress proxy: SNI peek, resolution, splice);
//   (3) connection set-up: a small HTTP GET's total time, host vs sandbox direct vs sandbox through the proxy;
//   (4) pool-hit create latency and the time a pool of 4 takes to fill, with --sandbox-network on and off.
//
// Targets (docs/issue): sandbox ≥ 0.9× host; through the proxy ≥ 0.7× host; set-up added p50 ≤ 0.3 ms direct,
// ≤ 1 ms through the proxy; pool-hit create unchanged within noise.
// Usage: bench/net_run (root, built tree).

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { Sandbox } from '../tests/sdk/node_modules/e2b/dist/index.mjs';

import { startFakeInternet } from '../tests/net/fake_internet.mjs';
import { startServer } from '../tests/sdk/serve_harness.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const kIndex = 60;
const kBytes = 512 << 20;
const kRounds = 5;
const kGets = 40;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function log(message) {
  process.stderr.write(`[net bench] ${message}\n`);
}

// Bytes per second of one curl download, as curl measures it.
function hostCurl(args) {
  return Number(execFileSync('curl', ['-s', '--noproxy', '*', '-o', '/dev/null', '-w', '%{speed_download}', ...args],
                             { encoding: 'utf8' }));
}

async function sandboxCurl(sbx, args) {
  const result = await sbx.commands.run(`curl -s --noproxy '*' -o /dev/null -w '%{speed_download}' ${args}`,
                                        { timeoutMs: 120_000 });
  return Number(result.stdout);
}

// The total times (ms) of `count` small GETs made one after another by one curl process, which reports each.
function timesOf(output) {
  return output.trim().split('\n').map((line) => Number(line) * 1000);
}
const kTimeFormat = '%{time_total}\\n';

function curlTimesArgs(url, count) {
  const args = [];
  for (let i = 0; i < count; i++) args.push('-o', '/dev/null', '-w', kTimeFormat, url);
  return args;
}

async function main() {
  const results = { date: new Date().toISOString(), rows: [] };
  const row = (name, value, unit, extra = '') => {
    results.rows.push({ name, value, unit, extra });
    log(`${name}: ${typeof value === 'number' ? value.toFixed(2) : value} ${unit} ${extra}`);
  };
  const internet = await startFakeInternet('cbnet-bench', { index: kIndex });
  const networkArgs = ['--egress-within', `198.18.${kIndex}.0/24,${internet.internet}`, '--sandbox-dns', internet.dns];
  let server;
  try {
    const url = `http://${internet.allowed}/bytes/${kBytes}`;
    const tlsUrl = `https://allowed.test/bytes/${kBytes}`;
    const tlsArgs = ['--cacert', internet.ca, '--resolve', `allowed.test:443:${internet.allowed}`, tlsUrl];

    // Pool 0: no refill boots compete with the measurements. Host and sandbox rounds alternate, so a drift of
    // the machine's load hits both alike.
    server = await startServer({ poolSize: 0, networkArgs });
    const direct = await Sandbox.create();
    const proxied = await Sandbox.create({ network: { allowOut: ['allowed.test'], denyOut: ['0.0.0.0/0'] } });
    const ca = execFileSync('cat', [internet.ca], { encoding: 'utf8' });
    await direct.files.write('/tmp/ca.pem', ca);
    await proxied.files.write('/tmp/ca.pem', ca);
    const speeds = { host: [], bwrap: [], slirp: [], direct: [], proxied: [], hostTls: [], proxiedTls: [] };
    for (let i = 0; i < kRounds; i++) {
      speeds.host.push(hostCurl([url]));
      speeds.direct.push(await sandboxCurl(direct, url));
      speeds.proxied.push(await sandboxCurl(proxied, `http://allowed.test/bytes/${kBytes}`));
      speeds.bwrap.push(Number(execFileSync('bwrap', [
        '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-all', '--share-net',
        '--die-with-parent', 'curl', '-s', '--noproxy', '*', '-o', '/dev/null', '-w', '%{speed_download}', url],
      { encoding: 'utf8' })));
      const slirp = spawnSync('bash', [join(here, 'slirp_curl.sh'), url, '1'], { encoding: 'utf8' });
      if (slirp.status === 0) speeds.slirp.push(Number(slirp.stdout.trim()));
      speeds.hostTls.push(hostCurl(tlsArgs));
      speeds.proxiedTls.push(await sandboxCurl(proxied, `--cacert /tmp/ca.pem https://allowed.test/bytes/${kBytes}`));
    }
    const host = median(speeds.host);
    const ratio = (values, base, target) =>
      `${(median(values) / base).toFixed(2)}× host${target ? ` (target ≥ ${target})` : ''}`;
    row('HTTP download, host', host / 1e6, 'MB/s');
    row('HTTP download, sandbox (veth, NAT, nftables per packet)', median(speeds.direct) / 1e6, 'MB/s',
        ratio(speeds.direct, host, 0.9));
    row('HTTP download by name, sandbox with a domain allowlist (egress proxy, splice)', median(speeds.proxied) / 1e6,
        'MB/s', ratio(speeds.proxied, host, 0.7));
    row('HTTP download, bubblewrap --share-net (peer: the host\'s own stack)', median(speeds.bwrap) / 1e6, 'MB/s',
        ratio(speeds.bwrap, host));
    if (speeds.slirp.length) {
      row('HTTP download, user+net namespace behind slirp4netns (peer: a user-space stack)',
          median(speeds.slirp) / 1e6, 'MB/s', ratio(speeds.slirp, host));
    }
    const hostTls = median(speeds.hostTls);
    row('HTTPS download, host', hostTls / 1e6, 'MB/s');
    row('HTTPS download, sandbox through the egress proxy (port 443, SNI)', median(speeds.proxiedTls) / 1e6,
        'MB/s', ratio(speeds.proxiedTls, hostTls, 0.7));

    // (3) set-up: small GETs, each on a new connection (the fake servers answer in about a millisecond)
    const small = `http://${internet.allowed}/`;
    const hostTimes = timesOf(execFileSync('curl', ['-s', '--noproxy', '*', ...curlTimesArgs(small, kGets)],
                                           { encoding: 'utf8' }));
    const run = async (sbx, target) => timesOf((await sbx.commands.run(
      `curl -s --noproxy '*' ${curlTimesArgs(target, kGets).map((a) => `'${a}'`).join(' ')}`)).stdout);
    const directTimes = await run(direct, small);
    const proxiedTimes = await run(proxied, 'http://allowed.test/');
    row('small GET p50, host', median(hostTimes), 'ms', `p90 ${percentile(hostTimes, 0.9).toFixed(2)}`);
    row('small GET p50, sandbox direct', median(directTimes), 'ms',
        `added ${(median(directTimes) - median(hostTimes)).toFixed(2)} ms (target ≤ 0.3)`);
    row('small GET p50, sandbox through the proxy (by name)', median(proxiedTimes), 'ms',
        `added ${(median(proxiedTimes) - median(hostTimes)).toFixed(2)} ms (target ≤ 1; the proxy resolves the name ` +
        'on each connection)');
    await direct.kill();
    await proxied.kill();
    await server.stop();
    server = undefined;

    // (4) pool-hit create and pool fill, networking on and off, twice each in turn (a drift of the machine's
    // state hits both alike)
    const creates = { on: [], off: [] };
    const fills = { on: [], off: [] };
    for (const mode of ['off', 'on', 'off', 'on']) {
      const started = Date.now();
      server = await startServer({ poolSize: 4, networkArgs: mode === 'on' ? networkArgs : ['--sandbox-network', 'off'] });
      const fill = await waitForPool(server, 4, started);
      fills[mode].push(fill);
      const samples = creates[mode];
      for (let i = 0; i < 15; i++) {
        await waitForPool(server, 4, Date.now());
        const t0 = process.hrtime.bigint();
        const res = await fetch(`${server.url}/v2/sandboxes`, {
          method: 'POST', headers: { 'X-API-KEY': server.apiKey, 'Content-Type': 'application/json' },
          body: JSON.stringify({ templateID: 'base' }),
        });
        const body = await res.json();
        samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await fetch(`${server.url}/sandboxes/${body.sandboxID}`, { method: 'DELETE', headers: { 'X-API-KEY': server.apiKey } });
      }
      await server.stop();
      server = undefined;
    }
    for (const mode of ['on', 'off']) {
      row(`pool-hit create p50, --sandbox-network ${mode}`, median(creates[mode]), 'ms',
          `p99 ${percentile(creates[mode], 0.99).toFixed(2)} ms; pool of 4 filled in ` +
          `${(median(fills[mode]) / 1000).toFixed(1)} s`);
    }
  } finally {
    await server?.stop();
    await internet.stop();
  }
  const lines = ['| measurement | value | unit | |', '|---|---:|---|---|',
    ...results.rows.map((r) => `| ${r.name} | ${typeof r.value === 'number' ? r.value.toFixed(2) : r.value} | ${r.unit} | ${r.extra} |`)];
  const table = lines.join('\n');
  process.stdout.write(`\n## sandbox networking (${results.date})\n\n${table}\n`);
  const out = join(here, '.results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `net-${results.date.replace(/[:.]/g, '-')}.md`), `${table}\n`);
}

// Waits until `count` pooled sandboxes are ready (their directories carry the server's ready marker).
async function waitForPool(server, count, since) {
  const dir = join(server.stateDir, 'sandboxes');
  for (;;) {
    const ready = spawnSync('bash', ['-c', `ls -d ${dir}/*/ready 2>/dev/null | wc -l`], { encoding: 'utf8' });
    const booting = spawnSync('bash', ['-c', `ls -d ${dir}/*/ 2>/dev/null | wc -l`], { encoding: 'utf8' });
    if (Number(ready.stdout) >= count && Number(booting.stdout) === Number(ready.stdout)) return Date.now() - since;
    await sleep(50);
  }
}

await main();
