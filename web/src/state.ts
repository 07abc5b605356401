// Application state and change notification. Views subscribe to topics; emits are coalesced per frame.

import type { AppConfig, ChatSummary, FilePart, UIMessage } from "./types.ts";

export type Topic = "chats" | "messages" | "preview" | "composer" | "config" | "layout" | "files";

export interface CellRef {
  messageId: string;
  toolCallId: string;
}

export interface ChatView {
  id: string;
  messages: UIMessage[];
  /** Loaded from the server (or created here and not sent yet). */
  loaded: boolean;
  loading: boolean;
  loadError?: string;
  /** The running chat turn. */
  turn: AbortController | null;
  /** The running manual run (Code tab). */
  run: AbortController | null;
  selected: CellRef | null;
  /** Select each new cell of the running turn until the user picks one. */
  followLatest: boolean;
}

export type PreviewTab = "result" | "code" | "files";

export interface Attachment {
  id: string;
  filename: string;
  status: "uploading" | "ready" | "error";
  part?: FilePart;
  error?: string;
}

class Store {
  config: AppConfig = { providers: [] };
  chats: ChatSummary[] = [];
  chatsError: string | null = null;
  views = new Map<string, ChatView>();
  currentId = "";
  model = "";
  attachments: Attachment[] = [];
  previewTab: PreviewTab = "result";
  /** Phone layout: which pane is shown. */
  mobilePane: "chat" | "preview" = "chat";
  sidebarOpen = false;

  private listeners = new Map<Topic, Set<() => void>>();
  private pending = new Set<Topic>();
  private scheduled = false;

  on(topic: Topic, fn: () => void): void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(fn);
  }

  emit(...topics: Topic[]): void {
    for (const t of topics) this.pending.add(t);
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => this.flush());
  }

  /** Drops every listener (the app's views are being torn down, e.g. back to the login form). */
  resetListeners(): void {
    this.listeners.clear();
    this.pending.clear();
  }

  /** Runs pending listeners now (tests, and before measuring layout). */
  flush(): void {
    this.scheduled = false;
    const topics = [...this.pending];
    this.pending.clear();
    for (const t of topics) for (const fn of this.listeners.get(t) ?? []) fn();
  }

  view(id = this.currentId): ChatView {
    let v = this.views.get(id);
    if (!v) {
      v = { id, messages: [], loaded: false, loading: false, turn: null, run: null, selected: null, followLatest: true };
      this.views.set(id, v);
    }
    return v;
  }

  get current(): ChatView {
    return this.view(this.currentId);
  }

  get hasProviders(): boolean {
    return this.config.providers.some((p) => p.models.length > 0);
  }
}

export const store = new Store();

export function newId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; plain-http LAN access falls back to getRandomValues.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const storage = {
  get(key: string): string | null {
    try {
      return localStorage.getItem(`cellblock.${key}`);
    } catch {
      return null;
    }
  },
  set(key: string, value: string | null): void {
    try {
      if (value === null) localStorage.removeItem(`cellblock.${key}`);
      else localStorage.setItem(`cellblock.${key}`, value);
    } catch {
      // storage unavailable (private mode): settings just do not persist
    }
  },
};
