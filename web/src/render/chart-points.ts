// Line and scatter charts: one path or dot cloud per series; hover shows the nearest values.

import { mount, svg } from "../ui/dom.ts";
import { arr, axes, clipRect, color, frame, obj, pointer, root, str, tipHead, tipRow, withUnit, type Ctx, type Drawn, type Json } from "./chart-kit.ts";
import { buildAxis, formatNumber, linearMap, type Axis } from "./scale.ts";

interface Series {
  label: string;
  color: string;
  index: number;
  /** [axis x, axis y, raw x, raw y] */
  pts: [number, number, unknown, unknown][];
  sorted: boolean;
}

function pointSeries(c: Json, xAxis: Axis, yAxis: Axis): Series[] {
  return arr(c.elements).map((e, i) => {
    const pts: Series["pts"] = [];
    for (const p of arr(obj(e).points)) {
      const [rx, ry] = arr(p);
      const x = xAxis.toNum(rx);
      const y = yAxis.toNum(ry);
      if (x !== null && y !== null && Number.isFinite(x) && Number.isFinite(y)) pts.push([x, y, rx, ry]);
    }
    let sorted = true;
    for (let k = 1; k < pts.length && sorted; k++) if (pts[k]![0] < pts[k - 1]![0]) sorted = false;
    return { label: str(obj(e).label) || `Series ${i}`, color: color(i), index: i, pts, sorted };
  });
}

function rawLabel(axis: Axis, raw: unknown, n: number): string {
  if (axis.kind === "time" || axis.kind === "category") return axis.format(n);
  return typeof raw === "number" ? formatNumber(raw) : str(raw);
}

function nearestByX(s: Series, x: number): number {
  const p = s.pts;
  if (p.length === 0) return -1;
  if (s.sorted) {
    let lo = 0;
    let hi = p.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (p[mid]![0] < x) lo = mid;
      else hi = mid;
    }
    return Math.abs(p[lo]![0] - x) <= Math.abs(p[hi]![0] - x) ? lo : hi;
  }
  let best = 0;
  for (let k = 1; k < p.length; k++) if (Math.abs(p[k]![0] - x) < Math.abs(p[best]![0] - x)) best = k;
  return best;
}

/** Path data; sorted dense series are thinned to min/max per pixel column. */
function linePath(s: Series, sx: (v: number) => number, sy: (v: number) => number, width: number): string {
  const pts = s.pts;
  const out: string[] = [];
  if (s.sorted && pts.length > width * 3) {
    let col = Number.NaN;
    let lo: Series["pts"][number] | null = null;
    let hi: Series["pts"][number] | null = null;
    const flush = () => {
      if (!lo || !hi) return;
      const a = lo[2] === hi[2] && lo === hi ? [lo] : [lo, hi];
      for (const q of a) out.push(`${out.length ? "L" : "M"}${sx(q[0]).toFixed(1)},${sy(q[1]).toFixed(1)}`);
    };
    for (const p of pts) {
      const c = Math.round(sx(p[0]));
      if (c !== col) {
        flush();
        col = c;
        lo = hi = p;
      } else {
        if (p[1] < lo![1]) lo = p;
        if (p[1] > hi![1]) hi = p;
      }
    }
    flush();
  } else {
    for (const p of pts) out.push(`${out.length ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`);
  }
  return out.join("");
}

