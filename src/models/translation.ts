// Image-to-image translation models. pix2pix (Isola et al. 2017): a U-Net generator (an
// encoder-decoder with skip connections between mirrored layers, dropout as its only noise) and a
// PatchGAN discriminator that judges overlapping patches of the (input, output) pair. CycleGAN
// (Zhu et al. 2017): a ResNet generator (downsample, residual blocks, upsample, instance norm,
// reflection padding), two of them (A -> B and B -> A) and two PatchGAN discriminators, each with
// a pool of the last 50 fakes it was shown.
//
// A translation generator's input is the source image (B, ...sourceShape) where other generators
// take noise; `forward(x)` returns the translated image (B, ...dataShape).
import { z } from "zod";
import { type Tensor, cat, pad, rand, randint, zeros } from "../engine/index.js";
import { Module, Conv2d, ConvTranspose2d, BatchNorm2d, InstanceNorm2d, LeakyReLU, ReLU, Tanh, Dropout, Sequential, init } from "../nn/index.js";
import { parseWith } from "../util/schema.js";
import { ConfigError } from "../errors.js";
import { Generator, type ModelShape } from "./generators.js";
import { Discriminator } from "./discriminators.js";

/** The source image's shape, or a ConfigError: these families translate images, they do not sample noise. */
function sourceOf(shape: ModelShape, family: string, path: string): number[] {
  if (!shape.source)
    throw new ConfigError([
      {
        path,
        message: `${family} translates images: it needs a translation dataset (mnist-pairs, mnist-colour, folder-pair), got data of shape (${shape.dataShape.join(", ")})`,
      },
    ]);
  return shape.source.shape;
}

/** pix2pix's initialization: N(0, 0.02) weights, BatchNorm scales N(1, 0.02). */
function pix2pixInit(m: Module): void {
  for (const layer of m.modules()) {
    if (layer instanceof Conv2d || layer instanceof ConvTranspose2d) {
      init.normal(layer.tensor("weight"), 0, 0.02);
      if (layer.hasParam("bias")) init.constant(layer.tensor("bias"), 0);
    }
    if (layer instanceof BatchNorm2d) {
      init.normal(layer.tensor("weight"), 1, 0.02);
      init.constant(layer.tensor("bias"), 0);
    }
  }
}

const norms = z.enum(["batch", "instance"]);
const makeNorm = (kind: "batch" | "instance", channels: number): Module =>
  kind === "batch" ? new BatchNorm2d(channels) : new InstanceNorm2d(channels, { affine: true });

export const unetGeneratorOptions = z.strictObject({
  width: z.int().positive().max(1024).default(32).describe("channels of the first encoder layer, doubled at each level down to maxChannels (pix2pix: 64)"),
  maxChannels: z.int().positive().max(4096).default(256).describe("the most channels any level gets (pix2pix: 512)"),
  dropout: z.boolean().default(true).describe("dropout 0.5 in the innermost decoder layers while training: pix2pix's noise in place of z"),
  norm: norms.default("batch").describe("normalization in every layer but the outermost (pix2pix: batch)"),
});
export type UnetGeneratorOptions = z.input<typeof unetGeneratorOptions>;

/** One U-Net level: down (conv 4x4 stride 2), the inner levels, up (transposed conv), and the skip connection around them. */
class UnetLevel extends Module {
  readonly outermost: boolean;
  readonly down: Sequential;
  readonly up: Sequential;
  constructor(
    readonly inner: UnetLevel | null,
    outerChannels: number,
    channels: number,
    options: { outermost: boolean; outChannels: number; norm: "batch" | "instance"; dropout: boolean },
  ) {
    super();
    const { outermost, outChannels, norm, dropout } = options;
    const innermost = inner === null;
    const down: Module[] = [];
    if (!outermost) down.push(new LeakyReLU(0.2));
    down.push(new Conv2d(outerChannels, channels, 4, { stride: 2, padding: 1, bias: outermost || innermost }));
    if (!outermost && !innermost) down.push(makeNorm(norm, channels));
    this.down = this.child("down", new Sequential(...down));
    if (inner) this.child("inner", inner);
    // The inner levels hand back their output concatenated with their input: twice the channels.
    const up: Module[] = [new ReLU(), new ConvTranspose2d(innermost ? channels : 2 * channels, outChannels, 4, { stride: 2, padding: 1, bias: outermost })];
    if (outermost) up.push(new Tanh());
    else {
      up.push(makeNorm(norm, outChannels));
      if (dropout) up.push(new Dropout(0.5));
    }
    this.up = this.child("up", new Sequential(...up));
    this.outermost = outermost;
  }
  forward(x: Tensor): Tensor {
    const h = this.down.forward(x);
    const y = this.up.forward(this.inner ? this.inner.forward(h) : h);
    return this.outermost ? y : cat([x, y], 1);
  }
}

