// The layers GANs are built from. Shapes, defaults and default initialization follow torch.nn,
// so a state dict moves between the two.
import {
  type Tensor,
  linear,
  conv1d,
  convTranspose1d,
  conv2d,
  convTranspose2d,
  batchNorm,
  layerNorm,
  instanceNorm,
  embedding,
  dropout,
  upsample,
  cat,
  empty,
  ones,
  zeros,
  tensor,
  noGrad,
  tidy,
} from "../engine/index.js";
import { Module } from "./module.js";
import { kaimingUniform, fans, uniform, normal } from "./init.js";
import { GanError } from "../errors.js";

type Pair = number | [number, number];
/** A Python literal: 3, (3, 4), True, 1e-05. */
const py = (v: Pair | boolean | number[]): string =>
  typeof v === "boolean" ? (v ? "True" : "False") : Array.isArray(v) ? `(${v.join(", ")}${v.length === 1 ? "," : ""})` : String(v);
const pairProduct = (k: Pair) => (typeof k === "number" ? k * k : k[0] * k[1]);
const pair = (k: Pair): [number, number] => (typeof k === "number" ? [k, k] : k);

/** PyTorch's default: kaiming_uniform(a=sqrt(5)) weights, uniform(±1/sqrt(fanIn)) bias. */
function resetLinearLike(m: Module, fanIn: number): void {
  kaimingUniform(m.tensor("weight"), Math.sqrt(5));
  if (m.hasParam("bias")) {
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform(m.tensor("bias"), -bound, bound);
  }
}

/** y = x W^T + b; x (B, in) -> (B, out). */
export class Linear extends Module {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { bias?: boolean } = {},
  ) {
    super();
    this.param("weight", empty([outFeatures, inFeatures]));
    if (options.bias ?? true) this.param("bias", empty([outFeatures]));
    resetLinearLike(this, inFeatures);
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.tensor("weight"), this.hasParam("bias") ? this.tensor("bias") : null);
  }
  override torch(): string {
    return `nn.Linear(${this.inFeatures}, ${this.outFeatures}, bias=${py(this.hasParam("bias"))})`;
  }
}

export interface ConvOptions {
  stride?: Pair;
  padding?: Pair;
  bias?: boolean;
}

/** (B, in, L) -> (B, out, L'): the sequence models' convolution. */
export class Conv1d extends Module {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly options: { stride?: number; padding?: number; bias?: boolean } = {},
  ) {
    super();
    this.param("weight", empty([outChannels, inChannels, kernelSize]));
    if (options.bias ?? true) this.param("bias", empty([outChannels]));
    resetLinearLike(this, inChannels * kernelSize);
  }
  forward(x: Tensor): Tensor {
    const bias = this.hasParam("bias") ? this.tensor("bias") : null;
    return conv1d(x, this.tensor("weight"), bias, { stride: this.options.stride, padding: this.options.padding });
  }
  override torch(): string {
    const { stride = 1, padding = 0 } = this.options;
    return `nn.Conv1d(${this.inChannels}, ${this.outChannels}, ${this.kernelSize}, stride=${stride}, padding=${padding}, bias=${py(this.hasParam("bias"))})`;
  }
}

/** (B, in, L) -> (B, out, L'): the transpose of Conv1d (WaveGAN's upsampling). */
export class ConvTranspose1d extends Module {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly options: { stride?: number; padding?: number; outputPadding?: number; bias?: boolean } = {},
  ) {
    super();
    this.param("weight", empty([inChannels, outChannels, kernelSize]));
    if (options.bias ?? true) this.param("bias", empty([outChannels]));
    resetLinearLike(this, fans(this.tensor("weight"))[0]);
  }
  forward(x: Tensor): Tensor {
    const bias = this.hasParam("bias") ? this.tensor("bias") : null;
    return convTranspose1d(x, this.tensor("weight"), bias, this.options);
  }
  override torch(): string {
    const { stride = 1, padding = 0, outputPadding = 0 } = this.options;
    return `nn.ConvTranspose1d(${this.inChannels}, ${this.outChannels}, ${this.kernelSize}, stride=${stride}, padding=${padding}, output_padding=${outputPadding}, bias=${py(this.hasParam("bias"))})`;
  }
}

