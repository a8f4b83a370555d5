// nn against PyTorch: default initialization, state dicts both ways, spectral norm, and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "../engine/index.js";
import {
  type Module,
  Linear,
  Conv2d,
  ConvTranspose2d,
  BatchNorm2d,
  Embedding,
  LeakyReLU,
  Flatten,
  Tanh,
  Sequential,
  spectralNorm,
  Unflatten,
  Upsample,
  Dropout,
  LayerNorm,
  InstanceNorm2d,
  BatchNorm1d,
  preciseBatchNorm,
  Maxout,
  ReLU,
  Sigmoid,
  init,
} from "./index.js";
import { CheckpointError } from "../errors.js";
import { fixture, assertClose, repoRoot } from "../../test/helpers.js";

const layers: Record<string, () => Module> = {
  linear: () => new Linear(5, 3),
  conv2d: () => new Conv2d(3, 4, 3),
  conv_transpose2d: () => new ConvTranspose2d(4, 2, 4),
  embedding: () => new Embedding(10, 3),
  batch_norm2d: () => new BatchNorm2d(3),
};

for (const [name, make] of Object.entries(layers)) {
  test(`${name}: default initialization equals PyTorch's after the same seed`, () => {
    const f = fixture("nn");
    E.manualSeed(3);
    const m = make();
    for (const [key, t] of Object.entries(m.stateDict())) {
      assertClose(t, f[`${name}.${key}`], { atol: 1e-7, what: `${name}.${key}` });
    }
  });
}

const smallCnn = () =>
  new Sequential(new Conv2d(1, 4, 3, { stride: 2, padding: 1 }), new BatchNorm2d(4), new LeakyReLU(0.2), new Flatten(), new Linear(64, 3), new Tanh());

test("a PyTorch state dict loads into the same architecture and gives the same output", () => {
  const f = fixture("model");
  const model = smallCnn();
  const state = Object.fromEntries(
    Object.entries(f)
      .filter(([k]) => k.startsWith("state."))
      .map(([k, t]) => [k.slice(6), t]),
  );
  model.loadStateDict(state);
  model.eval();
  E.tidy(() => assertClose(model.forward(f.x), f.y, { atol: 1e-6 }));
});

test("a gantry state dict loads into PyTorch and gives the same output", () => {
  const dir = mkdtempSync(join(tmpdir(), "gantry-nn-"));
  E.manualSeed(9);
  const model = smallCnn();
  E.tidy(() => model.forward(E.randn([8, 1, 8, 8]))); // training mode: moves the running statistics
  model.eval();
  const x = E.randn([2, 1, 8, 8]);
  E.saveSafetensors(join(dir, "model.safetensors"), { ...model.stateDict(), "input.x": x });
  const script = `
import sys; sys.path.insert(0, ${JSON.stringify(join(repoRoot, "scripts"))})
import torch, torch.nn as nn
from safetensors_min import load_file
s = load_file(${JSON.stringify(join(dir, "model.safetensors"))})
x = s.pop("input.x")
m = nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), nn.BatchNorm2d(4), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(64, 3), nn.Tanh())
m.load_state_dict(s, strict=True)
m.eval()
print(" ".join(repr(v) for v in m(x).flatten().tolist()))`;
  const theirs = execFileSync("/usr/bin/python3", ["-c", script], { encoding: "utf8" }).trim().split(" ").map(Number);
  E.tidy(() => assertClose(model.forward(x), theirs, { atol: 1e-6 }));
});

test("spectral norm matches torch.nn.utils.spectral_norm, power iteration included", () => {
  const f = fixture("model");
  const sn = spectralNorm(new Linear(4, 3));
  assert.deepEqual(Object.keys(sn.stateDict()).sort(), ["bias", "weight_orig", "weight_u", "weight_v"]);
  sn.loadStateDict(Object.fromEntries(["bias", "weight_orig", "weight_u", "weight_v"].map((k) => [k, f[`sn.${k}`]])));
  E.tidy(() => assertClose(sn.forward(f["sn.x"]), f["sn.y"], { atol: 1e-6 }));
  assertClose(sn.tensor("weight_u"), f["sn.u_after"], { atol: 1e-6 });
  // Gradients flow to weight_orig, not to the power-iteration vectors.
  E.tidy(() => sn.forward(f["sn.x"]).sum().backward());
  assert.ok(sn.tensor("weight_orig").grad !== null);
  assert.equal(sn.tensor("weight_u").requiresGrad, false);
});

test("loadStateDict reports every missing, unexpected and misshapen entry at once, changing nothing", () => {
  const model = new Sequential(new Linear(2, 3), new Linear(3, 1));
  const before = model.stateDict()["0.weight"].toArray();
  const bad = { "0.weight": E.zeros([3, 5]), "0.bias": E.zeros([3]), "2.weight": E.zeros([1]) };
  assert.throws(
    () => model.loadStateDict(bad, "bad.safetensors"),
    (e) =>
      e instanceof CheckpointError &&
      /bad\.safetensors does not fit Sequential/.test(e.message) &&
      /'0\.weight' has shape \[3, 5\], the model expects \[3, 2\]/.test(e.message) &&
      /missing '1\.weight'/.test(e.message) &&
      /missing '1\.bias'/.test(e.message) &&
      /unexpected '2\.weight'/.test(e.message),
  );
  assert.deepEqual(model.stateDict()["0.weight"].toArray(), before);
});

