// Canned answers for the mock server: each scenario is an async function that writes UI message stream
// chunks through `s` (s.chunk(obj), s.sleep(ms), s.text(str), s.tool(...)), like `cellblock serve` would.

import { plotPng } from "./png.mjs";

const PNG_SINE = plotPng([(t) => 0.5 + 0.4 * Math.sin(t * Math.PI * 4), (t) => 0.5 + 0.4 * Math.cos(t * Math.PI * 4)]).toString("base64");
const PNG_PI = plotPng([(t) => 0.5 + 0.35 * Math.exp(-t * 6) * Math.cos(t * 40), () => 0.5]).toString("base64");

const range = (n, f) => Array.from({ length: n }, (_, i) => f(i));

export function piChart() {
  let inside = 0;
  let seed = 7;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const points = [];
  for (let n = 1; n <= 5000; n++) {
    const x = rand(), y = rand();
    if (x * x + y * y <= 1) inside++;
    if (n % 50 === 0) points.push([n, +(4 * inside / n).toFixed(5)]);
  }
  return {
    type: "line", title: "Monte Carlo estimate of π", x_label: "Samples", y_label: "Estimate", x_unit: null, y_unit: null,
    x_ticks: [-1000, 0, 1000, 2000, 3000, 4000, 5000, 6000], x_tick_labels: ["−1000", "0", "1000", "2000", "3000", "4000", "5000", "6000"], x_scale: "linear",
    y_ticks: [2.9, 3.0, 3.1, 3.2, 3.3, 3.4], y_tick_labels: ["2.9", "3.0", "3.1", "3.2", "3.3", "3.4"], y_scale: "linear",
    elements: [
      { label: "estimate", points },
      { label: "π", points: [[50, Math.PI], [5000, Math.PI]] },
    ],
  };
}

export function sineChart() {
  const xs = range(121, (i) => +(i * (2 * Math.PI) / 120).toFixed(4));
  return {
    type: "line", title: "sin and cos", x_label: "x (rad)", y_label: "y", x_unit: "rad", y_unit: null,
    x_ticks: [0, 1, 2, 3, 4, 5, 6, 7], x_tick_labels: ["", "", "", "", "", "", "", ""], x_scale: "linear",
    y_ticks: [-1, -0.5, 0, 0.5, 1], y_tick_labels: ["−1.0", "−0.5", "0.0", "0.5", "1.0"], y_scale: "linear",
    elements: [
      { label: "sin(x)", points: xs.map((x) => [x, +Math.sin(x).toFixed(4)]) },
      { label: "cos(x)", points: xs.map((x) => [x, +Math.cos(x).toFixed(4)]) },
    ],
  };
}

const TICKERS = ["ACME", "GLOBX", "INITE", "UMBR", "SOYL", "HOOLI", "PIED", "WAYN", "STRK", "CYBD"];
const RETURNS = [12.4, -3.1, 7.8, 22.6, -8.4, 4.2, 15.1, 1.9, -1.2, 9.7];

export function stockData() {
  return {
    ticker: TICKERS,
    price: [101.25, 54.1, 230.0, 12.75, 88.0, 412.5, 33.33, 150.2, 77.7, 19.95],
    return_pct: RETURNS,
    sector: ["Industrial", "Energy", "Tech", "Health", "Food", "Tech", "Tech", "Finance", "Energy", "Tech"],
    listed: ["2001-03-04T00:00:00", "1998-11-20T00:00:00", "2012-06-01T00:00:00", "2019-01-15T00:00:00", "2005-09-09T00:00:00", "2004-08-19T00:00:00", "2014-04-06T00:00:00", "1939-05-27T00:00:00", "2008-05-02T00:00:00", "2020-12-10T00:00:00"],
  };
}

function stockHtml(data) {
  const cols = Object.keys(data);
  const head = `<tr><th></th>${cols.map((c) => `<th>${c}</th>`).join("")}</tr>`;
  const rows = data.ticker.map((_, i) => `<tr><th>${i}</th>${cols.map((c) => `<td>${data[c][i]}</td>`).join("")}</tr>`).join("");
  return `<div><table border="1" class="dataframe"><thead>${head}</thead><tbody>${rows}</tbody></table></div>`;
}

