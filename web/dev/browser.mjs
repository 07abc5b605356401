// Shared helpers for the browser scripts: start the mock server, launch Chromium (playwright-core).

import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));

export async function startMock(port, extra = []) {
  const child = spawn(process.execPath, [join(here, "mock-server.mjs"), "--port", String(port), ...extra], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => d.toString().includes("mock cellblock on") && resolve());
    child.on("exit", (code) => reject(new Error(`mock server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

export async function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
}

/** Logs console errors and page errors of `page` (the scripts fail on them), except `expected` ones. */
export function watchErrors(page, errors, expected = /status of 401/) {
  // 401 is expected: the session check before login.
  page.on("console", (m) => m.type() === "error" && !expected.test(m.text()) && errors.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
}

export async function signIn(page, url, token = "dev-token") {
  await page.goto(url);
  await page.getByTestId("login-token").fill(token);
  await page.getByTestId("login-submit").click();
  await page.getByTestId("message-list").waitFor();
}

/** Sends `text` and waits until it is on screen as the last user message, followed by the answer. */
export async function ask(page, text) {
  await page.getByTestId("composer-input").fill(text);
  await page.getByTestId("composer-input").press("Enter");
  await page.waitForFunction((t) => {
    const users = document.querySelectorAll("[data-testid=message][data-role=user]");
    const last = users[users.length - 1];
    return !!last && last.textContent.includes(t) && last.nextElementSibling?.getAttribute("data-role") === "assistant";
  }, text);
}

/** Waits until no message is streaming any more. */
export async function waitIdle(page) {
  await page.waitForFunction(() => !document.querySelector("[data-testid=message][data-status=streaming]"), null, { timeout: 40000 });
}
