// The engine: typed tensors with autograd over libtorch.
export { Tensor, type Scalar, type Dims, type Reduction } from "./tensor.js";
export {
  tensor,
  empty,
  zeros,
  ones,
  full,
  rand,
  randn,
  randint,
  arange,
  zerosLike,
  onesLike,
  randnLike,
  randLike,
  fullLike,
  liveTensors,
  type TensorOptions,
} from "./creation.js";
export {
  cat,
  stack,
  where,
  oneHot,
  embedding,
  pad,
  linear,
  conv1d,
  convTranspose1d,
  conv2d,
  convTranspose2d,
  batchNorm,
  instanceNorm,
  layerNorm,
  dropout,
  maxPool2d,
  avgPool2d,
  upsample,
  affineGrid,
  gridSample,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  mseLoss,
  crossEntropy,
  softmax,
  logSoftmax,
  cdist,
  eigh,
  kthvalue,
} from "./functional.js";
export { grad, noGrad, enableGrad, isGradEnabled, type GradOptions } from "./autograd.js";
export { tidy, keep, scope } from "./scope.js";
export { withBatchShard, withSegments, drawBatch, assertBatchSplits, globalMean, globalStd, type BatchShard } from "./shard.js";
export { ThreadGovernor, parseProcStat, describeChange, type ThreadChange, type GovernorIO, type CpuTimes } from "./threads.js";
export { availableCores } from "./native.js";
export {
  devices,
  cudaAvailable,
  resolveDevice,
  setNumThreads,
  getNumThreads,
  parallelGemm,
  manualSeed,
  withSeed,
  getRngState,
  setRngState,
  torchVersion,
} from "./device.js";
export { saveSafetensors, loadSafetensors, serialize, deserialize, type TensorDict, type Metadata } from "./safetensors.js";
export { op, Op } from "./dispatch.js";
export { torchSave } from "./torch-format.js";
export type { DType } from "./dtype.js";
