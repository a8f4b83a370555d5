// Scores on classifier features. Each follows its paper; inputs are feature matrices (N, D).
//   Fréchet distance (Heusel et al. 2017), KID (Bińkowski et al. 2018, unbiased, cubic kernel),
//   Inception-Score analogue (Salimans et al. 2016), precision and recall (Kynkäänniemi et al.
//   2019, k = 3), density and coverage (Naeem et al. 2020, k = 5).
import { type Tensor, cat, cdist, eigh, kthvalue, logSoftmax, randint, softmax, tidy, tensor } from "../engine/index.js";

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
    const trace = (m: Tensor) => m.mul(eye(m.shape[0])).sum().item();
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
        const offDiagonal = (kk: Tensor) => (kk.sum().item() - kk.mul(eye(m)).sum().item()) / (m * (m - 1));
        return offDiagonal(kxx) + offDiagonal(kyy) - (2 * k(x, y).sum().item()) / (m * m);
      }),
    );
  }
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { mean, std };
}

function eye(n: number): Tensor {
  return tensor(
    Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)),
    { shape: [n, n] },
  );
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

/** For each row of x, its distance to its k-th nearest other row (itself excluded). */
export function kthNeighbourDistance(x: Tensor, k: number, chunk = 1000): Tensor {
  const parts: Tensor[] = [];
  for (let i = 0; i < x.shape[0]; i += chunk) {
    // The nearest "neighbour" at distance 0 is the point itself: take the (k+1)-th.
    parts.push(tidy(() => kthvalue(cdist(x.narrow(0, i, Math.min(chunk, x.shape[0] - i)), x), k + 1, 1)));
  }
  const all = cat(parts);
  for (const p of parts) p.dispose();
  return all;
}

/** How many balls B(centre_i, radius_i) contain each query point: (Q). */
function ballCounts(queries: Tensor, centres: Tensor, radii: Tensor, chunk = 1000): number[] {
  const counts: number[] = [];
  for (let i = 0; i < queries.shape[0]; i += chunk) {
    counts.push(
      ...tidy(() =>
        cdist(queries.narrow(0, i, Math.min(chunk, queries.shape[0] - i)), centres)
          .le(radii.unsqueeze(0))
          .to({ dtype: "float32" })
          .sum(1)
          .toArray(),
      ),
    );
  }
  return counts;
}

/** Precision: fake samples inside the real manifold; recall: real samples inside the fake one. */
export function precisionRecall(real: Tensor, fake: Tensor, k = 3): { precision: number; recall: number } {
  const realRadii = kthNeighbourDistance(real, k);
  const fakeRadii = kthNeighbourDistance(fake, k);
  const inside = (counts: number[]) => counts.filter((c) => c > 0).length / counts.length;
  const precision = inside(ballCounts(fake, real, realRadii));
  const recall = inside(ballCounts(real, fake, fakeRadii));
  realRadii.dispose();
  fakeRadii.dispose();
  return { precision, recall };
}

/** Density (can exceed 1) and coverage, both around real samples' k-NN balls. */
export function densityCoverage(real: Tensor, fake: Tensor, k = 5): { density: number; coverage: number } {
  const radii = kthNeighbourDistance(real, k);
  const perFake = ballCounts(fake, real, radii);
  const density = perFake.reduce((a, b) => a + b, 0) / (k * fake.shape[0]);
  // Coverage: real points whose own ball holds at least one fake point.
  let covered = 0;
  for (let i = 0; i < real.shape[0]; i += 1000) {
    const n = Math.min(1000, real.shape[0] - i);
    covered += tidy(() =>
      cdist(real.narrow(0, i, n), fake)
        .min(1)
        .values.le(radii.narrow(0, i, n))
        .to({ dtype: "float32" })
        .sum()
        .item(),
    );
  }
  radii.dispose();
  return { density, coverage: covered / real.shape[0] };
}
