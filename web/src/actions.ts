// What the user can do: open, create and delete chats, send a message, stop, run code, upload files.
// Views call these; these change the store and emit topics.

import { api, ApiError, postStream } from "./api.ts";
import { asObject, storedStatus } from "./output-util.ts";
import { isToolPart } from "./stream.ts";
import { newId, storage, store, type CellRef, type ChatView } from "./state.ts";
import { streamInto } from "./turn.ts";
import type { ChatDetail, FilePart, Part, ToolPart, UIMessage } from "./types.ts";
import { toast } from "./ui/toast.ts";

export const HOME = "/home/user";
const kStopGraceMs = 10_000;

export interface Cell {
  ref: CellRef;
  part: ToolPart;
  message: UIMessage;
}

export function cellsOf(view: ChatView): Cell[] {
  const out: Cell[] = [];
  for (const message of view.messages) {
    for (const part of message.parts) {
      if (isToolPart(part)) out.push({ ref: { messageId: message.id, toolCallId: part.toolCallId }, part, message });
    }
  }
  return out;
}

export function findCell(view: ChatView, ref: CellRef | null): Cell | null {
  if (!ref) return null;
  return cellsOf(view).find((c) => c.ref.messageId === ref.messageId && c.ref.toolCallId === ref.toolCallId) ?? null;
}

export function selectCell(ref: CellRef | null, byUser = false): void {
  const view = store.current;
  view.selected = ref;
  if (byUser) {
    view.followLatest = false;
    if (store.previewTab === "files") store.previewTab = "result";
    store.mobilePane = "preview";
    store.emit("layout");
  }
  store.emit("preview", "messages");
}

function selectLastCell(view: ChatView, message?: UIMessage): void {
  const cells = cellsOf(view).filter((c) => !message || c.message === message);
  const last = cells[cells.length - 1];
  if (!last) return;
  const sel = view.selected;
  if (!sel || sel.messageId !== last.ref.messageId || sel.toolCallId !== last.ref.toolCallId) {
    view.selected = last.ref;
    store.emit("preview");
  }
}

// --- chats ---------------------------------------------------------------------------------------

export async function loadChats(): Promise<void> {
  try {
    store.chats = await api.chats();
    store.chatsError = null;
  } catch (e) {
    store.chatsError = (e as Error).message;
  }
  store.emit("chats");
}

