// The fake internet itself, checked from the host: every server answers as README.md says, and `down` leaves
// nothing behind. The sandbox-networking suites trust it, so it must be right before they are. Needs root.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import dns from 'node:dns';
import net from 'node:net';
import { promisify } from 'node:util';

import { startFakeInternet } from './fake_internet.mjs';

const run = promisify(execFile);
const kName = 'cbnet-selftest';
const kIndex = 254; // away from the 0 the networking suites default to, so this can run beside them
const skip = process.getuid() !== 0 && 'needs root (network namespaces)';

let fake;
before(async () => { if (!skip) fake = await startFakeInternet(kName, { index: kIndex }); });
after(async () => { await fake?.stop(); });

// curl from the host; --noproxy so a proxy in the environment can never carry a test request off the machine.
async function curl(...args) {
  const { stdout } = await run('curl', ['-sS', '--fail', '--noproxy', '*', '--max-time', '10', ...args]);
  return stdout;
}

test('the addresses follow the index', { skip }, () => {
  assert.equal(fake.allowed, `198.19.${kIndex}.10`);
  assert.equal(fake.denied, `198.19.${kIndex}.11`);
  assert.equal(fake.other, `198.19.${kIndex}.12`);
  assert.equal(fake.dns, `198.18.${kIndex}.2`);
  assert.equal(fake.lan, `198.18.${kIndex}.2`);
  assert.equal(fake.host, `198.18.${kIndex}.1`);
  assert.match(readFileSync(fake.ca, 'utf8'), /BEGIN CERTIFICATE/);
});

test('each internet server and the LAN host names the address it was reached on', { skip }, async () => {
  for (const server of [fake.allowed, fake.denied, fake.other, fake.lan]) {
    const body = JSON.parse(await curl(`http://${server}/`));
    assert.deepEqual(body, { server, port: 80, host: server, path: '/', sni: null, client: fake.host });
  }
});

test('HTTPS verifies against the test CA and reports the SNI', { skip }, async () => {
  const body = JSON.parse(await curl('--resolve', `allowed.test:443:${fake.allowed}`, '--cacert', fake.ca,
                                     'https://allowed.test/path?q=1'));
  assert.deepEqual(body, { server: fake.allowed, port: 443, host: 'allowed.test', path: '/path?q=1',
                           sni: 'allowed.test', client: fake.host });
  // The SNI is what the client sent, not what the address is: a filter test can tell them apart.
  const other = JSON.parse(await curl('--resolve', `other.test:443:${fake.allowed}`, '--cacert', fake.ca,
                                      'https://other.test/'));
  assert.equal(other.server, fake.allowed);
  assert.equal(other.sni, 'other.test');
});

test('DNS knows the fixture names and nothing else', { skip }, async () => {
  const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([fake.dns]);
  assert.deepEqual(await resolver.resolve4('allowed.test'), [fake.allowed]);
  assert.deepEqual(await resolver.resolve4('api.allowed.test'), [fake.allowed]);
  assert.deepEqual(await resolver.resolve4('denied.test'), [fake.denied]);
  assert.deepEqual(await resolver.resolve4('rebind.test'), ['127.0.0.1']);
  assert.deepEqual(await resolver.resolve4('metadata.test'), ['169.254.169.254']);
  // c-ares reports NXDOMAIN as ENOTFOUND (an empty answer would be ENODATA).
  for (const name of ['unknown.test', 'nope.allowed.test', 'example.com']) {
    await assert.rejects(resolver.resolve4(name), { code: 'ENOTFOUND' }, name);
  }
});

test('/bytes/10485760 sends exactly 10 MiB', { skip }, async () => {
  const size = await curl('-o', '/dev/null', '-w', '%{size_download}', `http://${fake.allowed}/bytes/10485760`);
  assert.equal(Number(size), 10 * 1024 * 1024);
});

test('/slow keeps sending a byte every 100 ms', { skip }, async () => {
  // curl stops at --max-time 0.55 (exit 28): about five bytes by then.
  const error = await curl('--max-time', '0.55', `http://${fake.allowed}/slow`).then(() => null, (e) => e);
  assert.equal(error?.code, 28);
  assert.match(error.stdout, /^\.{2,7}$/);
});

test('the echo server echoes', { skip }, async () => {
  const socket = net.connect({ host: fake.other, port: fake.ports.echo });
  const message = 'hello, fake internet\n'.repeat(1000);
  socket.end(message);
  let echoed = '';
  for await (const chunk of socket) echoed += chunk;
  assert.equal(echoed, message);
});

test('up again with the same name is a no-op', { skip }, async () => {
  const again = await startFakeInternet(kName, { index: kIndex });
  assert.equal(again.ca, fake.ca);
  assert.deepEqual(again.env, fake.env);
});

test('down leaves no namespace, link, route, state or process', { skip }, async () => {
  const pids = ['servers.pid', 'dnsmasq.pid'].map((f) => Number(readFileSync(`${fake.env.STATE}/${f}`, 'utf8')));
  await fake.stop();
  assert.doesNotMatch((await run('ip', ['netns', 'list'])).stdout, new RegExp(`^${kName}\\b`, 'm'));
  assert.doesNotMatch((await run('ip', ['-o', 'link'])).stdout, new RegExp(`: ${kName}[:@]`));
  assert.doesNotMatch((await run('ip', ['route'])).stdout, new RegExp(`198\\.1[89]\\.${kIndex}\\.|dev ${kName}\\b`));
  assert.equal(existsSync(fake.env.STATE), false);
  for (const pid of pids) assert.ok(!alive(pid), `process ${pid} still running`);
  await fake.stop(); // twice is fine
});

// A zombie counts as gone: it has exited, only its parent has not collected it yet.
function alive(pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
