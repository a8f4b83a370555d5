// Discriminator families: data (B, ...dataShape) and, for conditional models, labels (B) to
// outputs (B, 1 + auxClasses + codeOutputs + features). Column 0 is the real/fake logit (D(x) =
// sigmoid of it), or for an energy model (the autoencoder of BEGAN and EBGAN) its reconstruction
// error; an auxiliary classifier (AC-GAN) adds one logit per class after it; InfoGAN's Q head its
// code predictions; an embedding the loss may use (EBGAN's pulling-away term) comes last.
import { z } from "zod";
import { type Tensor, cat } from "../engine/index.js";
import { parseWith } from "../util/schema.js";
import {
  Module,
  Linear,
  LeakyReLU,
  Maxout,
  ELU,
  Sequential,
  Conv2d,
  BatchNorm2d,
  LayerNorm,
  Flatten,
  Unflatten,
  Upsample,
  init,
  MinibatchStd,
} from "../nn/index.js";
import { ConfigError } from "../errors.js";
import { labelVector, projectLabel, sn } from "./layers.js";
import type { ModelShape } from "./generators.js";

export abstract class Discriminator extends Module {
  /** Classes the auxiliary classifier predicts; 0 without one. */
  readonly auxClasses: number;
  constructor(
    readonly shape: ModelShape,
    auxClassifier: boolean,
  ) {
    super();
    this.auxClasses = auxClassifier ? shape.numClasses : 0;
  }
  /** Whether its head can also predict InfoGAN's codes (the Q network sharing D's body). */
  get predictsCodes(): boolean {
    return false;
  }
  /** Columns after the class logits that predict InfoGAN's codes: categorical logits, then continuous means. */
  get codeOutputs(): number {
    return this.predictsCodes && this.shape.codes ? this.shape.codes.categorical + this.shape.codes.continuous : 0;
  }
  /** Columns of embedding after the class logits (EBGAN's pulling-away term uses them); 0 for none. */
  get features(): number {
    return 0;
  }
  /** Whether column 0 is an energy (a reconstruction error, low for real data) rather than a logit. */
  get energy(): boolean {
    return false;
  }
  /** Whether it is conditioned on the label as input (CGAN), rather than predicting it (AC-GAN). */
  get takesLabels(): boolean {
    return this.shape.numClasses > 0 && this.auxClasses === 0;
  }
  abstract override forward(x: Tensor, labels?: Tensor): Tensor;
}

const spectralNorm = z.boolean().default(false).describe("spectral normalization of every layer (Miyato et al. 2018)");
const auxClassifier = z.boolean().default(false).describe("also predict the class (AC-GAN); needs model.conditional");
const minibatchStd = z
  .int()
  .min(0)
  .max(64)
  .default(0)
  .describe("minibatch standard deviation before the last layer (ProGAN), over groups of this many samples; 0 for none");

export const mlpDiscriminatorOptions = z.strictObject({
  hidden: z.array(z.int().positive().max(65536)).min(1).max(16).default([512, 256]).describe("hidden layer widths; the tutorial's 512, 256"),
  maxout: z
    .int()
    .min(0)
    .max(16)
    .default(0)
    .describe("maxout units of this many pieces in place of LeakyReLU (Goodfellow et al. 2013; the toy D of VEEGAN and PacGAN uses 5); 0 for LeakyReLU"),
  spectralNorm,
  auxClassifier,
  minibatchStd,
});
export type MlpDiscriminatorOptions = z.input<typeof mlpDiscriminatorOptions>;

/** The tutorial's discriminator: an MLP 784-512-256-1 with LeakyReLU(0.2); sigmoid is in the loss. */
export class MlpDiscriminator extends Discriminator {
  readonly net: Sequential;
  constructor(shape: ModelShape, options: MlpDiscriminatorOptions = {}) {
    const o = parseWith(mlpDiscriminatorOptions, options, "model.discriminator.options");
    super(shape, o.auxClassifier);
    const { hidden, maxout, spectralNorm, minibatchStd } = o;
    const layers: Module[] = [new Flatten()];
    let width = shape.dataShape.reduce((a, b) => a * b, 1) + (this.takesLabels ? shape.numClasses : 0);
    for (const h of hidden) {
      if (maxout) layers.push(sn(new Linear(width, h * maxout), spectralNorm), new Maxout(maxout));
      else layers.push(sn(new Linear(width, h), spectralNorm), new LeakyReLU(0.2));
      width = h;
    }
    if (minibatchStd) {
      layers.push(new MinibatchStd(minibatchStd));
      width += 1;
    }
    layers.push(sn(new Linear(width, 1 + this.auxClasses + this.codeOutputs), spectralNorm));
    this.net = this.child("net", new Sequential(...layers));
  }
  override get predictsCodes(): boolean {
    return true;
  }
  forward(x: Tensor, labels?: Tensor): Tensor {
    const flat = x.flatten(1);
    const input = this.takesLabels && labels ? cat([flat, labelVector(labels, this.shape.numClasses)], 1) : flat;
    return this.net.forward(input); // (B, 1 + auxClasses)
  }
}

