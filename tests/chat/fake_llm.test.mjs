// The fake LLM provider itself: it must stream the providers' exact wire formats (spec §1.2, §1.3, §2.2), or the
// gateway tests built on it prove nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { startFakeLlm } from './fake_llm.mjs';

let fake;
before(async () => { fake = await startFakeLlm({ delayMs: 2 }); });
after(async () => { await fake.close(); });

const kTool = {
  name: 'run_code',
  description: 'Run code',
  input_schema: { type: 'object', properties: { code: { type: 'string' } }, required: ['code'] },
};
const kOpenAiTool = { type: 'function', function: { name: 'run_code', description: 'Run code', parameters: kTool.input_schema } };

async function post(path, body, headers) {
  return fetch(fake.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers },
                                  body: JSON.stringify(body) });
}

// Reads an SSE body → { events: [{event, data}], reads } where `reads` counts the network reads.
async function readSse(response) {
  const decoder = new TextDecoder();
  let buffered = '';
  let reads = 0;
  for await (const chunk of response.body) {
    reads += 1;
    buffered += decoder.decode(chunk, { stream: true });
  }
  const events = buffered.split('\n\n').filter((block) => block.trim()).map((block) => {
    const lines = block.split('\n');
    const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
    const raw = lines.find((l) => l.startsWith('data: ')).slice(6);
    return { event, data: raw === '[DONE]' ? raw : JSON.parse(raw) };
  });
  return { events, reads };
}

const anthropicHeaders = { 'x-api-key': 'test-key', 'anthropic-version': '2023-06-01' };

function anthropicTurn(events) {
  const text = events.filter((e) => e.data.delta?.type === 'text_delta').map((e) => e.data.delta.text).join('');
  const start = events.find((e) => e.data.content_block?.type === 'tool_use');
  const partials = start
    ? events.filter((e) => e.data.index === start.data.index && e.data.delta?.type === 'input_json_delta')
      .map((e) => e.data.delta.partial_json)
    : [];
  const stop = events.find((e) => e.event === 'message_delta')?.data.delta.stop_reason;
  return { text, tool: start?.data.content_block, partials, input: partials.length ? JSON.parse(partials.join('')) : null, stop };
}

test('Anthropic: text, failing code, fixed code after is_error, then a summary', async () => {
  const messages = [{ role: 'user', content: 'Estimate pi please' }];
  const body = { model: 'claude-test-model', max_tokens: 1024, stream: true, tools: [kTool], messages };
  const first = await post('/v1/messages', body, anthropicHeaders);
  assert.equal(first.status, 200);
  assert.match(first.headers.get('content-type'), /^text\/event-stream/);
  const { events, reads } = await readSse(first);
  assert.ok(reads > 3, `streamed in ${reads} reads`);
  for (const e of events) assert.equal(e.data.type, e.event);
  assert.equal(events[0].event, 'message_start');
  assert.equal(events[0].data.message.model, 'claude-test-model');
  assert.ok(events.some((e) => e.event === 'ping'));
  assert.equal(events.at(-2).event, 'message_delta');
  assert.equal(events.at(-1).event, 'message_stop');
  const turn = anthropicTurn(events);
  assert.equal(turn.text, "I'll estimate pi with a Monte Carlo simulation.");
  assert.match(turn.tool.id, /^toolu_/);
  assert.deepEqual(turn.tool.input, {});
  assert.equal(turn.partials[0], '');
  assert.ok(turn.partials.length >= 4);
  assert.match(turn.input.code, /np\.random/);
  assert.doesNotMatch(turn.input.code, /import numpy/);
  assert.equal(turn.stop, 'tool_use');
  assert.ok(events.at(-2).data.usage.output_tokens > 1);

  const assistant = { role: 'assistant', content: [{ type: 'text', text: turn.text },
                                                   { type: 'tool_use', id: turn.tool.id, name: 'run_code', input: turn.input }] };
  const failed = { role: 'user', content: [{ type: 'tool_result', tool_use_id: turn.tool.id, is_error: true,
                                             content: "NameError: name 'np' is not defined" }] };
  const second = anthropicTurn((await readSse(await post('/v1/messages', { ...body, messages: [...messages, assistant, failed] },
                                                          anthropicHeaders))).events);
  assert.equal(second.stop, 'tool_use');
  assert.match(second.input.code, /import numpy as np/);
  assert.match(second.input.code, /plt\.show\(\)/);
  assert.match(second.input.code, /estimate = /);
  assert.match(second.input.code, /samples = /);
  assert.notEqual(second.tool.id, turn.tool.id);

  const assistant2 = { role: 'assistant', content: [{ type: 'tool_use', id: second.tool.id, name: 'run_code', input: second.input }] };
  const ok = { role: 'user', content: [{ type: 'tool_result', tool_use_id: second.tool.id, content: 'pi ≈ 3.14' }] };
  const all = [...messages, assistant, failed, assistant2, ok];
  const third = anthropicTurn((await readSse(await post('/v1/messages', { ...body, messages: all }, anthropicHeaders))).events);
  assert.equal(third.text, 'The estimate is close to pi.');
  assert.equal(third.stop, 'end_turn');
  assert.equal(third.tool, undefined);

  // The last allowed step: tool_choice none → text only, even where the script would call a tool.
  const none = anthropicTurn((await readSse(await post('/v1/messages', { ...body, tool_choice: { type: 'none' } },
                                                        anthropicHeaders))).events);
  assert.equal(none.tool, undefined);
  assert.equal(none.stop, 'end_turn');
  assert.ok(none.text.length > 0);
});

