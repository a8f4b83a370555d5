// How well InfoGAN's categorical code found the data's classes: samples drawn with each code value
// are labelled by gantry's classifier, and the code values are matched one-to-one to classes to
// maximize agreement (the code's numbering is arbitrary). As Chen et al. (2016) measure it on MNIST.
import { tidy, withSeed } from "../engine/index.js";
import type { LoadedGenerator } from "../train/export.js";
import { loadClassifier } from "./classifier.js";

/** The one-to-one matching of rows to columns of a square count table with the largest total (exact, by dynamic programming over subsets). */
export function bestMatching(table: number[][]): { total: number; match: number[] } {
  const n = table.length;
  if (n > 16) throw new Error(`bestMatching: ${n} rows is too many for the exact search (16 at most)`);
  const best = new Float64Array(1 << n).fill(Number.NEGATIVE_INFINITY);
  const choice = new Int32Array(1 << n).fill(-1);
  best[0] = 0;
  for (let used = 0; used < 1 << n; used++) {
    if (best[used] === Number.NEGATIVE_INFINITY) continue;
    let row = 0;
    for (let u = used; u; u &= u - 1) row++; // rows matched so far: the count of used columns
    if (row >= n) continue;
    for (let col = 0; col < n; col++) {
      if (used & (1 << col)) continue;
      const next = used | (1 << col);
      const v = best[used] + (table[row][col] ?? 0);
      if (v > best[next]) {
        best[next] = v;
        choice[next] = col;
      }
    }
  }
  const match: number[] = new Array(n);
  let used = (1 << n) - 1;
  for (let row = n - 1; row >= 0; row--) {
    match[row] = choice[used];
    used &= ~(1 << match[row]);
  }
  return { total: best[(1 << n) - 1], match };
}

export interface CodeAgreement {
  /** Share of samples whose classifier label is the class matched to their code value. */
  agreement: number;
  /** The class matched to each code value. */
  classOf: number[];
  /** Samples per code value (rows) by classifier label (columns). */
  confusion: number[][];
}

/** Draws `perValue` samples for each categorical code value and matches values to `dataset`'s classes. */
export function categoricalAgreement(loaded: LoadedGenerator, dataset: string, perValue = 1000): CodeAgreement {
  const K = loaded.shape.codes?.categorical ?? 0;
  if (!K) throw new Error("categoricalAgreement: this generator has no categorical code");
  const { model } = withSeed(0, () => loadClassifier(dataset));
  const confusion = Array.from({ length: K }, () => new Array<number>(Math.max(K, 10)).fill(0));
  for (let k = 0; k < K; k++) {
    const predicted = tidy(() => {
      const { samples } = loaded.sample(perValue, { codes: { categorical: k } });
      const { features, logits } = model.embed(samples.to({ device: "cpu" }));
      features.dispose();
      return logits.argmax(1).toArray();
    });
    for (const c of predicted) confusion[k][c]++;
  }
  const square = confusion.map((row) => row.slice(0, Math.max(K, 10)));
  while (square.length < square[0].length) square.push(new Array<number>(square[0].length).fill(0));
  const { total, match } = bestMatching(square);
  return { agreement: total / (K * perValue), classOf: match.slice(0, K), confusion };
}
