// Where a sandbox of `cellblock serve` used to differ from E2B for code written against E2B: signed file URLs
// (envd's error messages, acting as the user the URL names) and the tools of the default template. The official
// SDK (secured sandboxes: the server always returns an envd access token) and a plain fetch of its URLs.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Sandbox } from '@e2b/code-interpreter';
import { Template } from 'e2b';

import { startServer } from './serve_harness.mjs';

let server;
let sandbox;

before(async () => {
  server = await startServer({ poolSize: 1 });
  sandbox = await Sandbox.create();
});

after(async () => {
  if (sandbox) await sandbox.kill().catch(() => false);
  await server?.stop();
});

async function fetchText(url, init) {
  const res = await fetch(url, init);
  return { status: res.status, text: await res.text() };
}

function formWith(content) {
  const form = new FormData();
  form.append('file', content);
  return form;
}

describe('signed file URLs', { timeout: 120_000 }, () => {
  test('a download URL signed for root reads as root', async () => {
    await sandbox.files.write('hello.txt', 'hello root', { user: 'root' });
    assert.equal((await sandbox.commands.run('cat /root/hello.txt', { user: 'root' })).stdout, 'hello root',
                 'a relative path written as root lands in root\'s home, as with envd');
    const url = await sandbox.downloadUrl('hello.txt', { user: 'root', useSignatureExpiration: 10_000 });
    const res = await fetchText(url);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, 'hello root');
  });

  test('an upload URL signed for root writes as root into root\'s home', async () => {
    const url = await sandbox.uploadUrl('uploaded.txt', { user: 'root', useSignatureExpiration: 10_000 });
    const res = await fetchText(url, { method: 'POST', body: formWith('file content') });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(JSON.parse(res.text), [{ name: 'uploaded.txt', path: '/root/uploaded.txt', type: 'file' }]);
    const owner = await sandbox.commands.run('stat -c %U:%G /root/uploaded.txt && cat /root/uploaded.txt',
                                             { user: 'root' });
    assert.equal(owner.stdout, 'root:root\nfile content');
  });

  test('an upload URL for the default user writes into /home/user', async () => {
    const url = await sandbox.uploadUrl('plain.txt', { useSignatureExpiration: 10_000 });
    const res = await fetchText(url, { method: 'POST', body: formWith('for user') });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(JSON.parse(res.text), [{ name: 'plain.txt', path: '/home/user/plain.txt', type: 'file' }]);
    assert.equal((await sandbox.commands.run('stat -c %U /home/user/plain.txt')).stdout, 'user\n');
  });

  test('expired download and upload URLs answer with envd\'s message', async () => {
    await sandbox.files.write('expiring.txt', 'x');
    const download = await sandbox.downloadUrl('expiring.txt', { useSignatureExpiration: -10_000 });
    const read = await fetchText(download);
    assert.equal(read.status, 401, read.text);
    assert.deepEqual(JSON.parse(read.text), { code: 401, message: 'signature is already expired' });

    const upload = await sandbox.uploadUrl('expiring.txt', { useSignatureExpiration: -100_000 });
    const write = await fetchText(upload, { method: 'POST', body: formWith('nope') });
    assert.equal(write.status, 401, write.text);
    assert.deepEqual(JSON.parse(write.text), { code: 401, message: 'signature is already expired' });
    assert.equal(await sandbox.files.read('expiring.txt'), 'x', 'a refused upload writes nothing');
  });

  test('a tampered or missing signature answers with envd\'s messages', async () => {
    // A signature no sandbox's token produced names no sandbox, so this request names it the way the SDK does.
    const headers = { 'E2b-Sandbox-Id': sandbox.sandboxId };
    const url = new URL(await sandbox.downloadUrl('expiring.txt', { useSignatureExpiration: 10_000 }));
    url.searchParams.set('path', 'other.txt');
    const tampered = await fetchText(url, { headers });
    assert.equal(tampered.status, 401, tampered.text);
    assert.deepEqual(JSON.parse(tampered.text), { code: 401, message: 'invalid signature' });
    // Without the header (a shared E2B_SANDBOX_URL) the server answers for envd: no sandbox signed it.
    const unrouted = await fetchText(url);
    assert.equal(unrouted.status, 401, unrouted.text);
    assert.deepEqual(JSON.parse(unrouted.text), { code: 401, message: 'invalid signature' });
    url.searchParams.delete('signature');
    const unsigned = await fetchText(url, { headers });
    assert.equal(unsigned.status, 401, unsigned.text);
    assert.deepEqual(JSON.parse(unsigned.text), { code: 401, message: 'missing signature query parameter' });
  });
});

describe('template names', () => {
  test('Template.exists knows every name the SDKs use, and says no to others', async () => {
    for (const name of ['base', 'code-interpreter-v1', 'code-interpreter']) {
      assert.equal(await Template.exists(name), true, name);
      assert.equal(await Template.aliasExists(name), true, name);
    }
    assert.equal(await Template.exists('no-such-template-' + Date.now()), false);
    const res = await fetch(`${server.url}/templates/aliases/nope`, { headers: { 'X-API-KEY': server.apiKey } });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { code: 404, message: "template 'nope' not found" });
    const found = await fetch(`${server.url}/templates/aliases/base`, { headers: { 'X-API-KEY': server.apiKey } });
    assert.deepEqual(await found.json(), { templateID: 'code-interpreter', public: false });
  });
});

describe('tools of the default template', { timeout: 120_000 }, () => {
  // commands.run throws CommandExitError on a non-zero exit.
  for (const command of ['curl --version', 'wget --version', 'unzip -v', 'zip -v', 'xz --version', 'bzip2 --help',
                         'jq --version', 'node --version', 'npm --version', 'gcc --version', 'g++ --version',
                         'make --version', 'git --version']) {
    test(command, async () => {
      const result = await sandbox.commands.run(command);
      assert.equal(result.exitCode, 0);
    });
  }

  test('curl reaches a server started in the sandbox', async () => {
    const server = await sandbox.commands.run('python3 -m http.server 8123 --bind 127.0.0.1', { background: true });
    try {
      const result = await sandbox.commands.run(
          'for i in $(seq 100); do curl -sf http://127.0.0.1:8123/ >/dev/null && exit 0; sleep 0.1; done; exit 1');
      assert.equal(result.exitCode, 0);
    } finally {
      await server.kill();
    }
  });

  test('jq, node and a C compiler do real work', async () => {
    assert.equal((await sandbox.commands.run(`echo '{"a":[1,2,3]}' | jq '.a | add'`)).stdout, '6\n');
    assert.equal((await sandbox.commands.run(`node -e 'console.log([1,2,3].map((x) => x * 2).join(","))'`)).stdout,
                 '2,4,6\n');
    await sandbox.files.write('hello.c', '#include <stdio.h>\nint main(void) { puts("compiled"); return 0; }\n');
    assert.equal((await sandbox.commands.run('gcc -o hello hello.c && ./hello')).stdout, 'compiled\n');
  });
});
