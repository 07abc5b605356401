// Pure helpers about `run_code` cells, shared by the renderers (and unit-tested).

import type { MessageStatus, RunCodeInput, RunCodeOutput, ToolPart } from "./types.ts";

// CSI sequences (colours, cursor moves), OSC sequences (titles, links) and lone escapes.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

export function joinText(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.filter((v) => typeof v === "string").join("");
  return "";
}

export function asObject(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function runCodeInput(part: ToolPart): RunCodeInput {
  const input = asObject(part.input);
  const pick = (k: string) => (typeof input[k] === "string" ? (input[k] as string) : undefined);
  return { language: pick("language"), title: pick("title"), description: pick("description"), code: pick("code") };
}

export function runCodeOutput(part: ToolPart): RunCodeOutput | undefined {
  if (part.output === undefined || part.output === null) return undefined;
  return asObject(part.output) as RunCodeOutput;
}

/**
 * How a stored assistant message ended, from the metadata the server keeps: its finish reason. A message without
 * one was cut off (the server stopped while writing it); a turn still running replaces it when the page rejoins.
 */
export function storedStatus(metadata: unknown): MessageStatus {
  const reason = asObject(metadata).finishReason;
  if (typeof reason !== "string" || !reason) return "interrupted";
  return reason === "interrupted" ? "stopped" : reason === "error" ? "error" : "done";
}

export type CellStatus = "writing" | "running" | "complete" | "error" | "interrupted";

/** What a tool card shows, from the part state and whether its message still streams. */
export function cellStatus(part: ToolPart, messageStatus: MessageStatus | undefined): CellStatus {
  const live = messageStatus === "streaming";
  switch (part.state) {
    case "input-streaming":
      return live ? "writing" : "interrupted";
    case "input-available":
    case "approval-requested":
      return live ? "running" : "interrupted";
    case "output-available": {
      if (part.preliminary) return live ? "running" : "interrupted";
      const error = runCodeOutput(part)?.error;
      if (error && error.name === "KeyboardInterrupt" && messageStatus === "stopped") return "interrupted";
      return error ? "error" : "complete";
    }
    case "output-error":
    case "output-denied":
      return "error";
    default:
      return live ? "running" : "complete";
  }
}

export function cellTitle(input: RunCodeInput): string {
  if (input.title && input.title.trim()) return input.title.trim();
  const first = (input.code ?? "").split("\n").find((l) => l.trim() !== "" && !l.trim().startsWith("#"));
  if (first) return first.trim().length > 60 ? first.trim().slice(0, 57) + "…" : first.trim();
  return "Code cell";
}

export function executionCount(output: RunCodeOutput | undefined): number | undefined {
  const n = output?.executionCount ?? output?.execution_count;
  return typeof n === "number" ? n : undefined;
}

export function formatBytes(size: number | undefined): string {
  if (size === undefined || !Number.isFinite(size)) return "";
  if (size < 1024) return `${size} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = size / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
