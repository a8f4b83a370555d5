// gantry's public API. Subsystems are also importable on their own: gantry/engine, gantry/nn,
// gantry/optim, gantry/data, gantry/train.
export {
  Tensor, tensor, zeros, ones, full, rand, randn, randint, arange, tidy, keep, scope, noGrad, grad,
  manualSeed, devices, setNumThreads, saveSafetensors, loadSafetensors, type DType,
} from "./engine/index.js";
export { createGan, resolveConfig, Trainer, loadGenerator, presets, type GanConfig } from "./train/index.js";
export { GanError, ConfigError, DataError, CheckpointError, ShapeError, DTypeError, EngineError } from "./errors.js";
