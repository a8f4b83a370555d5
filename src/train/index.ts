// train: configs, presets, the Gan, the trainer, checkpoints and the generator export.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { disposeState, loadLatestCheckpoint } from "./checkpoint.js";
import { buildGenerator } from "../models/index.js";
import { withSeed } from "../engine/index.js";
import { modelShapeOf } from "./gan.js";
import { calibrateGenerator, generatorCard, loadGenerator, loadedGenerator, type LoadedGenerator } from "./export.js";

export { configSchema, defaults, validate, merge, type GanConfig, type ConfigInput, type ConfigOverrides, type DeepPartial } from "./config.js";
export { presets } from "./presets.js";
export { createGan, resolveConfig, sampleLatent, modelShapeOf, type Gan } from "./gan.js";
export { Trainer, type StepStats, type TrainerEvents, type TrainerOptions } from "./trainer.js";
export {
  defaultHooks,
  statsLog,
  progressBar,
  sampleGrids,
  checkpoints,
  periodicEval,
  threadGovernor,
  scoreGenerator,
  type TrainerHook,
  type StepInfo,
} from "./hooks.js";
export { AdversarialStep, type StepContext, type StepResult } from "./step.js";
export { saveCheckpoint, loadCheckpoint, loadLatestCheckpoint, listCheckpoints, disposeState, type TrainingState } from "./checkpoint.js";
export { resumeConfig, readRunConfig, resumableFields } from "./resume.js";
export {
  exportGenerator,
  loadGenerator,
  sampleFrom,
  calibrateGenerator,
  withCalibratedGenerator,
  type GeneratorCard,
  type LoadedGenerator,
} from "./export.js";

/** A run's generator: its export when training finished, else its newest intact checkpoint's. */
export function generatorOfRun(runDir: string): LoadedGenerator {
  return existsSync(join(runDir, "generator.safetensors")) ? loadGenerator(runDir) : generatorFromCheckpoint(runDir);
}

/** G (its EMA copy when the run keeps one) from a run's newest intact checkpoint. */
export function generatorFromCheckpoint(runDir: string): LoadedGenerator {
  const { path, state } = loadLatestCheckpoint(runDir);
  try {
    const { config } = state;
    const shape = modelShapeOf(config);
    const G = withSeed(0, () => buildGenerator(config.model.generator, shape));
    G.loadStateDict(state.tensors.G_ema ?? state.tensors.G, path);
    calibrateGenerator(G, shape); // as the export at the end of training will be
    G.eval();
    return loadedGenerator(G, generatorCard(config, shape, state.step), shape);
  } finally {
    disposeState(state);
  }
}
export { readRunStatus, writeRunStatus, type RunStatus, type RunState } from "./run-status.js";
export {
  pretrainedNames,
  resolvePretrained,
  savePretrained,
  loadPretrainedGenerator,
  loadTrainedPair,
  initFromPretrained,
  type TrainedPair,
} from "./pretrained.js";
