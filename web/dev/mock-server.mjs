#!/usr/bin/env node
// A stand-in for `cellblock serve` while developing the web app: implements docs/web-api.md with canned
// answers (see scenarios.mjs) and serves the built app from ../dist.
//
//   node dev/mock-server.mjs [--port 8787] [--token dev-token] [--open] [--no-providers] [--dist DIR]
//
// --open skips the login; --no-providers makes GET /api/config return no providers.

import { randomBytes, randomUUID } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { images, pickScenario, scenarios, sineChart, stockData } from "./scenarios.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const PORT = Number(option("--port", process.env.PORT ?? "8787"));
const TOKEN = option("--token", process.env.MOCK_TOKEN ?? "dev-token");
const OPEN = flag("--open");
const NO_PROVIDERS = flag("--no-providers");
const DIST = resolve(option("--dist", join(here, "..", "dist")));

const sessions = new Set();
const chats = new Map();
const files = new Map(); // path -> {data: Buffer, mtime: Date}
const dirs = new Set(["/home/user", "/home/user/out"]);

// --- seed data ------------------------------------------------------------------------------------

function putFile(path, data) {
  files.set(path, { data: Buffer.isBuffer(data) ? data : Buffer.from(data), mtime: new Date() });
  let d = dirname(path);
  while (d.startsWith("/home/user") && !dirs.has(d)) {
    dirs.add(d);
    d = dirname(d);
  }
}
const stock = stockData();
putFile("/home/user/stocks.csv", ["ticker,return_pct", ...stock.ticker.map((t, i) => `${t},${stock.return_pct[i]}`)].join("\n") + "\n");
putFile("/home/user/notes.txt", "Remember: variables persist between cells.\n");
putFile("/home/user/out/plot.png", Buffer.from(images.PNG_SINE, "base64"));

// --- UI message stream writer -------------------------------------------------------------------------

class Aborted extends Error {}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Streamer {
  constructor(write, { fast = false } = {}) {
    this.write = write;
    this.fast = fast;
    this.aborted = false;
    this.message = { id: `msg_${randomBytes(6).toString("hex")}`, role: "assistant", parts: [] };
    this.texts = new Map();
    this.tools = new Map();
    this.inStep = false;
    this.n = 0;
    this.finishReason = "stop";
  }

  chunk(c) {
    if (this.aborted) throw new Aborted();
    this.write(`data: ${JSON.stringify(c)}\n\n`);
    this.record(c);
  }

  record(c) {
    const parts = this.message.parts;
    switch (c.type) {
      case "text-start": {
        const p = { type: "text", text: "" };
        parts.push(p);
        this.texts.set(c.id, p);
        break;
      }
      case "text-delta":
        this.texts.get(c.id).text += c.delta;
        break;
      case "tool-input-start":
      case "tool-input-available": {
        let p = this.tools.get(c.toolCallId);
        if (!p) {
          p = { type: `tool-${c.toolName}`, toolCallId: c.toolCallId, state: "input-streaming", input: {} };
          parts.push(p);
          this.tools.set(c.toolCallId, p);
        }
        if (c.type === "tool-input-available") {
          p.state = "input-available";
          p.input = c.input;
        }
        break;
      }
      case "tool-output-available": {
        const p = this.tools.get(c.toolCallId);
        p.state = "output-available";
        p.output = c.output;
        break;
      }
      case "tool-output-error": {
        const p = this.tools.get(c.toolCallId);
        p.state = "output-error";
        p.errorText = c.errorText;
        break;
      }
    }
  }

  async sleep(ms) {
    if (!this.fast) await sleep(ms);
    if (this.aborted) throw new Aborted();
  }

  step() {
    if (!this.inStep) {
      this.chunk({ type: "start-step" });
      this.inStep = true;
    }
  }

  endStep() {
    if (this.inStep) this.chunk({ type: "finish-step" });
    this.inStep = false;
  }

  async text(str) {
    await this.textSlow(str.match(/[\s\S]{1,6}/g) ?? [], 14, "");
  }

  async textSlow(pieces, ms, sep = " ") {
    this.step();
    const id = `${this.message.id}-${this.n++}`;
    this.chunk({ type: "text-start", id });
    for (const piece of pieces) {
      this.chunk({ type: "text-delta", id, delta: piece + sep });
      await this.sleep(ms);
    }
    this.chunk({ type: "text-end", id });
  }

