// Checkpoints: everything resuming needs, in one safetensors file written atomically, so a crash
// mid-write leaves the previous checkpoint intact. Tensors: G.*, D.*, G_ema.*, optG.*, optD.*,
// fixed.*; the rest (step, data position, RNG states, optimizer settings, config) is JSON in the
// file's metadata under "gantry", beside the SHA-256 of the tensor data, checked on load.
import { closeSync, existsSync, openSync, readSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Tensor, getRngState, loadSafetensors, saveSafetensors } from "../engine/index.js";
import type { OptimizerState } from "../optim/index.js";
import type { LoaderPosition } from "../data/loader.js";
import type { GanConfig } from "./config.js";
import { CheckpointError } from "../errors.js";

export const CHECKPOINT_VERSION = 1;

export interface TrainingState {
  step: number;
  generatorSteps: number;
  /** G's loss at its latest update (G steps less often than D under n_critic); null before one. */
  lastGLoss: number | null;
  position: LoaderPosition;
  config: GanConfig;
  /** The factor on both learning rates after rollbacks (1 before any), and how many there were. */
  lrScale: number;
  rollbacks: number;
  /** Numbers the loss carries from step to step (BEGAN's k); {} for most losses. */
  lossState: Record<string, number>;
  /** libtorch's RNG state per device when the checkpoint was written. */
  rng: Record<string, Uint8Array>;
  tensors: {
    G: Record<string, Tensor>;
    D: Record<string, Tensor>;
    G_ema: Record<string, Tensor> | null;
    fixed: Record<string, Tensor>;
  };
  optG: OptimizerState;
  optD: OptimizerState;
}

interface Meta {
  version: number;
  step: number;
  generatorSteps: number;
  lastGLoss: number | null;
  position: LoaderPosition;
  lrScale?: number;
  rollbacks?: number;
  lossState?: Record<string, number>;
  rng: Record<string, string>;
  optG: Omit<OptimizerState, "tensors">;
  optD: Omit<OptimizerState, "tensors">;
  config: GanConfig;
}

const prefixed = (prefix: string, dict: Record<string, Tensor>) => Object.fromEntries(Object.entries(dict).map(([k, t]) => [`${prefix}.${k}`, t]));

function pick(all: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  const p = `${prefix}.`;
  return Object.fromEntries(
    Object.entries(all)
      .filter(([k]) => k.startsWith(p))
      .map(([k, t]) => [k.slice(p.length), t]),
  );
}

export const checkpointName = (step: number) => `step-${String(step).padStart(8, "0")}.safetensors`;
const stepFile = /^step-\d{8,}\.safetensors$/;

/**
 * Writes a checkpoint for `state` (with the current RNG states) and keeps only the newest `keep`
 * step checkpoints, newest by the step recorded inside each; `fileName` other than the step's
 * (best.safetensors) is never pruned.
 */
export function saveCheckpoint(dir: string, state: Omit<TrainingState, "rng">, keep: number, fileName = checkpointName(state.step)): string {
  const { tensors, optG, optD } = state;
  const meta: Meta = {
    version: CHECKPOINT_VERSION,
    step: state.step,
    generatorSteps: state.generatorSteps,
    lastGLoss: state.lastGLoss,
    position: state.position,
    lrScale: state.lrScale,
    rollbacks: state.rollbacks,
    lossState: state.lossState,
    rng: Object.fromEntries(Object.entries(getRngState()).map(([d, s]) => [d, Buffer.from(s).toString("base64")])),
    optG: { hyper: optG.hyper, steps: optG.steps },
    optD: { hyper: optD.hyper, steps: optD.steps },
    config: state.config,
  };
  const path = join(dir, fileName);
  saveSafetensors(
    path,
    {
      ...prefixed("G", tensors.G),
      ...prefixed("D", tensors.D),
      ...(tensors.G_ema ? prefixed("G_ema", tensors.G_ema) : {}),
      ...prefixed("fixed", tensors.fixed),
      ...prefixed("optG", optG.tensors),
      ...prefixed("optD", optD.tensors),
    },
    { gantry: JSON.stringify(meta) },
    { digest: true },
  );
  for (const old of listCheckpoints(dir).slice(0, -keep)) rmSync(old.path, { force: true });
  return path;
}

export interface CheckpointEntry {
  path: string;
  /** The step recorded inside the file; -1 when its header cannot be read (a damaged file). */
  step: number;
  /** The step to order by: the recorded one, or for a damaged file the one in its name. */
  order: number;
}

