// Data-parallel training's one rule for randomness: N processes must draw exactly what one
// process would. Each rank computes rows [rank * b, (rank + 1) * b) of a global batch of N * b,
// so a batch-shaped random draw is made at the global size (the same calls on the same generator
// in every rank, which all share one seed) and each rank keeps its rows; and a statistic over the
// batch (a mean or a std that a loss takes) is taken over every rank's rows together.
import type { Tensor } from "./tensor.js";
import { ConfigError } from "../errors.js";

/** Refuses a global batch that does not split into `world` equal slices, naming the field or flag at `path`. */
export function assertBatchSplits(batchSize: number, world: number, path: string): void {
  if (batchSize % world !== 0) {
    throw new ConfigError([{ path, message: `${batchSize} does not split evenly across ${world} processes: use a multiple of ${world}` }]);
  }
}

/** This process's part of each global batch: rank `rank` of `world` equal slices. */
export interface BatchShard {
  rank: number;
  world: number;
  /**
   * A tensor summed over every rank, differentiably (DataParallel's all-reduce): what batch
   * statistics need to see the global batch. Without it they see this rank's slice only.
   */
  sum?: (t: Tensor) => Tensor;
}

let active: BatchShard | null = null;
/** The parts of the batch being drawn for, each sharded on its own (withSegments); 1 outside. */
let segments = 1;

/** Runs fn with batch-shaped draws sharded (the trainer wraps each training step in it). */
export function withBatchShard<T>(shard: BatchShard | null, fn: () => T): T {
  const outer = active;
  active = shard && shard.world > 1 ? shard : null;
  try {
    return fn();
  } finally {
    active = outer;
  }
}

/**
 * A random tensor whose first dimension is the batch: draw(shape) itself, or under a shard, the
 * global batch's draw narrowed to this rank's rows. Inside withSegments(k, ...) the batch is k
 * equal parts stacked (the fast loop's real and fake halves, each sharded): rank r keeps its rows
 * of each part, where one process would have drawn them.
 */
export function drawBatch(shape: readonly number[], draw: (shape: number[]) => Tensor): Tensor {
  if (!active || shape.length === 0) return draw([...shape]);
  const [b, ...rest] = shape;
  const whole = draw([b * active.world, ...rest]);
  if (segments === 1 || b % segments !== 0) return whole.narrow(0, active.rank * b, b);
  const part = b / segments;
  return whole
    .view(segments, active.world, part, ...rest)
    .narrow(1, active.rank, 1)
    .reshape([b, ...rest]);
}

/**
 * Runs fn on a batch of k equal parts stacked along dim 0, each part sharded across ranks as the
 * batch is (D's one pass over cat([real, fake])), so that drawBatch inside gives each row the draw
 * one process would.
 */
export function withSegments<T>(k: number, fn: () => T): T {
  const outer = segments;
  segments = k;
  try {
    return fn();
  } finally {
    segments = outer;
  }
}

/**
 * The mean of all of x's elements over the global batch, differentiably: x.mean() in one process;
 * under a shard that can sum across ranks, every rank's rows together (each rank's x has the same
 * size). RaGAN's means and BEGAN's control take it.
 */
export function globalMean(x: Tensor): Tensor {
  if (!active?.sum) return x.mean();
  return active.sum(x.sum()).div(x.size * active.world);
}

/** x.std() (unbiased) over the global batch, as globalMean: DRAGAN's perturbation scale takes it. */
export function globalStd(x: Tensor): Tensor {
  if (!active?.sum) return x.std();
  const mean = globalMean(x);
  return active
    .sum(x.sub(mean).square().sum())
    .div(x.size * active.world - 1)
    .sqrt();
}
