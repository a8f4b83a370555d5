// A StyleGAN-style generator at small scale (Karras et al. 2019, 2020: StyleGAN and StyleGAN2):
// a mapping network turns z into a style w; the synthesis network starts from a learned constant
// and, at each resolution, upsamples and applies 3x3 convolutions whose weights each sample's
// style modulates (and demodulates), adds per-pixel noise, and adds its own RGB image to the
// upsampled image of the coarser resolutions (StyleGAN2's "skip" generator). Every weight is
// stored as N(0, 1) and scaled at run time (the equalized learning rate); the mapping network
// learns 100 times slower (its learning-rate multiplier 0.01).
//
// Style mixing: while training, with probability `mixing`, the layers from a random cutoff on take
// the style of a second z, so that no layer relies on its neighbours sharing a style.
// Unlike StyleGAN, the output goes through tanh by default, as every gantry image generator's.
// What is left out: path-length regularization, the truncation trick, and StyleGAN2's FIR
// up-sampling filters (bilinear up-sampling here).
import { z } from "zod";
import { type Tensor, cat, conv2d, drawBatch, linear, rand, randint, randn, upsample, zeros } from "../engine/index.js";
import { Module } from "../nn/index.js";
import { parseWith } from "../util/schema.js";
import { ConfigError } from "../errors.js";
import { Generator, type ModelShape } from "./generators.js";
import { labelVector } from "./layers.js";

export const styleGeneratorOptions = z.strictObject({
  wDim: z.int().positive().max(4096).default(128).describe("size of the style vector w (StyleGAN: 512)"),
  mappingLayers: z.int().min(1).max(16).default(4).describe("fully connected layers of the mapping network z -> w (StyleGAN: 8)"),
  width: z.int().positive().max(4096).default(32).describe("channels at the output resolution, doubled at each coarser one up to maxChannels"),
  maxChannels: z.int().positive().max(4096).default(128).describe("the most channels any resolution gets (StyleGAN: 512)"),
  mixing: z.number().min(0).max(1).default(0.9).describe("probability of style mixing regularization per training batch; 0 for off"),
  noise: z
    .boolean()
    .default(true)
    .describe("per-pixel noise inputs, scaled by a learned strength per layer: fresh noise while training, a fixed draw (kept in the weights) in eval mode"),
  output: z
    .enum(["tanh", "linear"])
    .default("tanh")
    .describe("tanh keeps samples in [-1, 1] as every gantry image generator; linear is StyleGAN's unbounded output"),
});
export type StyleGeneratorOptions = z.input<typeof styleGeneratorOptions>;

const SQRT2 = Math.SQRT2;

