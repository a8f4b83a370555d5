/// <reference lib="dom" />
// The dashboard's costs, measured (npm run bench:dash):
//   1. a run with 100,000 stats records and 1,000 grids: time until the page has drawn its charts
//      and shows the newest grid, and the time per slider move while scrubbing;
//   2. live latency: a record appended to stats.jsonl until the page's header shows it;
//   3. training's speed with and without a dashboard (server plus an open page) watching it,
//      alternating runs, as a ratio.
// Chromium through playwright-core; the same machine and moment for every number.
import { appendFileSync, copyFileSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { machineLine } from "./torch-worker.js";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { chromium } from "playwright-core";
import { startDash } from "../src/dash/index.js";
import { chromiumPath, repoRoot, statsLine } from "../test/helpers.js";

const gantry = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(repoRoot, "bin", "gantry.js"), ...args], { encoding: "utf8", env: { ...process.env, CI: "1" } });
  if (r.status !== 0) throw new Error(`gantry ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`${machineLine()}; chromium ${chromiumPath}`);
const root = mkdtempSync(join(tmpdir(), "gantry-bench-dash-"));
process.on("exit", () => rmSync(root, { recursive: true, force: true }));

// A real small run to copy its config, reals and a grid from.
const seedRun = join(root, "seed");
gantry("train", "--preset", "mnist-mlp", "--steps", "20", "--set", "log.every=10", "--set", "log.sampleEvery=10", "--out", seedRun);

// 1. The large run.
const big = join(root, "runs", "large");
mkdirSync(join(big, "samples"), { recursive: true });
for (const f of ["config.json", "reals.png", "status.json"]) copyFileSync(join(seedRun, f), join(big, f));
const lines: string[] = [];
for (let i = 1; i <= 100_000; i++) {
  const t = i / 100_000;
  lines.push(
    JSON.stringify({
      step: i * 10,
      epoch: Math.ceil((i * 10) / 937),
      batch: ((i * 10) % 937) + 1,
      dLoss: 1.2 + 0.3 * Math.sin(i / 50) + Math.random() * 0.2,
      gLoss: 0.9 + t + Math.random() * 0.3,
      dReal: 0.6 + Math.random() * 0.1,
      dFake: 0.3 + Math.random() * 0.1,
      gradNormD: 2 + Math.random(),
      gradNormG: 5 + Math.random(),
      lrG: 2e-4,
      lrD: 2e-4,
      imagesPerSec: 5000 + Math.random() * 100,
      seconds: 0.12,
    }),
  );
  if (i % 1000 === 0)
    lines.push(JSON.stringify({ step: i * 10, eval: { fid: 100 / (1 + i / 1e4), precision: 0.7, recall: 0.5, classesCovered: 10, collapsed: false } }));
}
writeFileSync(join(big, "stats.jsonl"), `${lines.join("\n")}\n`);
const grid = join(seedRun, "samples", "step-00000020.png");
for (let i = 1; i <= 1000; i++) copyFileSync(grid, join(big, "samples", `step-${String(i * 1000).padStart(8, "0")}.png`));
console.log(`large run: ${lines.length} stats records, 1000 grids`);

const server = await startDash({ paths: [join(root, "runs")], port: 0, log: () => {} });
const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
const loads: number[] = [];
for (let k = 0; k < 3; k++) {
  const t0 = Date.now();
  await page.goto(server.url);
  await page.waitForFunction(
    () => Number(document.body.dataset.charts) >= 5 && (document.getElementById("grid-img") as HTMLImageElement).naturalWidth > 0,
    null,
    { timeout: 60_000 },
  );
  loads.push(Date.now() - t0);
}
console.log(`open the large run (charts drawn, newest grid shown): ${loads.map((ms) => `${ms} ms`).join(", ")}; median ${median(loads)} ms`);

// Scrubbing: after the grids are cached, each slider move until the new image is decoded.
await page.waitForTimeout(3000);
const scrub = await page.evaluate(async () => {
  const slider = document.getElementById("grid-slider") as HTMLInputElement;
  const img = document.getElementById("grid-img") as HTMLImageElement;
  const times: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now();
    slider.value = String(Math.floor(Math.random() * 1000));
    slider.dispatchEvent(new Event("input"));
    await img.decode().catch(() => undefined);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[50], p95: times[95] };
});
console.log(`slider scrub over 1000 grids: median ${scrub.median.toFixed(1)} ms, p95 ${scrub.p95.toFixed(1)} ms per move`);

// 2. Live latency on the large run.
const latencies: number[] = [];
for (let k = 0; k < 10; k++) {
  const step = 2_000_000 + k * 10;
  const t0 = Date.now();
  appendFileSync(join(big, "stats.jsonl"), statsLine(step, { seconds: 0.1 }));
  await page.waitForFunction((s) => document.getElementById("run-state")?.dataset.step === String(s), step, { timeout: 10_000, polling: 10 });
  latencies.push(Date.now() - t0);
}
console.log(`live update (append to stats.jsonl -> header): median ${median(latencies)} ms, max ${Math.max(...latencies)} ms`);
await server.close();

// 3. Training with and without a dashboard watching: mnist-mlp, BENCH_STEPS (1500) steps, alternating
// (BENCH_STEPS=0 skips it).
const steps = Number(process.env.BENCH_STEPS ?? 1500);
if (!steps) {
  await browser.close();
  process.exit(0);
}
const rate = (out: string) => {
  const stats = readFileSync(join(out, "stats.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { imagesPerSec?: number });
  // Skip the first record (start-up); average the rest.
  const ips = stats.slice(1).flatMap((r) => (r.imagesPerSec ? [r.imagesPerSec] : []));
  return ips.reduce((a, b) => a + b, 0) / ips.length;
};
const plain: number[] = [];
const watched: number[] = [];
for (let k = 0; k < 3; k++) {
  for (const withDash of [false, true]) {
    const out = join(root, "speed", `${withDash ? "dash" : "plain"}-${k}`);
    const args = ["train", "--preset", "mnist-mlp", "--steps", String(steps), "--set", "log.every=50", "--set", "log.sampleEvery=100", "--out", out];
    if (!withDash) {
      gantry(...args);
      plain.push(rate(out));
      continue;
    }
    // The dashboard watches the run directory from before training starts, with a page open.
    mkdirSync(out, { recursive: true });
    const watch = await startDash({ paths: [join(root, "speed")], port: 0, log: () => {} });
    const tab = await browser.newPage();
    await tab.goto(watch.url);
    const child = await new Promise<number>((done) => {
      spawn(process.execPath, [join(repoRoot, "bin", "gantry.js"), ...args], { stdio: "ignore", env: { ...process.env, CI: "1" } }).on("exit", (code) =>
        done(code ?? -1),
      );
    });
    if (child !== 0) throw new Error(`training with the dashboard exited ${child}`);
    await tab.close();
    await watch.close();
    watched.push(rate(out));
  }
}
console.log(
  `training mnist-mlp, images/s without a dashboard: ${plain.map((x) => x.toFixed(0)).join(", ")}; with one watching: ${watched.map((x) => x.toFixed(0)).join(", ")}`,
);
console.log(
  `ratio watched/plain (medians): ${(median(watched) / median(plain)).toFixed(3)} (slowdown ${((1 - median(watched) / median(plain)) * 100).toFixed(1)}%)`,
);
await browser.close();
