import assert from "node:assert/strict";
import { test } from "node:test";
import { isRenderableChart } from "../src/render/chart.ts";
import { estimateHeight } from "../src/render/frame.ts";
import { buildAxis, formatNumber, niceTicks } from "../src/render/scale.ts";

test("nice ticks", () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(2.96, 3.17, 4), [3, 3.05, 3.1, 3.15]);
  assert.deepEqual(niceTicks(-1, 1, 4), [-1, -0.5, 0, 0.5, 1]);
});

test("number formats", () => {
  assert.equal(formatNumber(0), "0");
  assert.equal(formatNumber(1250), "1,250");
  assert.equal(formatNumber(3.14159), "3.1416");
  assert.equal(formatNumber(0.00001234), "1.234e-5");
  assert.equal(formatNumber(0.5, 0.25), "0.5");
});

test("kernel ticks are used when they fit the data, labels filled in when empty", () => {
  const axis = buildAxis([0, 6.28], { scale: "linear", ticks: [-1, 0, 2, 4, 6, 8], tickLabels: ["", "", "", "", "", ""] });
  assert.equal(axis.kind, "linear");
  assert.deepEqual(axis.ticks.map((t) => t.label), ["0", "2", "4", "6"]);
  const given = buildAxis([0, 10], { ticks: [0, 5, 10], tickLabels: ["zero", "five", "ten"] });
  assert.deepEqual(given.ticks.map((t) => t.label), ["zero", "five", "ten"]);
});

test("datetime, categorical and log axes", () => {
  const time = buildAxis(["2025-01-01T00:00:00", "2025-03-01T00:00:00"], { scale: "datetime" });
  assert.equal(time.kind, "time");
  assert.equal(time.toNum("2025-01-01T00:00:00"), Date.parse("2025-01-01T00:00:00"));
  const cat = buildAxis(["b", "a", "b"], {});
  assert.equal(cat.kind, "category");
  assert.deepEqual(cat.categories, ["b", "a"]);
  assert.equal(cat.toNum("a"), 1);
  const log = buildAxis([1, 1000], { scale: "log" });
  assert.equal(log.kind, "log");
  assert.deepEqual(log.ticks.map((t) => t.label), ["1", "10", "100", "1,000"]);
});

test("bars include zero", () => {
  const axis = buildAxis([3, 5], { includeZero: true });
  assert.equal(axis.domain[0], 0);
});

test("which charts are drawn interactively (others fall back to the PNG)", () => {
  assert.ok(isRenderableChart({ type: "line", elements: [{ label: "a", points: [[0, 1]] }] }));
  assert.ok(isRenderableChart({ type: "bar", elements: [{ label: "a", group: "g", value: 1 }] }));
  assert.ok(isRenderableChart({ type: "pie", elements: [{ label: "a", angle: 360, radius: 1 }] }));
  assert.ok(isRenderableChart({ type: "box_and_whisker", elements: [{ label: "a", min: 0, first_quartile: 1, median: 2, third_quartile: 3, max: 4, outliers: [] }] }));
  assert.ok(isRenderableChart({ type: "superchart", elements: [{ type: "scatter", elements: [{ label: "s", points: [[1, 2]] }] }] }));
  assert.ok(!isRenderableChart({ type: "unknown", elements: [] }));
  assert.ok(!isRenderableChart({ type: "line", elements: [] }));
  assert.ok(!isRenderableChart({ type: "superchart", elements: [{ type: "unknown", elements: [] }] }));
  assert.ok(!isRenderableChart(null));
});

test("HTML frame heights", () => {
  assert.equal(estimateHeight("<b>hi</b>"), 56);
  const table = `<table>${"<tr><td>1</td></tr>".repeat(10)}</table>`;
  assert.ok(estimateHeight(table) >= 10 * 27);
  assert.equal(estimateHeight(`<table>${"<tr><td>1</td></tr>".repeat(1000)}</table>`), 560);
});
