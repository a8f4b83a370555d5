// Optimizers against torch.optim on the same start state and gradients, and exact resume.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as E from "../engine/index.js";
import { Adam, AdamW, SGD, RMSprop, LRScheduler, clipGradNorm, clipWeights, EMA, type Optimizer } from "./index.js";
import { Linear } from "../nn/index.js";
import { fixture, assertClose } from "../../test/helpers.js";

const configs: Record<string, (ps: E.Tensor[]) => Optimizer<{ lr: number }>> = {
  adam: (ps) => new Adam(ps),
  adam_gan: (ps) => new Adam(ps, { lr: 2e-4, betas: [0.5, 0.999], weightDecay: 0.01 }),
  adamw: (ps) => new AdamW(ps, { lr: 1e-2, weightDecay: 0.1 }),
  sgd: (ps) => new SGD(ps, { lr: 0.1 }),
  sgd_nesterov: (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true }),
  sgd_damped: (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }),
  rmsprop: (ps) => new RMSprop(ps),
  rmsprop_centered: (ps) => new RMSprop(ps, { lr: 1e-2, centered: true, momentum: 0.9, weightDecay: 0.01 }),
};

for (const [name, make] of Object.entries(configs)) {
  test(`${name}: three steps match torch.optim`, () => {
    const f = fixture("optim");
    const p = E.keep(f.p0.clone()).requiresGrad_();
    const opt = make([p]);
    for (const g of [f.g0, f.g1, f.g2]) {
      p.grad = g.clone();
      opt.step();
    }
    assertClose(p, f[`after.${name}`], { atol: 1e-6, rtol: 1e-5 });
  });

  test(`${name}: a state dict saved after one step resumes exactly`, () => {
    const f = fixture("optim");
    const run = (resumeAfter: number | null) => {
      let p = E.keep(f.p0.clone()).requiresGrad_();
      let opt = make([p]);
      [f.g0, f.g1, f.g2].forEach((g, i) => {
        if (i === resumeAfter) {
          // Round-trip through safetensors bytes, as a checkpoint does.
          const saved = opt.stateDict();
          const bytes = Buffer.concat(E.serialize({ p, ...saved.tensors }).map((c) => Buffer.from(c)));
          const { tensors } = E.deserialize(bytes);
          p = E.keep(tensors.p).requiresGrad_();
          delete tensors.p;
          opt = make([p]);
          opt.loadStateDict({ ...saved, tensors });
        }
        p.grad = g.clone();
        opt.step();
      });
      return p.toArray();
    };
    assert.deepEqual(run(1), run(null));
  });
}

test("learning-rate schedules: constant, linear and cosine", () => {
  const opt = { lr: 0 };
  const at = (name: "constant" | "linear" | "cosine", step: number) => new LRScheduler(opt, 0.1, name, { totalSteps: 100 }).apply(step);
  assert.equal(at("constant", 50), 0.1);
  assert.ok(Math.abs(at("linear", 25) - 0.075) < 1e-12);
  assert.ok(Math.abs(at("cosine", 50) - 0.05) < 1e-12);
  assert.equal(at("linear", 200), 0);
  assert.throws(() => new LRScheduler(opt, 0.1, "linear", { totalSteps: 0 }), /positive number of steps/);
  assert.throws(() => new LRScheduler(opt, 0.1, "cyclic" as never, { totalSteps: 1 }), /unknown schedule 'cyclic'/);
});

test("clipGradNorm scales gradients to the norm; clipWeights clamps", () => {
  const p = E.keep(E.zeros([2])).requiresGrad_();
  p.grad = E.tensor([3, 4]);
  assert.ok(Math.abs(clipGradNorm([p], 1) - 5) < 1e-6);
  assertClose(p.grad!, [0.6, 0.8], { atol: 1e-5 });
  const w = E.keep(E.tensor([-1, 0.005, 2])).requiresGrad_();
  clipWeights([w], 0.01);
  assertClose(w, [-0.01, 0.005, 0.01], { atol: 1e-7 });
});

test("EMA moves the shadow weights toward the model by 1 - decay", () => {
  const model = new Linear(2, 1);
  const ema = EMA.of(model, new Linear(2, 1), 0.9);
  const start = model.stateDict().weight.toArray();
  E.noGrad(() => model.stateDict().weight.add_(1));
  ema.update(model);
  assertClose(
    ema.shadow.stateDict().weight,
    start.map((v) => v + 0.1),
    { atol: 1e-6 },
  );
});
