// One contract that every generator and discriminator family passes, for every data shape it
// supports: output shapes, ranges, label conditioning, gradients, and a state-dict round trip.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as E from "../engine/index.js";
import { generators, discriminators, buildGenerator, buildDiscriminator, type ModelShape } from "./index.js";
import { ModulatedConv, StyleGenerator } from "./style.js";
import { CycleDiscriminator, CycleGenerator } from "./translation.js";
import { ConfigError } from "../errors.js";

const shapes: Record<string, number[][]> = {
  mlp: [[1, 28, 28], [2], [3, 32, 32]],
  dcgan: [
    [1, 28, 28],
    [3, 32, 32],
    [3, 64, 64],
  ],
  cnn: [[1, 28, 28]],
  style: [
    [1, 28, 28],
    [3, 32, 32],
    [3, 64, 64],
  ],
  "seq-resnet": [[28, 12]],
  wavegan: [
    [1, 1024],
    [1, 4096],
  ],
};
/** Translation generators: (input, output) image shapes; each is tried paired (pix2pix) and unpaired (CycleGAN's two directions). */
const translators: Record<string, { source: number[]; data: number[] }[]> = {
  unet: [
    { source: [1, 28, 28], data: [1, 28, 28] },
    { source: [3, 32, 32], data: [1, 32, 32] },
    { source: [1, 64, 64], data: [3, 64, 64] },
  ],
  resnet: [
    { source: [3, 28, 28], data: [1, 28, 28] },
    { source: [3, 32, 32], data: [3, 32, 32] },
  ],
};
/** Per discriminator family: the data shapes it supports, option sets to try, and whether it offers AC-GAN's classifier. */
const discriminatorCases: Record<string, { shapes: number[][]; options: Record<string, unknown>[]; aux: boolean; patches?: boolean }> = {
  mlp: { shapes: shapes.mlp, options: [{}, { spectralNorm: true }, { maxout: 5, hidden: [16, 8] }], aux: true },
  dcgan: { shapes: shapes.dcgan, options: [{}, { norm: "layer" }, { norm: "none", spectralNorm: true }], aux: true },
  "seq-resnet": { shapes: shapes["seq-resnet"], options: [{}, { dim: 16, blocks: 2 }], aux: false },
  wavegan: { shapes: shapes.wavegan, options: [{ dim: 4 }, { dim: 2, phaseShuffle: 0, kernel: 8 }], aux: true },
  autoencoder: { shapes: [[1, 28, 28], [2], [3, 32, 32], [3, 64, 64]], options: [{}, { energy: "l2", code: 8 }], aux: false },
  patch: {
    shapes: [
      [1, 28, 28],
      [4, 32, 32],
      [3, 64, 64],
    ],
    options: [{}, { norm: "instance", layers: 3 }],
    aux: false,
    patches: true,
  },
};

for (const name of Object.keys(generators)) {
  if (translators[name]) continue; // their own test below: they take images, not noise
  for (const dataShape of shapes[name]) {
    for (const numClasses of [0, 10]) {
      test(`generator ${name} for [${dataShape}]${numClasses ? ", conditional" : ""}`, () => {
        E.tidy(() => {
          const shape: ModelShape = { dataShape, latentDim: 16, numClasses };
          const G = buildGenerator({ name }, shape);
          const labels = numClasses ? E.randint(0, 10, [4]) : undefined;
          const x = G.forward(E.randn([4, 16]), labels);
          assert.deepEqual(x.shape, [4, ...dataShape]);
          if (dataShape.length >= 2) assert.ok(x.abs().max().item() <= 1, "output in [-1, 1]");
          x.sum().backward();
          assert.ok(
            G.parameters().every((p) => p.grad !== null),
            "every parameter gets a gradient",
          );
          const copy = buildGenerator({ name }, shape);
          copy.loadStateDict(G.stateDict());
          G.eval();
          copy.eval();
          const z = E.randn([2, 16]);
          const y = numClasses ? E.randint(0, 10, [2]) : undefined;
          assert.deepEqual(copy.forward(z, y).toArray(), G.forward(z, y).toArray());
        });
      });
    }
  }
}

