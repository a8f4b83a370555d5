// A GAN: G, D and the loss built from a resolved config, with the data's shape. createGan() is
// the library's entry point; the trainer, sampling and export all take a Gan.
import { type Tensor, cat as cat_, drawBatch, full, manualSeed, oneHot, rand, randint, randn } from "../engine/index.js";
import { PackedDiscriminator, packedShape, buildGenerator, buildDiscriminator, type Generator, type Discriminator, type ModelShape } from "../models/index.js";
import { buildLoss, type AdversarialLoss } from "../losses/index.js";
import { defaults, merge, validate, type ConfigOverrides, type GanConfig } from "./config.js";
import { dataShapeOf } from "../data/registry.js";
import { presets } from "./presets.js";
import { ConfigError } from "../errors.js";
import { didYouMean } from "../util/schema.js";

export interface Gan {
  config: GanConfig;
  shape: ModelShape;
  G: Generator;
  D: Discriminator;
  loss: AdversarialLoss;
}

/** Resolves a preset name and/or overrides into a validated config. */
export function resolveConfig(preset: string | null, overrides: ConfigOverrides = {}): GanConfig {
  // Overrides land on the full defaults, so a partial object (model.generator.options alone)
  // keeps the family it refines.
  let base: ConfigOverrides = structuredClone(defaults);
  if (preset !== null) {
    const found = Object.hasOwn(presets, preset) ? presets[preset] : undefined;
    if (!found) {
      const guess = didYouMean(preset, Object.keys(presets));
      throw new ConfigError([
        {
          path: "preset",
          message: `unknown preset '${preset}'${guess ? ` (did you mean '${guess}'?)` : ""}: expected one of ${Object.keys(presets).join(", ")}`,
        },
      ]);
    }
    base = merge(merge(base, structuredClone(found.overrides)), { preset });
  }
  return validate(merge(base, overrides));
}

/** What G makes and takes under a config: the data's shape, the noise size and the classes (0 if unconditional). */
export function modelShapeOf(config: GanConfig): ModelShape {
  const { dataShape, numClasses, vocabulary, source, sampleRate } = dataShapeOf(config.data);
  const { categorical, continuous } = config.model.codes;
  return {
    dataShape,
    latentDim: config.model.latentDim + categorical + continuous,
    numClasses: config.model.conditional ? numClasses : 0,
    ...(vocabulary && { vocabulary }),
    ...(source && { source }),
    ...(sampleRate && { sampleRate }),
    ...((categorical || continuous) && { codes: { categorical, continuous } }),
  };
}

