// Bar (grouped), pie and box-and-whisker charts.

import { svg } from "../ui/dom.ts";
import { arr, axes, color, frame, num, obj, root, str, tipHead, tipRow, withUnit, type Ctx, type Drawn, type Legend } from "./chart-kit.ts";
import { buildAxis, formatNumber, linearMap } from "./scale.ts";

// --- bar -----------------------------------------------------------------------------------------

export function drawBar(ctx: Ctx): Drawn {
  const c = ctx.chart;
  const els = arr(c.elements).map((e) => obj(e));
  const cats: string[] = [];
  const groups: string[] = [];
  for (const e of els) {
    const l = str(e.label);
    const g = str(e.group);
    if (!cats.includes(l)) cats.push(l);
    if (!groups.includes(g)) groups.push(g);
  }
  const values = els.filter((e) => !ctx.hidden.has(groups.indexOf(str(e.group)))).map((e) => num(e.value) ?? 0);
  const yAxis = buildAxis(values.length ? values : [0], { includeZero: true, padding: 0.06 });
  const guess = frame(ctx, yAxis.ticks.map((t) => t.label), cats);
  const band = (guess.right - guess.left) / Math.max(1, cats.length);
  const f = frame(ctx, yAxis.ticks.map((t) => t.label), cats, band);
  const sy = linearMap(yAxis.domain, [f.bottom, f.top]);
  const bandW = (f.right - f.left) / Math.max(1, cats.length);
  const inner = bandW * 0.78;
  const visibleGroups = groups.filter((_, i) => !ctx.hidden.has(i));
  const bw = inner / Math.max(1, visibleGroups.length);
  const s = root(ctx);
  const g = svg("g");
  const every = Math.max(1, Math.ceil((cats.length * 14) / Math.max(1, f.right - f.left)));
  axes(
    g,
    ctx,
    f,
    cats.map((label, i) => ({ x: f.left + bandW * (i + 0.5), label: i % every === 0 ? label : "" })),
    yAxis.ticks.map((t) => ({ y: sy(t.value), label: t.label })),
  );
  s.append(g);
  const bars = svg("g");
  s.append(bars);
  const zero = sy(Math.max(yAxis.domain[0], Math.min(0, yAxis.domain[1])));
  for (const e of els) {
    const gi = groups.indexOf(str(e.group));
    if (ctx.hidden.has(gi)) continue;
    const ci = cats.indexOf(str(e.label));
    const v = num(e.value) ?? 0;
    const x = f.left + bandW * ci + (bandW - inner) / 2 + visibleGroups.indexOf(str(e.group)) * bw;
    const y = sy(v);
    const rect = svg("rect", {
      x: x.toFixed(1),
      y: Math.min(y, zero).toFixed(1),
      width: Math.max(1, bw - (visibleGroups.length > 1 ? 1.5 : 0)).toFixed(1),
      height: Math.max(0.5, Math.abs(zero - y)).toFixed(1),
      fill: color(gi),
      class: "bar",
      rx: 1.5,
    });
    rect.addEventListener("pointerenter", () => {
      rect.classList.add("active");
      ctx.tip.show(
        [tipHead(str(e.label)), tipRow(groups.length > 1 ? color(gi) : null, groups.length > 1 ? str(e.group) : str(c.y_label) || "value", withUnit(formatNumber(v), c.y_unit))],
        x + bw / 2,
        Math.min(y, zero),
      );
    });
    rect.addEventListener("pointerleave", () => {
      rect.classList.remove("active");
      ctx.tip.hide();
    });
    bars.append(rect);
  }
  const trivial = groups.length === 1 && /^Group \d+$/.test(groups[0]!);
  return { svg: s, legend: trivial ? [] : groups.map((label, i) => ({ label, color: color(i), index: i, toggles: true })) };
}

// --- pie -----------------------------------------------------------------------------------------

export function drawPie(ctx: Ctx): Drawn {
  const els = arr(ctx.chart.elements).map((e) => obj(e));
  const total = els.reduce((a, e) => a + Math.abs(num(e.angle) ?? 0), 0) || 1;
  const s = root(ctx);
  const cx = ctx.width / 2;
  const cy = ctx.height / 2;
  const r = Math.min(ctx.width, ctx.height) / 2 - 14;
  // matplotlib's default: counter-clockwise from 3 o'clock (SVG's y axis points down, hence the minus).
  let a0 = 0;
  const g = svg("g");
  s.append(g);
  const legend: Legend[] = [];
  els.forEach((e, i) => {
    const sweep = (Math.abs(num(e.angle) ?? 0) / total) * Math.PI * 2;
    const a1 = a0 - sweep;
    const mid = (a0 + a1) / 2;
    const pct = (sweep / (Math.PI * 2)) * 100;
    const label = str(e.label) || `Slice ${i + 1}`;
    const pctText = `${pct >= 10 ? pct.toFixed(0) : pct.toFixed(1)}%`;
    let shape: SVGElement;
    if (sweep >= Math.PI * 2 - 1e-6) {
      shape = svg("circle", { cx, cy, r, fill: color(i), class: "wedge" });
    } else {
      const large = sweep > Math.PI ? 1 : 0;
      const p = (a: number) => `${(cx + r * Math.cos(a)).toFixed(2)},${(cy + r * Math.sin(a)).toFixed(2)}`;
      shape = svg("path", { d: `M${cx},${cy}L${p(a0)}A${r},${r} 0 ${large} 0 ${p(a1)}Z`, fill: color(i), class: "wedge" });
    }
    shape.addEventListener("pointerenter", () => {
      shape.setAttribute("transform", `translate(${(6 * Math.cos(mid)).toFixed(2)} ${(6 * Math.sin(mid)).toFixed(2)})`);
      ctx.tip.show([tipRow(color(i), label, pctText)], cx + r * 0.6 * Math.cos(mid), cy + r * 0.6 * Math.sin(mid));
    });
    shape.addEventListener("pointerleave", () => {
      shape.removeAttribute("transform");
      ctx.tip.hide();
    });
    g.append(shape);
    if (sweep > 0.35) {
      s.append(svg("text", { x: cx + r * 0.66 * Math.cos(mid), y: cy + r * 0.66 * Math.sin(mid), class: "wedge-label", "text-anchor": "middle", "dominant-baseline": "middle" }, pctText));
    }
    legend.push({ label, color: color(i), index: i, toggles: false, note: pctText });
    a0 = a1;
  });
  return { svg: s, legend };
}

