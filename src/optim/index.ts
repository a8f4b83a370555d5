// optim: optimizers, schedules, clipping and EMA, as torch.optim.
export { Optimizer, Adam, AdamW, SGD, RMSprop, type OptimizerState, type AdamOptions, type SgdOptions, type RmspropOptions } from "./optimizer.js";
export { LRScheduler, schedules, type ScheduleName, type ScheduleOptions } from "./schedule.js";
export { clipGradNorm, clipWeights, EMA } from "./clip.js";
