// Scores on classifier features. Each follows its paper; inputs are feature matrices (N, D).
//   Fréchet distance (Heusel et al. 2017), KID (Bińkowski et al. 2018, unbiased, cubic kernel),
//   Inception-Score analogue (Salimans et al. 2016), precision and recall (Kynkäänniemi et al.
//   2019, k = 3), density and coverage (Naeem et al. 2020, k = 5).
import { type Tensor, cat, cdist, eigh, full, keep, kthvalue, logSoftmax, randint, softmax, tidy, zeros } from "../engine/index.js";

/** Mean (D) and covariance (D, D) of features, in float64. */
export function meanCov(features: Tensor): { mean: Tensor; cov: Tensor } {
  return tidy(() => {
    const x = features.to({ dtype: "float64" });
    const mean = x.mean(0);
    const centred = x.sub(mean);
    const cov = centred
      .t()
      .matmul(centred)
      .div(x.shape[0] - 1);
    return { mean, cov };
  });
}

/** Square root of a symmetric positive semi-definite matrix, by its eigendecomposition. */
function sqrtPsd(a: Tensor): Tensor {
  const { values, vectors } = eigh(a);
  return vectors.mul(values.clamp(0).sqrt()).matmul(vectors.t());
}

/**
 * ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)). Tr((S1 S2)^(1/2)) is taken as the trace of
 * (S1^(1/2) S2 S1^(1/2))^(1/2), whose matrix is symmetric: stable where S1 S2 is not.
 */
export function frechetDistance(a: { mean: Tensor; cov: Tensor }, b: { mean: Tensor; cov: Tensor }): number {
  return tidy(() => {
    const diff = a.mean.sub(b.mean).square().sum().item();
    const root = sqrtPsd(a.cov);
    const middle = root.matmul(b.cov).matmul(root);
    const traceSqrt = eigh(middle.add(middle.t()).div(2)).values.clamp(0).sqrt().sum().item();
    const trace = (m: Tensor) => m.diagonal().sum().item();
    return Math.max(0, diff + trace(a.cov) + trace(b.cov) - 2 * traceSqrt);
  });
}

/** Unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3, over `subsets` random subsets; mean and std. */
export function kernelInceptionDistance(real: Tensor, fake: Tensor, options: { subsets?: number; subsetSize?: number } = {}): { mean: number; std: number } {
  const m = Math.min(options.subsetSize ?? 1000, real.shape[0], fake.shape[0]);
  const subsets = options.subsets ?? 50;
  const d = real.shape[1];
  const values: number[] = [];
  for (let s = 0; s < subsets; s++) {
    values.push(
      tidy(() => {
        const x = real.indexSelect(0, randint(0, real.shape[0], [m])).to({ dtype: "float64" });
        const y = fake.indexSelect(0, randint(0, fake.shape[0], [m])).to({ dtype: "float64" });
        const k = (p: Tensor, q: Tensor) => p.matmul(q.t()).div(d).add(1).pow(3);
        const kxx = k(x, x);
        const kyy = k(y, y);
        const offDiagonal = (kk: Tensor) => (kk.sum().item() - kk.diagonal().sum().item()) / (m * (m - 1));
        return offDiagonal(kxx) + offDiagonal(kyy) - (2 * k(x, y).sum().item()) / (m * m);
      }),
    );
  }
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { mean, std };
}

/** exp(E_x KL(p(y|x) || p(y))) over `splits` splits of the logits; mean and std. */
export function inceptionScore(logits: Tensor, splits = 10): { mean: number; std: number } {
  const n = logits.shape[0];
  const size = Math.floor(n / splits);
  const scores = Array.from({ length: splits }, (_, s) =>
    tidy(() => {
      const part = logits.narrow(0, s * size, size).to({ dtype: "float64" });
      const logP = logSoftmax(part, 1);
      const py = softmax(part, 1).mean(0, true);
      return Math.exp(logP.exp().mul(logP.sub(py.log())).sum(1).mean().item());
    }),
  );
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  return { mean, std: Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits) };
}

