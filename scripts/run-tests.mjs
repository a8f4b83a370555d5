#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ with node's test runner, one process per file.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? find(path) : name.endsWith(".test.js") ? [path] : [];
  });
}

const filter = process.argv[2];
const files = find("dist")
  .filter((f) => !filter || f.includes(filter))
  .sort();
if (!files.length) {
  console.error(`no test files found${filter ? ` matching '${filter}'` : ""}`);
  process.exit(1);
}
const env = { ...process.env, OPENBLAS_NUM_THREADS: "1" };
// One file at a time (each uses every core it is given), and no test may hang the run: one that
// runs past 10 minutes fails with its name.
const flags = ["--expose-gc", "--test", "--test-reporter=spec", "--test-concurrency=1", "--test-timeout=600000"];
const started = Date.now();
const result = spawnSync(process.execPath, [...flags, ...files], { stdio: "inherit", env });
console.log(`${files.length} test files in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(result.status ?? 1);
