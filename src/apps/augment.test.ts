// Few labels, helped by a GAN: the balanced subset, the augmenting source's mix and labels, the
// semi-supervised GAN's pieces, and `gantry augment` end to end on the embedded MNIST (each
// method briefly), with its resumable results file and clear errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AugmentingSource, WeightNormLinear, classifierAccuracy, fitClassifier, realBatches, SemiSupervisedDiscriminator } from "./augment.js";
import { balancedSubset, loadDataset } from "../data/index.js";
import { createGan } from "../train/index.js";
import { randn, tensor, tidy } from "../engine/index.js";
import { ConfigError } from "../errors.js";
import { gantry, gantryOk } from "../../test/helpers.js";

const tmp = () => mkdtempSync(join(tmpdir(), "gantry-augment-"));

test("a balanced subset holds the same number of each class, the same for a seed and another for another seed", async () => {
  const train = await loadDataset("mnist", { split: "train" });
  const a = balancedSubset(train, 100, 0);
  const counts = Array(10).fill(0);
  for (const l of a.labels!) counts[l]++;
  assert.deepEqual(counts, Array(10).fill(10));
  assert.equal(a.length, 100);
  assert.equal(a.images.length, 100 * 28 * 28);
  assert.deepEqual(balancedSubset(train, 100, 0).images, a.images, "same seed, same images");
  assert.notDeepEqual(balancedSubset(train, 100, 1).images, a.images, "another seed, other images");
  // Each chosen image is a training image with its own label.
  const first = a.images.subarray(0, 784);
  let found = -1;
  for (let i = 0; i < train.length && found < 0; i++) if (train.images.subarray(i * 784, (i + 1) * 784).every((v, k) => v === first[k])) found = i;
  assert.ok(found >= 0 && train.labels![found] === a.labels![0]);
  assert.throws(
    () => balancedSubset(train, 15, 0, "--labels"),
    (e: unknown) => e instanceof ConfigError && /--labels/.test(e.message) && /multiple of mnist's 10 classes/.test(e.message),
  );
});

test("the augmenting source yields the asked share of generated samples with G's labels, then real ones with theirs", async () => {
  const train = await loadDataset("mnist", { split: "train" });
  const labelled = balancedSubset(train, 20, 3);
  const { G, shape } = createGan({ preset: "mnist-cgan" });
  const source = new AugmentingSource(labelled, G, shape, { batchSize: 16, fraction: 0.25, seed: 0 });
  assert.equal(source.generatedPerBatch, 4);
  tidy(() => {
    const { images, labels } = source.next();
    assert.deepEqual(images.shape, [16, 1, 28, 28]);
    assert.deepEqual(labels.shape, [16]);
    const ls = labels.toArray();
    assert.ok(ls.every((l) => Number.isInteger(l) && l >= 0 && l < 10));
    // The real part is exactly the labelled subset's images, which are byte values scaled to [-1, 1].
    const real = images.narrow(0, 4, 12).add(1).mul(127.5);
    assert.ok(real.sub(real.round()).abs().max().item() < 1e-3, "real rows are subset images");
  });
  source.dispose();
  const unconditional = createGan({ preset: "mnist-mlp" });
  assert.throws(() => new AugmentingSource(labelled, unconditional.G, unconditional.shape, { batchSize: 16, fraction: 0.5, seed: 0 }), /unconditional/);
  assert.throws(() => new AugmentingSource(labelled, G, shape, { batchSize: 16, fraction: 1, seed: 0 }), /fraction/);
});

test("weight norm's data-dependent init gives the first batch unit-variance outputs", () => {
  tidy(() => {
    const layer = new WeightNormLinear(20, 8);
    const x = randn([256, 20]).mul(3).add(1);
    const y = layer.initFromData(x);
    const mean = y.mean(0).abs().max().item();
    const std = y.std(0);
    assert.ok(mean < 1e-4, `means ${mean}`);
    assert.ok(std.sub(1).abs().max().item() < 1e-3, "standard deviations 1");
    const D = new SemiSupervisedDiscriminator(784, 10, [32, 16]);
    D.initFromData(randn([64, 1, 28, 28]));
    assert.deepEqual(D.forward(randn([5, 1, 28, 28])).shape, [5, 10]);
    assert.deepEqual(D.features(randn([5, 1, 28, 28])).shape, [5, 16]);
  });
});

