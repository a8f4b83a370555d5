// Few labels, helped by a GAN. With N labelled training images (a balanced subset), ways to a
// classifier, each scored on the whole test set:
//   real  the classifier trained on the N images alone, with random shifts;
//   gan   a conditional GAN trained on the same N images, its samples mixed into the
//         classifier's batches (AugmentingSource);
//   ssl   a semi-supervised GAN (Salimans et al. 2016): D has one output per class and "fake" is
//         the implicit (K+1)th, D(real) = Z / (Z + 1) with Z = sum exp(logits); G is trained by
//         feature matching; the unlabelled rest of the training set is used too;
// and the classification accuracy score (CAS, Ravuri & Vinyals 2019): a classifier trained only on
// a conditional generator's samples, tested on real data.
// The classifier of real, gan and cas is the evaluation's own CNN (FeatureClassifier), trained
// from scratch each time with the same recipe, so the methods differ only in what it sees.
import { type Tensor, cat, crossEntropy, manualSeed, maxPool2d, noGrad, ones, randn, tidy, zeros } from "../engine/index.js";
import { BatchNorm1d, Conv2d, Dropout, Flatten, LeakyReLU, Linear, Module, ReLU, Sequential, Tanh, Unflatten } from "../nn/index.js";
import { Adam, EMA, LRScheduler } from "../optim/index.js";
import { DataLoader, type ImageDataset, balancedSubset, loadDataset } from "../data/index.js";
import { FeatureClassifier, accuracy, batchOf } from "../metrics/classifier.js";
import { translate } from "../train/augment.js";
import type { Generator, ModelShape } from "../models/index.js";
import { createGan, sampleLatent } from "../train/gan.js";
import { Trainer } from "../train/trainer.js";
import type { ConfigOverrides } from "../train/config.js";
import { Progress } from "../train/progress.js";
import { Writable } from "node:stream";
import { ConfigError } from "../errors.js";

export interface Batchwise {
  /** (B, C, H, W) images in [-1, 1] and their (B) int64 labels. */
  next(): { images: Tensor; labels: Tensor };
}

/** The recipe every classifier here is trained with. */
export interface ClassifierRecipe {
  steps: number;
  /** Adam's rate, decayed linearly to 0 over the steps. */
  lr?: number;
  /** Random shifts of up to this many pixels, the background filled in (ordinary augmentation); 0 for none. */
  shift?: number;
  seed?: number;
  /** Called every 100 steps with the step and the mean loss since the last call. */
  progress?: (step: number, loss: number) => void;
}

/** Shifts each image by up to `pixels` in each direction, filling with the background (-1). */
export function shiftImages(images: Tensor, pixels: number): Tensor {
  if (pixels <= 0) return images;
  return translate(images.add(1), pixels / images.shape[2]).sub(1);
}

/** Trains the evaluation's CNN from scratch on what `source` yields. */
export async function fitClassifier(source: Batchwise, numClasses: number, recipe: ClassifierRecipe): Promise<FeatureClassifier> {
  const { steps, lr = 1e-3, shift = 2, seed = 0, progress } = recipe;
  manualSeed(seed);
  const model = new FeatureClassifier(numClasses, "image");
  const opt = new Adam(model.parameters(), { lr });
  const schedule = new LRScheduler(opt, lr, "linear", { totalSteps: steps });
  let total = 0;
  for (let step = 0; step < steps; step++) {
    schedule.apply(step);
    total += tidy(() => {
      const { images, labels } = source.next();
      const loss = crossEntropy(model.forward(shiftImages(images, shift)), labels);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss.item();
    });
    if (step % 100 === 99) {
      progress?.(step + 1, total / 100);
      total = 0;
      await new Promise((r) => setImmediate(r));
    }
  }
  model.eval();
  return model;
}

/** Batches of a labelled dataset, reshuffled each epoch (the loader's seeded order). */
export function realBatches(data: ImageDataset<Uint8Array | Float32Array>, batchSize: number, seed: number): Batchwise & { dispose(): void } {
  const loader = new DataLoader(data, { batchSize: Math.min(batchSize, data.length), seed });
  return {
    next() {
      const { images, labels } = loader.next();
      if (!labels) throw new ConfigError([{ path: "data", message: `${data.name} has no labels` }]);
      return { images, labels };
    },
    dispose: () => loader.dispose(),
  };
}