/** y = x (w * lrMul / sqrt(in))^T + b * lrMul, weights stored as N(0, 1) / lrMul. */
class EqualLinear extends Module {
  readonly #gain: number;
  constructor(
    inFeatures: number,
    outFeatures: number,
    readonly lrMul = 1,
    biasInit = 0,
  ) {
    super();
    this.#gain = lrMul / Math.sqrt(inFeatures);
    this.param("weight", randn([outFeatures, inFeatures]).div(lrMul));
    this.param("bias", zeros([outFeatures]).add(biasInit / lrMul));
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.tensor("weight").mul(this.#gain), this.tensor("bias").mul(this.lrMul));
  }
}

/** x * rsqrt(mean(x^2) + eps) along dim 1: StyleGAN's normalization of z (and of the label embedding). */
function normalize2nd(x: Tensor): Tensor {
  return x.mul(x.square().mean(1, true).add(1e-8).pow(-0.5));
}

/** leaky ReLU(0.2) times sqrt(2), keeping unit variance (StyleGAN2's bias_act "lrelu"). */
const lrelu = (x: Tensor) => x.leakyRelu(0.2).mul(SQRT2);

/**
 * A convolution whose input channels each sample's style scales; with `demodulate`, each output
 * channel is then rescaled to unit expected variance (StyleGAN2's weight demodulation). Computed
 * as scale, shared convolution, rescale: the same sums as StyleGAN2's grouped convolution (its
 * fused_modconv=False path), and one ordinary batched convolution on the CPU.
 */
export class ModulatedConv extends Module {
  readonly affine: EqualLinear;
  readonly #gain: number;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    wDim: number,
    readonly demodulate: boolean,
  ) {
    super();
    this.affine = this.child("affine", new EqualLinear(wDim, inChannels, 1, 1)); // styles start at 1
    this.param("weight", randn([outChannels, inChannels, kernel, kernel]));
    this.#gain = 1 / Math.sqrt(inChannels * kernel * kernel);
  }
  forward(x: Tensor, w: Tensor): Tensor {
    const b = x.shape[0];
    const weight = this.tensor("weight").mul(this.#gain); // (out, in, k, k)
    const styles = this.affine.forward(w); // (B, in)
    const y = conv2d(x.mul(styles.view(b, this.inChannels, 1, 1)), weight, null, { padding: Math.floor(this.kernel / 2) });
    if (!this.demodulate) return y;
    // d[b, o] = 1 / sqrt(sum_i,k (weight[o, i, k] styles[b, i])^2 + eps)
    const d = styles
      .square()
      .matmul(weight.square().sum([2, 3]).t())
      .add(1e-8)
      .pow(-0.5); // (B, out)
    return y.mul(d.view(b, this.outChannels, 1, 1));
  }
}

/** Optional 2x upsampling, a modulated 3x3 convolution, noise, bias and leaky ReLU. */
class SynthesisLayer extends Module {
  readonly conv: ModulatedConv;
  constructor(
    inChannels: number,
    readonly outChannels: number,
    wDim: number,
    readonly up: boolean,
    readonly noise: boolean,
    resolution: number,
  ) {
    super();
    this.conv = this.child("conv", new ModulatedConv(inChannels, outChannels, 3, wDim, true));
    if (noise) {
      this.param("noiseStrength", zeros([1]));
      this.buffer("noiseConst", randn([1, 1, resolution, resolution])); // StyleGAN2's noise_mode="const", for eval
    }
    this.param("bias", zeros([outChannels]));
  }
  forward(x: Tensor, w: Tensor): Tensor {
    const input = this.up ? upsample(x, { scaleFactor: 2, mode: "bilinear" }) : x;
    let y = this.conv.forward(input, w);
    if (this.noise) {
      const [b, , h, width] = y.shape;
      const noise = this.training ? drawBatch([b, 1, h, width], (s) => randn(s, { device: y.device })) : this.tensor("noiseConst");
      y = y.add(noise.mul(this.tensor("noiseStrength")));
    }
    return lrelu(y.add(this.tensor("bias").view(1, this.outChannels, 1, 1)));
  }
}

/** A modulated 1x1 convolution to the image's channels, without demodulation or activation. */
class ToImage extends Module {
  readonly conv: ModulatedConv;
  constructor(
    inChannels: number,
    readonly channels: number,
    wDim: number,
  ) {
    super();
    this.conv = this.child("conv", new ModulatedConv(inChannels, channels, 1, wDim, false));
    this.param("bias", zeros([channels]));
  }
  forward(x: Tensor, w: Tensor): Tensor {
    return this.conv.forward(x, w).add(this.tensor("bias").view(1, this.channels, 1, 1));
  }
}

/** One resolution: (upsampling and) one or two synthesis layers, and the layer that makes its image. */
class SynthesisBlock extends Module {
  readonly layers: SynthesisLayer[];
  readonly toImage: ToImage;
  constructor(inChannels: number, outChannels: number, channels: number, wDim: number, first: boolean, noise: boolean, resolution: number) {
    super();
    this.layers = first
      ? [this.child("conv1", new SynthesisLayer(outChannels, outChannels, wDim, false, noise, resolution))]
      : [
          this.child("conv0", new SynthesisLayer(inChannels, outChannels, wDim, true, noise, resolution)),
          this.child("conv1", new SynthesisLayer(outChannels, outChannels, wDim, false, noise, resolution)),
        ];
    this.toImage = this.child("toImage", new ToImage(outChannels, channels, wDim));
  }
  /** The block's features from the coarser ones', one style per layer. */
  forward(x: Tensor, ...ws: Tensor[]): Tensor {
    return this.layers.reduce((h, layer, i) => layer.forward(h, ws[i]), x);
  }
}

/**
 * The StyleGAN-style generator for 28, 32 or 64 px images: z (and labels) -> w by the mapping
 * network; a learned 7x7 (28 px) or 4x4 constant; one block per resolution. Conditional models
 * embed the label, normalize it and z, and map their concatenation (as StyleGAN2-ADA).
 */
export class StyleGenerator extends Generator {
  readonly mapping: EqualLinear[];
  readonly embed: EqualLinear | null;
  readonly blocks: SynthesisBlock[];
  readonly #o: z.output<typeof styleGeneratorOptions>;
  readonly #base: number;
  /** The style indices each block reads: block i's layers and image take ws[start_i ... start_i + layers]. */
  readonly #starts: number[];
  /** How many styles the synthesis network takes: one per layer, plus one for the last image. */
  readonly numWs: number;