test("a classifier trained on 100 labelled images learns far above chance", async () => {
  const train = await loadDataset("mnist", { split: "train" });
  const test_ = await loadDataset("mnist", { split: "test" });
  const source = realBatches(balancedSubset(train, 100, 0), 64, 0);
  const model = await fitClassifier(source, 10, { steps: 150, seed: 0 });
  source.dispose();
  const n = 1000;
  const images = tensor(
    Float32Array.from(test_.images.subarray(0, n * 784), (v) => v / 127.5 - 1),
    { shape: [n, 1, 28, 28] },
  );
  const labels = tensor(Int32Array.from(test_.labels!.subarray(0, n))).to({ dtype: "int64" });
  const acc = classifierAccuracy(model, images, labels);
  assert.ok(acc > 0.5, `accuracy ${acc} from 100 labels`);
});

test("gantry augment runs each method, keeps results.jsonl, and does not run a finished pair again", () => {
  const out = tmp();
  const args = ["augment", "--labels", "20", "--steps", "40", "--gan-steps", "20", "--ssl-epochs", "1", "--time-limit", "0.05", "--out", out];
  const first = gantryOk(...args, "--json");
  const results = first
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    results.map((r) => r.method),
    ["real", "gan", "ssl"],
  );
  for (const r of results) {
    assert.equal(r.labels, 20);
    assert.ok(r.testAccuracy >= 0 && r.testAccuracy <= 1);
    assert.ok(r.minutes > 0);
  }
  assert.ok(results[0].testAccuracy > 0.15, `real-only beats chance: ${results[0].testAccuracy}`);
  assert.equal(readFileSync(join(out, "results.jsonl"), "utf8").trim().split("\n").length, 3);
  // The gan method trained its cGAN through the ordinary trainer, on the 20 images.
  const config = JSON.parse(readFileSync(join(out, "gan-seed0", "config.json"), "utf8"));
  assert.equal(config.data.subset, 20);
  assert.equal(config.model.conditional, true);
  // Again: nothing is retrained, and the table shows each method.
  const again = gantryOk(...args, "--methods", "real,ssl");
  assert.match(again, /real \(seed 0\): already in/);
  assert.match(again, /\| ssl \| 20 \| 0 \| \d+\.\d+% ± 0\.00 \|/);
  assert.equal(readFileSync(join(out, "results.jsonl"), "utf8").trim().split("\n").length, 3);
});

test("gantry augment's mistakes are one-line errors naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [["augment"], /--labels: is required/],
    [["augment", "--labels", "15"], /--labels: must be a positive multiple of mnist's 10 classes/],
    [["augment", "--labels", "100", "--methods", "real,magic"], /--methods: expected a comma-separated list of real, gan, ssl/],
    [["augment", "--labels", "100", "--seeds", "0,x"], /--seeds: expected comma-separated non-negative integers/],
    [["augment", "--labels", "100", "--dataset", "cifar"], /--dataset: must be mnist or fashion-mnist/],
    [["augment", "--labels", "100", "--ssl-d", "rnn"], /--ssl-d: must be mlp or cnn/],
    [["augment", "--cas"], /with --cas, give exactly one of --run RUN_DIR and --pretrained NAME/],
    [["augment", "--cas", "--pretrained", "mnist-dcgan"], /unconditional/],
  ];
  for (const [args, pattern] of cases) {
    const r = gantry(...args, "--out", tmp());
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, pattern);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
  }
});

test("gantry train takes a balanced subset through data.subset", () => {
  const out = join(tmp(), "run");
  const log = gantryOk(
    "train",
    "--preset",
    "mnist-mlp",
    "--steps",
    "2",
    "--batch-size",
    "10",
    "--set",
    "data.subset=50",
    "--set",
    "data.subsetSeed=2",
    "--out",
    out,
  );
  assert.match(log, /50 images from .*50 of its samples \(5 a class, seed 2\)/);
});
