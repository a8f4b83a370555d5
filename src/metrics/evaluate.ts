// The evaluation report: every score on gantry's classifier features for a set of generated
// images, beside the real-versus-real floor (10,000 training images against the 10,000 test
// images). Real-data features and the floor are cached per dataset and classifier.
import type { CodeAgreement } from "./codes.js";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Tensor, avgPool2d, cdist, keep, loadSafetensors, saveSafetensors, tensor, tidy, withSeed } from "../engine/index.js";
import { cacheDir, loadImageFolder } from "../data/index.js";
import { loadClassifier, imagesOf, classifierPath, classifierData, classifierInput, type FeatureClassifier } from "./classifier.js";
import { frechetDistance, inceptionScore, kernelInceptionDistance, kthNeighbourDistances, manifoldScores, meanCov } from "./scores.js";
import { modeStats, type ModeStats } from "./modes.js";
import { folderEncoder, type ContrastiveEncoder, type EncoderRecipe } from "./contrastive.js";
import { ConfigError } from "../errors.js";

export interface Scores {
  /** Fréchet distance on gantry's classifier features: "FID (MNIST classifier)", not Inception FID. */
  fid: number;
  kid: number;
  kidStd: number;
  /** The Inception-Score analogue from the classifier's predictions. */
  is: number;
  isStd: number;
  precision: number;
  recall: number;
  density: number;
  /** Naeem et al.'s coverage of the real feature manifold. */
  coverage: number;
}

export interface EvalReport extends Scores {
  dataset: string;
  classifier: string;
  count: number;
  modes: ModeStats;
  /** Classes the samples hold at least 10% of their share of (the headline mode count). */
  classesCovered: number;
  collapsed: boolean;
  /** For conditional samples: how often the classifier agrees with the label G was given. */
  labelAccuracy: number | null;
  /** InfoGAN: how well the categorical code's values match the classes (gantry eval adds it). */
  codeAgreement?: CodeAgreement;
  /** Samples within RMS pixel distance 0.025 (on a 0..1 scale) of a training image; null for audio (quiet clips are all that close). */
  memorized: number | null;
  floor: Scores & { classesCovered: number };
}

interface RealData {
  train: Tensor; // features of 10,000 training images
  trainRadii: [Tensor, Tensor]; // their distances to their 3rd and 5th nearest neighbours
  trainImages: Tensor; // all training images, for the memorization check
  test: Tensor; // features of the 10,000 test images
  floor: Scores & { classesCovered: number };
  classifier: FeatureClassifier;
  classifierFile: string;
}

const cache = new Map<string, RealData>();

/** Every score of `fake` features against `real` ones; the IS analogue needs the classifier's logits (NaN without). */
function scores(real: Tensor, realRadii: [Tensor, Tensor], fake: Tensor, fakeLogits: Tensor | null): Scores {
  const [a, b] = [meanCov(real), meanCov(fake)];
  const fid = frechetDistance(a, b);
  for (const s of [a, b]) {
    s.mean.dispose();
    s.cov.dispose();
  }
  const kid = kernelInceptionDistance(real, fake);
  const is = fakeLogits ? inceptionScore(fakeLogits) : { mean: Number.NaN, std: Number.NaN };
  return { fid, kid: kid.mean, kidStd: kid.std, is: is.mean, isStd: is.std, ...manifoldScores(real, fake, { kPR: 3, kDC: 5, realRadii }) };
}

/**
 * Features of the dataset's images (or clips), the floor, and the classifier: computed once, then
 * cached. `data` (a run's config.data) says where audio clips are.
 */
