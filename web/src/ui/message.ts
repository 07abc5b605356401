// One chat message: user bubble, or assistant markdown with compact tool cards and notices.

import { selectCell } from "../actions.ts";
import { cellStatus, cellTitle, runCodeInput, type CellStatus } from "../output-util.ts";
import { renderMarkdown } from "../render/markdown.ts";
import type { ChatView } from "../state.ts";
import { isToolPart, toolName } from "../stream.ts";
import type { FilePart, Part, SourcePart, TextPart, ToolPart, UIMessage } from "../types.ts";
import { h } from "./dom.ts";
import { icon } from "./icons.ts";

const STATUS_TEXT: Record<CellStatus, string> = {
  writing: "Writing code…",
  running: "Running…",
  complete: "Done",
  error: "Error",
  interrupted: "Interrupted",
};

function fileChip(part: FilePart): HTMLElement {
  return h("span", { class: "file-chip", title: part.url }, icon("file", 14), part.filename || part.url.split("/").pop() || "file");
}

function toolCard(message: UIMessage, part: ToolPart, view: ChatView): HTMLElement {
  const input = runCodeInput(part);
  const status = cellStatus(part, message.status);
  const selected = view.selected?.messageId === message.id && view.selected?.toolCallId === part.toolCallId;
  const name = toolName(part);
  const title = name === "run_code" ? cellTitle(input) : name || "Tool";
  const statusIcon =
    status === "writing" || status === "running"
      ? h("span", { class: "spinner", "aria-hidden": "true" })
      : icon(status === "complete" ? "check" : status === "error" ? "alert" : "stop", 14);
  return h(
    "button",
    {
      type: "button",
      class: `tool-card status-${status}` + (selected ? " selected" : ""),
      "data-testid": "tool-card",
      "data-state": part.state,
      "data-status": status,
      "data-tool-call-id": part.toolCallId,
      "aria-pressed": String(selected),
      "aria-label": `${title} — ${STATUS_TEXT[status]}. Show in preview`,
      onclick: () => selectCell({ messageId: message.id, toolCallId: part.toolCallId }, true),
    },
    h("span", { class: "tool-icon" }, icon("code", 16)),
    h(
      "span",
      { class: "tool-text" },
      h("span", { class: "tool-title" }, title),
      input.description ? h("span", { class: "tool-desc" }, input.description) : null,
      // While the model writes the code, its last lines show here too (the preview has all of it).
      status === "writing" && input.code ? h("span", { class: "tool-code-tail", "aria-hidden": "true" }, input.code.replace(/\s+$/, "").split("\n").slice(-3).join("\n")) : null,
    ),
    h("span", { class: `tool-status ${status}` }, statusIcon, h("span", null, STATUS_TEXT[status])),
  );
}

function textPart(part: TextPart, streaming: boolean): HTMLElement {
  const el = h("div", { class: "markdown-body" + (streaming && part.state === "streaming" ? " streaming" : "") });
  renderMarkdown(el, part.text);
  return el;
}

function notice(kind: "error" | "stopped" | "interrupted", text: string): HTMLElement {
  return h(
    "div",
    { class: `notice ${kind}`, "data-testid": kind === "error" ? "error-notice" : "message-notice", "data-kind": kind, role: kind === "error" ? "alert" : undefined },
    icon(kind === "error" ? "alert" : "stop", 16),
    h("span", null, text),
  );
}

/** "12.3k" for 12345. */
export function compactCount(n: number): string {
  if (n < 1000) return String(n);
  const k = n / 1000;
  return `${k < 100 ? k.toFixed(1).replace(/\.0$/, "") : Math.round(k)}k`;
}

/** The tokens the provider reported for a finished answer, from its metadata; null when it reported none. */
function usageLine(m: UIMessage): HTMLElement | null {
  const usage = (m.metadata as { usage?: { inputTokens?: unknown; outputTokens?: unknown } } | undefined)?.usage;
  const input = typeof usage?.inputTokens === "number" ? usage.inputTokens : null;
  const output = typeof usage?.outputTokens === "number" ? usage.outputTokens : null;
  if (input === null || output === null) return null;
  return h(
    "div",
    { class: "msg-usage", "data-testid": "usage", title: `${input} input and ${output} output tokens over this answer's model calls` },
    `${compactCount(input)} tokens in · ${compactCount(output)} out`,
  );
}

function hasVisibleContent(parts: Part[]): boolean {
  return parts.some((p) => (p.type === "text" && (p as TextPart).text.trim() !== "") || isToolPart(p) || p.type === "file" || p.type === "reasoning");
}

export function renderMessage(m: UIMessage, view: ChatView): HTMLElement {
  if (m.role === "user") {
    const texts = m.parts.filter((p): p is TextPart => p.type === "text").map((p) => p.text);
    const files = m.parts.filter((p): p is FilePart => p.type === "file");
    return h(
      "div",
      { class: "msg user", "data-testid": "message", "data-role": "user", "data-message-id": m.id },
      h("div", { class: "bubble" }, files.length ? h("div", { class: "file-chips" }, files.map(fileChip)) : null, texts.length ? h("div", { class: "user-text" }, texts.join("\n\n")) : null),
    );
  }
  const streaming = m.status === "streaming";
  const body: (HTMLElement | null)[] = [];
  for (const part of m.parts) {
    if (part.type === "text") {
      if ((part as TextPart).text) body.push(textPart(part as TextPart, streaming));
    } else if (part.type === "reasoning") {
      const r = part as unknown as TextPart;
      if (r.text.trim()) body.push(h("details", { class: "reasoning" }, h("summary", null, streaming && r.state === "streaming" ? "Thinking…" : "Thoughts"), h("div", { class: "reasoning-text" }, r.text)));
    } else if (isToolPart(part)) {
      body.push(toolCard(m, part, view));
    } else if (part.type === "file") {
      body.push(h("div", { class: "file-chips" }, fileChip(part as FilePart)));
    } else if (part.type === "source-url") {
      const s = part as SourcePart;
      if (s.url && /^https?:/i.test(s.url)) body.push(h("a", { class: "source-link", href: s.url, target: "_blank", rel: "noopener noreferrer" }, s.title || s.url));
    }
  }
  if (streaming && !hasVisibleContent(m.parts)) body.push(h("div", { class: "typing", "aria-label": "Answering" }, h("span"), h("span"), h("span")));
  for (const error of m.errors ?? []) body.push(notice("error", error));
  if (m.status === "stopped") body.push(notice("stopped", "Stopped."));
  if (m.status === "interrupted") body.push(notice("interrupted", "Connection lost — this answer is incomplete."));
  if (!streaming) body.push(usageLine(m));
  return h("div", { class: "msg assistant", "data-testid": "message", "data-role": "assistant", "data-status": m.status ?? "done", "data-message-id": m.id, "aria-busy": streaming ? "true" : undefined }, body);
}
