// One contract that every adversarial loss passes, and each loss's own maths on known logits.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as E from "../engine/index.js";
import { losses, buildLoss } from "./index.js";
import { ConfigError } from "../errors.js";

const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-5, `${what}: ${a}, expected ${b}`);

for (const name of Object.keys(losses)) {
  test(`${name}: finite scalar losses whose gradients move D and G the right way`, () => {
    E.tidy(() => {
      E.manualSeed(0);
      const loss = buildLoss(name);
      const w = E.randn([2, 1]).requiresGrad_();
      // An energy loss reads a non-negative energy; the others any real score.
      const D = (x: E.Tensor) => (loss.energy ? x.matmul(w).square() : x.matmul(w));
      const real = E.randn([16, 2]).add(1);
      const fake = E.randn([16, 2]).sub(1).requiresGrad_();
      let d = loss.discriminator(D(real), D(fake.detach()));
      if (loss.penalty) d = d.add(loss.penalty(D, real, fake));
      assert.deepEqual(d.shape, []);
      assert.ok(Number.isFinite(d.item()));
      const [gw] = E.grad(d, [w]);
      assert.ok(gw!.abs().sum().item() > 0, "D's loss has a gradient");
      const g = loss.generator(D(fake), { real: D(real).detach(), features: fake });
      assert.deepEqual(g.shape, []);
      const [gf] = E.grad(g, [fake]);
      assert.ok(gf!.abs().sum().item() > 0, "G's loss reaches the fake samples");
    });
  });
}

test("each loss's values on known logits", () => {
  E.tidy(() => {
    const zero = E.zeros([4, 1]);
    const two = E.full([4, 1], 2);
    // BCE at logit 0: log 2 for real and for fake.
    near(buildLoss("non-saturating").discriminator(zero, zero).item(), 2 * Math.log(2), "BCE D");
    near(buildLoss("non-saturating").generator(two).item(), Math.log(1 + Math.exp(-2)), "-log D(G(z))");
    near(buildLoss("minimax").generator(two).item(), -Math.log(1 + Math.exp(2)), "log(1 - D(G(z)))");
    near(
      buildLoss("non-saturating", { realLabel: 0.9 }).discriminator(two, zero).item(),
      0.9 * Math.log(1 + Math.exp(-2)) + 0.1 * Math.log(1 + Math.exp(2)) + Math.log(2),
      "label smoothing",
    );
    near(buildLoss("least-squares").discriminator(two, zero).item(), 0.5, "LSGAN D: ((2-1)^2 + 0) / 2");
    near(
      buildLoss("hinge")
        .discriminator(two, E.full([4, 1], -0.5))
        .item(),
      0 + 0.5,
      "hinge D",
    );
    near(buildLoss("wasserstein").discriminator(two, zero).item(), -2, "critic: E[D(fake)] - E[D(real)]");
    assert.equal(buildLoss("wasserstein").clip, 0.01);
  });
});

test("WGAN-GP's penalty is lambda (|grad| - 1)^2, and R1's is gamma/2 |grad|^2", () => {
  E.tidy(() => {
    // D(x) = x . (3, 4): the gradient norm is 5 everywhere.
    const w = E.tensor([[3], [4]]);
    const D = (x: E.Tensor) => x.matmul(w);
    const real = E.randn([8, 2]);
    const fake = E.randn([8, 2]);
    near(buildLoss("wgan-gp").penalty!(D, real, fake).item(), 10 * 16, "WGAN-GP");
    near(buildLoss("r1").penalty!(D, real, fake).item(), 5 * 25, "R1");
    near(buildLoss("wgan-gp", { penaltyWeight: 1 }).penalty!(D, real, fake).item(), 16, "lambda 1");
  });
});