export const dcganDiscriminatorOptions = z.strictObject({
  width: z.int().positive().max(4096).default(64).describe("channels of the first layer, doubled at each stride-2 layer"),
  norm: z
    .enum(["batch", "layer", "none"])
    .default("batch")
    .describe("normalization after every conv but the first: batch (DCGAN), layer or none (WGAN-GP's critic)"),
  spectralNorm,
  auxClassifier,
  minibatchStd,
  projection: z
    .boolean()
    .default(false)
    .describe(
      "conditional models: a learned embedding of the label dotted with D's last features (the projection discriminator, Miyato & Koyama 2018) in place of the label as input channels",
    ),
});
export type DcganDiscriminatorOptions = z.input<typeof dcganDiscriminatorOptions>;

/** DCGAN's discriminator: stride-2 4x4 convolutions with LeakyReLU(0.2), then a linear head. */
export class DcganDiscriminator extends Discriminator {
  readonly net: Sequential;
  readonly head: Linear;
  /** The projection's class embedding (`projection`): one row of D's last features per class. */
  readonly embed: Linear | null = null;
  constructor(shape: ModelShape, options: DcganDiscriminatorOptions = {}) {
    const o = parseWith(dcganDiscriminatorOptions, options, "model.discriminator.options");
    super(shape, o.auxClassifier);
    const { width, norm, spectralNorm, minibatchStd, projection } = o;
    if (projection && !this.takesLabels) {
      const why = o.auxClassifier
        ? "cannot be combined with auxClassifier, the other way for D to use the label; turn one off"
        : "needs model.conditional: true";
      throw new ConfigError([{ path: "model.discriminator.options.projection", message: why }]);
    }
    const [channels, size] = shape.dataShape;
    const downs = size % 7 === 0 ? 2 : Math.round(Math.log2(size / 4));
    const layers: Module[] = [];
    let ch = channels + (this.takesLabels && !projection ? shape.numClasses : 0);
    let res = size;
    for (let i = 0; i < downs; i++) {
      const out = width * 2 ** i;
      layers.push(sn(new Conv2d(ch, out, 4, { stride: 2, padding: 1, bias: norm !== "batch" || i === 0 }), spectralNorm));
      res /= 2;
      if (i > 0 && norm === "batch") layers.push(new BatchNorm2d(out));
      if (i > 0 && norm === "layer") layers.push(new LayerNorm([out, res, res]));
      layers.push(new LeakyReLU(0.2));
      ch = out;
    }
    if (minibatchStd) {
      layers.push(new MinibatchStd(minibatchStd));
      ch += 1;
    }
    layers.push(new Flatten());
    this.net = this.child("net", new Sequential(...layers));
    this.head = this.child("head", sn(new Linear(ch * res * res, 1 + this.auxClasses + this.codeOutputs), spectralNorm));
    if (projection) this.embed = this.child("embed", sn(new Linear(shape.numClasses, ch * res * res, { bias: false }), spectralNorm));
    for (const layer of this.modules()) {
      if ((layer instanceof Conv2d || layer instanceof Linear) && layer.hasParam("weight") && !spectralNorm) init.dcgan(layer.tensor("weight"));
      if (layer instanceof BatchNorm2d) init.normal(layer.tensor("weight"), 1, 0.02);
    }
  }
  override get predictsCodes(): boolean {
    return true;
  }
  forward(x: Tensor, labels?: Tensor): Tensor {
    if (this.embed) {
      // Projection: the logit gains <embed(y), features>, a linear head of the label's own.
      const features = this.net.forward(x);
      const out = this.head.forward(features);
      return labels ? out.add(projectLabel(this.embed, labels, this.shape.numClasses, features)) : out; // (B, 1)
    }
    let input = x;
    if (this.takesLabels && labels) {
      // The label as K constant channels beside the image.
      const [b, , h, w] = x.shape;
      input = cat([x, labelVector(labels, this.shape.numClasses).view(b, this.shape.numClasses, 1, 1).expand(b, this.shape.numClasses, h, w)], 1);
    }
    return this.head.forward(this.net.forward(input)); // (B, 1 + auxClasses)
  }
}

