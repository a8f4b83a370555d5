// Pretrained models: a trained run's G, D and G's EMA copy in one safetensors file, with the
// run's config and its generator card (how long it trained, what it scored) as metadata. gantry
// ships some in models/pretrained/; `gantry sample --pretrained NAME` draws from one at once, and
// `gantry train --init NAME` starts a new run from its weights (fine-tuning) instead of random ones.
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Tensor, type TensorDict, loadSafetensors, saveSafetensors, withSeed } from "../engine/index.js";
import { buildGenerator, type Discriminator, type Generator, type ModelShape } from "../models/index.js";
import { CheckpointError, ConfigError } from "../errors.js";
import { disposeState, loadLatestCheckpoint } from "./checkpoint.js";
import { calibrateGenerator, generatorCard, loadedGenerator, shapeOfCard, type GeneratorCard, type LoadedGenerator } from "./export.js";
import { createGan, modelShapeOf, type Gan } from "./gan.js";
import type { GanConfig } from "./config.js";
import type { EMA } from "../optim/index.js";

/** models/pretrained/ of the package. */
export const pretrainedDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "models", "pretrained");

export const pretrainedNames = (): string[] =>
  existsSync(pretrainedDir)
    ? readdirSync(pretrainedDir)
        .filter((f) => f.endsWith(".safetensors"))
        .map((f) => f.replace(/\.safetensors$/, ""))
        .sort()
    : [];

/** The file behind a shipped model's name, or a .safetensors path; a ConfigError naming the choices otherwise. */
export function resolvePretrained(nameOrPath: string, flag = "--pretrained"): string {
  if (nameOrPath.endsWith(".safetensors") && existsSync(nameOrPath)) return nameOrPath;
  const shipped = join(pretrainedDir, `${nameOrPath}.safetensors`);
  if (/^[\w.-]+$/.test(nameOrPath) && existsSync(shipped)) return shipped;
  const names = pretrainedNames();
  throw new ConfigError([
    {
      path: flag,
      message: `'${nameOrPath}' is neither a shipped pretrained model (${names.length ? names.join(", ") : "none installed"}) nor a .safetensors file`,
    },
  ]);
}

interface PretrainedFile {
  path: string;
  config: GanConfig;
  card: GeneratorCard;
  /** G, D and G_ema, each a state dict. */
  parts: Record<"G" | "D" | "G_ema", TensorDict>;
}

function readPretrained(path: string): PretrainedFile {
  const { tensors, metadata } = loadSafetensors(path);
  const fail = (message: string, cause?: unknown): never => {
    for (const t of Object.values(tensors)) t.dispose();
    throw new CheckpointError(`${path}: ${message}`, cause === undefined ? undefined : { cause });
  };
  const parts: PretrainedFile["parts"] = { G: {}, D: {}, G_ema: {} };
  for (const [key, t] of Object.entries(tensors)) {
    const [part, ...rest] = key.split(".");
    if (part !== "G" && part !== "D" && part !== "G_ema") fail(`unexpected tensor '${key}' (a pretrained model holds G.*, D.* and G_ema.*)`);
    parts[part as keyof PretrainedFile["parts"]][rest.join(".")] = t;
  }
  let config: GanConfig | null = null;
  let card: GeneratorCard | null = null;
  try {
    config = JSON.parse(metadata["gantry-config"] ?? "null") as GanConfig;
    card = JSON.parse(metadata["gantry-card"] ?? "null") as GeneratorCard;
  } catch (err) {
    fail("its gantry-config or gantry-card metadata is not valid JSON", err);
  }
  if (!config || card?.format !== "gantry-generator") return fail("not a gantry pretrained model (no gantry-config and gantry-card metadata)");
  return { path, config, card, parts };
}

const disposeParts = (file: PretrainedFile) => {
  for (const part of Object.values(file.parts)) for (const t of Object.values(part)) t.dispose();
};

/**
 * Writes a run's newest checkpoint as a pretrained model: G, D, G's EMA copy (G again when the run
 * kept none), the run's config, and its card with `metrics` and `note` (e.g. how long it trained).
 */
