// The message list of the current chat: keyed re-rendering (only messages whose rev changed), stick-to-bottom
// scrolling, the empty state with example prompts and the no-provider notice.

import { retryLoad, send } from "../actions.ts";
import { store } from "../state.ts";
import type { UIMessage } from "../types.ts";
import { h, mount } from "./dom.ts";
import { icon } from "./icons.ts";
import { renderMessage } from "./message.ts";
import { toast } from "./toast.ts";

const EXAMPLES = [
  "Calculate π with a Monte Carlo simulation and plot how the estimate converges",
  "Make a DataFrame of 10 random stocks and show a bar chart of their returns",
  "Plot sin(x) and cos(x) from 0 to 2π",
  "Explain the uploaded CSV: columns, types and a quick summary",
];

export function noProviderNotice(): HTMLElement {
  return h(
    "div",
    { class: "notice setup", "data-testid": "no-provider-notice", role: "note" },
    h("h2", null, "No model provider is configured"),
    h("p", null, "To chat, give ", h("code", null, "cellblock serve"), " access to a model, then restart it:"),
    h(
      "ul",
      null,
      h("li", null, "Anthropic: set ", h("code", null, "ANTHROPIC_API_KEY"), "."),
      h("li", null, "OpenAI: set ", h("code", null, "OPENAI_API_KEY"), "."),
      h("li", null, "An OpenAI-compatible server (a local Ollama or llama.cpp, vLLM…): set ", h("code", null, "OPENAI_BASE_URL"), ", e.g. ", h("code", null, "http://localhost:11434/v1"), ", and ", h("code", null, "OPENAI_API_KEY"), " if it needs one."),
    ),
    h("p", { class: "muted" }, "You can still run code by hand in the ", h("strong", null, "Code"), " tab of the preview."),
  );
}

export function createMessageList(): HTMLElement {
  // Not a live region: streamed answers re-render many times a second.
  const inner = h("div", { class: "messages-inner", "data-testid": "message-list", role: "region", "aria-label": "Messages" });
  const scroller = h("div", { class: "messages" }, inner);
  const rendered = new Map<string, { el: HTMLElement; rev: number; selected: string }>();
  let lastChat = "";
  let lastCount = 0;

  const selectedKey = (m: UIMessage) => {
    const sel = store.current.selected;
    return sel && sel.messageId === m.id ? sel.toolCallId : "";
  };

  const render = () => {
    const view = store.current;
    const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
    const switched = lastChat !== view.id;
    if (switched) {
      rendered.clear();
      lastChat = view.id;
    }
    const top: HTMLElement[] = [];
    if (!store.hasProviders) top.push(noProviderNotice());
    if (view.loadError) {
      top.push(
        h(
          "div",
          { class: "notice error", "data-testid": "error-notice", role: "alert" },
          icon("alert", 16),
          h("span", null, `Could not load this conversation: ${view.loadError}`),
          h("button", { type: "button", class: "link-button", onclick: retryLoad }, "Retry"),
        ),
      );
    }
    if (view.loading) top.push(h("div", { class: "loading muted" }, h("span", { class: "spinner" }), "Loading conversation…"));

    const items: HTMLElement[] = [];
    for (const m of view.messages) {
      const rev = m.rev ?? 0;
      const sel = selectedKey(m);
      let entry = rendered.get(m.id);
      if (!entry || entry.rev !== rev || entry.selected !== sel) {
        const el = renderMessage(m, view);
        if (entry) entry.el.replaceWith(el);
        entry = { el, rev, selected: sel };
        rendered.set(m.id, entry);
      }
      items.push(entry.el);
    }
    const ids = new Set(view.messages.map((m) => m.id));
    for (const id of [...rendered.keys()]) if (!ids.has(id)) rendered.delete(id);

    if (view.messages.length === 0 && !view.loading && !view.loadError && store.hasProviders) {
      top.push(
        h(
          "div",
          { class: "empty-chat" },
          h("h1", null, "What should we compute?"),
          h("p", { class: "muted" }, "Code runs in your own sandbox; variables persist between messages."),
          h(
            "div",
            { class: "examples" },
            EXAMPLES.map((text) => h("button", { type: "button", class: "example", onclick: () => void send(text) }, text)),
          ),
        ),
      );
    }
    // Re-order the DOM only when it differs from the wanted order.
    const wanted = [...top, ...items];
    const current = [...inner.children];
    if (wanted.length !== current.length || wanted.some((el, i) => el !== current[i])) mount(inner, wanted);
    const grew = view.messages.length > lastCount;
    lastCount = view.messages.length;
    if (switched || nearBottom || grew) scroller.scrollTop = scroller.scrollHeight;
  };
  store.on("messages", render);
  store.on("config", render);
  // A resize (a phone turned, the window narrowed) keeps a reader who was at the end at the end.
  let pinned = true;
  scroller.addEventListener("scroll", () => {
    pinned = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  });
  new ResizeObserver(() => {
    if (pinned) scroller.scrollTop = scroller.scrollHeight;
  }).observe(scroller);

  // Copy buttons of code blocks (rendered inside markdown HTML).
  inner.addEventListener("click", async (e) => {
    const button = (e.target as HTMLElement).closest<HTMLElement>("[data-copy-code]");
    if (!button) return;
    const code = button.closest(".codeblock")?.querySelector("pre")?.textContent ?? "";
    if (await copyText(code)) {
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = "Copy"), 1500);
    }
  });
  render();
  return scroller;
}

export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall back below
  }
  const area = h("textarea", { value: text, style: { position: "fixed", opacity: "0", top: "0", left: "0" } });
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  if (!ok) toast("Copy failed: select the text and copy it by hand.", "error");
  return ok;
}