/**
 * Batches of a conditional generator's samples, labels drawn uniformly: what CAS trains on, and
 * what AugmentingSource mixes in.
 */
export function generatedBatches(G: Generator, shape: ModelShape, batchSize: number): Batchwise {
  if (!shape.numClasses)
    throw new ConfigError([{ path: "--run", message: "this generator is unconditional: its samples have no labels to train a classifier with" }]);
  return {
    next: () =>
      noGrad(() => {
        const { z, labels } = sampleLatent(shape, batchSize);
        return { images: G.forward(z, labels), labels: labels! };
      }),
  };
}

/**
 * Real batches with generated ones mixed in: each batch holds round(fraction * batchSize)
 * generated samples (labels as G was asked for) and the rest real, in that order.
 */
export class AugmentingSource implements Batchwise {
  readonly generatedPerBatch: number;
  readonly #real: Batchwise & { dispose(): void };
  readonly #fake: Batchwise;
  constructor(real: ImageDataset<Uint8Array | Float32Array>, G: Generator, shape: ModelShape, options: { batchSize: number; fraction: number; seed: number }) {
    const { batchSize, fraction, seed } = options;
    if (!(fraction >= 0 && fraction < 1)) throw new ConfigError([{ path: "fraction", message: `must be in [0, 1), got ${fraction}` }]);
    if (shape.dataShape.join("x") !== real.imageShape.join("x")) {
      throw new ConfigError([
        { path: "--run", message: `the generator makes ${shape.dataShape.join("x")} samples, but ${real.name} holds ${real.imageShape.join("x")}` },
      ]);
    }
    this.generatedPerBatch = Math.round(fraction * batchSize);
    this.#real = realBatches(real, batchSize - this.generatedPerBatch, seed);
    this.#fake = generatedBatches(G, shape, Math.max(1, this.generatedPerBatch));
  }
  next(): { images: Tensor; labels: Tensor } {
    const real = this.#real.next();
    if (this.generatedPerBatch === 0) return real;
    const fake = this.#fake.next();
    return { images: cat([fake.images, real.images]), labels: cat([fake.labels, real.labels]) };
  }
  dispose() {
    this.#real.dispose();
  }
}

// ---- The semi-supervised GAN (Salimans et al. 2016, their MNIST model) ----

class GaussianNoise extends Module {
  constructor(readonly std: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.training && this.std > 0 ? x.add(randn(x.shape).mul(this.std)) : x;
  }
}

/** x * scale + shift. */
class Affine extends Module {
  constructor(
    readonly scale: number,
    readonly shift: number,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.mul(this.scale).add(this.shift);
  }
}

class Softplus extends Module {
  forward(x: Tensor): Tensor {
    return x.softplus();
  }
}

/**
 * A linear layer with weight normalization (Salimans & Kingma 2016): w = g v / ||v|| per output,
 * g and b initialized from the data (initFromData) so that the first batch's outputs have mean 0
 * and standard deviation `scale`, as the paper's semi-supervised models are.
 */
export class WeightNormLinear extends Module {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { scale?: number; trainScale?: boolean } = {},
  ) {
    super();
    this.scale = options.scale ?? 1;
    this.param("v", randn([outFeatures, inFeatures]).mul(0.05));
    // A fixed g keeps the layer's output at the scale the init gave it, so that noise added after
    // it keeps its strength (the paper trains g in the last layer only).
    if (options.trainScale ?? true) this.param("g", ones([outFeatures]));
    else this.buffer("g", ones([outFeatures]));
    this.param("bias", zeros([outFeatures]));
  }
  readonly scale: number;
  forward(x: Tensor): Tensor {
    const v = this.tensor("v");
    return x
      .matmul(v.t())
      .mul(this.tensor("g").div(v.square().sum(1).sqrt()))
      .add(this.tensor("bias"));
  }
  /** Sets g and b from a batch: its outputs get mean 0 and standard deviation `scale`; returns them. */
  initFromData(x: Tensor): Tensor {
    noGrad(() =>
      tidy(() => {
        const v = this.tensor("v");
        const t = x.matmul(v.t()).div(v.square().sum(1).sqrt());
        const mean = t.mean(0);
        const std = t.std(0).add(1e-6);
        this.tensor("g").copy_(std.pow(-1).mul(this.scale));
        this.tensor("bias").copy_(mean.neg().div(std).mul(this.scale));
      }),
    );
    return this.forward(x);
  }
}

