// highlight.js core with the few languages a code interpreter chat shows.

import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import sql from "highlight.js/lib/languages/sql";

hljs.registerLanguage("python", python);
hljs.registerLanguage("javascript", javascript);
hljs.registerLanguage("bash", bash);
hljs.registerLanguage("sql", sql);
hljs.registerLanguage("json", json);
hljs.registerAliases(["py", "python3", "ipython"], { languageName: "python" });
hljs.registerAliases(["js", "jsx", "ts", "typescript", "node", "mjs"], { languageName: "javascript" });
hljs.registerAliases(["sh", "shell", "zsh", "console"], { languageName: "bash" });

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Highlighted HTML for `code` (escaped plain text when the language is unknown). */
export function highlight(code: string, language?: string): string {
  const lang = (language ?? "").toLowerCase().trim();
  if (lang && hljs.getLanguage(lang)) {
    try {
      return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
    } catch {
      // fall through
    }
  }
  return escapeHtml(code);
}

export function knownLanguage(language?: string): boolean {
  return !!language && !!hljs.getLanguage(language.toLowerCase());
}
