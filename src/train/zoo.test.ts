// One contract for every member of the zoo, as hono runs one suite over all its routers: each
// preset, for a few steps on tiny data, must give finite losses, resume exactly, export and sample,
// round-trip its config, and keep the data-shape contract (G makes what the dataset yields, D
// answers one row per sample or pack). A new variant is a registry entry and a preset; this suite
// then covers it with no change here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "../engine/index.js";
import { createGan, resolveConfig, sampleLatent, loadGenerator, validate, Trainer, type DeepPartial, type GanConfig } from "./index.js";
import { presets } from "./presets.js";
import { dataShapeOf } from "../data/registry.js";
import { translate } from "../apps/translate.js";
import { silentProgress, tinyFashion, tinyFolder, tinySpokenDigits } from "../../test/helpers.js";

// One thread count throughout: libtorch's reductions over more than 32,768 elements (CycleGAN's
// L1 on a batch of RGB images) round differently on 1 and 2 threads, so a governor reacting to a
// busy machine would make "exact" resume differ in the 7th digit. threads.test.ts covers the governor.
process.env.GANTRY_NUM_THREADS ??= String(E.getNumThreads());

const fashionDir = tinyFashion();
const folderDir = tinyFolder();
const digitsDir = tinySpokenDigits();

/** The preset at a tiny budget: batches of 8, a checkpoint every `every` steps. */
function tiny(preset: string, steps: number, every: number): DeepPartial<GanConfig> {
  const data = preset.startsWith("fashion-")
    ? { dataset: "fashion-mnist" as const, dataDir: fashionDir }
    : preset.startsWith("folder-")
      ? { dataset: "folder" as const, dataDir: folderDir, imageSize: 32 as const }
      : preset.startsWith("digits-")
        ? { dataset: "spoken-digits" as const, dataDir: digitsDir }
        : undefined;
  return { preset, ...(data && { data }), train: { steps, batchSize: 8 }, log: { every: 1, checkpointEvery: every, evalEvery: 0 } };
}

/** Trains to the end, or stops (as Ctrl-C does: a checkpoint, then return) after `stopAt` steps. */
async function train(runDir: string, config: DeepPartial<GanConfig>, options: { resume?: boolean; stopAt?: number } = {}): Promise<Trainer> {
  const trainer = await Trainer.create(createGan(config), { runDir, resume: options.resume, progress: silentProgress() });
  if (options.stopAt) trainer.use({ name: "stop", afterStep: (t, s) => void (s.step === options.stopAt && t.requestStop("test")) });
  await trainer.run();
  return trainer;
}

const records = (runDir: string) =>
  readFileSync(join(runDir, "stats.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { step: number; dLoss: number; gLoss: number | null });

for (const preset of Object.keys(presets)) {
  test(`${preset}: finite losses, exact resume, export and sample, config round trip, data shapes`, async () => {
    const root = mkdtempSync(join(tmpdir(), `gantry-zoo-${preset}-`));
    const [whole, parts] = [join(root, "whole"), join(root, "parts")];

    // Long enough for a G step under n_critic; stopped half way for the resume.
    const half = Math.max(3, Math.ceil((resolveConfig(preset, tiny(preset, 1, 1)).train.nCritic + 1) / 2));
    const trainer = await train(whole, tiny(preset, 2 * half, half));
    const { gan } = trainer;
    const stats = records(whole);
    assert.equal(stats.length, 2 * half);
    for (const r of stats) {
      assert.ok(Number.isFinite(r.dLoss), `step ${r.step}: D's loss ${r.dLoss}`);
      assert.ok(r.gLoss === null || Number.isFinite(r.gLoss), `step ${r.step}: G's loss ${r.gLoss}`);
    }
    assert.ok(
      stats.some((r) => r.gLoss !== null),
      "G was updated at least once",
    );

    // The data-shape contract: what the dataset yields, G makes, and D reads.
    const { dataShape } = dataShapeOf(gan.config.data);
    E.tidy(() => {
      const batch = trainer.data.next();
      assert.deepEqual(batch.images.shape.slice(1), dataShape, "the data's samples have the dataset's declared shape");
      const { source } = gan.shape;
      if (source) {
        // Translation: inputs of the declared source shape in, the target's shape out; D scores patches.
        assert.deepEqual(batch.sources?.shape.slice(1), source.shape, "the inputs have the dataset's declared source shape");
        const input = batch.sources!.narrow(0, 0, 8);
        const fake = E.noGrad(() => gan.G.forward(input));
        assert.deepEqual(fake.shape, [8, ...dataShape], "G translates to the target's shape");
        const out = E.noGrad(() => gan.D.forward(source.paired ? E.cat([input, fake], 1) : fake));
        assert.deepEqual(out.shape.slice(0, 2), [8, 1], "D: a grid of logits per sample");
        return;
      }
      const { z, labels } = sampleLatent(gan.shape, 8);
      const fake = E.noGrad(() => gan.G.forward(z, labels));
      assert.deepEqual(fake.shape, [8, ...dataShape], "G makes samples of the data's shape");
      const out = E.noGrad(() => gan.D.forward(fake, labels));
      assert.deepEqual(out.shape, [8 / gan.config.model.pack, 1 + gan.D.auxClasses + gan.D.codeOutputs + gan.D.features], "D: one row per sample (or pack)");
    });
    trainer.dispose();

    // The config round trip: what config.json holds validates back to the same config.
    const saved = JSON.parse(readFileSync(join(whole, "config.json"), "utf8")) as unknown;
    assert.deepEqual(validate(saved), gan.config);
    assert.deepEqual(validate(JSON.parse(JSON.stringify(gan.config))), gan.config);

    // Exact resume: stopped half way (as by Ctrl-C) and resumed, the same losses and the same generator.
    (await train(parts, tiny(preset, 2 * half, half), { stopAt: half })).dispose();
    (await train(parts, tiny(preset, 2 * half, half), { resume: true })).dispose();
    assert.deepEqual(
      records(parts).map((r) => [r.step, r.dLoss, r.gLoss]),
      stats.map((r) => [r.step, r.dLoss, r.gLoss]),
    );
    assert.deepEqual(readFileSync(join(parts, "generator.safetensors")), readFileSync(join(whole, "generator.safetensors")));

    // Export and sample: the exported generator alone makes finite samples of the data's shape.
    const { card, sample, G } = loadGenerator(whole);
    assert.equal(card.preset, preset);
    E.tidy(() => {
      const { samples } = gan.shape.source ? { samples: translate(G, E.randn([3, ...gan.shape.source.shape]).clamp(-1, 1)) } : sample(3);
      assert.deepEqual(samples.shape, [3, ...dataShape]);
      assert.ok(Number.isFinite(samples.abs().sum().item()));
    });
  });
}