/** D: noise on the input (0.3) and after every hidden layer (0.5); K logits; `features` is the last hidden layer. */
export class SemiSupervisedDiscriminator extends Module {
  readonly body: Sequential;
  readonly head: WeightNormLinear;
  constructor(inputSize: number, numClasses: number, hidden = [1000, 500, 250, 250, 250]) {
    super();
    // Pixels in [0, 1] as the paper's, so that its input noise (0.3) means what it meant there.
    const layers: Module[] = [new Flatten(), new Affine(0.5, 0.5), new GaussianNoise(0.3)];
    let width = inputSize;
    for (const h of hidden) {
      layers.push(new WeightNormLinear(width, h, { trainScale: false }), new ReLU(), new GaussianNoise(0.5));
      width = h;
    }
    this.body = this.child("body", new Sequential(...layers));
    this.head = this.child("head", new WeightNormLinear(width, numClasses));
  }
  /** Weight norm's data-dependent initialization, layer by layer on one batch. */
  initFromData(x: Tensor): void {
    tidy(() => {
      let y = x;
      for (const layer of this.body.layers) y = layer instanceof WeightNormLinear ? layer.initFromData(y) : layer.forward(y);
      this.head.initFromData(y);
    });
  }
  features(x: Tensor): Tensor {
    return this.body.forward(x);
  }
  forward(x: Tensor): Tensor {
    return this.head.forward(this.features(x));
  }
}

class Pool2 extends Module {
  forward(x: Tensor): Tensor {
    return maxPool2d(x, 2);
  }
}

/**
 * A convolutional D of the evaluation classifier's shape (two 3x3 convolutions with max pooling,
 * a 128-unit layer as the features, K logits), with input noise and dropout as its regularizers.
 */
export class ConvSemiSupervisedDiscriminator extends Module {
  readonly body: Sequential;
  readonly head: Sequential;
  constructor(imageShape: number[], numClasses: number) {
    super();
    const [c, h, w] = imageShape;
    this.body = this.child(
      "body",
      new Sequential(
        new Affine(0.5, 0.5),
        new GaussianNoise(0.3),
        new Conv2d(c, 32, 3, { padding: 1 }),
        new LeakyReLU(0.2),
        new Pool2(),
        new Conv2d(32, 64, 3, { padding: 1 }),
        new LeakyReLU(0.2),
        new Pool2(),
        new Flatten(),
        new Linear(64 * Math.floor(h / 4) * Math.floor(w / 4), 128),
        new LeakyReLU(0.2),
      ),
    );
    this.head = this.child("head", new Sequential(new Dropout(0.5), new Linear(128, numClasses)));
  }
  initFromData(_x: Tensor): void {}
  features(x: Tensor): Tensor {
    return this.body.forward(x);
  }
  forward(x: Tensor): Tensor {
    return this.head.forward(this.features(x));
  }
}

/** G: z (100) -> 500 -> 500 with BatchNorm and softplus -> image, tanh. */
export class SemiSupervisedGenerator extends Module {
  readonly net: Sequential;
  constructor(
    readonly latentDim: number,
    imageShape: number[],
  ) {
    super();
    const out = imageShape.reduce((a, b) => a * b, 1);
    this.net = this.child(
      "net",
      new Sequential(
        new Linear(latentDim, 500),
        new BatchNorm1d(500),
        new Softplus(),
        new Linear(500, 500),
        new BatchNorm1d(500),
        new Softplus(),
        new Linear(500, out),
        new Tanh(),
        new Unflatten(imageShape),
      ),
    );
  }
  forward(z: Tensor): Tensor {
    return this.net.forward(z);
  }
}

export interface SemiSupervisedOptions {
  /** Passes over the unlabelled set. */
  epochs: number;
  batchSize?: number;
  /** Adam's rate for both nets, (0.5, 0.999), decayed linearly to 0 over the last half of training. */
  lr?: number;
  seed?: number;
  /** Stop early after this many minutes (the rate schedule still assumes `epochs`: choose them to fit). */
  timeLimitMinutes?: number;
  /** D's family: the paper's MLP with weight norm and Gaussian noise, or a small CNN; default mlp. */
  discriminator?: "mlp" | "cnn";
  /** Random shifts of up to this many pixels on the labelled and unlabelled batches; default 0. */
  shift?: number;
  /** Called after every full epoch, with the averaged D's test accuracy when `test` is given. */
  progress?: (epoch: number, message: string) => void;
  test?: { images: Tensor; labels: Tensor };
}

