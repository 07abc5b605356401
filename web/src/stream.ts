// The AI SDK UI message stream (protocol v1) reducer: folds chunks into one assistant UIMessage.
// Chunk semantics follow the spec's §5.2 table; the reducer mutates the message in place and bumps `rev`.

import { parsePartialJson } from "./partial-json.ts";
import type { DataPart, Part, ReasoningPart, TextPart, ToolPart, UIMessage } from "./types.ts";

export type Chunk = Record<string, unknown> & { type?: unknown };

/** Transient `data-*` parts are not stored in the message but handed to this callback. */
export type DataListener = (part: { type: string; id?: string; data: unknown }) => void;

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

export class MessageReducer {
  readonly message: UIMessage;
  private texts = new Map<string, TextPart | ReasoningPart>();
  private reasonings = new Map<string, TextPart | ReasoningPart>();
  private tools = new Map<string, ToolPart>();
  private toolInputText = new Map<string, string>();
  private stepStart = 0;
  /** Chunks seen, `finish` received. */
  chunks = 0;
  finished = false;

  constructor(
    message: UIMessage,
    private readonly onData: DataListener = () => {},
  ) {
    this.message = message;
    message.status = "streaming";
    message.errors ??= [];
    message.rev = (message.rev ?? 0) + 1;
    // Continuing an existing message (e.g. a stored one): index its tool parts.
    for (const part of message.parts) if (isToolPart(part)) this.tools.set(part.toolCallId, part);
  }

  apply(chunk: Chunk): void {
    this.chunks++;
    const m = this.message;
    const type = str(chunk.type) ?? "";
    switch (type) {
      case "start": {
        const id = str(chunk.messageId);
        if (id) m.id = id;
        if (chunk.messageMetadata !== undefined) m.metadata = mergeMeta(m.metadata, chunk.messageMetadata);
        break;
      }
      case "start-step":
        this.stepStart = m.parts.length;
        break;
      case "finish-step":
        this.closeOpenText();
        break;
      case "reset-step": {
        const removed = m.parts.splice(this.stepStart);
        for (const part of removed) if (isToolPart(part)) this.tools.delete(part.toolCallId);
        this.texts.clear();
        this.reasonings.clear();
        break;
      }
      case "text-start":
      case "reasoning-start": {
        const id = str(chunk.id) ?? "";
        const part = { type: type === "text-start" ? "text" : "reasoning", text: "", state: "streaming" } as TextPart | ReasoningPart;
        m.parts.push(part);
        (type === "text-start" ? this.texts : this.reasonings).set(id, part);
        break;
      }
      case "text-delta":
      case "reasoning-delta": {
        const isText = type === "text-delta";
        const id = str(chunk.id) ?? "";
        const map = isText ? this.texts : this.reasonings;
        let part = map.get(id);
        if (!part) {
          // The AI SDK client rejects a delta without a start; be lenient and open the part.
          part = { type: isText ? "text" : "reasoning", text: "", state: "streaming" } as TextPart | ReasoningPart;
          m.parts.push(part);
          map.set(id, part);
        }
        part.text += str(chunk.delta) ?? "";
        break;
      }
      case "text-end":
      case "reasoning-end": {
        const id = str(chunk.id) ?? "";
        const map = type === "text-end" ? this.texts : this.reasonings;
        const part = map.get(id);
        if (part) part.state = "done";
        map.delete(id);
        break;
      }
      case "tool-input-start": {
        const part = this.tool(chunk);
        part.state = "input-streaming";
        const title = str(chunk.title);
        if (title) part.title = title;
        this.toolInputText.set(part.toolCallId, "");
        break;
      }
      case "tool-input-delta": {
        const part = this.tool(chunk);
        const text = (this.toolInputText.get(part.toolCallId) ?? "") + (str(chunk.inputTextDelta) ?? "");
        this.toolInputText.set(part.toolCallId, text);
        const parsed = parsePartialJson(text);
        if (parsed !== undefined) part.input = parsed;
        break;
      }
      case "tool-input-available": {
        const part = this.tool(chunk);
        part.state = "input-available";
        part.input = chunk.input;
        this.toolInputText.delete(part.toolCallId);
        break;
      }
      case "tool-input-error": {
        const part = this.tool(chunk);
        part.state = "output-error";
        part.input = chunk.input;
        part.errorText = str(chunk.errorText) ?? "Invalid tool input";
        break;
      }
      case "tool-output-available": {
        const part = this.tool(chunk);
        part.state = "output-available";
        part.output = chunk.output;
        if (chunk.preliminary === true) part.preliminary = true;
        else delete part.preliminary;
        break;
      }
      case "tool-output-error": {
        const part = this.tool(chunk);
        part.state = "output-error";
        part.errorText = str(chunk.errorText) ?? "Tool failed";
        delete part.preliminary;
        break;
      }
      case "tool-output-denied": {
        const part = this.tool(chunk);
        part.state = "output-denied";
        break;
      }
      case "tool-approval-request": {
        const part = this.tool(chunk);
        part.state = "approval-requested";
        break;
      }
      case "file":
        m.parts.push({ type: "file", url: str(chunk.url) ?? "", mediaType: str(chunk.mediaType) ?? "" });
        break;
      case "source-url":
      case "source-document": {
        const { type: _t, ...rest } = chunk;
        m.parts.push({ type, ...rest } as Part);
        break;
      }
      case "message-metadata":
        m.metadata = mergeMeta(m.metadata, chunk.messageMetadata);
        break;
      case "error":
        m.errors!.push(str(chunk.errorText) ?? "Unknown error");
        m.status = "error";
        break;
      case "abort":
        this.closeOpenText();
        if (m.status === "streaming") m.status = "stopped";
        this.finished = true;
        break;
      case "finish": {
        this.closeOpenText();
        const reason = str(chunk.finishReason);
        if (reason) m.finishReason = reason;
        if (chunk.messageMetadata !== undefined) m.metadata = mergeMeta(m.metadata, chunk.messageMetadata);
        if (m.status === "streaming") {
          m.status = reason === "interrupted" ? "stopped" : reason === "error" ? "error" : "done";
        }
        this.finished = true;
        break;
      }
      default:
        if (type.startsWith("data-")) this.data(type, chunk);
        // Unknown chunk types are ignored, as the AI SDK does for forward compatibility.
        break;
    }
    m.rev = (m.rev ?? 0) + 1;
  }

