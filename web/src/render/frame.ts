// HTML results in a sandboxed iframe without scripts or same-origin access (`sandbox=""`): the HTML is
// shown, never run. (The server's Content-Security-Policy would block scripts in srcdoc frames anyway.)
// The frame cannot be measured from outside, so its height is estimated from the markup; the user can
// drag the frame taller.

import { h } from "../ui/dom.ts";

function effectiveDark(): boolean {
  const t = document.documentElement.dataset.theme;
  if (t) return t === "dark";
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
}

function srcdoc(html: string): string {
  const dark = effectiveDark();
  const style = `<style>
:root{color-scheme:${dark ? "dark" : "light"}}
body{margin:0;padding:8px;font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:${dark ? "#e6e6e6" : "#1f2328"};background:transparent}
table.dataframe{border-collapse:collapse;font-variant-numeric:tabular-nums}
table.dataframe th,table.dataframe td{border:none;border-bottom:1px solid ${dark ? "#333" : "#e5e7eb"};padding:4px 10px;text-align:right}
table.dataframe thead th{border-bottom-width:2px}
</style>`;
  return `<!doctype html><html><head><meta charset="utf-8">${style}</head><body>${html}</body></html>`;
}

/** A height (px) that fits most outputs: table rows, block elements and the amount of text. */
export function estimateHeight(html: string): number {
  const rows = (html.match(/<tr[\s>]/gi) ?? []).length;
  const blocks = (html.match(/<(p|div|li|h[1-6]|br|pre)[\s>/]/gi) ?? []).length;
  const text = html.replace(/<[^>]*>/g, "").replace(/\s+/g, " ").trim().length;
  const images = (html.match(/<(img|svg|canvas|video)[\s>]/gi) ?? []).length;
  const estimate = 24 + rows * 27 + Math.max(blocks * 22, Math.ceil(text / 90) * 19) + images * 260;
  return Math.round(Math.min(Math.max(estimate, 56), 560));
}

export function renderHtmlFrame(html: string, testid: string): HTMLElement {
  const frame = h("iframe", {
    class: "html-result",
    "data-testid": testid,
    sandbox: "",
    referrerpolicy: "no-referrer",
    title: "HTML output",
  });
  frame.srcdoc = srcdoc(html);
  return h("div", { class: "html-frame", style: { height: `${estimateHeight(html)}px` } }, frame);
}