export async function realData(dataset: string, data: Record<string, unknown> = {}): Promise<RealData> {
  const where = typeof data.dataDir === "string" ? data.dataDir : "";
  const key = `${dataset}:${where}`;
  const known = cache.get(key);
  if (known) return known;
  const file = classifierPath(dataset);
  // Building the network draws initial weights; the file's replace them. Keep the caller's RNG.
  const { model } = withSeed(0, () => loadClassifier(dataset, file));
  const digest = existsSync(file) ? createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 12) : "none";
  const folder = where ? `-${createHash("sha256").update(where).digest("hex").slice(0, 8)}` : "";
  const path = join(cacheDir(), "stats", `${dataset}${folder}-${digest}-v3.safetensors`);
  const trainSet = await classifierData(dataset, "train", data);
  const trainImages = keep(imagesOf(trainSet));
  let train: Tensor;
  let test: Tensor;
  let trainRadii: [Tensor, Tensor];
  let floor: RealData["floor"];
  if (existsSync(path)) {
    const { tensors, metadata } = loadSafetensors(path);
    [train, test] = [keep(tensors.train), keep(tensors.test)];
    trainRadii = [keep(tensors.trainRadius3), keep(tensors.trainRadius5)];
    floor = JSON.parse(metadata.floor) as RealData["floor"];
  } else {
    const testSet = await classifierData(dataset, "test", data);
    const testImages = imagesOf(testSet, Math.min(10_000, testSet.length));
    const firstTrain = trainImages.narrow(0, 0, Math.min(10_000, trainImages.shape[0]));
    const t = model.embed(firstTrain);
    const u = model.embed(testImages);
    [train, test] = [keep(t.features), keep(u.features)];
    trainRadii = kthNeighbourDistances(train, [3, 5]).map(keep) as [Tensor, Tensor];
    const testClasses = u.logits.argmax(1).toArray();
    floor = { ...withSeed(0, () => scores(train, trainRadii, test, u.logits)), classesCovered: modeStats(testClasses, 10).covered };
    for (const x of [t.logits, u.logits, testImages, firstTrain]) x.dispose();
    saveSafetensors(path, { train, test, trainRadius3: trainRadii[0], trainRadius5: trainRadii[1] }, { floor: JSON.stringify(floor) });
  }
  const real = { train, trainRadii, test, floor, classifier: model, classifierFile: file, trainImages };
  cache.set(key, real);
  return real;
}

/**
 * Fraction of samples within RMS pixel distance `rms` (0..1 scale) of some training image. Exact,
 * but quick: the distance between 4x4 block means, times 4, is a lower bound on the pixel
 * distance (each block's 16 pixel differences have at least 16 times its mean's square), so only
 * the samples that bound admits are compared pixel by pixel.
 */
export function memorizedFraction(samples: Tensor, trainImages: Tensor, rms = 0.025, maxSamples = 2000): number {
  const n = Math.min(samples.shape[0], maxSamples);
  const [h, w] = samples.shape.slice(-2);
  const pixels = samples.shape.slice(1).reduce((a, b) => a * b, 1);
  const threshold = rms * 2 * Math.sqrt(pixels); // images live in [-1, 1]: twice the 0..1 scale
  const block = samples.shape.length === 4 && h % 4 === 0 && w % 4 === 0 ? 4 : 1;
  // Each query row's distance to its nearest reference row; both (N, features).
  const nearest = (q: Tensor, reference: Tensor) => {
    let best: Tensor | null = null;
    for (let j = 0; j < reference.shape[0]; j += 10_000) {
      const d = cdist(q, reference.narrow(0, j, Math.min(10_000, reference.shape[0] - j))).min(1).values;
      best = best ? best.minimum(d) : d;
    }
    return best!;
  };
  const pooled = (x: Tensor) => (block === 1 ? x.flatten(1) : avgPool2d(x, block).flatten(1));
  const pooledTrain = keep(tidy(() => pooled(trainImages)));
  let near = 0;
  for (let i = 0; i < n; i += 500) {
    near += tidy(() => {
      const q = samples.narrow(0, i, Math.min(500, n - i));
      const bound = nearest(pooled(q), pooledTrain).mul(block);
      const admitted = bound
        .le(threshold)
        .toArray()
        .flatMap((ok, r) => (ok ? [r] : []));
      if (!admitted.length) return 0;
      const exact = nearest(q.indexSelect(0, tensor(admitted, { dtype: "int64" })).flatten(1), trainImages.flatten(1));
      return exact.le(threshold).to({ dtype: "float32" }).sum().item();
    });
  }
  pooledTrain.dispose();
  return near / n;
}

/**
 * Every score for generated images (N, 1, 28, 28) in [-1, 1], or clips (N, 1, L) at
 * `audio.sampleRate`; `labels` are G's, for conditional samples.
 */
