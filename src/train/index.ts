// train: configs, presets, the Gan, the trainer, checkpoints and the generator export.
import { loadCheckpoint, latestCheckpoint } from "./checkpoint.js";
import { buildGenerator, type ModelShape } from "../models/index.js";
import { dataShapeOf } from "./gan.js";
import { sampleFrom, type LoadedGenerator, type GeneratorCard } from "./export.js";

export { defaults, validate, merge, type GanConfig, type DeepPartial } from "./config.js";
export { presets } from "./presets.js";
export { createGan, resolveConfig, sampleLatent, type Gan } from "./gan.js";
export { Trainer, type StepStats, type TrainerEvents, type TrainerOptions } from "./trainer.js";
export { saveCheckpoint, loadCheckpoint, latestCheckpoint } from "./checkpoint.js";
export { exportGenerator, loadGenerator, sampleFrom, type GeneratorCard, type LoadedGenerator } from "./export.js";

/** G (its EMA copy when the run keeps one) from a run's newest checkpoint. */
export function generatorFromCheckpoint(runDir: string): LoadedGenerator {
  const path = latestCheckpoint(runDir);
  const state = loadCheckpoint(path);
  const { config } = state;
  const { dataShape, numClasses } = dataShapeOf(config.data);
  const shape: ModelShape = { dataShape, latentDim: config.model.latentDim, numClasses: config.model.conditional ? numClasses : 0 };
  const G = buildGenerator(config.model.generator, shape);
  G.loadStateDict(state.tensors.G_ema ?? state.tensors.G, path);
  G.eval();
  const card: GeneratorCard = {
    format: "gantry-generator", version: 1, preset: config.preset, dataset: config.data.dataset, generator: config.model.generator,
    latentDim: shape.latentDim, numClasses: shape.numClasses, dataShape, range: [-1, 1], steps: state.step, metrics: {},
  };
  return { G, card, shape, sample: (n, options = {}) => sampleFrom(G, shape, n, options.classLabel) };
}