/** The step recorded in a checkpoint's header, reading the header alone; -1 if unreadable. */
function recordedStep(path: string): number {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const prefix = Buffer.alloc(8);
    if (readSync(fd, prefix, 0, 8, 0) < 8) return -1;
    const length = Number(prefix.readBigUInt64LE(0));
    if (length > Math.min(statSync(path).size - 8, 64 << 20)) return -1;
    const header = Buffer.alloc(length);
    if (readSync(fd, header, 0, length, 8) < length) return -1;
    const meta = JSON.parse(JSON.parse(header.toString("utf8")).__metadata__.gantry) as { step?: unknown };
    return Number.isSafeInteger(meta.step) ? (meta.step as number) : -1;
  } catch {
    return -1;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The step checkpoints in `dir`, oldest first by the step recorded inside each; a file whose
 * header cannot be read is placed by the step in its name, so a damaged newest one is still tried
 * (and reported) first.
 */
export function listCheckpoints(dir: string): CheckpointEntry[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => stepFile.test(f))
    .map((f) => {
      const step = recordedStep(join(dir, f));
      return { path: join(dir, f), step, order: step >= 0 ? step : Number(/\d+/.exec(f)![0]) };
    })
    .sort((a, b) => a.order - b.order || a.step - b.step || (a.path < b.path ? -1 : 1));
}

/** Reads a checkpoint file into a TrainingState; the RNG states it holds are returned, not applied. */
export function loadCheckpoint(path: string): TrainingState {
  const { tensors, metadata } = loadSafetensors(path);
  const fail = (why: string, cause?: unknown): never => {
    for (const t of Object.values(tensors)) t.dispose();
    throw new CheckpointError(`${path}: ${why}`, { cause });
  };
  let meta: Meta | null = null;
  try {
    meta = JSON.parse(metadata.gantry ?? "null") as Meta;
  } catch (err) {
    fail("its gantry metadata is not valid JSON", err);
  }
  if (!meta || typeof meta !== "object" || !Number.isSafeInteger(meta.step)) return fail('not a gantry checkpoint (no "gantry" metadata with a step)');
  if (meta.version !== CHECKPOINT_VERSION) fail(`checkpoint version ${JSON.stringify(meta.version)}, this gantry reads version ${CHECKPOINT_VERSION}`);
  const rng: Record<string, Uint8Array> = {};
  if (typeof meta.rng !== "object" || meta.rng === null) fail("its RNG state is missing");
  for (const [device, s] of Object.entries(meta.rng)) {
    if (typeof s !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) fail(`its RNG state for ${device} is not base64 text`);
    rng[device] = new Uint8Array(Buffer.from(s, "base64"));
  }
  const position = meta.position;
  if (!position || !Number.isSafeInteger(position.epoch) || !Number.isSafeInteger(position.batch)) fail("its data position is missing or malformed");
  for (const key of ["optG", "optD"] as const) {
    if (!meta[key] || typeof meta[key] !== "object" || !Array.isArray(meta[key].steps)) fail(`its ${key} optimizer state is missing or malformed`);
  }
  const ema = pick(tensors, "G_ema");
  return {
    step: meta.step,
    generatorSteps: meta.generatorSteps,
    lastGLoss: meta.lastGLoss ?? null,
    position,
    config: meta.config,
    lrScale: typeof meta.lrScale === "number" && meta.lrScale > 0 ? meta.lrScale : 1,
    rollbacks: Number.isSafeInteger(meta.rollbacks) ? (meta.rollbacks as number) : 0,
    lossState: lossStateOf(meta.lossState),
    rng,
    tensors: { G: pick(tensors, "G"), D: pick(tensors, "D"), G_ema: Object.keys(ema).length ? ema : null, fixed: pick(tensors, "fixed") },
    optG: { ...meta.optG, tensors: pick(tensors, "optG") },
    optD: { ...meta.optD, tensors: pick(tensors, "optD") },
  };
}

/** A checkpoint's loss state: its finite numbers; {} when absent (most losses, older checkpoints). */
function lossStateOf(value: unknown): Record<string, number> {
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, number] => typeof e[1] === "number" && Number.isFinite(e[1])));
}

/** Frees every tensor a loaded TrainingState holds. */
export function disposeState(state: TrainingState): void {
  const { G, D, G_ema, fixed } = state.tensors;
  for (const group of [G, D, G_ema ?? {}, fixed, state.optG.tensors, state.optD.tensors]) {
    for (const t of Object.values(group)) t.dispose();
  }
}

/**
 * The newest intact checkpoint of a run (at or before step `atMost`): the newest by recorded step
 * that loads and passes its checksum; damaged newer ones are reported through `warn` and skipped.
 */
export function loadLatestCheckpoint(
  runDir: string,
  warn: (message: string) => void = () => {},
  atMost = Number.POSITIVE_INFINITY,
): { path: string; state: TrainingState } {
  const all = listCheckpoints(join(runDir, "checkpoints")).filter((c) => c.order <= atMost);
  if (!all.length) throw new CheckpointError(`${runDir}: no checkpoint to resume from (expected checkpoints/step-NNNNNNNN.safetensors)`);
  const problems: string[] = [];
  for (const { path } of all.reverse()) {
    try {
      return { path, state: loadCheckpoint(path) };
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      problems.push(err.message);
      warn(`warning: skipping a damaged checkpoint: ${err.message}`);
    }
  }
  throw new CheckpointError(`${runDir}: no intact checkpoint to resume from:\n  ${problems.join("\n  ")}`);
}
