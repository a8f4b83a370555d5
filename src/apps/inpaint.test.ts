// Inpainting: masks, context weights, Poisson blending, and latent optimization on a small real
// GAN; the CLI on IDX and PNG input; clear errors for bad masks and shapes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { classesFromContext, contextClassifierPath, contextWeights, inpaint, makeMask, noContextClassifier, poissonBlend, randomHoles } from "./inpaint.js";
import { loadClassifier } from "../metrics/classifier.js";
import { loadDataset } from "../data/index.js";
import { createGan, Trainer, loadTrainedPair } from "../train/index.js";
import { noGrad, rand, randn, tensor, tidy, zeros } from "../engine/index.js";
import { writeIdx, readIdx } from "../data/idx.js";
import { ShapeError } from "../errors.js";
import { gantry, gantryOk, silentProgress } from "../../test/helpers.js";

const tmp = () => mkdtempSync(join(tmpdir(), "gantry-inpaint-"));

let runDir: string | null = null;
/** A small real GAN: the tutorial's MLPs after 30 steps. */
async function smallRun(): Promise<string> {
  if (runDir) return runDir;
  const dir = tmp();
  const trainer = await Trainer.create(createGan({ preset: "mnist-mlp", train: { steps: 30, batchSize: 32 }, log: { every: 10 } }), {
    runDir: dir,
    progress: silentProgress(),
  });
  await trainer.run();
  trainer.dispose();
  runDir = dir;
  return dir;
}

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;

test("masks hide what their names say; 1 marks a known pixel", () => {
  tidy(() => {
    const known = (kind: Parameters<typeof makeMask>[0]) => makeMask(kind, 2, 28, 28).mean().item();
    assert.equal(known("center"), 1 - 0.25);
    for (const half of ["left", "right", "top", "bottom"] as const) assert.equal(known(half), 0.5);
    assert.ok(Math.abs(known("random") - 0.2) < 0.03, "random hides 80%");
    assert.ok(known("noise") > 0.3 && known("noise") < 0.7);
    const left = makeMask("left", 1, 28, 28);
    assert.equal(left.narrow(3, 0, 14).sum().item(), 0);
    assert.equal(left.narrow(3, 14, 14).mean().item(), 1);
  });
});

test("context weights are zero in the hole and largest beside it", () => {
  tidy(() => {
    const mask = makeMask("center", 1, 28, 28);
    const w = contextWeights(mask, 7);
    assert.equal(w.mul(mask.rsub(1)).abs().sum().item(), 0, "no weight in the hole");
    const row = w.narrow(2, 14, 1).flatten().toArray();
    assert.ok(row[6] > row[3] && row[3] === 0, `beside the hole ${row[6]}, far from it ${row[3]}`);
    assert.ok(w.max().item() <= 1);
  });
});

test("Poisson blending keeps the known pixels and follows G's gradients without a seam", () => {
  tidy(() => {
    const known = randn([2, 1, 28, 28]).mul(0.3);
    const mask = makeMask("center", 2, 28, 28);
    // G's output is the true image shifted by a constant: its gradients are the image's, so the blend recovers the image.
    const blended = poissonBlend(known, known.add(0.5), mask, 2000);
    assert.equal(blended.sub(known).mul(mask).abs().max().item(), 0, "known pixels kept exactly");
    assert.ok(blended.sub(known).abs().max().item() < 1e-3, "the hole matches the image, not the shifted copy");
  });
});

test("inpainting lowers the context loss, keeps the known pixels, and says what is wrong with its input", async () => {
  const { G, D } = loadTrainedPair(await smallRun(), "--run");
  tidy(() => {
    // Images G can make (from other noise): latent search should find a close match.
    const images = noGrad(() => G.forward(randn([4, 100])));
    const mask = makeMask("center", 4, 28, 28);
    const r = inpaint(G, D, images, mask, { steps: 60, restarts: 2 });
    assert.ok(mean(r.contextAfter) < 0.5 * mean(r.contextBefore), `context loss ${mean(r.contextBefore)} -> ${mean(r.contextAfter)}`);
    assert.equal(r.completed.sub(images).mul(mask).abs().max().item(), 0);
    assert.deepEqual(r.z.shape, [4, 100]);
    // Screening 64 draws per image starts the search where G already fits the known pixels better.
    const plain = inpaint(G, D, images, mask, { steps: 1, restarts: 2, seed: 3, candidates: 1 });
    const screened = inpaint(G, D, images, mask, { steps: 1, restarts: 2, seed: 3, candidates: 64 });
    assert.ok(mean(screened.contextBefore) < 0.8 * mean(plain.contextBefore), `start ${mean(plain.contextBefore)} vs screened ${mean(screened.contextBefore)}`);
    assert.throws(
      () => inpaint(G, D, randn([4, 1, 32, 32]), mask),
      (e: Error) => e instanceof ShapeError && /\[4, 1, 32, 32\].*\[N, 1, 28, 28\]/.test(e.message),
    );
    assert.throws(
      () => inpaint(G, D, images, randn([4, 28, 28])),
      (e: Error) => e instanceof ShapeError && /the mask is \[4, 28, 28\]/.test(e.message),
    );
    assert.throws(() => inpaint(G, D, images, makeMask("left", 3, 28, 28)), ShapeError);
  });
});

