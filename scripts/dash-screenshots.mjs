#!/usr/bin/env node
// Screenshots of the dashboard for docs/: node scripts/dash-screenshots.mjs OUT_DIR RUN_OR_FOLDER...
// Opens the first run, then compares it with the second.
import { chromium } from "playwright-core";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startDash } from "../dist/src/dash/index.js";

const [out, ...paths] = process.argv.slice(2);
if (!out || !paths.length) {
  console.error("usage: node scripts/dash-screenshots.mjs OUT_DIR RUN_OR_FOLDER...");
  process.exit(2);
}
const executablePath = process.env.GANTRY_CHROMIUM ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const server = await startDash({ paths, port: 0, log: () => {} });
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  await page.goto(server.url);
  await page.waitForFunction(() => Number(document.body.dataset.charts) >= 5);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: join(out, "dash-run.png") });
  await page.locator("#grid-section").scrollIntoViewIfNeeded();
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(out, "dash-grids.png") });
  const second = page.locator("#runs li").nth(1);
  if (await second.count()) {
    await second.locator("input").check();
    await page.waitForTimeout(1500);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(out, "dash-compare.png") });
  }
  console.log(`wrote screenshots of ${server.url} to ${out}`);
} finally {
  await browser.close();
  await server.close();
}
