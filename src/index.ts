// gantry's public API.
export * as engine from "./engine/index.js";
export {
  Tensor, tensor, zeros, ones, full, rand, randn, randint, arange, tidy, keep, scope, noGrad, grad,
  manualSeed, devices, setNumThreads, saveSafetensors, loadSafetensors, type DType,
} from "./engine/index.js";
export { GanError, ConfigError, DataError, CheckpointError, ShapeError, DTypeError, EngineError } from "./errors.js";
