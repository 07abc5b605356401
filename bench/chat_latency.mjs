// The artifacts app's own cost, measured against its peers in one run:
//   - a text answer: time to the first text and to the end, straight from the (fake, zero-delay) provider
//     vs. through POST /api/chat (the server's gateway, history writes, UI message stream);
//   - one cell `1 + 1`: through POST /api/run vs. the official SDK's runCode on the same server and sandbox kind;
//   - a new kernel: the SDK's createCodeContext + runCode in a cwd of its own (the kernel starts then) vs. in the
//     default cwd (the agent keeps one kernel ready for that), and a new conversation's first /api/run.
// Prints a table (median and p90 over --runs, default 30; --context-runs, default 8, for the kernel rows, each
// after a pause so the kernel kept ready has started).

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { login, readUiStream, startApp } from '../tests/e2e/app_harness.mjs';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '30' }, 'context-runs': { type: 'string', default: '8' } },
});
const runs = Number(values.runs);
const contextRuns = Number(values['context-runs']);
const kSettleMs = 2000;  // between kernel rows' runs: the kept-ready kernel starts in about a second

const quantile = (xs, q) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const fmt = (ms) => ms.toFixed(2).padStart(8);

async function measure(label, once, { count = runs, settleMs = 0 } = {}) {
  await once();  // warm-up
  const first = [];
  const total = [];
  for (let i = 0; i < count; i++) {
    if (settleMs) await new Promise((resolve) => setTimeout(resolve, settleMs));
    const t0 = performance.now();
    const firstAt = await once();
    const t1 = performance.now();
    first.push((firstAt ?? t1) - t0);
    total.push(t1 - t0);
  }
  return { label, first, total };
}

// Reads an SSE body and returns when its first event whose data matches `isFirst` arrived (then drains it).
async function firstMatching(response, isFirst) {
  const decoder = new TextDecoder();
  let buffer = '';
  let firstAt = null;
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes, { stream: true });
    if (firstAt === null && isFirst(buffer)) firstAt = performance.now();
  }
  return firstAt;
}

const app = await startApp({ delayMs: 0 });
try {
  const cookie = await login(app);
  const headers = { cookie, 'content-type': 'application/json' };
  const rows = [];

  rows.push(await measure('provider direct: text answer', async () => {
    const response = await fetch(`${app.fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'test-key', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-fake-1', max_tokens: 100, stream: true,
                             messages: [{ role: 'user', content: 'hello' }] }),
    });
    return firstMatching(response, (text) => text.includes('text_delta'));
  }));

  let n = 0;
  rows.push(await measure('cellblock /api/chat: text answer', async () => {
    const response = await fetch(`${app.url}/api/chat`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ id: `bench-${n++}`, model: 'anthropic/claude-fake-1',
                             messages: [{ id: `u${n}`, role: 'user', parts: [{ type: 'text', text: 'hello' }] }] }),
    });
    return firstMatching(response, (text) => text.includes('"text-delta"'));
  }));

  rows.push(await measure('cellblock /api/run: 1 + 1', async () => {
    const response = await fetch(`${app.url}/api/run`, {
      method: 'POST', headers, body: JSON.stringify({ code: '1 + 1' }),
    });
    await readUiStream(response);
    return null;
  }));

  const { Sandbox } = await import(new URL('../tests/sdk/node_modules/@e2b/code-interpreter/dist/index.mjs',
                                            import.meta.url));
  const sandbox = await Sandbox.create({ apiKey: app.server.apiKey, apiUrl: app.url, sandboxUrl: app.url });
  try {
    rows.push(await measure('E2B SDK runCode: 1 + 1', async () => {
      await sandbox.runCode('1 + 1');
      return null;
    }));
    // "first" is the cell's answer; "end" adds removing the context again.
    const inNewContext = (options) => async () => {
      const context = await sandbox.createCodeContext(options);
      await sandbox.runCode('1 + 1', { context });
      const answered = performance.now();
      await sandbox.removeCodeContext(context.id);
      return answered;
    };
    const kernelRuns = { count: contextRuns, settleMs: kSettleMs };
    rows.push(await measure('SDK new context, kernel starts', inNewContext({ cwd: '/tmp' }), kernelRuns));
    rows.push(await measure('SDK new context, kernel ready', inNewContext(), kernelRuns));
  } finally {
    await sandbox.kill();
  }

  let conversation = 0;
  rows.push(await measure('/api/run, a new conversation', async () => {
    const response = await fetch(`${app.url}/api/run`, {
      method: 'POST', headers, body: JSON.stringify({ chatId: `bench-kernel-${conversation++}`, code: '1 + 1' }),
    });
    await readUiStream(response);
    return null;
  }, { count: contextRuns, settleMs: kSettleMs }));

  console.log(`\nartifacts app latency, ${runs} runs each (ms; load ${(await import('node:os')).loadavg()[0].toFixed(2)})`);
  console.log('| path                              | first p50 | first p90 |  end p50 |  end p90 |');
  console.log('|-----------------------------------|-----------|-----------|----------|----------|');
  for (const { label, first, total } of rows) {
    console.log(`| ${label.padEnd(33)} |  ${fmt(quantile(first, 0.5))} |  ${fmt(quantile(first, 0.9))} | ` +
                `${fmt(quantile(total, 0.5))} | ${fmt(quantile(total, 0.9))} |`);
  }
  const [direct, gateway, run, sdk, cold, ready] = rows;
  console.log(`\ngateway overhead, first text: ${(quantile(gateway.first, 0.5) - quantile(direct.first, 0.5)).toFixed(2)} ms p50`);
  console.log(`/api/run vs SDK runCode, end to end: ${(quantile(run.total, 0.5) / quantile(sdk.total, 0.5)).toFixed(2)}x p50`);
  console.log(`new context's first answer, kernel ready vs kernel starting: ${(quantile(ready.first, 0.5) / quantile(cold.first, 0.5)).toFixed(2)}x p50`);
} finally {
  await app.stop();
}
