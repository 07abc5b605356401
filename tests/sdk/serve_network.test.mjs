// Sandbox networking through the official SDK against `cellblock serve` (e2b-network.md §2-§5, §9): every
// sandbox has its own link and reaches the "internet" by default, `allowInternetAccess: false` reaches
// nothing, allowOut/denyOut decide by address with E2B's precedence, updateNetwork replaces the rules of a
// running sandbox and cuts what they forbid, and what no rule can open stays closed: the host, the server's
// port, another sandbox, link-local/metadata, the host's LAN. Teardown leaves no link, rule or tracked
// connection behind.
//
// The internet is tests/net's fake one, in a namespace this suite creates; the server confines its sandboxes to
// it (--egress-within) and points their resolver at its DNS, so nothing leaves this machine.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';

import { Sandbox as CodeSandbox } from '@e2b/code-interpreter';
import { Sandbox, SandboxError, SandboxNotFoundError } from 'e2b';

import { startFakeInternet } from '../net/fake_internet.mjs';
import { controlCall, startServer } from './serve_harness.mjs';

const kIndex = 41;
let internet;
let server;
let subnet;  // the sandboxes' addresses
let prefix;  // the server's link names: cb<instance>-<n>
let table;   // its nftables table

before(async () => {
  internet = await startFakeInternet('cbnet-sdk', { index: kIndex });
  server = await startServer({
    poolSize: 1,
    networkArgs: ['--egress-within', `198.18.${kIndex}.0/24,${internet.internet}`, '--sandbox-dns', internet.dns],
  });
  const announced = /subnet (\S+), links (cb[0-9a-f]{4}-)<n>, nftables table inet (cellblock-[0-9a-f]{4})/
                        .exec(server.stderr());
  assert.ok(announced, `the server names its subnet, links and table:\n${server.stderr().slice(-2000)}`);
  [, subnet, prefix, table] = announced;
});

after(async () => {
  await server?.stop();
  await internet?.stop();
});

function api(method, path, body) {
  return controlCall(server, method, path, body);
}

