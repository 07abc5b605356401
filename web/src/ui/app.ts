// The main layout: sidebar | chat | preview, with a drawer sidebar and a Chat/Preview switch on small screens.

import { HOME, uploadFiles } from "../actions.ts";
import { store } from "../state.ts";
import { createComposer } from "./composer.ts";
import { h } from "./dom.ts";
import { icon } from "./icons.ts";
import { createMessageList } from "./messages.ts";
import { createPreview } from "./preview.ts";
import { createSidebar } from "./sidebar.ts";

export function createApp(onLogout: () => void): HTMLElement {
  // One file input for every upload button (composer and Files tab).
  let uploadDir = HOME;
  const fileInput = h("input", { type: "file", multiple: true, class: "visually-hidden", "data-testid": "upload-input", "aria-label": "Upload files", tabindex: -1 });
  fileInput.addEventListener("change", () => {
    const files = [...(fileInput.files ?? [])];
    fileInput.value = "";
    if (files.length) void uploadFiles(files, uploadDir);
  });
  const openUpload = (dir = HOME) => {
    uploadDir = dir;
    fileInput.click();
  };

  const sidebar = createSidebar(onLogout);
  const scrim = h("div", { class: "scrim", "aria-hidden": "true", onclick: () => ((store.sidebarOpen = false), store.emit("layout")) });
  const title = h("div", { class: "topbar-title" });
  const menu = h("button", { type: "button", class: "icon-button menu-button", "data-testid": "menu-button", "aria-label": "Open conversations", "aria-expanded": "false", onclick: () => ((store.sidebarOpen = true), store.emit("layout")) }, icon("menu"));
  const paneChat = h("button", { type: "button", class: "seg", "data-testid": "pane-chat", onclick: () => ((store.mobilePane = "chat"), store.emit("layout")) }, icon("chat", 16), "Chat");
  const panePreview = h("button", { type: "button", class: "seg", "data-testid": "pane-preview", onclick: () => ((store.mobilePane = "preview"), store.emit("layout")) }, icon("panel", 16), "Preview");
  const paneSwitch = h("div", { class: "segmented pane-switch", role: "group", "aria-label": "Show" }, paneChat, panePreview);
  const topbar = h("header", { class: "topbar" }, menu, title, h("span", { class: "spacer" }), paneSwitch);

  const chat = h("section", { class: "chat", "aria-label": "Chat" }, createMessageList(), h("div", { class: "composer-wrap" }, createComposer(() => openUpload(HOME))));
  const preview = createPreview(openUpload);
  const main = h("main", { class: "main" }, topbar, h("div", { class: "panes" }, chat, preview));
  const app = h("div", { class: "app", "data-testid": "app" }, sidebar, scrim, main, fileInput);

  const layout = () => {
    app.classList.toggle("sidebar-open", store.sidebarOpen);
    app.dataset.pane = store.mobilePane;
    menu.setAttribute("aria-expanded", String(store.sidebarOpen));
    paneChat.setAttribute("aria-pressed", String(store.mobilePane === "chat"));
    panePreview.setAttribute("aria-pressed", String(store.mobilePane === "preview"));
    if (store.sidebarOpen) sidebar.querySelector<HTMLElement>("[data-testid=new-chat]")?.focus();
  };
  const paintTitle = () => {
    const chat = store.chats.find((c) => c.id === store.currentId);
    title.textContent = chat?.title || "New chat";
    document.title = chat?.title ? `${chat.title} · cellblock` : "cellblock";
  };
  store.on("layout", layout);
  store.on("chats", paintTitle);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && store.sidebarOpen) {
      store.sidebarOpen = false;
      store.emit("layout");
      menu.focus();
    }
  });
  // Dropping files anywhere uploads them.
  app.addEventListener("dragover", (e) => {
    if (e.dataTransfer?.types.includes("Files")) e.preventDefault();
  });
  app.addEventListener("drop", (e) => {
    if (!e.dataTransfer?.files.length) return;
    e.preventDefault();
    void uploadFiles([...e.dataTransfer.files], HOME);
  });
  layout();
  paintTitle();
  return app;
}
