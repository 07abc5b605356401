// Short-lived notices at the bottom of the screen (copy done, upload failed).

import { h } from "./dom.ts";

let host: HTMLElement | null = null;

export function toast(message: string, kind: "info" | "error" = "info"): void {
  if (!host || !host.isConnected) {
    host = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(host);
  }
  const el = h("div", { class: `toast ${kind}`, "data-testid": "toast" }, message);
  host.append(el);
  setTimeout(() => el.classList.add("leaving"), kind === "error" ? 6000 : 2500);
  setTimeout(() => el.remove(), kind === "error" ? 6400 : 2900);
}