function openAiTurn(events) {
  assert.equal(events.at(-1).data, '[DONE]');
  const chunks = events.slice(0, -1).map((e) => e.data);
  const text = chunks.flatMap((c) => c.choices).map((c) => c.delta.content ?? '').join('');
  const calls = [];
  for (const choice of chunks.flatMap((c) => c.choices)) {
    for (const fragment of choice.delta.tool_calls ?? []) {
      calls[fragment.index] ??= { fragments: [] };
      const call = calls[fragment.index];
      call.fragments.push(fragment);
      call.id ??= fragment.id;
      call.name ??= fragment.function?.name;
      call.arguments = (call.arguments ?? '') + (fragment.function?.arguments ?? '');
    }
  }
  const finish = chunks.flatMap((c) => c.choices).find((c) => c.finish_reason)?.finish_reason;
  const usage = chunks.find((c) => c.choices.length === 0)?.usage;
  return { chunks, text, calls, finish, usage };
}

test('OpenAI: tool calls by index, split arguments, usage chunk and [DONE]', async () => {
  const headers = { authorization: 'Bearer test-key' };
  const messages = [{ role: 'user', content: [{ type: 'text', text: 'estimate pi' }] }];
  const body = { model: 'gpt-test', stream: true, stream_options: { include_usage: true }, tools: [kOpenAiTool], messages };
  const turn = openAiTurn((await readSse(await post('/openai/v1/chat/completions', body, headers))).events);
  assert.ok(turn.chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'gpt-test'));
  assert.equal(turn.chunks[0].choices[0].delta.role, 'assistant');
  assert.equal(turn.text, "I'll estimate pi with a Monte Carlo simulation.");
  assert.equal(turn.calls.length, 1);
  const [call] = turn.calls;
  assert.match(call.id, /^call_/);
  assert.equal(call.fragments[0].type, 'function');
  assert.equal(call.fragments[0].function.name, 'run_code');
  assert.ok(call.fragments.slice(1).every((f) => f.id === undefined && f.function.name === undefined));
  assert.ok(call.fragments.length >= 4);
  assert.match(JSON.parse(call.arguments).code, /np\.random/);
  assert.equal(turn.finish, 'tool_calls');
  assert.ok(turn.usage.total_tokens > 0);

  const assistant = { role: 'assistant', content: null,
                      tool_calls: [{ id: call.id, type: 'function', function: { name: 'run_code', arguments: call.arguments } }] };
  const tool = { role: 'tool', tool_call_id: call.id, content: "Traceback (most recent call last):\nNameError: name 'np' is not defined" };
  const fixed = openAiTurn((await readSse(await post('/openai/v1/chat/completions',
                                                     { ...body, messages: [...messages, assistant, tool] }, headers))).events);
  assert.match(JSON.parse(fixed.calls[0].arguments).code, /import numpy as np/);

  const none = openAiTurn((await readSse(await post('/openai/v1/chat/completions',
                                                    { ...body, tool_choice: 'none', stream_options: undefined }, headers))).events);
  assert.equal(none.calls.length, 0);
  assert.equal(none.finish, 'stop');
  assert.equal(none.usage, undefined);
});

