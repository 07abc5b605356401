// Light/dark: follows prefers-color-scheme until the user picks one with the toggle (remembered).

import { storage } from "../state.ts";
import { h } from "./dom.ts";
import { icon } from "./icons.ts";

type Theme = "light" | "dark";

const media = () => window.matchMedia?.("(prefers-color-scheme: dark)");

export function effectiveTheme(): Theme {
  const chosen = document.documentElement.dataset.theme;
  if (chosen === "light" || chosen === "dark") return chosen;
  return media()?.matches ? "dark" : "light";
}

export function initTheme(): void {
  const saved = storage.get("theme");
  if (saved === "light" || saved === "dark") document.documentElement.dataset.theme = saved;
}

export function themeToggle(): HTMLButtonElement {
  const button = h("button", { type: "button", class: "icon-button", "data-testid": "theme-toggle" });
  const paint = () => {
    const dark = effectiveTheme() === "dark";
    button.replaceChildren(icon(dark ? "sun" : "moon"));
    button.setAttribute("aria-label", dark ? "Switch to light theme" : "Switch to dark theme");
    button.title = button.getAttribute("aria-label")!;
    button.dataset.theme = effectiveTheme();
  };
  button.addEventListener("click", () => {
    const next: Theme = effectiveTheme() === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    storage.set("theme", next);
    paint();
  });
  media()?.addEventListener?.("change", paint);
  paint();
  return button;
}
