// The artifacts app in a real browser, used as a person would: the real `cellblock serve` (a real sandbox
// kernel) with the fake LLM provider (tests/chat/fake_llm.mjs), the page in Debian's Chromium driven by
// playwright-core. One app, one browser page, steps in order (each builds on the previous one):
// streaming answers with code and a chart, a follow-up reusing variables, uploads and downloads, Stop, reload
// and history, running code by hand, dark theme and phone width. Screenshots go to tests/e2e/artifacts/.
//
//   cd tests/e2e && CELLBLOCK_BIN=../../build/dev/src/cli/cellblock node --test --test-concurrency=1 app_browser.test.mjs

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { startApp } from './app_harness.mjs';

// A TCP relay to the server whose open connections the test can cut at once (a network drop).
function startRelay(targetPort) {
  const sockets = new Set();
  let cuts = 0;
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}`,
      cut() {
        cuts++;
        for (const socket of sockets) socket.destroy();
      },
      cuts: () => cuts,
      close() {
        for (const socket of sockets) socket.destroy();
        server.close();
      },
    }));
  });
}

const kChromium = process.env.CHROMIUM || '/usr/bin/chromium';
const kArtifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
const kStepMs = 60_000;        // any single wait (kernel cold start, a model turn)
const kTestMs = 4 * kStepMs;   // one numbered step
const kDesktop = { width: 1400, height: 900 };
const kPhone = { width: 390, height: 844 };

const kSalesCsv = 'region,month,units,revenue\nnorth,1,12,340.5\nsouth,1,7,210.0\nnorth,2,15,402.25\n' +
                  'south,2,9,260.75\neast,2,4,120.0\n';

describe('the artifacts app in a browser', () => {
  let app;
  let browser;
  let context;
  let page;
  let scratch;
  const consoleErrors = [];  // console.error / failed requests, printed; not failures on their own
  const pageErrors = [];     // uncaught exceptions in the page: each fails the step it happened in
  let pageErrorsSeen = 0;
  let piChatId;
  let printedAtStop;  // what the stopped cell had printed when Stop was clicked

  // Waits until no transition or finite animation runs (a drawer sliding, a layout change settling).
  const settled = () => page.waitForFunction(() => document.getAnimations().every(
    (a) => a.playState !== 'running' || a.effect?.getComputedTiming().endTime === Infinity));
  const shot = async (name) => {
    await settled();
    await page.screenshot({ path: join(kArtifacts, `${name}.png`) });
  };
  const assistant = () => page.locator('[data-testid=message][data-role=assistant]').last();
  const resultArea = () => page.getByTestId('result-area');
  const toolCard = (title) => page.getByTestId('tool-card').filter({ hasText: title });

  // Types a prompt into the composer and presses Enter, as a person does; waits for the answer to start.
  const ask = async (text) => {
    const input = page.getByTestId('composer-input');
    await input.click();
    await input.fill(text);
    await input.press('Enter');
    await page.waitForFunction((t) => {
      const users = document.querySelectorAll('[data-testid=message][data-role=user]');
      const last = users[users.length - 1];
      return !!last && last.textContent.includes(t) && last.nextElementSibling?.getAttribute('data-role') === 'assistant';
    }, text);
  };

  // Waits until the last answer is no longer streaming and returns its status.
  const answered = async () => {
    await page.waitForFunction(() => !document.querySelector('[data-testid=message][data-status=streaming]'));
    return assistant().getAttribute('data-status');
  };

  const stdoutText = () => resultArea().getByTestId('stdout').textContent();
  const waitForStdout = (pattern) =>
    page.waitForFunction(
      ([source, flags]) => new RegExp(source, flags).test(document.querySelector('[data-testid=result-area] [data-testid=stdout]')?.textContent ?? ''),
      [pattern.source, pattern.flags]);

  const noHorizontalOverflow = async (label) => {
    const { scrollWidth, innerWidth, culprits } = await page.evaluate(() => {
      const w = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll('body *')]
        .filter((el) => el.getClientRects().length && el.getBoundingClientRect().right > w + 1)
        .slice(0, 5)
        .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} right=${Math.round(el.getBoundingClientRect().right)}`);
      return { scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, culprits: wide };
    });
    assert.ok(scrollWidth <= innerWidth, `${label}: the page scrolls sideways (scrollWidth ${scrollWidth} > ${innerWidth}); ` +
                                         `elements past the right edge: ${culprits.join(', ')}`);
  };

  // Runs a step; on failure saves a screenshot and prints what the page and the server said.
  const step = (name, fn) => test(name, { timeout: kTestMs }, async () => {
    try {
      await fn();
    } catch (error) {
      const slug = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 60);
      try {
        await page.screenshot({ path: join(kArtifacts, `failure-${slug}.png`), fullPage: true });
      } catch {}
      console.error(`--- step failed: ${name}`);
      console.error(`--- screenshot: ${join(kArtifacts, `failure-${slug}.png`)}`);
      console.error(`--- page console errors:\n${consoleErrors.join('\n') || '(none)'}`);
      console.error(`--- page errors:\n${pageErrors.join('\n') || '(none)'}`);
      console.error(`--- server stdout (tail):\n${app?.server.stdout().slice(-3000)}`);
      console.error(`--- server stderr (tail):\n${app?.server.stderr().slice(-3000)}`);
      throw error;
    }
  });

  before(async () => {
    if (!existsSync(kChromium)) {
      throw new Error(`Chromium is missing at ${kChromium}: the browser test needs it (scripts/setup --tests ` +
                      'installs Debian\'s chromium; or set CHROMIUM to another binary)');
    }
    rmSync(kArtifacts, { recursive: true, force: true });  // only this run's screenshots
    mkdirSync(kArtifacts, { recursive: true });
    scratch = mkdtempSync(join(tmpdir(), 'cellblock-browser-'));
    app = await startApp();
    browser = await chromium.launch({ executablePath: kChromium, headless: true, args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: kDesktop, colorScheme: 'light', acceptDownloads: true });
    page = await context.newPage();
    page.setDefaultTimeout(kStepMs);
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`console.error: ${m.text()}`);
    });
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.stack || e.message}`));
    page.on('requestfailed', (r) => {
      // A reload cuts the running answer's stream (or its rejoined stream) on purpose; the server keeps answering.
      if (!(/\/api\/chat(\/[^/]+\/stream)?$/.test(r.url()) && /ERR_ABORTED/.test(r.failure()?.errorText ?? ''))) {
        consoleErrors.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
      }
    });
    // The login link sets the session cookie and redirects to the app.
    const response = await page.goto(app.loginLink);
    assert.equal(new URL(page.url()).pathname, '/');
    assert.equal(response.status(), 200);
    await page.getByTestId('message-list').waitFor();
    await page.locator('[data-testid=model-select]:not([disabled])').waitFor();
  });

  afterEach(() => {
    const fresh = pageErrors.slice(pageErrorsSeen);
    pageErrorsSeen = pageErrors.length;
    assert.deepEqual(fresh, [], 'uncaught errors in the page');
  });

  after(async () => {
    if (consoleErrors.length) console.log(`page console errors:\n  ${consoleErrors.join('\n  ')}`);
    await browser?.close();
    await app?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  step('1. a turn streams text and code, recovers from a failing cell and draws a chart', async () => {
    // Record what the page shows while it streams: every DOM change of the last answer.
    await page.evaluate(() => {
      const samples = [];
      let last = '';
      window.__samples = samples;
      const snap = () => {
        const messages = document.querySelectorAll('[data-testid=message][data-role=assistant]');
        const msg = messages[messages.length - 1];
        if (!msg) return;
        const sample = {
          status: msg.dataset.status,
          text: [...msg.querySelectorAll('.markdown-body')].map((e) => e.textContent).join('\n'),
          cards: [...msg.querySelectorAll('[data-testid=tool-card]')].map((c) => ({
            state: c.dataset.state, status: c.dataset.status, tail: c.querySelector('.tool-code-tail')?.textContent ?? '',
          })),
          previewCode: document.querySelector('[data-testid=result-area] .cell-code code')?.textContent ?? '',
          pill: document.querySelector('[data-testid=result-area] [data-testid=cell-status]')?.dataset.status ?? '',
        };
        const key = JSON.stringify(sample);
        if (key !== last) samples.push(sample);
        last = key;
      };
      window.__recorder = new MutationObserver(snap);
      window.__recorder.observe(document.querySelector('[data-testid=app]'),
                                { subtree: true, childList: true, characterData: true, attributes: true });
    });

    await ask('calculate pi with Monte Carlo and plot it');
    await page.getByTestId('stop-button').waitFor();  // Send turns into Stop while the answer streams
    await assistant().getByText('The estimate is close to pi.').waitFor();
    assert.equal(await answered(), 'done');
    // The tokens the provider reported for the answer's three model calls.
    assert.match(await assistant().getByTestId('usage').innerText(), /^[\d.]+k? tokens in · [\d.]+k? out$/);
    piChatId = /#\/chat\/([\w-]+)/.exec(page.url())?.[1];
    assert.ok(piChatId, `the URL names the chat: ${page.url()}`);
    const samples = await page.evaluate(() => {
      window.__recorder.disconnect();
      return window.__samples;
    });

    // Text streamed: several partial lengths while the answer was still streaming.
    const streamedLengths = new Set(samples.filter((s) => s.status === 'streaming' && s.text).map((s) => s.text.length));
    assert.ok(streamedLengths.size >= 2, `text grew while streaming; lengths seen: ${[...streamedLengths]}`);
    assert.ok(samples.some((s) => s.status === 'streaming' && s.text.includes("I'll estimate pi") && !s.text.includes('close to pi')),
              'the first sentence shows before the final answer');
    // Code visible while the model writes it / before the cell has its output.
    const early = samples.filter((s) => s.cards.some((c) => c.state === 'input-streaming' || c.state === 'input-available'));
    const codeWhileWriting = samples.filter((s) => s.cards.some((c) => c.state === 'input-streaming' && c.tail.trim()));
    const partialCode = samples.filter((s) => s.pill === 'writing' && s.previewCode.trim());
    console.log(`streaming: ${samples.length} distinct frames, ${streamedLengths.size} text lengths, ` +
                `${codeWhileWriting.length} frames with code in a writing card, ${partialCode.length} with code in the ` +
                `preview while writing, ${early.length} before output`);
    assert.ok(early.some((s) => s.previewCode.includes('np.random') || s.cards.some((c) => c.tail.trim())),
              'the code shows before its cell has output');
    assert.ok(codeWhileWriting.length + partialCode.length > 0, 'the code shows while the model writes it');

    // Two cells: the first failed with NameError, the second worked.
    const cards = assistant().getByTestId('tool-card');
    assert.equal(await cards.count(), 2);
    assert.equal(await cards.nth(0).getAttribute('data-status'), 'error');
    assert.equal(await cards.nth(1).getAttribute('data-status'), 'complete');
    await cards.nth(0).click();
    await resultArea().getByTestId('error').filter({ hasText: 'NameError' }).waitFor();
    assert.match(await resultArea().getByTestId('error').textContent(), /name 'np' is not defined/);
    await cards.nth(1).click();
    await resultArea().locator('[data-testid=cell-status][data-status=complete]').waitFor();
    assert.match(await stdoutText(), /pi ≈ 3\.1\d+ from 100000 samples/);

    // The figure: an interactive chart with its points, and the kernel's PNG behind the Image switch.
    const chart = resultArea().getByTestId('chart').first();
    await chart.locator('svg circle').first().waitFor();
    const points = await chart.locator('svg .dots circle').count();
    assert.ok(points >= 100, `the scatter chart draws the points (${points})`);
    // Hovering a point shows its values.
    const dot = chart.locator('svg .dots circle').nth(Math.floor(points / 2));
    const box = await dot.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const tip = chart.locator('.chart-tip:not([hidden])');
    await tip.waitFor();
    const tipText = await tip.innerText();
    assert.match(tipText, /\b0\.\d+/, `the tooltip shows the point's values: ${JSON.stringify(tipText)}`);
    await chart.locator('.hover-dot').waitFor();
    await shot('1-pi-chart-desktop-light');
    await page.mouse.move(5, 5);
    await tip.waitFor({ state: 'hidden' });

    const views = resultArea().getByRole('group', { name: 'Chart view' });
    await views.getByRole('button', { name: 'Image' }).click();
    const img = resultArea().getByTestId('image-result');
    await img.waitFor();
    await page.waitForFunction(() => {
      const i = document.querySelector('[data-testid=result-area] [data-testid=image-result]');
      return i && i.complete && i.naturalWidth > 100 && i.naturalHeight > 100;
    });
    assert.match(await img.getAttribute('src'), /^data:image\/png;base64,iVBOR/);
    await shot('1-pi-image-desktop-light');
    await views.getByRole('button', { name: 'Interactive' }).click();
    await resultArea().getByTestId('chart').waitFor();
  });

  step('2. a follow-up reuses the estimate kept in the kernel', async () => {
    await ask('now reuse the estimate');
    await assistant().getByText('The kernel still holds the previous estimate.').waitFor();
    assert.equal(await answered(), 'done');
    await waitForStdout(/previous estimate: 3\.1\d+/);
    assert.equal(await assistant().getByTestId('tool-card').getAttribute('data-status'), 'complete');
  });

  step('3. an uploaded CSV is analysed; the summary it writes downloads from the Files tab', async () => {
    const csvPath = join(scratch, 'sales.csv');
    writeFileSync(csvPath, kSalesCsv);
    await page.getByTestId('upload-input').setInputFiles(csvPath);
    const chip = page.getByTestId('attachment-chip');
    await chip.filter({ hasText: 'sales.csv' }).waitFor();
    await page.locator('[data-testid=attachment-chip][data-status=ready]').waitFor();

    await ask('analyse the csv I uploaded');
    assert.equal(await chip.count(), 0, 'the attachment went with the message');
    await page.locator('[data-testid=message][data-role=user]').last().getByText('sales.csv').waitFor();
    await assistant().getByText('I summarised the data').waitFor();
    assert.equal(await answered(), 'done');
    assert.equal(await assistant().getByTestId('tool-card').getAttribute('data-status'), 'complete');
    const stdout = await stdoutText();
    assert.match(stdout, /mean/);
    assert.match(stdout, /revenue/);
    await resultArea().getByTestId('table').waitFor();
    await shot('3-csv-table-desktop');

    await page.getByTestId('tab-files').click();
    const row = page.locator('[data-testid=file-row][data-name="summary.csv"]');
    await row.waitFor();
    await page.locator('[data-testid=file-row][data-name="sales.csv"]').waitFor();
    await shot('3-files-tab-desktop');
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByTestId('file-download').click()]);
    assert.equal(download.suggestedFilename(), 'summary.csv');
    const saved = join(scratch, 'downloaded-summary.csv');
    await download.saveAs(saved);
    const content = readFileSync(saved, 'utf8');
    assert.match(content, /^mean,/m, content);
    assert.match(content, /units,revenue/);
    await page.getByTestId('tab-result').click();
  });

  step('4. Stop interrupts a long-running cell and the composer works again', async () => {
    await page.getByTestId('new-chat').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=message]').length === 0);
    await ask('run a long sleep loop');
    await waitForStdout(/^0\n1\n2\n/);
    assert.equal(await assistant().getAttribute('data-status'), 'streaming');
    await page.getByTestId('stop-button').click();

    assert.equal(await answered(), 'stopped');
    await assistant().locator('[data-testid=message-notice][data-kind=stopped]').waitFor();
    await assistant().locator('[data-testid=tool-card][data-status=interrupted]').waitFor();
    await resultArea().locator('[data-testid=cell-status][data-status=interrupted]').waitFor();
    printedAtStop = await stdoutText();
    await shot('4-stopped-desktop');
    await page.waitForTimeout(1500);  // a negative check: nothing more may arrive
    assert.equal(await stdoutText(), printedAtStop, 'no output arrives after Stop');
    assert.ok(await resultArea().getByTestId('cell-stop-button').isHidden(), 'the cell no longer offers Stop');

    // The composer is usable again, and the server took the next turn of this conversation.
    await page.getByTestId('send-button').waitFor();
    assert.ok(await page.getByTestId('composer-input').isEnabled());
    // The next prompt travels with the stopped cell's result (one user message); the model answers the prompt.
    await ask('hello');
    assert.equal(await answered(), 'done');
    assert.match(await assistant().innerText(), /Hello! I can run Python code for you\./);
    assert.equal(await page.getByTestId('error-notice').count(), 0, 'no error after the stopped turn');
  });

  step('5. after a reload the history is there: both conversations, their cells and the chart', async () => {
    const stopChatUrl = page.url();
    await page.reload();
    assert.equal(page.url(), stopChatUrl);
    const items = page.getByTestId('chat-item');
    await items.filter({ hasText: 'run a long sleep loop' }).waitFor();
    await items.filter({ hasText: 'calculate pi with Monte Carlo' }).waitFor();
    assert.equal(await items.count(), 2);

    // The stopped conversation reopened: its cell kept what it printed and ended with KeyboardInterrupt.
    await page.locator('[data-testid=tool-card]').filter({ hasText: 'Long loop' }).waitFor();
    // It still reads as stopped (not as an error): the stored finish reason is shown.
    await page.locator('[data-testid=tool-card][data-status=interrupted]').filter({ hasText: 'Long loop' }).waitFor();
    await page.locator('[data-testid=message-notice][data-kind=stopped]').first().waitFor();
    await toolCard('Long loop').click();
    await resultArea().getByTestId('error').filter({ hasText: 'KeyboardInterrupt' }).waitFor();
    // The server stopped the loop too: what it stored is what the page showed (a number may have been on its way).
    const stored = await stdoutText();
    assert.ok(stored.startsWith(printedAtStop) && stored.split('\n').length <= printedAtStop.split('\n').length + 1,
              `the loop stopped when asked: ${JSON.stringify(printedAtStop)} shown, ${JSON.stringify(stored)} stored`);
    await shot('5-reloaded-stopped-chat-desktop');

    await items.filter({ hasText: 'calculate pi with Monte Carlo' }).click();
    await page.waitForFunction((id) => location.hash === `#/chat/${id}`, piChatId);
    await assistant().getByText('I summarised the data').waitFor();
    const users = page.locator('[data-testid=message][data-role=user]');
    assert.deepEqual(await users.allInnerTexts().then((t) => t.map((s) => s.replace(/\s+/g, ' ').trim())),
                     ['calculate pi with Monte Carlo and plot it', 'now reuse the estimate', 'sales.csv analyse the csv I uploaded']);
    await page.getByText('The estimate is close to pi.').waitFor();
    const statuses = await page.getByTestId('tool-card').evaluateAll((cards) => cards.map((c) => c.dataset.status));
    assert.deepEqual(statuses, ['error', 'complete', 'complete', 'complete']);
    await toolCard('Estimate pi (fixed)').click();
    const chart = resultArea().getByTestId('chart').first();
    await chart.locator('svg .dots circle').first().waitFor();
    assert.ok(await chart.locator('svg .dots circle').count() >= 100);
    assert.match(await stdoutText(), /pi ≈ 3\.1\d+/);
  });

  step('6. the Code tab runs an edited cell', async () => {
    await page.getByTestId('tab-code').click();
    const editor = page.getByTestId('code-editor');
    assert.match(await editor.inputValue(), /import numpy as np/, 'the editor holds the selected cell\'s code');
    await editor.fill('print(6*7)');
    await page.getByTestId('run-button').click();
    await page.locator('[data-testid=tab-result][aria-selected=true]').waitFor();
    await waitForStdout(/^42\n$/);
    await resultArea().locator('[data-testid=cell-status][data-status=complete]').waitFor();
    await page.getByTestId('run-button').waitFor({ state: 'attached' });
    assert.equal(await page.getByTestId('tool-card').count(), 5, 'the hand-run cell joins the conversation');
  });

  step('7. dark theme and phone width', async () => {
    await toolCard('Estimate pi (fixed)').click();
    await resultArea().getByTestId('chart').first().locator('svg .dots circle').first().waitFor();
    await page.getByTestId('theme-toggle').click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    const background = await page.evaluate(() => getComputedStyle(document.querySelector('[data-testid=app]')).backgroundColor);
    const [r, g, b] = background.match(/\d+/g).map(Number);
    assert.ok(r + g + b < 200, `a dark background in the dark theme (${background})`);
    await shot('7-pi-chart-desktop-dark');

    await page.setViewportSize(kPhone);
    await page.getByTestId('pane-preview').waitFor();
    await page.getByTestId('pane-chat').click();
    await page.getByText('The estimate is close to pi.').waitFor();
    await noHorizontalOverflow('phone, chat, dark');
    await shot('7-phone-chat-dark');

    // On a phone the theme toggle is in the sidebar, a drawer behind the menu button.
    await page.getByTestId('menu-button').click();
    await page.getByTestId('theme-toggle').click();
    await page.keyboard.press('Escape');
    await page.locator('[data-testid=menu-button][aria-expanded=false]').waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
    await noHorizontalOverflow('phone, chat, light');
    await shot('7-phone-chat-light');

    await page.getByTestId('pane-preview').click();
    const chart = resultArea().getByTestId('chart').first();
    await chart.locator('svg .dots circle').first().waitFor();
    await noHorizontalOverflow('phone, preview, light');
    const chartBox = await chart.boundingBox();
    assert.ok(chartBox.x >= 0 && chartBox.x + chartBox.width <= kPhone.width, `the chart fits the phone: ${JSON.stringify(chartBox)}`);
    await shot('7-phone-preview-light');
    await page.setViewportSize(kDesktop);
  });

  step('8. a reload while the answer streams picks it up where it is, and it runs to its end', async () => {
    await page.getByTestId('new-chat').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=message]').length === 0);
    // Long enough (about 6 s) for a slow machine to reload the page before the count ends.
    await ask('count slowly to 16');
    await waitForStdout(/^0\n1\n/);
    const url = page.url();
    await page.reload();
    assert.equal(page.url(), url);
    // The page rejoins the running answer: it is still streaming, Stop is offered, the count goes on.
    await page.locator('[data-testid=message][data-role=assistant][data-status=streaming]').waitFor();
    await page.getByTestId('stop-button').waitFor();
    await waitForStdout(/\b8\n/);
    await shot('8-rejoined-streaming-desktop');
    assert.equal(await answered(), 'done');
    await assistant().getByText('Counted to 15.').waitFor();
    assert.equal(await page.locator('[data-testid=message][data-role=assistant]').count(), 1, 'one answer, not a copy');
    assert.equal(await page.getByTestId('tool-card').count(), 1);
    assert.equal(await stdoutText(), Array.from({ length: 16 }, (_, i) => `${i}\n`).join(''));
    await page.getByTestId('send-button').waitFor();
  });

  step('9. a stream cut by the network resumes by itself once the server is reachable again', async () => {
    // The page talks to the server through a TCP relay the test can cut, as a network drop would.
    const relay = await startRelay(Number(new URL(app.url).port));
    const desktopPage = page;
    const relayed = await browser.newContext({ viewport: kDesktop, colorScheme: 'light' });
    try {
      page = await relayed.newPage();
      page.setDefaultTimeout(kStepMs);
      await page.goto(app.loginLink.replace(app.url, relay.url));
      await page.getByTestId('new-chat').click();
      await ask('count slowly to 16');
      await waitForStdout(/^0\n1\n/);
      relay.cut();
      await page.locator('[data-testid=message][data-role=assistant][data-status=interrupted]').waitFor();
      // It rejoins on its own: streaming again, then to the end, as one answer.
      await page.locator('[data-testid=message][data-role=assistant][data-status=streaming]').waitFor();
      assert.equal(await answered(), 'done');
      await assistant().getByText('Counted to 15.').waitFor();
      assert.equal(await page.locator('[data-testid=message][data-role=assistant]').count(), 1, 'one answer, not a copy');
      assert.equal(await stdoutText(), Array.from({ length: 16 }, (_, i) => `${i}\n`).join(''));
      assert.ok(relay.cuts() >= 1);
    } finally {
      page = desktopPage;
      await relayed.close();
      relay.close();
    }
  });
});
