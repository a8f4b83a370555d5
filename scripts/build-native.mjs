#!/usr/bin/env node
// Builds the libtorch addon with node-gyp: `npm run build:native`, and on `npm install`.
// An up-to-date build is kept unless --force is given.
import { spawnSync } from "node:child_process";
import { existsSync, statSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { findLibtorch } from "./libtorch.mjs";

const root = join(dirname(new URL(import.meta.url).pathname), "..");
const output = join(root, "build", "Release", "gantry.node");
const force = process.argv.includes("--force");

function newestSource() {
  const files = ["binding.gyp", ...readdirSync(join(root, "native")).map((f) => join("native", f))];
  return Math.max(...files.map((f) => statSync(join(root, f)).mtimeMs));
}

if (!force && existsSync(output) && statSync(output).mtimeMs > newestSource()) {
  console.log("gantry: native addon is up to date (npm run build:native rebuilds it)");
  process.exit(0);
}

let libtorch;
try {
  libtorch = findLibtorch();
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
console.log(`gantry: building the native addon against ${libtorch.source}`);

// Distribution-packaged Node keeps its headers beside the binary (/usr/include/node);
// pointing node-gyp there stops it trying to download them.
const args = ["rebuild", "-j", "max"];
const prefix = join(dirname(process.execPath), "..");
if (existsSync(join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);

const require = createRequire(import.meta.url);
const nodeGyp = require.resolve("node-gyp/bin/node-gyp.js");
const started = Date.now();
const result = spawnSync(process.execPath, [nodeGyp, ...args], { cwd: root, stdio: "inherit" });
if (result.status !== 0) {
  console.error("gantry: the native build failed (see the compiler output above)");
  process.exit(result.status ?? 1);
}
console.log(`gantry: native addon built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
