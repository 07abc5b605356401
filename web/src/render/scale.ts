// Axes for the chart renderer: linear, log, datetime and categorical scales, ticks and number formats.
// Ticks come from the kernel's chart JSON when they fit the data range, else they are computed.

export type AxisKind = "linear" | "log" | "time" | "category";

export interface Tick {
  value: number;
  label: string;
}

export interface Axis {
  kind: AxisKind;
  /** Data value → axis coordinate (log10 for log axes, ms for time, index for categories); null if unusable. */
  toNum(v: unknown): number | null;
  domain: [number, number];
  ticks: Tick[];
  /** Axis coordinate → a label for tooltips. */
  format(n: number): string;
  categories: string[];
}

export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const pow = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / pow;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * pow;
}

export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const step = niceStep(max - min, count);
  const out: number[] = [];
  const start = Math.ceil(min / step - 1e-9) * step;
  for (let v = start; v <= max + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : +v.toPrecision(12));
  return out;
}

/** A compact number: 0.25, 1,250, 3.4e-7, 1.2e+9. */
export function formatNumber(v: number, step?: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e9 || a < 1e-4) return v.toExponential(step !== undefined ? 1 : 3).replace("e+", "e");
  let decimals: number;
  if (step !== undefined && step > 0) decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
  else decimals = a >= 100 ? 2 : Math.min(6, 4 - Math.floor(Math.log10(a)));
  const s = v.toLocaleString("en-US", { maximumFractionDigits: decimals, minimumFractionDigits: 0 });
  return s.replace(/^-0$/, "0");
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?$/;

function parseTime(v: unknown): number | null {
  if (typeof v === "string") {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  if (typeof v === "number" && Number.isFinite(v)) return v;
  return null;
}

function timeFormatter(span: number): (n: number) => string {
  const day = 86400000;
  return (n: number) => {
    const d = new Date(n);
    if (Number.isNaN(d.getTime())) return "";
    if (span > 2 * 365 * day) return d.toLocaleDateString(undefined, { year: "numeric", month: "short" });
    if (span > 2 * day) return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
    return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  };
}

export interface AxisOptions {
  scale?: string | null;
  ticks?: unknown;
  tickLabels?: unknown;
  includeZero?: boolean;
  /** Fraction of the span added on both sides. */
  padding?: number;
  count?: number;
}

export function buildAxis(values: unknown[], opts: AxisOptions = {}): Axis {
  const count = opts.count ?? 5;
  const present = values.filter((v) => v !== null && v !== undefined);
  let kind: AxisKind;
  if (opts.scale === "datetime") kind = "time";
  else if (opts.scale === "categorical") kind = "category";
  else if (opts.scale === "log" && present.every((v) => typeof v === "number" && v > 0)) kind = "log";
  else if (present.length > 0 && present.every((v) => typeof v === "string")) {
    kind = present.every((v) => ISO_DATE.test(v as string)) ? "time" : "category";
  } else kind = "linear";

  const categories: string[] = [];
  if (kind === "category") {
    const seen = new Set<string>();
    for (const v of present) {
      const s = String(v);
      if (!seen.has(s)) {
        seen.add(s);
        categories.push(s);
      }
    }
  }

  const toNum = (v: unknown): number | null => {
    if (v === null || v === undefined) return null;
    switch (kind) {
      case "time":
        return parseTime(v);
      case "category": {
        const i = categories.indexOf(String(v));
        return i < 0 ? null : i;
      }
      case "log":
        return typeof v === "number" && v > 0 ? Math.log10(v) : null;
      default:
        return typeof v === "number" && Number.isFinite(v) ? v : typeof v === "boolean" ? Number(v) : null;
    }
  };

  const nums = present.map(toNum).filter((n): n is number => n !== null && Number.isFinite(n));
  let lo = nums.length ? Math.min(...nums) : 0;
  let hi = nums.length ? Math.max(...nums) : 1;
  if (opts.includeZero && kind === "linear") {
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
  }
  let domain: [number, number];
  if (kind === "category") domain = [-0.5, Math.max(0, categories.length - 1) + 0.5];
  else {
    if (lo === hi) {
      const d = kind === "time" ? 86400000 : lo === 0 ? 1 : Math.abs(lo) * 0.1;
      lo -= d;
      hi += d;
    }
    const pad = (hi - lo) * (opts.padding ?? 0.04);
    domain = [opts.includeZero && lo === 0 ? 0 : lo - pad, opts.includeZero && hi === 0 ? 0 : hi + pad];
  }

  const span = domain[1] - domain[0];
  const format =
    kind === "time"
      ? timeFormatter(span)
      : kind === "category"
        ? (n: number) => categories[Math.round(n)] ?? ""
        : kind === "log"
          ? (n: number) => formatNumber(Math.pow(10, n))
          : (n: number) => formatNumber(n);

  // Ticks from the kernel (matplotlib's), when enough of them fall inside the data range.
  let ticks: Tick[] = [];
  const given = Array.isArray(opts.ticks) ? opts.ticks : [];
  const givenLabels = Array.isArray(opts.tickLabels) ? opts.tickLabels : [];
  if (kind !== "category" && given.length >= 2) {
    const step = kind === "linear" && given.length >= 2 ? Math.abs(Number(given[1]) - Number(given[0])) : undefined;
    ticks = given
      .map((t, i) => {
        const value = toNum(t);
        const label = typeof givenLabels[i] === "string" ? (givenLabels[i] as string).trim() : "";
        if (value === null) return null;
        return { value, label: label || (kind === "linear" ? formatNumber(value, step) : format(value)) };
      })
      .filter((t): t is Tick => t !== null && t.value >= domain[0] - span * 1e-9 && t.value <= domain[1] + span * 1e-9);
  }
  if (ticks.length < 3) {
    if (kind === "category") {
      const every = Math.max(1, Math.ceil(categories.length / 12));
      ticks = categories.map((c, i) => ({ value: i, label: c })).filter((_, i) => i % every === 0);
    } else if (kind === "log") {
      const vals: number[] = [];
      for (let p = Math.ceil(domain[0]); p <= Math.floor(domain[1]); p++) vals.push(p);
      ticks = (vals.length >= 2 ? vals : niceTicks(domain[0], domain[1], count)).map((v) => ({ value: v, label: format(v) }));
    } else {
      const vals = niceTicks(domain[0], domain[1], count);
      const step = vals.length > 1 ? vals[1]! - vals[0]! : undefined;
      ticks = vals.map((v) => ({ value: v, label: kind === "time" ? format(v) : formatNumber(v, step) }));
    }
  }
  return { kind, toNum, domain, ticks, format, categories };
}

/** Maps a domain onto a pixel range. */
export function linearMap(domain: [number, number], range: [number, number]): ((v: number) => number) & { invert(p: number): number } {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  const f = ((v: number) => r0 + (v - d0) * k) as ((v: number) => number) & { invert(p: number): number };
  f.invert = (p: number) => (k === 0 ? d0 : d0 + (p - r0) / k);
  return f;
}
