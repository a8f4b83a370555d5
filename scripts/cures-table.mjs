#!/usr/bin/env node
// The mode-collapse table of docs/challenges.md: every cure against the plain GAN on the toy
// protocol (ring of 8 and grid of 25 Gaussians, Unrolled GAN / VEEGAN / PacGAN), the same step
// budget, over several seeds. Runs two trainings at a time, one thread each; finished runs are
// kept in runs/cures/results.jsonl, so the script resumes where it stopped.
//
//   node scripts/cures-table.mjs            # SEEDS=5 by default; prints the markdown table
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";

const seeds = Number(process.env.SEEDS ?? 5);
const workers = Number(process.env.WORKERS ?? Math.max(1, Math.min(2, cpus().length)));
const root = join("runs", "cures");
const results = join(root, "results.jsonl");
mkdirSync(root, { recursive: true });

/** Each cure as the flags it adds to the toy preset (MLP 3x128, batch 256, 5,000 D steps). */
export const cures = {
  "plain GAN": [],
  "PacGAN (m = 2)": ["--set", "model.pack=2"],
  "minibatch std": ["--set", "model.discriminator.options.minibatchStd=4"],
  "unrolled D (k = 5)": ["--set", "train.unrolledSteps=5"],
  "WGAN-GP (n_critic 5)": ["--loss", "wgan-gp", "--set", "train.nCritic=5", "--lr-g", "1e-4", "--lr-d", "1e-4", "--set", "train.betas=[0.5,0.9]"],
  "hinge + spectral norm": ["--loss", "hinge", "--set", "model.discriminator.options.spectralNorm=true"],
  "R1 (gamma 1)": ["--loss", "r1", "--set", "loss.penaltyWeight=1"],
};
const datasets = ["ring8", "grid25"];

const done = new Map();
if (existsSync(results))
  for (const line of readFileSync(results, "utf8").trim().split("\n").filter(Boolean)) {
    const r = JSON.parse(line);
    done.set(`${r.cure}|${r.dataset}|${r.seed}`, r);
  }

const gantry = (args) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/gantry.js", ...args], { env: { ...process.env, GANTRY_NUM_THREADS: "1", CI: "1" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`gantry ${args.join(" ")} exited ${code}: ${err}`))));
  });

const jobs = [];
for (let seed = 0; seed < seeds; seed++) {
  for (const dataset of datasets)
    for (const [cure, flags] of Object.entries(cures)) if (!done.has(`${cure}|${dataset}|${seed}`)) jobs.push({ cure, flags, dataset, seed });
}

async function worker() {
  for (let job = jobs.shift(); job; job = jobs.shift()) {
    const dir = join(root, `${job.dataset}-${job.cure.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}-${job.seed}`);
    const start = Date.now();
    await gantry(["train", "--preset", `toy-${job.dataset}`, "--seed", String(job.seed), "--out", dir, "--overwrite", "--set", "log.every=1000", ...job.flags]);
    const minutes = (Date.now() - start) / 60000;
    const score = JSON.parse(await gantry(["eval", "--run", dir, "--json", "--count", "2500"]));
    const record = {
      cure: job.cure,
      dataset: job.dataset,
      seed: job.seed,
      modes: score.modesCaptured,
      numModes: score.numModes,
      hq: score.highQualityFraction,
      minutes,
    };
    appendFileSync(results, `${JSON.stringify(record)}\n`);
    done.set(`${job.cure}|${job.dataset}|${job.seed}`, record);
    console.error(
      `${job.dataset} ${job.cure} seed ${job.seed}: ${record.modes}/${record.numModes} modes, ${(record.hq * 100).toFixed(1)}% high quality, ${minutes.toFixed(1)} min`,
    );
  }
}
await Promise.all(Array.from({ length: workers }, worker));

const stats = (xs) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, sd };
};
const rows = Object.keys(cures).map((cure) => {
  const cells = datasets.map((dataset) => {
    const rs = [...done.values()].filter((r) => r.cure === cure && r.dataset === dataset);
    if (!rs.length) return "– | –";
    const m = stats(rs.map((r) => r.modes));
    const h = stats(rs.map((r) => r.hq * 100));
    return `${m.mean.toFixed(1)} ± ${m.sd.toFixed(1)} (${rs.length}) | ${h.mean.toFixed(1)} ± ${h.sd.toFixed(1)}%`;
  });
  const minutes = stats([...done.values()].filter((r) => r.cure === cure).map((r) => r.minutes)).mean;
  return `| ${cure} | ${cells.join(" | ")} | ${Number.isFinite(minutes) ? minutes.toFixed(1) : "–"} |`;
});
console.log(
  [
    "| cure | ring8 modes (of 8) (seeds) | ring8 high quality | grid25 modes (of 25) (seeds) | grid25 high quality | minutes per run (1 thread) |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n"),
);