test("DRAGAN's penalty is lambda (|grad| - 1)^2 near the data, WGAN-div's is k |grad|^6", () => {
  E.tidy(() => {
    const w = E.tensor([[3], [4]]); // |grad D| = 5 everywhere
    const D = (x: E.Tensor) => x.matmul(w);
    const [real, fake] = [E.randn([8, 2]), E.randn([8, 2])];
    near(buildLoss("dragan").penalty!(D, real, fake).item(), 10 * 16, "DRAGAN");
    near(buildLoss("wgan-div").penalty!(D, real, fake).item() / 1e4, (2 * 5 ** 6) / 1e4, "WGAN-div");
  });
});

test("the relativistic losses compare each batch with the other's mean", () => {
  E.tidy(() => {
    const [zero, two] = [E.zeros([4, 1]), E.full([4, 1], 2)];
    near(buildLoss("ragan").discriminator(zero, zero).item(), 2 * Math.log(2), "RaSGAN D at equal logits");
    near(buildLoss("ragan").generator(zero, { real: zero }).item(), 2 * Math.log(2), "RaSGAN G at equal logits");
    near(buildLoss("ralsgan").discriminator(two, zero).item(), 1, "RaLSGAN D: ((2-1)^2 + (-2+1)^2) / 2");
    near(buildLoss("ralsgan").generator(zero, { real: two }).item(), 9, "RaLSGAN G: ((-2-1)^2 + (2+1)^2) / 2");
    assert.throws(() => buildLoss("ragan").generator(zero), /needs D's outputs on real data/);
  });
});

test("BEGAN's k follows gamma L(x) - L(G(z)), stays in [0, 1], and round-trips through its saved state", () => {
  E.tidy(() => {
    const loss = buildLoss("began", { gamma: 0.5 });
    const [real, fake] = [E.full([4, 1], 1), E.full([4, 1], 0.2)];
    near(loss.discriminator(real, fake).item(), 1, "k starts at 0: D's loss is L(x)");
    loss.afterDiscriminator!(real, fake);
    near(loss.saveState!().k!, 0.001 * 0.3, "k += lambda_k (gamma L(x) - L(G(z)))");
    near(loss.logged!().convergence!, 1 + 0.3, "M = L(x) + |gamma L(x) - L(G(z))|");
    near(loss.discriminator(real, fake).item(), 1 - 0.0003 * 0.2, "then L(x) - k L(G(z))");
    for (let i = 0; i < 10; i++) loss.afterDiscriminator!(E.zeros([4, 1]), E.full([4, 1], 100));
    assert.equal(loss.saveState!().k, 0, "k is clamped at 0");
    const other = buildLoss("began");
    other.loadState!({ k: 0.25, convergence: 2 });
    assert.deepEqual(other.saveState!(), { k: 0.25, convergence: 2 });
  });
});

test("EBGAN: D's margin loss, and G's pulling-away term is 0 for orthogonal embeddings and 1 for identical ones", () => {
  E.tidy(() => {
    const loss = buildLoss("ebgan", { margin: 1, pullAway: 0.1 });
    near(loss.discriminator(E.full([4, 1], 0.2), E.full([4, 1], 0.5)).item(), 0.2 + 0.5, "E(x) + [m - E(G(z))]+");
    near(loss.discriminator(E.full([4, 1], 0.2), E.full([4, 1], 3)).item(), 0.2, "fakes above the margin cost D nothing");
    const energy = E.full([3, 1], 0.5);
    near(
      loss
        .generator(energy, {
          features: E.tensor([
            [1, 0, 0],
            [0, 1, 0],
            [0, 0, 1],
          ]),
        })
        .item(),
      0.5,
      "orthogonal: no pulling-away cost",
    );
    near(loss.generator(energy, { features: E.ones([3, 4]) }).item(), 0.5 + 0.1, "identical: cos^2 = 1");
  });
});

test("an unknown loss is a ConfigError listing the valid names", () => {
  assert.throws(
    () => buildLoss("focal"),
    (e) => e instanceof ConfigError && /unknown loss 'focal': expected one of minimax, non-saturating/.test(e.message),
  );
});
