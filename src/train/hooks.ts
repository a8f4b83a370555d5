// What happens around the training step, as hooks the trainer runs after every step, in order:
// the stats log (stats.jsonl and the console), sample grids, checkpoints, and periodic evaluation
// with the best checkpoint. Trainer.create installs defaultHooks(); a dashboard, rollback or
// distributed training add their own with trainer.use(hook) instead of editing the loop.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { StepStats, Trainer } from "./trainer.js";
import { describeChange, getRngState, setRngState, ThreadGovernor, tidy } from "../engine/index.js";
import type { Generator } from "../models/index.js";
import { evaluate, evaluateFolder, textScores, toyModeStats } from "../metrics/index.js";
import { evaluateTranslation } from "../apps/translate.js";
import { decodeSequences, type TextCorpus } from "../data/text.js";
import { datasetOf } from "../data/registry.js";
import { sampleFrom, withCalibratedGenerator } from "./export.js";
import { writeFileAtomic } from "../util/atomic-write.js";

/** What one step did, as the hooks see it. */
export interface StepInfo {
  step: number;
  /** 1-based epoch and batch within it. */
  epoch: number;
  batch: number;
  epochEnd: boolean;
  /** The run's final step. */
  last: boolean;
  /** Whether this step measured D(x), D(G(z)) and gradient norms (a log step). */
  logging: boolean;
  dLoss: number;
  /** G's loss at its latest update; null before one. */
  gLoss: number | null;
  stats: Partial<StepStats>;
}

export interface TrainerHook {
  name: string;
  /** Runs after every step; the loop awaits it. */
  afterStep?(trainer: Trainer, step: StepInfo): void | Promise<void>;
}

/** Every log.every batches of an epoch: a stats.jsonl record and the tutorial's line. */
export function statsLog(): TrainerHook {
  let last: { time: number; step: number } | null = null;
  return {
    name: "stats",
    afterStep(trainer, s) {
      if (!s.logging) return;
      const now = Date.now();
      last ??= { time: trainer.startedAt, step: trainer.startStep };
      const seconds = (now - last.time) / 1000;
      const itPerSec = (s.step - last.step) / Math.max(seconds, 1e-9);
      last = { time: now, step: s.step };
      const record: StepStats = {
        step: s.step,
        epoch: s.epoch,
        batch: s.batch,
        dLoss: s.dLoss,
        gLoss: s.gLoss,
        dReal: s.stats.dReal ?? Number.NaN,
        dFake: s.stats.dFake ?? Number.NaN,
        gradNormD: s.stats.gradNormD ?? Number.NaN,
        gradNormG: s.stats.gradNormG ?? Number.NaN,
        lrG: trainer.optG.lr,
        lrD: trainer.optD.lr,
        imagesPerSec: itPerSec * trainer.gan.config.train.batchSize,
        seconds,
        ...(s.stats.beganK !== undefined && { beganK: s.stats.beganK, convergence: s.stats.convergence }),
        ...(s.stats.reconstruction !== undefined && { reconstruction: s.stats.reconstruction }),
      };
      appendFileSync(join(trainer.runDir, "stats.jsonl"), `${JSON.stringify(record)}\n`);
      const g = s.gLoss === null ? "n/a (no G step yet)" : s.gLoss.toFixed(4);
      const m =
        record.convergence !== undefined
          ? `, M: ${record.convergence.toFixed(4)}, k: ${record.beganK?.toFixed(4)}`
          : record.reconstruction !== undefined
            ? `, L1: ${record.reconstruction.toFixed(4)}`
            : "";
      trainer.progress.line(
        `Epoch [${s.epoch}/${trainer.epochs}], Step [${s.batch}/${trainer.data.batchesPerEpoch}], D_loss: ${s.dLoss.toFixed(4)}, G_loss: ${g}${m}`,
      );
      trainer.emit("log", record);
    },
  };
}

/**
 * On a terminal, the progress bar redrawn by time (every `intervalMs`, and at the last step), not
 * only at log lines: its speed is measured over the steps since the previous redraw.
 */
