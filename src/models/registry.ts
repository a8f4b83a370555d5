// The model families by name: typed data, not a switch. Each entry holds its options' schema
// (validation, defaults, docs) and its constructor; adding a family is one entry here.
import type { z } from "zod";
import {
  MlpGenerator,
  DcganGenerator,
  CnnGenerator,
  mlpGeneratorOptions,
  dcganGeneratorOptions,
  cnnGeneratorOptions,
  type Generator,
  type ModelShape,
} from "./generators.js";
import {
  MlpDiscriminator,
  DcganDiscriminator,
  AutoencoderDiscriminator,
  mlpDiscriminatorOptions,
  dcganDiscriminatorOptions,
  autoencoderDiscriminatorOptions,
  type Discriminator,
} from "./discriminators.js";
import { StyleGenerator, styleGeneratorOptions } from "./style.js";
import { SeqResnetGenerator, SeqResnetDiscriminator, seqGeneratorOptions, seqDiscriminatorOptions } from "./sequence.js";
import {
  UnetGenerator,
  ResnetGenerator,
  PatchDiscriminator,
  CycleGenerator,
  CycleDiscriminator,
  unetGeneratorOptions,
  resnetGeneratorOptions,
  patchDiscriminatorOptions,
} from "./translation.js";
import { WaveganGenerator, WaveganDiscriminator, waveganGeneratorOptions, waveganDiscriminatorOptions } from "./audio.js";
import { ConfigError } from "../errors.js";

interface Family<M> {
  description: string;
  options: z.ZodType<object>;
  build: (shape: ModelShape, options: never) => M;
}

export const generators = {
  mlp: { description: "the tutorial's MLP", options: mlpGeneratorOptions, build: (shape, o) => new MlpGenerator(shape, o) },
  dcgan: {
    description: "DCGAN's transposed convolutions (Radford et al. 2016)",
    options: dcganGeneratorOptions,
    build: (shape, o) => new DcganGenerator(shape, o),
  },
  cnn: { description: "the tutorial's CNN: upsample and convolve", options: cnnGeneratorOptions, build: (shape, o) => new CnnGenerator(shape, o) },
  style: {
    description:
      "StyleGAN-style at small scale: a mapping network, modulated and demodulated convolutions, noise inputs, style mixing (Karras et al. 2019, 2020)",
    options: styleGeneratorOptions,
    build: (shape, o) => new StyleGenerator(shape, o),
  },
  unet: {
    description: "for image translation: pix2pix's U-Net, an encoder-decoder with skip connections (Isola et al. 2017)",
    options: unetGeneratorOptions,
    build: (shape, o) => new UnetGenerator(shape, o),
  },
  resnet: {
    description: "for image translation: CycleGAN's ResNet generator, residual blocks between two downsamplings and two upsamplings (Zhu et al. 2017)",
    options: resnetGeneratorOptions,
    build: (shape, o) => new ResnetGenerator(shape, o),
  },
  "seq-resnet": {
    description: "for text: residual 1-D convolutions to a softmax (or Gumbel-softmax sample) per character (Gulrajani et al. 2017)",
    options: seqGeneratorOptions,
    build: (shape, o) => new SeqResnetGenerator(shape, o),
  },
  wavegan: {
    description: "for audio: WaveGAN's 1-D transposed convolutions, kernel 25, stride 4, to a raw waveform (Donahue et al. 2019)",
    options: waveganGeneratorOptions,
    build: (shape, o) => new WaveganGenerator(shape, o),
  },
} satisfies Record<string, Family<Generator>>;

export const discriminators = {
  mlp: { description: "the tutorial's MLP", options: mlpDiscriminatorOptions, build: (shape, o) => new MlpDiscriminator(shape, o) },
  dcgan: { description: "DCGAN's strided convolutions", options: dcganDiscriminatorOptions, build: (shape, o) => new DcganDiscriminator(shape, o) },
  "seq-resnet": {
    description: "for text: residual 1-D convolutions over one-hot characters (Gulrajani et al. 2017)",
    options: seqDiscriminatorOptions,
    build: (shape, o) => new SeqResnetDiscriminator(shape, o),
  },
  wavegan: {
    description: "for audio: WaveGAN's strided 1-D convolutions with phase shuffle; conditional by projection (or with auxClassifier, AC-GAN's class head)",
    options: waveganDiscriminatorOptions,
    build: (shape, o) => new WaveganDiscriminator(shape, o),
  },
  patch: {
    description: "PatchGAN: a logit per overlapping image patch (pix2pix, CycleGAN); for paired translation it reads the input beside the output",
    options: patchDiscriminatorOptions,
    build: (shape, o) => new PatchDiscriminator(shape, o),
  },
  autoencoder: {
    description: "an autoencoder whose output is its reconstruction error: the energy model of BEGAN and EBGAN (losses began, ebgan)",
    options: autoencoderDiscriminatorOptions,
    build: (shape, o) => new AutoencoderDiscriminator(shape, o),
  },
} satisfies Record<string, Family<Discriminator>>;

export type GeneratorName = keyof typeof generators;
export type DiscriminatorName = keyof typeof discriminators;

/** A model family and its options, as a config names it. */
export interface ModelSpec<N extends string = string> {
  name: N;
  options?: Record<string, unknown>;
}

function lookup<T>(table: Record<string, T>, name: string, path: string): T {
  const found = Object.hasOwn(table, name) ? table[name] : undefined;
  if (!found) throw new ConfigError([{ path, message: `unknown model '${name}': expected one of ${Object.keys(table).join(", ")}` }]);
  return found;
}

/** The other direction of an unpaired translation: the source domain as data, the target as input. */
function reversed(shape: ModelShape): ModelShape {
  return { ...shape, dataShape: shape.source!.shape, source: { shape: shape.dataShape, paired: false } };
}

/** A generator of the spec's family; for unpaired translation (CycleGAN), two of them, one per direction. */
export function buildGenerator(spec: ModelSpec, shape: ModelShape): Generator {
  const family = lookup<Family<Generator>>(generators, spec.name, "model.generator.name");
  const build = (s: ModelShape) => family.build(s, (spec.options ?? {}) as never);
  const G = build(shape);
  if (shape.source && !G.translates) {
    throw new ConfigError([
      {
        path: "model.generator.name",
        message: `the data is for image translation (input to output image): use a translating generator, unet or resnet; got ${spec.name}`,
      },
    ]);
  }
  return shape.source && !shape.source.paired ? new CycleGenerator(shape, G, build(reversed(shape))) : G;
}

/** How many fakes each CycleGAN discriminator keeps to learn from (Zhu et al.: 50). */
const POOL_SIZE = 50;

/**
 * A discriminator of the spec's family. For paired translation (pix2pix) it reads the input and
 * the output image side by side; for unpaired (CycleGAN), one per domain, each with its pool of fakes.
 */
export function buildDiscriminator(spec: ModelSpec, shape: ModelShape): Discriminator {
  const family = lookup<Family<Discriminator>>(discriminators, spec.name, "model.discriminator.name");
  const build = (s: ModelShape) => family.build(s, (spec.options ?? {}) as never);
  if (!shape.source) return build(shape);
  const [c, ...rest] = shape.dataShape;
  if (shape.source.paired) return build({ ...shape, dataShape: [c + shape.source.shape[0], ...rest] });
  return new CycleDiscriminator(shape, build(shape), build(reversed(shape)), POOL_SIZE);
}
