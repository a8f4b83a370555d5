// Sequence families for text: the character model of Gulrajani et al. (2017, "Improved Training of
// Wasserstein GANs", section 5): G maps z through a linear layer to (dim, L) and residual 1-D
// convolutions to a softmax over the vocabulary at each position, fed straight to a critic of the
// same residual convolutions. Samples and data are one-hot-like (V, L) in [-1, 1] (2p - 1).
// The Gumbel-softmax variant (Jang et al. 2017; Kusner & Hernández-Lobato 2016) samples each
// character with Gumbel noise and a temperature annealed over the run, so D sees near one-hot text.
import { z } from "zod";
import { type Tensor, cat, drawBatch, rand, softmax } from "../engine/index.js";
import { Module, Linear, Conv1d } from "../nn/index.js";
import { parseWith } from "../util/schema.js";
import { ConfigError } from "../errors.js";
import { Generator, type ModelShape } from "./generators.js";
import { Discriminator } from "./discriminators.js";
import { labelVector, withLabels } from "./layers.js";

/** x + 0.3 conv(relu(conv(relu(x)))): the residual block of the WGAN-GP language model. */
class ResBlock1d extends Module {
  readonly conv1: Conv1d;
  readonly conv2: Conv1d;
  constructor(dim: number) {
    super();
    this.conv1 = this.child("conv1", new Conv1d(dim, dim, 5, { padding: 2 }));
    this.conv2 = this.child("conv2", new Conv1d(dim, dim, 5, { padding: 2 }));
  }
  forward(x: Tensor): Tensor {
    return x.add(this.conv2.forward(this.conv1.forward(x.relu()).relu()).mul(0.3));
  }
}

function sequenceShape(shape: ModelShape, path: string): [number, number] {
  if (shape.dataShape.length !== 2)
    throw new ConfigError([
      { path, message: `seq-resnet is for text, sequences (V, L) (datasets names, words, text-file); got data of shape (${shape.dataShape.join(", ")})` },
    ]);
  return shape.dataShape as [number, number];
}

const dim = z.int().positive().max(4096).default(128).describe("channels of the residual blocks (the paper: 512)");
const blocks = z.int().min(1).max(32).default(5).describe("residual blocks");

export const seqGeneratorOptions = z.strictObject({
  dim,
  blocks,
  output: z
    .enum(["softmax", "gumbel"])
    .default("softmax")
    .describe("softmax: a distribution per position (WGAN-GP's language model); gumbel: a Gumbel-softmax sample per position"),
  temperature: z
    .tuple([z.number().positive().max(100), z.number().positive().max(100)])
    .default([1, 0.1])
    .describe("gumbel: the softmax temperature at the start and at the end of training, annealed geometrically"),
});
export type SeqGeneratorOptions = z.input<typeof seqGeneratorOptions>;

export class SeqResnetGenerator extends Generator {
  readonly input: Linear;
  readonly blocks: Module[];
  readonly out: Conv1d;
  readonly #o: z.output<typeof seqGeneratorOptions>;
  readonly #L: number;
  /** The Gumbel-softmax temperature now: set by schedule() as training goes; the end value otherwise. */
  temperature: number;
  constructor(shape: ModelShape, options: SeqGeneratorOptions = {}) {
    super(shape);
    const o = parseWith(seqGeneratorOptions, options, "model.generator.options");
    const [V, L] = sequenceShape(shape, "model.generator.name");
    this.#o = o;
    this.#L = L;
    this.temperature = o.temperature[1];
    this.input = this.child("input", new Linear(shape.latentDim + shape.numClasses, o.dim * L));
    this.blocks = Array.from({ length: o.blocks }, (_, i) => this.child(`block${i}`, new ResBlock1d(o.dim)));
    this.out = this.child("out", new Conv1d(o.dim, V, 1));
  }
  /** Anneals the Gumbel temperature: start * (end / start)^progress, progress in [0, 1]. */
  override schedule(progress: number): void {
    const [start, end] = this.#o.temperature;
    this.temperature = start * (end / start) ** Math.min(1, Math.max(0, progress));
  }
  forward(z: Tensor, labels?: Tensor): Tensor {
    let h = this.input.forward(withLabels(z, labels, this.shape.numClasses)).view(z.shape[0], this.#o.dim, this.#L);
    for (const b of this.blocks) h = b.forward(h);
    const logits = this.out.forward(h); // (B, V, L)
    if (this.#o.output === "softmax") return softmax(logits, 1).mul(2).sub(1);
    // Gumbel(0, 1) noise: -log(-log U); argmax of logits + noise is an exact sample of softmax(logits).
    const gumbel = drawBatch(logits.shape, (s) => rand(s, { device: logits.device }))
      .clamp(1e-10, 1)
      .log()
      .neg()
      .log()
      .neg();
    return softmax(logits.add(gumbel).div(this.temperature), 1).mul(2).sub(1);
  }
}

export const seqDiscriminatorOptions = z.strictObject({ dim, blocks });
export type SeqDiscriminatorOptions = z.input<typeof seqDiscriminatorOptions>;

export class SeqResnetDiscriminator extends Discriminator {
  readonly input: Conv1d;
  readonly blocks: Module[];
  readonly head: Linear;
  constructor(shape: ModelShape, options: SeqDiscriminatorOptions = {}) {
    const o = parseWith(seqDiscriminatorOptions, options, "model.discriminator.options");
    super(shape, false);
    const [V, L] = sequenceShape(shape, "model.discriminator.name");
    this.input = this.child("input", new Conv1d(V + (this.takesLabels ? shape.numClasses : 0), o.dim, 1));
    this.blocks = Array.from({ length: o.blocks }, (_, i) => this.child(`block${i}`, new ResBlock1d(o.dim)));
    this.head = this.child("head", new Linear(o.dim * L, 1));
  }
  forward(x: Tensor, labels?: Tensor): Tensor {
    let input = x;
    if (this.takesLabels && labels) {
      const [b, , L] = x.shape;
      input = cat([x, labelVector(labels, this.shape.numClasses).view(b, this.shape.numClasses, 1).expand(b, this.shape.numClasses, L)], 1);
    }
    let h = this.input.forward(input);
    for (const b of this.blocks) h = b.forward(h);
    return this.head.forward(h.flatten(1)); // (B, 1)
  }
}
