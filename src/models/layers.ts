// Pieces the model families share: label conditioning and optional spectral norm.
import { type Tensor, cat, oneHot } from "../engine/index.js";
import { type Linear, type Module, spectralNorm } from "../nn/index.js";

/** (B) int64 labels -> (B, K) float one-hot. */
export function labelVector(labels: Tensor, numClasses: number): Tensor {
  return oneHot(labels, numClasses).to({ dtype: "float32" });
}

/** z (B, Z) with labels -> (B, Z + K); unchanged when the model is unconditional. */
export function withLabels(z: Tensor, labels: Tensor | undefined, numClasses: number): Tensor {
  return numClasses && labels ? cat([z, labelVector(labels, numClasses)], 1) : z;
}

/**
 * The projection discriminator's label term (Miyato & Koyama 2018): <embed(y), features> per
 * sample, (B, 1), for `embed` a bias-free Linear from the one-hot label to the features' width.
 */
export function projectLabel(embed: Linear, labels: Tensor, numClasses: number, features: Tensor): Tensor {
  return embed.forward(labelVector(labels, numClasses)).mul(features).sum([1], true);
}

/** Wraps a layer in spectral norm when asked to. */
export function sn<M extends Module>(m: M, on: boolean): M {
  return on ? spectralNorm(m) : m;
}