test('auth errors, model lists, overload, rate limit and the request log', async () => {
  await fetch(fake.url + '/__reset', { method: 'POST' });
  const badAnthropic = await post('/v1/messages', { model: 'm', max_tokens: 1, messages: [] },
                                  { 'x-api-key': 'bad-key', 'anthropic-version': '2023-06-01' });
  assert.equal(badAnthropic.status, 401);
  assert.deepEqual(await badAnthropic.json(),
                   { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
  const badOpenAi = await post('/openai/v1/chat/completions', { model: 'm', messages: [] }, { authorization: 'Bearer bad-key' });
  assert.equal(badOpenAi.status, 401);
  assert.equal((await badOpenAi.json()).error.code, 'invalid_api_key');

  const anthropicModels = await (await fetch(fake.url + '/v1/models', { headers: anthropicHeaders })).json();
  assert.equal(anthropicModels.data[0].id, 'claude-fake-1');
  assert.equal(anthropicModels.has_more, false);
  const openAiModels = await (await fetch(fake.url + '/openai/v1/models', { headers: { authorization: 'Bearer k' } })).json();
  assert.deepEqual(openAiModels, { object: 'list', data: [{ id: 'gpt-fake-1', object: 'model' }] });

  const overload = { model: 'm', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'overload me' }] };
  const { events } = await readSse(await post('/v1/messages', overload, anthropicHeaders));
  assert.ok(events.some((e) => e.data.delta?.type === 'text_delta'));
  assert.equal(events.at(-1).event, 'error');
  assert.equal(events.at(-1).data.error.type, 'overloaded_error');
  const broken = await post('/openai/v1/chat/completions', { ...overload, max_tokens: undefined }, { authorization: 'Bearer k' });
  assert.equal(broken.status, 200);
  await assert.rejects(readSse(broken));

  const limited = { model: 'm', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hit the rate limit' }] };
  const refused = await post('/v1/messages', limited, anthropicHeaders);
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.equal((await refused.json()).error.type, 'rate_limit_error');
  const retried = await post('/v1/messages', limited, anthropicHeaders);
  assert.equal(retried.status, 200);
  assert.equal(anthropicTurn((await readSse(retried)).events).stop, 'end_turn');

  const log = await (await fetch(fake.url + '/__requests')).json();
  assert.equal(log.length, 8);
  assert.deepEqual(log.map((r) => r.path).slice(0, 4), ['/v1/messages', '/openai/v1/chat/completions', '/v1/models', '/openai/v1/models']);
  assert.equal(log[0].headers['x-api-key'], 'bad-key');
  assert.equal(log[6].body.messages[0].content, 'hit the rate limit');
  assert.equal(fake.requests.length, 8);
  await fetch(fake.url + '/__reset', { method: 'POST' });
  assert.deepEqual(await (await fetch(fake.url + '/__requests')).json(), []);
});

test('the command line prints one ready line', async () => {
  const script = fileURLToPath(new URL('./fake_llm.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let output = '';
    child.stdout.setEncoding('utf8');
    while (!output.includes('\n')) {
      const [chunk] = await once(child.stdout, 'data');
      output += chunk;
    }
    const match = /^fake-llm listening on (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(output);
    assert.ok(match, output);
    const hello = { model: 'm', stream: false, messages: [{ role: 'user', content: 'hello' }] };
    const answer = await (await fetch(match[1] + '/openai/v1/chat/completions', {
      method: 'POST', headers: { authorization: 'Bearer k' }, body: JSON.stringify(hello) })).json();
    assert.equal(answer.choices[0].message.content, 'Hello! I can run Python code for you.');
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});
