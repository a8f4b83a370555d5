// Spectral normalization (Miyato et al. 2018): weight / sigma(weight), with sigma estimated by
// power iteration on a persistent u vector. State-dict names match torch.nn.utils.spectral_norm:
// weight_orig, weight_u, weight_v.
import { type Tensor, noGrad, empty } from "../engine/index.js";
import type { Module } from "./module.js";
import { ConvTranspose2d } from "./layers.js";
import { normal } from "./init.js";

function normalize(x: Tensor, eps: number): Tensor {
  return x.div(x.norm().clamp(eps));
}

export interface SpectralNormOptions {
  /** Which parameter to normalize; default "weight". */
  name?: string;
  /** Power iterations per training forward; default 1. */
  powerIterations?: number;
  eps?: number;
}

/** Wraps module's weight in spectral normalization, in place, and returns the module. */
export function spectralNorm<M extends Module>(module: M, options: SpectralNormOptions = {}): M {
  const { name = "weight", powerIterations = 1, eps = 1e-12 } = options;
  const weight = module.tensor(name);
  // The output dim is 0, except for transposed convolutions whose weight is (in, out, kh, kw).
  const dim = module instanceof ConvTranspose2d ? 1 : 0;
  const matrix = (w: Tensor): Tensor => {
    const moved = dim === 0 ? w : w.transpose(0, dim);
    return moved.reshape(moved.shape[0], -1);
  };
  const [h, w] = (() => {
    const m = matrix(weight);
    return [m.shape[0], m.shape[1]];
  })();
  const u = noGrad(() => {
    const raw = normal(empty([h]), 0, 1);
    return normalize(raw, eps);
  });
  const v = noGrad(() => normalize(normal(empty([w]), 0, 1), eps));
  const orig = weight.detach();

  const compute = (): Tensor => {
    const wOrig = module.tensor(`${name}_orig`);
    const wMat = matrix(wOrig);
    const uBuf = module.tensor(`${name}_u`);
    const vBuf = module.tensor(`${name}_v`);
    if (module.training) {
      noGrad(() => {
        for (let i = 0; i < powerIterations; i++) {
          vBuf.copy_(normalize(wMat.t().matmul(uBuf), eps));
          uBuf.copy_(normalize(wMat.matmul(vBuf), eps));
        }
      });
    }
    const sigma = uBuf.mul(wMat.matmul(vBuf)).sum();
    return wOrig.div(sigma);
  };
  module.reparametrize(name, compute, { params: { [`${name}_orig`]: orig }, buffers: { [`${name}_u`]: u, [`${name}_v`]: v } });
  weight.dispose();
  return module;
}