/**
 * Trains a semi-supervised GAN: each step one labelled batch (cross-entropy on the K logits), one
 * unlabelled batch and one generated batch (real vs fake through logsumexp of the logits) for D,
 * then G to match the mean of D's last hidden features on the unlabelled batch. D is the classifier.
 */
export async function trainSemiSupervisedGan(
  labelled: ImageDataset<Uint8Array | Float32Array>,
  unlabelled: ImageDataset<Uint8Array | Float32Array>,
  options: SemiSupervisedOptions,
): Promise<{ D: SemiSupervisedDiscriminator | ConvSemiSupervisedDiscriminator; G: SemiSupervisedGenerator; epochs: number }> {
  const { epochs, batchSize = 100, lr = 3e-3, seed = 0, shift = 0, discriminator = "mlp", timeLimitMinutes, progress, test } = options;
  manualSeed(seed);
  const inputSize = labelled.imageShape.reduce((a, b) => a * b, 1);
  const makeD = () =>
    discriminator === "cnn"
      ? new ConvSemiSupervisedDiscriminator(labelled.imageShape, labelled.numClasses)
      : new SemiSupervisedDiscriminator(inputSize, labelled.numClasses);
  const D = makeD();
  const G = new SemiSupervisedGenerator(100, labelled.imageShape);
  const optD = new Adam(D.parameters(), { lr, betas: [0.5, 0.999] });
  const optG = new Adam(G.parameters(), { lr, betas: [0.5, 0.999] });
  const lab = realBatches(labelled, batchSize, seed);
  const unl = new DataLoader(unlabelled, { batchSize, seed: seed + 1 });
  const total = epochs * unl.batchesPerEpoch;
  noGrad(() => D.initFromData(unl.next().images));
  // The classifier is a moving average of D's weights (the paper's code tests its Polyak average):
  // the noisy adversarial updates average out.
  const averaged = makeD();
  const average = EMA.of(D, averaged, 0.9999);
  // Full rate for the first half, then linearly to 0 (the paper's CIFAR code decays so; its MNIST code keeps 3e-3 for 300 epochs).
  const rate = (step: number) => lr * Math.min(1, 2 * (1 - step / total));
  const deadline = timeLimitMinutes === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeLimitMinutes * 60_000;
  let epoch = 0;
  try {
    for (let step = 0; step < total && Date.now() < deadline; step++) {
      optD.lr = optG.lr = rate(step);
      tidy(() => {
        const { images: rawL, labels: yl } = lab.next();
        const xl = shiftImages(rawL, shift);
        const xu = shiftImages(unl.next().images, shift);
        const fake = noGrad(() => G.forward(randn([batchSize, 100])));
        // One pass of D over the three batches: labelled, unlabelled, generated.
        const logits = D.forward(cat([xl, xu, fake]));
        const [ll, lu, lf] = logits.split([xl.shape[0], batchSize, batchSize], 0); // fewer labels than a batch: all of them
        const supervised = crossEntropy(ll, yl);
        const zu = lu.logsumexp(1);
        const zf = lf.logsumexp(1);
        // -log D(real) = softplus(Z) - Z;  -log(1 - D(fake)) = softplus(Z)
        const unsupervised = zu.softplus().sub(zu).mean().add(zf.softplus().mean());
        optD.zeroGrad();
        supervised.add(unsupervised).backward();
        optD.step();
        average.update(D, step);
        // G: feature matching on D's last hidden layer.
        const target = noGrad(() => D.features(xu).mean(0));
        const matched = D.features(G.forward(randn([batchSize, 100]))).mean(0);
        const loss = matched.sub(target).square().mean();
        optG.zeroGrad();
        loss.backward();
        optG.step();
      });
      if ((step + 1) % unl.batchesPerEpoch === 0 || step % 50 === 49) {
        if ((step + 1) % unl.batchesPerEpoch === 0) {
          epoch++;
          if (progress) progress(epoch, test ? `test accuracy ${(100 * classifierAccuracy(averaged, test.images, test.labels)).toFixed(2)}%` : "");
        }
        await new Promise((r) => setImmediate(r));
      }
    }
  } finally {
    lab.dispose();
    unl.dispose();
  }
  averaged.eval();
  G.eval();
  return { D: averaged, G, epochs: epoch };
}