  async tool({ input, stdout = [], stderr = [], results = [], error = null, executionCount = 1, stepMs = 260, streamInput = true }) {
    this.step();
    const toolCallId = `toolu_${randomBytes(5).toString("hex")}`;
    if (streamInput) {
      this.chunk({ type: "tool-input-start", toolCallId, toolName: "run_code" });
      const json = JSON.stringify(input);
      for (let i = 0; i < json.length; i += 9) {
        this.chunk({ type: "tool-input-delta", toolCallId, inputTextDelta: json.slice(i, i + 9) });
        await this.sleep(10);
      }
    }
    this.chunk({ type: "tool-input-available", toolCallId, toolName: "run_code", input });
    await this.sleep(350);
    let out = "";
    let err = "";
    for (let i = 0; i < Math.max(stdout.length, stderr.length); i++) {
      out += stdout[i] ?? "";
      err += stderr[i] ?? "";
      this.chunk({ type: "tool-output-available", toolCallId, preliminary: true, output: { stdout: out, stderr: err, results: [], error: null } });
      await this.sleep(stepMs);
    }
    this.chunk({ type: "tool-output-available", toolCallId, output: { stdout: out, stderr: err, results, error, executionCount } });
    this.endStep();
  }
}

function sseHead(res) {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-vercel-ai-ui-message-stream": "v1",
    "x-accel-buffering": "no",
  });
  res.write(": stream-open\n\n");
}

// --- chats ----------------------------------------------------------------------------------------

function chatFor(id, title) {
  let chat = chats.get(id);
  if (!chat) {
    const now = new Date().toISOString();
    chat = { id, title, model: "anthropic/claude-sonnet-4-5", createdAt: now, updatedAt: now, messages: [] };
    chats.set(id, chat);
  }
  return chat;
}

async function seedChat(title, prompt, ageMinutes) {
  const s = new Streamer(() => {}, { fast: true });
  await scenarios[pickScenario(prompt)](s, prompt);
  const chat = chatFor(randomUUID(), title);
  chat.messages.push({ id: randomUUID(), role: "user", parts: [{ type: "text", text: prompt }] }, s.message);
  chat.createdAt = chat.updatedAt = new Date(Date.now() - ageMinutes * 60000).toISOString();
}
await seedChat("Quarterly revenue charts", "show me some charts", 60 * 26);
await seedChat("Sine and cosine", "plot sin and cos", 60 * 3);

async function chatTurn(req, res, body) {
  const last = Array.isArray(body.messages) ? body.messages[body.messages.length - 1] : null;
  if (typeof body.id !== "string" || !last || last.role !== "user") return error(res, 400, "expected {id, messages: [user message]}");
  const prompt = (last.parts ?? []).filter((p) => p.type === "text").map((p) => p.text).join("\n");
  const files = (last.parts ?? []).filter((p) => p.type === "file");
  const kind = pickScenario(prompt);
  if (kind === "http") return error(res, 500, "The model provider is not reachable (mock HTTP error)");
  if (!NO_PROVIDERS && body.model && !String(body.model).includes("/")) return error(res, 400, `unknown model ${body.model}`);
  const chat = chatFor(body.id, prompt.split("\n")[0].slice(0, 60) || files[0]?.filename || "New chat");
  chat.messages.push(last);
  sseHead(res);
  const s = new Streamer((t) => res.write(t));
  res.on("close", () => (s.aborted = true));
  try {
    s.write(`data: ${JSON.stringify({ type: "data-chat", data: { id: chat.id, title: chat.title }, transient: true })}\n\n`);
    s.chunk({ type: "start", messageId: s.message.id });
    if (kind === "drop") {
      await s.text("This connection will drop in the middle of a sen");
      await sleep(300);
      res.destroy();
      return;
    }
    if (files.length) await s.text(`I can see ${files.map((f) => `\`${f.filename}\``).join(", ")} in \`/home/user\`. `);
    await scenarios[kind](s, prompt);
    s.endStep();
    s.chunk({ type: "finish", finishReason: s.finishReason });
    res.write("data: [DONE]\n\n");
    res.end();
  } catch (e) {
    if (!(e instanceof Aborted)) throw e;
    s.finishReason = "interrupted";
  } finally {
    chat.messages.push(s.message);
    chat.updatedAt = new Date().toISOString();
  }
}

