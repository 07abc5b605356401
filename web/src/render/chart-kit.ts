// Shared pieces of the chart renderer: JSON access, colours, the frame and axes, the tooltip.

import { h, mount, svg } from "../ui/dom.ts";

export const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
export const SIMPLE = new Set(["line", "scatter", "bar", "pie", "box_and_whisker"]);
export const CHAR_W = 7; // approximate width of a 12 px label character

export type Json = Record<string, unknown>;

export const obj = (v: unknown): Json => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {});
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const str = (v: unknown): string => (typeof v === "string" ? v : v === null || v === undefined ? "" : String(v));
export const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
export const color = (i: number) => PALETTE[i % PALETTE.length]!;

export interface Legend {
  label: string;
  color: string;
  index: number;
  toggles: boolean;
  note?: string;
}

export interface Ctx {
  chart: Json;
  width: number;
  height: number;
  hidden: Set<number>;
  tip: Tooltip;
}

export interface Drawn {
  svg: SVGSVGElement;
  legend: Legend[];
}

export class Tooltip {
  constructor(
    private readonly host: HTMLElement,
    private readonly el: HTMLElement,
  ) {}

  show(rows: (Node | string)[], x: number, y: number): void {
    mount(this.el, ...rows);
    this.el.hidden = false;
    const w = this.el.offsetWidth;
    const hgt = this.el.offsetHeight;
    const max = this.host.clientWidth;
    let left = x + 14;
    if (left + w > max - 4) left = Math.max(4, x - w - 14);
    const top = Math.max(4, y - hgt - 10);
    this.el.style.left = `${left}px`;
    this.el.style.top = `${top}px`;
  }

  hide(): void {
    this.el.hidden = true;
  }
}

export function tipRow(colorValue: string | null, label: string, value: string): HTMLElement {
  return h(
    "div",
    { class: "tip-row" },
    colorValue ? h("span", { class: "swatch", style: { background: colorValue } }) : null,
    label ? h("span", { class: "tip-label" }, label) : null,
    h("span", { class: "tip-value" }, value),
  );
}

export const tipHead = (text: string) => h("div", { class: "tip-head" }, text);

/** Pointer position inside the SVG in its own pixel coordinates. */
export function pointer(svgEl: SVGSVGElement, e: PointerEvent): [number, number] {
  const r = svgEl.getBoundingClientRect();
  const vb = svgEl.viewBox.baseVal;
  const kx = r.width ? vb.width / r.width : 1;
  const ky = r.height ? vb.height / r.height : 1;
  return [(e.clientX - r.left) * kx, (e.clientY - r.top) * ky];
}

export function root(ctx: Ctx): SVGSVGElement {
  return svg("svg", { viewBox: `0 0 ${ctx.width} ${ctx.height}`, width: ctx.width, height: ctx.height, class: "chart-svg" });
}

export interface Frame {
  left: number;
  right: number;
  top: number;
  bottom: number;
  rotate: boolean;
}

export function withUnit(value: string, unit: unknown): string {
  const u = str(unit);
  return u ? `${value} ${u}` : value;
}

/** Plot frame leaving room for tick labels and axis titles. */
export function frame(ctx: Ctx, yTickLabels: string[], xTickLabels: string[], bandWidth?: number): Frame {
  const c = ctx.chart;
  const yw = Math.max(12, ...yTickLabels.map((l) => l.length * CHAR_W));
  const left = Math.ceil(yw + 14 + (str(c.y_label) ? 20 : 0));
  const longest = Math.max(0, ...xTickLabels.map((l) => Math.min(l.length, 20) * CHAR_W));
  const rotate = bandWidth !== undefined && longest > bandWidth - 12;
  const bottomExtra = rotate ? Math.min(90, longest * 0.6 + 6) : 0;
  const bottom = ctx.height - (26 + bottomExtra + (str(c.x_label) ? 20 : 0));
  const lastHalf = rotate ? 0 : Math.min(60, (xTickLabels[xTickLabels.length - 1]?.length ?? 0) * CHAR_W * 0.5);
  return { left, right: ctx.width - Math.max(16, lastHalf), top: 12, bottom, rotate };
}

export function clip(text: string, max = 20): string {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

export function axes(g: SVGGElement, ctx: Ctx, f: Frame, xTicks: { x: number; label: string }[], yTicks: { y: number; label: string }[]): void {
  const c = ctx.chart;
  for (const t of yTicks) {
    g.append(
      svg("line", { x1: f.left, x2: f.right, y1: t.y, y2: t.y, class: "grid" }),
      svg("text", { x: f.left - 8, y: t.y, class: "tick", "text-anchor": "end", "dominant-baseline": "middle" }, t.label),
    );
  }
  g.append(svg("line", { x1: f.left, x2: f.right, y1: f.bottom, y2: f.bottom, class: "axis" }));
  for (const t of xTicks) {
    g.append(svg("line", { x1: t.x, x2: t.x, y1: f.bottom, y2: f.bottom + 4, class: "axis" }));
    if (f.rotate) {
      g.append(svg("text", { x: t.x, y: f.bottom + 10, class: "tick", "text-anchor": "end", transform: `rotate(-35 ${t.x} ${f.bottom + 10})` }, clip(t.label)));
    } else {
      g.append(svg("text", { x: t.x, y: f.bottom + 18, class: "tick", "text-anchor": "middle" }, t.label));
    }
  }
  const xl = str(c.x_label);
  if (xl) g.append(svg("text", { x: (f.left + f.right) / 2, y: ctx.height - 8, class: "axis-label", "text-anchor": "middle" }, xl));
  const yl = str(c.y_label);
  if (yl) {
    const cy = (f.top + f.bottom) / 2;
    g.append(svg("text", { x: 14, y: cy, class: "axis-label", "text-anchor": "middle", transform: `rotate(-90 14 ${cy})` }, yl));
  }
}

export function clipRect(s: SVGSVGElement, f: Frame): string {
  const id = `clip-${Math.random().toString(36).slice(2, 10)}`;
  s.append(svg("defs", {}, svg("clipPath", { id }, svg("rect", { x: f.left, y: f.top - 4, width: f.right - f.left, height: f.bottom - f.top + 8 }))));
  return `url(#${id})`;
}