  constructor(shape: ModelShape, options: StyleGeneratorOptions = {}) {
    super(shape);
    const o = parseWith(styleGeneratorOptions, options, "model.generator.options");
    this.#o = o;
    const [channels, size] = shape.dataShape;
    if (shape.dataShape.length !== 3 || ![28, 32, 64].includes(size) || shape.dataShape[2] !== size) {
      throw new ConfigError([
        {
          path: "model.generator.name",
          message: `style is for square images of 28, 32 or 64 px, (C, H, W); got data of shape (${shape.dataShape.join(", ")})`,
        },
      ]);
    }
    if (shape.codes) throw new ConfigError([{ path: "model.codes", message: "InfoGAN's codes are not wired into the style generator; use dcgan or mlp" }]);
    this.#base = size % 7 === 0 ? 7 : 4;
    const resolutions = Math.round(Math.log2(size / this.#base)) + 1; // 7, 14, 28: 3
    const channelsAt = (i: number) => Math.min(o.maxChannels, o.width * 2 ** (resolutions - 1 - i));

    const zIn = shape.latentDim + (shape.numClasses ? o.wDim : 0);
    this.embed = shape.numClasses ? this.child("embed", new EqualLinear(shape.numClasses, o.wDim)) : null;
    this.mapping = Array.from({ length: o.mappingLayers }, (_, i) => this.child(`mapping${i}`, new EqualLinear(i === 0 ? zIn : o.wDim, o.wDim, 0.01)));

    this.param("const", randn([channelsAt(0), this.#base, this.#base]));
    this.blocks = [];
    this.#starts = [];
    let start = 0;
    for (let i = 0; i < resolutions; i++) {
      const block = this.child(
        `block${i}`,
        new SynthesisBlock(channelsAt(Math.max(0, i - 1)), channelsAt(i), channels, o.wDim, i === 0, o.noise, this.#base * 2 ** i),
      );
      this.blocks.push(block);
      this.#starts.push(start);
      start += block.layers.length; // the image's style is the next block's first layer's (StyleGAN2's arrangement)
    }
    this.numWs = start + 1;
  }

  /** The mapping network: z (B, Z) and labels -> w (B, wDim). */
  map(z: Tensor, labels?: Tensor): Tensor {
    let x = normalize2nd(z);
    if (this.embed && labels) x = cat([x, normalize2nd(this.embed.forward(labelVector(labels, this.shape.numClasses)))], 1);
    for (const layer of this.mapping) x = lrelu(layer.forward(x));
    return x;
  }

  /** One style per synthesis input: w everywhere, or, when mixing, a second z's style from a random cutoff on. */
  styles(z: Tensor, labels?: Tensor): Tensor[] {
    const w = this.map(z, labels);
    const ws = Array.from({ length: this.numWs }, () => w);
    if (!this.training || this.#o.mixing === 0) return ws;
    // One draw for the batch (as StyleGAN2-ADA); the same on every rank of a data-parallel run.
    if (rand([1]).item() >= this.#o.mixing) return ws;
    const cutoff = randint(1, this.numWs, [1]).item();
    const w2 = this.map(
      drawBatch(z.shape, (s) => randn(s, { device: z.device })),
      labels,
    );
    return ws.map((wi, i) => (i < cutoff ? wi : w2));
  }

  forward(z: Tensor, labels?: Tensor): Tensor {
    return this.synthesize(this.styles(z, labels));
  }

  /** The synthesis network on given styles (numWs of them, each (B, wDim)). */
  synthesize(ws: Tensor[]): Tensor {
    const b = ws[0].shape[0];
    const c = this.tensor("const");
    let x = c.unsqueeze(0).expand([b, ...c.shape]);
    let image: Tensor | null = null;
    for (const [i, block] of this.blocks.entries()) {
      const start = this.#starts[i];
      const n = block.layers.length;
      x = block.forward(x, ...ws.slice(start, start + n));
      const own = block.toImage.forward(x, ws[start + n]);
      image = image ? upsample(image, { scaleFactor: 2, mode: "bilinear" }).add(own) : own;
    }
    return this.#o.output === "tanh" ? image!.tanh() : image!; // (B, C, size, size)
  }
}