export function barChart() {
  return {
    type: "bar", title: "1-year return by ticker", x_label: "Ticker", y_label: "Return (%)", x_unit: null, y_unit: "%",
    elements: TICKERS.map((t, i) => ({ label: t, group: "Group 0", value: RETURNS[i] })),
  };
}

export function groupedBar() {
  return {
    type: "bar", title: "Quarterly revenue", x_label: "Quarter", y_label: "Revenue (M$)", x_unit: null, y_unit: "M$",
    elements: ["Q1", "Q2", "Q3", "Q4"].flatMap((q, i) => [
      { label: q, group: "2024", value: [12, 15, 14, 19][i] },
      { label: q, group: "2025", value: [14, 18, 17, 23][i] },
    ]),
  };
}

export function priceChart() {
  const start = Date.UTC(2025, 0, 1);
  return {
    type: "line", title: "ACME closing price", x_label: "Date", y_label: "Price ($)", x_unit: null, y_unit: "$",
    x_ticks: ["2025-01-01T00:00:00", "2025-03-01T00:00:00", "2025-05-01T00:00:00", "2025-07-01T00:00:00"], x_tick_labels: ["2025-01", "2025-03", "2025-05", "2025-07"], x_scale: "datetime",
    y_ticks: [], y_tick_labels: [], y_scale: "linear",
    elements: [{ label: "ACME", points: range(180, (i) => [new Date(start + i * 86400000).toISOString().slice(0, 19), +(100 + 10 * Math.sin(i / 15) + i / 8).toFixed(2)]) }],
  };
}

export function scatterChart() {
  let seed = 3;
  const r = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  return {
    type: "scatter", title: "Height vs weight", x_label: "Height (cm)", y_label: "Weight (kg)", x_unit: "cm", y_unit: "kg",
    x_ticks: [], x_tick_labels: [], x_scale: "linear", y_ticks: [], y_tick_labels: [], y_scale: "linear",
    elements: [
      { label: "women", points: range(60, () => { const h = 150 + r() * 30; return [+h.toFixed(1), +(h * 0.38 + r() * 12).toFixed(1)]; }) },
      { label: "men", points: range(60, () => { const h = 165 + r() * 30; return [+h.toFixed(1), +(h * 0.45 + r() * 14).toFixed(1)]; }) },
    ],
  };
}

export function pieChart() {
  return { type: "pie", title: "Market share", elements: [{ label: "Tech", angle: 162, radius: 1 }, { label: "Energy", angle: 72, radius: 1 }, { label: "Finance", angle: 54, radius: 1 }, { label: "Health", angle: 36, radius: 1 }, { label: "Food", angle: 36, radius: 1 }] };
}

export function boxChart() {
  return {
    type: "box_and_whisker", title: "Response time by region", x_label: "Region", y_label: "Latency (ms)", x_unit: null, y_unit: "ms",
    elements: [
      { label: "eu-west", min: 12, first_quartile: 20, median: 25, third_quartile: 31, max: 44, outliers: [61, 70] },
      { label: "us-east", min: 15, first_quartile: 24, median: 29, third_quartile: 36, max: 52, outliers: [] },
      { label: "ap-south", min: 30, first_quartile: 41, median: 48, third_quartile: 57, max: 80, outliers: [95] },
    ],
  };
}

const PI_CODE = `import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(7)
n = 5_000
xy = rng.random((n, 2))
inside = (xy ** 2).sum(axis=1) <= 1
estimates = 4 * np.cumsum(inside) / np.arange(1, n + 1)

for k in (1000, 2000, 3000, 4000, 5000):
    print(f"{k:>5} samples: pi ≈ {estimates[k - 1]:.5f}")

plt.figure(figsize=(8, 5))
plt.plot(np.arange(1, n + 1)[49::50], estimates[49::50], label="estimate")
plt.axhline(np.pi, color="tab:orange", label="π")
plt.title("Monte Carlo estimate of π")
plt.xlabel("Samples")
plt.ylabel("Estimate")
plt.legend()
plt.show()
`;