  /** The stream ended without `finish`/`abort` (network drop, server crash). */
  endWithoutFinish(status: "stopped" | "interrupted" | "done"): void {
    const m = this.message;
    this.closeOpenText();
    if (m.status === "streaming" || (status === "stopped" && m.status !== "error")) m.status = status;
    m.rev = (m.rev ?? 0) + 1;
  }

  /** Marks the message as failed with `text` (HTTP error, network error before any chunk). */
  fail(text: string): void {
    const m = this.message;
    this.closeOpenText();
    m.errors!.push(text);
    m.status = "error";
    m.rev = (m.rev ?? 0) + 1;
  }

  private data(type: string, chunk: Chunk): void {
    const id = str(chunk.id);
    if (chunk.transient === true) {
      this.onData({ type, id, data: chunk.data });
      return;
    }
    const parts = this.message.parts;
    if (id !== undefined) {
      const existing = parts.find((p) => p.type === type && (p as DataPart).id === id) as DataPart | undefined;
      if (existing) {
        existing.data = chunk.data;
        return;
      }
    }
    parts.push(id === undefined ? { type, data: chunk.data } : { type, id, data: chunk.data });
  }

  private tool(chunk: Chunk): ToolPart {
    const id = str(chunk.toolCallId) ?? "";
    let part = this.tools.get(id);
    const name = str(chunk.toolName);
    if (!part) {
      const dynamic = chunk.dynamic === true;
      part = {
        type: dynamic ? "dynamic-tool" : `tool-${name ?? "unknown"}`,
        toolCallId: id,
        state: "input-streaming",
        input: undefined,
      };
      if (dynamic && name) part.toolName = name;
      this.message.parts.push(part);
      this.tools.set(id, part);
    } else if (name && part.type === "tool-unknown") {
      part.type = `tool-${name}`;
    }
    return part;
  }

  private closeOpenText(): void {
    for (const part of this.texts.values()) part.state = "done";
    for (const part of this.reasonings.values()) part.state = "done";
    this.texts.clear();
    this.reasonings.clear();
  }
}

function mergeMeta(a: unknown, b: unknown): unknown {
  if (a && typeof a === "object" && b && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    return { ...(a as object), ...(b as object) };
  }
  return b;
}

export function isToolPart(part: Part): part is ToolPart {
  return (part.type.startsWith("tool-") || part.type === "dynamic-tool") && typeof (part as ToolPart).toolCallId === "string";
}

export function toolName(part: ToolPart): string {
  return part.type === "dynamic-tool" ? (part.toolName ?? "") : part.type.slice("tool-".length);
}
