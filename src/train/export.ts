// The generator export: weights in safetensors plus a JSON card saying how to rebuild and use it.
// loadGenerator() reads it back; the CLI's sample and interpolate take it.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Tensor, keep, loadSafetensors, noGrad, saveSafetensors, withSeed } from "../engine/index.js";
import { buildGenerator, type Generator, type LatentCodes, type ModelShape, type ModelSpec } from "../models/index.js";
import { batchNormStatistics, preciseBatchNorm } from "../nn/index.js";
import { sampleLatent, type Gan } from "./gan.js";
import { CheckpointError, ConfigError } from "../errors.js";
import type { GanConfig } from "./config.js";
import { writeFileAtomic } from "../util/atomic-write.js";

export interface GeneratorCard {
  format: "gantry-generator";
  version: 1;
  preset: string | null;
  dataset: string;
  generator: ModelSpec;
  latentDim: number;
  /** Classes G is conditioned on; 0 when unconditional. */
  numClasses: number;
  dataShape: number[];
  /** For text: the characters by one-hot index (index 0 is padding). */
  vocabulary?: string;
  /** InfoGAN's codes at the end of z (latentDim counts them). */
  codes?: LatentCodes;
  /** Image translation: G's input image shape, and whether it learnt from pairs (pix2pix) or not (CycleGAN). */
  source?: { shape: number[]; paired: boolean };
  /** Audio: the sample rate, in Hz, of the (1, length) clips G makes. */
  sampleRate?: number;
  /** The training data's config (dataset and options), so evaluation can reopen it. */
  data?: GanConfig["data"];
  /** The data range G's output is scaled to. */
  range: [number, number];
  steps: number;
  /** The decay of the EMA copy of G that these weights are, or null for G itself. */
  ema: number | null;
  /** Evaluation results, once measured (gantry eval). */
  metrics: Record<string, number>;
}

/** The card describing a generator trained with `config`, for `shape`, after `steps` steps. */
export function generatorCard(config: GanConfig, shape: ModelShape, steps: number): GeneratorCard {
  return {
    format: "gantry-generator",
    version: 1,
    preset: config.preset,
    dataset: config.data.dataset,
    generator: config.model.generator,
    latentDim: shape.latentDim,
    numClasses: shape.numClasses,
    dataShape: shape.dataShape,
    ...(shape.vocabulary && { vocabulary: shape.vocabulary }),
    ...(shape.codes && { codes: shape.codes }),
    ...(shape.source && { source: shape.source }),
    ...(shape.sampleRate && { sampleRate: shape.sampleRate }),
    data: config.data,
    range: [-1, 1],
    steps,
    ema: config.train.emaDecay,
    metrics: {},
  };
}

/**
 * Writes RUN_DIR/generator.safetensors and RUN_DIR/generator.json; returns the weights' path.
 * G's BatchNorm statistics in the export are calibrated to its final weights; G itself is unchanged.
 */
export function exportGenerator(runDir: string, gan: Gan, G: Generator, steps: number): string {
  const card = generatorCard(gan.config, gan.shape, steps);
  const path = join(runDir, "generator.safetensors");
  withCalibratedGenerator(G, gan.shape, () => saveSafetensors(path, G.stateDict(), { "gantry-card": JSON.stringify(card) }, { digest: true }));
  writeFileAtomic(join(runDir, "generator.json"), `${JSON.stringify(card, null, 2)}\n`);
  return path;
}

export interface LoadedGenerator {
  G: Generator;
  card: GeneratorCard;
  shape: ModelShape;
  /** n samples (n, ...dataShape) in [-1, 1], with the labels used for conditional models. */
  sample(n: number, options?: { classLabel?: number; codes?: PinnedCodes }): { samples: Tensor; labels?: Tensor };
}

/** Loads an export: a run directory, its generator.safetensors, or generator.json beside it. */
export function loadGenerator(path: string): LoadedGenerator {
  const weights = existsSync(path) && statSync(path).isDirectory() ? join(path, "generator.safetensors") : path.replace(/\.json$/, ".safetensors");
  if (!existsSync(weights))
    throw new CheckpointError(`${path}: no generator export there (expected ${weights}); train to the end, or sample from a run with --run`);
  const { tensors, metadata } = loadSafetensors(weights);
  const cardText =
    metadata["gantry-card"] ??
    (existsSync(weights.replace(/\.safetensors$/, ".json")) ? readFileSync(weights.replace(/\.safetensors$/, ".json"), "utf8") : null);
  if (!cardText) throw new CheckpointError(`${weights}: no generator card (gantry-card metadata or generator.json)`);
  let card: GeneratorCard;
  try {
    card = JSON.parse(cardText) as GeneratorCard;
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw new CheckpointError(`${weights}: its generator card is not valid JSON`, { cause: err });
  }
  if (card?.format !== "gantry-generator")
    throw new CheckpointError(`${weights}: its card's format is ${JSON.stringify(card.format)}, expected "gantry-generator"`);
  const shape = shapeOfCard(card);
  const G = withSeed(0, () => buildGenerator(card.generator, shape)); // initial weights are replaced: keep the caller's RNG
  G.loadStateDict(tensors, weights);
  for (const t of Object.values(tensors)) t.dispose();
  G.eval();
  return loadedGenerator(G, card, shape);
}