for (const name of Object.keys(discriminators)) {
  const cases = discriminatorCases[name];
  for (const dataShape of cases.shapes) {
    for (const options of cases.options) {
      for (const [numClasses, auxClassifier] of [
        [0, false],
        [10, false],
        [10, true],
      ] as const) {
        if (auxClassifier && !cases.aux) continue;
        if (cases.patches && numClasses) continue; // PatchGAN judges images (and pix2pix's input beside them), not labels
        test(`discriminator ${name} ${JSON.stringify(options)} for [${dataShape}], classes ${numClasses}${auxClassifier ? " (aux)" : ""}`, () => {
          E.tidy(() => {
            const D = buildDiscriminator({ name, options: { ...options, ...(auxClassifier && { auxClassifier }) } }, { dataShape, latentDim: 16, numClasses });
            const labels = numClasses ? E.randint(0, 10, [5]) : undefined;
            const out = D.forward(E.randn([5, ...dataShape]), labels);
            if (cases.patches) assert.deepEqual(out.shape.slice(0, 2), [5, 1], "a grid of logits, one per patch");
            else assert.deepEqual(out.shape, [5, 1 + (auxClassifier ? 10 : 0) + D.features]);
            assert.equal(D.takesLabels, numClasses > 0 && !auxClassifier);
            if (D.energy) assert.ok(out.narrow(1, 0, 1).min().item() >= 0, "an energy is a reconstruction error, never negative");
            out.sum().backward();
            assert.ok(
              D.parameters().every((p) => p.grad !== null),
              "every parameter gets a gradient",
            );
          });
        });
      }
    }
  }
}

for (const [name, cases] of Object.entries(translators)) {
  for (const { source, data } of cases) {
    for (const paired of [true, false]) {
      test(`generator ${name} translating [${source}] to [${data}]${paired ? "" : ", unpaired (both directions)"}`, () => {
        E.tidy(() => {
          const shape: ModelShape = { dataShape: data, latentDim: 16, numClasses: 0, source: { shape: source, paired } };
          const G = buildGenerator({ name }, shape);
          const x = E.rand([2, ...source])
            .mul(2)
            .sub(1);
          const y = G.forward(x);
          assert.deepEqual(y.shape, [2, ...data]);
          assert.ok(y.abs().max().item() <= 1, "output in [-1, 1]");
          let loss = y.sum();
          if (!paired) {
            assert.ok(G instanceof CycleGenerator, "unpaired data: a generator per direction");
            const back = (G as CycleGenerator).back.forward(y);
            assert.deepEqual(back.shape, [2, ...source], "the other direction makes the input's shape");
            loss = loss.add(back.sum());
          }
          loss.backward();
          assert.ok(
            G.parameters().every((p) => p.grad !== null),
            "every parameter gets a gradient",
          );
          const copy = buildGenerator({ name }, shape);
          copy.loadStateDict(G.stateDict());
          G.eval();
          copy.eval();
          assert.deepEqual(copy.forward(x).toArray(), G.forward(x).toArray());
        });
      });
    }
  }
  test(`generator ${name} refuses noise-to-image data and noise generators refuse translation data, naming the field`, () => {
    assert.throws(
      () => buildGenerator({ name }, { dataShape: [1, 28, 28], latentDim: 16, numClasses: 0 }),
      (e) => e instanceof ConfigError && /model.generator.name: .* translates images: it needs a translation dataset/.test(e.message),
    );
    assert.throws(
      () => buildGenerator({ name: "dcgan" }, { dataShape: [1, 28, 28], latentDim: 16, numClasses: 0, source: { shape: [1, 28, 28], paired: true } }),
      (e) => e instanceof ConfigError && /use a translating generator, unet or resnet; got dcgan/.test(e.message),
    );
  });
}

