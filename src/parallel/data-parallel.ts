// Data-parallel training over PyTorch's c10d (gloo over TCP; native/dist.cc). Each of N ranks
// holds the same G and D, computes its slice of every global batch (engine/shard.ts makes its
// random draws the global batch's rows), and after each backward averages the gradients across
// ranks, so that every optimizer step is the one a single process would take at the global batch.
// The averaging is PyTorch's own DistributedDataParallel Reducer: gradients go out in buckets while
// backward is still computing the rest.
import { type BatchShard, type Tensor, tensor, tidy } from "../engine/index.js";
import { native, type GroupHandle, type ReducerHandle } from "../engine/native.js";
import { wrap } from "../engine/tensor.js";
import type { BatchNormSync } from "../nn/index.js";
import { DistributedError } from "../errors.js";

/** Where this rank is and how to reach rank 0: PyTorch's launcher conventions (torchrun, SLURM, PyTorchJob). */
export interface DistEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  masterAddr: string;
  masterPort: number;
  /** How long a collective (or joining) may wait for the other ranks, in seconds. */
  timeoutS: number;
  /** GLOO_SOCKET_IFNAME: the network interface to use between machines. */
  iface?: string;
}

/** The gradient buckets' size caps, DDP's defaults: one all-reduce per bucket, not per tensor; a small first bucket starts sooner. */
const bucketBytes = 25 * 2 ** 20;
const firstBucketBytes = 2 ** 20;

/** One model's gradient reducer (made by DataParallel.reducer). */
export interface GradientReducer {
  readonly handle: ReducerHandle;
}

export class DataParallel {
  #group: GroupHandle | null;

  private constructor(
    readonly env: DistEnv,
    group: GroupHandle,
  ) {
    this.#group = group;
  }

  /** Joins the process group: blocks until all env.worldSize ranks have joined, or env.timeoutS passes. */
  static join(env: DistEnv): DataParallel {
    if (!native.distAvailable) {
      try {
        native.distInit({ rank: 0, worldSize: 1, masterAddr: "", masterPort: 0, timeoutMs: 0 });
      } catch (err) {
        throw new DistributedError((err as Error).message);
      }
    }
    const where = `${env.masterAddr}:${env.masterPort}`;
    try {
      const group = native.distInit({
        rank: env.rank,
        worldSize: env.worldSize,
        masterAddr: env.masterAddr,
        masterPort: env.masterPort,
        timeoutMs: Math.round(env.timeoutS * 1000),
        ...(env.iface && { iface: env.iface }),
      });
      return new DataParallel(env, group);
    } catch (err) {
      const message = (err as Error).message;
      const cause = { cause: err };
      if (/address already in use/i.test(message)) {
        throw new DistributedError(
          `rank ${env.rank}: port ${env.masterPort} is in use on ${env.masterAddr}: choose another --master-port (or MASTER_PORT)`,
          cause,
        );
      }
      if (/timeout|timed out/i.test(message)) {
        throw new DistributedError(
          `rank ${env.rank}: not all ${env.worldSize} ranks joined at ${where} within ${env.timeoutS} s: check --master-addr and --master-port (MASTER_ADDR, MASTER_PORT), that rank 0 is running there, and the other ranks' output (gloo: ${firstLine(message)})`,
          cause,
        );
      }
      throw new DistributedError(`rank ${env.rank}: could not join the process group at ${where}: ${firstLine(message)}`, cause);
    }
  }

  get rank(): number {
    return this.env.rank;
  }
  get world(): number {
    return this.env.worldSize;
  }
  /** This rank's slice of each global batch, and the sum across ranks that batch statistics take. */
  get shard(): BatchShard {
    return { rank: this.env.rank, world: this.env.worldSize, sum: (t) => this.sumAcrossRanks(t) };
  }

  /** A new tensor: t summed over every rank, differentiably (its gradient is summed the same way). */
  sumAcrossRanks(t: Tensor): Tensor {
    return this.#collectiveResult("a batch statistic's all-reduce", (g) => wrap(native.distAllreduceSum(g, t.handle)));
  }

