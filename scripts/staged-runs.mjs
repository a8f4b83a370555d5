// What the staged-budget table scripts share (cures-table.mjs, finetune-table.mjs): gantry run as a
// child on one engine thread, results kept one JSON line each so a rerun picks up where it stopped,
// a pool of workers, and mean ± sd.
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

/** Runs `gantry ARGS` on one engine thread; resolves with its stdout, rejects with its stderr's tail. */
export const gantry = (args) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/gantry.js", ...args], { env: { ...process.env, GANTRY_NUM_THREADS: "1", CI: "1" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`gantry ${args.join(" ")} exited ${code}: ${err.slice(-2000)}`))));
  });

/** Finished records in a JSON-lines file, found by key(record); add() appends one. */
export function results(file, key) {
  mkdirSync(dirname(file), { recursive: true });
  const done = new Map();
  if (existsSync(file))
    for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
      const r = JSON.parse(line);
      done.set(key(r), r);
    }
  return {
    has: (r) => done.has(key(r)),
    get: (r) => done.get(key(r)),
    add(r) {
      appendFileSync(file, `${JSON.stringify(r)}\n`);
      done.set(key(r), r);
    },
  };
}

/** Runs fn(...job) for every job, `workers` at a time. */
export async function pool(jobs, workers, fn) {
  const queue = [...jobs];
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) await fn(...job);
  };
  await Promise.all(Array.from({ length: Math.max(1, workers) }, worker));
}

/** "mean ± sd" (sample sd) with d decimals. */
export function meanSd(xs, d = 1) {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return `${mean.toFixed(d)} ± ${sd.toFixed(d)}`;
}

/** A function that prints `SCRIPT: message` and exits 2. */
export function failWith(script) {
  return (message) => {
    console.error(`${script}: ${message}`);
    process.exit(2);
  };
}

/** A comma-separated flag's items, empty ones dropped. */
export const list = (text) => text.split(",").filter(Boolean);

/** A comma-separated flag as rising positive integers, or fail. */
export function risingSteps(text, fail, flag = "--steps") {
  const budgets = list(text).map(Number);
  if (!budgets.length || budgets.some((b, i) => !Number.isInteger(b) || b < 1 || (i > 0 && b <= budgets[i - 1])))
    fail(`${flag} must be rising positive integers, got '${text}'`);
  return budgets;
}

/** A comma-separated flag as seeds (integers from 0), or fail. */
export function seedList(text, fail) {
  const seeds = list(text).map(Number);
  if (!seeds.length || seeds.some((s) => !Number.isInteger(s) || s < 0)) fail(`--seeds must be integers from 0, got '${text}'`);
  return seeds;
}