export function drawPoints(ctx: Ctx, scatter: boolean): Drawn {
  const c = ctx.chart;
  const xs: unknown[] = [];
  const ys: unknown[] = [];
  for (const e of arr(c.elements)) for (const p of arr(obj(e).points)) {
    const [x, y] = arr(p);
    xs.push(x);
    ys.push(y);
  }
  const xAxis = buildAxis(xs, { scale: str(c.x_scale) || null, ticks: c.x_ticks, tickLabels: c.x_tick_labels, count: Math.max(4, Math.floor(ctx.width / 90)) });
  const yAxis = buildAxis(ys, { scale: str(c.y_scale) || null, ticks: c.y_ticks, tickLabels: c.y_tick_labels });
  const series = pointSeries(c, xAxis, yAxis);
  const f = frame(ctx, yAxis.ticks.map((t) => t.label), xAxis.ticks.map((t) => t.label));
  const sx = linearMap(xAxis.domain, [f.left, f.right]);
  const sy = linearMap(yAxis.domain, [f.bottom, f.top]);
  const s = root(ctx);
  const g = svg("g");
  axes(g, ctx, f, xAxis.ticks.map((t) => ({ x: sx(t.value), label: t.label })), yAxis.ticks.map((t) => ({ y: sy(t.value), label: t.label })));
  s.append(g);
  const plotG = svg("g", { "clip-path": clipRect(s, f) });
  s.append(plotG);
  const visible = series.filter((se) => !ctx.hidden.has(se.index));
  for (const se of visible) {
    if (scatter || se.pts.length === 1) {
      const dots = svg("g", { fill: se.color, class: "dots" });
      for (const p of se.pts) dots.append(svg("circle", { cx: sx(p[0]).toFixed(1), cy: sy(p[1]).toFixed(1), r: scatter ? 3.5 : 3 }));
      plotG.append(dots);
    } else {
      plotG.append(svg("path", { d: linePath(se, sx, sy, f.right - f.left), stroke: se.color, class: "series-line" }));
    }
  }
  const hover = svg("g", { class: "hover" });
  s.append(hover);
  const overlay = svg("rect", { x: f.left, y: f.top, width: f.right - f.left, height: f.bottom - f.top, class: "overlay" });
  s.append(overlay);

  const unitX = c.x_unit;
  const unitY = c.y_unit;
  overlay.addEventListener("pointerleave", () => {
    mount(hover);
    ctx.tip.hide();
  });
  overlay.addEventListener("pointermove", (e) => {
    const [px, py] = pointer(s, e);
    mount(hover);
    if (scatter) {
      let best: { se: Series; k: number; d: number } | null = null;
      for (const se of visible) {
        se.pts.forEach((p, k) => {
          const d = Math.hypot(sx(p[0]) - px, sy(p[1]) - py);
          if (d < 24 && (!best || d < best.d)) best = { se, k, d };
        });
      }
      if (!best) return ctx.tip.hide();
      const { se, k } = best as { se: Series; k: number };
      const p = se.pts[k]!;
      hover.append(svg("circle", { cx: sx(p[0]), cy: sy(p[1]), r: 6, fill: se.color, class: "hover-dot" }));
      // A generic series name ("Line 0") says nothing: the tooltip then shows just the values.
      const head = isGenericLabel(se.label) ? [] : [tipHead(se.label)];
      ctx.tip.show(
        [
          ...head,
          tipRow(null, str(c.x_label) || "x", withUnit(rawLabel(xAxis, p[2], p[0]), unitX)),
          tipRow(null, str(c.y_label) || "y", withUnit(rawLabel(yAxis, p[3], p[1]), unitY)),
        ],
        sx(p[0]),
        sy(p[1]),
      );
      return;
    }
    const dx = sx.invert(px);
    const hits = visible.map((se) => ({ se, k: nearestByX(se, dx) })).filter((hit) => hit.k >= 0);
    if (hits.length === 0) return ctx.tip.hide();
    let anchor = hits[0]!;
    for (const hit of hits) if (Math.abs(sx(hit.se.pts[hit.k]![0]) - px) < Math.abs(sx(anchor.se.pts[anchor.k]![0]) - px)) anchor = hit;
    const ax = sx(anchor.se.pts[anchor.k]![0]);
    const shown = hits.filter((hit) => Math.abs(sx(hit.se.pts[hit.k]![0]) - ax) < 16);
    hover.append(svg("line", { x1: ax, x2: ax, y1: f.top, y2: f.bottom, class: "guide" }));
    for (const hit of shown) {
      const p = hit.se.pts[hit.k]!;
      hover.append(svg("circle", { cx: sx(p[0]), cy: sy(p[1]), r: 4.5, fill: hit.se.color, class: "hover-dot" }));
    }
    const ap = anchor.se.pts[anchor.k]!;
    ctx.tip.show(
      [
        tipHead(withUnit(rawLabel(xAxis, ap[2], ap[0]), unitX)),
        ...shown.map((hit) => {
          const p = hit.se.pts[hit.k]!;
          return tipRow(hit.se.color, hit.se.label, withUnit(rawLabel(yAxis, p[3], p[1]), unitY));
        }),
      ],
      ax,
      Math.min(...shown.map((hit) => sy(hit.se.pts[hit.k]![1]))),
    );
  });
  const trivial = series.length === 1 && isGenericLabel(series[0]!.label);
  return { svg: s, legend: trivial ? [] : series.map((se) => ({ label: se.label, color: se.color, index: se.index, toggles: true })) };
}

/** Labels matplotlib or this renderer make up when a series has no name of its own. */
function isGenericLabel(label: string): boolean {
  return /^(Line|Series) \d+$/.test(label);
}
