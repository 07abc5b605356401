// The preview column: tabs Result (the selected cell: code and outputs), Code (edit and run) and Files.

import { cellsOf, findCell, runCode, selectCell, stop, stopRun, type Cell } from "../actions.ts";
import { cellStatus, cellTitle, executionCount, runCodeInput, runCodeOutput, type CellStatus } from "../output-util.ts";
import { highlight } from "../render/highlight.ts";
import { OutputView } from "../render/output.ts";
import { store, type PreviewTab } from "../state.ts";
import { h, mount } from "./dom.ts";
import { CodeEditor } from "./editor.ts";
import { FilesView } from "./files.ts";
import { icon } from "./icons.ts";
import { copyText } from "./messages.ts";
import { toast } from "./toast.ts";

const STATUS_LABEL: Record<CellStatus, string> = {
  writing: "Writing code",
  running: "Running",
  complete: "Complete",
  error: "Error",
  interrupted: "Interrupted",
};

const refKey = (chatId: string, cell: Cell | null) => (cell ? `${chatId}:${cell.ref.messageId}:${cell.ref.toolCallId}` : `${chatId}:none`);

/** The Result tab's view of one cell; rebuilt when the selection changes, updated in place otherwise. */
class CellView {
  readonly el: HTMLElement;
  private readonly title = h("h2", { class: "cell-title" });
  private readonly pill = h("span", { class: "pill" });
  private readonly count = h("span", { class: "cell-count" });
  private readonly stopButton = h("button", { type: "button", class: "button small", "data-testid": "cell-stop-button", "aria-label": "Stop this cell" }, icon("stop", 10), "Stop");
  private stopAction: () => void = () => {};
  private readonly desc = h("p", { class: "cell-desc" });
  private readonly code = h("code", { class: "hljs" });
  private readonly details: HTMLDetailsElement;
  private readonly output = new OutputView();
  private lastCode = "\u0000";
  private lastStatus: CellStatus | null = null;

  constructor() {
    this.details = h("details", { class: "cell-code" }, h("summary", null, "Code"), h("pre", null, this.code));
    this.stopButton.addEventListener("click", () => this.stopAction());
    this.el = h("div", { class: "cell-view" }, h("div", { class: "cell-head" }, this.title, h("span", { class: "spacer" }), this.count, this.stopButton, this.pill), this.desc, this.details, this.output.el);
  }

  update(cell: Cell): void {
    const input = runCodeInput(cell.part);
    const status = cellStatus(cell.part, cell.message.status);
    this.title.textContent = cellTitle(input);
    this.pill.className = `pill ${status}`;
    this.pill.dataset.testid = "cell-status";
    this.pill.dataset.status = status;
    mount(this.pill, status === "writing" || status === "running" ? h("span", { class: "spinner small", "aria-hidden": "true" }) : null, STATUS_LABEL[status]);
    const output = runCodeOutput(cell.part);
    const n = executionCount(output);
    this.count.textContent = n !== undefined ? `[${n}]` : "";
    this.desc.textContent = input.description ?? "";
    this.desc.hidden = !input.description;
    const code = input.code ?? "";
    if (code !== this.lastCode) {
      this.lastCode = code;
      this.code.innerHTML = highlight(code, input.language || "python");
    }
    // The code shows while it is written and run; then it folds away if there is output (the Code tab has it).
    if (status !== this.lastStatus) {
      const hasOutput = !!output && (!!output.stdout?.length || !!output.stderr?.length || !!output.results?.length || !!output.error);
      this.details.open = status === "writing" || status === "running" || !hasOutput;
      this.lastStatus = status;
    }
    const live = status === "writing" || status === "running";
    // A live cell belongs either to a manual run or to the chat turn: stopping aborts that request.
    this.stopButton.hidden = !live;
    this.stopAction = cell.message.origin === "run" ? stopRun : stop;
    this.output.update(output, {
      errorText: cell.part.state === "output-error" ? (cell.part.errorText ?? "The tool failed") : undefined,
      live,
      waiting: status === "writing" ? "Writing code…" : "Running…",
    });
    if (status === "writing") {
      // Keep the newest line in view while the model writes.
      const pre = this.details.querySelector("pre");
      if (pre) pre.scrollTop = pre.scrollHeight;
    }
  }
}

