import assert from "node:assert/strict";
import { test } from "node:test";
import { readEventStream, SseSplitter } from "../src/sse.ts";

function bodyOf(pieces: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const p of pieces) controller.enqueue(typeof p === "string" ? enc.encode(p) : p);
      controller.close();
    },
  });
}

test("splits events on blank lines and ignores comments", () => {
  const s = new SseSplitter();
  assert.deepEqual(s.push(': stream-open\n\ndata: {"a":1}\n\ndata: {"b"'), ['{"a":1}']);
  assert.deepEqual(s.push(":2}\n"), []);
  assert.deepEqual(s.push("\n: keep-alive\n\n"), ['{"b":2}']);
});

test("handles CRLF, CR and multi-line data", () => {
  const s = new SseSplitter();
  assert.deepEqual(s.push("data: x\r\n\r\ndata:y\r\rdata: a\ndata: b\n\n"), ["x", "y", "a\nb"]);
  // A CR at the very end may be the start of CRLF.
  assert.deepEqual(s.push("data: z\r"), []);
  assert.deepEqual(s.push("\n\r\n"), ["z"]);
});

test("end() flushes an event without its trailing blank line", () => {
  const s = new SseSplitter();
  assert.deepEqual(s.push("data: last"), []);
  assert.deepEqual(s.end(), ["last"]);
});

test("readEventStream stops at [DONE] and survives split UTF-8", async () => {
  const bytes = new TextEncoder().encode('data: {"type":"text-delta","delta":"π"}\n\n');
  const cut = bytes.indexOf(0xcf) + 1; // inside the two bytes of π
  const chunks: unknown[] = [];
  const bad: string[] = [];
  const result = await readEventStream(
    bodyOf([bytes.slice(0, cut), bytes.slice(cut), "data: not json\n\n", "data: [DONE]\n\n", 'data: {"type":"late"}\n\n']),
    (c) => chunks.push(c),
    (p) => bad.push(p),
  );
  assert.equal(result.sawDone, true);
  assert.deepEqual(chunks, [{ type: "text-delta", delta: "π" }]);
  assert.deepEqual(bad, ["not json"]);
});

test("readEventStream reports a stream that ends without [DONE]", async () => {
  const chunks: unknown[] = [];
  const result = await readEventStream(bodyOf(['data: {"type":"start"}\n\ndata: {"type":"finish"}']), (c) => chunks.push(c));
  assert.equal(result.sawDone, false);
  assert.equal(chunks.length, 2);
});