async function runCode(req, res, body) {
  const code = String(body.code ?? "");
  sseHead(res);
  const s = new Streamer((t) => res.write(t));
  res.on("close", () => (s.aborted = true));
  const prints = [...code.matchAll(/print\((["'])(.*?)\1\)/g)].map((m) => `${m[2]}\n`);
  const lastLine = code.trim().split("\n").pop() ?? "";
  const results = [];
  let error = null;
  let stdout = prints;
  let stepMs = 200;
  if (/raise|1\s*\/\s*0/.test(code)) {
    error = { name: "ZeroDivisionError", value: "division by zero", traceback: "\u001b[0;31mZeroDivisionError\u001b[0m: division by zero" };
  }
  if (/sleep/.test(code)) {
    stdout = Array.from({ length: 20 }, (_, i) => `tick ${i}\n`);
    stepMs = 500;
  }
  if (/plt\./.test(code)) results.push({ text: "<Figure>", png: images.PNG_SINE, chart: sineChart() });
  if (/DataFrame|\bdf\b/.test(code)) results.push({ text: "DataFrame", data: stockData(), isMainResult: true });
  if (/^[\d\s+\-*/().]+$/.test(lastLine)) {
    try {
      results.push({ text: String(Function(`"use strict";return (${lastLine})`)()), isMainResult: true });
    } catch {
      // not an expression
    }
  }
  const chat = body.chatId ? chatFor(String(body.chatId), "Code run") : null;
  try {
    s.chunk({ type: "start", messageId: s.message.id });
    await s.tool({ input: { language: body.language ?? "python", code }, stdout, results, error, executionCount: 7, stepMs, streamInput: false });
    s.chunk({ type: "finish", finishReason: "stop" });
    res.write("data: [DONE]\n\n");
    res.end();
  } catch (e) {
    if (!(e instanceof Aborted)) throw e;
  } finally {
    if (chat) {
      chat.messages.push(s.message);
      chat.updatedAt = new Date().toISOString();
    }
  }
}

// --- files ----------------------------------------------------------------------------------------

function listDir(path) {
  const p = path.replace(/\/+$/, "") || "/";
  if (!dirs.has(p)) return null;
  const entries = [];
  for (const d of dirs) if (dirname(d) === p && d !== p) entries.push({ name: d.split("/").pop(), path: d, type: "dir", size: 0, modifiedTime: new Date().toISOString() });
  for (const [fp, f] of files) if (dirname(fp) === p) entries.push({ name: fp.split("/").pop(), path: fp, type: "file", size: f.data.length, modifiedTime: f.mtime.toISOString() });
  return { path: p, entries };
}

// --- HTTP plumbing --------------------------------------------------------------------------------

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function error(res, status, message) {
  json(res, status, { code: status, message });
}

function readBody(req) {
  return new Promise((resolveBody, reject) => {
    const parts = [];
    req.on("data", (d) => parts.push(d));
    req.on("end", () => resolveBody(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

function authed(req) {
  if (OPEN) return true;
  if (req.headers["x-api-key"] === TOKEN) return true;
  const m = /(?:^|;\s*)cellblock_session=([^;]+)/.exec(req.headers.cookie ?? "");
  return !!m && sessions.has(m[1]);
}

function login(res, status, extraHeaders = {}) {
  const sid = randomBytes(16).toString("hex");
  sessions.add(sid);
  res.writeHead(status, { "set-cookie": `cellblock_session=${sid}; HttpOnly; SameSite=Strict; Path=/`, ...extraHeaders });
  res.end();
}

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json", ".ico": "image/x-icon", ".woff2": "font/woff2" };

async function serveStatic(req, res, pathname) {
  const rel = pathname === "/" ? "/index.html" : pathname;
  const file = normalize(join(DIST, rel));
  if (!file.startsWith(DIST)) return error(res, 403, "forbidden");
  try {
    if (!(await stat(file)).isFile()) throw new Error("not a file");
    const body = await readFile(file);
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "cache-control": rel.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
      // The same policy as `cellblock serve` (src/app/asset_routes.cpp), so the app is checked under it.
      ...(extname(file) === ".html"
        ? { "content-security-policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-src 'self' blob: data:; frame-ancestors 'none'; base-uri 'none'", "referrer-policy": "no-referrer" }
        : {}),
    });
    res.end(body);
  } catch {
    if (pathname === "/" || pathname === "/index.html") {
      res.writeHead(503, { "content-type": "text/plain" });
      res.end(`No build in ${DIST}: run \`npm run build\` first.\n`);
    } else error(res, 404, "not found");
  }
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://localhost");
  const { pathname } = url;
  try {
    if (req.method === "GET" && pathname === "/login") {
      if (url.searchParams.get("token") === TOKEN) return login(res, 303, { location: "/" });
      res.writeHead(401, { "content-type": "text/html" });
      return res.end("<h1>Wrong token</h1>");
    }
    if (!pathname.startsWith("/api/")) return serveStatic(req, res, pathname);
    if (req.method === "POST" && pathname === "/api/login") {
      const body = JSON.parse((await readBody(req)).toString() || "{}");
      if (body.token === TOKEN) return login(res, 204);
      return error(res, 401, "wrong token");
    }
    if (!authed(req)) return error(res, 401, "login required");
    if (req.method === "POST" && pathname === "/api/logout") {
      res.writeHead(204, { "set-cookie": "cellblock_session=; Max-Age=0; Path=/" });
      return res.end();
    }
    if (req.method === "GET" && pathname === "/api/session") return json(res, 200, { user: "local" });
    if (req.method === "GET" && pathname === "/api/config") {
      return json(res, 200, {
        providers: NO_PROVIDERS
          ? []
          : [
              { id: "anthropic", name: "Anthropic", models: ["claude-sonnet-4-5", "claude-haiku-4-5"] },
              { id: "openai", name: "OpenAI-compatible", models: ["gpt-4.1-mini", "llama3.1"] },
            ],
        defaultModel: NO_PROVIDERS ? null : "anthropic/claude-sonnet-4-5",
        user: "local",
      });
    }
    if (req.method === "GET" && pathname === "/api/chats") {
      const list = [...chats.values()].map(({ messages, ...c }) => c).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
      return json(res, 200, { chats: list });
    }
    const chatMatch = /^\/api\/chats\/([^/]+)$/.exec(pathname);
    if (chatMatch) {
      const id = decodeURIComponent(chatMatch[1]);
      if (req.method === "GET") return chats.has(id) ? json(res, 200, chats.get(id)) : error(res, 404, "no such chat");
      if (req.method === "DELETE") {
        chats.delete(id);
        res.writeHead(204);
        return res.end();
      }
    }
    if (req.method === "POST" && pathname === "/api/chat") return chatTurn(req, res, JSON.parse((await readBody(req)).toString()));
    if (req.method === "POST" && pathname === "/api/run") return runCode(req, res, JSON.parse((await readBody(req)).toString()));
    if (pathname === "/api/files") {
      const path = url.searchParams.get("path") ?? "/home/user";
      if (req.method === "GET") {
        const listing = listDir(path);
        return listing ? json(res, 200, listing) : error(res, 404, `no such directory: ${path}`);
      }
      if (req.method === "POST") {
        if (!path.startsWith("/home/user/")) return error(res, 400, "path must be under /home/user");
        const data = await readBody(req);
        await sleep(300);
        putFile(path, data);
        return json(res, 200, { name: path.split("/").pop(), path, size: data.length });
      }
    }
    if (req.method === "GET" && pathname === "/api/files/download") {
      const path = url.searchParams.get("path") ?? "";
      const f = files.get(path);
      if (!f) return error(res, 404, `no such file: ${path}`);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-disposition": `attachment; filename="${path.split("/").pop()}"` });
      return res.end(f.data);
    }
    return error(res, 404, `no route ${req.method} ${pathname}`);
  } catch (e) {
    console.error(e);
    if (!res.headersSent) error(res, 500, String(e?.message ?? e));
    else res.end();
  }
});

server.listen(PORT, "127.0.0.1", () => {
  console.log(`mock cellblock on http://127.0.0.1:${PORT}/  token: ${OPEN ? "(none: --open)" : TOKEN}${NO_PROVIDERS ? "  (no providers)" : ""}`);
  console.log(`login link: http://127.0.0.1:${PORT}/login?token=${TOKEN}`);
});
