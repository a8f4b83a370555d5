// Unstable training, survived: with train.rollback on, a run that diverges goes back to its last
// good checkpoint with scaled learning rates instead of stopping, up to a limit; each rollback is
// a stats.jsonl record and a console line, and resume keeps the scaled rates exactly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGan, Trainer, type ConfigOverrides } from "./index.js";
import { TrainingError } from "../errors.js";
import { captureProgress } from "../../test/helpers.js";

const records = (dir: string) =>
  readFileSync(join(dir, "stats.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

/** The tutorial's GAN at 250x its learning rate: D wins within 100 steps and G never recovers. */
const tooHot = (steps: number, rollback: { limit?: number; lrScale?: number; patience?: number }): ConfigOverrides => ({
  preset: "mnist-mlp",
  train: { steps, lrG: 0.05, lrD: 0.05, rollback },
  log: { every: 20, checkpointEvery: 100 },
});

async function train(dir: string, config: ConfigOverrides, resume = false) {
  const out = captureProgress();
  const trainer = await Trainer.create(createGan(config), { runDir: dir, resume, progress: out.progress });
  try {
    return { status: await trainer.run(), log: out.text() };
  } finally {
    trainer.dispose();
  }
}

test("a too-high learning rate: D wins for good without rollback, and training recovers with it", async () => {
  const plain = mkdtempSync(join(tmpdir(), "gantry-rb-"));
  await train(plain, tooHot(240, { limit: 0 }));
  const last = records(plain).at(-1);
  assert.ok(last.dReal > 0.99 && last.dFake < 0.01, `without rollback D has won: D(x) ${last.dReal}, D(G(z)) ${last.dFake}`);

  const saved = mkdtempSync(join(tmpdir(), "gantry-rb-"));
  const { status, log } = await train(saved, tooHot(240, { limit: 2, lrScale: 0.1, patience: 3 }));
  assert.equal(status, "finished");
  const rollbacks = records(saved).filter((r) => r.rollback);
  assert.ok(rollbacks.length >= 1, "at least one rollback");
  assert.equal(rollbacks[0].step, 0, "back to the step-0 checkpoint, written before the divergence");
  assert.match(rollbacks[0].rollback.reason, /D has won since step \d+/);
  assert.equal(rollbacks[0].rollback.lrScale, 0.1);
  assert.match(log, /rollback 1\/2: D has won since step \d+ .* back to step 0 .* learning rates x0\.1/);
  const end = records(saved)
    .filter((r) => r.dLoss !== undefined)
    .at(-1);
  assert.equal(end.lrG, 0.05 * rollbacks.at(-1).rollback.lrScale, "the scaled rate applied");
  assert.ok(end.dFake > 0.01, `with rollback G is still in the game: D(G(z)) ${end.dFake}`);
});

test("a non-finite loss rolls back up to the limit, then stops with a clear error", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gantry-rb-"));
  const config: ConfigOverrides = {
    preset: "mnist-mlp",
    loss: { name: "least-squares" },
    train: { steps: 50, lrG: 1e20, lrD: 1e20, rollback: { limit: 3, lrScale: 0.5 } },
    log: { every: 1 },
  };
  await assert.rejects(train(dir, config), (e) => e instanceof TrainingError && /training stopped after 3 rollbacks/.test(e.message));
  const rollbacks = records(dir).filter((r) => r.rollback);
  assert.deepEqual(
    rollbacks.map((r) => r.rollback.lrScale),
    [0.5, 0.25, 0.125],
  );
  assert.match(rollbacks[0].rollback.reason, /loss is (NaN|-?Infinity) at step 1/);
});

test("a resumed run keeps the learning-rate scale of its rollbacks", async () => {
  const whole = mkdtempSync(join(tmpdir(), "gantry-rb-"));
  await train(whole, tooHot(200, { limit: 2, lrScale: 0.1, patience: 3 }));
  const parts = mkdtempSync(join(tmpdir(), "gantry-rb-"));
  await train(parts, tooHot(180, { limit: 2, lrScale: 0.1, patience: 3 }));
  await train(parts, tooHot(200, { limit: 2, lrScale: 0.1, patience: 3 }), true);
  const losses = (dir: string) =>
    records(dir)
      .filter((r) => r.dLoss !== undefined && r.step > 100)
      .map((r) => [r.step, r.dLoss, r.lrG]);
  assert.deepEqual(losses(parts), losses(whole));
});