async function sh(sbx, command, timeoutMs = 20_000) {
  const result = await sbx.commands.run(command, { timeoutMs }).catch((error) => error);
  return { code: result.exitCode, out: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

// A GET through curl inside the sandbox: the fake servers' JSON, or null when the connection fails.
async function fetchInside(sbx, url) {
  const { code, out } = await sh(sbx, `curl -s -m 4 --noproxy '*' ${url}`);
  if (code !== 0) return null;
  return JSON.parse(out);
}

async function reachable(sbx, url) {
  return (await sh(sbx, `curl -s -m 4 --noproxy '*' -o /dev/null ${url}`)).code === 0;
}

// The sandbox's own address (the source a UDP socket would use toward the internet).
async function addressOf(sbx) {
  const { out } = await sh(sbx, `python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ` +
                                `s.connect(('${internet.allowed}', 9)); print(s.getsockname()[0])"`);
  return out.trim();
}

describe('default and allowInternetAccess', { timeout: 180_000 }, () => {
  test('a default sandbox reaches the internet by name and by address, masqueraded', async () => {
    const sbx = await Sandbox.create();
    try {
      const byName = await fetchInside(sbx, 'http://allowed.test/');
      assert.equal(byName?.server, internet.allowed);
      assert.equal(byName.host, 'allowed.test');
      assert.equal(byName.client, internet.host, 'the servers see the host, not the sandbox address');
      const byAddress = await fetchInside(sbx, `http://${internet.other}/`);
      assert.equal(byAddress?.server, internet.other);
      const tls = await sh(sbx, `curl -s -m 4 --cacert /dev/stdin https://allowed.test/ <<'EOF'\n${
        execFileSync('cat', [internet.ca], { encoding: 'utf8' })}EOF`);
      assert.equal(JSON.parse(tls.out).sni, 'allowed.test', tls.out);
      const info = await Sandbox.getInfo(sbx.sandboxId);
      assert.equal(info.allowInternetAccess, undefined, 'never given: null on the wire');
    } finally {
      await sbx.kill();
    }
  });

  test('allowInternetAccess: false reaches nothing, not even the resolver', async () => {
    const sbx = await Sandbox.create({ allowInternetAccess: false });
    try {
      assert.equal(await reachable(sbx, `http://${internet.allowed}/`), false);
      assert.notEqual((await sh(sbx, 'getent hosts allowed.test')).code, 0);
      assert.equal((await Sandbox.getInfo(sbx.sandboxId)).allowInternetAccess, false);
    } finally {
      await sbx.kill();
    }
  });
});

describe('allowOut and denyOut by address', { timeout: 180_000 }, () => {
  test('deny-all with one allowed address: only it answers; the rules come back in getInfo', async () => {
    const sbx = await Sandbox.create({ network: { allowOut: [internet.allowed], denyOut: ['0.0.0.0/0'] } });
    try {
      assert.equal((await fetchInside(sbx, `http://${internet.allowed}/`))?.server, internet.allowed);
      assert.equal(await reachable(sbx, `http://${internet.denied}/`), false);
      const info = await Sandbox.getInfo(sbx.sandboxId);
      assert.deepEqual(info.network?.allowOut, [internet.allowed]);
      assert.deepEqual(info.network?.denyOut, ['0.0.0.0/0']);
    } finally {
      await sbx.kill();
    }
  });

  test('denyOut closes one address; allowOut beats a deny of its whole range', async () => {
    const denyOne = await Sandbox.create({ network: { denyOut: [internet.denied] } });
    const allowWins = await Sandbox.create({
      allowInternetAccess: false,
      network: { allowOut: [`${internet.allowed}/32`], denyOut: [internet.internet] },
    });
    try {
      assert.equal(await reachable(denyOne, `http://${internet.denied}/`), false);
      assert.equal(await reachable(denyOne, `http://${internet.allowed}/`), true);
      assert.equal(await reachable(allowWins, `http://${internet.allowed}/`), true);
      assert.equal(await reachable(allowWins, `http://${internet.other}/`), false);
    } finally {
      await denyOne.kill();
      await allowWins.kill();
    }
  });

  test('bad rules are E2B 400s and 403s', async () => {
    const domainOnly = await api('POST', '/v2/sandboxes', { templateID: 'base', network: { allowOut: ['a.test'] } });
    assert.equal(domainOnly.status, 400);
    assert.match(domainOnly.json.message, /must include 'ALL_TRAFFIC' in deny out/);
    const badDeny = await api('POST', '/v2/sandboxes', { templateID: 'base', network: { denyOut: ['10.0.0.0/33'] } });
    assert.equal(badDeny.status, 400);
    assert.equal(badDeny.json.message, 'invalid denied CIDR 10.0.0.0/33');
    const proxy = await api('POST', '/v2/sandboxes',
                            { templateID: 'base', network: { egressProxy: { address: '198.18.0.9:1080' } } });
    assert.equal(proxy.status, 403);
    await assert.rejects(Sandbox.create({ network: { denyOut: ['not-an-ip'] } }), SandboxError);
  });
});

describe('allowOut by domain', { timeout: 240_000 }, () => {
  const curlTls = (sbx, args) => sh(sbx, `curl -s -m 5 --noproxy '*' --cacert /tmp/ca.pem ${args}`);

  test('names decide on ports 80 and 443 by Host and SNI; the proxy resolves them itself', async () => {
    const sbx = await Sandbox.create({
      network: { allowOut: ['allowed.test', '*.allowed.test'], denyOut: ['0.0.0.0/0'] },
    });
    try {
      await sbx.files.write('/tmp/ca.pem', execFileSync('cat', [internet.ca], { encoding: 'utf8' }));
      assert.equal((await fetchInside(sbx, 'http://allowed.test/'))?.server, internet.allowed, 'HTTP by Host');
      const tls = await curlTls(sbx, 'https://allowed.test/');
      assert.equal(JSON.parse(tls.out).sni, 'allowed.test', tls.out);
      const wildcard = await curlTls(sbx, 'https://api.allowed.test/');
      assert.equal(JSON.parse(wildcard.out).sni, 'api.allowed.test', wildcard.out);
      assert.equal(await reachable(sbx, 'http://denied.test/'), false);
      assert.notEqual((await curlTls(sbx, 'https://denied.test/')).code, 0);
      // The sandbox's own idea of the name's address does not matter: the proxy resolves it.
      const pinned = await curlTls(sbx, `--resolve allowed.test:443:${internet.denied} https://allowed.test/`);
      assert.equal(JSON.parse(pinned.out).server, internet.allowed, pinned.out);
      // An allowed address with a denied name is refused, and so is what is neither HTTP nor TLS.
      assert.equal(await reachable(sbx, `-H 'Host: denied.test' http://${internet.allowed}/`), false);
      assert.notEqual((await curlTls(sbx, `--resolve denied.test:443:${internet.allowed} https://denied.test/`)).code, 0);
      const raw = await sh(sbx, `python3 -c "import socket; s=socket.create_connection(('${internet.allowed}', 80), 3); ` +
                                `s.sendall(b'hello\\n' * 4); print(repr(s.recv(100)))"`);
      assert.notEqual(raw.code, 0, `plain bytes on port 80 must be cut: ${raw.out}`);
      // Other ports follow the addresses only: deny-all.
      assert.equal((await sh(sbx, `curl -s -m 3 telnet://${internet.allowed}:7 </dev/null`)).code === 0, false);
    } finally {
      await sbx.kill();
    }
  });

  test('a wildcard does not cover its apex, and names that resolve to closed ranges stay closed', async () => {
    const sbx = await Sandbox.create({
      network: { allowOut: ['*.allowed.test', 'rebind.test', 'metadata.test'], denyOut: ['0.0.0.0/0'] },
    });
    try {
      assert.equal(await reachable(sbx, 'http://allowed.test/'), false);
      assert.equal((await fetchInside(sbx, 'http://www.allowed.test/'))?.host, 'www.allowed.test');
      // rebind.test resolves to 127.0.0.1, metadata.test to 169.254.169.254: the proxy must not dial them.
      assert.equal(await reachable(sbx, `--resolve rebind.test:80:${internet.allowed} http://rebind.test/`), false);
      assert.equal(await reachable(sbx, `--resolve metadata.test:80:${internet.allowed} http://metadata.test/`),
                   false);
    } finally {
      await sbx.kill();
    }
  });
});

describe('what no rule opens', { timeout: 240_000 }, () => {
  test('the host, the server port, another sandbox, metadata and the LAN stay closed under every policy', async () => {
    const target = await Sandbox.create({ allowInternetAccess: false });
    const targetAddress = await addressOf(target);
    assert.match(targetAddress, /^100\./);
    await target.commands.run('python3 -m http.server 8000 --bind 0.0.0.0', { background: true });
    const gateway = targetAddress.replace(/\d+$/, (last) => String(Number(last) - 1));
    const closed = [
      `http://${gateway}:${server.port}/health`,  // the host's end of the link, the server's port
      `http://${internet.host}:${server.port}/`,  // the host's address on another network
      `http://${internet.lan}/`,                  // a LAN host
      `http://${targetAddress}:8000/`,            // another sandbox
      'http://169.254.169.254/',                  // cloud metadata
      'http://metadata.test/',                    // a name that resolves to the metadata address
    ];
    const policies = [
      {},
      { network: { allowOut: [internet.lan, '169.254.169.254', targetAddress, internet.host, gateway],
                   denyOut: ['0.0.0.0/0'] } },
    ];
    try {
      for (const opts of policies) {
        const sbx = await Sandbox.create(opts);
        try {
          for (const url of closed) {
            assert.equal(await reachable(sbx, url), false, `${url} with ${JSON.stringify(opts)}`);
          }
          assert.equal(await reachable(sbx, `http://${internet.allowed}/`), !opts.network,
                       'the internet itself follows the policy');
        } finally {
          await sbx.kill();
        }
      }
      assert.equal(await reachable(target, 'http://127.0.0.1:8000/'), true, 'the target serves on its own');
    } finally {
      await target.kill();
    }
  });
});

describe('updateNetwork', { timeout: 180_000 }, () => {
  test('replaces the rules of a running sandbox and cuts an open connection they forbid', async () => {
    const sbx = await Sandbox.create();
    try {
      // A connection that stays open: the server sends a byte every 100 ms for a minute.
      const reader = `import socket, time
s = socket.create_connection(('${internet.allowed}', 80))
s.sendall(b'GET /slow HTTP/1.1\\r\\nHost: allowed.test\\r\\n\\r\\n')
open('/tmp/slow.state', 'w').write('open')
try:
    while s.recv(4096):
        pass
    open('/tmp/slow.state', 'w').write('closed')
except OSError as e:
    open('/tmp/slow.state', 'w').write('cut: %s' % e)
`;
      await sbx.files.write('/tmp/slow.py', reader);
      await sbx.commands.run('python3 /tmp/slow.py', { background: true });
      const state = async () => (await sh(sbx, 'cat /tmp/slow.state 2>/dev/null')).out;
      for (let i = 0; i < 50 && (await state()) !== 'open'; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await state(), 'open');

      await sbx.updateNetwork({ denyOut: [internet.allowed] });
      let after = '';
      for (let i = 0; i < 30 && !(after = await state()).startsWith('cut'); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(after, /^cut: .*reset/i, 'the open connection is reset');
      assert.equal(await reachable(sbx, `http://${internet.allowed}/`), false);
      assert.equal(await reachable(sbx, `http://${internet.other}/`), true);
      assert.deepEqual((await Sandbox.getInfo(sbx.sandboxId)).network?.denyOut, [internet.allowed]);

      await Sandbox.updateNetwork(sbx.sandboxId, { allowInternetAccess: false });
      assert.equal(await reachable(sbx, `http://${internet.other}/`), false);
      assert.equal((await Sandbox.getInfo(sbx.sandboxId)).allowInternetAccess, false);

      await sbx.updateNetwork({});  // E2B: an update without the flag re-opens the internet
      assert.equal(await reachable(sbx, `http://${internet.allowed}/`), true);
    } finally {
      await sbx.kill();
    }
  });

  test('unknown and paused sandboxes are 404; bad bodies 400', async () => {
    await assert.rejects(Sandbox.updateNetwork('nosuchsandbox0000000', {}), SandboxNotFoundError);
    const sbx = await Sandbox.create();
    try {
      const bad = await api('PUT', `/sandboxes/${sbx.sandboxId}/network`, { denyOut: ['example.test'] });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.message, 'invalid denied CIDR example.test');
      await sbx.pause();
      await assert.rejects(sbx.updateNetwork({}), SandboxNotFoundError);
    } finally {
      await sbx.kill();
    }
  });
});

describe('allowPublicTraffic: false', { timeout: 120_000 }, () => {
  test('traffic to the sandbox\'s ports needs the traffic access token; envd and runCode still work', async () => {
    const sbx = await CodeSandbox.create({ network: { allowPublicTraffic: false, maskRequestHost: 'inside.test:${PORT}' } });
    try {
      assert.match(sbx.trafficAccessToken ?? '', /^[0-9a-f]{40}$/);
      const run = await sbx.runCode('6 * 7');
      assert.equal(run.text, '42', 'the SDK sends the token on the interpreter port');
      await sbx.commands.run(`python3 -c "
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.headers.get('Host', '').encode()
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(('127.0.0.1', 8080), H).serve_forever()"`, { background: true });
      const get = (headers) => fetch(server.url, {
        headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '8080', ...headers },
      });
      let open = null;
      for (let i = 0; i < 50 && open?.status !== 200; i++) {
        open = await get({ 'e2b-traffic-access-token': sbx.trafficAccessToken });
        if (open.status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(open.status, 200);
      assert.equal(await open.text(), 'inside.test:8080', 'maskRequestHost rewrites the Host header');
      const missing = await get({});
      assert.equal(missing.status, 403);
      assert.equal((await missing.json()).message,
                   "Sandbox is secured with traffic access token. Token header 'e2b-traffic-access-token' is missing");
      const wrong = await get({ 'E2B-Traffic-Access-Token': 'f'.repeat(40) });
      assert.equal(wrong.status, 403);
      assert.match((await wrong.json()).message, /Provided token in header 'e2b-traffic-access-token' is invalid/);
      const info = await api('GET', `/sandboxes/${sbx.sandboxId}`);
      assert.equal(info.json.network.allowPublicTraffic, false);
      assert.equal(info.json.network.maskRequestHost, 'inside.test:${PORT}');
    } finally {
      await sbx.kill();
    }
  });

  test('a public sandbox answers without a token, and its create response says null', async () => {
    const created = await api('POST', '/v2/sandboxes', { templateID: 'base' });
    assert.equal(created.status, 201);
    assert.equal(created.json.trafficAccessToken, null);
    await api('DELETE', `/sandboxes/${created.json.sandboxID}`);
  });
});

describe('counters', { timeout: 120_000 }, () => {
  test('bytes, connections and refusals show in the metrics and in the log line at the end', async () => {
    const sbx = await Sandbox.create({ network: { denyOut: [internet.denied] } });
    try {
      assert.equal(await reachable(sbx, `http://${internet.allowed}/bytes/200000`), true);
      assert.equal(await reachable(sbx, `http://${internet.denied}/`), false);
      let last;
      for (let i = 0; i < 60; i++) {
        const metrics = await api('GET', `/sandboxes/${sbx.sandboxId}/metrics`);
        last = metrics.json?.at(-1);
        if (last?.netRxBytes >= 200000) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(last?.netRxBytes >= 200000, JSON.stringify(last));
      assert.ok(last.netTxBytes > 0 && last.netConnections >= 2 && last.netDeniedPackets >= 1, JSON.stringify(last));
    } finally {
      await sbx.kill();
    }
    const line = new RegExp(`sandbox ${sbx.sandboxId} network: sent \\d+ bytes in \\d+ packets, received (\\d+) bytes`);
    const logged = line.exec(server.stderr());
    assert.ok(logged && Number(logged[1]) >= 200000, server.stderr().slice(-1500));
  });
});

describe('teardown', { timeout: 600_000 }, () => {
  const links = () => execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
                        .split('\n').filter((line) => line.includes(`: ${prefix}`)).length;
  // Per-sandbox objects of the table: its chain, the map element naming it, its bound address.
  const objects = () => {
    const text = execFileSync('nft', ['list', 'table', 'inet', table], { encoding: 'utf8' });
    return (text.match(/sb-/g) ?? []).length + (text.match(/" \. /g) ?? []).length;
  };
  const tracked = () => execFileSync('conntrack', ['-L', '-s', subnet], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
                          .split('\n').filter((line) => line.trim()).length;
  const snapshot = () => ({ links: links(), objects: objects(), tracked: tracked() });

  test('50 create/use/kill cycles leave no link, rule or tracked connection behind', async () => {
    const before = snapshot();
    assert.equal(before.links, 1, 'one pooled sandbox');
    for (let round = 0; round < 10; round++) {
      const batch = await Promise.all(Array.from({ length: 5 }, (_, i) =>
        Sandbox.create(i % 2 ? { network: { denyOut: [internet.denied] } } : {})));
      const used = await Promise.all(batch.map((sbx) => reachable(sbx, `http://${internet.allowed}/`)));
      assert.deepEqual(used, [true, true, true, true, true]);
      await Promise.all(batch.map((sbx) => sbx.kill()));
    }
    // The pool refills once claims are quiet; then exactly what was there before is there again.
    let now;
    for (let i = 0; i < 100 && JSON.stringify(now = snapshot()) !== JSON.stringify(before); i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(now, before);
  });
});

describe('a server killed with SIGKILL', { timeout: 240_000 }, () => {
  test('its sandboxes keep their link and rules across the restart; afterwards nothing is left', async () => {
    const networkArgs = ['--egress-within', `198.18.${kIndex}.0/24,${internet.internet}`, '--sandbox-dns', internet.dns];
    const env = { url: process.env.E2B_API_URL, key: process.env.E2B_API_KEY };
    const first = await startServer({ poolSize: 0, networkArgs });
    let second;
    try {
      const [, , ownPrefix, ownTable] =
        /subnet (\S+), links (cb[0-9a-f]{4}-)<n>, nftables table inet (cellblock-[0-9a-f]{4})/.exec(first.stderr());
      const sbx = await Sandbox.create({ network: { denyOut: [internet.denied] } });
      assert.equal(await reachable(sbx, `http://${internet.allowed}/`), true);
      process.kill(first.pid, 'SIGKILL');
      await first.stop({ keepState: true, killSandboxes: false });
      second = await startServer({ poolSize: 0, networkArgs, stateDir: first.stateDir, apiKey: first.apiKey });
      const again = await Sandbox.connect(sbx.sandboxId);
      assert.equal(await reachable(again, `http://${internet.allowed}/`), true, 'its link still carries traffic');
      assert.equal(await reachable(again, `http://${internet.denied}/`), false, 'its rules were restored');
      await again.kill();
      await second.stop();
      second = undefined;
      const tables = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
      assert.equal(tables.includes(ownTable), false, tables);
      const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
      assert.equal(links.includes(`: ${ownPrefix}`), false, links);
    } finally {
      await second?.stop();
      Object.assign(process.env, { E2B_API_URL: env.url, E2B_SANDBOX_URL: env.url, E2B_API_KEY: env.key });
    }
  });
});
