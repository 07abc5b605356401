// A plain textarea over a highlighted copy of its text: native editing, undo and IME, with colours.
// Tab indents (Escape, then Tab, leaves the editor); Ctrl/Cmd+Enter runs.

import { highlight } from "../render/highlight.ts";
import { h } from "./dom.ts";

export class CodeEditor {
  readonly el: HTMLElement;
  readonly textarea: HTMLTextAreaElement;
  private readonly code: HTMLElement;
  private readonly pre: HTMLElement;
  private tabEscapes = false;
  language = "python";
  onChange: () => void = () => {};
  onRun: () => void = () => {};

  constructor() {
    this.textarea = h("textarea", {
      class: "editor-input",
      "data-testid": "code-editor",
      "aria-label": "Code",
      spellcheck: false,
      autocapitalize: "off",
      autocomplete: "off",
      wrap: "off",
      placeholder: "# Write Python here and press Run\nprint('hello')",
    });
    this.code = h("code", { class: "hljs" });
    this.pre = h("pre", { class: "editor-hl", "aria-hidden": "true" }, this.code);
    this.el = h("div", { class: "editor" }, this.pre, this.textarea);
    this.textarea.addEventListener("input", () => {
      this.paint();
      this.onChange();
    });
    this.textarea.addEventListener("scroll", () => {
      this.pre.scrollTop = this.textarea.scrollTop;
      this.pre.scrollLeft = this.textarea.scrollLeft;
    });
    this.textarea.addEventListener("keydown", (e) => this.key(e));
  }

  get value(): string {
    return this.textarea.value;
  }

  set value(v: string) {
    if (this.textarea.value === v) return;
    this.textarea.value = v;
    this.paint();
  }

  private paint(): void {
    this.code.innerHTML = highlight(this.textarea.value + "\n", this.language);
    this.pre.scrollTop = this.textarea.scrollTop;
    this.pre.scrollLeft = this.textarea.scrollLeft;
  }

  private insert(text: string): void {
    // execCommand keeps the browser's undo history; setRangeText is the fallback.
    if (!document.execCommand?.("insertText", false, text)) {
      const { selectionStart: s, selectionEnd: e } = this.textarea;
      this.textarea.setRangeText(text, s, e, "end");
      this.paint();
      this.onChange();
    }
  }

  private key(e: KeyboardEvent): void {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      this.onRun();
      return;
    }
    if (e.key === "Escape") {
      this.tabEscapes = true;
      return;
    }
    if (e.key === "Tab" && !this.tabEscapes && !e.ctrlKey && !e.altKey && !e.metaKey) {
      e.preventDefault();
      if (e.shiftKey) this.dedent();
      else this.insert("    ");
      return;
    }
    if (e.key === "Enter") {
      // Keep the indentation of the current line (one level more after a colon).
      const { selectionStart: s } = this.textarea;
      const line = this.textarea.value.slice(this.textarea.value.lastIndexOf("\n", s - 1) + 1, s);
      const indent = /^[ \t]*/.exec(line)![0] + (/:\s*$/.test(line) ? "    " : "");
      if (indent) {
        e.preventDefault();
        this.insert("\n" + indent);
      }
    }
    if (e.key !== "Tab") this.tabEscapes = false;
  }

  private dedent(): void {
    const t = this.textarea;
    const start = t.value.lastIndexOf("\n", t.selectionStart - 1) + 1;
    const m = /^ {1,4}/.exec(t.value.slice(start));
    if (!m) return;
    t.setSelectionRange(start, start + m[0].length);
    this.insert("");
  }
}
