// Data safety of a run directory (issue 9): nothing non-finite is checkpointed, runs never mix,
// one trainer per directory, damaged checkpoints and stats lines never block a resume, temp
// files are cleaned, resumes are explicit and recorded, and no hidden RNG reseeding.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createGan,
  Trainer,
  listCheckpoints,
  loadCheckpoint,
  loadLatestCheckpoint,
  disposeState,
  resumeConfig,
  readRunConfig,
  type ConfigOverrides,
} from "./index.js";
import { ConfigError, TrainingError, CheckpointError } from "../errors.js";
import { LOCK_FILE } from "./run-dir.js";
import { assertBatchFits } from "./memory.js";
import * as E from "../engine/index.js";
import { captureProgress } from "../../test/helpers.js";

const tmp = () => mkdtempSync(join(tmpdir(), "gantry-safety-"));

function cfg(steps: number, extra: ConfigOverrides = {}): ConfigOverrides {
  return {
    preset: "mnist-mlp",
    ...extra,
    train: { steps, batchSize: 16, ...extra.train },
    log: { every: 1, checkpointEvery: 4, keepCheckpoints: 5, ...extra.log },
  };
}

async function train(runDir: string, c: ConfigOverrides, options: { resume?: boolean; overwrite?: boolean; changes?: Record<string, unknown> } = {}) {
  const out = captureProgress();
  const trainer = await Trainer.create(createGan(c), {
    runDir,
    resume: options.resume,
    overwrite: options.overwrite,
    resumeChanges: options.changes,
    progress: out.progress,
  });
  try {
    return { status: await trainer.run(), log: out.text(), trainer };
  } finally {
    trainer.dispose();
  }
}

