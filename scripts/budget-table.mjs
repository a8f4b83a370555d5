#!/usr/bin/env node
// Quality at a budget (docs/challenges.md, "Quality at a budget"): trains one preset once for the
// largest budget, keeping a checkpoint every --every steps, then scores the newest checkpoint each
// budget reached (wall-clock minutes since the run began) with `gantry eval --json` on 10,000
// samples. One run gives every budget's row, so the rows share their seed and their history.
//
//   node scripts/budget-table.mjs --preset mnist-dcgan --seed 0 --minutes 5,15,45 [--threads 1]
//        [--every 250] [--out runs/budget] [-- more gantry train flags]
//
// Prints one JSON line per budget and keeps them in OUT/PRESET-sSEED.budgets.json; rerunning
// scores an existing run directory again without training. `--render FILE...` prints the markdown
// rows of earlier runs instead.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const gantry = resolve(import.meta.dirname, "..", "bin", "gantry.js");
const { values, positionals } = parseArgs({
  options: {
    preset: { type: "string" },
    seed: { type: "string", default: "0" },
    minutes: { type: "string", default: "5,15,45" },
    threads: { type: "string" },
    every: { type: "string", default: "250" },
    out: { type: "string", default: "runs/budget" },
    render: { type: "boolean", default: false },
  },
  allowPositionals: true,
});

const f = (x, d = 3) => (typeof x === "number" ? x.toFixed(d) : "–");
if (values.render) {
  for (const file of positionals) {
    for (const r of JSON.parse(readFileSync(file, "utf8"))) {
      const e = r.eval;
      console.log(
        `| ${r.preset} | ${r.seed} | ${r.minutes} | ${r.step} | ${f(e.fid, 2)} | ${f(e.precision)} | ${f(e.recall)} | ${e.classesCovered}/10 | ${e.labelAccuracy == null ? "–" : `${f(e.labelAccuracy * 100, 1)}%`} |`,
      );
    }
  }
  process.exit(0);
}

if (!values.preset) throw new Error("--preset is required");
const budgets = values.minutes.split(",").map(Number);
if (budgets.some((m) => !(m > 0))) throw new Error(`--minutes: expected minutes separated by commas, got ${values.minutes}`);
const longest = Math.max(...budgets);
const name = `${values.preset}-s${values.seed}`;
const run = join(values.out, name);
const env = { ...process.env, ...(values.threads && { GANTRY_NUM_THREADS: values.threads }) };
const cpu = cpus()[0]?.model ?? "unknown CPU";
console.error(`${name}: ${longest} minutes on ${values.threads ?? "all"} thread(s) of ${cpu}`);

if (!existsSync(join(run, "status.json"))) {
  mkdirSync(values.out, { recursive: true });
  execFileSync(
    process.execPath,
    [
      gantry,
      "train",
      "--preset",
      values.preset,
      "--seed",
      values.seed,
      "--time-limit",
      String(longest),
      "--epochs",
      "1000",
      "--set",
      `log.checkpointEvery=${values.every}`,
      "--set",
      "log.keepCheckpoints=100000",
      ...positionals,
      "--out",
      run,
    ],
    { env, stdio: ["ignore", "ignore", "inherit"] },
  );
}

// A checkpoint's age is its file's time against config.json's, written when the run began.
const started = statSync(join(run, "config.json")).mtimeMs;
const checkpoints = readdirSync(join(run, "checkpoints"))
  .filter((c) => /^step-\d+\.safetensors$/.test(c))
  .map((c) => ({ file: c, step: Number(c.match(/\d+/)[0]), minutes: (statSync(join(run, "checkpoints", c)).mtimeMs - started) / 60000 }))
  .sort((a, b) => a.step - b.step);
const rows = [];
for (const minutes of budgets) {
  const reached = checkpoints.filter((c) => c.minutes <= minutes * 1.02);
  const at = reached.at(-1);
  if (!at) throw new Error(`${run}: no checkpoint within ${minutes} minutes`);
  // A run directory holding only that checkpoint, for gantry eval --run.
  const view = mkdtempSync(join(tmpdir(), "gantry-budget-"));
  mkdirSync(join(view, "checkpoints"));
  symlinkSync(resolve(run, "config.json"), join(view, "config.json"));
  symlinkSync(resolve(run, "checkpoints", at.file), join(view, "checkpoints", at.file));
  const out = execFileSync(process.execPath, [gantry, "eval", "--run", view, "--json", "--seed", values.seed], { env, encoding: "utf8" });
  rmSync(view, { recursive: true });
  const row = {
    preset: values.preset,
    seed: Number(values.seed),
    minutes,
    step: at.step,
    atMinutes: +at.minutes.toFixed(2),
    cpu,
    eval: JSON.parse(out.trim().split("\n").at(-1)),
  };
  console.log(JSON.stringify({ ...row, eval: { fid: row.eval.fid, precision: row.eval.precision, recall: row.eval.recall } }));
  rows.push(row);
}
writeFileSync(join(values.out, `${name}.budgets.json`), JSON.stringify(rows, null, 1));