const STOCK_CODE = `import pandas as pd
import matplotlib.pyplot as plt

df = pd.DataFrame({
    "ticker": ${JSON.stringify(TICKERS)},
    "return_pct": ${JSON.stringify(RETURNS)},
})
df.plot.bar(x="ticker", y="return_pct", legend=False, title="1-year return by ticker")
df
`;

const ERROR_CODE = `import pandas as pd
df = pd.read_csv("sales.csv")
df["revenue"].sum()
`;

const ANSI_TB = [
  "\u001b[0;31m---------------------------------------------------------------------------\u001b[0m",
  "\u001b[0;31mFileNotFoundError\u001b[0m                         Traceback (most recent call last)",
  "Cell \u001b[0;32mIn[4], line 2\u001b[0m",
  "\u001b[1;32m      1\u001b[0m \u001b[38;5;28;01mimport\u001b[39;00m \u001b[38;5;21;01mpandas\u001b[39;00m \u001b[38;5;28;01mas\u001b[39;00m \u001b[38;5;21;01mpd\u001b[39;00m",
  "\u001b[0;32m----> 2\u001b[0m df \u001b[38;5;241m=\u001b[39m pd\u001b[38;5;241m.\u001b[39mread_csv(\u001b[38;5;124m\"\u001b[39m\u001b[38;5;124msales.csv\u001b[39m\u001b[38;5;124m\"\u001b[39m)",
  "",
  "\u001b[0;31mFileNotFoundError\u001b[0m: [Errno 2] No such file or directory: 'sales.csv'",
].join("\n");

