// Starts the fake LLM provider and one `cellblock serve` configured to use it (both providers: Anthropic at the
// fake's root, OpenAI-compatible under /openai/v1), and logs in the way a person does: with the login link the
// server prints.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startFakeLlm } from '../chat/fake_llm.mjs';
import { startServer } from '../sdk/serve_harness.mjs';

export async function startApp({ providers = true, poolSize = 1, delayMs, providerList, serveArgs = [] } = {}) {
  const fake = await startFakeLlm({ port: 0, delayMs });
  const extraArgs = [...serveArgs];
  if (providerList) {
    extraArgs.push('--chat-config', writeConfig({ providers: providerList }));
  } else if (providers) {
    const dir = mkdtempSync(join(tmpdir(), 'cellblock-chat-'));
    const config = join(dir, 'providers.json');
    writeFileSync(config, JSON.stringify({
      providers: [
        { id: 'anthropic', name: 'Anthropic', kind: 'anthropic', baseUrl: fake.url, apiKey: 'test-key', models: [] },
        { id: 'openai', name: 'OpenAI-compatible', kind: 'openai', baseUrl: `${fake.url}/openai/v1`,
          apiKey: 'test-key', models: [] },
      ],
    }));
    extraArgs.push('--chat-config', config);
  } else {
    extraArgs.push('--chat-config', writeEmptyConfig());
  }
  const server = await startServer({ poolSize, extraArgs });
  const link = await waitForLoginLink(server);
  return {
    fake,
    server,
    url: server.url,
    loginLink: link,
    async stop() {
      await server.stop();
      await fake.close();
    },
  };
}

function writeEmptyConfig() {
  return writeConfig({ providers: [] });
}

function writeConfig(config) {
  const dir = mkdtempSync(join(tmpdir(), 'cellblock-chat-'));
  const path = join(dir, 'providers.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

async function waitForLoginLink(server) {
  for (let i = 0; i < 100; i++) {
    const m = /Open the app: (\S+\/login\?token=\w+)/.exec(server.stdout());
    if (m) return m[1];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the server printed no login link');
}

/** Follows the login link without redirects and returns the session cookie ("name=value"). */
export async function login(app) {
  const response = await fetch(app.loginLink, { redirect: 'manual' });
  if (response.status !== 303) throw new Error(`login link answered ${response.status}`);
  return response.headers.get('set-cookie').split(';')[0];
}

/** Reads a UI message stream to its end: [{type, …}] in order, and whether it ended with [DONE]. */
export async function readUiStream(response, { onChunk } = {}) {
  const decoder = new TextDecoder();
  const chunks = [];
  let buffer = '';
  let done = false;
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const chunk = JSON.parse(data);
        chunks.push(chunk);
        if (onChunk && (await onChunk(chunk)) === false) return { chunks, done };
      }
    }
  }
  return { chunks, done };
}

/** The final output of each tool call, in order. */
export function finalOutputs(chunks) {
  return chunks.filter((c) => c.type === 'tool-output-available' && !c.preliminary).map((c) => c.output);
}

export function textOf(chunks) {
  return chunks.filter((c) => c.type === 'text-delta').map((c) => c.delta).join('');
}
