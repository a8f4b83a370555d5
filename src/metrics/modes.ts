// Mode collapse, measured: the classes a generator's samples fall in (by gantry's classifier),
// and for the 2-D toy mixtures the protocol of Unrolled GAN, VEEGAN and PacGAN.
import { type Tensor, cdist, tensor, tidy } from "../engine/index.js";
import type { ToyDistribution } from "../data/toy.js";

export interface ModeStats {
  /** Samples predicted in each class. */
  histogram: number[];
  /** Classes holding at least 10% of their share in the data (the count of modes covered). */
  covered: number;
  numClasses: number;
  /** KL(generated class distribution || data class distribution), in nats. */
  klToData: number;
  /** The class with the largest share, and that share over its share in the data. */
  dominant: { label: number; ratio: number };
  /** True when a class is missing or one class holds over 3x its share in the data. */
  collapsed: boolean;
}

/** Mode statistics from predicted classes, against the data's class shares (uniform by default). */
export function modeStats(predicted: ArrayLike<number>, numClasses: number, dataShare?: number[]): ModeStats {
  const share = dataShare ?? Array(numClasses).fill(1 / numClasses);
  const histogram = Array(numClasses).fill(0);
  for (let i = 0; i < predicted.length; i++) histogram[predicted[i]]++;
  const n = predicted.length;
  const p = histogram.map((h) => h / n);
  const covered = p.filter((pc, c) => pc >= 0.1 * share[c]).length;
  const eps = 1e-10;
  const klToData = p.reduce((kl, pc, c) => kl + (pc > 0 ? pc * Math.log(pc / Math.max(share[c], eps)) : 0), 0);
  const ratios = p.map((pc, c) => pc / share[c]);
  const label = ratios.indexOf(Math.max(...ratios));
  return { histogram, covered, numClasses, klToData, dominant: { label, ratio: ratios[label] }, collapsed: covered < numClasses || ratios[label] > 3 };
}

export interface ToyModeStats {
  /** Modes holding at least 20% of their expected count of high-quality samples (PacGAN's rule). */
  modesCaptured: number;
  numModes: number;
  /** Samples within 3 standard deviations of their nearest mode. */
  highQualityFraction: number;
  collapsed: boolean;
}

export function toyModeStats(points: Tensor, dist: ToyDistribution): ToyModeStats {
  return tidy(() => {
    const k = dist.modes.length;
    const d = cdist(points.to({ device: "cpu", dtype: "float32" }), tensor(dist.modes));
    const { values, indices } = d.min(1);
    const nearest = indices.toArray();
    const close = values.le(3 * dist.std).toArray();
    const perMode = Array(k).fill(0);
    let hq = 0;
    close.forEach((c, i) => {
      if (c) {
        hq++;
        perMode[nearest[i]]++;
      }
    });
    const n = points.shape[0];
    const modesCaptured = perMode.filter((m) => m >= 0.2 * (n / k)).length;
    return { modesCaptured, numModes: k, highQualityFraction: hq / n, collapsed: modesCaptured < k };
  });
}