export async function evaluate(
  samples: Tensor,
  dataset: string,
  labels?: Tensor | null,
  audio?: { sampleRate: number; data: Record<string, unknown> },
): Promise<EvalReport> {
  const real = await realData(dataset, audio?.data);
  const images = audio ? classifierInput(samples.to({ device: "cpu", dtype: "float32" }), audio.sampleRate) : samples.to({ device: "cpu", dtype: "float32" });
  const { features, logits } = real.classifier.embed(images);
  const predicted = tidy(() => logits.argmax(1));
  const modes = modeStats(predicted.toArray(), 10);
  const labelAccuracy = labels ? tidy(() => predicted.eq(labels.to("cpu")).to({ dtype: "float32" }).mean().item()) : null;
  const report: EvalReport = {
    dataset,
    classifier: real.classifierFile,
    count: samples.shape[0],
    ...withSeed(0, () => scores(real.train, real.trainRadii, features, logits)),
    modes,
    classesCovered: modes.covered,
    collapsed: modes.collapsed,
    labelAccuracy,
    memorized: audio ? null : memorizedFraction(images, real.trainImages),
    floor: real.floor,
  };
  for (const t of [features, logits, predicted]) t.dispose();
  if (images !== samples) images.dispose();
  return report;
}

/** Where a folder run's images are: its config.data. */
export interface FolderData {
  dataDir: string;
  imageSize: number;
  channels: 1 | 3;
  cache?: boolean;
}

/** Scores that need no classes: what a folder of the user's own images gets. */
export type FeatureScores = Omit<Scores, "is" | "isStd">;

/** The scores of generated images against an image folder, on the folder's own self-supervised features. */
export interface FolderReport extends FeatureScores {
  dataset: "folder";
  dataDir: string;
  /** The cached feature network (SimCLR, trained on the folder). */
  encoder: string;
  count: number;
  memorized: number;
  /** Two disjoint halves of the folder against each other. */
  floor: FeatureScores;
  /** Images the floor compares, each half. */
  floorCount: number;
}

interface RealFolder {
  half: Tensor; // features of the first half of the folder's images
  halfRadii: [Tensor, Tensor];
  images: Tensor; // the images, for the memorization check
  floor: FeatureScores;
  floorCount: number;
  encoder: ContrastiveEncoder;
  encoderFile: string;
}

const folders = new Map<string, RealFolder>();
const withoutIs = ({ is: _, isStd: __, ...rest }: Scores): FeatureScores => rest;

/**
 * The folder's real side: its feature network (trained once and cached), the features of up to
 * 10,000 of its images and the floor, those against up to 10,000 others.
 */
async function realFolder(data: FolderData, recipe?: EncoderRecipe, log?: (m: string) => void): Promise<RealFolder> {
  const key = JSON.stringify([data.dataDir, data.imageSize, data.channels, recipe?.steps]);
  const known = folders.get(key);
  if (known) return known;
  const dataset = await loadImageFolder(data.dataDir, { size: data.imageSize, channels: data.channels, cache: data.cache });
  if (dataset.length < 20)
    throw new ConfigError([{ path: "data.dataDir", message: `${data.dataDir} holds ${dataset.length} image(s); scoring needs at least 20` }]);
  const { encoder, path } = await folderEncoder(data.dataDir, dataset, { recipe, log });
  const images = keep(imagesOf(dataset, Math.min(dataset.length, 20_000)));
  const n = Math.floor(images.shape[0] / 2);
  const half = keep(encoder.embed(images.narrow(0, 0, n)));
  const other = encoder.embed(images.narrow(0, n, n));
  const halfRadii = kthNeighbourDistances(half, [3, 5]).map(keep) as [Tensor, Tensor];
  const floor = withoutIs(withSeed(0, () => scores(half, halfRadii, other, null)));
  other.dispose();
  const real = { half, halfRadii, images, floor, floorCount: n, encoder, encoderFile: path };
  folders.set(key, real);
  return real;
}

/**
 * Every class-free score for generated images (N, C, S, S) in [-1, 1] against the image folder
 * `data` describes (a folder run's config.data): FID, KID, precision/recall and density/coverage
 * on the folder's own SimCLR features, the memorized share, and the floor beside them.
 */
export async function evaluateFolder(
  samples: Tensor,
  data: FolderData,
  options: { recipe?: EncoderRecipe; log?: (message: string) => void } = {},
): Promise<FolderReport> {
  const real = await realFolder(data, options.recipe, options.log);
  const expected = real.images.shape.slice(1);
  if (samples.shape.slice(1).join() !== expected.join())
    throw new ConfigError([
      {
        path: "data",
        message: `samples of shape (${samples.shape.slice(1).join(", ")}) cannot be scored against ${data.dataDir}'s images (${expected.join(", ")})`,
      },
    ]);
  const images = samples.to({ device: "cpu", dtype: "float32" });
  const features = real.encoder.embed(images);
  const report: FolderReport = {
    dataset: "folder",
    dataDir: data.dataDir,
    encoder: real.encoderFile,
    count: samples.shape[0],
    ...withoutIs(withSeed(0, () => scores(real.half, real.halfRadii, features, null))),
    memorized: memorizedFraction(images, real.images),
    floor: real.floor,
    floorCount: real.floorCount,
  };
  features.dispose();
  if (images !== samples) images.dispose();
  return report;
}

