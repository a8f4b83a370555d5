#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ with node's test runner, one process per file.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
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
// Every temporary file the tests and the processes they start make (run directories, caches,
// exports) goes under one folder, removed at the end: a run writes gigabytes, and a machine that
// runs the suite often would fill its disk. KEEP_TEST_TMP=1 keeps it for a look.
const scratch = mkdtempSync(join(tmpdir(), "gantry-tests-"));
const env = { ...process.env, OPENBLAS_NUM_THREADS: "1", TMPDIR: scratch };
// One file at a time (each uses every core it is given), and no test may hang the run: one that
// runs past 10 minutes fails with its name.
const flags = ["--expose-gc", "--test", "--test-reporter=spec", "--test-concurrency=1", "--test-timeout=600000"];
const started = Date.now();
const result = spawnSync(process.execPath, [...flags, ...files], { stdio: "inherit", env });
const size = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => {
    const path = join(dir, e.name);
    return sum + (e.isDirectory() ? size(path) : e.isFile() ? statSync(path).size : 0);
  }, 0);
const written = `${(size(scratch) / 1e6).toFixed(0)} MB of temporary files in ${scratch}`;
if (process.env.KEEP_TEST_TMP) console.log(`${files.length} test files in ${Math.round((Date.now() - started) / 1000)} s; kept ${written}`);
else {
  rmSync(scratch, { recursive: true, force: true });
  console.log(`${files.length} test files in ${Math.round((Date.now() - started) / 1000)} s; removed ${written}`);
}
process.exit(result.status ?? 1);
