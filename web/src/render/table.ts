// A DataFrame's `data` result ({column: values[]}) as an HTML table.

import { h } from "../ui/dom.ts";
import { formatNumber } from "./scale.ts";

const MAX_ROWS = 500;

export function isTableData(data: unknown): data is Record<string, unknown[]> {
  if (!data || typeof data !== "object" || Array.isArray(data)) return false;
  const cols = Object.values(data as object);
  return cols.length > 0 && cols.every(Array.isArray);
}

function cell(v: unknown): { text: string; numeric: boolean } {
  if (v === null || v === undefined) return { text: "", numeric: false };
  if (typeof v === "number") return { text: Number.isInteger(v) ? String(v) : formatNumber(v), numeric: true };
  if (typeof v === "boolean") return { text: v ? "True" : "False", numeric: false };
  if (typeof v === "object") return { text: JSON.stringify(v), numeric: false };
  return { text: String(v), numeric: false };
}

export function renderTable(data: Record<string, unknown[]>): HTMLElement {
  const columns = Object.keys(data);
  const rows = Math.max(0, ...columns.map((c) => data[c]!.length));
  const shown = Math.min(rows, MAX_ROWS);
  const body: HTMLElement[] = [];
  for (let r = 0; r < shown; r++) {
    body.push(
      h(
        "tr",
        null,
        h("th", { scope: "row", class: "row-index" }, String(r)),
        columns.map((c) => {
          const { text, numeric } = cell(data[c]![r]);
          return h("td", { class: numeric ? "num" : undefined }, text);
        }),
      ),
    );
  }
  return h(
    "div",
    { class: "table-result", "data-testid": "table" },
    h(
      "div",
      { class: "table-scroll", tabindex: 0, role: "region", "aria-label": "Table" },
      h(
        "table",
        null,
        h("thead", null, h("tr", null, h("th", { class: "row-index" }, ""), columns.map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", null, body),
      ),
    ),
    h("div", { class: "table-meta" }, rows > shown ? `Showing ${shown} of ${rows} rows × ${columns.length} columns` : `${rows} rows × ${columns.length} columns`),
  );
}
