// The trainer: exact resume, atomic checkpoints, non-finite losses, the run directory, config errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createGan,
  resolveConfig,
  Trainer,
  loadGenerator,
  saveCheckpoint,
  loadCheckpoint,
  progressBar,
  readRunStatus,
  type DeepPartial,
  type GanConfig,
} from "./index.js";
import { Progress } from "./progress.js";
import { ConfigError, GanError } from "../errors.js";
import * as E from "../engine/index.js";
import { captureProgress, silentProgress } from "../../test/helpers.js";

const tmp = () => mkdtempSync(join(tmpdir(), "gantry-train-"));

function config(steps: number, extra: DeepPartial<GanConfig> = {}): DeepPartial<GanConfig> {
  return {
    preset: "mnist-mlp",
    ...extra,
    train: { steps, batchSize: 16, ...extra.train },
    log: { every: 1, checkpointEvery: 4, keepCheckpoints: 2, ...extra.log },
  };
}

async function train(runDir: string, cfg: DeepPartial<GanConfig>, resume = false): Promise<Trainer> {
  const trainer = await Trainer.create(createGan(cfg), { runDir, resume, progress: silentProgress() });
  await trainer.run();
  trainer.dispose();
  return trainer;
}

const stats = (runDir: string) =>
  readFileSync(join(runDir, "stats.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { step: number; dLoss: number; gLoss: number });

for (const preset of ["mnist-mlp", "mnist-wgan-gp", "toy-ring8"]) {
  test(`${preset}: an interrupted and resumed run gives the same losses as an uninterrupted one`, async () => {
    const whole = tmp();
    const parts = tmp();
    await train(whole, config(12, { preset }));
    await train(parts, config(8, { preset })); // stops at 8, with a checkpoint there
    await train(parts, config(12, { preset }), true);
    const [a, b] = [stats(whole), stats(parts)];
    assert.equal(b.length, 12, "stats.jsonl holds each step once");
    assert.deepEqual(
      b.map((r) => [r.step, r.dLoss, r.gLoss]),
      a.map((r) => [r.step, r.dLoss, r.gLoss]),
    );
    assert.deepEqual(readFileSync(join(parts, "generator.safetensors")), readFileSync(join(whole, "generator.safetensors")));
  });
}

test("the run directory holds config, stats, reals, samples, checkpoints and the export", async () => {
  const dir = tmp();
  await train(dir, config(9, { log: { sampleEvery: 3 } }));
  for (const f of ["config.json", "stats.jsonl", "reals.png", "generator.safetensors", "generator.json"]) assert.ok(existsSync(join(dir, f)), f);
  assert.deepEqual(readdirSync(join(dir, "samples")).sort(), ["step-00000003.png", "step-00000006.png", "step-00000009.png"]);
  assert.deepEqual(readdirSync(join(dir, "checkpoints")).sort(), ["step-00000008.safetensors", "step-00000009.safetensors"], "the last 2 are kept");
  const saved = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as GanConfig;
  assert.deepEqual(saved, resolveConfig("mnist-mlp", config(9, { log: { sampleEvery: 3 } })));
  const record = stats(dir)[0] as unknown as Record<string, number>;
  for (const k of ["dLoss", "gLoss", "dReal", "dFake", "gradNormD", "gradNormG", "lrG", "lrD", "imagesPerSec"]) assert.ok(Number.isFinite(record[k]), k);
  const { card, sample } = loadGenerator(dir);
  assert.equal(card.latentDim, 100);
  assert.equal(card.preset, "mnist-mlp");
  E.tidy(() => {
    const { samples } = sample(5);
    assert.deepEqual(samples.shape, [5, 1, 28, 28]);
    assert.ok(samples.min().item() >= -1 && samples.max().item() <= 1);
  });
});

test("log.every counts batches within an epoch as the tutorial does, and steps over the run when longer than an epoch; toy data grids by steps", async () => {
  const within = tmp();
  await train(within, config(7, { preset: "toy-ring8", log: { every: 3 } }));
  assert.deepEqual(
    stats(within).map((r) => r.step),
    [3, 6],
  );
  // toy epochs are 100 batches: a cadence of 150 steps logs at steps 150 and 300, not never.
  const across = tmp();
  await train(across, config(300, { preset: "toy-ring8", log: { every: 150, checkpointEvery: 300 } }));
  assert.deepEqual(
    stats(across).map((r) => {
      const { step, epoch, batch } = r as unknown as Record<string, number>;
      return [step, epoch, batch];
    }),
    [
      [150, 2, 50],
      [300, 3, 100],
    ],
  );
  // Its epochs are nominal, so grids follow log.sampleEvery (the preset's 1,000) and the last step,
  // not each epoch's end; without log.sampleEvery they are written at epoch ends.
  assert.deepEqual(readdirSync(join(across, "samples")), ["step-00000300.png"]);
  const byEpoch = tmp();
  await train(byEpoch, config(200, { preset: "toy-ring8", log: { every: 200, checkpointEvery: 200, sampleEvery: 0 } }));
  assert.deepEqual(readdirSync(join(byEpoch, "samples")).sort(), ["epoch-001.png", "epoch-002.png"]);
});

test("a non-finite loss stops training naming the step, and the last checkpoint stays intact", async () => {
  const dir = tmp();
  const trainer = await Trainer.create(createGan(config(20)), { runDir: dir, progress: silentProgress() });
  const real = trainer.trainStep.bind(trainer);
  trainer.trainStep = (batch, l) => (trainer.step === 6 ? { dLoss: Number.NaN, gLoss: 1, gStep: true, stats: {} } : real(batch, l));
  await assert.rejects(trainer.run(), (e) => e instanceof GanError && /step 7: the D loss is NaN/.test(e.message) && e.message.includes("checkpoints"));
  const kept = readdirSync(join(dir, "checkpoints"));
  assert.deepEqual(kept, ["step-00000004.safetensors"]);
  assert.equal(loadCheckpoint(join(dir, "checkpoints", kept[0])).step, 4);
  trainer.dispose();
});

test("a checkpoint write that fails leaves the previous checkpoint intact and no partial file", async () => {
  const dir = tmp();
  await train(dir, config(4));
  const ckpts = join(dir, "checkpoints");
  const before = readFileSync(join(ckpts, "step-00000004.safetensors"));
  const broken = E.ones([2]);
  broken.dispose();
  const state = loadCheckpoint(join(ckpts, "step-00000004.safetensors"));
  state.step = 8;
  state.tensors.G = { ...state.tensors.G, broken };
  assert.throws(() => saveCheckpoint(ckpts, state, 2), /disposed/);
  assert.deepEqual(readdirSync(ckpts), ["step-00000004.safetensors"]);
  assert.deepEqual(readFileSync(join(ckpts, "step-00000004.safetensors")), before);
});

test("config errors name every bad field at once", () => {
  assert.throws(
    () =>
      resolveConfig("mnist-mlp", {
        train: { batchSize: 0, lrG: -1, betas: [0.5] as never, device: "tpu" },
        data: { dataset: "cifar" as never },
        bogus: 1,
      } as never),
    (e) =>
      e instanceof ConfigError &&
      ["train.batchSize", "train.lrG", "train.betas", "train.device", "data.dataset", "bogus"].every((p) => e.issues.some((i) => i.path === p)),
  );
  assert.throws(() => createGan({ preset: "toy-ring8", model: { conditional: true } }), /ring8 has no labels to condition on/);
});

test("periodic evaluation appends scores, warns on mode collapse, and keeps the best checkpoint", async () => {
  const toyDir = tmp();
  const lines: string[] = [];
  const progress = new Progress(
    new Writable({
      write: (c, _e, cb) => {
        lines.push(String(c));
        cb();
      },
    }) as unknown as NodeJS.WriteStream,
    false,
  );
  const trainer = await Trainer.create(createGan(config(8, { preset: "toy-ring8", log: { evalEvery: 4, evalCount: 500 } })), { runDir: toyDir, progress });
  const collapses: number[] = [];
  trainer.on("collapse", (e) => collapses.push(e.step));
  await trainer.run();
  trainer.dispose();
  const evals = readFileSync(join(toyDir, "stats.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((r) => r.eval);
  assert.deepEqual(
    evals.map((r) => r.step),
    [4, 8],
  );
  assert.ok(evals.every((r) => typeof r.eval.modesCaptured === "number"));
  // Eight steps from a fresh start cannot have spread over the ring: collapse is flagged.
  assert.deepEqual(collapses, [4, 8]);
  assert.ok(lines.some((l) => /warning: mode collapse at step 4: \d\/8 modes captured/.test(l)));

  const mnistDir = tmp();
  await train(mnistDir, config(8, { log: { evalEvery: 4, evalCount: 200 } }));
  const scores = readFileSync(join(mnistDir, "stats.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((r) => r.eval);
  assert.deepEqual(
    scores.map((r) => r.step),
    [4, 8],
  );
  for (const r of scores) for (const k of ["fid", "kid", "coverage", "classesCovered"]) assert.equal(typeof r.eval[k], "number", k);
  const best = JSON.parse(readFileSync(join(mnistDir, "best.json"), "utf8"));
  assert.equal(best.fid, Math.min(...scores.map((r) => r.eval.fid)));
  assert.equal(loadCheckpoint(join(mnistDir, "checkpoints", "best.safetensors")).step, best.step);
});

test("evaluation during training leaves the run exactly as it would be without it", async () => {
  const [plain, evaluated] = [tmp(), tmp()];
  await train(plain, config(8, { preset: "toy-ring8" }));
  await train(evaluated, config(8, { preset: "toy-ring8", log: { evalEvery: 3, evalCount: 500 } }));
  const losses = (dir: string) =>
    stats(dir)
      .filter((r) => "dLoss" in r)
      .map((r) => [r.dLoss, r.gLoss]);
  assert.deepEqual(losses(evaluated), losses(plain));
});

test("stabilizers run together: label smoothing, instance noise, DiffAugment, separate rates, clipping, and the EMA generator is exported", async () => {
  const dir = tmp();
  await train(
    dir,
    config(4, {
      preset: "mnist-dcgan",
      loss: { realLabel: 0.9 },
      train: { emaDecay: 0.9, gradClip: 0.5, instanceNoise: 0.1, diffAugment: true, lrG: 1e-4, lrD: 3e-4, batchSize: 8 },
    }),
  );
  for (const r of stats(dir)) assert.ok(Number.isFinite(r.dLoss) && Number.isFinite(r.gLoss));
  const state = loadCheckpoint(join(dir, "checkpoints", "step-00000004.safetensors"));
  assert.ok(state.tensors.G_ema, "the checkpoint holds G_ema");
  assert.equal(state.optG.hyper.lr, 1e-4);
  assert.equal(state.optD.hyper.lr, 3e-4);
  const exported = E.loadSafetensors(join(dir, "generator.safetensors")).tensors;
  const name = "net.1.weight";
  assert.deepEqual(exported[name].toArray(), state.tensors.G_ema![name].toArray(), "the export is the EMA generator");
  assert.notDeepEqual(exported[name].toArray(), state.tensors.G[name].toArray());
});

test("the Wasserstein loss clips the critic's weights to [-0.01, 0.01]", async () => {
  const dir = tmp();
  await train(dir, config(3, { loss: { name: "wasserstein" } }));
  const D = loadCheckpoint(join(dir, "checkpoints", "step-00000003.safetensors")).tensors.D;
  E.tidy(() => {
    for (const [k, t] of Object.entries(D)) assert.ok(t.abs().max().item() <= 0.01 + 1e-7, k);
  });
});

test("on a terminal the progress bar shows epoch, step, it/s, ETA and losses; off one, plain lines", () => {
  let text = "";
  const sink = new Writable({
    write: (c, _e, cb) => {
      text += String(c);
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  const tty = new Progress(sink, true);
  tty.bar({ step: 50, totalSteps: 200, epoch: 1, epochs: 4, dLoss: 1.25, gLoss: 0.75, itPerSec: 10 });
  assert.match(text, /epoch 1\/4 step 50\/200 10\.0 it\/s ETA 00:15 D 1\.250 G 0\.750/);
  tty.line("Epoch [1/4], Step [50/50], D_loss: 1.2500, G_loss: 0.7500");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal escape is what is tested
  assert.match(text, /\r\x1b\[2KEpoch \[1\/4\]/, "a log line clears the bar first");
  text = "";
  const plain = new Progress(sink, false);
  plain.bar({ step: 1, totalSteps: 2, epoch: 1, epochs: 1, dLoss: 0, gLoss: 0, itPerSec: 1 });
  plain.line("a plain line");
  assert.equal(text, "a plain line\n");
});

test("the bar redraws by time between log lines, not only at them; status.json says finished", async () => {
  const draws = async (intervalMs: number) => {
    const { progress, text } = captureProgress(true);
    const dir = tmp();
    const trainer = await Trainer.create(createGan(config(6, { log: { every: 1000 } })), { runDir: dir, progress, hooks: [progressBar(intervalMs)] });
    await trainer.run();
    trainer.dispose();
    assert.equal(readRunStatus(dir).state, "finished");
    return (text().match(/step \d+\/6 /g) ?? []).length;
  };
  // No log line falls in these 6 steps: every bar comes from the clock.
  assert.equal(await draws(0), 6);
  assert.equal(await draws(1e9), 1, "a long interval draws only the last step");
});
