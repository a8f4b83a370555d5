// WaveGAN (Donahue, McAuley & Puckette 2019, "Adversarial Audio Synthesis"): DCGAN flattened to
// one dimension for raw waveforms. G maps z through a dense layer to (16 d, L / 4^layers) and
// upsamples 4x per layer with transposed convolutions of kernel 25 to (1, L) and tanh; D mirrors it
// with strided convolutions of kernel 25, LeakyReLU(0.2) and phase shuffle (each layer's output
// shifted by a random -n..n samples, reflect-padded, so D cannot judge by the periodic artifacts of
// transposed convolutions). The conditional variant feeds G the one-hot label beside z, and D
// reads the label by projection (Miyato & Koyama 2018): D(x, y) = w . h + embed(y) . h, or, with
// auxClassifier, predicts it from the same features (AC-GAN, Odena et al. 2017).
import { z } from "zod";
import { type Tensor, arange, drawBatch, pad, rand } from "../engine/index.js";
import { Linear, Conv1d, ConvTranspose1d } from "../nn/index.js";
import { parseWith } from "../util/schema.js";
import { ConfigError } from "../errors.js";
import { Generator, type ModelShape } from "./generators.js";
import { Discriminator } from "./discriminators.js";
import { projectLabel, withLabels } from "./layers.js";

const dim = z.int().positive().max(1024).default(64).describe("d, the model size: the layers have 16d, 8d, ... d channels (the paper: 64)");
const layers = z.int().min(1).max(8).default(5).describe("upsampling (G) or downsampling (D) layers of stride 4; the paper's 5 for 16,384 samples");
const kernel = z.int().min(2).max(64).default(25).describe("convolution kernel size (the paper: 25)");

/** The clip length L and the length G starts from, L / 4^layers, which must be whole. */
function audioShape(shape: ModelShape, path: string, layers: number): { length: number; start: number } {
  const [c, length] = shape.dataShape;
  if (shape.dataShape.length !== 2 || c !== 1)
    throw new ConfigError([
      { path, message: `wavegan is for audio, clips (1, samples) (datasets spoken-digits, wav-folder); got data of shape (${shape.dataShape.join(", ")})` },
    ]);
  if (length % 4 ** layers !== 0 || length / 4 ** layers < 1)
    throw new ConfigError([
      { path: "data.length", message: `${length} samples do not divide by 4^${layers} (${4 ** layers}): WaveGAN's ${layers} layers each scale by 4` },
    ]);
  return { length, start: length / 4 ** layers };
}

/** Channels after each of `layers` layers from 16d down: 16d, 8d, 4d, 2d, d (never below d). */
function widths(d: number, layers: number): number[] {
  return Array.from({ length: layers + 1 }, (_, i) => Math.max(d, d * 2 ** (4 - i)));
}

export const waveganGeneratorOptions = z.strictObject({ dim, layers, kernel });
export type WaveganGeneratorOptions = z.input<typeof waveganGeneratorOptions>;

export class WaveganGenerator extends Generator {
  readonly input: Linear;
  readonly ups: ConvTranspose1d[];
  readonly #start: number;
  readonly #width: number;
  constructor(shape: ModelShape, options: WaveganGeneratorOptions = {}) {
    super(shape);
    const o = parseWith(waveganGeneratorOptions, options, "model.generator.options");
    const { start } = audioShape(shape, "model.generator.name", o.layers);
    const w = widths(o.dim, o.layers);
    this.#start = start;
    this.#width = w[0];
    this.input = this.child("input", new Linear(shape.latentDim + shape.numClasses, w[0] * start));
    // Stride 4, kernel k: padding (k - 3) / 2 rounded up and the output padding make each layer exactly 4x longer.
    const padding = Math.ceil((o.kernel - 4) / 2);
    const outputPadding = 4 - o.kernel + 2 * padding;
    this.ups = Array.from({ length: o.layers }, (_, i) =>
      this.child(`up${i}`, new ConvTranspose1d(w[i], i === o.layers - 1 ? 1 : w[i + 1], o.kernel, { stride: 4, padding, outputPadding })),
    );
  }
  forward(z: Tensor, labels?: Tensor): Tensor {
    let h = this.input
      .forward(withLabels(z, labels, this.shape.numClasses))
      .view(z.shape[0], this.#width, this.#start)
      .relu();
    this.ups.forEach((up, i) => {
      h = up.forward(h);
      if (i < this.ups.length - 1) h = h.relu();
    });
    return h.tanh(); // (B, 1, L)
  }
}

/**
 * Phase shuffle: each sample's channels shifted by its own random k in -n..n, the edge reflected.
 * One gather from the padded clip reads sample b at positions t + k_b + n: a single copy forward
 * and one scatter backward (a 2n+1-way select cost a third of a digits-wavegan step). The draws go
 * through drawBatch, so data-parallel runs shift as one process would.
 */
export function phaseShuffle(x: Tensor, n: number): Tensor {
  if (n === 0) return x;
  const [b, c, L] = x.shape;
  const padded = pad(x, [n, n], "reflect");
  const shifts = drawBatch([b], (s) => rand(s, { device: x.device }))
    .mul(2 * n + 1)
    .to({ dtype: "int64" }); // truncation: 0 .. 2n
  const index = arange(0, L, 1, { device: x.device })
    .view(1, 1, L)
    .add(shifts.view(b, 1, 1))
    .expand(b, c, L);
  return padded.gather(2, index);
}

export const waveganDiscriminatorOptions = z.strictObject({
  dim,
  layers,
  kernel,
  phaseShuffle: z.int().min(0).max(16).default(2).describe("phase shuffle's largest shift n, in samples (the paper: 2); 0 for none"),
  auxClassifier: z.boolean().default(false).describe("predict the class (AC-GAN) instead of reading it by projection; needs model.conditional"),
});
export type WaveganDiscriminatorOptions = z.input<typeof waveganDiscriminatorOptions>;

export class WaveganDiscriminator extends Discriminator {
  readonly downs: Conv1d[];
  readonly head: Linear;
  /** The projection's class embedding (conditional only): one row per class. */
  readonly embed: Linear | null;
  readonly #shuffle: number;
  constructor(shape: ModelShape, options: WaveganDiscriminatorOptions = {}) {
    const o = parseWith(waveganDiscriminatorOptions, options, "model.discriminator.options");
    super(shape, o.auxClassifier);
    const { start } = audioShape(shape, "model.discriminator.name", o.layers);
    const w = widths(o.dim, o.layers).reverse(); // d ... 16d
    const padding = Math.floor((o.kernel - 4) / 2) + 1;
    this.downs = Array.from({ length: o.layers }, (_, i) => this.child(`down${i}`, new Conv1d(i === 0 ? 1 : w[i], w[i + 1], o.kernel, { stride: 4, padding })));
    const features = w[o.layers] * start;
    this.head = this.child("head", new Linear(features, 1 + this.auxClasses));
    this.embed = this.takesLabels ? this.child("embed", new Linear(shape.numClasses, features, { bias: false })) : null;
    this.#shuffle = o.phaseShuffle;
  }
  forward(x: Tensor, labels?: Tensor): Tensor {
    let h = x;
    this.downs.forEach((down, i) => {
      h = down.forward(h).leakyRelu(0.2);
      if (i < this.downs.length - 1 && this.training) h = phaseShuffle(h, this.#shuffle);
    });
    const flat = h.flatten(1);
    const out = this.head.forward(flat);
    if (!this.embed || !labels) return out; // (B, 1)
    return out.add(projectLabel(this.embed, labels, this.shape.numClasses, flat)); // (B, 1 + auxClasses)
  }
}
