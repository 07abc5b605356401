// 50 sandboxes created at once (Promise.all of Sandbox.create) through `cellblock serve` with its default limits
// and the SDK's default request timeout; each must run code; then all are killed.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Sandbox } from '@e2b/code-interpreter';

import { randomTag, readRssKiB, startServer } from './serve_harness.mjs';

const kCount = 50;
const suite = `scale-${randomTag()}`;

let server;
const created = new Set();

async function listAll(query) {
  const paginator = Sandbox.list({ query });
  const items = [];
  while (paginator.hasNext) items.push(...(await paginator.nextItems()));
  return items;
}

function summarize(settled) {
  const reasons = new Map();
  for (const s of settled) {
    if (s.status !== 'rejected') continue;
    const key = `${s.reason?.name}: ${String(s.reason?.message).slice(0, 200)}`;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  return [...reasons].map(([k, n]) => `${n} × ${k}`).join('\n');
}

before(async () => {
  server = await startServer({ poolSize: 2 });
});

after(async () => {
  await Promise.all([...created].map((id) => Sandbox.kill(id).catch(() => false)));
  const result = await server?.stop();
  if (result) {
    assert.deepEqual(result.killedViaApi, [], 'the test left sandboxes running');
    if (result.killedBySigkill || result.leftovers.length) {
      process.stderr.write(`*** server stop: ${JSON.stringify(result)}\n`);
    }
  }
});

test(`${kCount} sandboxes created in parallel all run code, then all are killed`, { timeout: 280_000 }, async (t) => {
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, readRssKiB(server.pid));
  }, 200);
  try {
    const t0 = Date.now();
    const settled = await Promise.allSettled(Array.from({ length: kCount }, (_, i) =>
      Sandbox.create({ metadata: { suite, index: String(i) } }).then((s) => {
        created.add(s.sandboxId);
        return s;
      })));
    const createMs = Date.now() - t0;
    const sandboxes = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
    t.diagnostic(`create: ${sandboxes.length}/${kCount} in ${createMs} ms`);
    assert.equal(sandboxes.length, kCount, `${kCount - sandboxes.length} creates failed:\n${summarize(settled)}\n` +
                 `--- serve stderr (tail) ---\n${server.stderr().slice(-4000)}`);
    assert.equal(new Set(sandboxes.map((s) => s.sandboxId)).size, kCount, 'duplicate sandbox ids');

    const t1 = Date.now();
    const runs = await Promise.allSettled(sandboxes.map((s) => s.runCode('1+1')));
    const runMs = Date.now() - t1;
    const texts = runs.map((r) => (r.status === 'fulfilled' ? r.value.text : `rejected ${r.reason}`));
    t.diagnostic(`runCode 1+1 in all: ${runMs} ms`);
    assert.deepEqual(texts, Array(kCount).fill('2'));

    // Each sandbox is its own: a per-sandbox value set in all comes back from each.
    const own = await Promise.all(sandboxes.map((s, i) => s.runCode(`v = ${i} * 3\nv`)));
    assert.deepEqual(own.map((ex) => ex.text), sandboxes.map((_, i) => String(i * 3)));

    const listed = await listAll({ metadata: { suite } });
    assert.deepEqual(listed.map((i) => i.sandboxId).sort(), sandboxes.map((s) => s.sandboxId).sort());

    const t2 = Date.now();
    const kills = await Promise.all(sandboxes.map((s) => s.kill()));
    const killMs = Date.now() - t2;
    for (const s of sandboxes) created.delete(s.sandboxId);
    t.diagnostic(`kill: ${killMs} ms; total wall time ${Date.now() - t0} ms; server peak RSS ` +
                 `${Math.round(peakRss / 1024)} MiB`);
    assert.deepEqual(kills, Array(kCount).fill(true));
    assert.deepEqual(await listAll({ metadata: { suite } }), []);
  } finally {
    clearInterval(sampler);
  }
});
