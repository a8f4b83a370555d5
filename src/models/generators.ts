// Generator families: noise z (B, latentDim) and, for conditional models, labels (B) to data
// (B, ...dataShape). Every image generator ends in tanh, matching data scaled to [-1, 1].
import { z } from "zod";
import type { Tensor } from "../engine/index.js";
import {
  Module,
  Linear,
  LeakyReLU,
  ReLU,
  Tanh,
  Sequential,
  BatchNorm1d,
  BatchNorm2d,
  ConvTranspose2d,
  Conv2d,
  Upsample,
  Unflatten,
  init,
} from "../nn/index.js";
import { withLabels } from "./layers.js";
import { parseWith } from "../util/schema.js";

/** What every model is built for: the data's shape, the noise size and the class count (0: none). */
export interface ModelShape {
  dataShape: number[];
  latentDim: number;
  numClasses: number;
  /** For text: the characters by one-hot index (index 0 is padding). */
  vocabulary?: string;
  /** InfoGAN's codes, the last categorical + continuous entries of z (latentDim counts them). */
  codes?: LatentCodes;
  /** Image-to-image translation: G's input is an image of this shape, not noise; paired (pix2pix) or not (CycleGAN). */
  source?: { shape: number[]; paired: boolean };
  /** Audio: the sample rate of the (1, length) clips, in Hz. */
  sampleRate?: number;
}

export interface LatentCodes {
  categorical: number;
  continuous: number;
}

export abstract class Generator extends Module {
  /** Whether it translates an input image (pix2pix, CycleGAN) rather than mapping noise. */
  readonly translates: boolean = false;
  constructor(readonly shape: ModelShape) {
    super();
  }
  abstract override forward(z: Tensor, labels?: Tensor): Tensor;
  /** Told how far training has gone (0 to 1) before each step, for what anneals (a Gumbel temperature); most ignore it. */
  schedule(_progress: number): void {}
}

export const mlpGeneratorOptions = z.strictObject({
  hidden: z.array(z.int().positive().max(65536)).min(1).max(16).default([256, 512, 1024]).describe("hidden layer widths; the tutorial's 256, 512, 1024"),
  output: z.enum(["tanh", "linear"]).default("tanh").describe("tanh for images in [-1, 1]; linear for unbounded data such as the toy sets"),
  batchNorm: z.boolean().default(false).describe("BatchNorm after each hidden layer (off in the tutorial)"),
});
export type MlpGeneratorOptions = z.input<typeof mlpGeneratorOptions>;

/** The tutorial's generator: an MLP 100-256-512-1024-784 with LeakyReLU(0.2) and tanh. */
export class MlpGenerator extends Generator {
  readonly net: Sequential;
  constructor(shape: ModelShape, options: MlpGeneratorOptions = {}) {
    super(shape);
    const { hidden, output, batchNorm } = parseWith(mlpGeneratorOptions, options, "model.generator.options");
    const out = shape.dataShape.reduce((a, b) => a * b, 1);
    const layers: Module[] = [];
    let width = shape.latentDim + shape.numClasses;
    for (const h of hidden) {
      layers.push(new Linear(width, h));
      if (batchNorm) layers.push(new BatchNorm1d(h));
      layers.push(new LeakyReLU(0.2));
      width = h;
    }
    layers.push(new Linear(width, out));
    if (output === "tanh") layers.push(new Tanh());
    layers.push(new Unflatten(shape.dataShape));
    this.net = this.child("net", new Sequential(...layers));
  }
  forward(z: Tensor, labels?: Tensor): Tensor {
    return this.net.forward(withLabels(z, labels, this.shape.numClasses)); // (B, ...dataShape)
  }
}

function dcganInit(m: Module): void {
  for (const layer of m.modules()) {
    if (layer instanceof Conv2d || layer instanceof ConvTranspose2d || layer instanceof Linear) init.dcgan(layer.tensor("weight"));
    if (layer instanceof BatchNorm2d || layer instanceof BatchNorm1d) {
      init.normal(layer.tensor("weight"), 1, 0.02);
      init.constant(layer.tensor("bias"), 0);
    }
  }
}

export const dcganGeneratorOptions = z.strictObject({
  width: z.int().positive().max(4096).default(64).describe("channels of the last hidden layer, doubled at each coarser scale"),
});
export type DcganGeneratorOptions = z.input<typeof dcganGeneratorOptions>;

/**
 * DCGAN's generator (Radford et al. 2016) for 28, 32 or 64 px: a projection to a 7x7 or 4x4 map,
 * then stride-2 transposed convolutions with BatchNorm and ReLU, tanh out, N(0, 0.02) weights.
 */
export class DcganGenerator extends Generator {
  readonly net: Sequential;
  constructor(shape: ModelShape, options: DcganGeneratorOptions = {}) {
    super(shape);
    const [channels, size] = shape.dataShape;
    const { width } = parseWith(dcganGeneratorOptions, options, "model.generator.options");
    const base = size % 7 === 0 ? 7 : 4;
    const ups = Math.round(Math.log2(size / base));
    const layers: Module[] = [];
    let ch = width * 2 ** (ups - 1);
    // (B, Z + K, 1, 1) -> (B, ch, base, base)
    layers.push(new Unflatten([shape.latentDim + shape.numClasses, 1, 1]));
    layers.push(new ConvTranspose2d(shape.latentDim + shape.numClasses, ch, base, { bias: false }), new BatchNorm2d(ch), new ReLU());
    for (let i = 1; i < ups; i++) {
      layers.push(new ConvTranspose2d(ch, ch / 2, 4, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(ch / 2), new ReLU());
      ch /= 2;
    }
    layers.push(new ConvTranspose2d(ch, channels, 4, { stride: 2, padding: 1, bias: false }), new Tanh());
    this.net = this.child("net", new Sequential(...layers));
    dcganInit(this);
  }
  forward(z: Tensor, labels?: Tensor): Tensor {
    return this.net.forward(withLabels(z, labels, this.shape.numClasses)); // (B, C, size, size)
  }
}

export const cnnGeneratorOptions = z.strictObject({});
export type CnnGeneratorOptions = z.input<typeof cnnGeneratorOptions>;

/**
 * The tutorial's example CNN generator: a linear projection to 128x7x7, then two rounds of
 * nearest upsampling and 3x3 convolution, tanh out.
 */
export class CnnGenerator extends Generator {
  readonly net: Sequential;
  constructor(shape: ModelShape, options: CnnGeneratorOptions = {}) {
    super(shape);
    parseWith(cnnGeneratorOptions, options, "model.generator.options");
    const [channels, size] = shape.dataShape;
    const base = size / 4;
    this.net = this.child(
      "net",
      new Sequential(
        new Linear(shape.latentDim + shape.numClasses, 128 * base * base),
        new BatchNorm1d(128 * base * base),
        new ReLU(),
        new Unflatten([128, base, base]),
        new Upsample(2),
        new Conv2d(128, 64, 3, { padding: 1 }),
        new BatchNorm2d(64),
        new ReLU(),
        new Upsample(2),
        new Conv2d(64, channels, 3, { padding: 1 }),
        new Tanh(),
      ),
    );
  }
  forward(z: Tensor, labels?: Tensor): Tensor {
    return this.net.forward(withLabels(z, labels, this.shape.numClasses)); // (B, C, size, size)
  }
}