/** A folder report as a table, each score beside the floor. */
export function formatFolderReport(r: FolderReport): string {
  const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
  const rows: [string, string, string][] = [
    ["FID (the folder's SimCLR features)", f(r.fid), f(r.floor.fid)],
    ["KID", `${f(r.kid, 4)} ± ${f(r.kidStd, 4)}`, `${f(r.floor.kid, 4)} ± ${f(r.floor.kidStd, 4)}`],
    ["precision (k=3)", f(r.precision), f(r.floor.precision)],
    ["recall (k=3)", f(r.recall), f(r.floor.recall)],
    ["density (k=5)", f(r.density), f(r.floor.density)],
    ["coverage (k=5)", f(r.coverage), f(r.floor.coverage)],
  ];
  return [
    `${r.count} samples against the images of ${r.dataDir}, scored with a feature network gantry trained on that folder`,
    `(SimCLR, no labels; ${r.encoder}). Not comparable with Inception FID, nor with other folders' scores.`,
    "",
    `${"metric".padEnd(40)}${"samples".padEnd(22)}real vs real (two halves of ${r.floorCount})`,
    ...rows.map(([m, a, b]) => `${m.padEnd(40)}${a.padEnd(22)}${b}`),
    "",
    `memorized (RMS pixel distance < 0.025 from a folder image): ${f(r.memorized * 100, 2)}%`,
  ].join("\n");
}

/** The report as a table: each score beside the real-versus-real floor. */
export function formatReport(r: EvalReport): string {
  const name = ({ mnist: "MNIST", "fashion-mnist": "Fashion-MNIST", "spoken-digits": "spoken-digit" } as Record<string, string>)[r.dataset] ?? r.dataset;
  const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
  const rows: [string, string, string][] = [
    [`FID (${name} classifier)`, f(r.fid), f(r.floor.fid)],
    ["KID", `${f(r.kid, 4)} ± ${f(r.kidStd, 4)}`, `${f(r.floor.kid, 4)} ± ${f(r.floor.kidStd, 4)}`],
    [`IS analogue (${name} classifier)`, `${f(r.is, 2)} ± ${f(r.isStd, 2)}`, `${f(r.floor.is, 2)} ± ${f(r.floor.isStd, 2)}`],
    ["precision (k=3)", f(r.precision), f(r.floor.precision)],
    ["recall (k=3)", f(r.recall), f(r.floor.recall)],
    ["density (k=5)", f(r.density), f(r.floor.density)],
    ["coverage (k=5)", f(r.coverage), f(r.floor.coverage)],
    ["classes covered", `${r.classesCovered}/10`, `${r.floor.classesCovered}/10`],
  ];
  const lines = [
    `${r.count} samples of ${r.dataset}, scored with gantry's own classifier (${r.classifier});`,
    "FID and IS here are not comparable with Inception FID and IS.",
    "",
    `${"metric".padEnd(40)}${"samples".padEnd(22)}real vs real (train vs test)`,
    ...rows.map(([m, a, b]) => `${m.padEnd(40)}${a.padEnd(22)}${b}`),
    "",
    `class histogram: ${r.modes.histogram.join(" ")}  (KL to data ${f(r.modes.klToData)})`,
    `mode collapse: ${r.collapsed ? `YES (class ${r.modes.dominant.label} at ${f(r.modes.dominant.ratio, 1)}x its share; ${r.classesCovered}/10 classes covered)` : "no"}`,
    ...(r.memorized === null ? [] : [`memorized (RMS pixel distance < 0.025 from a training image): ${f(r.memorized * 100, 2)}%`]),
  ];
  if (r.labelAccuracy !== null) lines.push(`label accuracy (classifier agrees with G's label): ${f(r.labelAccuracy * 100, 2)}%`);
  if (r.codeAgreement)
    lines.push(
      `InfoGAN categorical code vs class (best one-to-one matching): ${f(r.codeAgreement.agreement * 100, 2)}% agree; code value k -> class ${r.codeAgreement.classOf.join(", ")}`,
    );
  return lines.join("\n");
}
