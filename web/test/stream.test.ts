import assert from "node:assert/strict";
import { test } from "node:test";
import { MessageReducer, isToolPart } from "../src/stream.ts";
import { cellStatus, cellTitle, runCodeInput, storedStatus, stripAnsi } from "../src/output-util.ts";
import type { TextPart, ToolPart, UIMessage } from "../src/types.ts";

function fresh(): UIMessage {
  return { id: "local", role: "assistant", parts: [] };
}

function run(chunks: Record<string, unknown>[], onData?: (p: unknown) => void) {
  const r = new MessageReducer(fresh(), onData);
  for (const c of chunks) r.apply(c);
  return r;
}

const toolPart = (m: UIMessage, i = 0) => m.parts.filter(isToolPart)[i] as ToolPart;

test("the spec's example turn", () => {
  const data: unknown[] = [];
  const r = run(
    [
      { type: "data-chat", data: { id: "c1", title: "Sine" }, transient: true },
      { type: "start", messageId: "m_42" },
      { type: "start-step" },
      { type: "text-start", id: "m_42-0" },
      { type: "text-delta", id: "m_42-0", delta: "Plotting " },
      { type: "text-delta", id: "m_42-0", delta: "it now." },
      { type: "text-end", id: "m_42-0" },
      { type: "tool-input-start", toolCallId: "toolu_01", toolName: "run_code" },
      { type: "tool-input-delta", toolCallId: "toolu_01", inputTextDelta: '{"title":"Sine","code":"import numpy' },
    ],
    (p) => data.push(p),
  );
  const m = r.message;
  assert.equal(m.id, "m_42");
  assert.deepEqual(data, [{ type: "data-chat", id: undefined, data: { id: "c1", title: "Sine" } }]);
  assert.deepEqual(m.parts[0], { type: "text", text: "Plotting it now.", state: "done" });
  let tool = toolPart(m);
  assert.equal(tool.type, "tool-run_code");
  assert.equal(tool.state, "input-streaming");
  assert.deepEqual(tool.input, { title: "Sine", code: "import numpy" });
  assert.equal(cellStatus(tool, m.status), "writing");

  r.apply({ type: "tool-input-delta", toolCallId: "toolu_01", inputTextDelta: ' as np"}' });
  assert.equal(runCodeInput(toolPart(m)).code, "import numpy as np");
  r.apply({
    type: "tool-input-available",
    toolCallId: "toolu_01",
    toolName: "run_code",
    input: { title: "Sine", description: "Plot sin(x)", code: "import numpy as np" },
  });
  tool = toolPart(m);
  assert.equal(tool.state, "input-available");
  assert.equal(cellStatus(tool, m.status), "running");

  r.apply({ type: "tool-output-available", toolCallId: "toolu_01", preliminary: true, output: { stdout: "step 1\n" } });
  assert.equal(tool.preliminary, true);
  assert.equal(cellStatus(tool, m.status), "running");
  r.apply({ type: "tool-output-available", toolCallId: "toolu_01", preliminary: true, output: { stdout: "step 1\nstep 2\n" } });
  assert.deepEqual(tool.output, { stdout: "step 1\nstep 2\n" }, "preliminary outputs replace each other");
  r.apply({ type: "tool-output-available", toolCallId: "toolu_01", output: { stdout: "step 1\nstep 2\n", results: [], error: null } });
  assert.equal(tool.preliminary, undefined);
  assert.equal(cellStatus(tool, m.status), "complete");

  r.apply({ type: "finish-step" });
  r.apply({ type: "start-step" });
  r.apply({ type: "text-start", id: "m_42-1" });
  r.apply({ type: "text-delta", id: "m_42-1", delta: "The plot shows…" });
  r.apply({ type: "finish-step" });
  assert.equal((m.parts[2] as TextPart).state, "done", "finish-step closes open text");
  r.apply({ type: "finish", finishReason: "stop" });
  assert.equal(m.status, "done");
  assert.equal(m.finishReason, "stop");
  assert.equal(m.parts.length, 3);
  assert.ok(r.finished);
});

test("a cell whose output carries an error is shown as error; tool-output-error too", () => {
  const r = run([
    { type: "tool-input-available", toolCallId: "a", toolName: "run_code", input: { code: "1/0" } },
    { type: "tool-output-available", toolCallId: "a", output: { error: { name: "ZeroDivisionError", value: "division by zero" } } },
    { type: "tool-input-available", toolCallId: "b", toolName: "run_code", input: { code: "x" } },
    { type: "tool-output-error", toolCallId: "b", errorText: "sandbox unavailable" },
  ]);
  assert.equal(cellStatus(toolPart(r.message, 0), "streaming"), "error");
  const b = toolPart(r.message, 1);
  assert.equal(b.state, "output-error");
  assert.equal(b.errorText, "sandbox unavailable");
});

