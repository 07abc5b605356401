// The fake internet (tests/net/fake_internet, see README.md) for node:test suites. Needs root. Node 20, no npm
// packages.
//
//   import { startFakeInternet } from '../net/fake_internet.mjs';
//   let net;
//   before(async () => { net = await startFakeInternet('cbnet-egress', { index: 1 }); });
//   after(async () => { await net?.stop(); });
//   // fetch(`http://${net.allowed}/`), Resolver#setServers([net.dns]), curl --cacert net.ca, …
//
// startFakeInternet(name, { index }) → {
//   name, index,     the namespace (also the host end of the veth) and the third octet of every address
//   ca,              path of the test CA's certificate (PEM) that signed the HTTPS servers' certificate
//   dns,             198.18.N.2: dnsmasq, port 53, knows only the fixture's names (*.test), NXDOMAIN otherwise
//   lan,             198.18.N.2 again: a host on the "LAN", serving HTTP, HTTPS and echo like the others
//   host,            198.18.N.1: the host's end of the veth, the source the servers see from the host
//   internet,        198.19.N.0/24, routed from the host via the LAN host
//   allowed, denied, other,   198.19.N.10/.11/.12: allowed.test (and www., api.), denied.test, other.test
//   ports: { http: 80, https: 443, echo: 7 },
//   env,             every KEY=value line the script printed, as an object
//   stop(),          tears it all down (fake_internet down); safe to call twice
// }
// A name must be ≤ 15 characters. Suites that may run at the same time need different names and indexes.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const kScript = fileURLToPath(new URL('./fake_internet', import.meta.url));
const run = promisify(execFile);

// Runs the script; on failure the error carries the script's own explanation (stderr), not just an exit code.
async function script(...args) {
  try {
    return (await run(kScript, args, { timeout: 60_000 })).stdout;
  } catch (error) {
    throw new Error(`fake_internet ${args.join(' ')} failed: ${(error.stderr || error.message).trim()}`);
  }
}

export function parseEnv(text) {
  const env = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

export async function startFakeInternet(name, { index = 0 } = {}) {
  const env = parseEnv(await script('up', name, '--index', String(index)));
  let stopped;
  return {
    name: env.NAME,
    index: Number(env.INDEX),
    ca: env.CA,
    dns: env.DNS,
    lan: env.LAN,
    host: env.HOST,
    internet: env.INTERNET,
    allowed: env.ALLOWED,
    denied: env.DENIED,
    other: env.OTHER,
    ports: { http: Number(env.HTTP_PORT), https: Number(env.HTTPS_PORT), echo: Number(env.ECHO_PORT) },
    env,
    stop() {
      stopped ??= script('down', name).then(() => undefined);
      return stopped;
    },
  };
}