export function progressBar(intervalMs = 500): TrainerHook {
  let previous: { time: number; step: number } | null = null;
  let itPerSec = Number.NaN;
  return {
    name: "progress",
    afterStep(trainer, s) {
      if (!trainer.progress.interactive) return;
      const now = Date.now();
      previous ??= { time: trainer.startedAt, step: trainer.startStep };
      if (now - previous.time < intervalMs && !s.last) return;
      const rate = (s.step - previous.step) / Math.max((now - previous.time) / 1000, 1e-9);
      // A little smoothing so the ETA does not jump with every redraw.
      itPerSec = Number.isFinite(itPerSec) ? 0.7 * itPerSec + 0.3 * rate : rate;
      previous = { time: now, step: s.step };
      trainer.progress.bar({
        step: s.step,
        totalSteps: trainer.totalSteps,
        epoch: s.epoch,
        epochs: trainer.epochs,
        dLoss: s.dLoss,
        gLoss: s.gLoss ?? Number.NaN,
        itPerSec,
      });
    },
  };
}

/**
 * The fixed-noise grid every log.sampleEvery steps, at every epoch's end and at the last step. Toy
 * data's epochs are nominal (100 batches), so with log.sampleEvery set it has no epoch-end grids: a
 * 400,000-step run writes 400 grids at the toy presets' 1,000, not 4,000 more.
 */
export function sampleGrids(): TrainerHook {
  return {
    name: "samples",
    afterStep(trainer, s) {
      const every = trainer.gan.config.log.sampleEvery;
      const atEpochEnd = s.epochEnd && !(every && trainer.data.nominalEpochs);
      if (!((every && s.step % every === 0) || atEpochEnd || s.last)) return;
      trainer.sampleGrid(atEpochEnd ? `epoch-${String(s.epoch).padStart(3, "0")}` : `step-${String(s.step).padStart(8, "0")}`);
    },
  };
}

/** A checkpoint every log.checkpointEvery steps and at the last step. */
export function checkpoints(): TrainerHook {
  return {
    name: "checkpoints",
    afterStep(trainer, s) {
      if (s.step % trainer.gan.config.log.checkpointEvery === 0 || s.last) trainer.checkpoint();
    },
  };
}

/**
 * Every log.evalEvery steps: the scores appended to stats.jsonl and printed, a warning and a
 * `collapse` event on mode collapse, and checkpoints/best.safetensors kept by FID.
 */
export function periodicEval(): TrainerHook {
  return {
    name: "eval",
    async afterStep(trainer, s) {
      const every = trainer.gan.config.log.evalEvery;
      if (!every || s.step % every !== 0) return;
      const { scores, collapse } = await scoreGenerator(trainer);
      appendFileSync(join(trainer.runDir, "stats.jsonl"), `${JSON.stringify({ step: s.step, eval: scores })}\n`);
      for (const [name, value] of Object.entries(scores)) if (typeof value === "number") trainer.emit("metric", { step: s.step, name, value });
      const summary = Object.entries(scores)
        .map(([k, v]) => `${k} ${typeof v === "number" ? +v.toFixed(4) : v}`)
        .join(", ");
      trainer.progress.line(`eval at step ${s.step}: ${summary}`);
      if (collapse) {
        const message = `warning: mode collapse at step ${s.step}: ${collapse}`;
        trainer.progress.line(message);
        trainer.emit("collapse", { step: s.step, message });
      }
      if (typeof scores.fid === "number") keepBest(trainer, s.step, scores.fid);
    },
  };
}

/** Each trainer's text corpus, opened once for its periodic evaluations. */
const corpora = new WeakMap<Trainer, TextCorpus>();

/** Scores by name, and a message when G has collapsed. */
type Scored = { scores: Record<string, number | boolean | null>; collapse: string | null };

/**
 * Scores G (its EMA copy when there is one) now, with a collapse message when a class or toy
 * mode is missing or one dominates. The RNG state is restored after, so evaluation never changes
 * training; periodicEval records the scores.
 */
export async function scoreGenerator(trainer: Trainer): Promise<Scored> {
  const G = trainer.ema ? (trainer.ema.shadow as Generator) : trainer.gan.G;
  const rng = getRngState();
  const wasTraining = G.training;
  G.eval();
  try {
    // Calibrated BatchNorm statistics, as the export will have; training's are put back after.
    return await withCalibratedGenerator(G, trainer.gan.shape, () => scoresOf(trainer, G));
  } finally {
    setRngState(rng);
    G.train(wasTraining);
  }
}

