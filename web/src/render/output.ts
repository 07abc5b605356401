// A `run_code` output (stdout, stderr, results, error) rendered into the preview. `OutputView.update`
// keeps unchanged parts in place, so preliminary outputs that stream in do not re-create charts or images.

import { stripAnsi, joinText } from "../output-util.ts";
import type { CellError, CellResult, RunCodeOutput } from "../types.ts";
import { h, mount } from "../ui/dom.ts";
import { isRenderableChart, renderChart } from "./chart.ts";
import { renderHtmlFrame } from "./frame.ts";
import { highlight } from "./highlight.ts";
import { renderMarkdown } from "./markdown.ts";
import { isTableData, renderTable } from "./table.ts";

function signature(r: CellResult): string {
  return Object.keys(r)
    .sort()
    .map((k) => {
      const v = r[k];
      if (typeof v === "string") return `${k}:${v.length}:${v.slice(0, 40)}:${v.slice(-40)}`;
      const s = JSON.stringify(v) ?? "";
      return `${k}:${s.length}:${s.slice(0, 200)}`;
    })
    .join("|");
}

function image(src: string, alt: string): HTMLElement {
  return h("img", { class: "image-result", "data-testid": "image-result", src, alt, decoding: "async" });
}

function imageOf(r: CellResult): HTMLElement | null {
  if (typeof r.png === "string" && r.png) return image(`data:image/png;base64,${r.png}`, "Image output");
  if (typeof r.jpeg === "string" && r.jpeg) return image(`data:image/jpeg;base64,${r.jpeg}`, "Image output");
  if (typeof r.svg === "string" && r.svg) return image(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(r.svg)}`, "SVG output");
  return null;
}

function pre(text: string, cls: string, lang?: string): HTMLElement {
  const code = h("code", { class: "hljs" });
  code.innerHTML = highlight(text, lang);
  return h("pre", { class: cls }, code);
}

/** A chart with a switch to the kernel's static image. */
function chartWithImage(r: CellResult): HTMLElement {
  const chart = renderChart(r.chart);
  const img = imageOf(r);
  if (!img) return chart;
  const body = h("div", { class: "switch-body" }, chart);
  const mk = (label: string, show: HTMLElement) => {
    const b = h("button", { type: "button", class: "seg", "aria-pressed": String(show === chart) }, label);
    b.addEventListener("click", () => {
      mount(body, show);
      for (const other of bar.querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === b));
    });
    return b;
  };
  const bar = h("div", { class: "segmented small", role: "group", "aria-label": "Chart view" }, mk("Interactive", chart), mk("Image", img));
  return h("div", { class: "chart-switch" }, bar, body);
}

export function renderResult(r: CellResult): HTMLElement {
  let body: HTMLElement;
  if (r.chart && isRenderableChart(r.chart)) body = chartWithImage(r);
  else if (isTableData(r.data)) body = renderTable(r.data);
  else if (typeof r.html === "string" && r.html.trim()) body = renderHtmlFrame(r.html, /class="?[^"]*dataframe/.test(r.html) ? "table" : "html-result");
  else if (typeof r.markdown === "string" && r.markdown) {
    body = h("div", { class: "markdown-body md-result" });
    renderMarkdown(body, r.markdown);
  } else if (imageOf(r)) body = imageOf(r)!;
  else if (typeof r.pdf === "string" && r.pdf) {
    body = h("a", { class: "file-link", href: `data:application/pdf;base64,${r.pdf}`, download: "output.pdf" }, "Download PDF output");
  } else if (typeof r.latex === "string" && r.latex) body = pre(r.latex, "text-result");
  else if (r.json !== undefined && r.json !== null) body = pre(JSON.stringify(r.json, null, 2), "text-result", "json");
  else if (typeof r.javascript === "string" && r.javascript) {
    body = h("div", null, h("div", { class: "result-note" }, "JavaScript output (not executed)"), pre(r.javascript, "text-result", "javascript"));
  } else if (typeof r.text === "string") body = pre(r.text, "text-result");
  else body = pre(JSON.stringify(r.extra ?? r, null, 2), "text-result", "json");
  return h("div", { class: "result", "data-testid": "result", "data-main": r.isMainResult ? "true" : undefined }, body);
}

export function renderError(error: CellError | null | undefined, errorText?: string): HTMLElement {
  const tb = error ? stripAnsi(Array.isArray(error.traceback) ? error.traceback.join("\n") : (error.traceback ?? "")) : "";
  return h(
    "div",
    { class: "error-box", "data-testid": "error", role: "alert" },
    h("div", { class: "error-title" }, error ? h("strong", null, error.name || "Error") : h("strong", null, "Error"), error ? `: ${error.value ?? ""}` : errorText ? `: ${errorText}` : ""),
    tb.trim() ? h("pre", { class: "traceback" }, tb.replace(/\s+$/, "")) : null,
  );
}

export class OutputView {
  readonly el = h("div", { class: "cell-output" });
  private readonly stdoutEl = h("pre", { class: "log stdout", "data-testid": "stdout", "aria-label": "Standard output" });
  private readonly stderrEl = h("pre", { class: "log stderr", "data-testid": "stderr", "aria-label": "Standard error" });
  private readonly resultsEl = h("div", { class: "results" });
  private readonly errorEl = h("div");
  private readonly statusEl = h("div", { class: "output-status" });
  private keys: string[] = [];
  private els: HTMLElement[] = [];
  private errorKey = "";

  constructor() {
    this.stdoutEl.hidden = true;
    this.stderrEl.hidden = true;
    this.el.append(this.stdoutEl, this.stderrEl, this.resultsEl, this.errorEl, this.statusEl);
  }

  update(output: RunCodeOutput | undefined, opts: { errorText?: string; live: boolean; waiting: string }): void {
    this.log(this.stdoutEl, joinText(output?.stdout));
    this.log(this.stderrEl, stripAnsi(joinText(output?.stderr)));
    const results = Array.isArray(output?.results) ? output!.results : [];
    const keys = results.map((r) => signature(r ?? {}));
    for (let i = 0; i < Math.max(keys.length, this.keys.length); i++) {
      if (i >= keys.length) {
        this.els[i]!.remove();
        continue;
      }
      if (this.keys[i] === keys[i]) continue;
      const el = renderResult(results[i] ?? {});
      if (this.els[i]) this.els[i]!.replaceWith(el);
      else this.resultsEl.append(el);
      this.els[i] = el;
    }
    this.els.length = keys.length;
    this.keys = keys;

    const error = output?.error ?? null;
    const errorKey = error || opts.errorText ? JSON.stringify([error, opts.errorText ?? ""]) : "";
    if (errorKey !== this.errorKey) {
      this.errorKey = errorKey;
      mount(this.errorEl, errorKey ? renderError(error, opts.errorText) : null);
    }
    const empty = !joinText(output?.stdout) && !joinText(output?.stderr) && results.length === 0 && !errorKey;
    mount(
      this.statusEl,
      opts.live ? h("div", { class: "running" }, h("span", { class: "spinner", "aria-hidden": "true" }), opts.waiting) : empty ? h("div", { class: "muted" }, "No output.") : null,
    );
  }

  private log(el: HTMLElement, text: string): void {
    if (el.textContent === text) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    el.textContent = text;
    el.hidden = text === "";
    if (atBottom) el.scrollTop = el.scrollHeight;
  }
}
