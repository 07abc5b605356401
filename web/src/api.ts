// The HTTP contract with `cellblock serve` (docs/web-api.md). Errors come back as {code, message}.

import type { AppConfig, ChatDetail, ChatSummary, FileEntry } from "./types.ts";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

let unauthorizedHandler: () => void = () => {};

/** Called whenever a request answers 401 (the session cookie expired or was cleared). */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

/** The error carried by a non-2xx response: its `{code, message}` body, else the status text. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let message = "";
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text) as { message?: unknown; error?: unknown };
      message = typeof body.message === "string" ? body.message : typeof body.error === "string" ? body.error : "";
    } catch {
      message = text.trim().slice(0, 300);
    }
  } catch {
    // body unreadable
  }
  if (!message) message = res.statusText || "Request failed";
  return new ApiError(res.status, `${message} (HTTP ${res.status})`);
}

async function request(method: string, path: string, init: RequestInit = {}, quiet401 = false): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { method, credentials: "same-origin", ...init });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, `Cannot reach the server: ${(e as Error).message}`);
  }
  if (res.status === 401 && !quiet401) unauthorizedHandler();
  if (!res.ok) throw await errorFromResponse(res);
  return res;
}

async function json<T>(method: string, path: string, body?: unknown, quiet401 = false): Promise<T> {
  const init: RequestInit = body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } };
  const res = await request(method, path, init, quiet401);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const api = {
  /** null when not logged in. */
  async session(): Promise<{ user: string } | null> {
    try {
      return await json<{ user: string }>("GET", "/api/session", undefined, true);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null;
      throw e;
    }
  },
  login: (token: string) => json<void>("POST", "/api/login", { token }, true),
  logout: () => json<void>("POST", "/api/logout"),
  config: () => json<AppConfig>("GET", "/api/config"),
  chats: async () => (await json<{ chats: ChatSummary[] }>("GET", "/api/chats")).chats ?? [],
  chat: (id: string) => json<ChatDetail>("GET", `/api/chats/${encodeURIComponent(id)}`),
  deleteChat: (id: string) => json<void>("DELETE", `/api/chats/${encodeURIComponent(id)}`),
  files: (path: string) => json<{ path: string; entries: FileEntry[] }>("GET", `/api/files?path=${encodeURIComponent(path)}`),
  async upload(path: string, file: Blob): Promise<{ name: string; path: string; size: number }> {
    const res = await request("POST", `/api/files?path=${encodeURIComponent(path)}`, {
      body: file,
      headers: { "content-type": file.type || "application/octet-stream" },
    });
    return (await res.json()) as { name: string; path: string; size: number };
  },
  /** Asks the server to stop the conversation's running answer (404 when none runs). */
  stopTurn: (id: string) => json<void>("POST", `/api/chat/${encodeURIComponent(id)}/stop`),
  /** The conversation's running answer, replayed from its start; null when none runs (204). */
  async turnStream(id: string, signal: AbortSignal): Promise<Response | null> {
    const res = await request("GET", `/api/chat/${encodeURIComponent(id)}/stream`, { headers: { accept: "text/event-stream" }, signal });
    return res.status === 204 ? null : res;
  },
  downloadUrl: (path: string) => `/api/files/download?path=${encodeURIComponent(path)}`,
};

/** POSTs a JSON body and returns the streaming response (throws ApiError on HTTP errors). */
export function postStream(path: string, body: unknown, signal: AbortSignal): Promise<Response> {
  return request("POST", path, {
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    signal,
  });
}
