// One contract that every generator and discriminator family passes, for every data shape it
// supports: output shapes, ranges, label conditioning, gradients, and a state-dict round trip.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as E from "../engine/index.js";
import { generators, discriminators, buildGenerator, buildDiscriminator, type ModelShape } from "./index.js";
import { ConfigError } from "../errors.js";

const shapes: Record<string, number[][]> = {
  mlp: [[1, 28, 28], [2], [3, 32, 32]],
  dcgan: [
    [1, 28, 28],
    [3, 32, 32],
    [3, 64, 64],
  ],
  cnn: [[1, 28, 28]],
  "seq-resnet": [[28, 12]],
};
/** Per discriminator family: the data shapes it supports, option sets to try, and whether it offers AC-GAN's classifier. */
const discriminatorCases: Record<string, { shapes: number[][]; options: Record<string, unknown>[]; aux: boolean }> = {
  mlp: { shapes: shapes.mlp, options: [{}, { spectralNorm: true }], aux: true },
  dcgan: { shapes: shapes.dcgan, options: [{}, { norm: "layer" }, { norm: "none", spectralNorm: true }], aux: true },
  "seq-resnet": { shapes: shapes["seq-resnet"], options: [{}, { dim: 16, blocks: 2 }], aux: false },
  autoencoder: { shapes: [[1, 28, 28], [2], [3, 32, 32], [3, 64, 64]], options: [{}, { energy: "l2", code: 8 }], aux: false },
};

for (const name of Object.keys(generators)) {
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
        test(`discriminator ${name} ${JSON.stringify(options)} for [${dataShape}], classes ${numClasses}${auxClassifier ? " (aux)" : ""}`, () => {
          E.tidy(() => {
            const D = buildDiscriminator({ name, options: { ...options, ...(auxClassifier && { auxClassifier }) } }, { dataShape, latentDim: 16, numClasses });
            const labels = numClasses ? E.randint(0, 10, [5]) : undefined;
            const out = D.forward(E.randn([5, ...dataShape]), labels);
            assert.deepEqual(out.shape, [5, 1 + (auxClassifier ? 10 : 0) + D.features]);
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

test("an unknown model family is a ConfigError listing the valid names", () => {
  assert.throws(
    () => buildGenerator({ name: "vae" }, { dataShape: [2], latentDim: 2, numClasses: 0 }),
    (e) => e instanceof ConfigError && /unknown model 'vae': expected one of mlp, dcgan, cnn/.test(e.message),
  );
});