/** For each row of x, its distances to its k-th nearest other rows (itself excluded), one tensor per k. */
export function kthNeighbourDistances(x: Tensor, ks: readonly number[], chunk = 1000): Tensor[] {
  const parts: Tensor[][] = ks.map(() => []);
  for (let i = 0; i < x.shape[0]; i += chunk) {
    // Each chunk's distances to every row, once for all k: the k-th smallest other is the (k+1)-th.
    tidy(() => {
      const d = cdist(x.narrow(0, i, Math.min(chunk, x.shape[0] - i)), x);
      for (const [j, k] of ks.entries()) parts[j].push(keep(kthvalue(d, k + 1, 1)));
    });
  }
  return parts.map((p) => {
    const all = cat(p);
    for (const t of p) t.dispose();
    return all;
  });
}

export interface ManifoldScores {
  /** Fake samples inside the real manifold (real k-NN balls, k = kPR). */
  precision: number;
  /** Real samples inside the fake manifold. */
  recall: number;
  /** Naeem et al.: real k-NN balls (k = kDC) holding each fake sample, over k; can exceed 1. */
  density: number;
  /** Real samples whose k-NN ball (k = kDC) holds a fake sample. */
  coverage: number;
}

/**
 * Precision and recall (Kynkäänniemi et al. 2019, k = kPR) and density and coverage (Naeem et al.
 * 2020, k = kDC) from three distance passes (real-real, fake-fake, fake-real) instead of one per
 * score. `realRadii` ([kPR radii, kDC radii]) may come from a cache, the real set being fixed.
 */
export function manifoldScores(
  real: Tensor,
  fake: Tensor,
  options: { kPR?: number; kDC?: number; realRadii?: [Tensor, Tensor]; chunk?: number } = {},
): ManifoldScores {
  const { kPR = 3, kDC = 5, chunk = 1000 } = options;
  const [realPR, realDC] = options.realRadii ?? kthNeighbourDistances(real, [kPR, kDC], chunk);
  const [fakePR] = kthNeighbourDistances(fake, [kPR], chunk);
  const [nReal, nFake] = [real.shape[0], fake.shape[0]];
  let inPrecision = 0;
  let densitySum = 0;
  // Per real sample, across the fake chunks: fake balls holding it (recall) and its nearest fake (coverage).
  let recallHits = zeros([nReal]);
  let nearestFake = full([nReal], Number.POSITIVE_INFINITY);
  for (let i = 0; i < nFake; i += chunk) {
    const n = Math.min(chunk, nFake - i);
    const [p, dsum, hits, nearest] = tidy(() => {
      const d = cdist(fake.narrow(0, i, n), real); // (n, nReal)
      const inReal = d.le(realPR.unsqueeze(0)).to({ dtype: "float32" }).sum(1).gt(0).to({ dtype: "float32" }).sum();
      const inDC = d.le(realDC.unsqueeze(0)).to({ dtype: "float32" }).sum();
      const inFake = d
        .le(fakePR.narrow(0, i, n).unsqueeze(1))
        .to({ dtype: "float32" })
        .sum(0);
      return [inReal.item(), inDC.item(), keep(recallHits.add(inFake)), keep(nearestFake.minimum(d.min(0).values))];
    });
    inPrecision += p;
    densitySum += dsum;
    recallHits.dispose();
    nearestFake.dispose();
    [recallHits, nearestFake] = [hits, nearest];
  }
  const [recall, coverage] = tidy(() => [
    recallHits.gt(0).to({ dtype: "float32" }).mean().item(),
    nearestFake.le(realDC).to({ dtype: "float32" }).mean().item(),
  ]);
  for (const t of [recallHits, nearestFake, fakePR, ...(options.realRadii ? [] : [realPR, realDC])]) t.dispose();
  return { precision: inPrecision / nFake, recall, density: densitySum / (kDC * nFake), coverage };
}

/** Precision: fake samples inside the real manifold; recall: real samples inside the fake one. */
export function precisionRecall(real: Tensor, fake: Tensor, k = 3): { precision: number; recall: number } {
  const { precision, recall } = manifoldScores(real, fake, { kPR: k });
  return { precision, recall };
}

/** Density (can exceed 1) and coverage, both around real samples' k-NN balls. */
export function densityCoverage(real: Tensor, fake: Tensor, k = 5): { density: number; coverage: number } {
  const { density, coverage } = manifoldScores(real, fake, { kDC: k });
  return { density, coverage };
}
