// InfoGAN: the codes at the end of z, pinned when asked; D's Q head reads them back and the
// mutual-information term trains it; sweeps and pins through the CLI; the code-class matching.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { readFileSync } from "node:fs";
import * as E from "../engine/index.js";
import { createGan, sampleLatent, modelShapeOf, resolveConfig } from "./index.js";
import { bestMatching } from "../metrics/codes.js";
import { gantry, gantryOk } from "../../test/helpers.js";

test("z ends with the categorical code one-hot and the continuous codes in [-1, 1]; pins fix them", () => {
  const shape = modelShapeOf(resolveConfig("mnist-infogan"));
  assert.equal(shape.latentDim, 62 + 10 + 2);
  assert.deepEqual(shape.codes, { categorical: 10, continuous: 2 });
  E.tidy(() => {
    const { z, codes } = sampleLatent(shape, 500);
    const onehot = z.narrow(1, 62, 10);
    assert.deepEqual(onehot.sum(1).toArray(), new Array(500).fill(1));
    assert.deepEqual(onehot.argmax(1).toArray(), codes!.categorical!.toArray());
    const cont = z.narrow(1, 72, 2);
    assert.ok(cont.abs().max().item() <= 1 && cont.abs().mean().item() > 0.4, "uniform in [-1, 1]");
    const pinned = sampleLatent(shape, 4, "cpu", { categorical: 7, continuous: { 1: 1.5 } }).z;
    assert.deepEqual(pinned.narrow(1, 62, 10).argmax(1).toArray(), [7, 7, 7, 7]);
    assert.deepEqual(pinned.narrow(1, 73, 1).flatten().toArray(), [1.5, 1.5, 1.5, 1.5]);
  });
});

test("D's head predicts the codes, and a codes model with a D that cannot is a ConfigError", () => {
  const gan = createGan("mnist-infogan");
  assert.equal(gan.D.codeOutputs, 12);
  E.tidy(() => assert.deepEqual(gan.D.forward(E.randn([3, 1, 28, 28])).shape, [3, 1 + 12]));
  assert.throws(
    () => createGan({ preset: "mnist-infogan", model: { discriminator: { name: "autoencoder" } }, loss: { name: "began" } }),
    /model\.codes: InfoGAN's codes need a discriminator that predicts them/,
  );
});

test("bestMatching finds the one-to-one matching with the largest total", () => {
  assert.deepEqual(
    bestMatching([
      [1, 9, 0],
      [8, 7, 0],
      [0, 6, 5],
    ]),
    { total: 9 + 8 + 5, match: [1, 0, 2] },
  );
});

test("through the CLI: sample pins codes, interpolate sweeps them as a grid, eval reports the code-class agreement", () => {
  const dir = join(mkdtempSync(join(tmpdir(), "gantry-info-")), "run");
  gantryOk("train", "--preset", "mnist-infogan", "--steps", "2", "--batch-size", "8", "--out", dir);
  gantryOk("interpolate", "--run", dir, "--sweep", "c1", "--steps", "7", "--out", join(dir, "c1.png"));
  const grid = PNG.sync.read(readFileSync(join(dir, "c1.png")));
  const cell = (grid.width - 2) / 7; // encodeGrid: 2 px padding around 28 px cells
  assert.equal(Math.round((grid.height - 2) / cell), 10, "a row per categorical value");
  gantryOk("interpolate", "--run", dir, "--sweep", "cat", "--out", join(dir, "cat.png"));
  gantryOk("sample", "--run", dir, "--code", "cat=3,c0=-1", "--count", "4", "--out", join(dir, "s.png"));
  for (const [args, pattern] of [
    [["--code", "cat=10"], /--code: cat must be an integer in 0\.\.9, got 10/],
    [["--code", "c2=0"], /--code: c2: this generator has 2 continuous code\(s\), c0\.\.c1/],
    [["--code", "slant"], /--code: expected cat=K or cI=VALUE/],
  ] as const) {
    const r = gantry("sample", "--run", dir, ...args, "--out", join(dir, "x.png"));
    assert.equal(r.code, 2);
    assert.match(r.err, pattern);
  }
  const report = JSON.parse(gantryOk("eval", "--run", dir, "--count", "200", "--json"));
  assert.ok(report.codeAgreement.agreement >= 0.1 && report.codeAgreement.agreement <= 1);
  assert.equal(new Set(report.codeAgreement.classOf).size, 10, "a one-to-one matching");
});