test("tool-input-error ends the tool part in output-error", () => {
  const r = run([
    { type: "tool-input-start", toolCallId: "t", toolName: "run_code" },
    { type: "tool-input-error", toolCallId: "t", toolName: "run_code", input: "{bad", errorText: "bad JSON" },
  ]);
  const t = toolPart(r.message);
  assert.equal(t.state, "output-error");
  assert.equal(t.errorText, "bad JSON");
});

test("error chunks are kept and mark the message", () => {
  const r = run([{ type: "start" }, { type: "error", errorText: "rate limited" }, { type: "finish", finishReason: "error" }]);
  assert.equal(r.message.status, "error");
  assert.deepEqual(r.message.errors, ["rate limited"]);
});

test("reset-step discards the parts of the step", () => {
  const r = run([
    { type: "start-step" },
    { type: "text-start", id: "1" },
    { type: "text-delta", id: "1", delta: "kept" },
    { type: "text-end", id: "1" },
    { type: "finish-step" },
    { type: "start-step" },
    { type: "text-start", id: "2" },
    { type: "text-delta", id: "2", delta: "dropped" },
    { type: "tool-input-start", toolCallId: "x", toolName: "run_code" },
    { type: "reset-step" },
    { type: "text-delta", id: "2", delta: "fresh" },
  ]);
  assert.deepEqual(
    r.message.parts.map((p) => (p as TextPart).text),
    ["kept", "fresh"],
  );
});

test("data parts with the same type and id replace each other; transient ones are not stored", () => {
  const seen: unknown[] = [];
  const r = run(
    [
      { type: "data-status", id: "s", data: { text: "a" } },
      { type: "data-status", id: "s", data: { text: "b" } },
      { type: "data-status", data: { text: "no id" } },
      { type: "data-status", id: "t", data: 1, transient: true },
    ],
    (p) => seen.push(p),
  );
  assert.deepEqual(r.message.parts, [
    { type: "data-status", id: "s", data: { text: "b" } },
    { type: "data-status", data: { text: "no id" } },
  ]);
  assert.deepEqual(seen, [{ type: "data-status", id: "t", data: 1 }]);
});

test("abort, interrupted finish and a stream that just ends", () => {
  assert.equal(run([{ type: "start" }, { type: "abort" }]).message.status, "stopped");
  assert.equal(run([{ type: "finish", finishReason: "interrupted" }]).message.status, "stopped");
  const r = run([
    { type: "tool-input-available", toolCallId: "t", toolName: "run_code", input: { code: "sleep" } },
  ]);
  r.endWithoutFinish("interrupted");
  assert.equal(r.message.status, "interrupted");
  assert.equal(cellStatus(toolPart(r.message), r.message.status), "interrupted");
});

test("lenient: a delta without start opens the part; unknown chunks are ignored; rev grows", () => {
  const r = run([{ type: "text-delta", id: "z", delta: "hi" }, { type: "mystery", x: 1 }, { type: "file", url: "u", mediaType: "image/png" }]);
  assert.equal((r.message.parts[0] as TextPart).text, "hi");
  assert.equal(r.message.parts[1]!.type, "file");
  assert.ok((r.message.rev ?? 0) >= 3);
});

test("dynamic tools and metadata", () => {
  const r = run([
    { type: "tool-input-start", toolCallId: "d", toolName: "search", dynamic: true },
    { type: "message-metadata", messageMetadata: { a: 1 } },
    { type: "finish", messageMetadata: { b: 2 } },
  ]);
  const t = toolPart(r.message);
  assert.equal(t.type, "dynamic-tool");
  assert.equal(t.toolName, "search");
  assert.deepEqual(r.message.metadata, { a: 1, b: 2 });
});

test("helpers: ANSI stripping and titles", () => {
  assert.equal(stripAnsi("\u001b[0;31mValueError\u001b[0m: bad\u001b]8;;http://x\u0007link"), "ValueError: badlink");
  assert.equal(cellTitle({ code: "# comment\nimport x\n" }), "import x");
  assert.equal(cellTitle({ title: " Pi ", code: "x" }), "Pi");
  assert.equal(cellTitle({}), "Code cell");
});

test("a stored answer's status comes from its finish reason; one without it was cut off", () => {
  assert.equal(storedStatus({ finishReason: "stop" }), "done");
  assert.equal(storedStatus({ finishReason: "length" }), "done");
  assert.equal(storedStatus({ finishReason: "interrupted" }), "stopped");
  assert.equal(storedStatus({ finishReason: "error", error: "boom" }), "error");
  assert.equal(storedStatus({ usage: { inputTokens: 1, outputTokens: 1 } }), "interrupted");
  assert.equal(storedStatus(undefined), "interrupted");
});
