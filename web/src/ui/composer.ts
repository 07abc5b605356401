// The message box: attachments, textarea (Enter sends, Shift+Enter breaks the line), model picker,
// upload, and Send that turns into Stop while the answer streams.

import { canSend, removeAttachment, send, setModel, stop } from "../actions.ts";
import { store } from "../state.ts";
import { h, mount } from "./dom.ts";
import { icon } from "./icons.ts";

const PLACEHOLDER = "Ask anything, e.g. “plot sin(x)”";

export function createComposer(openUpload: () => void): HTMLElement {
  const input = h("textarea", {
    class: "composer-input",
    rows: 1,
    "data-testid": "composer-input",
    "aria-label": "Message",
    placeholder: PLACEHOLDER,
  });
  const chips = h("div", { class: "chips", "aria-label": "Attachments" });
  const model = h("select", { class: "model-select", "data-testid": "model-select", "aria-label": "Model" });
  const sendButton = h("button", { type: "submit", class: "send", "data-testid": "send-button", "aria-label": "Send", title: "Send (Enter)" }, icon("send"));
  const stopButton = h("button", { type: "button", class: "stop", "data-testid": "stop-button", "aria-label": "Stop", title: "Stop", onclick: () => stop() }, icon("stop", 14));
  const upload = h("button", { type: "button", class: "icon-button", "data-testid": "upload-button", "aria-label": "Upload a file to the sandbox", title: "Upload a file", onclick: openUpload }, icon("clip"));

  const grow = () => {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 220)}px`;
  };

  const submit = async () => {
    const text = input.value;
    if (!canSend() || (!text.trim() && !store.attachments.some((a) => a.status === "ready"))) return;
    input.value = "";
    grow();
    const sent = await send(text);
    if (!sent && !input.value) input.value = text;
  };

  const form = h("form", { class: "composer", "data-testid": "composer", "aria-label": "Send a message" }, chips, input, h("div", { class: "composer-bar" }, upload, model, h("span", { class: "spacer" }), stopButton, sendButton));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void submit();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey) {
      e.preventDefault();
      void submit();
    }
  });
  input.addEventListener("input", () => {
    grow();
    paintButtons();
  });
  model.addEventListener("change", () => setModel(model.value));

  const paintButtons = () => {
    const view = store.current;
    const streaming = !!view.turn;
    stopButton.hidden = !streaming;
    sendButton.hidden = streaming;
    const hasContent = input.value.trim() !== "" || store.attachments.some((a) => a.status === "ready");
    sendButton.disabled = !canSend() || !hasContent;
  };

  const paintModels = () => {
    const providers = store.config.providers.filter((p) => p.models.length > 0);
    if (providers.length === 0) {
      mount(model, h("option", { value: "" }, "No model configured"));
      model.disabled = true;
      input.disabled = true;
      input.placeholder = "Configure a model provider to chat. You can still run code in the Code tab.";
      return;
    }
    input.disabled = false;
    input.placeholder = PLACEHOLDER;
    model.disabled = false;
    mount(
      model,
      providers.map((p) => h("optgroup", { label: p.name || p.id }, p.models.map((m) => h("option", { value: `${p.id}/${m}` }, m)))),
    );
    model.value = store.model;
    model.title = store.model;
  };

  const paintChips = () => {
    mount(
      chips,
      store.attachments.map((a) =>
        h(
          "span",
          { class: `chip ${a.status}`, "data-testid": "attachment-chip", "data-status": a.status, title: a.error ?? a.part?.url ?? "Uploading…" },
          a.status === "uploading" ? h("span", { class: "spinner small", "aria-hidden": "true" }) : icon(a.status === "error" ? "alert" : "file", 14),
          h("span", { class: "chip-name" }, a.filename),
          h("button", { type: "button", class: "chip-remove", "aria-label": `Remove ${a.filename}`, onclick: () => removeAttachment(a.id) }, icon("x", 12)),
        ),
      ),
    );
    chips.hidden = store.attachments.length === 0;
  };

  store.on("composer", () => {
    paintChips();
    paintButtons();
    model.value = store.model;
  });
  store.on("config", () => {
    paintModels();
    paintButtons();
  });
  store.on("messages", paintButtons);
  paintModels();
  paintChips();
  paintButtons();
  return form;
}

export function focusComposer(): void {
  document.querySelector<HTMLTextAreaElement>("[data-testid=composer-input]")?.focus();
}
