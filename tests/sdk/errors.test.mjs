// Raw HTTP against cellblock-agent, no SDK: malformed requests must get clear, well-formed errors, and the agent
// must keep serving afterwards.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { kEnvdPort, kInterpreterPort, startAgent } from './harness.mjs';

let agent;

before(async () => {
  agent = await startAgent();
});

after(async () => {
  await agent?.stop();
});

// The port header is what the SDK sends; the tests send it too, to either listener.
const envdHeaders = { 'E2b-Sandbox-Id': 'debug_sandbox_id', 'E2b-Sandbox-Port': String(kEnvdPort) };
const interpHeaders = { 'E2b-Sandbox-Id': 'debug_sandbox_id', 'E2b-Sandbox-Port': String(kInterpreterPort) };

async function jsonBody(res) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    assert.fail(`expected a JSON body (status ${res.status}, content-type ${res.headers.get('content-type')}): ` +
                JSON.stringify(text.slice(0, 300)));
  }
}

function envelope(flags, payload) {
  const body = Buffer.from(payload);
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

function parseEnvelopes(buf) {
  const out = [];
  let off = 0;
  while (off + 5 <= buf.length) {
    const flags = buf.readUInt8(off);
    const len = buf.readUInt32BE(off + 1);
    assert.ok(off + 5 + len <= buf.length, 'truncated envelope in the response');
    out.push({ flags, json: JSON.parse(buf.subarray(off + 5, off + 5 + len).toString('utf8')) });
    off += 5 + len;
  }
  assert.equal(off, buf.length, 'trailing bytes after the last envelope');
  return out;
}

async function expectStreamError(body) {
  const res = await fetch(`${agent.envdUrl}/process.Process/Start`, {
    method: 'POST',
    headers: { ...envdHeaders, 'Content-Type': 'application/connect+json', 'Connect-Protocol-Version': '1' },
    body,
  });
  assert.equal(res.status, 200, 'Connect streams answer 200 even on error');
  assert.match(res.headers.get('content-type') ?? '', /^application\/connect\+json/);
  const envs = parseEnvelopes(Buffer.from(await res.arrayBuffer()));
  assert.ok(envs.length >= 1, 'no envelope at all');
  const last = envs.at(-1);
  assert.equal(last.flags, 0x02, 'the last envelope must be end-stream');
  assert.equal(typeof last.json.error?.code, 'string', `end-stream without error: ${JSON.stringify(last.json)}`);
  assert.ok(last.json.error.message?.length > 0, 'end-stream error without message');
  return last.json.error;
}

// Sends only the request head (never the body) and returns the status line and headers the agent answers with.
function sendHeadOnly(port, head, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no response within ${timeoutMs} ms; got ${JSON.stringify(data)}`));
    }, timeoutMs);
    sock.setEncoding('latin1');
    sock.on('connect', () => sock.write(head));
    sock.on('data', (d) => {
      data += d;
      if (data.includes('\r\n\r\n')) {
        clearTimeout(timer);
        sock.destroy();
        resolve(data);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (!data.includes('\r\n\r\n')) reject(new Error(`connection closed; got ${JSON.stringify(data)}`));
    });
  });
}

describe('malformed requests', { timeout: 60_000 }, () => {
  test('malformed JSON to /execute → 400 with a message', async () => {
    const res = await fetch(`${agent.interpreterUrl}/execute`, {
      method: 'POST',
      headers: { ...interpHeaders, 'Content-Type': 'application/json' },
      body: '{"code": "1+1", ',
    });
    assert.equal(res.status, 400);
    const text = await res.text();
    assert.ok(text.length > 0, 'empty error body');
    assert.match(text, /json|parse|invalid|malformed/i, `unclear message: ${text}`);
  });

  test('/execute without code → 4xx', async () => {
    const res = await fetch(`${agent.interpreterUrl}/execute`, {
      method: 'POST',
      headers: { ...interpHeaders, 'Content-Type': 'application/json' },
      body: '{"language": "python"}',
    });
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    await res.arrayBuffer();
  });

  test('/execute with both context_id and language → 400', async () => {
    const res = await fetch(`${agent.interpreterUrl}/execute`, {
      method: 'POST',
      headers: { ...interpHeaders, 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: '1', context_id: 'x', language: 'python' }),
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /context_id|language/);
  });

  test('unknown Connect method → unimplemented', async () => {
    // What a Connect client concludes: the JSON string code if there is one, else the code its HTTP status maps to
    // (404 → unimplemented).
    for (const path of ['/process.Process/NoSuchMethod', '/filesystem.Filesystem/NoSuchMethod', '/nosuch.Service/Call']) {
      const res = await fetch(`${agent.envdUrl}${path}`, {
        method: 'POST',
        headers: { ...envdHeaders, 'Content-Type': 'application/json', 'Connect-Protocol-Version': '1' },
        body: '{}',
      });
      assert.ok(res.status === 404 || res.status === 501, `${path}: status ${res.status}`);
      const body = await jsonBody(res);
      const code = typeof body.code === 'string' ? body.code : res.status === 404 ? 'unimplemented' : 'unknown';
      assert.equal(code, 'unimplemented', `${path}: ${res.status} ${JSON.stringify(body)}`);
    }
  });

  test('unary Connect call with malformed JSON → invalid_argument-ish JSON error', async () => {
    const res = await fetch(`${agent.envdUrl}/filesystem.Filesystem/Stat`, {
      method: 'POST',
      headers: { ...envdHeaders, 'Content-Type': 'application/json', 'Connect-Protocol-Version': '1' },
      body: '{"path": ',
    });
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    const body = await jsonBody(res);
    assert.equal(typeof body.code, 'string');
    assert.ok(['invalid_argument', 'internal'].includes(body.code), JSON.stringify(body));
  });

  test('streaming Connect call with a truncated envelope → end-stream error', async () => {
    const full = envelope(0, '{"process":{"cmd":"/bin/true"}}');
    await expectStreamError(full.subarray(0, full.length - 5));
  });

  test('streaming Connect call with invalid JSON in the envelope → end-stream error', async () => {
    await expectStreamError(envelope(0, '{"process": nope'));
  });

  test('streaming Connect call with a compressed-flag envelope → end-stream error', async () => {
    await expectStreamError(envelope(1, '{"process":{"cmd":"/bin/true"}}'));
  });

  test('GET /files with a missing relative path → 404 JSON', async () => {
    const res = await fetch(`${agent.envdUrl}/files?path=${encodeURIComponent('missing/thing.txt')}`, {
      headers: envdHeaders,
    });
    assert.equal(res.status, 404);
    const body = await jsonBody(res);
    assert.equal(body.code, 404);
    assert.equal(typeof body.message, 'string');
    assert.match(body.message, /missing\/thing\.txt/);
  });

  test('GET /files on a directory → 400 JSON', async () => {
    const res = await fetch(`${agent.envdUrl}/files?path=${encodeURIComponent(agent.workdir)}`, {
      headers: envdHeaders,
    });
    assert.equal(res.status, 400);
    assert.equal((await jsonBody(res)).code, 400);
  });

  test('POST /files with an unsupported content type → 4xx JSON', async () => {
    const res = await fetch(`${agent.envdUrl}/files?path=x.txt`, {
      method: 'POST',
      headers: { ...envdHeaders, 'Content-Type': 'text/plain' },
      body: 'hello',
    });
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    const body = await jsonBody(res);
    assert.equal(body.code, res.status);
    assert.equal(typeof body.message, 'string');
  });

  test('POST /files multipart without a boundary → 4xx JSON', async () => {
    const res = await fetch(`${agent.envdUrl}/files?path=y.txt`, {
      method: 'POST',
      headers: { ...envdHeaders, 'Content-Type': 'multipart/form-data' },
      body: 'garbage',
    });
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    assert.equal((await jsonBody(res)).code, res.status);
  });

  test('2 GB declared Content-Length on /execute → 413 without reading the body', async () => {
    for (const port of [new URL(agent.interpreterUrl).port, new URL(agent.envdUrl).port]) {
      const head = 'POST /execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
                   `E2b-Sandbox-Port: ${kInterpreterPort}\r\nContent-Length: 2147483648\r\n\r\n`;
      const response = await sendHeadOnly(Number(port), head);
      assert.match(response, /^HTTP\/1\.[01] 413 /, `port ${port}: ${response.split('\r\n')[0]}`);
    }
  });

  test('unknown routes → 404 JSON on both services', async () => {
    const envd = await fetch(`${agent.envdUrl}/no/such/route`, { headers: envdHeaders });
    assert.equal(envd.status, 404);
    assert.equal((await jsonBody(envd)).code, 404);
    const interp = await fetch(`${agent.interpreterUrl}/no/such/route`, { headers: interpHeaders });
    assert.equal(interp.status, 404);
    await jsonBody(interp);
  });

  test('unknown context routes → 404', async () => {
    const restart = await fetch(`${agent.interpreterUrl}/contexts/nope/restart`, {
      method: 'POST',
      headers: interpHeaders,
    });
    assert.equal(restart.status, 404);
    await restart.arrayBuffer();
    const del = await fetch(`${agent.interpreterUrl}/contexts/nope`, { method: 'DELETE', headers: interpHeaders });
    assert.equal(del.status, 404);
    await del.arrayBuffer();
  });
});

describe('NDJSON wire format', { timeout: 30_000 }, () => {
  test('a silent cell gets keepalive lines; number_of_executions first, end_of_execution last', async () => {
    const res = await fetch(`${agent.interpreterUrl}/execute`, {
      method: 'POST',
      headers: { ...interpHeaders, 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: 'import time\ntime.sleep(6.5)\n"woke"' }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(text.endsWith('\n'));
    const raw = text.slice(0, -1).split('\n');
    assert.ok(raw.every((l) => l.length > 0), 'blank NDJSON line');
    const types = raw.map((l) => JSON.parse(l).type);
    assert.equal(types[0], 'number_of_executions');
    assert.equal(types.at(-1), 'end_of_execution');
    assert.ok(types.includes('keepalive'), `no keepalive during 6.5 s of silence: ${types}`);
    assert.equal(JSON.parse(raw[types.indexOf('result')]).text, 'woke');
  });
});

describe('routing and health', { timeout: 30_000 }, () => {
  test('E2b-Sandbox-Port routes to the right service on either listener', async () => {
    for (const base of [agent.envdUrl, agent.interpreterUrl]) {
      const envd = await fetch(`${base}/health`, { headers: envdHeaders });
      assert.equal(envd.status, 204, `${base} envd /health`);
      assert.equal(await envd.text(), '');
      const interp = await fetch(`${base}/contexts`, { headers: interpHeaders });
      assert.equal(interp.status, 200, `${base} interpreter /contexts`);
      assert.ok(Array.isArray(await interp.json()));
      const env = await fetch(`${base}/envs`, { headers: envdHeaders });
      assert.equal(env.status, 200, `${base} envd /envs`);
      assert.equal(typeof (await env.json()), 'object');
    }
  });

  test('the agent still answers after all of the above', async () => {
    assert.ok(agent.alive(), 'agent died');
    const res = await fetch(`${agent.envdUrl}/health`);
    assert.equal(res.status, 204);
    const res2 = await fetch(`${agent.envdUrl}/health`, { headers: envdHeaders });
    assert.equal(res2.status, 204);
    const exec = await fetch(`${agent.interpreterUrl}/execute`, {
      method: 'POST',
      headers: { ...interpHeaders, 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: '6*7' }),
    });
    assert.equal(exec.status, 200);
    const text = await exec.text();
    assert.ok(text.endsWith('\n'), 'NDJSON must end with a newline');
    const raw = text.slice(0, -1).split('\n');
    assert.ok(raw.every((l) => l.length > 0), 'NDJSON must contain no blank lines');
    const lines = raw.map((l) => JSON.parse(l));
    assert.equal(lines.at(-1).type, 'end_of_execution');
    assert.equal(lines.find((l) => l.type === 'result')?.text, '42');
  });
});