export const autoencoderDiscriminatorOptions = z.strictObject({
  width: z.int().positive().max(4096).default(64).describe("channels of the first convolution (images), or the hidden width (other data)"),
  code: z.int().positive().max(4096).default(64).describe("size of the embedding between encoder and decoder (BEGAN's h)"),
  energy: z
    .enum(["l1", "l2"])
    .default("l1")
    .describe("D's output, the reconstruction error per sample: l1, the mean absolute error (BEGAN), or l2, the mean squared error (EBGAN)"),
});
export type AutoencoderDiscriminatorOptions = z.input<typeof autoencoderDiscriminatorOptions>;

/**
 * The energy-based discriminator of BEGAN and EBGAN: an autoencoder whose output is its
 * reconstruction error, low on what it has learned to see as real. Images go through ELU
 * convolutions down to 7 or 8 px and back up by nearest upsampling (BEGAN's design); other data
 * through an MLP. Labels (conditional models) join the encoder's input.
 */
export class AutoencoderDiscriminator extends Discriminator {
  readonly encoder: Sequential;
  readonly decoder: Sequential;
  readonly #code: number;
  readonly #l1: boolean;
  constructor(shape: ModelShape, options: AutoencoderDiscriminatorOptions = {}) {
    const o = parseWith(autoencoderDiscriminatorOptions, options, "model.discriminator.options");
    super(shape, false);
    const { width: w, code } = o;
    this.#code = code;
    this.#l1 = o.energy === "l1";
    const labels = this.takesLabels ? shape.numClasses : 0;
    const enc: Module[] = [];
    const dec: Module[] = [];
    if (shape.dataShape.length === 3) {
      const [channels, size] = shape.dataShape;
      enc.push(new Conv2d(channels + labels, w, 3, { padding: 1 }), new ELU());
      let ch = w;
      let res = size;
      let downs = 0;
      for (; res > 8 && res % 2 === 0; downs++, res /= 2) {
        enc.push(new Conv2d(ch, ch + w, 4, { stride: 2, padding: 1 }), new ELU()); // w, 2w, 3w, ... as in BEGAN
        ch += w;
      }
      enc.push(new Flatten(), new Linear(ch * res * res, code));
      dec.push(new Linear(code, w * res * res), new Unflatten([w, res, res]), new ELU());
      for (let i = 0; i < downs; i++) dec.push(new Conv2d(w, w, 3, { padding: 1 }), new ELU(), new Upsample(2));
      dec.push(new Conv2d(w, w, 3, { padding: 1 }), new ELU(), new Conv2d(w, channels, 3, { padding: 1 }));
    } else {
      const n = shape.dataShape.reduce((a, b) => a * b, 1);
      enc.push(new Flatten(), new Linear(n + labels, w), new ELU(), new Linear(w, w), new ELU(), new Linear(w, code));
      dec.push(new Linear(code, w), new ELU(), new Linear(w, w), new ELU(), new Linear(w, n), new Unflatten(shape.dataShape));
    }
    this.encoder = this.child("encoder", new Sequential(...enc));
    this.decoder = this.child("decoder", new Sequential(...dec));
  }
  override get features(): number {
    return this.#code;
  }
  override get energy(): boolean {
    return true;
  }
  forward(x: Tensor, labels?: Tensor): Tensor {
    let input = x;
    if (this.takesLabels && labels) {
      const onehot = labelVector(labels, this.shape.numClasses);
      const [b, , h, w] = x.shape;
      input =
        x.shape.length === 4 ? cat([x, onehot.view(b, this.shape.numClasses, 1, 1).expand(b, this.shape.numClasses, h, w)], 1) : cat([x.flatten(1), onehot], 1);
    }
    const code = this.encoder.forward(input); // (B, code)
    const error = this.decoder.forward(code).sub(x).flatten(1);
    const energy = (this.#l1 ? error.abs() : error.square()).mean(1, true); // (B, 1)
    return cat([energy, code], 1); // (B, 1 + code)
  }
}
