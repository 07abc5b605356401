// Shapes shared by the API client, the stream reducer and the renderers (AI SDK UIMessage, protocol v1).

export type Role = "system" | "user" | "assistant";

export interface TextPart {
  type: "text";
  text: string;
  state?: "streaming" | "done";
}

export interface ReasoningPart {
  type: "reasoning";
  text: string;
  state?: "streaming" | "done";
}

export interface FilePart {
  type: "file";
  mediaType: string;
  filename?: string;
  url: string;
}

export type ToolState =
  | "input-streaming"
  | "input-available"
  | "output-available"
  | "output-error"
  | "output-denied"
  | "approval-requested";

/** `type` is `tool-<name>`, or `dynamic-tool` with `toolName`. */
export interface ToolPart {
  type: string;
  toolCallId: string;
  toolName?: string;
  state: ToolState;
  input?: unknown;
  output?: unknown;
  errorText?: string;
  preliminary?: boolean;
  title?: string;
}

export interface DataPart {
  type: string; // data-<name>
  id?: string;
  data: unknown;
}

export interface SourcePart {
  type: "source-url" | "source-document";
  sourceId?: string;
  url?: string;
  title?: string;
  mediaType?: string;
}

export interface OtherPart {
  type: string;
  [key: string]: unknown;
}

export type Part = TextPart | ReasoningPart | FilePart | ToolPart | DataPart | SourcePart | OtherPart;

/** How a message ended on this client. `streaming` while chunks still arrive. */
export type MessageStatus = "streaming" | "done" | "stopped" | "interrupted" | "error";

export interface UIMessage {
  id: string;
  role: Role;
  parts: Part[];
  metadata?: unknown;
  /** Client-only fields (never sent to the server). */
  status?: MessageStatus;
  errors?: string[];
  finishReason?: string;
  /** A run started from the Code tab (POST /api/run) rather than a chat turn. */
  origin?: "run";
  /** Bumped on every change; renderers compare it to skip unchanged messages. */
  rev?: number;
}

export interface ChatSummary {
  id: string;
  title: string;
  model?: string;
  createdAt?: string;
  updatedAt?: string;
}

export interface ChatDetail extends ChatSummary {
  messages: UIMessage[];
  /** A turn is running now: its answer is rejoined (GET /api/chat/{id}/stream). */
  answering?: boolean;
}

export interface Provider {
  id: string;
  name: string;
  models: string[];
}

export interface AppConfig {
  providers: Provider[];
  defaultModel?: string;
  user?: string;
}

export interface FileEntry {
  name: string;
  path: string;
  type: "file" | "dir";
  size?: number;
  modifiedTime?: string;
}

/** `run_code` tool input. */
export interface RunCodeInput {
  language?: string;
  title?: string;
  description?: string;
  code?: string;
}

/** One E2B result object. */
export interface CellResult {
  text?: string;
  html?: string;
  markdown?: string;
  svg?: string;
  png?: string;
  jpeg?: string;
  pdf?: string;
  latex?: string;
  json?: unknown;
  javascript?: string;
  data?: unknown;
  chart?: unknown;
  extra?: unknown;
  isMainResult?: boolean;
  [key: string]: unknown;
}

export interface CellError {
  name: string;
  value: string;
  traceback?: string | string[];
}

/** `run_code` tool output. */
export interface RunCodeOutput {
  stdout?: string | string[];
  stderr?: string | string[];
  results?: CellResult[];
  error?: CellError | null;
  executionCount?: number | null;
  execution_count?: number | null;
}
