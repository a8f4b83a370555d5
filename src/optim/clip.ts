// Gradient-norm clipping, weight clipping (WGAN) and an exponential moving average of weights.
import { type Tensor, noGrad, tidy, stack } from "../engine/index.js";
import type { Module } from "../nn/module.js";

/** Scales gradients so their joint L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  return noGrad(() =>
    tidy(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (!grads.length) return 0;
      const total = stack(grads.map((g) => g.norm()))
        .norm()
        .item();
      const scale = maxNorm / (total + 1e-6);
      if (scale < 1) for (const g of grads) g.mul_(scale);
      return total;
    }),
  );
}

/** Clamps every parameter to [-c, c], as the original WGAN's critic. */
export function clipWeights(params: Tensor[], c: number): void {
  noGrad(() => {
    for (const p of params) p.clamp_(-c, c);
  });
}

/**
 * An exponential moving average of a model's parameters (an EMA generator): after each step,
 * shadow = decay * shadow + (1 - decay) * param. Buffers are copied as they are.
 */
export class EMA {
  constructor(
    readonly shadow: Module,
    readonly decay = 0.999,
  ) {}

  /** Starts the average from the model's current weights. */
  static of<M extends Module>(model: M, copy: M, decay = 0.999): EMA {
    copy.loadStateDict(model.stateDict());
    copy.eval();
    for (const p of copy.parameters()) p.requiresGrad = false;
    return new EMA(copy, decay);
  }

  /**
   * The decay used at update number `step` (0-based): min(decay, (1 + step) / (10 + step)), the
   * warm-up of TensorFlow's ExponentialMovingAverage, so that early on the average follows the
   * model instead of holding on to its random initial weights (a 0.999 average needs thousands of
   * steps to forget them: a short run's EMA grids would be grey).
   */
  decayAt(step: number): number {
    return Number.isFinite(step) ? Math.min(this.decay, (1 + step) / (10 + step)) : this.decay;
  }

  /** Moves the average toward `model`; `step` (the number of updates before this one) sets the warm-up. */
  update(model: Module, step = Number.POSITIVE_INFINITY): void {
    const own = this.shadow.stateDict();
    const decay = this.decayAt(step);
    noGrad(() => {
      for (const [name, p] of model.namedParameters()) own[name].lerp_(p, 1 - decay);
      for (const [name, b] of model.namedBuffers()) own[name].copy_(b);
    });
  }
}
