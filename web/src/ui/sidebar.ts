// Conversation history: new chat, the list (most recent first), delete with a second click to confirm.

import { deleteChat, newChat, openChat } from "../actions.ts";
import { api } from "../api.ts";
import { store } from "../state.ts";
import type { ChatSummary } from "../types.ts";
import { h, mount } from "./dom.ts";
import { icon } from "./icons.ts";
import { themeToggle } from "./theme.ts";

function when(iso?: string): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = (Date.now() - t) / 1000;
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 7 * 86400) return `${Math.floor(s / 86400)} d ago`;
  return new Date(t).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

export function createSidebar(onLogout: () => void): HTMLElement {
  const list = h("ul", { class: "chat-list", "data-testid": "chat-list", "aria-label": "Conversations" });
  let confirming: string | null = null;
  let confirmTimer = 0;

  const item = (chat: ChatSummary) => {
    const current = chat.id === store.currentId;
    const streaming = !!store.views.get(chat.id)?.turn;
    const title = chat.title || "Untitled";
    const del = h(
      "button",
      {
        type: "button",
        class: "icon-button chat-delete" + (confirming === chat.id ? " confirm" : ""),
        "data-testid": "delete-chat",
        "data-confirm": confirming === chat.id ? "true" : undefined,
        "aria-label": confirming === chat.id ? `Confirm: delete “${title}”` : `Delete “${title}”`,
        title: confirming === chat.id ? "Click again to delete" : "Delete",
        onclick: (e: Event) => {
          e.preventDefault();
          e.stopPropagation();
          if (confirming === chat.id) {
            confirming = null;
            void deleteChat(chat.id);
            return;
          }
          confirming = chat.id;
          clearTimeout(confirmTimer);
          confirmTimer = window.setTimeout(() => {
            confirming = null;
            render();
          }, 4000);
          render();
          (list.querySelector(`[data-chat-id="${CSS.escape(chat.id)}"] .chat-delete`) as HTMLElement | null)?.focus();
        },
      },
      confirming === chat.id ? h("span", { class: "confirm-text" }, "Delete") : icon("trash", 16),
    );
    return h(
      "li",
      { class: "chat-row" + (current ? " current" : ""), "data-chat-id": chat.id },
      h(
        "a",
        {
          class: "chat-item",
          href: `#/chat/${chat.id}`,
          "data-testid": "chat-item",
          "data-chat-id": chat.id,
          "aria-current": current ? "page" : undefined,
          onclick: (e: MouseEvent) => {
            if (e.metaKey || e.ctrlKey || e.shiftKey) return;
            e.preventDefault();
            void openChat(chat.id);
          },
        },
        h("span", { class: "chat-title" }, streaming ? h("span", { class: "live-dot", "aria-label": "answering" }) : null, title),
        h("span", { class: "chat-time" }, when(chat.updatedAt ?? chat.createdAt)),
      ),
      del,
    );
  };

  const render = () => {
    const chats = [...store.chats];
    if (store.chatsError) {
      mount(list, h("li", { class: "chat-empty error-text" }, "Could not load conversations."));
      return;
    }
    if (chats.length === 0) {
      mount(list, h("li", { class: "chat-empty" }, "No conversations yet."));
      return;
    }
    mount(list, chats.map(item));
  };
  store.on("chats", render);
  render();

  const logout = h(
    "button",
    {
      type: "button",
      class: "icon-button",
      "data-testid": "logout",
      "aria-label": "Sign out",
      title: "Sign out",
      onclick: async () => {
        try {
          await api.logout();
        } finally {
          onLogout();
        }
      },
    },
    icon("logout"),
  );

  return h(
    "aside",
    { class: "sidebar", "data-testid": "sidebar", "aria-label": "Conversations" },
    h(
      "div",
      { class: "sidebar-head" },
      h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "cellblock"),
      h(
        "button",
        { type: "button", class: "icon-button close-sidebar", "aria-label": "Close menu", onclick: () => ((store.sidebarOpen = false), store.emit("layout")) },
        icon("x"),
      ),
    ),
    h("button", { type: "button", class: "new-chat", "data-testid": "new-chat", "aria-label": "New chat", onclick: () => newChat() }, icon("plus", 16), "New chat"),
    h("nav", { class: "chat-nav" }, list),
    h("div", { class: "sidebar-foot" }, themeToggle(), logout),
  );
}
