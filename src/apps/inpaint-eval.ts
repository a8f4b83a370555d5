// Inpainting, measured (gantry inpaint --evaluate): on the first N test images with a mask,
// gantry's inpainting against three baselines, each scored on the hole (L1 and PSNR, pixels in
// [0, 1]) and by the dataset's feature classifier's accuracy on the completed images:
//   masked   the hole left black (the background of MNIST and Fashion-MNIST);
//   mean     the hole filled with the mean training image;
//   nearest  the hole filled from the training image closest on the known pixels (L2);
//   gantry   latent optimization with G and D, Poisson-blended (inpaint.ts); a conditional G
//            fills with the class the context classifier reads from the known pixels, or
//            searches it with z.
// "recovered" is the share of the accuracy the mask takes away that inpainting gives back (null
// when the mask takes none away: Fashion-MNIST's classifier reads centre-masked images as well).
import { type Tensor, cat, keep, tensor, tidy } from "../engine/index.js";
import { loadDataset, type ImageDataset } from "../data/datasets.js";
import { accuracy, imagesOf, loadClassifier } from "../metrics/classifier.js";
import type { TrainedPair } from "../train/pretrained.js";
import { classesFromContext, contextClassifierFor, holed, inpaint, inpaintDefaults, makeMask, type MaskKind } from "./inpaint.js";

export interface InpaintScore {
  method: "original" | "masked" | "mean" | "nearest" | "gantry";
  /** Mean absolute error over the hole's pixels, in [0, 1] units; 0 for the original. */
  holeL1: number;
  /** PSNR over the hole's pixels (dB); Infinity for the original. */
  holePsnr: number;
  /** The feature classifier's accuracy on the completed images. */
  accuracy: number;
}

export interface InpaintEvaluation {
  dataset: string;
  mask: MaskKind;
  count: number;
  steps: number;
  restarts: number;
  /** The pool of random z screened for the starts. */
  candidates: number;
  scores: InpaintScore[];
  /**
   * How a conditional G got each image's class: read from the known pixels by the context
   * classifier, or searched with z; null for an unconditional G.
   */
  classFrom: "context" | "search" | null;
  /** The share of images whose class that found was the true one; null for an unconditional G. */
  classAccuracy: number | null;
  /** (gantry - masked) / (original - masked) accuracy; null when the mask costs no accuracy. */
  recovered: number | null;
  seconds: number;
}

/** The first n images of a split as (n, 1, H, W) in [-1, 1], with their labels (int64). */
function firstImages(data: ImageDataset, n: number): { images: Tensor; labels: Tensor } {
  const [, h, w] = data.imageShape;
  const count = Math.min(n, data.length);
  const images = tensor(
    Float32Array.from(data.images.subarray(0, count * h * w), (b) => b / 127.5 - 1),
    { shape: [count, 1, h, w] },
  );
  const labels = tensor(Int32Array.from(data.labels!.subarray(0, count)), { shape: [count] }).to({ dtype: "int64" });
  return { images, labels };
}

/** Fills each image's hole from its nearest training image on the known pixels (one mask for all). */
function nearestFill(images: Tensor, mask: Tensor, train: Tensor): Tensor {
  return tidy(() => {
    const m = mask.narrow(0, 0, 1).flatten(); // (H*W): the same mask for every image
    const x = images.flatten(1).mul(m);
    let best: Tensor | null = null;
    let bestDist: Tensor | null = null;
    // In chunks of the training set, to bound the (n, chunk) distance matrix.
    for (let start = 0; start < train.shape[0]; start += 10000) {
      tidy(() => {
        const t = train.narrow(0, start, Math.min(10000, train.shape[0] - start)).flatten(1);
        const tm = t.mul(m);
        const d = x
          .square()
          .sum(1, true)
          .sub(x.matmul(tm.transpose(0, 1)).mul(2))
          .add(tm.square().sum(1).unsqueeze(0));
        const { values, indices } = d.min(1);
        const candidates = t.indexSelect(0, indices);
        if (!best || !bestDist) {
          best = keep(candidates);
          bestDist = keep(values);
          return;
        }
        const better = values.lt(bestDist).unsqueeze(1).to({ dtype: "float32" });
        const next = keep(candidates.mul(better).add(best.mul(better.rsub(1))));
        const nextDist = keep(values.minimum(bestDist));
        best.dispose();
        bestDist.dispose();
        best = next;
        bestDist = nextDist;
      });
    }
    const filled = (best as unknown as Tensor).reshape(images.shape);
    return images.mul(mask).add(filled.mul(mask.rsub(1)));
  });
}

