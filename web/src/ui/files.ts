// The Files tab: the sandbox's /home/user (and below), downloads, uploads.

import { HOME } from "../actions.ts";
import { api, ApiError } from "../api.ts";
import { formatBytes } from "../output-util.ts";
import { store } from "../state.ts";
import type { FileEntry } from "../types.ts";
import { h, mount } from "./dom.ts";
import { icon } from "./icons.ts";

export class FilesView {
  readonly el: HTMLElement;
  dir = HOME;
  private readonly list = h("ul", { class: "files-list", "data-testid": "files-list", "aria-label": "Files" });
  private readonly crumbs = h("nav", { class: "crumbs", "aria-label": "Folder" });
  private readonly status = h("div", { class: "files-status" });
  private seq = 0;

  constructor(openUpload: (dir: string) => void) {
    const up = h("button", { type: "button", class: "icon-button", "aria-label": "Parent folder", title: "Parent folder", onclick: () => this.open(this.parent()) }, icon("up", 16));
    const refresh = h("button", { type: "button", class: "icon-button", "data-testid": "files-refresh", "aria-label": "Refresh files", title: "Refresh", onclick: () => void this.load() }, icon("refresh", 16));
    const upload = h("button", { type: "button", class: "button", "data-testid": "files-upload-button", "aria-label": "Upload a file to this folder", onclick: () => openUpload(this.dir) }, icon("upload", 16), "Upload");
    this.el = h("div", { class: "files" }, h("div", { class: "files-bar" }, up, this.crumbs, h("span", { class: "spacer" }), refresh, upload), this.status, this.list);
    store.on("files", () => {
      if (store.previewTab === "files") void this.load();
    });
  }

  private parent(): string {
    if (this.dir === "/" || this.dir === "") return "/";
    const p = this.dir.replace(/\/+$/, "").split("/").slice(0, -1).join("/");
    return p || "/";
  }

  open(dir: string): void {
    this.dir = dir;
    void this.load();
  }

  async load(): Promise<void> {
    const seq = ++this.seq;
    this.paintCrumbs();
    mount(this.status, h("div", { class: "muted loading" }, h("span", { class: "spinner small" }), "Loading…"));
    let entries: FileEntry[];
    try {
      entries = (await api.files(this.dir)).entries ?? [];
    } catch (e) {
      if (seq !== this.seq) return;
      mount(this.list);
      mount(
        this.status,
        h("div", { class: "notice error", role: "alert" }, icon("alert", 16), e instanceof ApiError && e.status === 404 ? `${this.dir} does not exist (yet).` : `Could not list files: ${(e as Error).message}`),
      );
      return;
    }
    if (seq !== this.seq) return;
    entries.sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === "dir" ? -1 : 1));
    mount(this.status, entries.length ? null : h("div", { class: "muted empty-files" }, "No files here yet. Upload one, or let your code write some."));
    mount(this.list, entries.map((e) => this.row(e)));
  }

  private row(e: FileEntry): HTMLElement {
    const when = e.modifiedTime ? new Date(e.modifiedTime) : null;
    const meta = [e.type === "file" ? formatBytes(e.size) : "", when && !Number.isNaN(when.getTime()) ? when.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" }) : ""].filter(Boolean).join(" · ");
    const name =
      e.type === "dir"
        ? h("button", { type: "button", class: "file-name link-button", onclick: () => this.open(e.path) }, icon("folder", 16), e.name)
        : h("span", { class: "file-name" }, icon("file", 16), e.name);
    return h(
      "li",
      { class: "file-row", "data-testid": "file-row", "data-name": e.name, "data-type": e.type },
      name,
      h("span", { class: "file-meta" }, meta),
      e.type === "file"
        ? h("a", { class: "icon-button", href: api.downloadUrl(e.path), download: e.name, "data-testid": "file-download", "aria-label": `Download ${e.name}`, title: "Download" }, icon("download", 16))
        : h("span", { class: "icon-spacer" }),
    );
  }

  private paintCrumbs(): void {
    const parts = this.dir.split("/").filter(Boolean);
    const items: (HTMLElement | string)[] = [];
    let acc = "";
    parts.forEach((p, i) => {
      acc += `/${p}`;
      const target = acc;
      items.push(h("span", { class: "crumb-sep" }, "/"));
      items.push(i === parts.length - 1 ? h("span", { class: "crumb current", "aria-current": "location" }, p) : h("button", { type: "button", class: "crumb link-button", onclick: () => this.open(target) }, p));
    });
    mount(this.crumbs, items.length ? items : "/");
  }
}