/** A ready generator with its card and shape, and a sampler over them. */
export function loadedGenerator(G: Generator, card: GeneratorCard, shape: ModelShape): LoadedGenerator {
  return { G, card, shape, sample: (n, options = {}) => sampleFrom(G, shape, n, options.classLabel, options.codes) };
}

/** What the generator a card describes makes and takes. */
export function shapeOfCard(card: GeneratorCard): ModelShape {
  return {
    dataShape: card.dataShape,
    latentDim: card.latentDim,
    numClasses: card.numClasses,
    ...(card.vocabulary && { vocabulary: card.vocabulary }),
    ...(card.codes && { codes: card.codes }),
    ...(card.source && { source: card.source }),
    ...(card.sampleRate && { sampleRate: card.sampleRate }),
  };
}

/** InfoGAN codes to pin when sampling: the categorical value, and continuous code i's value. */
export interface PinnedCodes {
  categorical?: number;
  continuous?: Record<number, number>;
}

/** calibrateGenerator's batches of latents, their fixed seed, and how many latents it averages over by default. */
const CALIBRATION = { batchSize: 256, seed: 0x5eed, latents: 4096 };
/** Latents for calibrating a sample grid: pictures only, so a quarter of the default (4 DCGAN batches, about 0.3 s on 2 threads). */
export const GRID_CALIBRATION_LATENTS = 1024;

/**
 * Gives G's BatchNorms the precise statistics of its current weights (nn's preciseBatchNorm), over
 * `latents` latents (4,096 unless told) from a fixed seed; the caller's RNG is left as it was. A generator trained with
 * batch statistics keeps, for eval mode, only a momentum average that lags its weights, and an EMA
 * copy keeps the live G's, which do not fit its averaged weights: on the 5x5 toy grid, sampling
 * with them loses modes (20 of 25 where calibrated statistics give 25). Translators are left alone:
 * their statistics come from images, not latents. Returns whether anything was calibrated.
 */
export function calibrateGenerator(G: Generator, shape: ModelShape, latents = CALIBRATION.latents): boolean {
  if (shape.source) return false;
  const device = G.parameters()[0]?.device ?? "cpu";
  // G as it samples: the rest of it in eval mode (no dropout, mixing or power iteration) while its BatchNorms average.
  const modes = G.modules().map((m) => [m, m.training] as const);
  G.eval();
  try {
    return withSeed(CALIBRATION.seed, () =>
      preciseBatchNorm(G, Math.max(1, Math.round(latents / CALIBRATION.batchSize)), () => {
        const { z, labels } = sampleLatent(shape, CALIBRATION.batchSize, device);
        G.forward(z, labels);
      }),
    );
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
}

/**
 * Runs fn (sync or async) with G calibrated (calibrateGenerator), then puts G's BatchNorm statistics
 * back as they were, so that grids and evaluations during training never change what training
 * saves. A G without BatchNorm, or a translator, just runs fn.
 */
export function withCalibratedGenerator<T>(G: Generator, shape: ModelShape, fn: () => T, latents = CALIBRATION.latents): T {
  const statistics = shape.source ? [] : batchNormStatistics(G);
  if (!statistics.length) return fn();
  const saved = statistics.map((b) => [b, keep(b.clone())] as const);
  const restore = () =>
    noGrad(() => {
      for (const [b, copy] of saved) {
        b.copy_(copy);
        copy.dispose();
      }
    });
  let result: T;
  try {
    calibrateGenerator(G, shape, latents);
    result = fn();
  } catch (err) {
    restore();
    throw err;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}

export function sampleFrom(G: Generator, shape: ModelShape, n: number, classLabel?: number, codes: PinnedCodes = {}): { samples: Tensor; labels?: Tensor } {
  if (shape.source) {
    throw new ConfigError([
      {
        path: "--run",
        message: "this generator translates images (pix2pix, CycleGAN) rather than sampling noise: use gantry translate --run RUN --input IMAGES",
      },
    ]);
  }
  return noGrad(() => {
    const { z, labels } = sampleLatent(shape, n, G.parameters()[0]?.device ?? "cpu", codes);
    const chosen = labels && classLabel !== undefined ? labels.mul(0).add(classLabel) : labels;
    return { samples: G.forward(z, chosen), labels: chosen };
  });
}