/** (B, in, H, W) -> (B, out, H', W'). */
export class Conv2d extends Module {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: Pair,
    readonly options: ConvOptions = {},
  ) {
    super();
    const [kh, kw] = pair(kernelSize);
    this.param("weight", empty([outChannels, inChannels, kh, kw]));
    if (options.bias ?? true) this.param("bias", empty([outChannels]));
    resetLinearLike(this, inChannels * pairProduct(kernelSize));
  }
  forward(x: Tensor): Tensor {
    const bias = this.hasParam("bias") ? this.tensor("bias") : null;
    return conv2d(x, this.tensor("weight"), bias, { stride: this.options.stride, padding: this.options.padding });
  }
  override torch(): string {
    const { stride = 1, padding = 0 } = this.options;
    return `nn.Conv2d(${this.inChannels}, ${this.outChannels}, ${py(this.kernelSize)}, stride=${py(stride)}, padding=${py(padding)}, bias=${py(this.hasParam("bias"))})`;
  }
}

/** (B, in, H, W) -> (B, out, H', W'); H' = (H - 1) * stride - 2 * padding + kernel + outputPadding. */
export class ConvTranspose2d extends Module {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: Pair,
    readonly options: ConvOptions & { outputPadding?: Pair } = {},
  ) {
    super();
    const [kh, kw] = pair(kernelSize);
    this.param("weight", empty([inChannels, outChannels, kh, kw]));
    if (options.bias ?? true) this.param("bias", empty([outChannels]));
    resetLinearLike(this, fans(this.tensor("weight"))[0]);
  }
  forward(x: Tensor): Tensor {
    const bias = this.hasParam("bias") ? this.tensor("bias") : null;
    const { stride, padding, outputPadding } = this.options;
    return convTranspose2d(x, this.tensor("weight"), bias, { stride, padding, outputPadding });
  }
  override torch(): string {
    const { stride = 1, padding = 0, outputPadding = 0 } = this.options;
    return `nn.ConvTranspose2d(${this.inChannels}, ${this.outChannels}, ${py(this.kernelSize)}, stride=${py(stride)}, padding=${py(padding)}, output_padding=${py(outputPadding)}, bias=${py(this.hasParam("bias"))})`;
  }
}

/**
 * Training-mode batch norm with statistics over several processes (data-parallel --sync-bn): set
 * for the whole process by the trainer of one rank, null otherwise.
 */
export type BatchNormSync = (
  x: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  options: { momentum: number; eps: number },
) => Tensor;
let batchNormSync: BatchNormSync | null = null;
export function setBatchNormSync(sync: BatchNormSync | null): void {
  batchNormSync = sync;
}

/** Batch norm over (B, C) or (B, C, H, W), with running statistics for eval mode. */
class BatchNorm extends Module {
  constructor(
    readonly numFeatures: number,
    readonly options: { eps?: number; momentum?: number; affine?: boolean } = {},
  ) {
    super();
    if (options.affine ?? true) {
      this.param("weight", ones([numFeatures]));
      this.param("bias", zeros([numFeatures]));
    }
    this.buffer("running_mean", zeros([numFeatures]));
    this.buffer("running_var", ones([numFeatures]));
    this.buffer("num_batches_tracked", tensor([0], { dtype: "int64", shape: [] }));
  }
  protected check(x: Tensor, dims: number[]): void {
    if (!dims.includes(x.ndim)) {
      throw new GanError(`${this.constructor.name} expects input of ${dims.join(" or ")} dims, got [${x.shape.join(", ")}]`);
    }
  }
  /** While preciseBatchNorm() runs: the batches averaged so far (each forward then adds one with weight 1/n). */
  averaged: number | null = null;
  forward(x: Tensor): Tensor {
    const affine = this.hasParam("weight");
    if (this.training) noGrad(() => this.tensor("num_batches_tracked").add_(1));
    const momentum = this.averaged === null ? (this.options.momentum ?? 0.1) : 1 / ++this.averaged;
    const eps = this.options.eps ?? 1e-5;
    const [weight, bias] = affine ? [this.tensor("weight"), this.tensor("bias")] : [null, null];
    if (this.training && batchNormSync && this.averaged === null)
      return batchNormSync(x, this.tensor("running_mean"), this.tensor("running_var"), weight, bias, { momentum, eps });
    return batchNorm(x, this.tensor("running_mean"), this.tensor("running_var"), weight, bias, { training: this.training, momentum, eps });
  }
}
const batchNorms = (model: Module): BatchNorm[] => model.modules().filter((m): m is BatchNorm => m instanceof BatchNorm);

