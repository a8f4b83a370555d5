#!/usr/bin/env node
// What fine-tuning saves (docs/challenges.md, "Compute cost"): a preset trained from random weights
// and from trained ones (--init: a shipped model's name, a pretrained file or a run), over seeds, at
// rising step budgets. Each (start, seed) trains to the first budget, is scored by `gantry eval`
// (10,000 samples), then resumes to the next (a resume is exact, so each row is the run that
// trained that long) and is scored again. Two runs at a time, one engine thread each. Scores are
// kept in OUT/results.jsonl, so the script picks up where it stopped.
//
//   node scripts/finetune-table.mjs --preset fashion-dcgan --init mnist-dcgan --seeds 0,1 \
//     --steps 500,2000,5000 [--g-only] [--out runs/finetune] [--workers 2]
//
// --g-only adds a third start: G from --init, D from random weights (model.initD false).
//   node scripts/finetune-table.mjs --table ...same flags...     (print the table from what is done)
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { failWith, gantry, meanSd, pool, results, risingSteps, seedList } from "./staged-runs.mjs";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "fashion-dcgan" },
    init: { type: "string", default: "mnist-dcgan" },
    seeds: { type: "string", default: "0,1" },
    steps: { type: "string", default: "500,2000,5000" },
    out: { type: "string", default: "runs/finetune" },
    workers: { type: "string", default: "2" },
    "g-only": { type: "boolean", default: false },
    table: { type: "boolean", default: false },
  },
});
const fail = failWith("finetune-table");
const { preset, init, out } = values;
const seeds = seedList(values.seeds, fail);
const budgets = risingSteps(values.steps, fail);
const gOnly = `${init}, G only`;
const starts = ["scratch", init, ...(values["g-only"] ? [gOnly] : [])];
/** How the table names each start: the flags that give it. */
const labels = { scratch: "random weights", [init]: `\`--init ${init}\``, [gOnly]: `\`--init ${init} --set model.initD=false\`` };
const done = results(join(out, "results.jsonl"), (r) => [r.preset, r.start, r.seed, r.steps].join("|"));

/** One (start, seed): train to each budget in turn, scoring after each. */
async function chain(start, seed) {
  const dir = join(out, `${preset}-${start.replace(/[^\w.-]/g, "_")}-${seed}`);
  for (const [i, steps] of budgets.entries()) {
    const record = { preset, start, seed, steps };
    if (done.has(record)) continue;
    const began = Date.now();
    if (i === 0 && !existsSync(join(dir, "checkpoints"))) {
      const from = start === "scratch" ? [] : ["--init", init, ...(start === gOnly ? ["--set", "model.initD=false"] : [])];
      await gantry(["train", "--preset", preset, "--seed", String(seed), "--steps", String(steps), "--out", dir, ...from]);
    } else await gantry(["train", "--resume", dir, "--steps", String(steps)]);
    const score = JSON.parse(await gantry(["eval", "--run", dir, "--json", "--seed", "0"]));
    Object.assign(record, {
      fid: score.fid,
      precision: score.precision,
      recall: score.recall,
      coverage: score.coverage,
      minutes: (Date.now() - began) / 60000,
    });
    done.add(record);
    console.error(`${preset} from ${start}, seed ${seed}, ${steps} steps: FID ${score.fid.toFixed(2)}`);
  }
}

if (!values.table)
  await pool(
    starts.flatMap((start) => seeds.map((seed) => [start, seed])),
    Number(values.workers),
    chain,
  );

const rows = [];
for (const steps of budgets)
  for (const start of starts) {
    const rs = seeds.map((seed) => done.get({ preset, start, seed, steps })).filter(Boolean);
    if (!rs.length) continue;
    const col = (f, d) => meanSd(rs.map(f), d);
    rows.push(
      `| ${steps.toLocaleString("en-US")} | ${labels[start]} | ${rs.map((r) => r.fid.toFixed(1)).join(", ")} | ${col((r) => r.fid, 1)} | ${col((r) => r.precision, 3)} | ${col((r) => r.recall, 3)} |`,
    );
  }
console.log([`| steps | start | FID, seeds ${seeds.join(", ")} | FID, mean ± sd | precision | recall |`, "|---|---|---|---|---|---|", ...rows].join("\n"));