test("a conditional generator inpaints with the classes given, or searches them with z", () => {
  const { G, D } = createGan({ preset: "mnist-cgan" });
  G.eval();
  tidy(() => {
    const images = noGrad(() => G.forward(randn([6, 100]), zeros([6], { dtype: "int64" }).add(7)));
    const mask = makeMask("center", 6, 28, 28);
    const given = inpaint(G, D, images, mask, { steps: 1, restarts: 1, candidates: 256, labels: 7 });
    assert.deepEqual(given.labels?.toArray(), [7, 7, 7, 7, 7, 7]);
    const plain = inpaint(G, D, images, mask, { steps: 1, restarts: 1, seed: 2, candidates: 1 });
    const searched = inpaint(G, D, images, mask, { steps: 1, restarts: 2, candidates: 256, seed: 2 });
    for (const r of [plain, searched]) {
      assert.deepEqual(r.labels?.shape, [6]);
      assert.ok(r.labels?.toArray().every((k) => Number.isInteger(k) && k >= 0 && k < 10));
    }
    assert.ok(mean(searched.contextBefore) < mean(plain.contextBefore), `plain ${mean(plain.contextBefore)}, searched ${mean(searched.contextBefore)}`);
  });
});

test("gantry inpaint on an IDX file and on a folder of PNGs writes the grid and the images in their format", async () => {
  const run = await smallRun();
  const dir = tmp();
  const idx = join(dir, "x-images-idx3-ubyte.gz");
  writeIdx(idx, { data: Uint8Array.from({ length: 3 * 784 }, (_, i) => (i * 7) % 256), shape: [3, 28, 28] });
  const out = gantryOk("inpaint", "--run", run, "--input", idx, "--mask", "left", "--steps", "10", "--out", join(dir, "o1"));
  assert.match(out, /context loss [\d.]+ -> [\d.]+ per image/);
  assert.deepEqual(readIdx(join(dir, "o1", "inpainted-images-idx3-ubyte.gz")).shape, [3, 28, 28]);
  assert.equal(PNG.sync.read(readFileSync(join(dir, "o1", "grid.png"))).width, 3 * 30 + 2);

  const folder = join(dir, "pngs");
  const png = new PNG({ width: 28, height: 28 });
  png.data.fill(255);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "a.png"), PNG.sync.write(png));
  writeFileSync(join(folder, "b.png"), PNG.sync.write(png));
  gantryOk("inpaint", "--run", run, "--input", folder, "--mask", "center", "--steps", "5", "--out", join(dir, "o2"));
  assert.deepEqual(readdirSync(join(dir, "o2", "images")).sort(), ["a.png", "b.png"]);

  const badMask = gantry("inpaint", "--run", run, "--input", idx, "--mask", "circle", "--out", join(dir, "o3"));
  assert.equal(badMask.code, 2);
  assert.match(badMask.err, /--mask: must be one of center, left, right, top, bottom, random, noise or a PNG/);
  const big = new PNG({ width: 40, height: 30 });
  writeFileSync(join(dir, "big.png"), PNG.sync.write(big));
  const badSize = gantry("inpaint", "--run", run, "--input", join(dir, "big.png"), "--out", join(dir, "o4"));
  assert.equal(badSize.code, 2);
  assert.match(badSize.err, /big\.png: is 40x30; this generator makes 28x28 images/);
});