export function createPreview(openUpload: (dir: string) => void): HTMLElement {
  const tabs: { id: PreviewTab; label: string; icon: string }[] = [
    { id: "result", label: "Result", icon: "chart" },
    { id: "code", label: "Code", icon: "code" },
    { id: "files", label: "Files", icon: "folder" },
  ];
  const tabButtons = new Map<PreviewTab, HTMLButtonElement>();
  const tablist = h("div", { class: "tabs", role: "tablist", "aria-label": "Preview" });
  for (const t of tabs) {
    const b = h(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${t.id}`,
        class: "tab",
        "data-testid": `tab-${t.id}`,
        "aria-controls": `panel-${t.id}`,
        onclick: () => setTab(t.id),
      },
      icon(t.icon, 16),
      h("span", null, t.label),
    );
    tabButtons.set(t.id, b);
    tablist.append(b);
  }
  tablist.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const order = tabs.map((t) => t.id);
    const i = order.indexOf(store.previewTab);
    const next = order[(i + (e.key === "ArrowRight" ? 1 : order.length - 1)) % order.length]!;
    setTab(next);
    tabButtons.get(next)!.focus();
  });

  const prev = h("button", { type: "button", class: "icon-button", "data-testid": "cell-prev", "aria-label": "Previous cell" }, icon("left", 16));
  const next = h("button", { type: "button", class: "icon-button", "data-testid": "cell-next", "aria-label": "Next cell" }, icon("right", 16));
  const position = h("span", { class: "cell-pos", "aria-live": "polite" });
  const nav = h("div", { class: "cell-nav" }, prev, position, next);

  // Result
  const resultPanel = h("div", { class: "panel result-panel", id: "panel-result", role: "tabpanel", "aria-labelledby": "tab-result", "data-testid": "result-area", tabindex: 0 });
  let cellView: CellView | null = null;
  let cellKey = "";

  // Code
  const editor = new CodeEditor();
  let editorKey = "";
  let dirty = false;
  editor.onChange = () => (dirty = true);
  const langLabel = h("span", { class: "lang-label" }, "Python");
  const copy = h("button", { type: "button", class: "button", "data-testid": "copy-code", "aria-label": "Copy code" }, icon("copy", 16), "Copy");
  copy.addEventListener("click", async () => {
    if (await copyText(editor.value)) toast("Code copied");
  });
  const run = h("button", { type: "button", class: "button primary", "data-testid": "run-button", "aria-label": "Run code", title: "Run (Ctrl+Enter)" }, icon("play", 14), "Run");
  const stopRunButton = h("button", { type: "button", class: "button danger", "data-testid": "stop-run-button", "aria-label": "Stop the running code" }, icon("stop", 12), "Stop");
  const doRun = () => {
    if (store.current.run) return;
    dirty = false;
    void runCode(editor.value, editor.language);
  };
  run.addEventListener("click", doRun);
  stopRunButton.addEventListener("click", () => stopRun());
  editor.onRun = doRun;
  const codePanel = h(
    "div",
    { class: "panel code-panel", id: "panel-code", role: "tabpanel", "aria-labelledby": "tab-code" },
    h("div", { class: "code-bar" }, langLabel, h("span", { class: "hint" }, "Ctrl+Enter runs"), h("span", { class: "spacer" }), copy, stopRunButton, run),
    editor.el,
  );

  // Files
  const files = new FilesView(openUpload);
  const filesPanel = h("div", { class: "panel files-panel", id: "panel-files", role: "tabpanel", "aria-labelledby": "tab-files" }, files.el);

  const root = h("section", { class: "preview", "data-testid": "preview", "aria-label": "Preview" }, h("div", { class: "preview-head" }, tablist, nav), resultPanel, codePanel, filesPanel);

  function setTab(tab: PreviewTab) {
    const changed = store.previewTab !== tab;
    store.previewTab = tab;
    render();
    if (tab === "files" && changed) void files.load();
  }

  const render = () => {
    const view = store.current;
    const cells = cellsOf(view);
    const cell = findCell(view, view.selected);
    const index = cell ? cells.findIndex((c) => c.part === cell.part) : -1;

    for (const [id, b] of tabButtons) {
      const on = id === store.previewTab;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
    }
    resultPanel.hidden = store.previewTab !== "result";
    codePanel.hidden = store.previewTab !== "code";
    filesPanel.hidden = store.previewTab !== "files";

    nav.hidden = cells.length === 0 || store.previewTab === "files";
    position.textContent = cells.length ? `Cell ${index + 1} of ${cells.length}` : "";
    prev.disabled = index <= 0;
    next.disabled = index < 0 || index >= cells.length - 1;
    prev.onclick = () => index > 0 && selectCell(cells[index - 1]!.ref, true);
    next.onclick = () => index < cells.length - 1 && selectCell(cells[index + 1]!.ref, true);

    // Result
    const key = refKey(view.id, cell);
    if (key !== cellKey) {
      cellKey = key;
      cellView = cell ? new CellView() : null;
      mount(
        resultPanel,
        cellView
          ? cellView.el
          : h(
              "div",
              { class: "preview-empty" },
              icon("chart", 32),
              h("h2", null, "Results appear here"),
              h("p", { class: "muted" }, "Ask for a calculation or a plot, or open the Code tab and run Python yourself."),
              h("button", { type: "button", class: "button", onclick: () => setTab("code") }, icon("code", 16), "Write code"),
            ),
      );
    }
    if (cell && cellView) cellView.update(cell);

    // Code
    const input = cell ? runCodeInput(cell.part) : null;
    if (key !== editorKey) {
      editorKey = key;
      dirty = false;
      editor.language = input?.language || "python";
      editor.value = input?.code ?? (cell ? "" : editor.value);
    } else if (!dirty && input && document.activeElement !== editor.textarea) {
      editor.value = input.code ?? "";
    }
    langLabel.textContent = (editor.language || "python").replace(/^./, (c) => c.toUpperCase());
    const running = !!view.run;
    run.hidden = running;
    stopRunButton.hidden = !running;
    copy.disabled = editor.value === "";
  };
  store.on("preview", render);
  store.on("messages", () => {
    // Status pills depend on message status; cheap to refresh.
    if (cellView) render();
  });
  render();
  return root;
}
