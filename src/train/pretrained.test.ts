// Pretrained models: a run exported as one, sampled at once, and a new run initialized from it;
// the shipped ones load and sample; mismatches and unknown names are clear errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGan, Trainer, calibrateGenerator, loadPretrainedGenerator, loadTrainedPair, pretrainedNames, initFromPretrained } from "./index.js";
import { buildGenerator } from "../models/index.js";
import { batchNormStatistics } from "../nn/index.js";
import { loadSafetensors, tidy } from "../engine/index.js";
import { CheckpointError, ConfigError } from "../errors.js";
import { gantry, gantryOk, silentProgress } from "../../test/helpers.js";

const tmp = () => mkdtempSync(join(tmpdir(), "gantry-pretrained-"));

async function tinyRun(preset: string): Promise<string> {
  const dir = tmp();
  const trainer = await Trainer.create(createGan({ preset, train: { steps: 3, batchSize: 8 }, log: { every: 1 } }), {
    runDir: dir,
    progress: silentProgress(),
  });
  await trainer.run();
  trainer.dispose();
  return dir;
}

test("a run exported as a pretrained model samples at once and starts a new run from its weights", async () => {
  const run = await tinyRun("mnist-mlp");
  const file = join(tmp(), "tiny.safetensors");
  const cli = gantryOk("export", "--run", run, "--as-pretrained", file, "--note", "3 steps");
  assert.match(cli, /wrote .*tiny\.safetensors/);
  const loaded = loadPretrainedGenerator(file);
  assert.equal((loaded.card as { note?: string }).note, "3 steps");
  tidy(() => assert.deepEqual(loaded.sample(4).samples.shape, [4, 1, 28, 28]));
  const png = join(tmp(), "grid.png");
  assert.match(gantryOk("sample", "--pretrained", file, "--count", "4", "--out", png), /wrote 4 samples/);

  // --init: the new run's G, D and EMA copy start as the file's.
  const { tensors } = loadSafetensors(file);
  const gan = createGan({ preset: "mnist-mlp", model: { init: file }, train: { steps: 1, batchSize: 8, emaDecay: 0.999 } });
  const trainer = await Trainer.create(gan, { runDir: tmp(), progress: silentProgress() });
  for (const [part, module] of [
    ["G", gan.G],
    ["D", gan.D],
    ["G_ema", trainer.ema!.shadow],
  ] as const) {
    for (const [name, t] of Object.entries(module.stateDict())) {
      tidy(() => assert.equal(t.sub(tensors[`${part}.${name}`]).abs().max().item(), 0, `${part}.${name}`));
    }
  }
  trainer.dispose();

  // From the CLI, and from a run directory (its newest checkpoint).
  const out = tmp();
  const log = gantryOk("train", "--preset", "mnist-mlp", "--steps", "2", "--batch-size", "8", "--init", run, "--out", join(out, "r"));
  assert.match(log, /initialized G and D from .*step-00000003\.safetensors/);

  // model.initD false: G and its EMA copy from the file, D as a fresh run's.
  const fresh = createGan({ preset: "mnist-mlp", train: { steps: 1, batchSize: 8 } });
  const gOnly = createGan({ preset: "mnist-mlp", model: { init: file, initD: false }, train: { steps: 1, batchSize: 8, emaDecay: 0.999 } });
  const onlyG = await Trainer.create(gOnly, { runDir: tmp(), progress: silentProgress() });
  for (const [name, t] of Object.entries(gOnly.G.stateDict())) tidy(() => assert.equal(t.sub(tensors[`G.${name}`]).abs().max().item(), 0, `G.${name}`));
  for (const [name, t] of Object.entries(gOnly.D.stateDict())) {
    tidy(() => {
      assert.equal(t.sub(fresh.D.stateDict()[name]).abs().max().item(), 0, `D.${name} as a fresh run's`);
      assert.ok(t.sub(tensors[`D.${name}`]).abs().max().item() > 0, `D.${name} not the file's`);
    });
  }
  onlyG.dispose();
  const logG = gantryOk(
    "train",
    "--preset",
    "mnist-mlp",
    "--steps",
    "1",
    "--batch-size",
    "8",
    "--init",
    run,
    "--set",
    "model.initD=false",
    "--out",
    join(out, "g"),
  );
  assert.match(logG, /initialized G \(D random\) from /);
});

