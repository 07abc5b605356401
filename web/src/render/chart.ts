// Interactive SVG rendering of the kernel's `chart` JSON (E2B schema: line, scatter, bar, pie,
// box_and_whisker, superchart). Hovering shows the values; legend entries toggle series.
// `isRenderableChart` is false for unknown or empty charts: the caller shows the PNG instead.

import { h, mount } from "../ui/dom.ts";
import { arr, num, obj, SIMPLE, str, Tooltip, type Ctx, type Drawn, type Json } from "./chart-kit.ts";
import { drawPoints } from "./chart-points.ts";
import { drawBar, drawBox, drawPie } from "./chart-shapes.ts";

export function isRenderableChart(chart: unknown): boolean {
  const c = obj(chart);
  const els = arr(c.elements);
  if (c.type === "superchart") return els.length > 0 && els.every(isRenderableChart);
  if (!SIMPLE.has(str(c.type)) || els.length === 0) return false;
  switch (c.type) {
    case "line":
    case "scatter":
      return els.every((e) => Array.isArray(obj(e).points)) && els.some((e) => arr(obj(e).points).length > 0);
    case "bar":
      return els.every((e) => num(obj(e).value) !== null);
    case "pie":
      return els.every((e) => num(obj(e).angle) !== null);
    default:
      return els.every((e) => num(obj(e).first_quartile) !== null && num(obj(e).third_quartile) !== null);
  }
}

export function renderChart(chart: unknown): HTMLElement {
  const c = obj(chart);
  if (c.type !== "superchart") return panel(c, "chart");
  const title = str(c.title);
  return h(
    "div",
    { class: "chart superchart", "data-testid": "chart", "data-chart-type": "superchart" },
    title ? h("div", { class: "chart-title" }, title) : null,
    h("div", { class: "superchart-grid" }, arr(c.elements).map((e) => panel(obj(e), "chart-panel"))),
  );
}

function panel(c: Json, testid: string): HTMLElement {
  const type = str(c.type);
  const title = str(c.title);
  const plot = h("div", { class: "chart-plot" });
  const tipEl = h("div", { class: "chart-tip", hidden: true, role: "tooltip" });
  const legendEl = h("div", { class: "chart-legend" });
  const root = h(
    "div",
    { class: "chart", "data-testid": testid, "data-chart-type": type },
    title ? h("div", { class: "chart-title" }, title) : null,
    plot,
    legendEl,
  );
  const tip = new Tooltip(plot, tipEl);
  const hidden = new Set<number>();
  let lastWidth = -1;

  const draw = (force = false) => {
    const width = Math.max(240, Math.round(plot.clientWidth || 560));
    if (!force && Math.abs(width - lastWidth) < 2) return;
    lastWidth = width;
    const height = type === "pie" ? Math.round(Math.min(320, Math.max(220, width * 0.55))) : Math.round(Math.min(420, Math.max(240, width * 0.58)));
    const ctx: Ctx = { chart: c, width, height, hidden, tip };
    let drawn: Drawn;
    try {
      drawn = DRAW[type]!(ctx);
    } catch (e) {
      console.warn("cellblock: chart failed to render", e);
      mount(plot, h("div", { class: "chart-failed" }, "This chart could not be drawn."));
      return;
    }
    drawn.svg.setAttribute("role", "img");
    drawn.svg.setAttribute("aria-label", `${type.replace(/_/g, " ")} chart${title ? `: ${title}` : ""}`);
    mount(plot, drawn.svg, tipEl);
    tip.hide();
    mount(
      legendEl,
      drawn.legend.map((item) =>
        item.toggles
          ? h(
              "button",
              {
                type: "button",
                class: "legend-item" + (hidden.has(item.index) ? " off" : ""),
                "aria-pressed": String(!hidden.has(item.index)),
                "aria-label": `Show or hide ${item.label}`,
                onclick: () => {
                  if (hidden.has(item.index)) hidden.delete(item.index);
                  else hidden.add(item.index);
                  draw(true);
                },
              },
              h("span", { class: "swatch", style: { background: item.color } }),
              item.label,
            )
          : h("span", { class: "legend-item static" }, h("span", { class: "swatch", style: { background: item.color } }), item.label, item.note ? h("span", { class: "legend-note" }, item.note) : null),
      ),
    );
    legendEl.hidden = drawn.legend.length === 0;
  };
  draw(true);
  if (typeof ResizeObserver !== "undefined") new ResizeObserver(() => draw()).observe(plot);
  return root;
}

const DRAW: Record<string, (ctx: Ctx) => Drawn> = {
  line: (ctx) => drawPoints(ctx, false),
  scatter: (ctx) => drawPoints(ctx, true),
  bar: drawBar,
  pie: drawPie,
  box_and_whisker: drawBox,
};

