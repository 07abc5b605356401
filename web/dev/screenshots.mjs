#!/usr/bin/env node
// Screenshots of the app against the mock server: desktop light and dark (1400×900) and phone (390×844).
//   npm run build && node dev/screenshots.mjs [outDir]
// Writes PNGs to dev/screenshots/ (not committed).

import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ask, launch, signIn, startMock, waitIdle, watchErrors } from "./browser.mjs";

const out = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "screenshots");
await mkdir(out, { recursive: true });
const mock = await startMock(8791);
const bare = await startMock(8792, ["--open", "--no-providers"]);
const browser = await launch();
const errors = [];
const shot = async (page, name) => {
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(out, `${name}.png`) });
  console.log(`  ${name}.png`);
};

try {
  for (const scheme of ["light", "dark"]) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: scheme });
    const page = await context.newPage();
    watchErrors(page, errors);
    if (scheme === "light") {
      await page.goto(mock.url);
      await page.getByTestId("login-form").waitFor();
      await shot(page, "desktop-light-login");
    }
    await signIn(page, mock.url);
    await shot(page, `desktop-${scheme}-empty`);
    await ask(page, "calculate pi with Monte Carlo and plot it");
    await page.locator("[data-testid=tool-card][data-status=writing]").waitFor();
    await page.waitForTimeout(400);
    await shot(page, `desktop-${scheme}-writing`);
    await waitIdle(page);
    const chart = page.getByTestId("chart").first();
    const box = await chart.locator("svg").boundingBox();
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.5);
    await shot(page, `desktop-${scheme}-pi`);
    await page.getByTestId("new-chat").click();
    await ask(page, "make a table of stocks");
    await waitIdle(page);
    await page.getByTestId("tool-card").first().click();
    await shot(page, `desktop-${scheme}-table`);
    await page.getByTestId("chat-item").filter({ hasText: "Quarterly revenue" }).click();
    await page.getByTestId("chart").first().waitFor();
    await shot(page, `desktop-${scheme}-charts`);
    await page.getByTestId("result-area").evaluate((el) => (el.scrollTop = 900));
    await shot(page, `desktop-${scheme}-charts-2`);
    await page.getByTestId("new-chat").click();
    await ask(page, "this will error");
    await waitIdle(page);
    await shot(page, `desktop-${scheme}-error`);
    await page.getByTestId("tab-code").click();
    await shot(page, `desktop-${scheme}-code`);
    await page.getByTestId("tab-files").click();
    await page.getByTestId("file-row").first().waitFor();
    await shot(page, `desktop-${scheme}-files`);
    await context.close();
  }

  const bareCtx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const barePage = await bareCtx.newPage();
  watchErrors(barePage, errors);
  await barePage.goto(bare.url);
  await barePage.getByTestId("no-provider-notice").waitFor();
  await shot(barePage, "desktop-light-no-provider");
  await bareCtx.close();

  const tablet = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const tabletPage = await tablet.newPage();
  watchErrors(tabletPage, errors);
  await signIn(tabletPage, mock.url);
  await tabletPage.getByTestId("menu-button").click();
  await tabletPage.getByTestId("chat-item").filter({ hasText: "Quarterly revenue" }).click();
  await tabletPage.getByTestId("chart").first().waitFor();
  await shot(tabletPage, "tablet-charts");
  await tablet.close();

  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await phone.newPage();
  watchErrors(page, errors);
  await signIn(page, mock.url);
  await shot(page, "phone-empty");
  await ask(page, "calculate pi with Monte Carlo and plot it");
  await waitIdle(page);
  await shot(page, "phone-chat");
  await page.getByTestId("tool-card").first().click();
  await page.getByTestId("chart").first().waitFor();
  await shot(page, "phone-preview");
  await page.getByTestId("menu-button").click();
  await shot(page, "phone-sidebar");
  await phone.close();
} finally {
  await browser.close();
  mock.stop();
  bare.stop();
}
if (errors.length) {
  console.error(`page errors:\n${errors.join("\n")}`);
  process.exit(1);
}
