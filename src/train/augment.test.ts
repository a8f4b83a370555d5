// DiffAugment and instance noise: shapes kept, gradients flow, randomness from libtorch's seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as E from "../engine/index.js";
import { translate, cutout, diffAugment, instanceNoise } from "./augment.js";

test("translation and cutout keep the shape, pass gradients and follow the seed", () => {
  E.tidy(() => {
    const x = E.ones([4, 1, 8, 8]).requiresGrad_();
    E.manualSeed(5);
    const a = diffAugment(x);
    assert.deepEqual(a.shape, [4, 1, 8, 8]);
    const [g] = E.grad(a.sum(), [x]);
    assert.ok(g!.sum().item() > 0 && g!.sum().item() < 4 * 64, "some pixels are cut or shifted out");
    E.manualSeed(5);
    assert.deepEqual(diffAugment(x).toArray(), a.toArray(), "same seed, same augmentation");
    const cut = cutout(E.ones([2, 1, 8, 8]));
    assert.equal(cut.sum().item(), 2 * (64 - 16), "cutout zeroes a 4x4 square in each image");
    const shifted = translate(E.ones([2, 1, 8, 8]));
    assert.ok(shifted.sum().item() >= 2 * 49, "a shift of at most 1 pixel each way");
    assert.deepEqual(diffAugment(E.ones([3, 2])).toArray(), [1, 1, 1, 1, 1, 1], "2-D points are left alone");
    assert.equal(instanceNoise(x, 0), x);
    E.manualSeed(1);
    const noisy = instanceNoise(E.zeros([10000]), 0.5);
    assert.ok(Math.abs(noisy.std().item() - 0.5) < 0.02);
  });
});
