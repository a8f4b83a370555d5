#!/usr/bin/env node
// Does gantry's folder evaluation (a SimCLR feature network trained on the folder, no labels)
// rank generators as the MNIST classifier does? MNIST's training images are written out as a
// plain folder of PNGs; each generator's samples are scored both ways; the orders are compared.
//
//   node scripts/folder-eval-check.mjs OUT_DIR GENERATOR...
//
// A GENERATOR is a run directory or a pretrained name (gantry list). OUT_DIR/mnist-folder holds
// the PNGs (20,000, written once); the table and Spearman's rank correlations go to stdout.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadDataset } from "../dist/src/data/index.js";
import { encodeGrid } from "../dist/src/image/png.js";
import { imagesOf } from "../dist/src/metrics/classifier.js";
import { evaluate, evaluateFolder } from "../dist/src/metrics/index.js";
import { generatorOfRun, loadPretrainedGenerator } from "../dist/src/train/index.js";
import { cpus } from "node:os";
import { manualSeed, tidy } from "../dist/src/engine/index.js";

const [out, ...sources] = process.argv.slice(2);
if (!out || sources.length < 2) {
  console.error("usage: node scripts/folder-eval-check.mjs OUT_DIR GENERATOR GENERATOR...  (run directories or pretrained names)");
  process.exit(2);
}
const folder = join(out, "mnist-folder");
const COUNT = 20_000;
if (!existsSync(folder) || readdirSync(folder).length < COUNT) {
  mkdirSync(folder, { recursive: true });
  const train = await loadDataset("mnist", { split: "train" });
  const images = imagesOf(train, COUNT);
  for (let i = 0; i < COUNT; i++) {
    const png = tidy(() => encodeGrid(images.narrow(0, i, 1), { padding: 0 }));
    writeFileSync(join(folder, `${String(i).padStart(5, "0")}.png`), png);
  }
  images.dispose();
  console.error(`wrote ${COUNT} MNIST training images to ${folder}`);
}

const data = { dataDir: folder, imageSize: 28, channels: 1 };
const rows = [];
const score = async (name, samples) => {
  const m = await evaluate(samples, "mnist");
  const f = await evaluateFolder(samples, data, { log: (s) => console.error(s) });
  rows.push({ name, mnist: m, folder: f });
  console.error(`${name}: FID ${m.fid.toFixed(2)} (MNIST classifier), ${f.fid.toFixed(3)} (folder features)`);
};

// Real test images: a perfect generator, the anchor at the top of both orders.
const test = await loadDataset("mnist", { split: "test" });
const real = imagesOf(test, 10_000);
await score("real MNIST test images", real);
real.dispose();
for (const source of sources) {
  const G = existsSync(source) ? generatorOfRun(source) : loadPretrainedGenerator(source);
  manualSeed(0);
  const { samples, labels } = G.sample(10_000);
  await score(source, samples);
  samples.dispose();
  labels?.dispose();
}

/** Spearman's rank correlation of two lists (no ties expected). */
function spearman(a, b) {
  const rank = (xs) => {
    const order = xs.map((x, i) => [x, i]).sort((p, q) => p[0] - q[0]);
    const r = new Array(xs.length);
    order.forEach(([, i], k) => {
      r[i] = k;
    });
    return r;
  };
  const [ra, rb] = [rank(a), rank(b)];
  const n = a.length;
  const d2 = ra.reduce((s, r, i) => s + (r - rb[i]) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

const f = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
console.log(`cpu: ${cpus()[0]?.model} x${cpus().length}; node ${process.version}; ${new Date().toISOString().slice(0, 10)}\n`);
console.log("| samples | FID (MNIST classifier) | FID (folder SimCLR) | precision (classifier / folder) | recall (classifier / folder) |");
console.log("|---|---|---|---|---|");
for (const r of rows)
  console.log(
    `| ${r.name} | ${f(r.mnist.fid, 2)} | ${f(r.folder.fid)} | ${f(r.mnist.precision)} / ${f(r.folder.precision)} | ${f(r.mnist.recall)} / ${f(r.folder.recall)} |`,
  );
const floor = rows[0];
console.log(
  `| floor (real vs real) | ${f(floor.mnist.floor.fid, 2)} | ${f(floor.folder.floor.fid)} | ${f(floor.mnist.floor.precision)} / ${f(floor.folder.floor.precision)} | ${f(floor.mnist.floor.recall)} / ${f(floor.folder.floor.recall)} |`,
);
for (const key of ["fid", "kid", "precision", "recall"]) {
  const rho = spearman(
    rows.map((r) => r.mnist[key]),
    rows.map((r) => r.folder[key]),
  );
  console.log(`Spearman rank correlation of ${key}, MNIST classifier vs folder features, over ${rows.length} sample sets: ${rho.toFixed(3)}`);
}
