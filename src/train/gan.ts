// A GAN: G, D and the loss built from a resolved config, with the data's shape. createGan() is
// the library's entry point; the trainer, sampling and export all take a Gan.
import { type Tensor, manualSeed, randint, randn } from "../engine/index.js";
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
  const { dataShape, numClasses, vocabulary } = dataShapeOf(config.data);
  return { dataShape, latentDim: config.model.latentDim, numClasses: config.model.conditional ? numClasses : 0, ...(vocabulary && { vocabulary }) };
}

/** Builds G, D and the loss for a preset name or a (partial) config, seeded from it. */
export function createGan(from: string | ConfigOverrides): Gan {
  const config = typeof from === "string" ? resolveConfig(from) : resolveConfig(from.preset ?? null, from);
  if (config.model.conditional && dataShapeOf(config.data).numClasses === 0) {
    throw new ConfigError([{ path: "model.conditional", message: `dataset ${config.data.dataset} has no labels to condition on` }]);
  }
  const shape = modelShapeOf(config);
  const { pack } = config.model;
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
  if (shape.numClasses === 0 && D.auxClasses > 0) {
    throw new ConfigError([{ path: "model.discriminator.options.auxClassifier", message: "needs model.conditional: true" }]);
  }
  const { name, realLabel, penaltyWeight, gamma, margin, pullAway } = config.loss;
  const loss = buildLoss(name, { realLabel, penaltyWeight: penaltyWeight ?? undefined, gamma, margin, pullAway });
  if (Boolean(loss.energy) !== D.energy) {
    throw new ConfigError([
      loss.energy
        ? { path: "model.discriminator.name", message: `loss ${name} needs an energy model as D: set it to autoencoder` }
        : { path: "loss.name", message: `the autoencoder discriminator outputs an energy, which only the began and ebgan losses read; got ${name}` },
    ]);
  }
  return { config, shape, G, D, loss };
}

/** Noise (n, latentDim) and, for conditional models, uniformly drawn labels (n). */
export function sampleLatent(shape: ModelShape, n: number, device = "cpu"): { z: Tensor; labels?: Tensor } {
  const z = randn([n, shape.latentDim], { device });
  return shape.numClasses ? { z, labels: randint(0, shape.numClasses, [n], { device }) } : { z };
}