test("CycleGAN's pool of fakes: stored until full, then each fake swapped for a stored one half the time; kept in the state dict", () => {
  E.tidy(() => {
    const shape: ModelShape = { dataShape: [1, 4, 4], latentDim: 1, numClasses: 0, source: { shape: [1, 4, 4], paired: false } };
    const D = buildDiscriminator({ name: "mlp" }, shape) as CycleDiscriminator;
    assert.ok(D instanceof CycleDiscriminator);
    const batch = (v: number) => E.full([10, 1, 4, 4], v);
    const first = D.targetPool.query(E.cat(Array.from({ length: 5 }, (_, i) => batch(i))));
    assert.deepEqual(
      first.flatten(1).mean(1).toArray(),
      [...Array(50)].map((_, i) => Math.floor(i / 10)),
      "filling: every fake shown as is",
    );
    assert.equal(D.stateDict()["targetPool.count"].item(), 50);
    const shown = E.withSeed(3, () => D.targetPool.query(batch(9)))
      .flatten(1)
      .mean(1)
      .toArray();
    const swapped = shown.filter((v) => v !== 9).length;
    assert.ok(swapped > 0 && swapped < 10, `about half the fakes are swapped for stored ones: ${swapped} of 10`);
    const pool = D.stateDict()["targetPool.images"].flatten(1).mean(1).toArray();
    assert.equal(pool.filter((v) => v === 9).length, swapped, "each swapped fake took the place of the one shown");
  });
});

test("dcgan's projection discriminator: the label reaches the logit through its own embedding, not as input channels; other uses are refused", () => {
  E.tidy(() => {
    for (const dataShape of [
      [1, 28, 28],
      [3, 32, 32],
    ]) {
      const shape: ModelShape = { dataShape, latentDim: 16, numClasses: 10 };
      const D = buildDiscriminator({ name: "dcgan", options: { projection: true } }, shape);
      assert.ok(D.takesLabels);
      assert.equal(D.parameters()[0].shape[1], dataShape[0], "the first convolution sees the image's channels only");
      const x = E.randn([4, ...dataShape]);
      const a = D.forward(x, E.tensor([0, 1, 2, 3], { dtype: "int64" }));
      const b = D.forward(x, E.tensor([4, 5, 6, 7], { dtype: "int64" }));
      assert.deepEqual(a.shape, [4, 1]);
      assert.ok(a.sub(b).abs().min().item() > 0, "another label gives every sample another logit");
      a.sum().backward();
      assert.ok(
        D.parameters().every((p) => p.grad !== null),
        "the embedding and every layer get a gradient",
      );
      const copy = buildDiscriminator({ name: "dcgan", options: { projection: true } }, shape);
      copy.loadStateDict(D.stateDict());
      D.eval();
      copy.eval();
      const y = E.tensor([9, 0, 3, 3], { dtype: "int64" });
      assert.deepEqual(copy.forward(x, y).toArray(), D.forward(x, y).toArray());
    }
    const mnist = { dataShape: [1, 28, 28], latentDim: 16 };
    assert.throws(
      () => buildDiscriminator({ name: "dcgan", options: { projection: true } }, { ...mnist, numClasses: 0 }),
      (e) => e instanceof ConfigError && /model.discriminator.options.projection: needs model.conditional: true/.test(e.message),
    );
    assert.throws(
      () => buildDiscriminator({ name: "dcgan", options: { projection: true, auxClassifier: true } }, { ...mnist, numClasses: 10 }),
      (e) =>
        e instanceof ConfigError && /projection: cannot be combined with auxClassifier, the other way for D to use the label; turn one off/.test(e.message),
    );
  });
});

test("an unknown model family is a ConfigError listing the valid names", () => {
  assert.throws(
    () => buildGenerator({ name: "vae" }, { dataShape: [2], latentDim: 2, numClasses: 0 }),
    (e) => e instanceof ConfigError && /unknown model 'vae': expected one of mlp, dcgan, cnn/.test(e.message),
  );
});

