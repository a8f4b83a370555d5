// What the trainer draws real batches from: an image dataset through the DataLoader, or a toy
// 2-D distribution sampled from libtorch's generator. Both report a resumable position.
import { type BatchShard, type Tensor, assertBatchSplits, withBatchShard } from "../engine/index.js";
import { DataLoader, type Batch, type LoaderPosition } from "../data/loader.js";
import { dataShapeOf, datasetOf } from "../data/registry.js";
import { DataError } from "../errors.js";
import { sampleToy, type ToyDistribution } from "../data/toy.js";
import type { GanConfig } from "./config.js";

export interface DataSource {
  readonly batchesPerEpoch: number;
  /** True when an epoch is a count of batches, not one pass over a dataset (toy data). */
  readonly nominalEpochs: boolean;
  readonly position: LoaderPosition;
  readonly description: string;
  seek(position: LoaderPosition): void;
  next(): Batch;
  dispose(): void;
}

/** Toy data has no epochs of its own: a nominal epoch is 100 batches. */
class ToySource implements DataSource {
  readonly batchesPerEpoch = 100;
  readonly nominalEpochs = true;
  #position: LoaderPosition = { epoch: 0, batch: 0 };
  constructor(
    readonly distribution: ToyDistribution,
    /** Points per batch: this rank's share under a shard. */
    readonly batchSize: number,
    readonly device: string,
    readonly shard: BatchShard | null = null,
  ) {}
  get description() {
    return `toy distribution ${this.distribution.name}`;
  }
  get position() {
    return { ...this.#position };
  }
  seek(position: LoaderPosition) {
    this.#position = { ...position };
  }
  next(): Batch {
    if (this.#position.batch >= this.batchesPerEpoch) this.#position = { epoch: this.#position.epoch + 1, batch: 0 };
    this.#position.batch++;
    const points = withBatchShard(this.shard, () => sampleToy(this.distribution, this.batchSize));
    if (this.device === "cpu") return { images: points, labels: null };
    const moved: Tensor = points.to(this.device);
    points.dispose();
    return { images: moved, labels: null };
  }
  dispose() {}
}

/**
 * Opens the config's data. With a shard, each batch is this rank's slice of the global batch of
 * train.batchSize (toy draws are sharded by the engine's drawBatch, images by the loader).
 */
export async function openDataSource(config: GanConfig, log: (m: string) => void = () => {}, shard: BatchShard | null = null): Promise<DataSource> {
  const { batchSize, seed, device } = config.train;
  if (shard) assertBatchSplits(batchSize, shard.world, "train.batchSize");
  const opened = await datasetOf(config.data.dataset).open(config.data as never, log);
  if (opened.kind === "points") return new ToySource(opened.distribution, shard ? batchSize / shard.world : batchSize, device, shard);
  const data = opened.dataset;
  const expected = dataShapeOf(config.data).dataShape;
  if (data.imageShape.join("x") !== expected.join("x")) {
    throw new DataError(`${data.source}: its samples have shape ${data.imageShape.join("x")}, but ${config.data.dataset} models expect ${expected.join("x")}`);
  }
  const loader = new DataLoader(data, { batchSize, seed, device, shard });
  const { vocabulary, sampleRate } = dataShapeOf(config.data);
  const what = vocabulary ? "items" : sampleRate ? `clips at ${sampleRate} Hz` : "images";
  return Object.assign(loader, { description: `${data.name} (${data.length} ${what} from ${data.source})`, nominalEpochs: false });
}