  /** DDP's Reducer over a model's parameters: backward() through it averages their gradients across ranks. */
  reducer(params: Tensor[]): GradientReducer {
    const handles = params.map((p) => p.handle);
    const handle = this.#collectiveResult("building the gradient buckets", (g) => native.distReducer(g, handles, bucketBytes, firstBucketBytes));
    return { handle };
  }

  /**
   * loss.backward(), with the reducer's parameters' gradients averaged across ranks by the time it
   * returns: each bucket's all-reduce starts as soon as its gradients are ready.
   */
  backward(loss: Tensor, reducer: GradientReducer, what: string): void {
    this.#collective(what, () => {
      native.distPrepareBackward(reducer.handle, [loss.handle]);
      loss.backward();
    });
  }

  /**
   * Training-mode batch norm over every rank's slice together (PyTorch's SyncBatchNorm): the
   * statistics, and the running ones, are those of the global batch. Not twice differentiable.
   */
  syncBatchNorm(...[x, runningMean, runningVar, weight, bias, options]: Parameters<BatchNormSync>): Tensor {
    return this.#collectiveResult("a synchronized batch norm", (g) =>
      wrap(
        native.distSyncBatchNorm(
          g,
          x.handle,
          weight?.handle ?? null,
          bias?.handle ?? null,
          runningMean.handle,
          runningVar.handle,
          options.momentum,
          options.eps,
        ),
      ),
    );
  }

  /** Averages the tensors across ranks in place, as one flat buffer (one collective). */
  average(tensors: Tensor[], what: string): void {
    const handles = tensors.map((t) => t.handle);
    this.#collective(what, (g) => native.distAllreduce(g, handles, true));
  }

  /** The mean of each number across ranks (one small all-reduce, in float64). */
  averageNumbers(values: number[], what: string): number[] {
    return tidy(() => {
      const t = tensor(Float64Array.from(values));
      this.average([t], what);
      return Array.from(t.toArray() as number[]);
    });
  }

  /** Every rank's tensors become rank 0's, in place (the initial weights). */
  broadcast(tensors: Tensor[], what: string): void {
    this.#collective(what, (g) =>
      native.distBroadcast(
        g,
        tensors.map((t) => t.handle),
        0,
      ),
    );
  }

  barrier(what: string): void {
    this.#collective(what, (g) => native.distBarrier(g));
  }

  /** Leaves the group (closes its connections); later collectives fail. */
  shutdown(): void {
    if (this.#group) native.distShutdown(this.#group);
    this.#group = null;
  }

  #collectiveResult<T>(what: string, body: (group: GroupHandle) => T): T {
    let out: T | undefined;
    this.#collective(what, (g) => {
      out = body(g);
    });
    return out as T;
  }

  /** Runs one collective, turning gloo's failures into a message naming this rank and what it was doing. */
  #collective(what: string, body: (group: GroupHandle) => void): void {
    if (!this.#group) throw new DistributedError(`rank ${this.rank}: ${what}: the process group was shut down`);
    try {
      body(this.#group);
    } catch (err) {
      const message = (err as Error).message;
      const cause = { cause: err };
      if (/finished reduction in the prior iteration/.test(message)) {
        throw new DistributedError(
          `rank ${this.rank}: during ${what}: some parameters received no gradient in the previous step, which data-parallel training needs from every parameter (an unused layer?); PyTorch's message: ${firstLine(message)}`,
          cause,
        );
      }
      if (/timed? ?out/i.test(message)) {
        throw new DistributedError(
          `rank ${this.rank}: no answer from the other ranks within ${this.env.timeoutS} s during ${what} (gloo: ${firstLine(message)})`,
          cause,
        );
      }
      // Anything else from backward itself is not the network's doing: as it came.
      if (!/gloo|connection|socket|peer|broken pipe|closed/i.test(message)) throw err;
      throw new DistributedError(
        `rank ${this.rank}: lost contact with another rank during ${what}: its process exited or was killed (its output says why); the newest checkpoint is intact (gloo: ${firstLine(message)})`,
        cause,
      );
    }
  }
}

const firstLine = (message: string) => message.split("\n")[0].trim();
