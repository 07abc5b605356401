// A scripted fake LLM provider for tests: Anthropic's Messages API at the root (ANTHROPIC_BASE_URL = <url>) and
// OpenAI's Chat Completions under /openai (OPENAI_BASE_URL = <url>/openai/v1), streaming the providers' exact
// wire formats (docs: /work/shared/spec/llm-and-ui-stream.md §1.2, §1.3, §2.2) so the chat gateway and browser
// tests run without a real provider. Node 20, no npm packages.
//
//   node tests/chat/fake_llm.mjs [--port N]      prints `fake-llm listening on http://127.0.0.1:<port>`
//   import { startFakeLlm } from './fake_llm.mjs' → { url, close(), requests }
//
// What the "model" does is chosen by the latest user prompt (case-insensitive, first match wins):
//   "overload"           Anthropic: text, then an in-band `event: error` overloaded_error; OpenAI: the connection
//                        is destroyed mid-stream
//   "rate limit"         429 with retry-after: 1 the first time per prompt, a plain answer the second time
//   "sleep" / "long"     run_code printing a number every 0.5 s for 5 minutes (a test stops it)
//   "count slowly [to N]" run_code printing 0 to N-1 (N = 8 unless given), one every 0.4 s, then a closing text
//   "reuse" / "follow"   run_code printing the kernel's `estimate` from an earlier turn, then a summary
//   "csv"                run_code reading /home/user/<name>.csv (taken from the prompt) with pandas
//   "hello"              a plain text answer, no tools
//   anything else (pi)   text, run_code that raises NameError, corrected code after the error result (numpy
//                        estimate of pi and a matplotlib figure), then a closing summary
// With tool_choice none (or no tools offered) the answer is text only. An OpenAI-side model whose name contains
// "no-tools" refuses any request that offers tools, as Ollama does (400, "… does not support tools"); one whose
// name contains "no-jinja" as llama-server without --jinja does (500, "tools param requires --jinja flag"). Every request is recorded: GET /__requests
// returns them (method, path, headers, parsed body) and POST /__reset forgets them.

import http from 'node:http';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const kAnthropicModels = [{ id: 'claude-fake-1', type: 'model', display_name: 'Claude Fake' }];
export const kOpenAiModels = [{ id: 'gpt-fake-1', object: 'model' }];
const kBadKey = 'bad-key';

// ------------------------------------------------------------------------------------------------------------
// The conversation, read the same way for both providers.

function anthropicText(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.filter((b) => b && b.type === 'text').map((b) => b.text).join('\n');
}

function openAiText(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.filter((p) => p && p.type === 'text').map((p) => p.text).join('\n');
}

// → { prompt, results: [{ isError, text }] } where `prompt` is the latest user turn with text of its own (a new
// prompt may share its message with the previous turn's tool results; the image follow-up that comes right after
// OpenAI tool messages is not a prompt), and `results` are the tool results that came after it, oldest first.
// Without native tools (the server's fenced-code fallback) results come back as user messages with these openings.
const kPlainResult = /^(Output of the code:|The code raised an error:)/;

export function readConversation(provider, messages) {
  const list = Array.isArray(messages) ? messages : [];
  const textOf = (message) => (provider === 'anthropic' ? anthropicText(message.content) : openAiText(message.content));
  let promptIndex = -1;
  for (let i = list.length - 1; i >= 0 && promptIndex < 0; i--) {
    const message = list[i];
    if (!message || message.role !== 'user') continue;
    const text = textOf(message).trim();
    if (!text || kPlainResult.test(text)) continue;
    if (provider === 'openai') {
      const figures = Array.isArray(message.content) && message.content.some((p) => p && p.type === 'image_url');
      const afterTool = i > 0 && list[i - 1] && list[i - 1].role === 'tool';
      if (afterTool && figures) continue;
    }
    promptIndex = i;
  }
  const prompt = promptIndex >= 0 ? textOf(list[promptIndex]) : '';
  const results = [];
  for (const message of list.slice(promptIndex + 1)) {
    if (message.role === 'user' && kPlainResult.test(textOf(message).trim())) {
      const text = textOf(message).trim();
      results.push({ isError: text.startsWith('The code raised'), text });
    } else if (provider === 'anthropic' && message.role === 'user' && Array.isArray(message.content)) {
      for (const block of message.content) {
        if (block && block.type === 'tool_result') {
          results.push({ isError: block.is_error === true, text: anthropicText(block.content) });
        }
      }
    } else if (provider === 'openai' && message.role === 'tool') {
      const text = openAiText(message.content);
      results.push({ isError: /Error|Traceback/.test(text), text });
    }
  }
  return { prompt, results };
}

