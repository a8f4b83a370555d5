// Scores against known answers: closed forms, constructed point sets, and a collapsed generator.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as E from "../engine/index.js";
import {
  frechetDistance,
  kernelInceptionDistance,
  inceptionScore,
  precisionRecall,
  densityCoverage,
  meanCov,
  modeStats,
  toyModeStats,
  memorizedFraction,
} from "./index.js";
import { kthNeighbourDistances, manifoldScores } from "./scores.js";
import { toyDistributions } from "../data/toy.js";

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a}, expected ${b} (tolerance ${tol})`);

test("the Fréchet distance of a set with itself is 0", () => {
  E.tidy(() => {
    E.manualSeed(0);
    const x = E.randn([2000, 16]);
    const s = meanCov(x);
    close(frechetDistance(s, s), 0, 1e-6, "FD(x, x)");
  });
});

test("two Gaussians give their closed-form Fréchet distance", () => {
  E.tidy(() => {
    E.manualSeed(1);
    // A random SPD covariance and a scaled copy commute: FD = |mu1 - mu2|^2 + (1 + c - 2 sqrt(c)) tr S.
    const a = E.randn([8, 8], { dtype: "float64" });
    const cov = a.matmul(a.t()).add(
      E.tensor(
        Float64Array.from({ length: 64 }, (_, i) => (i % 9 === 0 ? 0.5 : 0)),
        { shape: [8, 8] },
      ),
    );
    const c = 2.25;
    const mean1 = E.zeros([8], { dtype: "float64" });
    const mean2 = E.full([8], 0.5, { dtype: "float64" });
    const trace = cov
      .mul(
        E.tensor(
          Float64Array.from({ length: 64 }, (_, i) => (i % 9 === 0 ? 1 : 0)),
          { shape: [8, 8] },
        ),
      )
      .sum()
      .item();
    const expected = 8 * 0.25 + (1 + c - 2 * Math.sqrt(c)) * trace;
    close(frechetDistance({ mean: mean1, cov }, { mean: mean2, cov: cov.mul(c) }), expected, 1e-8 * expected, "FD");
    // Diagonal covariances: sum of (sqrt(s1) - sqrt(s2))^2.
    const d1 = E.tensor([1, 4, 9], { dtype: "float64" });
    const d2 = E.tensor([4, 4, 1], { dtype: "float64" });
    const diag = (d: E.Tensor) =>
      d.unsqueeze(1).mul(
        E.tensor(
          [
            [1, 0, 0],
            [0, 1, 0],
            [0, 0, 1],
          ],
          { dtype: "float64" },
        ),
      );
    close(
      frechetDistance({ mean: E.zeros([3], { dtype: "float64" }), cov: diag(d1) }, { mean: E.zeros([3], { dtype: "float64" }), cov: diag(d2) }),
      1 + 0 + 4,
      1e-9,
      "diagonal FD",
    );
  });
});

test("KID is near 0 for one distribution and clearly positive for two", () => {
  E.tidy(() => {
    E.manualSeed(2);
    const x = E.randn([1000, 8]);
    const y = E.randn([1000, 8]);
    const same = kernelInceptionDistance(x, y, { subsets: 20, subsetSize: 500 });
    assert.ok(Math.abs(same.mean) < 3 * same.std + 1e-3, `KID(x, y) = ${same.mean} ± ${same.std}`);
    const shifted = kernelInceptionDistance(x, y.add(1), { subsets: 20, subsetSize: 500 });
    assert.ok(shifted.mean > 0.5, `KID(x, y + 1) = ${shifted.mean}`);
  });
});

test("precision and recall on constructed point sets give their known values", () => {
  E.tidy(() => {
    // Real: (0..9, 0). Fake: the same ten points plus ten far away at (100..109, 0).
    const line = (start: number) => Array.from({ length: 10 }, (_, i) => [start + i, 0]);
    const real = E.tensor(line(0));
    const fake = E.tensor([...line(0), ...line(100)]);
    const pr = precisionRecall(real, fake, 3);
    close(pr.precision, 0.5, 0, "precision");
    close(pr.recall, 1, 0, "recall");
    const far = precisionRecall(real, E.tensor(line(100)), 3);
    assert.deepEqual([far.precision, far.recall], [0, 0]);
    const dc = densityCoverage(real, fake, 5);
    close(dc.coverage, 1, 0, "coverage");
    const none = densityCoverage(real, E.tensor(line(100)), 5);
    assert.deepEqual([none.density, none.coverage], [0, 0]);
  });
});

test("the IS analogue is K for confident, balanced predictions and 1 for a single class", () => {
  E.tidy(() => {
    const k = 10;
    const confident = E.tensor(Array.from({ length: 1000 }, (_, i) => Array.from({ length: k }, (_, c) => (c === i % k ? 50 : 0))));
    close(inceptionScore(confident, 10).mean, k, 1e-6, "balanced IS");
    const single = E.tensor(Array.from({ length: 1000 }, () => Array.from({ length: k }, (_, c) => (c === 3 ? 50 : 0))));
    close(inceptionScore(single, 10).mean, 1, 1e-6, "single-class IS");
  });
});

test("mode statistics flag a generator that emits a single class as collapsed", () => {
  const single = modeStats(Array(1000).fill(7), 10);
  assert.equal(single.collapsed, true);
  assert.equal(single.covered, 1);
  assert.equal(single.dominant.label, 7);
  close(single.klToData, Math.log(10), 1e-12, "KL of one class against uniform");
  const balanced = modeStats(
    Array.from({ length: 1000 }, (_, i) => i % 10),
    10,
  );
  assert.equal(balanced.collapsed, false);
  assert.equal(balanced.covered, 10);
  close(balanced.klToData, 0, 1e-12, "KL of uniform against uniform");
  const skewed = modeStats(
    Array.from({ length: 1000 }, (_, i) => (i < 400 ? 0 : i % 10)),
    10,
  );
  assert.equal(skewed.collapsed, true, "one class at over 3x its share");
});

test("toy mode statistics: modes captured and high-quality samples", () => {
  E.tidy(() => {
    const ring = toyDistributions.ring8;
    E.manualSeed(3);
    const everywhere = E.tensor(ring.modes)
      .indexSelect(0, E.randint(0, 8, [2000]))
      .add(E.randn([2000, 2]).mul(ring.std));
    const good = toyModeStats(everywhere, ring);
    assert.equal(good.modesCaptured, 8);
    assert.ok(good.highQualityFraction > 0.98);
    assert.equal(good.collapsed, false);
    const one = toyModeStats(
      E.tensor(ring.modes[2])
        .unsqueeze(0)
        .expand(500, 2)
        .add(E.randn([500, 2]).mul(ring.std)),
      ring,
    );
    assert.equal(one.modesCaptured, 1);
    assert.equal(one.collapsed, true);
    const off = toyModeStats(E.zeros([500, 2]), ring);
    assert.equal(off.highQualityFraction, 0);
  });
});

test("the shared-distance manifold scores equal each score computed on its own, across chunk edges", () => {
  E.tidy(() => {
    E.manualSeed(3);
    const real = E.randn([230, 5]);
    const fake = E.randn([170, 5]).mul(1.3).add(0.2);
    // Brute force, straight from the definitions, on the whole distance matrices.
    const rows = (t: E.Tensor) => {
      const flat = t.toArray() as number[];
      return Array.from({ length: t.shape[0] }, (_, i) => flat.slice(i * t.shape[1], (i + 1) * t.shape[1]));
    };
    const [rr, ff, fr] = [rows(E.cdist(real, real)), rows(E.cdist(fake, fake)), rows(E.cdist(fake, real))];
    const kth = (d: number[][], k: number) => d.map((r) => [...r].sort((a, b) => a - b)[k]);
    const [r3, r5, f3] = [kth(rr, 3), kth(rr, 5), kth(ff, 3)];
    const precision = fr.filter((r) => r.some((d, j) => d <= r3[j])).length / fake.shape[0];
    const recall = r3.filter((_, j) => fr.some((r, i) => r[j] <= f3[i])).length / real.shape[0];
    const density = fr.reduce((s, r) => s + r.filter((d, j) => d <= r5[j]).length, 0) / (5 * fake.shape[0]);
    const coverage = r5.filter((radius, j) => Math.min(...fr.map((r) => r[j])) <= radius).length / real.shape[0];
    const got = manifoldScores(real, fake, { kPR: 3, kDC: 5, chunk: 64 });
    close(got.precision, precision, 1e-6, "precision");
    close(got.recall, recall, 1e-6, "recall");
    close(got.density, density, 1e-6, "density");
    close(got.coverage, coverage, 1e-6, "coverage");
    assert.ok(precision > 0 && precision < 1 && recall > 0 && recall < 1, "the sets overlap in part, so a wrong term would show");
    // Cached real radii give the same scores.
    const radii = kthNeighbourDistances(real, [3, 5], 100) as [E.Tensor, E.Tensor];
    assert.deepEqual(manifoldScores(real, fake, { realRadii: radii }), manifoldScores(real, fake));
    const m = E.tensor([
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(m.diagonal().toArray(), [1, 4]);
  });
});

test("the memorization check is exact: its 4x4 block-mean bound never hides a near copy", () => {
  E.tidy(() => {
    E.manualSeed(4);
    const train = E.rand([300, 1, 28, 28]).mul(2).sub(1);
    // RMS 0.025 on a 0..1 scale is an L2 distance of 0.05 * 28 = 1.4 in [-1, 1].
    const threshold = 1.4;
    const noise = (scale: number) => E.randn([1, 1, 28, 28]).mul(scale / 28);
    // Noise constant on each 4x4 block meets the bound with equality: the tightest case.
    const blocky = (norm: number) => {
      const n = E.upsample(E.randn([1, 1, 7, 7]), { scaleFactor: 4 });
      return n.mul(norm / n.norm().item());
    };
    const samples = E.cat([
      train.narrow(0, 5, 1), // an exact copy
      train.narrow(0, 9, 1).add(noise(1.2)), // inside the threshold
      train.narrow(0, 11, 1).add(noise(1.6)), // just outside
      train.narrow(0, 13, 1).add(blocky(1.3)), // inside, its bound 1.3 exactly
      E.rand([6, 1, 28, 28]).mul(2).sub(1), // new images
    ]);
    const brute = (E.cdist(samples.flatten(1), train.flatten(1)).min(1).values.toArray() as number[]).filter((d) => d <= threshold).length / 10;
    assert.equal(memorizedFraction(samples, train), brute);
    assert.equal(brute, 0.3, "the copy and the two near copies, not the one just outside");
  });
});