test("style: a modulated, demodulated convolution computes StyleGAN2's per-sample weights (its grouped-convolution form)", () => {
  E.tidy(() => {
    const [b, cin, cout, k] = [3, 4, 5, 3];
    for (const demodulate of [true, false]) {
      const conv = new ModulatedConv(cin, cout, k, 8, demodulate);
      const x = E.randn([b, cin, 6, 6]);
      const w = E.randn([b, 8]);
      const s = conv.affine.forward(w); // (B, in)
      // StyleGAN2's modulated_conv2d: each sample's own weight, scaled per input channel, normalized per output channel.
      let weight = conv
        .tensor("weight")
        .div(Math.sqrt(cin * k * k))
        .unsqueeze(0)
        .mul(s.view(b, 1, cin, 1, 1)); // (B, out, in, k, k)
      if (demodulate) weight = weight.mul(weight.square().sum([2, 3, 4], true).add(1e-8).pow(-0.5));
      const expected = E.conv2d(x.reshape(1, b * cin, 6, 6), weight.reshape(b * cout, cin, k, k), null, { padding: 1, groups: b }).reshape(b, cout, 6, 6);
      const got = conv.forward(x, w);
      assert.ok(got.sub(expected).abs().max().item() < 1e-4, `demodulate ${demodulate}: ${got.sub(expected).abs().max().item()}`);
      // Doubling every style: demodulation undoes it; without demodulation the output doubles.
      E.noGrad(() => {
        for (const [name, t] of Object.entries(conv.affine.stateDict())) if (name === "weight" || name === "bias") t.mul_(2);
      });
      const again = conv.forward(x, w);
      const ratio = again.abs().sum().item() / got.abs().sum().item();
      assert.ok(Math.abs(ratio - (demodulate ? 1 : 2)) < 1e-4, `demodulate ${demodulate}: output scaled by ${ratio}`);
    }
  });
});

test("style: mixing gives the layers after a cutoff a second z's style, only while training; eval noise is fixed", () => {
  E.tidy(() => {
    const shape: ModelShape = { dataShape: [1, 28, 28], latentDim: 16, numClasses: 0 };
    const make = (o: Record<string, unknown>) => E.withSeed(1, () => new StyleGenerator(shape, { width: 8, maxChannels: 16, ...o }));
    const z = E.randn([4, 16]);
    const G = make({ mixing: 1, noise: false });
    const unmixed = G.synthesize(Array.from({ length: G.numWs }, () => G.map(z)));
    const maxDiff = (a: E.Tensor, b: E.Tensor) => a.sub(b).abs().max().item();
    assert.equal(G.numWs, 6, "28 px: 1 + 2 + 2 layers, and the last image's style");
    assert.ok(
      maxDiff(
        E.withSeed(2, () => G.forward(z)),
        unmixed,
      ) > 1e-3,
      "training with mixing 1: another style from the cutoff on",
    );
    G.eval();
    assert.equal(maxDiff(G.forward(z), unmixed), 0, "eval: one style for every layer");
    const noMix = make({ mixing: 0, noise: false });
    assert.equal(maxDiff(noMix.forward(z), noMix.synthesize(Array.from({ length: noMix.numWs }, () => noMix.map(z)))), 0, "mixing 0: one style");

    const noisy = make({});
    E.noGrad(() => {
      for (const [name, t] of Object.entries(noisy.stateDict())) if (name.endsWith("noiseStrength")) t.fill_(1);
    });
    assert.ok(maxDiff(noisy.forward(z), noisy.forward(z)) > 1e-3, "training: fresh noise each pass");
    noisy.eval();
    assert.equal(maxDiff(noisy.forward(z), noisy.forward(z)), 0, "eval: the fixed noise, so the same z gives the same image");
  });
});

test("style: data it cannot make is a ConfigError naming the field", () => {
  assert.throws(
    () => buildGenerator({ name: "style" }, { dataShape: [28, 12], latentDim: 16, numClasses: 0 }),
    (e) => e instanceof ConfigError && /model.generator.name: style is for square images of 28, 32 or 64 px/.test(e.message),
  );
});