/** Accuracy of any classifier of (B, ...) images -> (B, K) logits, in batches, in eval mode. */
export function classifierAccuracy(model: Module & { forward(x: Tensor): Tensor }, images: Tensor, labels: Tensor, batchSize = 1000): number {
  const wasTraining = model.training;
  model.eval();
  let correct = 0;
  noGrad(() => {
    for (let i = 0; i < images.shape[0]; i += batchSize) {
      const n = Math.min(batchSize, images.shape[0] - i);
      correct += tidy(() =>
        model
          .forward(images.narrow(0, i, n))
          .argmax(1)
          .eq(labels.narrow(0, i, n))
          .sum()
          .item(),
      );
    }
  });
  model.train(wasTraining);
  return correct / images.shape[0];
}

// ---- The study: one method, one seed ----

export const augmentMethods = ["real", "gan", "ssl"] as const;
export type AugmentMethod = (typeof augmentMethods)[number];

export interface AugmentStudyOptions {
  dataset: "mnist" | "fashion-mnist";
  /** Labelled training images, a balanced subset chosen by the seed. */
  labels: number;
  seed: number;
  /** Steps of the classifier (real, gan); default 2,000 at batch 64. */
  classifierSteps?: number;
  /** gan: the conditional preset trained on the labelled images, its D steps, and the share of each classifier batch it fills. */
  ganPreset?: string;
  ganSteps?: number;
  fraction?: number;
  /** ssl: passes over the unlabelled set, a wall-clock cap in minutes, and D's family. */
  sslEpochs?: number;
  sslMinutes?: number;
  sslDiscriminator?: "mlp" | "cnn";
  /** Where the gan method keeps its GAN's run directory. */
  workDir: string;
  dataDir?: string;
  log?: (message: string) => void;
}

export interface AugmentResult {
  method: AugmentMethod | "cas";
  dataset: string;
  labels: number;
  seed: number;
  /** On the whole test split. */
  testAccuracy: number;
  minutes: number;
  /** What was trained, in a few words. */
  detail: string;
}

/** Trains one method on `labels` labelled images with one seed and scores it on the test split. */
export async function augmentStudy(method: AugmentMethod, options: AugmentStudyOptions): Promise<AugmentResult> {
  const { dataset, labels, seed, classifierSteps = 2000, log = () => {} } = options;
  const start = Date.now();
  const train = await loadDataset(dataset, { split: "train", dataDir: options.dataDir });
  const test = await loadDataset(dataset, { split: "test", dataDir: options.dataDir });
  const labelled = balancedSubset(train, labels, seed, "--labels");
  const { images: testImages, labels: testLabels } = wholeSplit(test);
  const every = (what: string) => (step: number, loss: number) => log(`${what} step ${step}: loss ${loss.toFixed(4)}`);
  const recipe = { steps: classifierSteps, seed, progress: every("classifier") };
  let testAccuracy: number;
  let detail: string;
  try {
    if (method === "real") {
      const source = realBatches(labelled, 64, seed);
      const model = await fitClassifier(source, train.numClasses, recipe);
      source.dispose();
      testAccuracy = accuracy(model, testImages, testLabels);
      detail = `CNN, ${classifierSteps} steps of batch ${Math.min(64, labels)}, shifts of up to 2 px`;
    } else if (method === "gan") {
      const { ganPreset = "mnist-cgan", ganSteps = 5000, fraction = 0.5 } = options;
      const { G, shape } = await trainConditionalGan(ganPreset, {
        dataset,
        labels,
        seed,
        steps: ganSteps,
        dataDir: options.dataDir,
        runDir: options.workDir,
        log,
      });
      const source = new AugmentingSource(labelled, G, shape, { batchSize: 64, fraction, seed });
      const model = await fitClassifier(source, train.numClasses, recipe);
      source.dispose();
      testAccuracy = accuracy(model, testImages, testLabels);
      detail = `${ganPreset} trained ${ganSteps} steps on the ${labels} images; CNN ${classifierSteps} steps, ${Math.round(fraction * 100)}% of each batch generated`;
    } else {
      const { sslEpochs = 25, sslMinutes, sslDiscriminator = "mlp" } = options;
      const { D, epochs } = await trainSemiSupervisedGan(labelled, train, {
        epochs: sslEpochs,
        seed,
        shift: 2,
        discriminator: sslDiscriminator,
        timeLimitMinutes: sslMinutes,
        test: { images: testImages, labels: testLabels },
        progress: (epoch, message) => log(`ssl epoch ${epoch}/${sslEpochs}: ${message}`),
      });
      testAccuracy = classifierAccuracy(D, testImages, testLabels);
      detail = `semi-supervised GAN (${sslDiscriminator} D), ${epochs} of ${sslEpochs} epochs over ${train.length} unlabelled images, feature matching, shifts of up to 2 px`;
    }
  } finally {
    testImages.dispose();
    testLabels.dispose();
  }
  return { method, dataset, labels, seed, testAccuracy, minutes: (Date.now() - start) / 60_000, detail };
}

