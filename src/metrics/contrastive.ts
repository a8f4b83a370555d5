// A feature network for any image folder, learned from the folder itself without labels: SimCLR
// (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual Representations").
// Each image is augmented twice (a random resized crop with flips, brightness and contrast, and
// for colour images saturation and greyscale); a small CNN maps both views to features, a
// projection head maps those to the space where the NT-Xent loss pulls each view towards its twin
// and away from the other 2B - 2 images of the batch. The features before the head are what
// evaluation uses, as FID uses Inception's pool features. No ImageNet network can be downloaded
// here, and a folder of the user's images is not ImageNet anyway: the network is trained once
// per folder and cached (gantry's cache, encoders/).
import { existsSync, mkdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import {
  type Tensor,
  affineGrid,
  arange,
  cat,
  crossEntropy,
  gridSample,
  loadSafetensors,
  manualSeed,
  noGrad,
  oneHot,
  rand,
  saveSafetensors,
  stack,
  tidy,
} from "../engine/index.js";
import { BatchNorm2d, Conv2d, Flatten, Linear, Module, ReLU, Sequential } from "../nn/index.js";
import { Adam, LRScheduler } from "../optim/index.js";
import { DataLoader, cacheDir, type ImageDataset } from "../data/index.js";

export const ENCODER_FEATURES = 128;

/** The size after a 3x3 convolution of stride 2 and padding 1. */
const halved = (size: number) => Math.floor((size - 1) / 2) + 1;

/**
 * (B, C, S, S) images in [-1, 1] -> features (B, 128): a 3x3 convolution of 16 channels, then
 * stride-2 3x3 convolutions doubling the channels (up to 128) until the map is 4x4 or smaller,
 * each with batch norm and ReLU, and a linear layer over the flattened map.
 */
export class ContrastiveEncoder extends Module {
  readonly body: Sequential;
  readonly projection: Sequential;
  constructor(readonly imageShape: readonly number[]) {
    super();
    const [channels, size] = imageShape;
    const layers: Module[] = [new Conv2d(channels, 16, 3, { padding: 1 }), new BatchNorm2d(16), new ReLU()];
    let [width, res] = [16, size];
    while (res > 4) {
      const next = Math.min(2 * width, 128);
      layers.push(new Conv2d(width, next, 3, { stride: 2, padding: 1 }), new BatchNorm2d(next), new ReLU());
      [width, res] = [next, halved(res)];
    }
    this.body = this.child("body", new Sequential(...layers, new Flatten(), new Linear(width * res * res, ENCODER_FEATURES)));
    this.projection = this.child(
      "projection",
      new Sequential(new ReLU(), new Linear(ENCODER_FEATURES, ENCODER_FEATURES), new ReLU(), new Linear(ENCODER_FEATURES, 64)),
    );
  }
  forward(x: Tensor): Tensor {
    return this.projection.forward(this.body.forward(x));
  }
  /** Features of many images, in batches, in eval mode and without a graph. */
  embed(images: Tensor, batchSize = 500): Tensor {
    const wasTraining = this.training;
    this.eval();
    const parts = noGrad(() =>
      Array.from({ length: Math.ceil(images.shape[0] / batchSize) }, (_, i) =>
        tidy(() => this.body.forward(images.narrow(0, i * batchSize, Math.min(batchSize, images.shape[0] - i * batchSize)))),
      ),
    );
    this.train(wasTraining);
    const features = cat(parts);
    for (const p of parts) p.dispose();
    return features;
  }
}

/** Uniform draws in [lo, hi), one per image: (B). */
const uniform = (b: number, lo: number, hi: number) =>
  rand([b])
    .mul(hi - lo)
    .add(lo);

/**
 * SimCLR's augmentations, batched: each image gets its own random resized crop (a side of 60-100%,
 * aspect 3:4 to 4:3, anywhere inside the image) flipped left-right half the time, then contrast
 * (x0.6-1.4 about its mean) and brightness (+-0.3) jitter; colour images also get saturation
 * (x0.5-1.5) and, one time in five, greyscale. Images in [-1, 1] stay in it.
 */
export function contrastiveViews(images: Tensor, options: { flip?: boolean } = {}): Tensor {
  const { flip = true } = options;
  const [b, c] = images.shape;
  const side = uniform(b, 0.6, 1);
  const aspect = uniform(b, Math.log(3 / 4), Math.log(4 / 3))
    .exp()
    .sqrt();
  const sx = side.mul(aspect).clamp(0, 1);
  const sy = side.div(aspect).clamp(0, 1);
  const tx = uniform(b, -1, 1).mul(sx.rsub(1));
  const ty = uniform(b, -1, 1).mul(sy.rsub(1));
  const mirror = flip ? rand([b]).lt(0.5).to({ dtype: "float32" }).mul(-2).add(1) : sx.mul(0).add(1);
  const zero = sx.mul(0);
  const theta = stack([stack([sx.mul(mirror), zero, tx], 1), stack([zero, sy, ty], 1)], 1); // (B, 2, 3)
  let x = gridSample(images, affineGrid(theta, images.shape), { padding: "border" });
  const mean = x.mean([1, 2, 3], true);
  x = x
    .sub(mean)
    .mul(uniform(b, 0.6, 1.4).view(b, 1, 1, 1))
    .add(mean)
    .add(uniform(b, -0.3, 0.3).view(b, 1, 1, 1));
  if (c === 3) {
    const grey = x.mean([1], true);
    const saturation = uniform(b, 0.5, 1.5).mul(rand([b]).ge(0.2).to({ dtype: "float32" })); // 0: greyscale
    x = x
      .sub(grey)
      .mul(saturation.view(b, 1, 1, 1))
      .add(grey);
  }
  return x.clamp(-1, 1);
}

/** NT-Xent: for 2B projections (view 1 of each image, then view 2), each one's cross entropy of finding its twin among the other 2B - 1 at `temperature`. */
export function ntXent(projections: Tensor, temperature = 0.5): Tensor {
  const n = projections.shape[0];
  const z = projections.div(projections.square().sum([1], true).sqrt().add(1e-8));
  const self = oneHot(arange(n), n).to({ dtype: "float32" }).mul(1e9);
  const logits = z.matmul(z.t()).div(temperature).sub(self);
  const twins = cat([arange(n / 2, n), arange(0, n / 2)]);
  return crossEntropy(logits, twins);
}

export interface EncoderRecipe {
  /** Optimizer steps (default 1,500) of `batchSize` (default 128) images, each seen as two views. */
  steps?: number;
  batchSize?: number;
  /** Adam's rate, decayed linearly to 0 (default 1e-3). */
  lr?: number;
  temperature?: number;
  seed?: number;
  flip?: boolean;
  progress?: (step: number, meanLoss: number) => void;
}

/** Trains a ContrastiveEncoder on the images of `data` (labels, if any, are never read). */
export async function trainContrastiveEncoder(data: ImageDataset<Uint8Array | Float32Array>, recipe: EncoderRecipe = {}): Promise<ContrastiveEncoder> {
  const { steps = 1500, batchSize = 128, lr = 1e-3, temperature = 0.5, seed = 0, flip = true, progress } = recipe;
  manualSeed(seed);
  const encoder = new ContrastiveEncoder(data.imageShape);
  const opt = new Adam(encoder.parameters(), { lr });
  const schedule = new LRScheduler(opt, lr, "linear", { totalSteps: steps });
  const loader = new DataLoader(data, { batchSize: Math.min(batchSize, data.length), seed });
  let total = 0;
  for (let step = 0; step < steps; step++) {
    schedule.apply(step);
    total += tidy(() => {
      const { images } = loader.next();
      const views = cat([contrastiveViews(images, { flip }), contrastiveViews(images, { flip })]);
      const loss = ntXent(encoder.forward(views), temperature);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss.item();
    });
    if (step % 100 === 99 || step === steps - 1) {
      progress?.(step + 1, total / (step % 100 === 99 ? 100 : (step % 100) + 1));
      total = 0;
      await new Promise((r) => setImmediate(r));
    }
  }
  loader.dispose();
  encoder.eval();
  return encoder;
}

/** Bump when the network or the recipe changes, so cached encoders are retrained. */
const RECIPE_VERSION = 1;

/** Where the encoder of a folder is cached: keyed by the folder, the image shape, the image count and the steps. */
export function encoderPath(dataDir: string, imageShape: readonly number[], count: number, steps = 1500): string {
  const key = JSON.stringify({ dir: resolve(dataDir), imageShape, count, steps, v: RECIPE_VERSION });
  return join(cacheDir(), "encoders", `folder-${createHash("sha256").update(key).digest("hex").slice(0, 12)}.safetensors`);
}

/** The folder's encoder: loaded from gantry's cache, or trained on `data` and cached first. */
export async function folderEncoder(
  dataDir: string,
  data: ImageDataset<Uint8Array | Float32Array>,
  options: { recipe?: EncoderRecipe; log?: (message: string) => void } = {},
): Promise<{ encoder: ContrastiveEncoder; path: string; trained: boolean }> {
  const steps = options.recipe?.steps ?? 1500;
  const path = encoderPath(dataDir, data.imageShape, data.length, steps);
  if (existsSync(path)) {
    const { tensors } = loadSafetensors(path);
    const encoder = new ContrastiveEncoder(data.imageShape);
    encoder.loadStateDict(tensors, path);
    for (const t of Object.values(tensors)) t.dispose();
    encoder.eval();
    return { encoder, path, trained: false };
  }
  const log = options.log ?? (() => {});
  log(`training a feature network for ${dataDir} (SimCLR, ${steps} steps, once; cached at ${path})`);
  const started = Date.now();
  const encoder = await trainContrastiveEncoder(data, {
    ...options.recipe,
    progress: (step, loss) => {
      if (step % 500 === 0 || step === steps) log(`  step ${step}/${steps}: contrastive loss ${loss.toFixed(3)}`);
      options.recipe?.progress?.(step, loss);
    },
  });
  mkdirSync(dirname(path), { recursive: true });
  saveSafetensors(path, encoder.stateDict(), {
    encoder: JSON.stringify({ dataDir: resolve(dataDir), images: data.length, steps, seconds: (Date.now() - started) / 1000 }),
  });
  return { encoder, path, trained: true };
}