const losses = (runDir: string) =>
  readFileSync(join(runDir, "stats.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((r) => "dLoss" in r)
    .map((r) => [r.step, r.dLoss, r.gLoss]);

function everyTensorFinite(path: string): boolean {
  const { tensors } = E.loadSafetensors(path);
  try {
    return Object.values(tensors).every((t) => t.dtype !== "float32" || E.tidy(() => t.isfinite().all().item()) === 1);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

test("a non-finite loss stops training before any checkpoint holds it, and the hint names real flags", async () => {
  const dir = tmp();
  await assert.rejects(
    train(dir, cfg(100, { loss: { name: "least-squares" }, train: { lrG: 1e20, lrD: 1e20 }, log: { every: 1, checkpointEvery: 1 } })),
    (e) => e instanceof TrainingError && /NaN|Infinity/.test(e.message) && /--lr-g/.test(e.message) && !/hinge-sn/.test(e.message),
  );
  for (const c of listCheckpoints(join(dir, "checkpoints"))) assert.ok(everyTensorFinite(c.path), `${c.path} holds a non-finite tensor`);
});

test("the hint says no checkpoint exists when none does, and names the intact one when one does", async () => {
  const none = tmp();
  await assert.rejects(
    train(none, cfg(50, { loss: { name: "least-squares" }, train: { lrG: 1e20, lrD: 1e20 } })),
    /No checkpoint was written before this step/,
  );
  const some = tmp();
  await train(some, cfg(4));
  const gan = createGan(cfg(8));
  const trainer = await Trainer.create(gan, { runDir: some, resume: true, progress: captureProgress().progress });
  try {
    E.noGrad(() => gan.G.parameters()[0].fill_(Number.NaN));
    assert.throws(
      () => trainer.checkpoint(),
      (e) => e instanceof TrainingError && /G\.net\.0\.weight/.test(e.message) && /checkpoint of step 4 .* is intact/.test(e.message),
    );
  } finally {
    trainer.dispose();
  }
  assert.deepEqual(
    listCheckpoints(join(some, "checkpoints")).map((c) => c.step),
    [4],
    "nothing new was written",
  );
});

test("a directory holding a run is refused unless --overwrite, which clears it; a non-run folder is never cleared", async () => {
  const dir = tmp();
  await train(dir, cfg(4));
  const before = readFileSync(join(dir, "stats.jsonl"));
  await assert.rejects(train(dir, cfg(2)), (e) => e instanceof ConfigError && /already holds a run: continue it with --resume/.test(e.message));
  assert.deepEqual(readFileSync(join(dir, "stats.jsonl")), before, "the old run is untouched");
  assert.ok(!existsSync(join(dir, LOCK_FILE)), "the lock is released after a refusal");
  const { log } = await train(dir, cfg(2, { log: { checkpointEvery: 1 } }), { overwrite: true });
  assert.match(log, /--overwrite: cleared the previous run/);
  assert.deepEqual(
    listCheckpoints(join(dir, "checkpoints")).map((c) => c.step),
    [1, 2],
  );
  const other = tmp();
  writeFileSync(join(other, "notes.txt"), "mine");
  await assert.rejects(train(other, cfg(2), { overwrite: true }), /non-empty folder that holds no gantry run/);
  assert.ok(existsSync(join(other, "notes.txt")));
});

test("checkpoints are ordered by the step recorded inside them, not by file name", async () => {
  const dir = tmp();
  await train(dir, cfg(8));
  const ckpt = join(dir, "checkpoints");
  renameSync(join(ckpt, "step-00000004.safetensors"), join(ckpt, "step-99999999.safetensors"));
  assert.deepEqual(
    listCheckpoints(ckpt).map((c) => c.step),
    [4, 8],
  );
  const { path, state } = loadLatestCheckpoint(dir);
  disposeState(state);
  assert.match(path, /step-00000008/);
});

for (const [damage, how] of [
  ["truncated", (p: string) => truncateSync(p, 4096)],
  [
    "bit-flipped",
    (p: string) => {
      const bytes = readFileSync(p);
      bytes[bytes.length - 100] ^= 0x40;
      writeFileSync(p, bytes);
    },
  ],
] as const) {
  test(`a ${damage} newest checkpoint is reported and resume falls back to the previous one, exactly`, async () => {
    const whole = tmp();
    await train(whole, cfg(12));
    const parts = tmp();
    await train(parts, cfg(8));
    how(join(parts, "checkpoints", "step-00000008.safetensors"));
    assert.throws(() => loadCheckpoint(join(parts, "checkpoints", "step-00000008.safetensors")), CheckpointError);
    const { log } = await train(parts, cfg(12), { resume: true });
    assert.match(log, /skipping a damaged checkpoint: .*step-00000008/);
    assert.match(log, /resumed .* at step 4/);
    assert.deepEqual(losses(parts), losses(whole), "the run continues as if never stopped");
  });
}

test("a half-written last line of stats.jsonl is cut back on resume, with a message", async () => {
  const dir = tmp();
  await train(dir, cfg(4));
  appendFileSync(join(dir, "stats.jsonl"), '{"step":5,"dLoss":0.6');
  const { log } = await train(dir, cfg(6), { resume: true });
  assert.match(log, /dropped its last line, cut off mid-write/);
  assert.deepEqual(
    losses(dir).map((r) => r[0]),
    [1, 2, 3, 4, 5, 6],
  );
});

test("temp files left by a kill during an atomic write are removed on the next start", async () => {
  const dir = tmp();
  await train(dir, cfg(4));
  const junk = join(dir, "checkpoints", ".step-00000008.safetensors.99999.tmp");
  writeFileSync(junk, "partial");
  const { log } = await train(dir, cfg(5), { resume: true });
  assert.ok(!existsSync(junk));
  assert.match(log, /removed .*step-00000008\.safetensors\.99999\.tmp, left by an interrupted write/);
});

test("one trainer per run directory; a stale lock from a dead process is taken over with a message", async () => {
  const dir = tmp();
  await train(dir, cfg(4));
  const holder = await Trainer.create(createGan(cfg(8)), { runDir: dir, resume: true, progress: captureProgress().progress });
  try {
    await assert.rejects(
      train(dir, cfg(8), { resume: true }),
      (e) => e instanceof ConfigError && new RegExp(`being trained by process ${process.pid}`).test(e.message),
    );
  } finally {
    holder.dispose();
  }
  const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: (await import("node:os")).hostname(), started: "then" }));
  const { log } = await train(dir, cfg(6), { resume: true });
  assert.match(log, new RegExp(`taking over a stale lock .*process ${dead}`));
  assert.ok(!existsSync(join(dir, LOCK_FILE)), "released at the end");
});

test("a stop request checkpoints the current step and returns 'stopped'; resume continues exactly", async () => {
  const whole = tmp();
  await train(whole, cfg(10, { log: { checkpointEvery: 100 } }));
  const parts = tmp();
  const out = captureProgress();
  const trainer = await Trainer.create(createGan(cfg(10, { log: { checkpointEvery: 100 } })), { runDir: parts, progress: out.progress });
  trainer.on("step", ({ step }) => step === 3 && trainer.requestStop("interrupted (SIGTERM)"));
  assert.equal(await trainer.run(), "stopped");
  trainer.dispose();
  assert.match(out.text(), /interrupted \(SIGTERM\): stopped at step 3/);
  assert.deepEqual(
    listCheckpoints(join(parts, "checkpoints")).map((c) => c.step),
    [3],
  );
  await train(parts, cfg(10, { log: { checkpointEvery: 100 } }), { resume: true });
  assert.deepEqual(losses(parts), losses(whole));
});

test("resume: only length, rates, cadences and device may change; changes apply, are recorded and persist", async () => {
  const dir = tmp();
  await train(dir, cfg(4));
  assert.throws(
    () => resumeConfig(dir, { loss: { name: "hinge" } }, new Map([["loss.name", "--loss"]])),
    (e) => e instanceof ConfigError && /--loss: would change loss\.name/.test(e.message),
  );
  assert.throws(() => resumeConfig(dir, { model: { latentDim: 64 } }), /model\.latentDim: would change/);
  assert.throws(() => resumeConfig(dir, { train: { seed: 3 } }), /train\.seed: would change/);
  const { config, changes } = resumeConfig(dir, { train: { steps: 6, lrG: 1e-4 } });
  assert.deepEqual(changes, { "train.steps": 6, "train.lrG": 1e-4 });
  const { log } = await train(dir, config, { resume: true, changes });
  assert.match(log, /resume: train\.lrG = 0\.0001/);
  const stats = readFileSync(join(dir, "stats.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(stats.at(-1).lrG, 1e-4, "the new rate applied");
  const saved = readRunConfig(dir);
  assert.equal(saved.train.lrG, 1e-4, "and persists for the next resume");
  assert.equal(saved.resumes.length, 1);
  assert.equal(saved.resumes[0].step, 4);
  await assert.rejects(train(dir, resumeConfig(dir, { train: { steps: 3 } }).config, { resume: true }), /train\.steps: 3 is below the run's current step 6/);
});

test("evaluation, sampling and loading a checkpoint leave the global RNG as they found it", async () => {
  const dir = tmp();
  await train(dir, cfg(4));
  E.manualSeed(123);
  const before = E.getRngState().cpu;
  const { state } = loadLatestCheckpoint(dir);
  disposeState(state);
  assert.deepEqual(E.getRngState().cpu, before, "loading a checkpoint");
  const { evaluate } = await import("../metrics/index.js");
  const samples = E.randn([200, 1, 28, 28]).tanh();
  const after = E.getRngState().cpu;
  await evaluate(samples, "mnist");
  samples.dispose();
  assert.deepEqual(E.getRngState().cpu, after, "evaluate");
  assert.equal(
    E.withSeed(5, () => E.randn([3]).sum().item()),
    E.withSeed(5, () => E.randn([3]).sum().item()),
  );
  assert.deepEqual(E.getRngState().cpu, after, "withSeed");
});

test("a batch that cannot fit in memory is refused with the estimate before training starts", async () => {
  const gan = createGan({ preset: "toy-ring8", train: { batchSize: 10_000_000 } });
  assert.throws(
    () => assertBatchFits(gan),
    (e) => e instanceof ConfigError && /train\.batchSize: 10000000 needs about \d+\.\d GiB of memory/.test(e.message),
  );
  const dir = tmp();
  await assert.rejects(train(join(dir, "run"), { preset: "toy-ring8", train: { batchSize: 10_000_000, steps: 1 } }), /needs about/);
  assert.ok(!existsSync(join(dir, "run")), "nothing was created");
  assertBatchFits(createGan({ preset: "mnist-dcgan" })); // the presets fit
});

test("a run's config.json holds only the fields that apply to its dataset and models", async () => {
  const dir = tmp();
  await train(dir, cfg(1));
  const saved = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  assert.deepEqual(Object.keys(saved.data).sort(), ["dataDir", "dataset", "subset", "subsetSeed"]);
  assert.deepEqual(Object.keys(saved.model.generator.options).sort(), ["batchNorm", "hidden", "output"]);
  assert.ok(readdirSync(dir).includes("config.json"));
});
