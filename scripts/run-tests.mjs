#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ with node's test runner, one file at a time, each in
// its own process and its own temporary folder; then a table of the files' times and results.
//   node scripts/run-tests.mjs [FILTER]   only the files whose path contains FILTER
//   KEEP_TEST_TMP=1                        keep the temporary folders for a look
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

const size = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => {
    const path = join(dir, e.name);
    return sum + (e.isDirectory() ? size(path) : e.isFile() ? statSync(path).size : 0);
  }, 0);

const filter = process.argv[2];
const files = find("dist")
  .filter((f) => !filter || f.includes(filter))
  .sort();
if (!files.length) {
  console.error(`no test files found${filter ? ` matching '${filter}'` : ""}`);
  process.exit(1);
}

// No test may hang the run: one that runs past 10 minutes fails with its name.
const flags = ["--expose-gc", "--test", "--test-reporter=spec", "--test-timeout=600000"];
const started = Date.now();
const rows = [];
for (const file of files) {
  // Everything the file's tests and the processes they start write to the temporary folder (run
  // directories, exports, caches) lands here and is removed after the file: the suite writes
  // gigabytes in all, which a machine that runs it often would otherwise keep.
  const scratch = mkdtempSync(join(tmpdir(), "gantry-tests-"));
  const env = { ...process.env, OPENBLAS_NUM_THREADS: "1", TMPDIR: scratch };
  const t0 = Date.now();
  const result = spawnSync(process.execPath, [...flags, file], { stdio: "inherit", env });
  const mb = size(scratch) / 1e6;
  if (!process.env.KEEP_TEST_TMP) rmSync(scratch, { recursive: true, force: true });
  rows.push({ file, ok: result.status === 0, seconds: (Date.now() - t0) / 1000, mb });
}

const failed = rows.filter((r) => !r.ok);
console.log(`\n${"test file".padEnd(48)}${"seconds".padStart(9)}${"temp MB".padStart(9)}  result`);
for (const r of rows) {
  console.log(`${r.file.replace(/^dist\//, "").padEnd(48)}${r.seconds.toFixed(1).padStart(9)}${r.mb.toFixed(0).padStart(9)}  ${r.ok ? "pass" : "FAIL"}`);
}
console.log(
  `${files.length} test files in ${Math.round((Date.now() - started) / 1000)} s: ${failed.length ? `${failed.length} FAILED (${failed.map((r) => r.file).join(", ")})` : "all passed"}`,
);
process.exit(failed.length ? 1 : 0);