/** The running means and variances of a model's BatchNorms (what preciseBatchNorm rewrites); empty without any. */
export function batchNormStatistics(model: Module): Tensor[] {
  return batchNorms(model).flatMap((bn) => [bn.tensor("running_mean"), bn.tensor("running_var")]);
}

/**
 * Precise BatchNorm statistics ("PreciseBN", Wu & Johnson 2021): each BatchNorm's running mean
 * and variance become the plain average over `batches` calls of `forward`, taken with the model's
 * current weights, instead of the momentum average left by training, which lags the weights and
 * carries the noise of its last few batches. Only the BatchNorms are put in training mode; the rest
 * of the model stays as it was. Returns false, having run nothing, when the model has no BatchNorm.
 */
export function preciseBatchNorm(model: Module, batches: number, forward: () => void): boolean {
  const norms = batchNorms(model);
  if (!norms.length) return false;
  const modes = norms.map((bn) => bn.training);
  noGrad(() => {
    const tracked = norms.map((bn) => bn.tensor("num_batches_tracked").clone());
    try {
      for (const bn of norms) {
        bn.tensor("running_mean").zero_();
        bn.tensor("running_var").fill_(1);
        bn.averaged = 0;
        bn.training = true;
      }
      for (let i = 0; i < batches; i++) tidy(forward);
    } finally {
      norms.forEach((bn, i) => {
        bn.averaged = null;
        bn.training = modes[i];
        bn.tensor("num_batches_tracked").copy_(tracked[i]);
        tracked[i].dispose();
      });
    }
  });
  return true;
}

export class BatchNorm1d extends BatchNorm {
  override torch(): string {
    return `nn.BatchNorm1d(${this.numFeatures}, eps=${this.options.eps ?? 1e-5}, momentum=${this.options.momentum ?? 0.1}, affine=${py(this.hasParam("weight"))})`;
  }
  override forward(x: Tensor): Tensor {
    this.check(x, [2, 3]);
    return super.forward(x);
  }
}
export class BatchNorm2d extends BatchNorm {
  override torch(): string {
    return `nn.BatchNorm2d(${this.numFeatures}, eps=${this.options.eps ?? 1e-5}, momentum=${this.options.momentum ?? 0.1}, affine=${py(this.hasParam("weight"))})`;
  }
  override forward(x: Tensor): Tensor {
    this.check(x, [4]);
    return super.forward(x);
  }
}

/** Normalizes over the trailing normalizedShape dims. */
export class LayerNorm extends Module {
  constructor(
    readonly normalizedShape: number[],
    readonly eps = 1e-5,
  ) {
    super();
    this.param("weight", ones(normalizedShape));
    this.param("bias", zeros(normalizedShape));
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.tensor("weight"), this.tensor("bias"), this.eps);
  }
}

/** Per-sample, per-channel normalization of (B, C, H, W); no affine parameters by default, as PyTorch. */
export class InstanceNorm2d extends Module {
  constructor(
    readonly numFeatures: number,
    readonly options: { eps?: number; affine?: boolean } = {},
  ) {
    super();
    if (options.affine) {
      this.param("weight", ones([numFeatures]));
      this.param("bias", zeros([numFeatures]));
    }
  }
  forward(x: Tensor): Tensor {
    const affine = this.hasParam("weight");
    return instanceNorm(x, affine ? this.tensor("weight") : null, affine ? this.tensor("bias") : null, this.options.eps ?? 1e-5);
  }
}