// ------------------------------------------------------------------------------------------------------------
// Scripts: each returns one assistant turn { blocks: [{type:'text', text} | {type:'tool_use', name, input}] }
// or a fault { fault: 'overload' | 'rate_limit' }.

function runCode(title, description, code) {
  return { type: 'tool_use', name: 'run_code', input: { language: 'python', title, description, code } };
}

const text = (value) => ({ type: 'text', text: value });

const kBrokenPiCode = [
  'samples = 100_000',
  '# numpy is used before it is imported: this raises NameError',
  'points = np.random.rand(samples, 2)',
  'estimate = 4 * ((points ** 2).sum(axis=1) <= 1.0).mean()',
  'print(f"pi ≈ {estimate}")',
].join('\n');

const kPiCode = [
  'import numpy as np',
  'import matplotlib.pyplot as plt',
  '',
  'samples = 100_000',
  'rng = np.random.default_rng(42)',
  'points = rng.random((samples, 2))',
  'inside = (points ** 2).sum(axis=1) <= 1.0',
  'estimate = 4 * inside.mean()',
  'print(f"pi ≈ {estimate:.5f} from {samples} samples")',
  '',
  'shown = 2_000',
  'plt.figure(figsize=(5, 5))',
  'plt.scatter(points[:shown, 0], points[:shown, 1], c=inside[:shown], s=2, cmap="coolwarm")',
  'plt.title(f"Monte Carlo estimate of pi: {estimate:.4f}")',
  'plt.gca().set_aspect("equal")',
  'plt.show()',
].join('\n');

const kSleepCode = 'import time\nfor i in range(600):\n    print(i, flush=True)\n    time.sleep(0.5)';
const countCode = (n) => `import time\nfor i in range(${n}):\n    print(i, flush=True)\n    time.sleep(0.4)`;

function csvCode(path) {
  return [
    'import pandas as pd',
    '',
    `df = pd.read_csv(${JSON.stringify(path)})`,
    'print(df.describe())',
    'df.describe().to_csv("/home/user/summary.csv")',
    'display(df.head())',
  ].join('\n');
}

// A script with one code step: the call first, a closing text once its result is back.
function oneStep(results, call, done, failed) {
  if (results.length === 0) return { blocks: [call.intro ? text(call.intro) : null, call.block].filter(Boolean) };
  return { blocks: [text(results.at(-1).isError ? failed : done)] };
}

function piScript(results) {
  if (results.length === 0) {
    return { blocks: [text("I'll estimate pi with a Monte Carlo simulation."),
                      runCode('Estimate pi', 'Monte Carlo estimate of pi', kBrokenPiCode)] };
  }
  if (results.at(-1).isError) {
    return { blocks: [text('That failed because numpy was not imported. Fixing it.'),
                      runCode('Estimate pi (fixed)', 'Monte Carlo estimate of pi with a plot', kPiCode)] };
  }
  return { blocks: [text('The estimate is close to pi.')] };
}

