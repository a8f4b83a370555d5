/// <reference lib="dom" />
// The dashboard's page in a real browser: Playwright (playwright-core) driving Debian's chromium,
// which scripts/setup.sh installs. Runs trained by the real CLI, served by the real server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { chromiumPath, dashFixtureRuns, gantryOk, statsLine, tinySpokenDigits } from "./helpers.js";
import { startDash, type DashServer } from "../src/dash/index.js";

let root: string;
let server: DashServer;
let browser: Browser;
let page: Page;
const errors: string[] = [];

before(async () => {
  assert.ok(chromiumPath, "chromium is not installed: run scripts/setup.sh (it installs Debian's chromium), or set GANTRY_CHROMIUM");
  root = mkdtempSync(join(tmpdir(), "gantry-dash-browser-"));
  dashFixtureRuns(root);
  server = await startDash({ paths: [root], port: 0, log: () => {} });
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const runRow = (id: string) => page.locator(`#runs li[data-run="${id}"]`);

test("the page loads a run and draws its charts, header, grid and reals", async () => {
  await page.goto(server.url);
  await page.waitForFunction(() => Number(document.body.dataset.charts) >= 5);
  assert.equal(await page.textContent("#run-title"), "cgan");
  assert.match((await page.textContent("#run-state")) ?? "", /^finished · step 20\/20 · epoch 1\/1 · \d+ images\/s/);
  // Every chart drew on a canvas with non-blank pixels.
  const drawn = await page.$$eval(".chart canvas", (canvases) =>
    canvases.map((c) => {
      const ctx = (c as HTMLCanvasElement).getContext("2d")!;
      const { data } = ctx.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height);
      let ink = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
      return ink;
    }),
  );
  assert.ok(drawn.length >= 5 && drawn.every((ink) => ink > 100), `blank charts: ${drawn}`);
  assert.match((await page.textContent('[data-chart="loss"]')) ?? "", /D raw.*D.*G raw.*G/s);
  await page.waitForFunction(() => (document.getElementById("grid-img") as HTMLImageElement).naturalWidth > 0);
  await page.waitForFunction(() => (document.getElementById("reals-img") as HTMLImageElement).naturalWidth > 0);
  assert.match((await page.textContent("#card")) ?? "", /"format": "gantry-generator"/);
  assert.deepEqual(errors, []);
});

test("the step slider moves through every grid", async () => {
  const labels: string[] = [];
  for (let i = 0; i < 4; i++) {
    await page.$eval(
      "#grid-slider",
      (el, v) => {
        (el as HTMLInputElement).value = String(v);
        el.dispatchEvent(new Event("input"));
      },
      i,
    );
    labels.push((await page.textContent("#grid-label")) ?? "");
    await page.waitForFunction(() => {
      const img = document.getElementById("grid-img") as HTMLImageElement;
      return img.complete && img.naturalWidth > 0;
    });
  }
  assert.deepEqual(labels, ["step 5 (1/4)", "step 10 (2/4)", "step 15 (3/4)", "step 20 (4/4)"]);
});

test("a record appended to stats.jsonl shows up live, without reloading", async () => {
  const dir = join(root, "cgan");
  await page.evaluate(() => {
    (window as unknown as { loaded: boolean }).loaded = true;
  });
  appendFileSync(join(dir, "stats.jsonl"), statsLine(25));
  await page.waitForFunction(() => document.getElementById("run-state")?.dataset.step === "25", null, { timeout: 5000 });
  assert.equal(await page.evaluate(() => (window as unknown as { loaded?: boolean }).loaded), true, "the page reloaded");
});

test("the playground produces an image from the run's generator, for a chosen class", async () => {
  await page.waitForFunction(() => (document.getElementById("play-img") as HTMLImageElement).naturalWidth > 0);
  assert.equal(await page.$eval("#play-img", (img) => (img as HTMLImageElement).naturalWidth), 10 * 30 + 2);
  await page.selectOption("#play-class", "3");
  await page.waitForFunction(() => (document.getElementById("play-img") as HTMLImageElement).naturalWidth === 8 * 30 + 2);
  await page.fill("#play-seed", "5");
  await page.waitForFunction(() => (document.getElementById("play-img") as HTMLImageElement).dataset.seed === "5");
  assert.equal(await page.textContent("#play-error"), "");
});

test("two runs compare: overlaid curves, grids side by side, a config diff", async () => {
  await runRow("toy").locator("input").check();
  await page.waitForFunction(() => document.querySelector('[data-chart="loss"]')?.textContent?.includes("toy D"));
  const legend = (await page.textContent('[data-chart="loss"]')) ?? "";
  assert.match(legend, /cgan D/);
  assert.match(legend, /toy D/);
  assert.equal(await page.locator("#compare-grids figure").count(), 1);
  const diff = (await page.textContent("#config table")) ?? "";
  assert.match(diff, /data\.dataset.*"mnist".*"ring8"/s);
  // The toy run's evaluations appear, with the wall-time axis too.
  await page.selectOption("#x-axis", "time");
  await page.waitForFunction(() => document.querySelector('[data-chart="modes"]') !== null);
  await runRow("toy").locator(".name").click();
  await page.waitForFunction(() => document.getElementById("run-title")?.textContent === "toy");
  assert.deepEqual(errors, []);
});

test("an audio run shows spectrograms and plays the clips of the grid on show", async () => {
  const tiny = ["--set", "model.generator.options.dim=2", "--set", "model.discriminator.options.dim=2", "--batch-size", "8"];
  gantryOk(
    "train",
    "--preset",
    "digits-wavegan",
    "--data-dir",
    tinySpokenDigits(),
    "--steps",
    "4",
    ...tiny,
    "--set",
    "log.sampleEvery=2",
    "--out",
    join(root, "audio"),
  );
  await page.waitForFunction(() => document.querySelector('#runs li[data-run="audio"]') !== null);
  await runRow("audio").locator(".name").click();
  await page.waitForFunction(() => document.getElementById("run-title")?.textContent === "audio");
  await page.waitForFunction(() => !(document.getElementById("grid-audio") as HTMLAudioElement).hidden);
  const src = await page.$eval("#grid-audio", (a) => (a as HTMLAudioElement).src);
  assert.match(src, /\/samples\/(step|epoch)-\d+\.wav$/);
  // The browser decoded it: one clip of 8,192 samples at 8 kHz and 0.2 s of silence per sample shown.
  await page.waitForFunction(() => (document.getElementById("grid-audio") as HTMLAudioElement).readyState >= 1);
  const seconds = await page.$eval("#grid-audio", (a) => (a as HTMLAudioElement).duration);
  assert.ok(seconds > 1, `duration ${seconds} s`);
  await runRow("cgan").locator(".name").click();
  await page.waitForFunction(() => (document.getElementById("grid-audio") as HTMLAudioElement).hidden);
  assert.deepEqual(errors, []);
});

test("traversal attempts from the page get 404", async () => {
  const base = server.url.replace(/\/$/, "");
  for (const path of [
    "/api/runs/toy/files/%2e%2e/%2e%2e/etc/hostname",
    "/api/runs/toy/files/..%2fcgan%2fconfig.json",
    "/api/runs/toy/files/%2fetc%2fhostname",
  ]) {
    const status = await page.evaluate(async (url) => (await fetch(url)).status, `${base}${path}`);
    assert.equal(status, 404, path);
  }
});
