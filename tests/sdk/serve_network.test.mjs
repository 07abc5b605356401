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
