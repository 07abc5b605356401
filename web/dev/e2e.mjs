#!/usr/bin/env node
// Browser checks of the app against the mock server (needs Chromium at /usr/bin/chromium or $CHROMIUM).
//   npm run build && node dev/e2e.mjs

import assert from "node:assert/strict";
import { ask, launch, signIn, startMock, waitIdle, watchErrors } from "./browser.mjs";

const mock = await startMock(8793);
const browser = await launch();
const errors = [];
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n     ${String(e.message ?? e).split("\n").slice(0, 6).join("\n     ")}`);
  }
}

const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(15000);
// 404: a new chat that the server does not know yet; 500 and the broken stream: the failure scenarios.
watchErrors(page, errors, /status of (401|404|500)|ERR_INCOMPLETE_CHUNKED_ENCODING/);
const lastAssistant = () => page.locator("[data-testid=message][data-role=assistant]").last();

try {
  await check("wrong token is refused, the right one signs in", async () => {
    await page.goto(mock.url);
    await page.getByTestId("login-token").fill("nope");
    await page.getByTestId("login-submit").click();
    await page.getByTestId("login-error").waitFor();
    await signIn(page, mock.url);
  });

  await check("model choice and theme are remembered", async () => {
    await page.getByTestId("model-select").selectOption("openai/llama3.1");
    await page.getByTestId("theme-toggle").click();
    const theme = await page.evaluate(() => document.documentElement.dataset.theme);
    await page.reload();
    await page.getByTestId("message-list").waitFor();
    assert.equal(await page.getByTestId("model-select").inputValue(), "openai/llama3.1");
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), theme);
  });

  await check("Shift+Enter adds a line instead of sending", async () => {
    const input = page.getByTestId("composer-input");
    await input.fill("line one");
    await input.press("Shift+Enter");
    await input.type("line two");
    assert.equal(await input.inputValue(), "line one\nline two");
    assert.equal(await page.locator("[data-testid=message]").count(), 0);
    await input.fill("");
  });

  await check("code is visible while the model writes it; the cell completes with a chart", async () => {
    const body = page.waitForRequest((r) => r.url().endsWith("/api/chat"));
    await ask(page, "calculate pi with Monte Carlo and plot it");
    const sent = JSON.parse((await body).postData());
    assert.equal(sent.messages.length, 1);
    assert.equal(sent.messages[0].role, "user");
    assert.equal(sent.model, "openai/llama3.1");
    await page.locator("[data-testid=tool-card][data-status=writing]").waitFor();
    await page.getByTestId("result-area").getByText("import numpy").first().waitFor();
    await page.getByTestId("stop-button").waitFor();
    await waitIdle(page);
    await page.locator("[data-testid=tool-card][data-state=output-available][data-status=complete]").waitFor();
    assert.match(await page.getByTestId("stdout").textContent(), /5000 samples/);
    await page.getByTestId("chart").first().waitFor();
    assert.equal(await lastAssistant().getAttribute("data-status"), "done");
    assert.match(await page.locator("[data-testid=chat-item][aria-current=page]").textContent(), /calculate pi/);
  });

  await check("hovering a chart shows the values", async () => {
    const svg = page.getByTestId("chart").first().locator("svg");
    const box = await svg.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator(".chart-tip:not([hidden])").waitFor();
    assert.match(await page.locator(".chart-tip").first().textContent(), /estimate/);
  });

  await check("Stop aborts the answer and marks it stopped", async () => {
    await page.getByTestId("new-chat").click();
    await ask(page, "slow please");
    await page.getByTestId("stop-button").waitFor();
    await page.waitForTimeout(600);
    await page.getByTestId("stop-button").click();
    await page.getByTestId("send-button").waitFor();
    assert.equal(await lastAssistant().getAttribute("data-status"), "stopped");
    await lastAssistant().locator("[data-testid=message-notice][data-kind=stopped]").waitFor();
  });

  await check("an error chunk is shown in red", async () => {
    await ask(page, "stream error");
    await waitIdle(page);
    assert.match(await lastAssistant().getByTestId("error-notice").textContent(), /overloaded/);
  });

  await check("an HTTP error is shown with its message", async () => {
    await ask(page, "http error");
    await waitIdle(page);
    assert.match(await lastAssistant().getByTestId("error-notice").textContent(), /not reachable.*HTTP 500/);
  });

  await check("a dropped connection marks the answer interrupted", async () => {
    await ask(page, "drop");
    await waitIdle(page);
    assert.equal(await lastAssistant().getAttribute("data-status"), "interrupted");
  });

  await check("a failing cell shows the error box without ANSI codes", async () => {
    await ask(page, "this will error");
    await waitIdle(page);
    await page.locator("[data-testid=tool-card][data-status=error]").click();
    const text = await page.getByTestId("error").textContent();
    assert.match(text, /FileNotFoundError/);
    assert.ok(!text.includes("\u001b"), "ANSI escape left in the traceback");
  });

  await check("raw HTML from the model is escaped", async () => {
    await ask(page, "hello");
    await waitIdle(page);
    assert.equal(await lastAssistant().locator("script").count(), 0);
    await lastAssistant().getByText('<script>alert("raw HTML is shown escaped")</script>').waitFor();
  });

  await check("upload adds a chip; the next message carries the file part", async () => {
    await page.getByTestId("upload-input").setInputFiles({ name: "data.csv", mimeType: "text/csv", buffer: Buffer.from("a,b\n1,2\n") });
    await page.locator("[data-testid=attachment-chip][data-status=ready]").waitFor();
    const body = page.waitForRequest((r) => r.url().endsWith("/api/chat"));
    await ask(page, "describe the file");
    const sent = JSON.parse((await body).postData());
    assert.deepEqual(sent.messages[0].parts[1], { type: "file", mediaType: "text/csv", filename: "data.csv", url: "sandbox:///home/user/data.csv" });
    await waitIdle(page);
    assert.equal(await page.getByTestId("attachment-chip").count(), 0);
    await page.locator("[data-testid=message][data-role=user]").last().getByText("data.csv").waitFor();
  });

  await check("Files tab lists the upload with a download link", async () => {
    await page.getByTestId("tab-files").click();
    const row = page.locator("[data-testid=file-row][data-name='data.csv']");
    await row.waitFor();
    assert.equal(await row.getByTestId("file-download").getAttribute("href"), "/api/files/download?path=%2Fhome%2Fuser%2Fdata.csv");
  });

  await check("Code tab runs code by hand and streams the result", async () => {
    await page.getByTestId("tab-code").click();
    const body = page.waitForRequest((r) => r.url().endsWith("/api/run"));
    await page.getByTestId("code-editor").fill("print('hello from the editor')\n6*7");
    await page.getByTestId("run-button").click();
    const sent = JSON.parse((await body).postData());
    assert.equal(sent.code, "print('hello from the editor')\n6*7");
    assert.equal(typeof sent.chatId, "string");
    await page.waitForTimeout(100);
    await waitIdle(page);
    assert.equal(await page.getByTestId("tab-result").getAttribute("aria-selected"), "true");
    assert.match(await page.getByTestId("stdout").textContent(), /hello from the editor/);
    await page.getByTestId("result").getByText("42").waitFor();
  });

  await check("a running cell can be stopped from the Code tab", async () => {
    await page.getByTestId("tab-code").click();
    await page.getByTestId("code-editor").fill("import time\ntime.sleep(10)");
    await page.getByTestId("run-button").click();
    await page.getByTestId("cell-stop-button").click();
    await waitIdle(page);
    assert.equal(await lastAssistant().getAttribute("data-status"), "stopped");
    await page.getByTestId("tab-code").click();
    await page.getByTestId("run-button").waitFor();
  });

  await check("a stored chat loads with its cells and preview", async () => {
    await page.getByTestId("chat-item").filter({ hasText: "Sine and cosine" }).click();
    await page.locator("[data-testid=tool-card].selected").waitFor();
    await page.getByTestId("tab-result").click();
    await page.getByTestId("chart").first().waitFor();
    assert.equal(await page.getByTestId("chart").first().getAttribute("data-chart-type"), "line");
  });

  await check("the chart gallery: superchart, pie, box, PNG fallback, HTML frame, SVG image, JSON", async () => {
    await page.getByTestId("chat-item").filter({ hasText: "Quarterly revenue" }).click();
    await page.locator("[data-testid=chart][data-chart-type=superchart]").waitFor();
    for (const t of ["pie", "box_and_whisker"]) await page.locator(`[data-testid=chart][data-chart-type=${t}]`).waitFor();
    assert.ok((await page.getByTestId("image-result").count()) >= 2, "PNG fallback and SVG image");
    assert.equal(await page.getByTestId("html-result").getAttribute("sandbox"), "");
    await page.getByTestId("stderr").waitFor();
  });

  await check("deleting a chat needs a second click", async () => {
    const before = await page.getByTestId("chat-item").count();
    const row = page.locator(".chat-row").first();
    await row.hover();
    await row.getByTestId("delete-chat").click();
    assert.equal(await page.getByTestId("chat-item").count(), before);
    await row.locator("[data-testid=delete-chat][data-confirm=true]").click();
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=chat-item]").length === n - 1, before);
  });

  await check("sign out shows the token form; signing in again works", async () => {
    await page.getByTestId("logout").click();
    await page.getByTestId("login-form").waitFor();
    await page.getByTestId("login-token").fill("dev-token");
    await page.getByTestId("login-submit").click();
    await page.getByTestId("message-list").waitFor();
    assert.ok((await page.getByTestId("chat-item").count()) > 0);
  });

  await check("without providers: a notice, no chat, but code still runs", async () => {
    const bare = await startMock(8795, ["--open", "--no-providers"]);
    const p = await context.newPage();
    try {
      await p.goto(bare.url);
      await p.getByTestId("no-provider-notice").waitFor();
      assert.ok(await p.getByTestId("composer-input").isDisabled());
      await p.getByTestId("tab-code").click();
      await p.getByTestId("code-editor").fill("print('by hand')");
      await p.getByTestId("run-button").click();
      await p.getByTestId("stdout").getByText("by hand").waitFor();
    } finally {
      await p.close();
      bare.stop();
    }
  });
} finally {
  await browser.close();
  mock.stop();
}
if (errors.length) {
  failed++;
  console.log(`FAIL page errors:\n     ${errors.join("\n     ")}`);
}
console.log(failed ? `${failed} failed` : "all passed");
process.exit(failed ? 1 : 0);
