// Checkpoints: everything resuming needs, in one safetensors file written atomically, so a crash
// mid-write leaves the previous checkpoint intact. Tensors: G.*, D.*, G_ema.*, optG.*, optD.*,
// fixed.*; the rest (step, epoch, data position, RNG states, optimizer settings, config) is JSON
// in the file's metadata under "gantry".
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Tensor, getRngState, loadSafetensors, saveSafetensors, setRngState } from "../engine/index.js";
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
  rng: Record<string, string>;
  optG: Omit<OptimizerState, "tensors">;
  optD: Omit<OptimizerState, "tensors">;
  config: GanConfig;
}

const prefixed = (prefix: string, dict: Record<string, Tensor>) =>
  Object.fromEntries(Object.entries(dict).map(([k, t]) => [`${prefix}.${k}`, t]));

function pick(all: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  const p = `${prefix}.`;
  return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith(p)).map(([k, t]) => [k.slice(p.length), t]));
}

export const checkpointName = (step: number) => `step-${String(step).padStart(8, "0")}.safetensors`;

/**
 * Writes a checkpoint for `state` (with the current RNG states) and keeps only the newest `keep`
 * step checkpoints; `fileName` other than the step's (best.safetensors) is never pruned.
 */
export function saveCheckpoint(dir: string, state: TrainingState, keep: number, fileName = checkpointName(state.step)): string {
  const { tensors, optG, optD } = state;
  const meta: Meta = {
    version: CHECKPOINT_VERSION,
    step: state.step,
    generatorSteps: state.generatorSteps,
    lastGLoss: state.lastGLoss,
    position: state.position,
    rng: Object.fromEntries(Object.entries(getRngState()).map(([d, s]) => [d, Buffer.from(s).toString("base64")])),
    optG: { hyper: optG.hyper, steps: optG.steps },
    optD: { hyper: optD.hyper, steps: optD.steps },
    config: state.config,
  };
  const path = join(dir, fileName);
  saveSafetensors(path, {
    ...prefixed("G", tensors.G),
    ...prefixed("D", tensors.D),
    ...(tensors.G_ema ? prefixed("G_ema", tensors.G_ema) : {}),
    ...prefixed("fixed", tensors.fixed),
    ...prefixed("optG", optG.tensors),
    ...prefixed("optD", optD.tensors),
  }, { gantry: JSON.stringify(meta) });
  for (const old of listCheckpoints(dir).slice(0, -keep)) rmSync(join(dir, old), { force: true });
  return path;
}

export function listCheckpoints(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /^step-\d{8}\.safetensors$/.test(f)).sort();
}

/** Reads a checkpoint file into a TrainingState and restores the RNG states it holds. */
export function loadCheckpoint(path: string): TrainingState {
  const { tensors, metadata } = loadSafetensors(path);
  let meta: Meta;
  try {
    meta = JSON.parse(metadata.gantry ?? "null") as Meta;
  } catch (err) {
    throw new CheckpointError(`${path}: its gantry metadata is not valid JSON`, { cause: err });
  }
  if (!meta || typeof meta.step !== "number") throw new CheckpointError(`${path}: not a gantry checkpoint (no "gantry" metadata with a step)`);
  if (meta.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(`${path}: checkpoint version ${meta.version}, this gantry reads version ${CHECKPOINT_VERSION}`);
  }
  setRngState(Object.fromEntries(Object.entries(meta.rng).map(([d, s]) => [d, new Uint8Array(Buffer.from(s, "base64"))])));
  const ema = pick(tensors, "G_ema");
  return {
    step: meta.step,
    generatorSteps: meta.generatorSteps,
    lastGLoss: meta.lastGLoss ?? null,
    position: meta.position,
    config: meta.config,
    tensors: { G: pick(tensors, "G"), D: pick(tensors, "D"), G_ema: Object.keys(ema).length ? ema : null, fixed: pick(tensors, "fixed") },
    optG: { ...meta.optG, tensors: pick(tensors, "optG") },
    optD: { ...meta.optD, tensors: pick(tensors, "optD") },
  };
}

/** The newest checkpoint in a run's checkpoints/ folder. */
export function latestCheckpoint(runDir: string): string {
  const dir = join(runDir, "checkpoints");
  const all = listCheckpoints(dir);
  if (!all.length) throw new CheckpointError(`${runDir}: no checkpoint to resume from (expected checkpoints/step-NNNNNNNN.safetensors)`);
  return join(dir, all[all.length - 1]);
}