function holeScores(completed: Tensor, original: Tensor, mask: Tensor): { holeL1: number; holePsnr: number } {
  return tidy(() => {
    const hole = mask.rsub(1);
    const pixels = hole.sum().item() * original.shape[1];
    const diff = completed.sub(original).div(2).mul(hole); // [0, 1] units
    const mse = diff.square().sum().item() / pixels;
    return { holeL1: diff.abs().sum().item() / pixels, holePsnr: mse > 0 ? 10 * Math.log10(1 / mse) : Number.POSITIVE_INFINITY };
  });
}

export async function evaluateInpainting(
  pair: TrainedPair,
  options: {
    dataset?: string;
    mask?: MaskKind;
    count?: number;
    steps?: number;
    restarts?: number;
    candidates?: number;
    seed?: number;
    window?: number;
    lambda?: number;
    /** A conditional G's class: "context" (the default where a context classifier ships) or "search". */
    classFrom?: "context" | "search";
    log?: (m: string) => void;
  },
): Promise<InpaintEvaluation> {
  const dataset = options.dataset ?? pair.config.data.dataset;
  const {
    mask: kind = "center",
    count = 1000,
    steps = inpaintDefaults.steps,
    restarts = inpaintDefaults.restarts,
    candidates = inpaintDefaults.candidates,
    seed = 0,
    log = () => {},
  } = options;
  const test = await loadDataset(dataset, { split: "test" });
  const trainSet = await loadDataset(dataset, { split: "train" });
  const { model } = loadClassifier(dataset);
  const started = Date.now();
  const { images, labels } = firstImages(test, count);
  const n = images.shape[0];
  const mask = makeMask(kind, n, images.shape[2], images.shape[3], seed);
  const conditional = pair.shape.numClasses > 0;
  const reader = conditional ? contextClassifierFor(dataset, options.classFrom) : null;
  const classFrom = conditional ? (reader ? "context" : "search") : null;
  const classes = reader ? classesFromContext(reader.model, images, mask) : null;
  const train = imagesOf(trainSet); // all of it: the mean and the nearest neighbour do not depend on order
  const scores: InpaintScore[] = [];
  const score = (method: InpaintScore["method"], completed: Tensor) => {
    scores.push({ method, ...holeScores(completed, images, mask), accuracy: accuracy(model, completed, labels) });
    log(`${method}: ${JSON.stringify(scores[scores.length - 1])}`);
  };
  tidy(() => {
    score("original", images);
    score("masked", holed(images, mask));
    score("mean", images.mul(mask).add(train.mean(0, true).mul(mask.rsub(1))));
    score("nearest", nearestFill(images, mask, train));
  });
  // gantry, in batches of 500 (each draws its own pool of candidates).
  const parts: Tensor[] = [];
  const found: Tensor[] = [];
  for (let start = 0; start < n; start += 500) {
    const k = Math.min(500, n - start);
    const result = inpaint(pair.G, pair.D, images.narrow(0, start, k), mask.narrow(0, start, k), {
      steps,
      restarts,
      candidates,
      seed: seed + start,
      window: options.window,
      lambda: options.lambda,
      labels: classes?.narrow(0, start, k),
    });
    parts.push(keep(result.completed));
    if (result.labels) found.push(keep(result.labels));
    result.generated.dispose();
    result.z.dispose();
    log(`gantry: ${start + k}/${n} images inpainted (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  tidy(() => score("gantry", cat(parts)));
  const classAccuracy = found.length ? tidy(() => cat(found).eq(labels).to({ dtype: "float32" }).mean().item()) : null;
  if (classAccuracy !== null) log(`classes (${classFrom}): ${(100 * classAccuracy).toFixed(1)}% right`);
  for (const p of [...parts, ...found]) p.dispose();
  classes?.dispose();
  const acc = Object.fromEntries(scores.map((s) => [s.method, s.accuracy]));
  const lost = acc.original - acc.masked;
  const recovered = lost > 0 ? (acc.gantry - acc.masked) / lost : null;
  for (const t of [images, labels, mask, train]) t.dispose();
  return {
    dataset,
    mask: kind,
    count: n,
    steps,
    restarts,
    candidates,
    scores,
    classFrom,
    classAccuracy,
    recovered,
    seconds: (Date.now() - started) / 1000,
  };
}