/** int64 indices (...) -> (..., dim) rows of a table initialized N(0, 1). */
export class Embedding extends Module {
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
  ) {
    super();
    normal(this.param("weight", empty([numEmbeddings, embeddingDim])), 0, 1);
  }
  forward(indices: Tensor): Tensor {
    return embedding(this.tensor("weight"), indices);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}

export class ReLU extends Module {
  override torch(): string {
    return "nn.ReLU()";
  }
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
  override torch(): string {
    return `nn.LeakyReLU(${this.negativeSlope})`;
  }
}
/**
 * Maxout (Goodfellow et al. 2013): the features (B, C * pieces) as C units, each the maximum of
 * its `pieces` consecutive inputs, giving (B, C). After Linear(n, C * pieces) it is a maxout layer.
 */
export class Maxout extends Module {
  constructor(readonly pieces: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    const [b, features] = x.shape;
    if (x.ndim !== 2 || features % this.pieces !== 0)
      throw new GanError(`Maxout(${this.pieces}) expects (B, C * ${this.pieces}) input, got [${x.shape.join(", ")}]`);
    return x.reshape(b, features / this.pieces, this.pieces).max(2).values;
  }
}
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.elu(this.alpha);
  }
  override torch(): string {
    return `nn.ELU(${this.alpha})`;
  }
}
export class Tanh extends Module {
  override torch(): string {
    return "nn.Tanh()";
  }
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}
export class Sigmoid extends Module {
  override torch(): string {
    return "nn.Sigmoid()";
  }
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}
/** (B, ...) -> (B, prod(...)). */
export class Flatten extends Module {
  override torch(): string {
    return "nn.Flatten()";
  }
  forward(x: Tensor): Tensor {
    return x.flatten(1);
  }
}
/** (B, prod(shape)) -> (B, ...shape). */
export class Unflatten extends Module {
  constructor(readonly shape: number[]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.reshape(x.shape[0], ...this.shape);
  }
  override torch(): string {
    return `nn.Unflatten(1, ${py(this.shape)})`;
  }
}
export class Upsample extends Module {
  constructor(
    readonly scaleFactor: number,
    readonly mode: "nearest" | "bilinear" = "nearest",
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return upsample(x, { scaleFactor: this.scaleFactor, mode: this.mode });
  }
  override torch(): string {
    return `nn.Upsample(scale_factor=${this.scaleFactor}, mode="${this.mode}")`;
  }
}

/**
 * Minibatch standard deviation (Karras et al. 2018, ProGAN): appends one feature, the mean over
 * features of the standard deviation across a group of samples, so that D can see a batch's lack
 * of variety. (B, F) -> (B, F + 1); (B, C, H, W) -> (B, C + 1, H, W). A group is G consecutive
 * samples (G the largest divisor of B up to groupSize), so that when real and fake images go
 * through D as one batch (the fast loop) no group mixes the two, and data-parallel ranks, each
 * holding whole groups, compute what one process does, as long as each half of a rank's batch is
 * a multiple of G.
 */
export class MinibatchStd extends Module {
  constructor(readonly groupSize = 4) {
    super();
  }
  forward(x: Tensor): Tensor {
    const [b, ...rest] = x.shape;
    let g = Math.min(this.groupSize, b);
    while (b % g !== 0) g--;
    const m = b / g;
    const std = x
      .reshape(m, g, ...rest)
      .var(1, { correction: 0 })
      .add(1e-8)
      .sqrt(); // (M, ...): over each group's samples
    const perSample = std.reshape(m, -1).mean(1, true).expand(m, g).reshape(b); // (B): sample i gets group floor(i / G)'s value
    const feature = perSample.reshape([b, 1, ...rest.slice(1).map(() => 1)]).expand([b, 1, ...rest.slice(1)]);
    return cat([x, feature], 1);
  }
}

/** Applies its modules in order; their state-dict names are "0.weight", "1.bias", ... as PyTorch's. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    for (const [i, m] of layers.entries()) this.child(String(i), m);
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = m.forward(y);
    return y;
  }
  override torch(): string {
    return `nn.Sequential(\n${this.layers.map((m) => `    ${m.torch().replace(/\n/g, "\n    ")},`).join("\n")}\n)`;
  }
}