test("every layer runs forward with the shapes PyTorch gives", () => {
  E.tidy(() => {
    const x = E.randn([2, 3, 4, 4]);
    const shapeOf = (m: Module, input: E.Tensor) => [...m.forward(input).shape];
    assert.deepEqual(shapeOf(new Conv2d(3, 8, 4, { stride: 2, padding: 1 }), x), [2, 8, 2, 2]);
    assert.deepEqual(shapeOf(new ConvTranspose2d(3, 2, 4, { stride: 2, padding: 1 }), x), [2, 2, 8, 8]);
    assert.deepEqual(shapeOf(new Upsample(2), x), [2, 3, 8, 8]);
    assert.deepEqual(shapeOf(new Flatten(), x), [2, 48]);
    assert.deepEqual(shapeOf(new Unflatten([3, 16]), E.randn([2, 48])), [2, 3, 16]);
    assert.deepEqual(shapeOf(new LayerNorm([4]), x), [2, 3, 4, 4]);
    assert.deepEqual(shapeOf(new InstanceNorm2d(3), x), [2, 3, 4, 4]);
    assert.deepEqual(shapeOf(new BatchNorm1d(5), E.randn([4, 5])), [4, 5]);
    assert.deepEqual(shapeOf(new Embedding(10, 4), E.tensor([1, 2, 3], { dtype: "int64" })), [3, 4]);
    for (const m of [new ReLU(), new Sigmoid(), new Tanh(), new LeakyReLU(0.2)]) assert.deepEqual(shapeOf(m, x), [2, 3, 4, 4]);
    assert.throws(() => new BatchNorm2d(3).forward(E.randn([2, 3])), /BatchNorm2d expects input of 4 dims, got \[2, 3\]/);
  });
});

test("train and eval switch dropout and batch norm; numParameters counts weights", () => {
  const model = new Sequential(new Linear(10, 10), new Dropout(0.5), new BatchNorm1d(10));
  assert.equal(model.numParameters(), 10 * 10 + 10 + 10 + 10);
  E.tidy(() => {
    const x = E.ones([4, 10]);
    model.eval();
    assert.ok(model.modules().every((m) => !m.training));
    assertClose(model.forward(x), model.forward(x).toArray(), { atol: 0 });
    model.train();
    assert.equal(model.stateDict()["2.num_batches_tracked"].item(), 0);
    model.forward(x);
    assert.equal(model.stateDict()["2.num_batches_tracked"].item(), 1);
  });
});

test("preciseBatchNorm sets the plain average of the batches' statistics, leaving the rest as it was", () => {
  E.tidy(() => {
    E.manualSeed(0);
    const model = new Sequential(new Linear(3, 4), new Dropout(0.5), new BatchNorm1d(4));
    model.eval();
    model.forward(E.randn([8, 3])); // eval mode: the running statistics are still the initial 0 and 1
    const batches = [0, 1, 2].map((i) =>
      E.randn([16, 3])
        .mul(i + 1)
        .add(i),
    );
    let next = 0;
    assert.equal(
      preciseBatchNorm(model, 3, () => {
        model.forward(batches[next++]);
      }),
      true,
    );
    // Dropout stayed in eval mode (else the features below would not match), the BatchNorm too.
    assert.ok(model.modules().every((m) => !m.training));
    const features = batches.map((x) => (model.modules()[1] as Linear).forward(x));
    const mean = E.stack(features.map((f) => f.mean([0]))).mean([0]);
    const variance = E.stack(features.map((f) => f.var([0]))).mean([0]); // unbiased, as libtorch keeps it
    const state = model.stateDict();
    assertClose(state["2.running_mean"], mean.toArray(), { atol: 1e-5 });
    assertClose(state["2.running_var"], variance.toArray(), { atol: 1e-5 });
    assert.equal(state["2.num_batches_tracked"].item(), 0);
    // The momentum is back to its own: a training forward now moves the statistics by 0.1.
    model.train();
    model.modules()[2].eval(); // no dropout between the two
    const x = E.randn([16, 3]).mul(5);
    const own = (model.modules()[1] as Linear).forward(x).mean([0]);
    model.forward(x);
    assertClose(model.stateDict()["2.running_mean"], mean.mul(0.9).add(own.mul(0.1)).toArray(), { atol: 1e-5 });
    assert.equal(
      preciseBatchNorm(new Sequential(new Linear(3, 4)), 3, () => assert.fail("no BatchNorm: nothing runs")),
      false,
    );
  });
});

test("Maxout takes the largest of each unit's pieces, passes the gradient to it, and names a bad shape", () => {
  E.tidy(() => {
    const x = E.tensor([[1, 5, 3, 2, -1, -4]], { requiresGrad: true });
    const y = new Maxout(2).forward(x);
    assert.deepEqual(y.toArray(), [5, 3, -1]);
    y.sum().backward();
    assert.deepEqual(x.grad?.toArray(), [0, 1, 1, 0, 1, 0]);
    assert.throws(() => new Maxout(4).forward(x), /Maxout\(4\) expects \(B, C \* 4\) input, got \[1, 6\]/);
  });
});

test("initializers give their documented statistics", () => {
  E.tidy(() => {
    E.manualSeed(0);
    const w = E.empty([256, 512]);
    init.dcgan(w);
    assert.ok(Math.abs(w.std().item() - 0.02) < 0.001);
    init.xavierUniform(w);
    assert.ok(Math.abs(w.std().item() - Math.sqrt(2 / (256 + 512))) < 0.002);
    init.kaimingNormal(w, 0, "relu");
    assert.ok(Math.abs(w.std().item() - Math.sqrt(2 / 512)) < 0.003);
    const q = E.empty([6, 10]);
    init.orthogonal(q);
    assertClose(q.matmul(q.t()), E.tensor([...Array(36)].map((_, i) => (i % 7 === 0 ? 1 : 0))).toArray(), { atol: 1e-5 });
  });
});