// --- box and whisker -----------------------------------------------------------------------------

export function drawBox(ctx: Ctx): Drawn {
  const c = ctx.chart;
  const els = arr(c.elements).map((e) => obj(e));
  const values: number[] = [];
  for (const e of els) {
    for (const k of ["min", "first_quartile", "median", "third_quartile", "max"]) {
      const v = num(e[k]);
      if (v !== null) values.push(v);
    }
    for (const o of arr(e.outliers)) if (num(o) !== null) values.push(o as number);
  }
  const yAxis = buildAxis(values, { padding: 0.06 });
  const labels = els.map((e, i) => str(e.label) || String(i + 1));
  const guess = frame(ctx, yAxis.ticks.map((t) => t.label), labels);
  const f = frame(ctx, yAxis.ticks.map((t) => t.label), labels, (guess.right - guess.left) / Math.max(1, els.length));
  const sy = linearMap(yAxis.domain, [f.bottom, f.top]);
  const bandW = (f.right - f.left) / Math.max(1, els.length);
  const boxW = Math.min(bandW * 0.5, 70);
  const s = root(ctx);
  const g = svg("g");
  axes(g, ctx, f, labels.map((label, i) => ({ x: f.left + bandW * (i + 0.5), label })), yAxis.ticks.map((t) => ({ y: sy(t.value), label: t.label })));
  s.append(g);
  els.forEach((e, i) => {
    const col = color(i);
    const x = f.left + bandW * (i + 0.5);
    const q1 = num(e.first_quartile)!;
    const q3 = num(e.third_quartile)!;
    const lo = num(e.min) ?? q1;
    const hi = num(e.max) ?? q3;
    const med = num(e.median);
    const grp = svg("g", { class: "box" });
    grp.append(
      svg("line", { x1: x, x2: x, y1: sy(lo), y2: sy(q1), stroke: col, class: "whisker" }),
      svg("line", { x1: x, x2: x, y1: sy(q3), y2: sy(hi), stroke: col, class: "whisker" }),
      svg("line", { x1: x - boxW / 4, x2: x + boxW / 4, y1: sy(lo), y2: sy(lo), stroke: col, class: "whisker" }),
      svg("line", { x1: x - boxW / 4, x2: x + boxW / 4, y1: sy(hi), y2: sy(hi), stroke: col, class: "whisker" }),
      svg("rect", { x: x - boxW / 2, y: Math.min(sy(q1), sy(q3)), width: boxW, height: Math.max(1, Math.abs(sy(q1) - sy(q3))), fill: col, stroke: col, class: "box-body" }),
    );
    if (med !== null) grp.append(svg("line", { x1: x - boxW / 2, x2: x + boxW / 2, y1: sy(med), y2: sy(med), class: "median" }));
    for (const o of arr(e.outliers)) {
      const v = num(o);
      if (v !== null) grp.append(svg("circle", { cx: x, cy: sy(v), r: 3, stroke: col, class: "outlier" }));
    }
    const hit = svg("rect", { x: f.left + bandW * i, y: f.top, width: bandW, height: f.bottom - f.top, class: "overlay" });
    hit.addEventListener("pointerenter", () => {
      grp.classList.add("active");
      const outliers = arr(e.outliers).length;
      ctx.tip.show(
        [
          tipHead(labels[i]!),
          tipRow(null, "max", formatNumber(hi)),
          tipRow(null, "Q3", formatNumber(q3)),
          tipRow(null, "median", med === null ? "–" : formatNumber(med)),
          tipRow(null, "Q1", formatNumber(q1)),
          tipRow(null, "min", formatNumber(lo)),
          outliers ? tipRow(null, "outliers", String(outliers)) : null,
        ].filter((n): n is HTMLElement => n !== null),
        x + boxW / 2,
        sy(q3),
      );
    });
    hit.addEventListener("pointerleave", () => {
      grp.classList.remove("active");
      ctx.tip.hide();
    });
    s.append(grp, hit);
  });
  return { svg: s, legend: [] };
}
