// The trainer: alternates the D and G updates of Goodfellow et al. (2014) and resumes a run
// exactly where it stopped. What happens around each step (stats, grids, checkpoints,
// evaluation) is in hooks.ts. The run directory:
//
//   RUN_DIR/config.json        the resolved config
//   RUN_DIR/stats.jsonl        one JSON record every log.every steps
//   RUN_DIR/reals.png          a grid of training data
//   RUN_DIR/samples/*.png      the fixed noise through G, every log.sampleEvery steps and every epoch
//   RUN_DIR/checkpoints/       step-NNNNNNNN.safetensors, the newest log.keepCheckpoints
//   RUN_DIR/generator.*        the exported generator, at the end
//   RUN_DIR/status.json        running, finished, stopped or failed, for watchers (gantry dash)
import { appendFileSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Tensor, getRngState, keep, noGrad, stack, tidy, resolveDevice, zeros, setRngState, withBatchShard } from "../engine/index.js";
import { Adam, EMA, LRScheduler } from "../optim/index.js";
import { buildGenerator, type Generator } from "../models/index.js";
import { sampleLatent, type Gan } from "./gan.js";
import { openDataSource, type DataSource } from "./data-source.js";
import { disposeState, listCheckpoints, loadLatestCheckpoint, saveCheckpoint, type TrainingState } from "./checkpoint.js";
import { assertBatchFits } from "./memory.js";
import { defaultHooks, type StepInfo, type TrainerHook } from "./hooks.js";
import { AdversarialStep, type Step, type StepResult } from "./step.js";
import { TranslationStep } from "./translation-step.js";
import type { Batch } from "../data/loader.js";
import { lockRunDir, prepareNewRunDir, removeStaleTemps, truncateStats } from "./run-dir.js";
import { exportGenerator, GRID_CALIBRATION_LATENTS, withCalibratedGenerator } from "./export.js";
import { initFromPretrained } from "./pretrained.js";
import { saveSamples, sampleExtension, translationGrid } from "./samples.js";
import { Progress } from "./progress.js";
import { writeRunStatus, type RunState } from "./run-status.js";
import { ConfigError, TrainingError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import type { DataParallel } from "../parallel/data-parallel.js";
import { BatchNorm1d, BatchNorm2d, setBatchNormSync } from "../nn/index.js";
import { makeDir } from "../util/make-dir.js";

/** One stats.jsonl record. */
export interface StepStats {
  step: number;
  epoch: number;
  batch: number;
  dLoss: number;
  /** G's loss at its latest update; null before G's first update (n_critic > 1). */
  gLoss: number | null;
  /** Mean D(x) on real data: a probability for BCE-family losses, the raw score otherwise. */
  dReal: number;
  dFake: number;
  gradNormD: number;
  gradNormG: number;
  lrG: number;
  lrD: number;
  imagesPerSec: number;
  seconds: number;
  /** BEGAN: the equilibrium control k_t and the convergence measure M (lower is better). */
  beganK?: number;
  convergence?: number;
  /** Image translation: the L1 distance to the target (pix2pix) or the mean cycle-consistency L1 (CycleGAN), in [-1, 1] pixel units. */
  reconstruction?: number;
}

export interface TrainerEvents {
  step: { step: number; dLoss: number; gLoss: number | null };
  log: StepStats;
  sample: { step: number; path: string };
  checkpoint: { step: number; path: string };
  metric: { step: number; name: string; value: number };
  /** Training diverged and went back to a checkpoint with scaled learning rates. */
  rollback: { step: number; from: number; reason: string; lrScale: number };
  /** Fired by a periodic evaluation that finds a class (or toy mode) missing or one dominating. */
  collapse: { step: number; message: string };
}

type Listener<E extends keyof TrainerEvents> = (event: TrainerEvents[E]) => void;

export interface TrainerOptions {
  /** The run directory: created if new; with resume, the run to continue. */
  runDir: string;
  resume?: boolean;
  /** Delete a run already in runDir and start afresh; without it such a runDir is refused. */
  overwrite?: boolean;
  /** What runs after every step; default defaultHooks(): stats log, sample grids, checkpoints, evaluation. */
  hooks?: TrainerHook[];
  /** With resume: the config fields this resume changed (path -> value), recorded in config.json. */
  resumeChanges?: Record<string, unknown>;
  /** Where progress goes; a silent Progress for tests. */
  progress?: Progress;
  /**
   * Data-parallel training (dist/): this process is one rank of several. Every rank trains; only
   * rank 0 writes to the run directory (config, stats, grids, checkpoints, the export) and runs hooks.
   */
  parallel?: DataParallel | null;
}

export class Trainer {
  readonly optG: Adam;
  readonly optD: Adam;
  readonly ema: EMA | null;
  readonly progress: Progress;
  /** The adversarial step itself (step.ts). */
  readonly stepper: Step;
  #step = 0;
  #generatorSteps = 0;
  /** G's loss at its latest update, logged on the D-only steps between (n_critic > 1); null before one. */
  #lastGLoss: number | null = null;
  /** Set by requestStop(): the loop checkpoints and returns after the current step. */
  #stopRequested: string | null = null;
  /**
   * In a data-parallel run, a stop every rank has agreed on (at the last step's all-reduce): a
   * request that arrives later waits for the next step, so that all ranks stop at the same one.
   */
  #stopAgreed: string | null = null;
  #releaseLock: () => void = () => {};
  /** The factor on both learning rates after rollbacks, how many there were, and a pending request. */
  #lrScale = 1;
  #rollbacks = 0;
  #rollbackRequested: { reason: string; atMost: number } | null = null;
  /** Log records in a row in which D has won (D(x) > 0.99, D(G(z)) < 0.01), and the step of the first. */
  #divergedLogs = 0;
  #divergedSince = 0;
  readonly #listeners = new Map<keyof TrainerEvents, Listener<never>[]>();
  /** The noise (and labels) behind every sample grid; set by #start or #restore. */
  /** What the sample grids show each time: fixed noise (and labels), or for translation fixed inputs and their targets. */
  #fixed!: { z: Tensor; labels?: Tensor; target?: Tensor };
  #schedules: LRScheduler[] = [];
  #hooks: TrainerHook[] = [];
  /** When run() began, and at which step: the stats hook measures speed from there. */
  #started = { time: Date.now(), step: 0 };

  private constructor(
    readonly gan: Gan,
    readonly data: DataSource,
    readonly runDir: string,
    progress: Progress,
    /** The process group of a data-parallel run; null in one process. */
    readonly parallel: DataParallel | null,
  ) {
    const { G, D, config } = gan;
    const device = resolveDevice(config.train.device);
    G.to(device);
    D.to(device);
    this.progress = progress;
    this.optG = new Adam(G.parameters(), { lr: config.train.lrG, betas: config.train.betas });
    this.optD = new Adam(D.parameters(), { lr: config.train.lrD, betas: config.train.betas });
    this.ema =
      config.train.emaDecay === null ? null : EMA.of(G, buildGenerator(config.model.generator, gan.shape).to(device) as Generator, config.train.emaDecay);
    // The data decides the step: noise to images, or an input image to its translation.
    this.stepper = gan.shape.source
      ? new TranslationStep(gan, this.optG, this.optD, this.ema, parallel)
      : new AdversarialStep(gan, this.optG, this.optD, this.ema, data, parallel);
    if (parallel && config.train.syncBatchNorm) {
      const hasBatchNorm = D.modules().some((m) => m instanceof BatchNorm1d || m instanceof BatchNorm2d);
      if (hasBatchNorm && gan.loss.penalty) {
        throw new ConfigError([
          {
            path: "train.syncBatchNorm",
            message: `cannot go with ${config.loss.name}'s gradient penalty through D's BatchNorm: a synchronized batch norm is not twice differentiable`,
          },
        ]);
      }
      setBatchNormSync((...args) => parallel.syncBatchNorm(...args));
    }
  }

  /** Opens the data and prepares a new run directory, or restores a run from its newest checkpoint. */
  static async create(gan: Gan, options: TrainerOptions): Promise<Trainer> {
    const parallel = options.parallel ?? null;
    const writer = !parallel || parallel.rank === 0;
    // Ranks other than 0 print nothing and never touch the run directory (on resume they read its checkpoint).
    const progress = writer ? (options.progress ?? new Progress()) : silentProgress();
    const log = (m: string) => progress.line(m);
    const { runDir } = options;
    assertBatchFits(gan);
    if (options.resume && !existsSync(join(runDir, "config.json")))
      throw new ConfigError([{ path: "--resume", message: `${runDir} is not a gantry run directory (no config.json)` }]);
    const existed = existsSync(runDir);
    let release = () => {};
    let trainer: Trainer;
    try {
      if (writer) {
        makeDir(runDir);
        release = lockRunDir(runDir, log);
        if (!options.resume) prepareNewRunDir(runDir, options.overwrite ?? false, log);
        removeStaleTemps(runDir, log);
      }
      const data = await openDataSource(gan.config, log, parallel?.shard ?? null);
      trainer = new Trainer(gan, data, runDir, progress, parallel);
      if (options.resume) trainer.#restore(options.resumeChanges ?? {});
      else trainer.#start();
      // Rank 0's weights everywhere (they agree already, from one seed or one checkpoint: this makes sure).
      parallel?.broadcast(trainer.#replicated(), "the broadcast of rank 0's initial weights");
    } catch (err) {
      release();
      // A run that never started (its data would not open, say) leaves no empty directory behind.
      if (writer && !existed) rmSync(runDir, { recursive: true, force: true });
      throw err;
    }
    trainer.#releaseLock = release;
    trainer.#hooks = writer ? (options.hooks ?? defaultHooks()) : [];
    trainer.#schedules = [
      new LRScheduler(trainer.optG, gan.config.train.lrG, gan.config.train.schedule, { totalSteps: trainer.totalSteps }),
      new LRScheduler(trainer.optD, gan.config.train.lrD, gan.config.train.schedule, { totalSteps: trainer.totalSteps }),
    ];
    return trainer;
  }

  /** Whether this process writes the run directory: always in one process, rank 0's job in a data-parallel run. */
  get writer(): boolean {
    return !this.parallel || this.parallel.rank === 0;
  }

  /** What every rank must hold identically: the parameters and buffers of G, D and G's EMA copy. */
  #replicated(): Tensor[] {
    const { G, D } = this.gan;
    return [G, D, ...(this.ema ? [this.ema.shadow] : [])].flatMap((m) => Object.values(m.stateDict()));
  }

  on<E extends keyof TrainerEvents>(event: E, listener: Listener<E>): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener as Listener<never>]);
    return this;
  }
  /** Fires an event to its listeners; for the trainer and its hooks. */
  emit<E extends keyof TrainerEvents>(event: E, payload: TrainerEvents[E]): void {
    for (const l of this.#listeners.get(event) ?? []) (l as Listener<E>)(payload);
  }

  /** Total D steps: train.steps, or epochs of full batches. */
  get totalSteps(): number {
    const { steps, epochs } = this.gan.config.train;
    return steps ?? epochs * this.data.batchesPerEpoch;
  }
  get epochs(): number {
    return Math.ceil(this.totalSteps / this.data.batchesPerEpoch);
  }

  #start(): void {
    const { init, initD } = this.gan.config.model;
    if (init) this.progress.line(`initialized ${initD ? "G and D" : "G (D random)"} from ${initFromPretrained(this.gan, this.ema, init, initD)}`);
    if (this.writer) {
      makeDir(join(this.runDir, "samples"));
      writeFileAtomic(join(this.runDir, "config.json"), `${JSON.stringify(this.gan.config, null, 2)}\n`);
      writeFileSync(join(this.runDir, "stats.jsonl"), "");
    }
    const { shape, config } = this.gan;
    tidy(() => {
      const reals = this.data.next();
      if (this.writer) saveSamples(join(this.runDir, `reals.${sampleExtension(shape)}`), reals.images.narrow(0, 0, Math.min(64, reals.images.shape[0])), shape);
      // Translation: the grids show the first batch's inputs (up to 32), translated, beside their targets.
      if (reals.sources) {
        const n = Math.min(32, reals.sources.shape[0]);
        this.#fixed = { z: keep(reals.sources.narrow(0, 0, n).clone()), target: keep(reals.images.narrow(0, 0, n).clone()) };
      }
    });
    if (!shape.source) {
      // Fixed noise for sample grids: for conditional models, 10 of each class, one class per row.
      const n = shape.numClasses ? shape.numClasses * 10 : 64;
      const latent = sampleLatent(shape, n, config.train.device);
      this.#fixed = { z: keep(latent.z), labels: shape.numClasses ? keep(stackClasses(shape.numClasses, config.train.device)) : undefined };
      latent.labels?.dispose();
    }
    this.data.seek({ epoch: 0, batch: 0 });
    // With rollback on, step 0 is a checkpoint too, so that even an early divergence has a good state to return to.
    if (config.train.rollback.limit) this.checkpoint();
  }

  get step(): number {
    return this.#step;
  }
  get generatorSteps(): number {
    return this.#generatorSteps;
  }
  get lastGLoss(): number | null {
    return this.#lastGLoss;
  }

  /** When run() began (ms since the epoch) and at which step. */
  get startedAt(): number {
    return this.#started.time;
  }
  get startStep(): number {
    return this.#started.step;
  }

  /** Adds a hook that runs after every step, after those already installed. */
  use(hook: TrainerHook): this {
    this.#hooks.push(hook);
    return this;
  }

  /** Asks the loop to write a checkpoint and return after the current step (Ctrl-C, SIGTERM). */
  requestStop(reason: string): void {
    this.#stopRequested = reason;
  }

  #restore(changes: Record<string, unknown>): void {
    const { path, state } = loadLatestCheckpoint(this.runDir, (m) => this.progress.line(m));
    const { config } = this.gan;
    if (this.totalSteps < state.step) {
      disposeState(state);
      const [path, value] =
        config.train.steps !== null ? ["train.steps", `${config.train.steps}`] : ["train.epochs", `${config.train.epochs} (${this.totalSteps} steps)`];
      throw new ConfigError([{ path, message: `${value} is below the run's current step ${state.step}; a run cannot be trained backwards` }]);
    }
    this.#load(path, state);
    if (!this.writer) return;
    // Records after the checkpoint will be written again: drop them, and any half-written line.
    truncateStats(join(this.runDir, "stats.jsonl"), this.#step, (m) => this.progress.line(m));
    config.resumes.push({ step: this.#step, time: new Date().toISOString(), changes });
    writeFileAtomic(join(this.runDir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
    for (const [field, value] of Object.entries(changes)) this.progress.line(`resume: ${field} = ${JSON.stringify(value)}`);
    this.progress.line(`resumed ${this.runDir} at step ${this.#step} from ${path}`);
  }

  /** Puts the whole training state of a loaded checkpoint in place, then frees it. */
  #load(path: string, state: TrainingState): void {
    const { G, D, config } = this.gan;
    G.loadStateDict(state.tensors.G, `${path} (G)`);
    D.loadStateDict(state.tensors.D, `${path} (D)`);
    if (this.ema && state.tensors.G_ema) this.ema.shadow.loadStateDict(state.tensors.G_ema, `${path} (G_ema)`);
    this.optG.loadStateDict(state.optG, `${path} (optG)`);
    this.optD.loadStateDict(state.optD, `${path} (optD)`);
    this.#fixed?.z.dispose();
    this.#fixed?.labels?.dispose();
    this.#fixed?.target?.dispose();
    const { fixed } = state.tensors;
    this.#fixed = {
      z: keep(fixed.z.to(config.train.device)),
      labels: fixed.labels ? keep(fixed.labels.to(config.train.device)) : undefined,
      target: fixed.target ? keep(fixed.target.to(config.train.device)) : undefined,
    };
    this.#step = state.step;
    this.#generatorSteps = state.generatorSteps;
    this.#lastGLoss = state.lastGLoss;
    this.#lrScale = state.lrScale;
    this.#rollbacks = state.rollbacks;
    this.gan.loss.loadState?.(state.lossState);
    this.data.seek(state.position);
    setRngState(state.rng);
    disposeState(state);
  }

  /** Asks the loop to roll back after the current step (the divergence hook does). */
  requestRollback(reason: string, atMost = this.#step): void {
    this.#rollbackRequested ??= { reason, atMost };
  }

  /**
   * Rolls back to the newest intact checkpoint at or before step `atMost` and scales both learning
   * rates by train.rollback.lrScale; a stats.jsonl record and a console line say so. Throws when
   * the limit is reached.
   */
  #rollback(reason: string, atMost = this.#step): void {
    const { limit, lrScale } = this.gan.config.train.rollback;
    if (this.#rollbacks >= limit) {
      throw new TrainingError(
        `step ${this.#step}: ${reason}; training stopped${limit ? ` after ${limit} rollback${limit === 1 ? "" : "s"}` : ""}. ${this.#recoveryHint()}`,
      );
    }
    const from = this.#step;
    const { path, state } = loadLatestCheckpoint(this.runDir, (m) => this.progress.line(m), atMost);
    const rollbacks = this.#rollbacks + 1;
    const scale = Number((state.lrScale * lrScale ** (rollbacks - state.rollbacks)).toPrecision(12));
    this.#load(path, state);
    this.#rollbacks = rollbacks;
    this.#lrScale = scale;
    this.#divergedLogs = 0;
    const record = { step: this.#step, rollback: { from, reason, count: rollbacks, lrScale: scale } };
    if (this.writer) {
      truncateStats(join(this.runDir, "stats.jsonl"), this.#step, (m) => this.progress.line(m));
      appendFileSync(join(this.runDir, "stats.jsonl"), `${JSON.stringify(record)}\n`);
    }
    this.progress.line(
      `rollback ${rollbacks}/${limit}: ${reason} at step ${from}; back to step ${this.#step} (${path}), learning rates x${+scale.toPrecision(4)}`,
    );
    this.emit("rollback", { step: this.#step, from, reason, lrScale: scale });
  }

  /** Trains on the next batch; `logging` also measures D(x), D(G(z)) and gradient norms. */
  #nextStep(logging: boolean): StepResult {
    const result = tidy(() =>
      withBatchShard(this.parallel?.shard ?? null, () => {
        return this.trainStep(this.data.next(), logging);
      }),
    );
    return this.parallel ? this.#averageAcrossRanks(result) : result;
  }

  /**
   * A data-parallel step's losses and logged scores, averaged across ranks (the gradient norms
   * are global already), and a stop that any rank asked for, shared by all: every rank decides
   * the same (a rollback, a stop) at the same step.
   */
  #averageAcrossRanks(result: StepResult): StepResult {
    const averaged = (["dReal", "dFake", "beganK", "convergence", "reconstruction"] as const).filter((k) => result.stats[k] !== undefined);
    const values = [result.dLoss, result.gLoss ?? 0, this.#stopRequested ? 1 : 0, ...averaged.map((k) => result.stats[k]!)];
    const [dLoss, gLoss, stop, ...rest] = this.parallel!.averageNumbers(values, `the all-reduce of the losses at step ${this.#step + 1}`);
    if (stop > 0) this.#stopAgreed = this.#stopRequested ?? "another rank was interrupted";
    const stats = { ...result.stats };
    averaged.forEach((k, i) => {
      stats[k] = rest[i];
    });
    return { ...result, dLoss, gLoss: result.gLoss === null ? null : gLoss, stats };
  }

  /** One step on the next batch, with no logs, samples or checkpoints: for benchmarks. */
  stepOnce(): { dLoss: number; gLoss: number | null } {
    const { dLoss, gLoss } = this.#nextStep(false);
    this.#step++;
    return { dLoss, gLoss };
  }

  /**
   * One training step on a real batch (step.ts has the maths); `logging` also measures D(x),
   * D(G(z)) and gradient norms. gLoss is null on a step without a G update (n_critic > 1).
   */
  trainStep(batch: Batch, logging = false): StepResult {
    const result = this.stepper.run(batch, { step: this.#step, totalSteps: this.totalSteps, generatorSteps: this.#generatorSteps, logging });
    if (result.gStep) this.#generatorSteps++;
    return result;
  }

  /**
   * Trains until totalSteps, writing logs, samples and checkpoints as it goes. Returns "stopped"
   * when requestStop() ended it early (after writing a checkpoint), else "finished".
   */
  async run(): Promise<"finished" | "stopped"> {
    const startedAt = new Date().toISOString();
    this.#writeStatus("running", startedAt);
    try {
      const status = await this.#loop();
      this.#writeStatus(status, startedAt, status === "stopped" ? this.#stopRequested : null);
      return status;
    } catch (err) {
      this.#writeStatus("failed", startedAt, err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  #writeStatus(state: RunState, startedAt: string, message: string | null = null): void {
    if (!this.writer) return;
    writeRunStatus(this.runDir, {
      state,
      step: this.#step,
      totalSteps: this.totalSteps,
      epochs: this.epochs,
      batchesPerEpoch: this.data.batchesPerEpoch,
      startedAt,
      updatedAt: new Date().toISOString(),
      message,
    });
  }

  async #loop(): Promise<"finished" | "stopped"> {
    const { config } = this.gan;
    const total = this.totalSteps;
    const perEpoch = this.data.batchesPerEpoch;
    this.#started = { time: Date.now(), step: this.#step };
    const ranks = this.parallel
      ? ` across ${this.parallel.world} processes (each computes ${config.train.batchSize / this.parallel.world} of every batch of ${config.train.batchSize})`
      : "";
    this.progress.line(
      `training ${config.preset ?? "custom"} on ${this.data.description}${ranks}: ${total} steps (${this.epochs} epochs of ${perEpoch}), run directory ${this.runDir}`,
    );
    if (this.ema) {
      this.progress.line(
        `G's EMA copy (decay ${this.ema.decay}, warmed up as min(decay, (1 + t) / (10 + t))) makes the sample grids, the evaluations and the exported generator`,
      );
    }
    while (this.#step < total) {
      for (const s of this.#schedules) s.apply(this.#step, this.#lrScale);
      const position = this.data.position;
      // The tutorial logs every 100 batches of each epoch: (i + 1) % 100 == 0. A cadence longer
      // than an epoch (the toy sets' epochs are 100 batches) counts steps over the whole run.
      const batch = (position.batch >= perEpoch ? 0 : position.batch) + 1;
      const logging = (config.log.every <= perEpoch ? batch : this.#step + 1) % config.log.every === 0;
      const result = this.#nextStep(logging);
      const bad = !Number.isFinite(result.dLoss) ? ["D", result.dLoss] : result.gLoss !== null && !Number.isFinite(result.gLoss) ? ["G", result.gLoss] : null;
      if (bad) {
        const reason = `the ${bad[0]} loss is ${bad[1]} at step ${this.#step + 1}`;
        if (!this.gan.config.train.rollback.limit)
          throw new TrainingError(`step ${this.#step + 1}: the ${bad[0]} loss is ${bad[1]}; training stopped. ${this.#recoveryHint()}`);
        this.#rollback(reason);
        continue;
      }
      if (result.gLoss !== null) this.#lastGLoss = result.gLoss;
      this.#step++;
      const epoch = (position.batch >= perEpoch ? position.epoch + 1 : position.epoch) + 1;
      this.emit("step", { step: this.#step, dLoss: result.dLoss, gLoss: this.#lastGLoss });
      const info: StepInfo = {
        step: this.#step,
        epoch,
        batch,
        epochEnd: batch === perEpoch,
        last: this.#step === total,
        logging,
        dLoss: result.dLoss,
        gLoss: this.#lastGLoss,
        stats: result.stats,
      };
      for (const hook of this.#hooks) await hook.afterStep?.(this, info);
      if (logging) this.#watchDivergence(result.stats);
      if (this.#rollbackRequested) {
        const { reason, atMost } = this.#rollbackRequested;
        this.#rollbackRequested = null;
        this.#rollback(reason, atMost);
        continue;
      }
      // Let the event loop run between steps (a few microseconds): signals, output, the GC's finalizers.
      await new Promise((r) => setImmediate(r));
      const stopping = this.parallel ? this.#stopAgreed : this.#stopRequested;
      if (stopping && this.#step < total) {
        this.progress.end();
        const path = this.checkpoint();
        this.#stopRequested = stopping;
        this.progress.line(`${stopping}: stopped at step ${this.#step}, checkpoint ${path}; continue with gantry train --resume ${this.runDir}`);
        return "stopped";
      }
    }
    this.progress.end();
    const G = this.ema ? (this.ema.shadow as Generator) : this.gan.G;
    this.#assertFinite({ G });
    if (!this.writer) return "finished";
    const exported = exportGenerator(this.runDir, this.gan, G, this.#step);
    this.progress.line(`done: ${this.#step} steps; generator saved to ${exported}`);
    return "finished";
  }

  /** Counts log records in which D has won; train.rollback.patience of them in a row request a rollback. */
  #watchDivergence(stats: Partial<StepStats>): void {
    const { patience, limit } = this.gan.config.train.rollback;
    if (!limit || !patience || !this.gan.loss.probabilistic) return;
    const won = (stats.dReal ?? 0) > 0.99 && (stats.dFake ?? 1) < 0.01;
    if (won && this.#divergedLogs === 0) this.#divergedSince = this.#step;
    this.#divergedLogs = won ? this.#divergedLogs + 1 : 0;
    // Back to a checkpoint from before the streak began: one written during it is no good state.
    if (this.#divergedLogs >= patience) {
      this.requestRollback(`D has won since step ${this.#divergedSince} (${patience} log records with D(x) > 0.99, D(G(z)) < 0.01)`, this.#divergedSince - 1);
    }
  }

  /** What to do after a non-finite loss or weight, naming only flags that exist and checkpoints that do. */
  #recoveryHint(): string {
    const intact = listCheckpoints(join(this.runDir, "checkpoints"))
      .filter((c) => c.step >= 0 && c.step <= this.#step)
      .pop();
    const fix = "lower the learning rates (--lr-g, --lr-d), or start again with a sturdier loss (--loss wgan-gp or --loss hinge)";
    if (!intact) return `No checkpoint was written before this step: ${fix}.`;
    return `The checkpoint of step ${intact.step} (${intact.path}) is intact: ${fix}; lower rates apply on resume, e.g. gantry train --resume ${this.runDir} --lr-g ${this.gan.config.train.lrG / 10} --lr-d ${this.gan.config.train.lrD / 10}.`;
  }

  /** Throws a TrainingError naming every state-dict tensor that holds NaN or Inf. */
  #assertFinite(modules: Record<string, { stateDict(): Record<string, Tensor> }>): void {
    const named = Object.entries(modules).flatMap(([m, mod]) =>
      Object.entries(mod.stateDict())
        .filter(([, t]) => t.dtype.startsWith("float") || t.dtype === "bfloat16")
        .map(([k, t]) => [`${m}.${k}`, t] as const),
    );
    if (!named.length) return;
    const finite = tidy(() => stack(named.map(([, t]) => t.isfinite().all())).toArray());
    const bad = named.filter((_, i) => !finite[i]).map(([name]) => name);
    if (bad.length) {
      throw new TrainingError(
        `step ${this.#step}: ${bad.length} tensor(s) hold NaN or Inf (${bad.slice(0, 4).join(", ")}${bad.length > 4 ? ", ..." : ""}); nothing was saved. ${this.#recoveryHint()}`,
      );
    }
  }

  /** Writes RUN/samples/NAME.png (NAME.txt for text): the fixed noise through G (its EMA copy when there is one). */
  sampleGrid(name: string): void {
    const G = this.ema ? (this.ema.shadow as Generator) : this.gan.G;
    const path = join(this.runDir, "samples", `${name}.${sampleExtension(this.gan.shape)}`);
    const wasTraining = G.training;
    // A generator that samples (Gumbel-softmax) draws from the RNG: put it back, so that grids never change training.
    const rng = getRngState();
    G.eval();
    const { z, labels, target } = this.#fixed;
    withCalibratedGenerator(
      G,
      this.gan.shape,
      () =>
        noGrad(() =>
          tidy(() => {
            const out = G.forward(z, labels);
            // Unpaired targets are unrelated images: only paired grids show them.
            const { source } = this.gan.shape;
            if (source) saveSamples(path, translationGrid(z, out, source.paired ? (target ?? null) : null), this.gan.shape, 8);
            else saveSamples(path, out, this.gan.shape);
          }),
        ),
      GRID_CALIBRATION_LATENTS,
    );
    G.train(wasTraining);
    setRngState(rng);
    this.emit("sample", { step: this.#step, path });
  }

  /** Writes a checkpoint now (atomically) and prunes old ones; refuses non-finite weights. */
  checkpoint(fileName?: string): string {
    const { G, D, config } = this.gan;
    if (!this.writer) return "";
    this.#assertFinite({ G, D, ...(this.ema ? { G_ema: this.ema.shadow } : {}) });
    const path = saveCheckpoint(
      join(this.runDir, "checkpoints"),
      {
        step: this.#step,
        generatorSteps: this.#generatorSteps,
        lastGLoss: this.#lastGLoss,
        position: this.data.position,
        lrScale: this.#lrScale,
        rollbacks: this.#rollbacks,
        lossState: this.gan.loss.saveState?.() ?? {},
        config,
        tensors: {
          G: G.stateDict(),
          D: D.stateDict(),
          G_ema: this.ema ? this.ema.shadow.stateDict() : null,
          fixed: Object.fromEntries(Object.entries(this.#fixed).filter((e): e is [string, Tensor] => e[1] !== undefined)),
        },
        optG: this.optG.stateDict(),
        optD: this.optD.stateDict(),
      },
      config.log.keepCheckpoints,
      fileName,
    );
    this.emit("checkpoint", { step: this.#step, path });
    return path;
  }

  /** Frees the data and releases the run directory's lock. */
  dispose(): void {
    if (this.parallel) setBatchNormSync(null);
    this.data.dispose();
    this.#releaseLock();
  }
}

/** 0,0,...,0,1,1,...: ten of each class, for one class per grid row. */
function stackClasses(numClasses: number, device: string): Tensor {
  return stack(Array.from({ length: numClasses }, (_, c) => zeros([10], { dtype: "int64", device }).add(c))).flatten();
}

/** Where the output of ranks other than 0 goes: nowhere. */
function silentProgress(): Progress {
  return new Progress({ write: () => true } as unknown as NodeJS.WriteStream, false);
}
