// The data loader: a seeded shuffle per epoch, fixed-size batches (the last partial batch is
// dropped), images scaled to [-1, 1]. Its order depends only on (seed, epoch), so training
// resumes from any position exactly. The dataset lives on the training device as one uint8
// tensor, and a batch is one index_select there: there is nothing for a prefetcher to hide.
import { type BatchShard, type Tensor, assertBatchSplits, keep, tensor, tidy } from "../engine/index.js";
import type { ImageDataset } from "./datasets.js";
import { ConfigError } from "../errors.js";

export interface Batch {
  /** (B, C, H, W) float32 in [-1, 1] */
  images: Tensor;
  /** (B) int64 class indices, or null for unlabelled data */
  labels: Tensor | null;
  /** Image-to-image translation: the input images (B, ...sourceShape) in [-1, 1], beside their targets in `images`. */
  sources?: Tensor;
}

export interface LoaderPosition {
  epoch: number;
  /** The next batch's index within the epoch. */
  batch: number;
}

/** A small, fast 32-bit PRNG (SplitMix32), independent of libtorch's generator. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
}

/** The permutation of 0..n-1 for one epoch: Fisher-Yates driven by (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  const random = prng(Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) + Math.imul(epoch + 1, 0x165667b1));
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** What a loader keeps of its dataset: all but the samples, which live in its tensors from then on. */
export type LoadedDataset = Omit<ImageDataset<Uint8Array | Float32Array>, "images" | "sources">;

export class DataLoader {
  readonly batchesPerEpoch: number;
  /** The dataset without its samples: the loader holds them once, as tensors, so the arrays they were read into can be freed. */
  readonly dataset: LoadedDataset;
  readonly #images: Tensor; // (N, C, H, W) uint8, or float32 already in [-1, 1] (audio)
  readonly #labels: Tensor | null;
  readonly #sources: Tensor | null;
  #position: LoaderPosition = { epoch: 0, batch: 0 };
  #order: Tensor | null = null;
  #orderEpoch = -1;

  constructor(
    dataset: ImageDataset<Uint8Array | Float32Array>,
    /** With a shard (data-parallel training), next() returns this rank's rows of each global batch of batchSize. */
    readonly options: { batchSize: number; seed: number; device?: string; shard?: BatchShard | null },
  ) {
    const { batchSize, shard } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError([{ path: "batchSize", message: `must be a positive integer, got ${batchSize}` }]);
    if (shard) assertBatchSplits(batchSize, shard.world, "batchSize");
    this.batchesPerEpoch = Math.floor(dataset.length / batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new ConfigError([{ path: "batchSize", message: `${batchSize} is larger than the dataset (${dataset.length} images from ${dataset.source})` }]);
    }
    const device = options.device ?? "cpu";
    const dtype = dataset.images instanceof Float32Array ? "float32" : "uint8";
    this.#images = keep(tidy(() => tensor(dataset.images, { dtype, shape: [dataset.length, ...dataset.imageShape] }).to({ device })));
    this.#labels = dataset.labels ? keep(tidy(() => tensor(dataset.labels!, { dtype: "uint8" }).to({ dtype: "int64", device }))) : null;
    const { images: _images, sources, ...rest } = dataset;
    const { sourceShape } = rest;
    this.#sources =
      sources && sourceShape ? keep(tidy(() => tensor(sources, { dtype: "uint8", shape: [dataset.length, ...sourceShape] }).to({ device }))) : null;
    this.dataset = rest;
  }

  get position(): LoaderPosition {
    return { ...this.#position };
  }

  /** Continues from a saved position: the next batch is the one that would have come next. */
  seek(position: LoaderPosition): void {
    if (!(position.batch >= 0 && position.batch <= this.batchesPerEpoch)) {
      throw new ConfigError([{ path: "position.batch", message: `${position.batch} is outside 0..${this.batchesPerEpoch}` }]);
    }
    this.#position = { ...position };
  }

  #orderFor(epoch: number): Tensor {
    if (this.#orderEpoch !== epoch) {
      this.#order?.dispose();
      const order = epochOrder(this.dataset.length, this.options.seed, epoch);
      this.#order = keep(tidy(() => tensor(BigInt64Array.from(order, BigInt)).to({ device: this.#images.device })));
      this.#orderEpoch = epoch;
    }
    return this.#order!;
  }

  /** The next batch; moves to the next epoch after the last full batch. */
  next(): Batch {
    if (this.#position.batch >= this.batchesPerEpoch) this.#position = { epoch: this.#position.epoch + 1, batch: 0 };
    const { epoch, batch } = this.#position;
    const size = this.options.batchSize;
    const shard = this.options.shard;
    // This rank's contiguous slice of the global batch (all of it in one process).
    const local = shard ? size / shard.world : size;
    const index = this.#orderFor(epoch).narrow(0, batch * size + (shard ? shard.rank * local : 0), local);
    const picked = this.#images.indexSelect(0, index);
    const images = picked.dtype === "float32" ? picked : picked.to({ dtype: "float32" }).div(127.5).sub(1);
    const labels = this.#labels ? this.#labels.indexSelect(0, index) : null;
    const sources = this.#sources ? this.#sources.indexSelect(0, index).to({ dtype: "float32" }).div(127.5).sub(1) : undefined;
    index.dispose();
    this.#position = { epoch, batch: batch + 1 };
    return { images, labels, ...(sources && { sources }) };
  }

  dispose(): void {
    this.#images.dispose();
    this.#labels?.dispose();
    this.#sources?.dispose();
    this.#order?.dispose();
  }
}
