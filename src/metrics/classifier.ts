// Feature classifiers that gantry trains itself, one per dataset. FID's InceptionV3 cannot be
// downloaded here, and a 28x28 grey digit is no ImageNet photo: gantry measures samples with a
// small CNN trained on the data's own domain. Its 128-d penultimate layer gives the features;
// its logits give class predictions. Scores from it are not comparable with Inception FID.
// Audio classifiers read clips at 8 kHz (8,192 samples) as log STFT magnitudes, the same CNN
// over (frequency, time); clips at other rates are resampled first (classifierInput).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { type Tensor, crossEntropy, loadSafetensors, manualSeed, noGrad, saveSafetensors, tidy, cat } from "../engine/index.js";
import { Module, Sequential, Conv2d, ReLU, Linear, Flatten, Dropout } from "../nn/index.js";
import { maxPool2d, tensor } from "../engine/index.js";
import { Adam, LRScheduler } from "../optim/index.js";
import { DataLoader, loadDataset, type ImageDataset } from "../data/index.js";
import { datasetOf } from "../data/registry.js";
import { fitLength, resample } from "../data/audio.js";
import { stftMagnitude } from "../data/spectrogram.js";
import { CheckpointError } from "../errors.js";
import { parseWith } from "../util/schema.js";

export const FEATURE_DIM = 128;

class Pool extends Module {
  forward(x: Tensor): Tensor {
    return maxPool2d(x, 2);
  }
}

/** What audio classifiers read: clips at this rate and length (about one second). */
export const SPEECH_INPUT = { sampleRate: 8000, length: 8192 } as const;

/** Clips (B, 1, L) -> log STFT magnitudes (B, 1, 128 bins, 63 frames): 32 ms frames, half overlapping, the Nyquist bin dropped. */
class LogSpectrogram extends Module {
  forward(x: Tensor): Tensor {
    const m = stftMagnitude(x, 256);
    return m.narrow(1, 0, 128).add(1e-3).log().unsqueeze(1);
  }
}

/**
 * (B, 1, 28, 28) images in [-1, 1], or for audio clips (B, 1, 8192) at 8 kHz -> features (B, 128)
 * and logits (B, classes).
 */
export class FeatureClassifier extends Module {
  readonly body: Sequential;
  readonly head: Linear;
  constructor(
    readonly numClasses = 10,
    readonly input: "image" | "audio" = "image",
  ) {
    super();
    const conv = (a: number, b: number) => [new Conv2d(a, b, 3, { padding: 1 }), new ReLU(), new Pool()];
    const layers =
      input === "image"
        ? [...conv(1, 32), ...conv(32, 64), new Flatten(), new Linear(64 * 7 * 7, FEATURE_DIM)]
        : [new LogSpectrogram(), ...conv(1, 32), ...conv(32, 64), ...conv(64, 128), new Flatten(), new Linear(128 * 16 * 7, FEATURE_DIM)];
    this.body = this.child("body", new Sequential(...layers, new ReLU(), new Dropout(0.25)));
    this.head = this.child("head", new Linear(FEATURE_DIM, numClasses));
  }
  forward(x: Tensor): Tensor {
    return this.head.forward(this.body.forward(x));
  }
  /** Features and logits of many images, in batches, without a graph. */
  embed(images: Tensor, batchSize = 500): { features: Tensor; logits: Tensor } {
    const wasTraining = this.training;
    this.eval();
    const parts = noGrad(() =>
      Array.from({ length: Math.ceil(images.shape[0] / batchSize) }, (_, i) =>
        tidy(() => {
          const x = images.narrow(0, i * batchSize, Math.min(batchSize, images.shape[0] - i * batchSize));
          const features = this.body.forward(x);
          return { features, logits: this.head.forward(features) };
        }),
      ),
    );
    this.train(wasTraining);
    const features = cat(parts.map((p) => p.features));
    const logits = cat(parts.map((p) => p.logits));
    for (const p of parts) {
      p.features.dispose();
      p.logits.dispose();
    }
    return { features, logits };
  }
}

const shipped = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "models", "classifiers");

/**
 * Where a dataset's shipped classifier is: DATASET.safetensors, or for a variant (`holes`: trained
 * on images with holes, which inpainting reads classes with) DATASET-VARIANT.safetensors.
 */
export function classifierPath(dataset: string, variant?: string): string {
  return join(shipped, `${dataset}${variant ? `-${variant}` : ""}.safetensors`);
}

export interface ClassifierInfo {
  dataset: string;
  /** On the test split, through `transform` when it was trained with one. */
  testAccuracy: number;
  epochs: number;
  seed: number;
  /** What its inputs went through in training and testing (e.g. "holes"); absent for whole images. */
  variant?: string;
}

/** Whether a dataset's classifier reads audio clips (at SPEECH_INPUT) rather than images. */
const inputOf = (dataset: string): "image" | "audio" => (datasetOf(dataset).audio ? "audio" : "image");

/** The classifier that ships for a dataset (models/classifiers/DATASET.safetensors). */
export function loadClassifier(dataset: string, path = classifierPath(dataset)): { model: FeatureClassifier; info: ClassifierInfo } {
  if (!existsSync(path)) {
    throw new CheckpointError(`no feature classifier for '${dataset}' at ${path}: train one with gantry classifier train --dataset ${dataset}`);
  }
  const { tensors, metadata } = loadSafetensors(path);
  const model = new FeatureClassifier(10, inputOf(dataset));
  model.loadStateDict(tensors, path);
  for (const t of Object.values(tensors)) t.dispose();
  model.eval();
  return { model, info: JSON.parse(metadata.classifier ?? "{}") as ClassifierInfo };
}

