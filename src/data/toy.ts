// The 2-D mixtures that papers use to study mode collapse (Unrolled GAN, VEEGAN, PacGAN):
// a ring of 8 Gaussians and a 5x5 grid of 25.
import { type Tensor, drawBatch, randint, randn, tensor, tidy } from "../engine/index.js";

export interface ToyDistribution {
  name: string;
  /** (K, 2) mode centres */
  modes: number[][];
  /** The standard deviation of every mode. */
  std: number;
}

export const toyDistributions: Record<string, ToyDistribution> = {
  ring8: {
    name: "ring8",
    modes: Array.from({ length: 8 }, (_, k) => [2 * Math.cos((2 * Math.PI * k) / 8), 2 * Math.sin((2 * Math.PI * k) / 8)]),
    std: 0.02,
  },
  grid25: {
    name: "grid25",
    modes: [-4, -2, 0, 2, 4].flatMap((x) => [-4, -2, 0, 2, 4].map((y) => [x, y])),
    std: 0.05,
  },
};

/** n points (n, 2): a uniformly chosen mode plus Gaussian noise, from libtorch's generator. */
export function sampleToy(dist: ToyDistribution, n: number): Tensor {
  return tidy(() => {
    const centres = tensor(dist.modes);
    const which = drawBatch([n], (s) => randint(0, dist.modes.length, s));
    return centres.indexSelect(0, which).add(drawBatch([n, 2], (s) => randn(s)).mul(dist.std));
  });
}
