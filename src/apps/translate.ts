// Using a trained translation GAN (pix2pix, CycleGAN): translate images, and measure how well it
// does on the dataset's held-out split against two references, the input itself (doing nothing)
// and, where the targets are real digits, the real targets.
//   Paired data: L1 and PSNR against the target.
//   Targets that are MNIST digits: the eval classifier's accuracy on the translations against the
//   input's class (is the class kept?), and FID against MNIST.
import { type Tensor, cat, noGrad, tensor, tidy } from "../engine/index.js";
import type { Generator } from "../models/index.js";
import { datasetOf } from "../data/registry.js";
import { evaluate } from "../metrics/index.js";
import type { GanConfig } from "../train/config.js";
import { ConfigError } from "../errors.js";

/** G's translations of `inputs` (B, ...sourceShape) in [-1, 1], in eval mode, `batch` at a time. */
export function translate(G: Generator, inputs: Tensor, batch = 256): Tensor {
  const wasTraining = G.training;
  G.eval();
  try {
    const parts: Tensor[] = [];
    for (let start = 0; start < inputs.shape[0]; start += batch) {
      parts.push(noGrad(() => G.forward(inputs.narrow(0, start, Math.min(batch, inputs.shape[0] - start)))));
    }
    return parts.length === 1 ? parts[0] : cat(parts);
  } finally {
    G.train(wasTraining);
  }
}

/** Images in [-1, 1] shown in `channels` channels: grey as the mean of RGB, RGB as grey repeated. */
export function inChannels(x: Tensor, channels: number): Tensor {
  if (x.shape[1] === channels) return x;
  return channels === 1 ? x.mean(1, true) : x.expand(-1, channels, -1, -1);
}

/** One row of the evaluation: what the translations (or a reference) score. */
export interface TranslationScore {
  /** Mean absolute error against the target, pixels in [0, 1]; paired data only. */
  l1: number | null;
  /** Peak signal-to-noise ratio against the target in dB (pixels in [0, 1], averaged over images); paired data only. */
  psnr: number | null;
  /** The classifier's accuracy against the input's class; when the targets are MNIST digits. */
  accuracy: number | null;
  /** FID against MNIST's training set (gantry's classifier features); when the targets are MNIST digits. */
  fid: number | null;
}

export interface TranslationEvaluation {
  dataset: string;
  split: "test" | "train";
  count: number;
  paired: boolean;
  translated: TranslationScore;
  /** The input itself, shown in the target's channels: what doing nothing scores (null when references were not asked for). */
  identity: TranslationScore | null;
  /** The real targets (unpaired data: other digits of the target domain): the best a translation can reach (null likewise). */
  targets: TranslationScore | null;
}

/** L1 and PSNR of `x` against `target`, both in [-1, 1]: per image, averaged. */
export function pixelScores(x: Tensor, target: Tensor): { l1: number; psnr: number } {
  return tidy(() => {
    const diff = x.sub(target).div(2); // in [0, 1] pixel units
    const l1 = diff.abs().mean().item();
    const mse = diff.square().flatten(1).mean(1).clamp(1e-10);
    const psnr = mse
      .log()
      .mul(-10 / Math.LN10)
      .mean()
      .item();
    return { l1, psnr };
  });
}

/**
 * Scores G on the first `count` samples of the dataset's test split (the training split for
 * folder-pair, which has no other), beside the identity and the real targets.
 */
export async function evaluateTranslation(
  G: Generator,
  dataConfig: GanConfig["data"],
  count = 1000,
  log: (m: string) => void = () => {},
  /** Also score the two references (the input as is, the real targets); periodic evaluation leaves them out. */
  references = true,
): Promise<TranslationEvaluation> {
  const entry = datasetOf(dataConfig.dataset);
  if (!entry.translation) {
    throw new ConfigError([{ path: "data.dataset", message: `${dataConfig.dataset} is not a translation dataset (mnist-pairs, mnist-colour, folder-pair)` }]);
  }
  const split = dataConfig.dataset === "folder-pair" ? "train" : "test";
  const data = await entry.translation(dataConfig as never, split, log);
  const n = Math.min(count, data.length);
  const bytes = (b: Uint8Array, shape: number[]) =>
    tensor(
      Float32Array.from(b.subarray(0, n * shape.reduce((a, c) => a * c, 1)), (v) => v / 127.5 - 1),
      { shape: [n, ...shape] },
    );
  const inputs = bytes(data.sources, data.sourceShape);
  const targets = bytes(data.images, data.imageShape);
  const labels = data.sourceLabels ? tensor(Int32Array.from(data.sourceLabels.subarray(0, n)), { shape: [n] }).to({ dtype: "int64" }) : null;
  const paired = Boolean(G.shape.source?.paired);
  const score = async (x: Tensor, vsTarget: boolean): Promise<TranslationScore> => {
    const pixels = paired && vsTarget ? pixelScores(x, targets) : null;
    let accuracy: number | null = null;
    let fid: number | null = null;
    if (data.targetDomain) {
      const report = await evaluate(x, data.targetDomain, labels);
      accuracy = report.labelAccuracy;
      fid = report.fid;
    }
    return { l1: pixels?.l1 ?? null, psnr: pixels?.psnr ?? null, accuracy, fid };
  };
  const outputs = translate(G, inputs);
  const identityImages = inChannels(inputs, targets.shape[1]);
  const result: TranslationEvaluation = {
    dataset: data.name,
    split,
    count: n,
    paired,
    translated: await score(outputs, true),
    identity: references ? await score(identityImages, true) : null,
    // Paired targets score 0 and infinity against themselves: only their class accuracy and FID say anything.
    targets: references ? await score(targets, !paired) : null,
  };
  if (!paired && result.targets) result.targets.accuracy = null; // unpaired targets are other digits: their classes are not the inputs'
  if (identityImages !== inputs) identityImages.dispose();
  for (const t of [inputs, targets, outputs, labels]) t?.dispose();
  return result;
}

/** The evaluation as a table: translated, identity and real targets, one column each. */
export function formatTranslationEvaluation(e: TranslationEvaluation): string {
  const f = (x: number | null, digits: number, scale = 1) => (x === null || !Number.isFinite(x) ? "–" : (x * scale).toFixed(digits));
  const rows: [string, (s: TranslationScore) => string][] = [
    ["L1 to the target (pixels in [0, 1])", (s) => f(s.l1, 4)],
    ["PSNR (dB)", (s) => f(s.psnr, 2)],
    ["class kept (classifier accuracy, %)", (s) => f(s.accuracy, 1, 100)],
    ["FID against MNIST", (s) => f(s.fid, 2)],
  ];
  const header = `${e.dataset}: ${e.count} ${e.split} images, ${e.paired ? "paired" : "unpaired"}`;
  const lines = [`| | translated | input as is | real targets |`, `|---|---|---|---|`];
  for (const [name, get] of rows) {
    const cells = [e.translated, e.identity, e.targets].map((score) => (score ? get(score) : "–"));
    if (cells.every((c) => c === "–")) continue;
    lines.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  return `${header}\n${lines.join("\n")}`;
}
