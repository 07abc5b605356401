// Start-up: session check → login form or the app; then config, history and the chat in the URL.

import "./styles.css";
import { chatIdFromHash, loadChats, newChat, openChat } from "./actions.ts";
import { api, onUnauthorized } from "./api.ts";
import { storage, store } from "./state.ts";
import { createApp } from "./ui/app.ts";
import { h, mount } from "./ui/dom.ts";
import { showLogin } from "./ui/login.ts";
import { initTheme } from "./ui/theme.ts";

const root = document.getElementById("root")!;
let started = false;

function login(): void {
  started = false;
  for (const v of store.views.values()) {
    v.turn?.abort();
    v.run?.abort();
  }
  store.views.clear();
  store.resetListeners();
  store.attachments = [];
  showLogin(root, () => void start());
}

function fatal(message: string): void {
  mount(
    root,
    h(
      "div",
      { class: "login-screen" },
      h("div", { class: "login-card", role: "alert" }, h("h1", null, "cellblock is not reachable"), h("p", { class: "muted" }, message), h("button", { type: "button", class: "primary", onclick: () => void boot() }, "Try again")),
    ),
  );
}

async function start(): Promise<void> {
  if (started) return;
  started = true;
  mount(root, createApp(login));
  try {
    store.config = await api.config();
    store.config.providers ??= [];
  } catch (e) {
    store.config = { providers: [] };
    console.warn("cellblock: /api/config failed", e);
  }
  const models = store.config.providers.flatMap((p) => p.models.map((m) => `${p.id}/${m}`));
  const saved = storage.get("model");
  store.model = saved && models.includes(saved) ? saved : store.config.defaultModel && models.includes(store.config.defaultModel) ? store.config.defaultModel : (models[0] ?? "");
  store.emit("config", "composer", "messages");
  void loadChats();
  const id = chatIdFromHash();
  if (id) void openChat(id);
  else newChat();
}

async function boot(): Promise<void> {
  onUnauthorized(() => {
    if (started) login();
  });
  let session: { user: string } | null;
  try {
    session = await api.session();
  } catch (e) {
    fatal((e as Error).message);
    return;
  }
  if (session) void start();
  else login();
}

window.addEventListener("hashchange", () => {
  const id = chatIdFromHash();
  if (started && id && id !== store.currentId) void openChat(id);
});

initTheme();
void boot();