export const scenarios = {
  async pi(s) {
    await s.text("I'll estimate π by sampling random points in the unit square and counting how many land inside the quarter circle.");
    await s.tool({
      input: { language: "python", title: "Monte Carlo estimate of π", description: "5,000 random points; plot the running estimate", code: PI_CODE },
      stdout: [" 1000 samples: pi ≈ 3.15200\n", " 2000 samples: pi ≈ 3.14600\n", " 3000 samples: pi ≈ 3.13867\n", " 4000 samples: pi ≈ 3.14300\n", " 5000 samples: pi ≈ 3.14080\n"],
      results: [{ text: "<Figure size 800x500 with 1 Axes>", png: PNG_PI, chart: piChart() }],
      executionCount: 1,
    });
    await s.text("After **5,000** samples the estimate is **3.1408**, within 0.03 % of π.\n\n| samples | estimate |\n|---:|---:|\n| 1,000 | 3.15200 |\n| 5,000 | 3.14080 |\n\nThe error shrinks like `1/√n`, so each extra digit costs about 100× more samples:\n\n```python\nerror ≈ 1.64 / np.sqrt(n)\n```");
  },

  async sine(s) {
    await s.text("Here are sin(x) and cos(x) over one period.");
    await s.tool({
      input: { title: "Plot sin and cos", code: "import numpy as np\nimport matplotlib.pyplot as plt\nx = np.linspace(0, 2 * np.pi, 121)\nplt.plot(x, np.sin(x), label='sin(x)')\nplt.plot(x, np.cos(x), label='cos(x)')\nplt.legend(); plt.show()\n" },
      results: [{ text: "<Figure size 640x480 with 1 Axes>", png: PNG_SINE, chart: sineChart() }],
      executionCount: 2,
    });
    await s.text("They cross at π/4 and 5π/4.");
  },

  async table(s) {
    await s.text("Let me build the DataFrame and chart the returns.");
    const data = stockData();
    await s.tool({
      input: { title: "Returns of 10 stocks", description: "DataFrame + bar chart", code: STOCK_CODE },
      results: [
        { text: "<Figure size 640x480 with 1 Axes>", png: PNG_SINE, chart: barChart() },
        { text: "  ticker  return_pct\n0   ACME        12.4\n…", html: stockHtml(data), data, isMainResult: true },
      ],
      executionCount: 3,
    });
    await s.tool({
      input: { title: "Price history", code: "df_prices.plot(x='date', y='ACME')" },
      results: [{ text: "<Figure>", png: PNG_SINE, chart: priceChart() }],
      executionCount: 4,
    });
    await s.text("**UMBR** leads with +22.6 %; **SOYL** trails at −8.4 %.");
  },

  async charts(s) {
    await s.text("A few more chart types:");
    await s.tool({
      input: { title: "Chart gallery", code: "fig, axes = plt.subplots(2, 2)\n..." },
      stderr: ["/usr/lib/python3/site-packages/matplotlib/axes.py:123: UserWarning: tight_layout not applied\n"],
      results: [
        { png: PNG_SINE, chart: { type: "superchart", title: "Gallery", elements: [scatterChart(), groupedBar()] } },
        { png: PNG_SINE, chart: pieChart() },
        { png: PNG_SINE, chart: boxChart() },
        { png: PNG_SINE, chart: { type: "unknown", title: "Heatmap", elements: [] } },
        { html: "<div style='padding:12px;border-radius:8px;background:linear-gradient(90deg,#2563eb,#7c3aed);color:white;font:600 16px system-ui'>An HTML result in a sandboxed frame</div>" },
        { svg: "<svg xmlns='http://www.w3.org/2000/svg' width='200' height='80'><rect width='200' height='80' rx='10' fill='#10b981'/><text x='100' y='48' font-size='20' text-anchor='middle' fill='white' font-family='sans-serif'>SVG result</text></svg>" },
        { json: { answer: 42, items: [1, 2, 3] } },
        { markdown: "**Markdown** result with `code`" },
        { text: "42", isMainResult: true },
      ],
      executionCount: 5,
    });
  },

  async error(s) {
    await s.text("Reading the sales file:");
    await s.tool({
      input: { title: "Load sales.csv", code: ERROR_CODE },
      error: { name: "FileNotFoundError", value: "[Errno 2] No such file or directory: 'sales.csv'", traceback: ANSI_TB },
      executionCount: 4,
    });
    await s.text("The file isn't there. Upload **sales.csv** with the paperclip button and ask again.");
  },

  async slow(s) {
    const words = "This answer streams slowly so that you can press Stop. ".repeat(4).split(" ");
    await s.textSlow(words, 120);
    await s.tool({
      input: { title: "Long computation", code: "import time\nfor i in range(30):\n    print(f'step {i}', flush=True)\n    time.sleep(1)\n" },
      stdout: range(30, (i) => `step ${i}\n`),
      stepMs: 1000,
      results: [],
      executionCount: 6,
    });
    await s.text("Done.");
  },

  async streamError(s) {
    await s.text("Starting to answer…");
    s.chunk({ type: "error", errorText: "The model provider returned 529: overloaded. Try again in a minute." });
    s.finishReason = "error";
  },

  async plain(s, prompt) {
    await s.text(`You said: “${prompt.slice(0, 200)}”.\n\nThis is the **mock server**. Try one of these prompts:\n\n- \`pi\` — a streamed cell with a line chart and an image\n- \`table\` — a DataFrame, a bar chart and a datetime line chart\n- \`charts\` — superchart, pie, box, unknown type (PNG fallback), HTML, SVG, JSON\n- \`sin\` — two series\n- \`error\` — a failing cell with a traceback\n- \`slow\` — a slow answer to stop\n- \`stream error\`, \`http error\`, \`drop\` — failures\n\n<script>alert("raw HTML is shown escaped")</script>`);
  },
};

export function pickScenario(prompt) {
  const p = prompt.toLowerCase();
  if (p.includes("http error")) return "http";
  if (p.includes("stream error")) return "streamError";
  if (p.includes("drop")) return "drop";
  if (p.includes("slow")) return "slow";
  if (p.includes("error") || p.includes("fail")) return "error";
  if (p.includes("chart")) return "charts";
  if (p.includes("table") || p.includes("dataframe") || p.includes("stock")) return "table";
  if (p.includes("sin")) return "sine";
  if (p.includes("pi") || p.includes("π") || p.includes("monte") || p.includes("plot")) return "pi";
  return "plain";
}

export const images = { PNG_SINE, PNG_PI };
