// nn: modules, layers, initializers and spectral norm, as torch.nn.
export { Module } from "./module.js";
export {
  Linear,
  Conv1d,
  ConvTranspose1d,
  Conv2d,
  ConvTranspose2d,
  BatchNorm1d,
  setBatchNormSync,
  type BatchNormSync,
  BatchNorm2d,
  preciseBatchNorm,
  batchNormStatistics,
  LayerNorm,
  InstanceNorm2d,
  Embedding,
  Dropout,
  ReLU,
  LeakyReLU,
  Maxout,
  ELU,
  Tanh,
  Sigmoid,
  Flatten,
  Unflatten,
  Upsample,
  MinibatchStd,
  Sequential,
  type ConvOptions,
} from "./layers.js";
export { spectralNorm, type SpectralNormOptions } from "./spectral-norm.js";
export * as init from "./init.js";