/** pix2pix's U-Net for 28 px (28 -> 14 -> 7 and back), 32 px (down to 4) and 64 px (down to 4). */
export class UnetGenerator extends Generator {
  readonly net: UnetLevel;
  override readonly translates = true;
  constructor(shape: ModelShape, options: UnetGeneratorOptions = {}) {
    super(shape);
    const o = parseWith(unetGeneratorOptions, options, "model.generator.options");
    const [inChannels] = sourceOf(shape, "unet", "model.generator.name");
    const [outChannels, size] = shape.dataShape;
    const levels = size % 7 === 0 ? 2 : Math.round(Math.log2(size / 4));
    const channelsAt = (i: number) => Math.min(o.maxChannels, o.width * 2 ** i);
    // Built from the innermost level out; dropout in the two innermost decoders (pix2pix: the three of 512 channels).
    let level: UnetLevel | null = null;
    for (let i = levels - 1; i >= 0; i--) {
      const outermost = i === 0;
      level = new UnetLevel(level, outermost ? inChannels : channelsAt(i - 1), channelsAt(i), {
        outermost,
        outChannels: outermost ? outChannels : channelsAt(i - 1),
        norm: o.norm,
        dropout: o.dropout && !outermost && i >= levels - 2,
      });
    }
    this.net = this.child("net", level!);
    pix2pixInit(this);
  }
  forward(x: Tensor): Tensor {
    return this.net.forward(x); // (B, C_target, H, W)
  }
}

/** x + conv(relu(conv(x))) with reflection padding and instance norm: CycleGAN's residual block. */
class ResnetBlock extends Module {
  readonly conv1: Conv2d;
  readonly norm1: Module;
  readonly conv2: Conv2d;
  readonly norm2: Module;
  constructor(channels: number, norm: "batch" | "instance") {
    super();
    this.conv1 = this.child("conv1", new Conv2d(channels, channels, 3));
    this.norm1 = this.child("norm1", makeNorm(norm, channels));
    this.conv2 = this.child("conv2", new Conv2d(channels, channels, 3));
    this.norm2 = this.child("norm2", makeNorm(norm, channels));
  }
  forward(x: Tensor): Tensor {
    const h = this.norm1.forward(this.conv1.forward(pad(x, [1, 1, 1, 1], "reflect"))).relu();
    return x.add(this.norm2.forward(this.conv2.forward(pad(h, [1, 1, 1, 1], "reflect"))));
  }
}

/** Reflection padding on every side, as a layer. */
class ReflectionPad extends Module {
  constructor(readonly size: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return pad(x, [this.size, this.size, this.size, this.size], "reflect");
  }
}

export const resnetGeneratorOptions = z.strictObject({
  width: z.int().positive().max(1024).default(16).describe("channels of the first layer, doubled by each of the two downsamplings (CycleGAN: 64)"),
  blocks: z.int().min(1).max(32).default(6).describe("residual blocks at the lowest resolution (CycleGAN: 6 at 128 px, 9 at 256 px)"),
  norm: norms.default("instance").describe("normalization after every convolution but the last (CycleGAN: instance)"),
});
export type ResnetGeneratorOptions = z.input<typeof resnetGeneratorOptions>;

/** CycleGAN's generator: c7s1-w, d2w, d4w, R4w x blocks, u2w, uw, c7s1-C, tanh. */
export class ResnetGenerator extends Generator {
  readonly net: Sequential;
  override readonly translates = true;
  constructor(shape: ModelShape, options: ResnetGeneratorOptions = {}) {
    super(shape);
    const o = parseWith(resnetGeneratorOptions, options, "model.generator.options");
    const [inChannels] = sourceOf(shape, "resnet", "model.generator.name");
    const [outChannels, size] = shape.dataShape;
    if (size % 4 !== 0)
      throw new ConfigError([{ path: "model.generator.name", message: `resnet downsamples twice: the image size must be a multiple of 4, got ${size}` }]);
    const w = o.width;
    const layers: Module[] = [new ReflectionPad(3), new Conv2d(inChannels, w, 7), makeNorm(o.norm, w), new ReLU()];
    for (const m of [1, 2]) layers.push(new Conv2d(w * m, w * m * 2, 3, { stride: 2, padding: 1 }), makeNorm(o.norm, w * m * 2), new ReLU());
    for (let i = 0; i < o.blocks; i++) layers.push(new ResnetBlock(4 * w, o.norm));
    for (const m of [4, 2]) {
      layers.push(new ConvTranspose2d(w * m, (w * m) / 2, 4, { stride: 2, padding: 1 }), makeNorm(o.norm, (w * m) / 2), new ReLU());
    }
    layers.push(new ReflectionPad(3), new Conv2d(w, outChannels, 7), new Tanh());
    this.net = this.child("net", new Sequential(...layers));
    pix2pixInit(this);
  }
  forward(x: Tensor): Tensor {
    return this.net.forward(x); // (B, C_target, H, W)
  }
}

