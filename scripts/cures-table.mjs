#!/usr/bin/env node
// The mode-collapse tables of docs/challenges.md: cures against the plain GAN on the toy protocol
// of Unrolled GAN, VEEGAN and PacGAN (a ring of 8 or a grid of 25 Gaussians), over seeds, at one
// or more step budgets. Each (cure, seed) trains to the first budget, is scored by `gantry eval`
// (2,500 samples), then resumes to the next budget (a resume is exact, so each row is the run that
// trained that long) and is scored again. Two runs at a time, one engine thread each. Finished
// scores are kept in runs/cures/results.jsonl, so the script picks up where it stopped.
//
//   node scripts/cures-table.mjs --dataset grid25 --setup paper --cures plain,pacgan2 \
//     --seeds 0,1,2,3,4 --steps 50000,100000,150000,250000,400000
//   node scripts/cures-table.mjs --dataset ring8 --setup lr1e-4 --cures plain,r1-pacgan2 --steps 15000
//   node scripts/cures-table.mjs --table ...same flags...     (print the table from what is done)
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { failWith, gantry, list, meanSd, pool, results, risingSteps, seedList } from "./staged-runs.mjs";

/** Each cure as the flags it adds. */
const cures = {
  plain: { label: "plain GAN", flags: [] },
  pacgan2: { label: "PacGAN2", flags: ["--set", "model.pack=2"] },
  pacgan4: { label: "PacGAN4", flags: ["--set", "model.pack=4"] },
  mbstd: { label: "minibatch std", flags: ["--set", "model.discriminator.options.minibatchStd=4"] },
  unrolled: { label: "unrolled D (k = 5)", flags: ["--set", "train.unrolledSteps=5"] },
  "wgan-gp": { label: "WGAN-GP", flags: ["--loss", "wgan-gp", "--set", "train.nCritic=5", "--set", "train.betas=[0.5,0.9]"] },
  "hinge-sn": { label: "hinge + spectral norm", flags: ["--loss", "hinge", "--set", "model.discriminator.options.spectralNorm=true"] },
  r1: { label: "R1 (gamma 1)", flags: ["--loss", "r1", "--set", "loss.penaltyWeight=1"] },
  topk: { label: "top-k (0.5)", flags: ["--set", "train.topK=0.5"] },
  "r1-pacgan2": { label: "R1 and PacGAN2", flags: ["--loss", "r1", "--set", "loss.penaltyWeight=1", "--set", "model.pack=2"] },
};

/** The networks and optimizer each cure runs on. */
const setups = {
  // The toy preset as it is: MLPs 3x128, batch 256, Adam 1e-3.
  preset: [],
  // The published setups' learning rate on the preset's networks.
  "lr1e-4": ["--lr-g", "1e-4", "--lr-d", "1e-4"],
  // PacGAN's and VEEGAN's own (their code's): G 4x400 with BatchNorm from a 2-d latent, D 3x200,
  // batch 100, Adam 1e-4 with betas (0.8, 0.999).
  paper: [
    "--set",
    "model.latentDim=2",
    "--set",
    "model.generator.options.hidden=[400,400,400,400]",
    "--set",
    "model.generator.options.batchNorm=true",
    "--set",
    "model.discriminator.options.hidden=[200,200,200]",
    "--batch-size",
    "100",
    "--set",
    "train.betas=[0.8,0.999]",
    "--lr-g",
    "1e-4",
    "--lr-d",
    "1e-4",
  ],
};

const { values } = parseArgs({
  options: {
    dataset: { type: "string", default: "grid25" },
    setup: { type: "string", default: "paper" },
    cures: { type: "string", default: "plain,pacgan2" },
    seeds: { type: "string", default: "0,1,2,3,4" },
    steps: { type: "string", default: "50000" },
    workers: { type: "string", default: "2" },
    table: { type: "boolean", default: false },
  },
});
const fail = failWith("cures-table");
const { dataset, setup } = values;
if (!["ring8", "grid25"].includes(dataset)) fail(`--dataset must be ring8 or grid25, got '${dataset}'`);
if (!(setup in setups)) fail(`--setup must be one of ${Object.keys(setups).join(", ")}, got '${setup}'`);
const cureNames = list(values.cures);
for (const c of cureNames) if (!(c in cures)) fail(`--cures: unknown cure '${c}'; known: ${Object.keys(cures).join(", ")}`);
const seeds = seedList(values.seeds, fail);
const budgets = risingSteps(values.steps, fail);

const root = join("runs", "cures");
const done = results(join(root, "results.jsonl"), (r) => [r.dataset, r.setup, r.cure, r.seed, r.steps].join("|"));

/** One (cure, seed): train to each budget in turn, scoring after each. */
async function chain(cure, seed) {
  const dir = join(root, `${dataset}-${setup}-${cure}-${seed}`);
  for (const [i, steps] of budgets.entries()) {
    const record = { dataset, setup, cure, seed, steps };
    if (done.has(record)) continue;
    const start = Date.now();
    const base = existsSync(join(dir, "checkpoints"));
    if (i === 0 && !base)
      await gantry([
        "train",
        "--preset",
        `toy-${dataset}`,
        "--seed",
        String(seed),
        "--out",
        dir,
        "--set",
        "log.every=1000",
        "--steps",
        String(steps),
        ...setups[setup],
        ...cures[cure].flags,
      ]);
    else await gantry(["train", "--resume", dir, "--steps", String(steps), "--set", "log.evalEvery=10000", "--set", "log.evalCount=2500"]);
    const score = JSON.parse(await gantry(["eval", "--run", dir, "--json", "--count", "2500"]));
    Object.assign(record, { modes: score.modesCaptured, numModes: score.numModes, hq: score.highQualityFraction, minutes: (Date.now() - start) / 60000 });
    done.add(record);
    console.error(
      `${dataset} ${setup} ${cure} seed ${seed} at ${steps} steps: ${record.modes}/${record.numModes} modes, ${(record.hq * 100).toFixed(1)}% high quality`,
    );
  }
}

if (!values.table)
  await pool(
    cureNames.flatMap((cure) => seeds.map((seed) => [cure, seed])),
    Number(values.workers),
    chain,
  );

const rows = [];
for (const cure of cureNames)
  for (const steps of budgets) {
    const rs = seeds.map((seed) => done.get({ dataset, setup, cure, seed, steps })).filter(Boolean);
    if (!rs.length) continue;
    const modes = rs.map((r) => r.modes);
    const hq = rs.map((r) => r.hq * 100);
    rows.push(`| ${cures[cure].label} | ${steps.toLocaleString("en-US")} | ${modes.join(", ")} | ${meanSd(modes)} | ${meanSd(hq)}% |`);
  }
const of = dataset === "grid25" ? 25 : 8;
console.log(
  [`| run | steps | ${dataset} modes of ${of}, seeds ${seeds.join(", ")} | mean ± sd | high quality, mean ± sd |`, "|---|---|---|---|---|", ...rows].join("\n"),
);