/** scoreGenerator's measurement, by what G makes: text, translations, toy points, or images and audio. */
async function scoresOf(trainer: Trainer, G: Generator): Promise<Scored> {
  const { shape, config } = trainer.gan;
  const entry = datasetOf(config.data.dataset);
  if (entry.corpus && shape.vocabulary) {
    let corpus = corpora.get(trainer);
    if (!corpus) corpora.set(trainer, (corpus = entry.corpus(config.data as never)));
    const texts = tidy(() => decodeSequences(sampleFrom(G, shape, config.log.evalCount).samples, shape.vocabulary!));
    const t = textScores(texts, corpus);
    const scores = { jsd2: t.jsd[2], jsd4: t.jsd[4], memorized: t.memorized, novelValid: t.novelValid, unique: t.unique, meanLength: t.meanLength };
    return { scores, collapse: t.unique < 0.2 ? `only ${(t.unique * 100).toFixed(1)}% of samples are distinct` : null };
  }
  if (shape.source) {
    // Translation: the held-out inputs translated, scored against their targets (apps/translate.ts).
    const { l1, psnr, accuracy, fid } = (await evaluateTranslation(G, config.data, Math.min(config.log.evalCount, 1000), () => {}, false)).translated;
    return { scores: { l1, psnr, classKept: accuracy, fid }, collapse: null };
  }
  const toy = entry.toy;
  if (toy) {
    const stats = tidy(() => toyModeStats(sampleFrom(G, shape, config.log.evalCount).samples, toy));
    const scores = { modesCaptured: stats.modesCaptured, highQualityFraction: stats.highQualityFraction, collapsed: stats.collapsed };
    return { scores, collapse: stats.collapsed ? `${stats.modesCaptured}/${stats.numModes} modes captured` : null };
  }
  const { samples, labels } = sampleFrom(G, shape, config.log.evalCount);
  if (config.data.dataset === "folder") {
    // The user's own images: no classes, scored on the folder's self-supervised features (trained once, cached).
    const r = await evaluateFolder(samples, config.data, { log: (m) => console.log(m) });
    samples.dispose();
    labels?.dispose();
    return { scores: { fid: r.fid, kid: r.kid, precision: r.precision, recall: r.recall, coverage: r.coverage, memorized: r.memorized }, collapse: null };
  }
  const audio = shape.sampleRate ? { sampleRate: shape.sampleRate, data: config.data } : undefined;
  const report = await evaluate(samples, config.data.dataset, labels, audio);
  samples.dispose();
  labels?.dispose();
  const scores = {
    fid: report.fid,
    kid: report.kid,
    precision: report.precision,
    recall: report.recall,
    coverage: report.coverage,
    classesCovered: report.classesCovered,
    collapsed: report.collapsed,
    labelAccuracy: report.labelAccuracy,
  };
  const collapse = report.collapsed
    ? `class ${report.modes.dominant.label} at ${report.modes.dominant.ratio.toFixed(1)}x its share, ${report.classesCovered}/10 classes covered`
    : null;
  return { scores, collapse };
}

function keepBest(trainer: Trainer, step: number, fid: number): void {
  const path = join(trainer.runDir, "best.json");
  const best = existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as { fid: number }).fid : Number.POSITIVE_INFINITY;
  if (!(fid < best)) return;
  trainer.checkpoint("best.safetensors");
  writeFileAtomic(path, `${JSON.stringify({ step, fid })}\n`);
}

/**
 * Follows the cores other processes leave free (engine/threads.ts), with one line on the console
 * at each change; nothing when GANTRY_NUM_THREADS fixes the thread count or training is on a GPU.
 */
export function threadGovernor(governor = ThreadGovernor.fromEnv()): TrainerHook {
  return {
    name: "threads",
    afterStep(trainer) {
      if (!governor || trainer.gan.config.train.device !== "cpu") return;
      const change = governor.tick();
      if (change) trainer.progress.line(describeChange(change));
    },
  };
}

/** The hooks every run has, in the order they run. */
export const defaultHooks = (): TrainerHook[] => [statsLog(), progressBar(), sampleGrids(), checkpoints(), periodicEval(), threadGovernor()];