export function chooseScript(prompt, results, { rateLimited }) {
  const p = prompt.toLowerCase();
  if (p.includes('overload')) return { fault: 'overload', blocks: [text('Let me think about that')] };
  if (p.includes('rate limit')) {
    if (rateLimited()) return { fault: 'rate_limit' };
    return { blocks: [text('Thanks for waiting: the rate limit has passed and here is your answer.')] };
  }
  if (p.includes('sleep') || p.includes('long')) {
    const call = { intro: 'Starting a long-running loop.', block: runCode('Long loop', 'Prints a number every half second', kSleepCode) };
    return oneStep(results, call, 'The loop finished.', 'The loop was stopped.');
  }
  if (p.includes('count slowly')) {
    const n = Number(p.match(/count slowly to (\d+)/)?.[1] ?? 8);
    const call = { intro: 'Counting slowly.', block: runCode('Slow count', `Prints 0 to ${n - 1}`, countCode(n)) };
    return oneStep(results, call, `Counted to ${n - 1}.`, 'The count was stopped.');
  }
  if (p.includes('reuse') || p.includes('follow')) {
    const call = { intro: 'Reusing the earlier result.',
                   block: runCode('Previous estimate', 'Prints the estimate kept in the kernel', 'print(f"previous estimate: {estimate}")') };
    return oneStep(results, call, 'The kernel still holds the previous estimate.', 'The previous estimate is no longer available.');
  }
  if (p.includes('csv')) {
    const path = (prompt.match(/\/home\/user\/[\w.\-/]*?[\w\-]+\.csv/) || ['/home/user/data.csv'])[0];
    const call = { intro: `Let me summarise ${path}.`, block: runCode('Summarise CSV', `Describes ${path}`, csvCode(path)) };
    return oneStep(results, call, 'I summarised the data and wrote /home/user/summary.csv.', 'Reading the file failed.');
  }
  if (p.includes('hello')) return { blocks: [text('Hello! I can run Python code for you.')] };
  // A model without tool support writes its code as a fenced block (the server runs it).
  if (p.includes('fenced')) {
    if (results.length === 0) return { blocks: [text("I'll compute it.\n\n```python\nprint(6 * 7)\n```\n")] };
    const answer = results.at(-1).text.match(/\b(\d+)\b/);
    return { blocks: [text(`The answer is ${answer ? answer[1] : 'unknown'}.`)] };
  }
  return piScript(results);
}

// tool_choice none (or no tools at all): the model may only write text.
function textOnly(turn) {
  if (!turn.blocks || turn.blocks.every((b) => b.type === 'text')) return turn;
  return { ...turn, blocks: [text('I have reached the step limit, so here is a summary of what I found so far.')] };
}

// ------------------------------------------------------------------------------------------------------------
// Wire helpers.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Text in pieces of about two words, so deltas are many and small.
function textPieces(value) {
  const words = value.match(/\S+\s*|\s+/g) || [''];
  const pieces = [];
  for (let i = 0; i < words.length; i += 2) pieces.push(words.slice(i, i + 2).join(''));
  return pieces;
}

// A JSON string cut into `count` fragments that are not valid JSON on their own.
function jsonFragments(json, count = 5) {
  const size = Math.max(1, Math.ceil(json.length / count));
  const fragments = [];
  for (let i = 0; i < json.length; i += size) fragments.push(json.slice(i, i + size));
  return fragments;
}

const estimateTokens = (value) => Math.max(1, Math.ceil(JSON.stringify(value ?? '').length / 4));

function sendJson(res, status, body, headers = {}) {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

// Writes one piece of a stream and waits a little, so streaming is observable. False once the client left.
async function emit(res, chunk, delayMs) {
  if (res.destroyed || res.writableEnded) return false;
  res.write(chunk);
  if (delayMs > 0) await sleep(delayMs);
  return !res.destroyed;
}

function startStream(res) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
}

// ------------------------------------------------------------------------------------------------------------
// Anthropic Messages API (§1).

function anthropicError(res, status, type, message, headers) {
  sendJson(res, status, { type: 'error', error: { type, message } }, headers);
}

function anthropicAuthorized(req, res) {
  const key = req.headers['x-api-key'];
  if (!key) return anthropicError(res, 401, 'authentication_error', 'x-api-key header is required'), false;
  if (key === kBadKey) return anthropicError(res, 401, 'authentication_error', 'invalid x-api-key'), false;
  return true;
}

function anthropicContent(blocks, ids) {
  return blocks.map((b, i) => (b.type === 'text' ? { type: 'text', text: b.text }
                                                  : { type: 'tool_use', id: ids[i], name: b.name, input: b.input }));
}