/** A whole labelled split as one batch: images (N, C, H, W) in [-1, 1] and their labels (N), in the same order. */
function wholeSplit(data: ImageDataset<Uint8Array | Float32Array>): { images: Tensor; labels: Tensor } {
  const { images, labels } = batchOf(data);
  if (!labels) throw new ConfigError([{ path: "data", message: `${data.name} has no labels` }]);
  return { images, labels };
}

/** Trains a conditional preset on a balanced subset through the ordinary trainer; returns G (its EMA copy when kept). */
async function trainConditionalGan(
  preset: string,
  o: { dataset: string; labels: number; seed: number; steps: number; dataDir?: string; runDir: string; log: (m: string) => void },
): Promise<{ G: Generator; shape: ModelShape }> {
  const gan = createGan({
    preset,
    data: { dataset: o.dataset, subset: o.labels, subsetSeed: o.seed, dataDir: o.dataDir ?? null },
    train: { steps: o.steps, seed: o.seed, batchSize: Math.min(64, o.labels) },
    log: { sampleEvery: Math.max(1, Math.floor(o.steps / 4)), checkpointEvery: o.steps, evalEvery: 0 },
  } as ConfigOverrides);
  if (!gan.shape.numClasses) throw new ConfigError([{ path: "--gan-preset", message: `${preset} is not conditional: its samples would have no labels` }]);
  o.log(`training ${preset} on ${o.labels} labelled images for ${o.steps} steps in ${o.runDir}`);
  // The trainer's log lines, each prefixed, go to our log; no progress bar.
  const lines = new Writable({
    write: (chunk, _encoding, done) => {
      for (const line of String(chunk).split("\n")) if (line.trim()) o.log(`  ${preset}: ${line}`);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  const trainer = await Trainer.create(gan, { runDir: o.runDir, overwrite: true, progress: new Progress(lines, false) });
  await trainer.run();
  const G = (trainer.ema?.shadow as Generator | undefined) ?? gan.G;
  G.eval();
  return { G, shape: gan.shape };
}

/**
 * CAS (Ravuri & Vinyals 2019): the CNN trained for `steps` on a conditional generator's samples
 * alone, fresh ones every batch, then scored on the real test split.
 */
export async function classificationAccuracyScore(
  G: Generator,
  shape: ModelShape,
  dataset: "mnist" | "fashion-mnist",
  options: { steps?: number; seed?: number; dataDir?: string; log?: (m: string) => void } = {},
): Promise<AugmentResult> {
  const { steps = 2000, seed = 0, log = () => {} } = options;
  const start = Date.now();
  const test = await loadDataset(dataset, { split: "test", dataDir: options.dataDir });
  if (shape.dataShape.join("x") !== test.imageShape.join("x"))
    throw new ConfigError([
      { path: "--dataset", message: `the generator makes ${shape.dataShape.join("x")} samples, but ${dataset} holds ${test.imageShape.join("x")}` },
    ]);
  manualSeed(seed);
  const model = await fitClassifier(generatedBatches(G, shape, 64), test.numClasses, {
    steps,
    seed,
    progress: (step, loss) => log(`classifier step ${step}: loss ${loss.toFixed(4)}`),
  });
  const { images, labels } = wholeSplit(test);
  const testAccuracy = accuracy(model, images, labels);
  images.dispose();
  labels.dispose();
  return {
    method: "cas",
    dataset,
    labels: 0,
    seed,
    testAccuracy,
    minutes: (Date.now() - start) / 60_000,
    detail: `CNN, ${steps} steps on generated samples only`,
  };
}
