// npm run bench:dist — data-parallel training on this machine (issue 15, item 6): images/s of
// `gantry train` in 1 process x 2 threads against `gantry train --nproc 2` (2 processes x 1
// thread); the time one step's all-reduces take on their own (D's gradients, then G's, between
// 2 processes, outside training: in training they overlap the backward pass); and for every preset the bytes all-reduced per step and what they would cost on a 100 Gb/s
// network. Both settings run the real CLI; rounds alternate them so that machine noise hits both
// alike. The last line is JSON.
//   BENCH_ROUNDS (3), BENCH_PRESETS (mnist-mlp,mnist-dcgan)
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { machineLine, median, scratchDir } from "./torch-worker.js";

const gantryBin = join(fileURLToPath(import.meta.url), "..", "..", "..", "bin", "gantry.js");

/** Steps and log interval per preset: about 20 s a run on 2 cores. */
const budgets: Record<string, { steps: number; every: number }> = {
  "mnist-mlp": { steps: 300, every: 25 },
  "mnist-dcgan": { steps: 48, every: 6 },
};

interface Measured {
  imagesPerSec: number;
}

const scratch = scratchDir();
let runs = 0;

function train(preset: string, nproc: number): Measured {
  const { steps, every } = budgets[preset];
  const dir = join(scratch, `run-${runs++}`);
  const args = ["train", "--preset", preset, "--steps", String(steps), "--set", `log.every=${every}`, "--set", "log.checkpointEvery=1000000", "--out", dir];
  if (nproc > 1) args.push("--nproc", String(nproc));
  const env = { ...process.env, CI: "1", GANTRY_NUM_THREADS: String(2 / nproc) };
  const r = spawnSync(process.execPath, [gantryBin, ...args], { env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`gantry ${args.join(" ")}: ${r.stderr}`);
  // The first log interval includes start-up (threads, the first allocations): left out.
  const records = readFileSync(join(dir, "stats.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { imagesPerSec?: number })
    .filter((s) => s.imagesPerSec !== undefined)
    .slice(1);
  return { imagesPerSec: median(records.map((s) => s.imagesPerSec!)) };
}

/** One rank of the all-reduce timing: D's gradients, then G's, as tensors of their shapes, 30 times. */
async function allreduceWorker(preset: string) {
  const { createGan } = await import("../src/train/index.js");
  const { DataParallel, distEnvFrom } = await import("../src/parallel/index.js");
  const { zerosLike, tidy } = await import("../src/engine/index.js");
  const { G, D } = createGan(preset);
  const group = DataParallel.join(distEnvFrom()!);
  const grads = [D, G].map((m) => m.parameters().map((p) => tidy(() => zerosLike(p))));
  // About the collectives the Reducer makes: one coalesced all-reduce per model's buckets.
  const ms: number[] = [];
  for (let i = 0; i < 35; i++) {
    group.barrier("timing");
    const start = performance.now();
    for (const g of grads) group.average(g, "timing");
    if (i >= 5) ms.push(performance.now() - start);
  }
  if (distEnvFrom()!.rank === 0) console.log(JSON.stringify({ ms: median(ms) }));
  group.shutdown();
}

async function allreduceMs(preset: string): Promise<number> {
  const { freePort } = await import("../src/parallel/index.js");
  const port = await freePort();
  const self = fileURLToPath(import.meta.url);
  const outs = await Promise.all(
    [0, 1].map(
      (rank) =>
        new Promise<string>((done, fail) => {
          const env = { ...process.env, RANK: String(rank), WORLD_SIZE: "2", MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), GANTRY_NUM_THREADS: "1" };
          const child = spawn(process.execPath, [self, "allreduce", preset], { env, stdio: ["ignore", "pipe", "inherit"] });
          let out = "";
          child.stdout.on("data", (d) => {
            out += String(d);
          });
          child.once("exit", (code) => (code === 0 ? done(out) : fail(new Error(`all-reduce worker ${rank} exited ${code}`))));
        }),
    ),
  );
  return JSON.parse(outs[0].trim()).ms;
}

async function bytesTable() {
  const { createGan, presets } = await import("../src/train/index.js");
  const rows: Record<string, unknown>[] = [];
  for (const [name, preset] of Object.entries(presets)) {
    // An image-folder preset's size comes from its config; the folder itself is not read here.
    const folder = preset.overrides.data?.dataset === "folder" ? { data: { dataDir: "." } } : {};
    const { G, D, config } = createGan({ preset: name, ...folder });
    const g = G.parameters().reduce((n, p) => n + p.size, 0);
    const d = D.parameters().reduce((n, p) => n + p.size, 0);
    // Per D step: D's gradients, and G's every nCritic steps; float32.
    const bytes = 4 * (d + g / config.train.nCritic);
    // A ring all-reduce sends (and receives) 2 (N - 1) / N of the buffer per rank: about twice it for large N.
    const at100G = ((2 * bytes) / 12.5e9) * 1000;
    rows.push({
      preset: name,
      paramsG: g,
      paramsD: d,
      nCritic: config.train.nCritic,
      mbPerStep: +(bytes / 2 ** 20).toFixed(2),
      msPerStepAt100Gbps: +at100G.toFixed(3),
    });
  }
  return rows;
}

async function main() {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const presets = (process.env.BENCH_PRESETS ?? "mnist-mlp,mnist-dcgan").split(",").filter(Boolean);
  console.log(`${machineLine()}; ${rounds} rounds; gloo on 127.0.0.1`);
  const results: Record<string, unknown> = {};
  for (const preset of presets) {
    const one: Measured[] = [];
    const two: Measured[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const n of r % 2 ? [2, 1] : [1, 2]) (n === 1 ? one : two).push(train(preset, n));
    }
    const row = {
      one_process_2_threads_images_per_s: +median(one.map((m) => m.imagesPerSec)).toFixed(1),
      two_processes_1_thread_images_per_s: +median(two.map((m) => m.imagesPerSec)).toFixed(1),
      ratio_two_vs_one: +(median(two.map((m) => m.imagesPerSec)) / median(one.map((m) => m.imagesPerSec))).toFixed(3),
      allreduce_ms_per_step: +(await allreduceMs(preset)).toFixed(2),
      step_ms_two_processes: +((64 / median(two.map((m) => m.imagesPerSec))) * 1000).toFixed(2),
    };
    results[preset] = row;
    console.log(`${preset}: ${JSON.stringify(row)}`);
  }
  const table = await bytesTable();
  console.log("bytes all-reduced per D step (float32 gradients of D, and of G every nCritic steps), and their time on a 100 Gb/s link:");
  for (const row of table) console.log(`  ${JSON.stringify(row)}`);
  results.bytes = table;
  console.log(JSON.stringify(results));
}

if (process.argv[2] === "allreduce") await allreduceWorker(process.argv[3]);
else await main();