test("inpaint --evaluate scores gantry against the masked, mean-fill and nearest-neighbour baselines", async () => {
  const run = await smallRun();
  const r = gantry("inpaint", "--evaluate", "--run", run, "--count", "16", "--steps", "5", "--restarts", "1", "--json");
  assert.equal(r.code, 0, r.err);
  const result = JSON.parse(r.out) as { scores: { method: string; holeL1: number; accuracy: number }[]; recovered: number; count: number };
  assert.equal(result.count, 16);
  assert.deepEqual(
    result.scores.map((s) => s.method),
    ["original", "masked", "mean", "nearest", "gantry"],
  );
  const by = Object.fromEntries(result.scores.map((s) => [s.method, s]));
  assert.equal(by.original.holeL1, 0);
  assert.ok(by.original.accuracy > 0.9, "the classifier reads the untouched test images");
  assert.ok(by.masked.accuracy < by.original.accuracy, "the centre hole costs accuracy");
  assert.ok(by.nearest.holeL1 < by.mean.holeL1, "the nearest training image fills the hole better than the mean image");
  assert.ok(Number.isFinite(result.recovered));
  const conditional = gantry("inpaint", "--evaluate", "--run", run, "--mask", "circle");
  assert.equal(conditional.code, 2);
  assert.match(conditional.err, /--mask: with --evaluate: one of center/);
});

test("the context classifier reads a digit's class from the pixels around a hole, and from nothing else", async () => {
  tidy(() => {
    // Random holes: every pixel is kept or at the background, and the images get different masks.
    const images = rand([64, 1, 28, 28]).mul(2).sub(1);
    const holes = randomHoles(images, 5);
    assert.equal(holes.sub(images).mul(holes.add(1)).abs().max().item(), 0, "a pixel is either kept or -1");
    const hidden = holes.eq(-1).to({ dtype: "float32" }).flatten(1).mean(1).toArray();
    assert.ok(new Set(hidden.map((h) => h.toFixed(2))).size > 4, `the share hidden varies: ${hidden.slice(0, 8)}`);
    assert.ok(
      hidden.some((h) => h === 0),
      "some images keep every pixel",
    );
  });
  const path = contextClassifierPath("mnist");
  assert.ok(path, "models/classifiers/mnist-holes.safetensors ships");
  const { model, info } = loadClassifier("mnist", path);
  assert.equal(info.variant, "holes");
  const test = await loadDataset("mnist", { split: "test" });
  tidy(() => {
    const n = 200;
    const images = tensor(
      Float32Array.from(test.images.subarray(0, n * 784), (b) => b / 127.5 - 1),
      { shape: [n, 1, 28, 28] },
    );
    const labels = Array.from(test.labels!.subarray(0, n));
    const mask = makeMask("center", 1, 28, 28);
    const classes = classesFromContext(model, images, mask).toArray();
    const right = classes.filter((c, i) => c === labels[i]).length / n;
    assert.ok(right > 0.8, `the class read from the ring around a 14x14 hole is right for ${right} (about 0.88 on the whole test set)`);
    // Whatever is in the hole does not change what it reads.
    const scribbled = images.mul(mask).add(rand([n, 1, 28, 28]).mul(mask.rsub(1)));
    assert.deepEqual(classesFromContext(model, scribbled, mask).toArray(), classes);
  });
  assert.match(noContextClassifier("my-folder", "--class-from").message, /gantry classifier train --dataset my-folder --holes/);
});

test("gantry inpaint reads a conditional G's classes from the known pixels, or searches them when asked", async () => {
  const dir = tmp();
  const test = await loadDataset("mnist", { split: "test" });
  const idx = join(dir, "few-images-idx3-ubyte.gz");
  writeIdx(idx, { data: Uint8Array.from(test.images.subarray(0, 4 * 784)), shape: [4, 28, 28] });
  const flags = ["--pretrained", "mnist-acgan", "--input", idx, "--steps", "2", "--candidates", "64"];
  assert.match(gantryOk("inpaint", ...flags, "--out", join(dir, "a")), /reading them from the known pixels \(.*mnist-holes\.safetensors/);
  assert.match(gantryOk("inpaint", ...flags, "--class-from", "search", "--out", join(dir, "b")), /searching them with z/);
  const bad = gantry("inpaint", ...flags, "--class-from", "guess", "--out", join(dir, "c"));
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--class-from: must be context or search, got 'guess'/);
  const scored = gantry("inpaint", "--evaluate", "--pretrained", "mnist-acgan", "--count", "40", "--steps", "2", "--candidates", "64", "--json");
  assert.equal(scored.code, 0, scored.err);
  const result = JSON.parse(scored.out) as { classFrom: string; classAccuracy: number };
  assert.equal(result.classFrom, "context");
  assert.ok(result.classAccuracy > 0.7, `classes read right for ${result.classAccuracy} of 40`);
});
