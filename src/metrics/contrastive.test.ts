// The folder feature network (SimCLR) and folder evaluation: the augmentations, the loss against
// its closed form, training that learns, and gantry eval on a folder run through the real CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "../engine/index.js";
import { loadDataset } from "../data/index.js";
import { encodeGrid } from "../image/png.js";
import { imagesOf } from "./classifier.js";
import { contrastiveViews, encoderPath, ntXent, trainContrastiveEncoder, ContrastiveEncoder } from "./contrastive.js";
import { gantry, gantryOk, tinyFolder } from "../../test/helpers.js";

test("contrastive views: same shape, inside [-1, 1], a different view on every draw, for grey and colour images", () => {
  E.tidy(() => {
    E.manualSeed(0);
    for (const c of [1, 3]) {
      const x = E.rand([6, c, 28, 28]).mul(2).sub(1);
      const [a, b] = [contrastiveViews(x), contrastiveViews(x)];
      assert.deepEqual(a.shape, x.shape);
      assert.ok(a.min().item() >= -1 && a.max().item() <= 1);
      assert.ok(a.sub(b).abs().mean().item() > 0.05, "two draws give two different views");
      assert.ok(a.sub(x).abs().mean().item() > 0.05, "a view is not the image itself");
    }
  });
});

test("NT-Xent equals its closed form for orthogonal twins, and is higher for unrelated projections", () => {
  E.tidy(() => {
    // 2B = 8 rows: view 1 of image i and view 2 of image i are the same unit vector, orthogonal to the others.
    const B = 4;
    const t = 0.5;
    const basis = E.oneHot(E.arange(B), 16).to({ dtype: "float32" });
    const twins = E.cat([basis, basis]);
    const expected = -Math.log(Math.exp(1 / t) / (Math.exp(1 / t) + (2 * B - 2)));
    assert.ok(Math.abs(ntXent(twins, t).item() - expected) < 1e-5, `${ntXent(twins, t).item()} vs ${expected}`);
    // Scale does not matter (projections are normalized), and pairing rows with the wrong twin costs more.
    assert.ok(Math.abs(ntXent(twins.mul(3), t).item() - expected) < 1e-5);
    const shuffled = E.cat([basis, basis.flip([0])]);
    assert.ok(ntXent(shuffled, t).item() > expected + 1);
  });
});

test("SimCLR training on MNIST lowers the contrastive loss and gives one 128-d feature row per image", async () => {
  const data = await loadDataset("mnist", { split: "test" });
  const losses: number[] = [];
  const encoder = await trainContrastiveEncoder(data, { steps: 60, batchSize: 32, progress: () => {} });
  // The loss on a fixed batch before (a fresh network, same seed) and after training.
  const batch = imagesOf(data, 64);
  const lossOf = (m: ContrastiveEncoder) =>
    E.tidy(() => {
      E.manualSeed(1);
      m.eval();
      return E.noGrad(() => ntXent(m.forward(E.cat([contrastiveViews(batch), contrastiveViews(batch)]))).item());
    });
  E.manualSeed(0);
  const fresh = new ContrastiveEncoder(data.imageShape);
  losses.push(lossOf(fresh), lossOf(encoder));
  assert.ok(losses[1] < losses[0] - 0.5, `loss before ${losses[0].toFixed(3)}, after ${losses[1].toFixed(3)}`);
  const features = encoder.embed(batch);
  assert.deepEqual(features.shape, [64, 128]);
  features.dispose();
  batch.dispose();
});

test("gantry eval scores a folder run on the folder's own features, trains them once and caches them", async () => {
  const root = mkdtempSync(join(tmpdir(), "gantry-folder-eval-"));
  const folder = join(root, "digits");
  mkdirSync(folder);
  const data = await loadDataset("mnist", { split: "test" });
  const images = imagesOf(data, 48);
  for (let i = 0; i < 48; i++)
    writeFileSync(
      join(folder, `${i}.png`),
      E.tidy(() => encodeGrid(images.narrow(0, i, 1), { padding: 0 })),
    );
  images.dispose();
  const cacheBefore = process.env.GANTRY_CACHE_DIR;
  process.env.GANTRY_CACHE_DIR = join(root, "cache"); // the CLI runs below inherit it
  const run = join(root, "run");
  gantryOk(
    "train",
    "--preset",
    "folder-dcgan",
    "--data-dir",
    folder,
    "--set",
    "data.imageSize=32",
    "--set",
    "data.channels=1",
    "--steps",
    "2",
    "--batch-size",
    "8",
    "--out",
    run,
  );
  const first = gantry("eval", "--run", run, "--count", "40", "--encoder-steps", "5", "--json");
  assert.equal(first.code, 0, first.err);
  assert.match(first.err, /training a feature network for .*digits \(SimCLR, 5 steps, once; cached at /);
  const report = JSON.parse(first.out);
  assert.equal(report.dataset, "folder");
  assert.equal(report.count, 40);
  assert.equal(report.floorCount, 24, "the floor compares two halves of the 48 images");
  for (const k of ["fid", "kid", "precision", "recall", "density", "coverage", "memorized"]) assert.equal(typeof report[k], "number", k);
  assert.ok(report.fid > report.floor.fid, "two steps of training are further from the folder than its own halves");
  assert.ok(existsSync(report.encoder) && report.encoder.startsWith(join(root, "cache")));
  assert.equal(readdirSync(join(root, "cache", "encoders")).length, 1);
  const again = gantry("eval", "--run", run, "--count", "40", "--encoder-steps", "5");
  assert.equal(again.code, 0, again.err);
  assert.doesNotMatch(again.err, /training a feature network/, "the cached network is reused");
  assert.match(again.out, /FID \(the folder's SimCLR features\)/);
  assert.match(again.out, /real vs real \(two halves of 24\)/);
  // Training's periodic evaluation takes the same path, with the default network length: give it
  // the short network under that length's name, as if it had been trained, and read the scores back.
  copyFileSync(report.encoder, encoderPath(folder, [1, 32, 32], 48));
  const evalRun = join(root, "eval-run");
  const tiny = ["--set", "data.imageSize=32", "--set", "data.channels=1", "--batch-size", "8", "--set", "log.evalCount=100"];
  gantryOk("train", "--preset", "folder-dcgan", "--data-dir", folder, ...tiny, "--steps", "2", "--set", "log.evalEvery=2", "--out", evalRun);
  const evals = readFileSync(join(evalRun, "stats.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((r) => r.eval);
  assert.equal(evals.length, 1);
  assert.equal(typeof evals[0].eval.fid, "number");
  assert.ok(evals[0].eval.fid > 0);
  // Another folder to score against must hold images of the generator's shape.
  const bad = gantry("eval", "--run", run, "--count", "40", "--dataset", "folder", "--data-dir", join(root, "nowhere"));
  assert.equal(bad.code, 2);
  assert.match(bad.err, /nowhere: not a folder of images/);
  const few = gantry("eval", "--run", run, "--count", "40", "--dataset", "folder", "--data-dir", tinyFolder());
  assert.equal(few.code, 2);
  assert.match(few.err, /holds 8 image\(s\); scoring needs at least 20/);
  if (cacheBefore === undefined) delete process.env.GANTRY_CACHE_DIR;
  else process.env.GANTRY_CACHE_DIR = cacheBefore;
});
