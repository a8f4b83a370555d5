// What the trainer draws real batches from: an image dataset through the DataLoader, or a toy
// 2-D distribution sampled from libtorch's generator. Both report a resumable position.
import { Tensor } from "../engine/index.js";
import { DataLoader, type Batch, type LoaderPosition } from "../data/loader.js";
import { loadDataset } from "../data/datasets.js";
import { loadImageFolder } from "../data/image-folder.js";
import { sampleToy, toyDistributions } from "../data/toy.js";
import type { GanConfig } from "./config.js";

export interface DataSource {
  readonly batchesPerEpoch: number;
  readonly position: LoaderPosition;
  readonly description: string;
  seek(position: LoaderPosition): void;
  next(): Batch;
  dispose(): void;
}

/** Toy data has no epochs of its own: a nominal epoch is 100 batches. */
class ToySource implements DataSource {
  readonly batchesPerEpoch = 100;
  #position: LoaderPosition = { epoch: 0, batch: 0 };
  constructor(readonly name: string, readonly batchSize: number, readonly device: string) {}
  get description() {
    return `toy distribution ${this.name}`;
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
    const points = sampleToy(toyDistributions[this.name], this.batchSize);
    if (this.device === "cpu") return { images: points, labels: null };
    const moved: Tensor = points.to(this.device);
    points.dispose();
    return { images: moved, labels: null };
  }
  dispose() {}
}

export async function openDataSource(config: GanConfig, log: (m: string) => void = () => {}): Promise<DataSource> {
  const { dataset, dataDir } = config.data;
  const { batchSize, seed, device } = config.train;
  if (dataset === "ring8" || dataset === "grid25") return new ToySource(dataset, batchSize, device);
  const data = dataset === "folder"
    ? loadImageFolder(dataDir!, { size: config.data.imageSize, channels: config.data.channels })
    : await loadDataset(dataset, { split: "train", dataDir: dataDir ?? undefined, log });
  const loader = new DataLoader(data, { batchSize, seed, device });
  return Object.assign(loader, { description: `${data.name} (${data.length} images from ${data.source})` });
}