function setHash(id: string): void {
  const hash = `#/chat/${id}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

export function chatIdFromHash(): string | null {
  const m = /^#\/chat\/([A-Za-z0-9_-]{1,100})$/.exec(location.hash);
  return m ? m[1]! : null;
}

export function newChat(): void {
  const id = newId();
  const view = store.view(id);
  view.loaded = true;
  store.currentId = id;
  store.sidebarOpen = false;
  store.mobilePane = "chat";
  setHash(id);
  store.emit("chats", "messages", "preview", "layout", "composer");
}

export async function openChat(id: string): Promise<void> {
  store.currentId = id;
  store.sidebarOpen = false;
  store.mobilePane = "chat";
  setHash(id);
  const view = store.view(id);
  store.emit("chats", "messages", "preview", "layout", "composer");
  if (view.loaded || view.loading) return;
  view.loading = true;
  view.loadError = undefined;
  let answering = false;
  try {
    const chat = await api.chat(id);
    if (!view.turn && !view.run) showStored(view, chat);
    answering = chat.answering === true;
    view.loaded = true;
    if (!store.chats.some((c) => c.id === id)) store.chats.unshift({ id, title: chat.title, updatedAt: chat.updatedAt });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) view.loaded = true; // a new chat that has no messages yet
    else view.loadError = (e as Error).message;
  } finally {
    view.loading = false;
  }
  store.emit("chats", "messages", "preview");
  if (answering && !view.turn) void rejoin(view);
}

/** Shows a chat as the server stored it, the latest cell selected. */
function showStored(view: ChatView, chat: ChatDetail): void {
  view.messages = (chat.messages ?? []).map(restored);
  // The answer being written is not cut off: the rejoined stream replaces it in a moment.
  const last = view.messages[view.messages.length - 1];
  if (chat.answering && last?.role === "assistant" && last.status === "interrupted") last.status = "streaming";
  const cells = cellsOf(view);
  view.selected = cells.length ? cells[cells.length - 1]!.ref : null;
}

/** What rejoining found: no running answer, an error reaching the server, or the answer (ended or broken again). */
type Rejoined = "none" | "unreachable" | "ended" | "broken";

/** Picks up an answer that is still running on the server (the page was reloaded or reopened meanwhile). */
async function rejoin(view: ChatView): Promise<Rejoined> {
  const controller = new AbortController();
  view.turn = controller;
  let res: Response | null = null;
  let unreachable = false;
  try {
    res = await api.turnStream(view.id, controller.signal);
  } catch {
    unreachable = true; // the stored history stands
  }
  if (!res) {
    if (view.turn === controller) view.turn = null;
    store.emit("composer");
    return unreachable ? "unreachable" : "none";
  }
  const answer: UIMessage = { id: newId(), role: "assistant", parts: [], status: "streaming", rev: 1 };
  view.messages.push(answer);
  view.followLatest = true;
  store.emit("messages", "composer");
  const replay = res;
  await streamInto({
    open: async () => replay,
    message: answer,
    signal: controller.signal,
    onUpdate: () => {
      // The replay rebuilds the answer from its start: it replaces the copy shown so far.
      const stored = view.messages.findIndex((m) => m !== answer && m.id === answer.id);
      if (stored >= 0) view.messages.splice(stored, 1);
      if (view.followLatest) selectLastCell(view, answer);
      store.emit("messages", "preview");
    },
  });
  view.turn = null;
  store.emit("messages", "composer", "preview", "chats");
  void loadChats();
  return answer.status === "interrupted" ? "broken" : "ended";
}

const kRecoverDelaysMs = [500, 1000, 2000, 4000, 8000, 15000];

/** After a stream broke (not a stop), rejoins the answer the server goes on writing, retrying while it is out of reach. */
async function recover(view: ChatView): Promise<void> {
  for (const delay of kRecoverDelaysMs) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    if (view.turn || !store.views.has(view.id)) return; // a new turn, a rejoin elsewhere, or a deleted chat
    const outcome = await rejoin(view);
    if (outcome === "ended") return;
    if (outcome === "none") {
      // It ended while out of reach: show it as the server stored it.
      await reloadMessages(view);
      return;
    }
  }
}

async function reloadMessages(view: ChatView): Promise<void> {
  try {
    const chat = await api.chat(view.id);
    if (view.turn || view.run) return;
    showStored(view, chat);
    store.emit("messages", "preview");
  } catch {
    // the page keeps what it showed
  }
}

/** A stored message as it ended: the server keeps the finish reason and any error in its metadata. */
function restored(m: UIMessage): UIMessage {
  if (m.role !== "assistant") return { ...m, status: "done", rev: 1 };
  const meta = asObject(m.metadata);
  const reason = typeof meta.finishReason === "string" ? meta.finishReason : undefined;
  const errors = typeof meta.error === "string" && meta.error ? [meta.error] : undefined;
  return { ...m, status: storedStatus(m.metadata), finishReason: reason, errors, rev: 1 };
}

export function retryLoad(): void {
  const view = store.current;
  view.loadError = undefined;
  view.loaded = false;
  void openChat(view.id);
}

export async function deleteChat(id: string): Promise<void> {
  try {
    await api.deleteChat(id);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) {
      toast(`Could not delete the chat: ${(e as Error).message}`, "error");
      return;
    }
  }
  const view = store.views.get(id);
  view?.turn?.abort();
  view?.run?.abort();
  store.views.delete(id);
  store.chats = store.chats.filter((c) => c.id !== id);
  if (store.currentId === id) newChat();
  store.emit("chats");
}

function upsertTitle(id: string, title: string): void {
  const chat = store.chats.find((c) => c.id === id);
  if (chat) chat.title = title;
  else store.chats.unshift({ id, title, updatedAt: new Date().toISOString() });
  store.emit("chats");
}

// --- a chat turn ---------------------------------------------------------------------------------

export function setModel(model: string): void {
  store.model = model;
  storage.set("model", model);
  store.emit("composer");
}

export function canSend(): boolean {
  const view = store.current;
  return store.hasProviders && !view.turn && !view.loading && !store.attachments.some((a) => a.status === "uploading");
}

function wire(m: UIMessage): { id: string; role: string; parts: Part[] } {
  return { id: m.id, role: m.role, parts: m.parts };
}

export async function send(text: string): Promise<boolean> {
  const view = store.current;
  if (!canSend()) return false;
  const parts: Part[] = [];
  if (text.trim()) parts.push({ type: "text", text: text.trim() });
  for (const a of store.attachments) if (a.status === "ready" && a.part) parts.push(a.part);
  if (parts.length === 0) return false;

  const user: UIMessage = { id: newId(), role: "user", parts, status: "done", rev: 1 };
  const assistant: UIMessage = { id: newId(), role: "assistant", parts: [], status: "streaming", rev: 1 };
  view.messages.push(user, assistant);
  view.loaded = true;
  store.attachments = [];
  const controller = new AbortController();
  view.turn = controller;
  view.followLatest = true;
  if (!store.chats.some((c) => c.id === view.id)) upsertTitle(view.id, text.trim().split("\n")[0]!.slice(0, 80) || "New chat");
  store.emit("messages", "composer", "chats");

  const body = { id: view.id, messages: [wire(user)], ...(store.model ? { model: store.model } : {}) };
  await streamInto({
    open: (signal) => postStream("/api/chat", body, signal),
    message: assistant,
    signal: controller.signal,
    onUpdate: () => {
      if (view.followLatest) selectLastCell(view, assistant);
      store.emit("messages", "preview");
    },
    onData: (part) => {
      if (part.type === "data-chat") {
        const data = part.data as { id?: unknown; title?: unknown };
        if (typeof data?.title === "string") upsertTitle(typeof data.id === "string" ? data.id : view.id, data.title);
      }
    },
  });
  view.turn = null;
  store.emit("messages", "composer", "preview", "chats");
  void loadChats();
  if (assistant.status === "interrupted") void recover(view);
  return true;
}

/** Stops the running answer on the server; its stream then ends with what the interrupted cell printed. */
export function stop(): void {
  const view = store.current;
  const turn = view.turn;
  if (!turn) return;
  api.stopTurn(view.id).then(
    // Should the end not arrive, let go of the stream (the server has been told).
    () => setTimeout(() => view.turn === turn && turn.abort(), kStopGraceMs),
    (e: Error) => {
      if (!(e instanceof ApiError && e.status === 404)) toast(`Could not stop the answer: ${e.message}`, "error");
      turn.abort();
    },
  );
}

// --- running code by hand ------------------------------------------------------------------------

export async function runCode(code: string, language?: string): Promise<void> {
  const view = store.current;
  if (view.run || !code.trim()) return;
  const message: UIMessage = { id: newId(), role: "assistant", parts: [], status: "streaming", rev: 1, origin: "run" };
  view.messages.push(message);
  view.loaded = true;
  const controller = new AbortController();
  view.run = controller;
  store.previewTab = "result";
  store.emit("messages", "preview", "composer");
  const body = { chatId: view.id, code, ...(language && language !== "python" ? { language } : {}) };
  await streamInto({
    open: (signal) => postStream("/api/run", body, signal),
    message,
    signal: controller.signal,
    onUpdate: () => {
      selectLastCell(view, message);
      store.emit("messages", "preview");
    },
  });
  view.run = null;
  if (message.parts.length === 0 && (message.errors?.length ?? 0) === 0 && message.status !== "stopped") {
    message.errors = ["The run produced no result."];
    message.status = "error";
  }
  store.emit("messages", "preview", "composer", "files");
  void loadChats();
}

export function stopRun(): void {
  store.current.run?.abort();
}

// --- files ---------------------------------------------------------------------------------------

const MIME: Record<string, string> = {
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  txt: "text/plain",
  md: "text/markdown",
  json: "application/json",
  py: "text/x-python",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  xls: "application/vnd.ms-excel",
  parquet: "application/vnd.apache.parquet",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  svg: "image/svg+xml",
  pdf: "application/pdf",
  zip: "application/zip",
};

export function guessMime(name: string, given?: string): string {
  if (given) return given;
  const ext = name.split(".").pop()?.toLowerCase() ?? "";
  return MIME[ext] ?? "application/octet-stream";
}

export async function uploadFiles(files: Iterable<File>, dir = HOME): Promise<void> {
  const jobs: Promise<void>[] = [];
  for (const file of files) {
    const name = file.name.replace(/[/\\]/g, "_");
    const path = `${dir.replace(/\/+$/, "")}/${name}`;
    const attachment = { id: newId(), filename: name, status: "uploading" as "uploading" | "ready" | "error", part: undefined as FilePart | undefined, error: undefined as string | undefined };
    store.attachments.push(attachment);
    store.emit("composer");
    jobs.push(
      api.upload(path, file).then(
        (res) => {
          attachment.status = "ready";
          attachment.part = { type: "file", mediaType: guessMime(name, file.type), filename: name, url: `sandbox://${res?.path || path}` };
          store.emit("composer", "files");
        },
        (e: Error) => {
          attachment.status = "error";
          attachment.error = e.message;
          toast(`Upload of ${name} failed: ${e.message}`, "error");
          store.emit("composer");
        },
      ),
    );
  }
  await Promise.all(jobs);
}

export function removeAttachment(id: string): void {
  store.attachments = store.attachments.filter((a) => a.id !== id);
  store.emit("composer");
}