async function streamAnthropic(res, turn, { model, inputTokens, ids, messageId, delayMs }) {
  const sse = (name, data) => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`;
  startStream(res);
  const message = { id: messageId, type: 'message', role: 'assistant', model, content: [], stop_reason: null,
                    stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: 1 } };
  if (!await emit(res, sse('message_start', { message }), delayMs)) return;
  let outputTokens = 1;
  for (const [index, block] of turn.blocks.entries()) {
    if (block.type === 'text') {
      if (!await emit(res, sse('content_block_start', { index, content_block: { type: 'text', text: '' } }), delayMs)) return;
      if (index === 0 && !await emit(res, sse('ping', {}), delayMs)) return;
      for (const piece of textPieces(block.text)) {
        const delta = { type: 'text_delta', text: piece };
        if (!await emit(res, sse('content_block_delta', { index, delta }), delayMs)) return;
      }
      outputTokens += estimateTokens(block.text);
    } else {
      const start = { type: 'tool_use', id: ids[index], name: block.name, input: {} };
      if (!await emit(res, sse('content_block_start', { index, content_block: start }), delayMs)) return;
      const json = JSON.stringify(block.input);
      for (const partial of ['', ...jsonFragments(json)]) {
        const delta = { type: 'input_json_delta', partial_json: partial };
        if (!await emit(res, sse('content_block_delta', { index, delta }), delayMs)) return;
      }
      outputTokens += estimateTokens(json);
    }
    if (turn.fault === 'overload') {
      // An in-band error after the stream started with 200 (§1.3): no block stop, no message_stop.
      const error = { type: 'overloaded_error', message: 'Overloaded' };
      await emit(res, sse('error', { error }), delayMs);
      res.end();
      return;
    }
    if (!await emit(res, sse('content_block_stop', { index }), delayMs)) return;
  }
  const stopReason = turn.blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
  const delta = { stop_reason: stopReason, stop_sequence: null };
  if (!await emit(res, sse('message_delta', { delta, usage: { output_tokens: outputTokens } }), delayMs)) return;
  await emit(res, sse('message_stop', {}), 0);
  res.end();
}

async function handleAnthropicMessages(state, req, res, body) {
  if (!anthropicAuthorized(req, res)) return;
  if (!req.headers['anthropic-version']) {
    return anthropicError(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
  }
  if (!body || typeof body !== 'object') return anthropicError(res, 400, 'invalid_request_error', 'body must be JSON');
  if (!body.model) return anthropicError(res, 400, 'invalid_request_error', 'model: Field required');
  if (!Number.isInteger(body.max_tokens)) return anthropicError(res, 400, 'invalid_request_error', 'max_tokens: Field required');
  if (!Array.isArray(body.messages)) return anthropicError(res, 400, 'invalid_request_error', 'messages: Field required');

  const { prompt, results } = readConversation('anthropic', body.messages);
  let turn = chooseScript(prompt, results, { rateLimited: () => state.firstTime(`anthropic:${prompt}`) });
  if (turn.fault === 'rate_limit') {
    return anthropicError(res, 429, 'rate_limit_error', 'Number of requests has exceeded your rate limit',
                          { 'retry-after': '1' });
  }
  const toolsOffered = Array.isArray(body.tools) && body.tools.length > 0;
  if (!toolsOffered || body.tool_choice?.type === 'none') turn = textOnly(turn);
  const ids = turn.blocks.map((b) => (b.type === 'tool_use' ? state.nextId('toolu_fake') : null));
  const options = { model: body.model, inputTokens: estimateTokens(body.messages), ids,
                    messageId: state.nextId('msg_fake'), delayMs: state.delayMs };
  if (body.stream) return streamAnthropic(res, turn, options);
  if (turn.fault === 'overload') return anthropicError(res, 529, 'overloaded_error', 'Overloaded');
  const stopReason = turn.blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
  sendJson(res, 200, { id: options.messageId, type: 'message', role: 'assistant', model: body.model,
                       content: anthropicContent(turn.blocks, ids), stop_reason: stopReason, stop_sequence: null,
                       usage: { input_tokens: options.inputTokens, output_tokens: estimateTokens(turn.blocks) } });
}

// ------------------------------------------------------------------------------------------------------------
// OpenAI Chat Completions (§2).

function openAiError(res, status, message, type, code, headers) {
  sendJson(res, status, { error: { message, type, param: null, code } }, headers);
}

function openAiAuthorized(req, res) {
  const match = /^Bearer (.+)$/.exec(req.headers.authorization || '');
  if (!match) {
    openAiError(res, 401, "You didn't provide an API key.", 'invalid_request_error', null);
    return false;
  }
  if (match[1] === kBadKey) {
    sendJson(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error',
                                  code: 'invalid_api_key' } });
    return false;
  }
  return true;
}

async function streamOpenAi(res, turn, { model, id, created, ids, includeUsage, promptTokens, delayMs }) {
  const base = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake' };
  const chunk = (delta, finishReason = null) => {
    const data = { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] };
    if (includeUsage) data.usage = null;
    return `data: ${JSON.stringify(data)}\n\n`;
  };
  startStream(res);
  if (!await emit(res, chunk({ role: 'assistant', content: '', refusal: null }), delayMs)) return;
  let completionTokens = 0;
  let toolIndex = 0;
  for (const [i, block] of turn.blocks.entries()) {
    if (block.type === 'text') {
      for (const piece of textPieces(block.text)) {
        if (!await emit(res, chunk({ content: piece }), delayMs)) return;
      }
      completionTokens += estimateTokens(block.text);
      if (turn.fault === 'overload') {
        // OpenAI has no in-band error event (§2.2): the stream just breaks.
        res.socket?.destroy();
        return;
      }
    } else {
      const index = toolIndex++;
      const first = { index, id: ids[i], type: 'function', function: { name: block.name, arguments: '' } };
      if (!await emit(res, chunk({ tool_calls: [first] }), delayMs)) return;
      const json = JSON.stringify(block.input);
      for (const fragment of jsonFragments(json)) {
        if (!await emit(res, chunk({ tool_calls: [{ index, function: { arguments: fragment } }] }), delayMs)) return;
      }
      completionTokens += estimateTokens(json);
    }
  }
  const finishReason = toolIndex > 0 ? 'tool_calls' : 'stop';
  if (!await emit(res, chunk({}, finishReason), delayMs)) return;
  if (includeUsage) {
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens,
                    total_tokens: promptTokens + completionTokens };
    if (!await emit(res, `data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`, delayMs)) return;
  }
  await emit(res, 'data: [DONE]\n\n', 0);
  res.end();
}

async function handleOpenAiCompletions(state, req, res, body) {
  if (!openAiAuthorized(req, res)) return;
  if (!body || typeof body !== 'object') return openAiError(res, 400, 'body must be JSON', 'invalid_request_error', null);
  if (!body.model) return openAiError(res, 400, 'you must provide a model parameter', 'invalid_request_error', null);
  if (!Array.isArray(body.messages)) {
    return openAiError(res, 400, "Missing required parameter: 'messages'.", 'invalid_request_error', 'missing_required_parameter');
  }
  const { prompt, results } = readConversation('openai', body.messages);
  let turn = chooseScript(prompt, results, { rateLimited: () => state.firstTime(`openai:${prompt}`) });
  if (turn.fault === 'rate_limit') {
    return openAiError(res, 429, `Rate limit reached for ${body.model}. Please try again in 1s.`, 'requests',
                       'rate_limit_exceeded', { 'retry-after': '1' });
  }
  const toolsOffered = Array.isArray(body.tools) && body.tools.length > 0;
  if (toolsOffered && String(body.model).includes('no-tools')) {
    // Ollama's answer for a model whose template has no tool support (a plain {"error": "..."} body).
    return sendJson(res, 400, { error: `registry.ollama.ai/library/${body.model} does not support tools` });
  }
  if (toolsOffered && String(body.model).includes('no-jinja')) {
    // llama-server started without --jinja.
    return sendJson(res, 500, { error: { code: 500, message: 'tools param requires --jinja flag', type: 'server_error' } });
  }
  if (!toolsOffered || body.tool_choice === 'none') turn = textOnly(turn);
  const ids = turn.blocks.map((b) => (b.type === 'tool_use' ? state.nextId('call_fake') : null));
  const options = { model: body.model, id: state.nextId('chatcmpl-fake'), created: Math.floor(Date.now() / 1000), ids,
                    includeUsage: body.stream_options?.include_usage === true,
                    promptTokens: estimateTokens(body.messages), delayMs: state.delayMs };
  if (body.stream) return streamOpenAi(res, turn, options);
  if (turn.fault === 'overload') return openAiError(res, 503, 'The server is overloaded', 'server_error', null);
  const content = turn.blocks.filter((b) => b.type === 'text').map((b) => b.text).join('') || null;
  const toolCalls = turn.blocks.flatMap((b, i) => (b.type === 'tool_use'
    ? [{ id: ids[i], type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input) } }] : []));
  const message = { role: 'assistant', content, refusal: null };
  if (toolCalls.length) message.tool_calls = toolCalls;
  const completionTokens = estimateTokens(turn.blocks);
  sendJson(res, 200, { id: options.id, object: 'chat.completion', created: options.created, model: body.model,
                       choices: [{ index: 0, message, logprobs: null, finish_reason: toolCalls.length ? 'tool_calls' : 'stop' }],
                       usage: { prompt_tokens: options.promptTokens, completion_tokens: completionTokens,
                                total_tokens: options.promptTokens + completionTokens } });
}

// ------------------------------------------------------------------------------------------------------------
// The server.

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(raw) {
  if (!raw) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;  // recorded as not JSON; handlers answer 400
  }
}

async function route(state, req, res) {
  const path = new URL(req.url, 'http://fake').pathname;
  const raw = await readBody(req);
  if (req.method === 'GET' && path === '/__requests') return sendJson(res, 200, state.requests);
  if (req.method === 'POST' && path === '/__reset') {
    state.reset();
    return sendJson(res, 200, { ok: true });
  }
  const body = parseJson(raw);
  state.requests.push({ method: req.method, path, headers: { ...req.headers }, body: body ?? null,
                        ...(body === undefined ? { rawBody: raw } : {}) });

  if (req.method === 'POST' && path === '/v1/messages') return handleAnthropicMessages(state, req, res, body);
  if (req.method === 'GET' && path === '/v1/models') {
    if (!anthropicAuthorized(req, res)) return;
    return sendJson(res, 200, { data: kAnthropicModels, has_more: false, first_id: kAnthropicModels[0].id,
                                last_id: kAnthropicModels.at(-1).id });
  }
  if (req.method === 'POST' && path === '/openai/v1/chat/completions') return handleOpenAiCompletions(state, req, res, body);
  if (req.method === 'GET' && path === '/openai/v1/models') {
    if (!openAiAuthorized(req, res)) return;
    return sendJson(res, 200, { object: 'list', data: kOpenAiModels });
  }
  if (path.startsWith('/openai/')) return openAiError(res, 404, `Unknown request URL: ${req.method} ${path}`, 'invalid_request_error', 'unknown_url');
  anthropicError(res, 404, 'not_found_error', `Not found: ${req.method} ${path}`);
}

class FakeState {
  constructor(delayMs) {
    this.delayMs = delayMs;
    this.requests = [];
    this.seen = new Set();
    this.counter = 0;
  }
  // True the first time `key` is seen (until reset).
  firstTime(key) {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }
  // Ids stay unique across resets.
  nextId(prefix) {
    this.counter += 1;
    return `${prefix}${String(this.counter).padStart(6, '0')}`;
  }
  reset() {
    this.requests.length = 0;  // the same array object callers hold
    this.seen.clear();
  }
}

// Starts the fake on 127.0.0.1. `delayMs` is the pause between streamed events (default 8 ms).
export async function startFakeLlm({ port = 0, delayMs = 8 } = {}) {
  const state = new FakeState(delayMs);
  const server = http.createServer((req, res) => {
    route(state, req, res).catch((error) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(error?.stack || error) } });
      else res.destroy();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}`;
  const close = () => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();  // streams in flight (a "long" run) must not keep the process alive
  });
  return { url, close, requests: state.requests, reset: () => state.reset() };
}

function parsePort(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--port') return Number(argv[i + 1]);
    if (argv[i].startsWith('--port=')) return Number(argv[i].slice('--port='.length));
  }
  return 0;
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const port = parsePort(process.argv.slice(2));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('usage: node fake_llm.mjs [--port N]');
    process.exit(2);
  }
  const fake = await startFakeLlm({ port });
  console.log(`fake-llm listening on ${fake.url}`);
  const stop = () => fake.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
