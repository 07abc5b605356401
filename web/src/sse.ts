// Server-Sent Events framing for the UI message stream: events are separated by blank lines, `data:`
// lines carry the payload, lines starting with ':' are comments, `data: [DONE]` ends the stream.

export class SseSplitter {
  private buffer = "";
  private data: string[] = [];

  /** Feeds decoded text; returns the data payloads of the events it completed. */
  push(text: string): string[] {
    this.buffer += text;
    const out: string[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone '\r' at the end may be the first half of "\r\n": wait for more text.
      if (m[0] === "\r" && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line, out);
    }
    return out;
  }

  /** Ends the input: an event not followed by a blank line still counts. */
  end(): string[] {
    const out: string[] = [];
    if (this.buffer !== "") this.line(this.buffer.replace(/\r$/, ""), out);
    this.buffer = "";
    this.line("", out);
    return out;
  }

  private line(line: string, out: string[]): void {
    if (line === "") {
      if (this.data.length > 0) out.push(this.data.join("\n"));
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return; // comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    // `event`, `id` and `retry` carry nothing for this protocol.
  }
}

export interface ReadResult {
  /** `data: [DONE]` was received. */
  sawDone: boolean;
}

/**
 * Reads a UI message stream body, calling `onChunk` with every parsed JSON chunk until `[DONE]` or the end
 * of the body. Payloads that are not JSON are reported through `onBadChunk` and skipped.
 */
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  onChunk: (chunk: Record<string, unknown>) => void,
  onBadChunk: (payload: string) => void = () => {},
): Promise<ReadResult> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const splitter = new SseSplitter();
  const handle = (payloads: string[]): boolean => {
    for (const payload of payloads) {
      if (payload.trim() === "[DONE]") return true;
      let chunk: unknown;
      try {
        chunk = JSON.parse(payload);
      } catch {
        onBadChunk(payload);
        continue;
      }
      if (chunk && typeof chunk === "object" && !Array.isArray(chunk)) onChunk(chunk as Record<string, unknown>);
      else onBadChunk(payload);
    }
    return false;
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (handle(splitter.push(decoder.decode(value, { stream: true })))) {
        await reader.cancel().catch(() => {});
        return { sawDone: true };
      }
    }
    const tail = decoder.decode();
    if (handle([...splitter.push(tail), ...splitter.end()])) return { sawDone: true };
    return { sawDone: false };
  } finally {
    try {
      reader.releaseLock();
    } catch {
      // already released
    }
  }
}