test("a pretrained model or a run's pair samples with BatchNorm statistics calibrated to its weights, as the run's export does", async () => {
  const run = await tinyRun("mnist-dcgan");
  const file = join(tmp(), "dcgan.safetensors");
  gantryOk("export", "--run", run, "--as-pretrained", file);
  const { tensors } = loadSafetensors(file);
  const loaded = loadPretrainedGenerator(file);
  // What the file holds: the momentum averages of 3 training steps.
  const stored = buildGenerator(loaded.card.generator, loaded.shape);
  stored.loadStateDict(Object.fromEntries(Object.entries(tensors).flatMap(([k, t]) => (k.startsWith("G_ema.") ? [[k.slice(6), t]] : []))), file);
  const fromFile = batchNormStatistics(stored).map((t) => t.clone());
  assert.ok(fromFile.length > 0);
  calibrateGenerator(stored, loaded.shape);
  const expected = batchNormStatistics(stored);
  const pair = loadTrainedPair(run, "--run");
  for (const got of [batchNormStatistics(loaded.G), batchNormStatistics(pair.G)]) {
    tidy(() => {
      for (const [i, t] of got.entries()) assert.ok(t.sub(expected[i]).abs().max().item() < 1e-5, `statistic ${i} is the calibrated one`);
      assert.ok(
        got.some((t, i) => t.sub(fromFile[i]).abs().max().item() > 1e-3),
        "the stored statistics were replaced",
      );
    });
  }
  assert.equal(loaded.G.training, false);
  assert.equal(pair.G.training, false);
});

test("--init with another architecture names the tensors that do not fit; an unknown name lists the shipped ones", async () => {
  const run = await tinyRun("mnist-mlp");
  const gan = createGan({ preset: "mnist-dcgan" });
  assert.throws(
    () => initFromPretrained(gan, null, run),
    (err: Error) => err instanceof CheckpointError && /does not fit .*missing/s.test(err.message),
  );
  assert.throws(
    () => initFromPretrained(gan, null, "no-such-model"),
    (err: Error) => err instanceof ConfigError && /--init: 'no-such-model' is neither/.test(err.message),
  );
  const cli = gantry("train", "--preset", "mnist-dcgan", "--steps", "1", "--init", run, "--out", join(tmp(), "x"));
  assert.equal(cli.code, 2);
  assert.match(cli.err, /--init .* \(G\) does not fit/);
  const sample = gantry("sample", "--pretrained", "nope", "--out", join(tmp(), "x.png"));
  assert.equal(sample.code, 2);
  assert.match(sample.err, /--pretrained: 'nope' is neither a shipped pretrained model/);
});
test("the shipped pretrained models load and sample without training", () => {
  const names = pretrainedNames();
  for (const shipped of ["mnist-dcgan", "mnist-acgan", "fashion-dcgan"])
    assert.ok(names.includes(shipped), `models/pretrained holds ${names.join(", ") || "nothing"}`);
  for (const name of names) {
    const { sample, card } = loadPretrainedGenerator(name);
    tidy(() => {
      const { samples } = sample(8);
      assert.deepEqual(samples.shape, [8, ...card.dataShape]);
      assert.ok(samples.abs().max().item() <= 1, `${name}: samples in [-1, 1]`);
    });
  }
  assert.match(gantryOk("list"), /pretrained: .*fashion-dcgan.*mnist-acgan.*mnist-dcgan/);
  // The conditional one makes the class it is asked for.
  const acgan = loadPretrainedGenerator("mnist-acgan");
  tidy(() => {
    const { labels } = acgan.sample(4, { classLabel: 7 });
    assert.deepEqual(labels?.toArray(), [7, 7, 7, 7]);
  });
});