export const patchDiscriminatorOptions = z.strictObject({
  width: z.int().positive().max(1024).default(64).describe("channels of the first layer, doubled at each of the next (PatchGAN: 64)"),
  layers: z.int().min(1).max(6).default(2).describe("stride-2 layers; each patch the output judges grows with them (PatchGAN's 70x70: 3)"),
  norm: norms.default("batch").describe("normalization after every convolution but the first and last (pix2pix: batch; CycleGAN: instance)"),
});
export type PatchDiscriminatorOptions = z.input<typeof patchDiscriminatorOptions>;

/**
 * PatchGAN: convolutions down to a grid of logits, one per overlapping patch of the input
 * (B, 1, h, w); losses average over patches. For paired data D reads the input and the output
 * side by side (pix2pix's conditional D), so its data shape has both images' channels.
 */
export class PatchDiscriminator extends Discriminator {
  readonly net: Sequential;
  constructor(shape: ModelShape, options: PatchDiscriminatorOptions = {}) {
    const o = parseWith(patchDiscriminatorOptions, options, "model.discriminator.options");
    super(shape, false);
    if (shape.dataShape.length !== 3)
      throw new ConfigError([
        { path: "model.discriminator.name", message: `patch is for images (C, H, W); got data of shape (${shape.dataShape.join(", ")})` },
      ]);
    const [channels] = shape.dataShape;
    const layers: Module[] = [new Conv2d(channels, o.width, 4, { stride: 2, padding: 1 }), new LeakyReLU(0.2)];
    let ch = o.width;
    for (let i = 1; i < o.layers; i++) {
      layers.push(new Conv2d(ch, ch * 2, 4, { stride: 2, padding: 1, bias: false }), makeNorm(o.norm, ch * 2), new LeakyReLU(0.2));
      ch *= 2;
    }
    layers.push(new Conv2d(ch, ch * 2, 4, { stride: 1, padding: 1, bias: false }), makeNorm(o.norm, ch * 2), new LeakyReLU(0.2));
    layers.push(new Conv2d(ch * 2, 1, 4, { stride: 1, padding: 1 }));
    this.net = this.child("net", new Sequential(...layers));
    pix2pixInit(this);
  }
  override get takesLabels(): boolean {
    return false;
  }
  forward(x: Tensor): Tensor {
    return this.net.forward(x); // (B, 1, h, w): a logit per patch
  }
}

/** CycleGAN's two generators: `forward` is the source -> target direction; `back` the other. */
export class CycleGenerator extends Generator {
  override readonly translates = true;
  constructor(
    shape: ModelShape,
    readonly forwardNet: Generator,
    readonly back: Generator,
  ) {
    super(shape);
    this.child("forward", forwardNet);
    this.child("back", back);
  }
  forward(x: Tensor): Tensor {
    return this.forwardNet.forward(x);
  }
}

/**
 * The history of fakes a CycleGAN discriminator learns from (Shrivastava et al. 2017): until the
 * pool is full each fake is stored and shown; then each fake, with probability 1/2, is swapped for
 * a random stored one, which D sees instead. Held in buffers, so checkpoints keep it and a resumed
 * run continues exactly.
 */
class ImagePool extends Module {
  constructor(
    readonly size: number,
    shape: number[],
  ) {
    super();
    this.buffer("images", zeros([size, ...shape]));
    this.buffer("count", zeros([1]));
  }
  forward(x: Tensor): Tensor {
    return x;
  }
  /** The batch D is shown for these fakes; updates the pool. */
  query(fakes: Tensor): Tensor {
    if (this.size === 0) return fakes;
    const pool = this.tensor("images");
    const count = this.tensor("count");
    const shown: Tensor[] = [];
    const b = fakes.shape[0];
    const coins = rand([b]).toArray();
    const picks = randint(0, this.size, [b]).toArray();
    let filled = count.item();
    for (let i = 0; i < b; i++) {
      const image = fakes.narrow(0, i, 1);
      if (filled < this.size) {
        pool.narrow(0, filled, 1).copy_(image);
        filled++;
        shown.push(image);
      } else if (coins[i] > 0.5) {
        const old = pool.narrow(0, picks[i], 1).clone();
        pool.narrow(0, picks[i], 1).copy_(image);
        shown.push(old);
      } else shown.push(image);
    }
    count.fill_(filled);
    return cat(shown);
  }
}

/** CycleGAN's two discriminators (one per domain: `forward` judges the target domain, `judgeSource` the source one) and their pools of fakes. */
export class CycleDiscriminator extends Discriminator {
  readonly targetPool: ImagePool;
  readonly sourcePool: ImagePool;
  constructor(
    shape: ModelShape,
    readonly target: Discriminator,
    readonly source: Discriminator,
    poolSize: number,
  ) {
    super(shape, false);
    this.child("target", target);
    this.child("source", source);
    this.targetPool = this.child("targetPool", new ImagePool(poolSize, shape.dataShape));
    this.sourcePool = this.child("sourcePool", new ImagePool(poolSize, shape.source!.shape));
  }
  override get takesLabels(): boolean {
    return false;
  }
  forward(x: Tensor): Tensor {
    return this.target.forward(x);
  }
  judgeSource(x: Tensor): Tensor {
    return this.source.forward(x);
  }
}
