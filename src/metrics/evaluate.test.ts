// The full evaluation with the shipped MNIST classifier: real test images score near the floor
// and cover every class; a "generator" that emits only ones is flagged as collapsed.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as E from "../engine/index.js";
import { loadDataset, DataLoader } from "../data/index.js";
import { evaluate, formatReport, loadClassifier, accuracy } from "./index.js";

async function testImages(count: number, onlyClass?: number) {
  const data = await loadDataset("mnist", { split: "test" });
  const loader = new DataLoader(data, { batchSize: data.length, seed: 1 });
  const { images, labels } = loader.next();
  loader.dispose();
  return E.tidy(() => {
    if (onlyClass === undefined) return { images: images.narrow(0, 0, count), labels: labels!.narrow(0, 0, count) };
    const index = E.tensor(
      labels!
        .toArray()
        .flatMap((l, i) => (l === onlyClass ? [i] : []))
        .slice(0, count),
      { dtype: "int64" },
    );
    return { images: images.indexSelect(0, index), labels: labels!.indexSelect(0, index) };
  });
}

test("the shipped MNIST classifier reaches its recorded accuracy of at least 99%", async () => {
  const { model, info } = loadClassifier("mnist");
  assert.ok(info.testAccuracy >= 0.99, `recorded ${info.testAccuracy}`);
  const { images, labels } = await testImages(10_000);
  const acc = accuracy(model, images, labels);
  assert.ok(Math.abs(acc - info.testAccuracy) < 1e-3, `measured ${acc}, recorded ${info.testAccuracy}`);
});

test("real test images score near the real-vs-real floor and are not collapsed", async () => {
  const { images, labels } = await testImages(2000);
  const report = await evaluate(images, "mnist", labels);
  assert.equal(report.collapsed, false);
  assert.equal(report.classesCovered, 10);
  assert.ok(report.fid < 3 * report.floor.fid + 1, `FID ${report.fid}, floor ${report.floor.fid}`);
  assert.ok(report.precision > 0.6 && report.recall > 0.6, `precision ${report.precision}, recall ${report.recall}`);
  assert.ok(report.labelAccuracy! > 0.98, `label accuracy ${report.labelAccuracy}`);
  // No MNIST test digit lies within RMS 0.025 of a training digit (the nearest is at 0.035).
  assert.equal(report.memorized, 0);
  assert.match(formatReport(report), /FID \(MNIST classifier\)/);
});

test("a generator that emits a single class is flagged as collapsed", async () => {
  const { images } = await testImages(1000, 1);
  const report = await evaluate(images, "mnist");
  assert.equal(report.collapsed, true);
  assert.equal(report.classesCovered, 1);
  assert.equal(report.modes.dominant.label, 1);
  assert.ok(report.fid > 10 * report.floor.fid, `FID ${report.fid} against floor ${report.floor.fid}`);
});

test("training images are flagged as memorized", async () => {
  const data = await loadDataset("mnist", { split: "train" });
  const loader = new DataLoader(data, { batchSize: 200, seed: 2 });
  const { images } = loader.next();
  const report = await evaluate(images, "mnist");
  assert.equal(report.memorized, 1);
  loader.dispose();
});