/** Builds G, D and the loss for a preset name or a (partial) config, seeded from it. */
export function createGan(from: string | ConfigOverrides): Gan {
  const config = typeof from === "string" ? resolveConfig(from) : resolveConfig(from.preset ?? null, from);
  if (config.model.conditional && dataShapeOf(config.data).numClasses === 0) {
    throw new ConfigError([{ path: "model.conditional", message: `dataset ${config.data.dataset} has no labels to condition on` }]);
  }
  const shape = modelShapeOf(config);
  const { pack } = config.model;
  if (shape.source) {
    const refuse = (path: string, what: string) =>
      new ConfigError([{ path, message: `${what} is not for image translation (dataset ${config.data.dataset})` }]);
    if (config.model.conditional) throw refuse("model.conditional", "conditioning on labels");
    if (pack > 1) throw refuse("model.pack", "packing (PacGAN)");
    if (shape.codes) throw refuse("model.codes", "InfoGAN's codes");
    if (config.train.nCritic > 1 || config.train.unrolledSteps)
      throw refuse(config.train.nCritic > 1 ? "train.nCritic" : "train.unrolledSteps", "more D steps per G step");
    if (config.train.topK < 1) throw refuse("train.topK", "top-k training");
  }
  if (pack > 1 && shape.numClasses)
    throw new ConfigError([{ path: "model.pack", message: "packing (PacGAN) is for unconditional models; set model.conditional false or model.pack 1" }]);
  if (config.train.batchSize % pack !== 0) {
    throw new ConfigError([{ path: "train.batchSize", message: `${config.train.batchSize} is not a multiple of model.pack (${pack})` }]);
  }
  manualSeed(config.train.seed);
  const G = buildGenerator(config.model.generator, shape);
  const D =
    pack > 1
      ? new PackedDiscriminator(shape, buildDiscriminator(config.model.discriminator, packedShape(shape, pack)), pack)
      : buildDiscriminator(config.model.discriminator, shape);
  if (shape.codes && D.codeOutputs === 0) {
    throw new ConfigError([
      {
        path: "model.codes",
        message: `InfoGAN's codes need a discriminator that predicts them (mlp or dcgan, unpacked); got ${config.model.discriminator.name}${pack > 1 ? " packed" : ""}`,
      },
    ]);
  }
  if (shape.numClasses === 0 && D.auxClasses > 0) {
    throw new ConfigError([{ path: "model.discriminator.options.auxClassifier", message: "needs model.conditional: true" }]);
  }
  const { name, realLabel, penaltyWeight, gamma, margin, pullAway } = config.loss;
  const loss = buildLoss(name, { realLabel, penaltyWeight: penaltyWeight ?? undefined, gamma, margin, pullAway });
  if (shape.source && (loss.penalty || loss.energy || loss.relativistic || loss.clip)) {
    throw new ConfigError([
      { path: "loss.name", message: `${name} is not wired into image translation: use non-saturating (pix2pix), least-squares (CycleGAN), minimax or hinge` },
    ]);
  }
  if (Boolean(loss.energy) !== D.energy) {
    throw new ConfigError([
      loss.energy
        ? { path: "model.discriminator.name", message: `loss ${name} needs an energy model as D: set it to autoencoder` }
        : { path: "loss.name", message: `the autoencoder discriminator outputs an energy, which only the began and ebgan losses read; got ${name}` },
    ]);
  }
  return { config, shape, G, D, loss };
}

/** InfoGAN's codes as drawn: the categorical value (n) and the continuous ones (n, C) in [-1, 1]. */
export interface DrawnCodes {
  categorical: Tensor | null;
  continuous: Tensor | null;
}

/**
 * Noise (n, latentDim) and, for conditional models, uniformly drawn labels (n). With InfoGAN's
 * codes, z ends with the categorical code one-hot and the continuous codes, drawn uniformly;
 * `fix` pins any of them (the categorical value, or continuous code i to a value).
 */
export function sampleLatent(
  shape: ModelShape,
  n: number,
  device = "cpu",
  fix: { categorical?: number; continuous?: Record<number, number> } = {},
): { z: Tensor; labels?: Tensor; codes?: DrawnCodes } {
  // Every draw is batch-shaped: under data parallelism each rank keeps its rows of the global draw.
  const drawLabels = () => (shape.numClasses ? { labels: drawBatch([n], (s) => randint(0, shape.numClasses, s, { device })) } : {});
  if (!shape.codes) {
    const z = drawBatch([n, shape.latentDim], (s) => randn(s, { device })); // z before the labels: the order every earlier run drew them in
    return { z, ...drawLabels() };
  }
  const labels = drawLabels();
  const { categorical: K, continuous: C } = shape.codes;
  const noise = drawBatch([n, shape.latentDim - K - C], (s) => randn(s, { device }));
  const cat = K
    ? fix.categorical === undefined
      ? drawBatch([n], (s) => randint(0, K, s, { device }))
      : full([n], fix.categorical, { device, dtype: "int64" })
    : null;
  const pinned = fix.continuous ?? {};
  const column = (i: number) =>
    pinned[i] === undefined
      ? drawBatch([n, 1], (s) => rand(s, { device }))
          .mul(2)
          .sub(1)
      : full([n, 1], pinned[i], { device });
  const cont = C
    ? Object.keys(pinned).length
      ? cat_(
          Array.from({ length: C }, (_, i) => column(i)),
          1,
        )
      : drawBatch([n, C], (s) => rand(s, { device }))
          .mul(2)
          .sub(1)
    : null;
  const parts = [noise, ...(cat ? [oneHot(cat, K).to({ dtype: "float32" })] : []), ...(cont ? [cont] : [])];
  return { z: cat_(parts, 1), ...labels, codes: { categorical: cat, continuous: cont } };
}