export function savePretrained(runDir: string, out: string, extra: { metrics?: Record<string, number>; note?: string } = {}): string {
  const { path, state } = loadLatestCheckpoint(runDir, () => {});
  try {
    const { config, tensors } = state;
    const prefixed: Record<string, Tensor> = {};
    const add = (part: string, dict: TensorDict) => {
      for (const [k, t] of Object.entries(dict)) prefixed[`${part}.${k}`] = t;
    };
    add("G", tensors.G);
    add("D", tensors.D);
    add("G_ema", tensors.G_ema ?? tensors.G);
    const shape = modelShapeOf(config);
    const card = { ...generatorCard(config, shape, state.step), metrics: extra.metrics ?? {}, ...(extra.note ? { note: extra.note } : {}) };
    saveSafetensors(out, prefixed, { "gantry-config": JSON.stringify(config), "gantry-card": JSON.stringify(card), source: basename(path) }, { digest: true });
    return out;
  } finally {
    disposeState(state);
  }
}

/** The EMA generator of a pretrained model, ready to sample, its BatchNorm statistics calibrated to its weights (calibrateGenerator). */
export function loadPretrainedGenerator(nameOrPath: string): LoadedGenerator {
  const file = readPretrained(resolvePretrained(nameOrPath));
  try {
    const shape = shapeOfCard(file.card);
    const G = withSeed(0, () => buildGenerator(file.card.generator, shape)) as Generator;
    G.loadStateDict(file.parts.G_ema, `${file.path} (G_ema)`);
    calibrateGenerator(G, shape); // as a run's export and evaluations sample
    G.eval();
    return loadedGenerator(G, file.card, shape);
  } finally {
    disposeParts(file);
  }
}

/** G, D and G's EMA copy (G when the run kept none) from a run directory's newest checkpoint or a pretrained model. */
interface TrainedWeights {
  path: string;
  config: GanConfig;
  G: TensorDict;
  D: TensorDict;
  G_ema: TensorDict;
  dispose(): void;
}

function readTrainedWeights(source: string, flag: string): TrainedWeights {
  if (existsSync(source) && statSync(source).isDirectory()) {
    const { path, state } = loadLatestCheckpoint(source, () => {});
    const { G, D, G_ema } = state.tensors;
    return { path, config: state.config, G, D, G_ema: G_ema ?? G, dispose: () => disposeState(state) };
  }
  const file = readPretrained(resolvePretrained(source, flag));
  return { path: file.path, config: file.config, ...file.parts, dispose: () => disposeParts(file) };
}

/**
 * Starts a new run from trained weights: `source` is a shipped model's name, a pretrained
 * .safetensors file, or a run directory (its newest checkpoint). G and D must have the same
 * architecture and shapes; a mismatch names each tensor that differs. `withD` false
 * (model.initD) loads G and its EMA copy only, leaving D as built.
 */
export function initFromPretrained(gan: Gan, ema: EMA | null, source: string, withD = true): string {
  const w = readTrainedWeights(source, "--init");
  try {
    gan.G.loadStateDict(w.G, `--init ${w.path} (G)`);
    if (withD) gan.D.loadStateDict(w.D, `--init ${w.path} (D)`);
    ema?.shadow.loadStateDict(w.G_ema, `--init ${w.path} (G_ema)`);
    return w.path;
  } finally {
    w.dispose();
  }
}

export interface TrainedPair {
  /** G's EMA copy when the source kept one, else G; in eval mode. */
  G: Generator;
  D: Discriminator;
  shape: ModelShape;
  config: GanConfig;
  /** The file the weights came from. */
  source: string;
}

/**
 * G and D of a run (its newest checkpoint) or of a pretrained model (a shipped name or a file),
 * for what uses a trained GAN (inpainting, augmentation). Built as the run built them; G's
 * BatchNorm statistics are calibrated to its weights, as the run's export and evaluations sample.
 */
export function loadTrainedPair(source: string, flag = "--pretrained"): TrainedPair {
  const w = readTrainedWeights(source, flag);
  try {
    const gan = withSeed(0, () => createGan({ ...w.config, model: { ...w.config.model, init: null } }));
    gan.G.loadStateDict(w.G_ema, `${w.path} (G)`);
    gan.D.loadStateDict(w.D, `${w.path} (D)`);
    calibrateGenerator(gan.G, gan.shape); // as a run's export and evaluations sample
    gan.G.eval();
    gan.D.eval();
    return { G: gan.G, D: gan.D, shape: gan.shape, config: gan.config, source: w.path };
  } finally {
    w.dispose();
  }
}