/**
 * A split of a dataset as its classifier reads it: images, or for audio the clips at 8 kHz.
 * `data` (a run's config.data) says where the clips are; the dataset's defaults otherwise.
 */
export async function classifierData(
  dataset: string,
  split: "train" | "test",
  data: Record<string, unknown> = {},
): Promise<ImageDataset<Uint8Array | Float32Array>> {
  const entry = datasetOf(dataset);
  if (!entry.audio) return loadDataset(dataset, { split, dataDir: (data.dataDir as string | null) ?? undefined });
  const { dataset: _, ...rest } = data;
  return entry.audio(parseWith(entry.options, { ...rest, ...SPEECH_INPUT }, "data"), split);
}

/** Clips (N, 1, L) at `sampleRate` as an audio classifier reads them: resampled to 8 kHz, cut or padded to 8,192 samples. */
export function classifierInput(clips: Tensor, sampleRate: number): Tensor {
  const { sampleRate: rate, length } = SPEECH_INPUT;
  if (sampleRate === rate && clips.shape[2] === length) return clips;
  const [n, , L] = clips.shape;
  const values = Float32Array.from(clips.detach().to("cpu").toArray());
  const out = new Float32Array(n * length);
  for (let i = 0; i < n; i++) out.set(fitLength(resample(values.subarray(i * L, (i + 1) * L), sampleRate, rate), length), i * length);
  return tensor(out, { shape: [n, 1, length] });
}

/** Images of a dataset as one float tensor in [-1, 1], (N, 1, 28, 28); clips (N, 1, L) for audio. */
export function imagesOf(data: ImageDataset<Uint8Array | Float32Array>, count = data.length): Tensor {
  const { images, labels } = batchOf(data, count);
  labels?.dispose();
  return images;
}

/** `count` samples of a dataset as one batch, in the loader's seeded order: images and their labels (null if unlabelled), row for row. */
export function batchOf(data: ImageDataset<Uint8Array | Float32Array>, count = data.length): { images: Tensor; labels: Tensor | null } {
  const loader = new DataLoader(data, { batchSize: count, seed: 0 });
  const { images, labels } = loader.next();
  loader.dispose();
  return { images, labels };
}

export function accuracy(model: FeatureClassifier, images: Tensor, labels: Tensor): number {
  const { features, logits } = model.embed(images);
  const acc = tidy(() => logits.argmax(1).eq(labels).to({ dtype: "float32" }).mean().item());
  features.dispose();
  logits.dispose();
  return acc;
}

/**
 * The recipe: Adam 1e-3 decayed linearly to 0, batch 128, `epochs` passes, fixed seed; returns the model and its
 * accuracy on the test split, and writes it to `out` with that accuracy recorded. A `variant`
 * passes every batch, and the test split, through `transform` (given the batch's number, which
 * seeds whatever it draws) and is written beside the plain one (classifierPath).
 */
export async function trainClassifier(
  dataset: string,
  options: {
    epochs?: number;
    seed?: number;
    out?: string;
    dataDir?: string;
    variant?: { name: string; transform: (images: Tensor, batch: number) => Tensor };
    log?: (m: string) => void;
  } = {},
): Promise<{ model: FeatureClassifier; info: ClassifierInfo; path: string }> {
  const { epochs = 6, seed = 0, variant, out = classifierPath(dataset, variant?.name), log = () => {} } = options;
  const input = (images: Tensor, batch: number) => (variant ? variant.transform(images, batch) : images);
  const train = await classifierData(dataset, "train", { dataDir: options.dataDir ?? null });
  const test = await classifierData(dataset, "test", { dataDir: options.dataDir ?? null });
  manualSeed(seed);
  const model = new FeatureClassifier(train.numClasses, inputOf(dataset));
  const opt = new Adam(model.parameters(), { lr: 1e-3 });
  const loader = new DataLoader(train, { batchSize: 128, seed });
  const batches = loader.batchesPerEpoch;
  const schedule = new LRScheduler(opt, 1e-3, "linear", { totalSteps: epochs * batches });
  for (let epoch = 0; epoch < epochs; epoch++) {
    let total = 0;
    for (let b = 0; b < batches; b++) {
      schedule.apply(epoch * batches + b);
      total += tidy(() => {
        const { images, labels } = loader.next();
        const loss = crossEntropy(model.forward(input(images, epoch * batches + b)), labels!);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss.item();
      });
      if (b % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    log(`epoch ${epoch + 1}/${epochs}: mean loss ${(total / batches).toFixed(4)}`);
  }
  loader.dispose();
  const testLoader = new DataLoader(test, { batchSize: test.length, seed: 0 });
  const { images, labels } = testLoader.next();
  const testAccuracy = tidy(() => accuracy(model, input(images, epochs * batches), labels!));
  images.dispose();
  labels?.dispose();
  testLoader.dispose();
  const info: ClassifierInfo = { dataset, testAccuracy, epochs, seed, ...(variant ? { variant: variant.name } : {}) };
  saveSafetensors(out, model.stateDict(), { classifier: JSON.stringify(info) });
  log(`test accuracy ${(testAccuracy * 100).toFixed(2)}% on ${test.length} images; saved to ${out}`);
  return { model, info, path: out };
}
