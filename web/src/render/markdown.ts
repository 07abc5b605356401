// Markdown from the model → safe HTML. Raw HTML in the text is shown escaped, links are limited to
// safe schemes, `sandbox://` URLs point at the file download route, and DOMPurify has the last word.

import DOMPurify from "dompurify";
import { Marked, type Tokens } from "marked";
import { api } from "../api.ts";
import { escapeHtml, highlight } from "./highlight.ts";

function sandboxUrl(href: string): string {
  const m = /^sandbox:\/\/(\/.*)$/.exec(href);
  if (m) return api.downloadUrl(decodeURI(m[1]!));
  if (href.startsWith("sandbox:/")) return api.downloadUrl(href.slice("sandbox:".length));
  return href;
}

function safeHref(href: string): string | null {
  const url = sandboxUrl(href.trim());
  if (/^(https?:|mailto:|\/|#|\.\/)/i.test(url)) return url;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(url)) return url; // relative
  return null;
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(text);
    },
    code({ text, lang }: Tokens.Code): string {
      const language = (lang ?? "").split(/\s+/)[0] ?? "";
      const label = language ? `<span class="codeblock-lang">${escapeHtml(language)}</span>` : "<span></span>";
      return (
        `<div class="codeblock">` +
        `<div class="codeblock-head">${label}<button type="button" class="codeblock-copy" data-copy-code aria-label="Copy code">Copy</button></div>` +
        `<pre><code class="hljs">${highlight(text.replace(/\n$/, ""), language)}</code></pre></div>`
      );
    },
    link(this: { parser: { parseInline(t: Tokens.Generic[]): string } }, { href, title, tokens }: Tokens.Link): string {
      const inner = this.parser.parseInline(tokens);
      const url = safeHref(href);
      if (url === null) return inner;
      const t = title ? ` title="${escapeHtml(title)}"` : "";
      return `<a href="${escapeHtml(url)}"${t} target="_blank" rel="noopener noreferrer">${inner}</a>`;
    },
    image({ href, title, text }: Tokens.Image): string {
      const url = safeHref(href);
      if (url === null || url.startsWith("mailto:")) return escapeHtml(text);
      const t = title ? ` title="${escapeHtml(title)}"` : "";
      return `<img src="${escapeHtml(url)}" alt="${escapeHtml(text)}"${t} loading="lazy">`;
    },
  },
});

export function markdownToHtml(text: string): string {
  const html = marked.parse(text, { async: false }) as string;
  return DOMPurify.sanitize(html, { ADD_ATTR: ["target"], FORBID_TAGS: ["style", "form", "input"] });
}

export function renderMarkdown(el: HTMLElement, text: string): void {
  el.innerHTML = markdownToHtml(text);
}
