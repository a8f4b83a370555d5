// The mode-collapse cures as options any preset takes: PacGAN packing, minibatch standard
// deviation, unrolled D steps, lazy regularization, and the EMA warm-up. Each is checked for
// what it computes, and for training and resuming exactly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "../engine/index.js";
import { MinibatchStd } from "../nn/index.js";
import { Adam, EMA } from "../optim/index.js";
import { PackedDiscriminator } from "../models/index.js";
import {
  createGan,
  Trainer,
  type ConfigOverrides,
  loadLatestCheckpoint,
  disposeState,
  loadGenerator,
  generatorFromCheckpoint,
  AdversarialStep,
} from "./index.js";
import { sampleLatent } from "./gan.js";
import type { DataSource } from "./data-source.js";
import { ConfigError } from "../errors.js";
import { assertClose, silentProgress } from "../../test/helpers.js";

async function train(dir: string, config: ConfigOverrides, resume = false) {
  const trainer = await Trainer.create(createGan(config), { runDir: dir, resume, progress: silentProgress() });
  await trainer.run();
  trainer.dispose();
}
const losses = (dir: string) =>
  readFileSync(join(dir, "stats.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .map((r) => [r.step, r.dLoss, r.gLoss]);

test("minibatch std appends the group's mean standard deviation as one feature", () => {
  E.tidy(() => {
    // 4 samples, groups of 2 consecutive ones: (0, 1) and (2, 3), so a batch of reals then fakes
    // never puts a real and a fake in one group.
    const x = E.tensor([
      [0, 0],
      [2, 4],
      [1, 1],
      [1, 1],
    ]);
    const y = new MinibatchStd(2).forward(x);
    assert.deepEqual(y.shape, [4, 3]);
    // group (0, 1): std of (0, 2) is 1 and of (0, 4) is 2 -> mean 1.5; group (2, 3): 0 (+1e-8 under the root)
    assertClose(y.narrow(1, 2, 1).flatten(), [1.5, 1.5, 1e-4, 1e-4], { atol: 2e-4 });
    assertClose(
      new MinibatchStd(2)
        .forward(E.ones([4, 2, 3, 3]).mul(E.tensor([0, 2, 1, 1]).reshape(4, 1, 1, 1)))
        .narrow(1, 2, 1)
        .flatten(1)
        .mean(1),
      [1, 1, 1e-4, 1e-4],
      {
        atol: 2e-4,
      },
    );
    assert.deepEqual(new MinibatchStd(4).forward(E.ones([6, 3, 5, 5])).shape, [6, 4, 5, 5], "group size falls to a divisor of the batch");
  });
});

test("PacGAN: D judges packs of m samples; the batch must be a multiple of m, and conditional models are refused", () => {
  const gan = createGan({ preset: "toy-ring8", model: { pack: 2 } });
  assert.ok(gan.D instanceof PackedDiscriminator);
  E.tidy(() => {
    assert.deepEqual(gan.D.forward(E.randn([8, 2])).shape, [4, 1]);
  });
  assert.throws(
    () => createGan({ preset: "toy-ring8", model: { pack: 3 }, train: { batchSize: 256 } }),
    (e) => e instanceof ConfigError && /not a multiple of model\.pack/.test(e.message),
  );
  assert.throws(() => createGan({ preset: "mnist-cgan", model: { pack: 2 } }), /packing \(PacGAN\) is for unconditional models/);
  const dcgan = createGan({ preset: "mnist-dcgan", model: { pack: 2 } });
  E.tidy(() => assert.deepEqual(dcgan.D.forward(E.randn([4, 1, 28, 28])).shape, [2, 1]));
});

for (const [name, extra] of [
  ["PacGAN", { model: { pack: 2 } }],
  ["minibatch std", { model: { discriminator: { name: "mlp", options: { hidden: [128, 128, 128], minibatchStd: 4 } } } }],
  ["unrolled D steps", { train: { unrolledSteps: 3 } }],
  ["lazy R1", { loss: { name: "r1", penaltyEvery: 4 } }],
  ["EMA with warm-up", { train: { emaDecay: 0.999 } }],
  // 60 MNIST images in batches of 30: 2 batches an epoch, so from step 8 on G learns from 29 of 30 fakes.
  ["top-k training", { preset: "mnist-mlp", data: { subset: 60 }, train: { topK: 0.5, batchSize: 30 } }],
] as [string, ConfigOverrides][]) {
  test(`${name}: trains and resumes exactly`, async () => {
    const config = (steps: number): ConfigOverrides => ({
      preset: "toy-ring8",
      ...extra,
      train: { batchSize: 64, ...extra.train, steps },
      log: { every: 1, checkpointEvery: 6 },
    });
    const whole = mkdtempSync(join(tmpdir(), "gantry-cure-"));
    const parts = mkdtempSync(join(tmpdir(), "gantry-cure-"));
    await train(whole, config(10));
    await train(parts, config(6));
    await train(parts, config(10), true);
    assert.deepEqual(losses(parts), losses(whole));
    for (const [, d, g] of losses(whole)) assert.ok(Number.isFinite(d) && (g === null || Number.isFinite(g)));
  });
}

test("top-k training: G's gradient is that of its loss over the k fakes D rates most real, k shrinking by 0.99 an epoch to train.topK", () => {
  const gan = createGan({ preset: "toy-ring8", train: { topK: 0.25, batchSize: 8 } });
  // Learning rates of 0: the D update before G's leaves D as it is, so G's loss can be recomputed.
  const optG = new Adam(gan.G.parameters(), { lr: 0 });
  const optD = new Adam(gan.D.parameters(), { lr: 0 });
  const data = { batchesPerEpoch: 1 } as DataSource; // epoch = step
  const step = new AdversarialStep(gan, optG, optD, null, data);
  const gradients = (at: number) => {
    const real = E.randn([8, 2]);
    E.withSeed(1, () => step.run({ images: real, labels: null } as never, { step: at, totalSteps: at + 1, generatorSteps: 0, logging: false }));
    return gan.G.parameters().map((p) => p.grad!.toArray() as number[]);
  };
  const expected = (k: number) =>
    E.tidy(() => {
      const { z } = E.withSeed(1, () => sampleLatent(gan.shape, 8));
      const logits = gan.D.forward(gan.G.forward(z)).flatten();
      const best = logits.detach().topk(k).indices;
      for (const p of gan.G.parameters()) p.grad?.zero_();
      gan.loss.generator(logits.indexSelect(0, best).unsqueeze(1)).backward();
      return gan.G.parameters().map((p) => p.grad!.toArray() as number[]);
    });
  const close = (a: number[][], b: number[][], what: string) => {
    for (const [i, g] of a.entries()) E.tidy(() => assertClose(E.tensor(g), b[i], { atol: 1e-6, what }));
  };
  // step 1000: 0.99^1000 is below 0.25, so k = 2 of 8
  close(gradients(1000), expected(2), "k = 2 of 8 at step 1000");
  // step 69 (0.99^69 = 0.4998): k = ceil(8 x 0.4998) = 4
  close(gradients(69), expected(4), "k = 4 of 8 at epoch 69");
  // step 0: every fake counts
  close(gradients(0), expected(8), "all 8 at the start");
  assert.throws(
    () => createGan({ preset: "toy-ring8", train: { topK: 0 } }),
    (e) => e instanceof ConfigError && /train\.topK/.test(e.message),
  );
});

test("unrolling leaves D as the ordinary update made it: G's step sees the future D, D keeps its present", async () => {
  const run = async (unrolledSteps: number) => {
    const gan = createGan({ preset: "toy-ring8", train: { unrolledSteps, steps: 1, batchSize: 32 } });
    const trainer = await Trainer.create(gan, { runDir: mkdtempSync(join(tmpdir(), "gantry-unroll-")), progress: silentProgress() });
    trainer.stepOnce();
    const d = gan.D.parameters().map((p) => p.toArray());
    trainer.dispose();
    return d;
  };
  const plain = await run(0);
  const unrolled = await run(3);
  assert.deepEqual(unrolled, plain, "D's weights after the step are those of the ordinary D update");
});

test("EMA warm-up: early updates follow the model, late ones decay at the set rate", () => {
  const ema = new EMA(null as never, 0.999);
  assert.equal(ema.decayAt(0), 0.1);
  assert.equal(ema.decayAt(90), 0.91);
  assert.equal(ema.decayAt(100_000), 0.999);
  assert.equal(ema.decayAt(Number.POSITIVE_INFINITY), 0.999, "no step given: the set decay");
});

test("a BatchNorm generator: grids and evaluations leave training's statistics alone, and the export's are calibrated to the final weights", async () => {
  const bn: ConfigOverrides = {
    preset: "toy-grid25",
    model: { generator: { name: "mlp", options: { hidden: [32, 32], output: "linear", batchNorm: true } } },
    train: { steps: 6, batchSize: 32 },
  };
  const [quiet, watched] = [mkdtempSync(join(tmpdir(), "gantry-bn-")), mkdtempSync(join(tmpdir(), "gantry-bn-"))];
  await train(quiet, { ...bn, log: { every: 2, sampleEvery: 0, checkpointEvery: 5 } });
  await train(watched, { ...bn, log: { every: 2, sampleEvery: 2, evalEvery: 3, evalCount: 500, checkpointEvery: 5 } });
  const lastG = (dir: string, atMost = Number.POSITIVE_INFINITY) => {
    const { state } = loadLatestCheckpoint(dir, () => {}, atMost);
    const G = Object.fromEntries(Object.entries(state.tensors.G).map(([k, t]) => [k, t.toArray()]));
    disposeState(state);
    return G;
  };
  // Step 5 comes after grids (2, 4) and an evaluation (3) but before the last step's grid, which both runs write.
  assert.deepEqual(lastG(watched, 5), lastG(quiet, 5), "the same G at step 5, running statistics included, with grids and evaluations as without");
  const trained = lastG(quiet);
  assert.deepEqual(lastG(watched), trained, "and at the end");
  const exported = loadGenerator(quiet);
  const buffers = Object.fromEntries(exported.G.namedBuffers().map(([k, t]) => [k, t.toArray()]));
  assert.notDeepEqual(buffers["net.1.running_mean"], trained["net.1.running_mean"], "the export's statistics are not training's momentum average");
  const fromCheckpoint = generatorFromCheckpoint(quiet);
  assert.deepEqual(
    Object.fromEntries(fromCheckpoint.G.namedBuffers().map(([k, t]) => [k, t.toArray()])),
    buffers,
    "sampling from a checkpoint calibrates the same way",
  );
  // Calibrated: the first BatchNorm's mean is its input's mean over the latents, near what a big batch of them gives.
  E.tidy(() => {
    const w = exported.G.stateDict();
    const first = E.linear(E.randn([8192, exported.shape.latentDim]), w["net.0.weight"], w["net.0.bias"]);
    assertClose(w["net.1.running_mean"], first.mean([0]).toArray(), { atol: 0.05 });
  });
});
