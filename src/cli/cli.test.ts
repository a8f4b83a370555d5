// Smoke tests of the real CLI on a tiny budget, for every preset: train, resume, sample, export;
// and its errors: a message naming the field, exit code 2.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { presets } from "../train/presets.js";
import { losses } from "../losses/index.js";
import { readIdx } from "../data/idx.js";
import { gantry, gantryOk, tinyFashion, tinyFolder, tinySpokenDigits } from "../../test/helpers.js";

const ok = gantryOk;

const isPng = (path: string) => readFileSync(path).subarray(1, 4).toString() === "PNG";

// Every preset but the fashion-* twins of the mnist-* ones: they take the same CLI path with
// another --data-dir, which fashion-dcgan covers (zoo.test.ts trains every preset, twins included).
const cliPresets = Object.keys(presets).filter((p) => !p.startsWith("fashion-") || p === "fashion-dcgan");

for (const preset of cliPresets) {
  test(`${preset}: train, resume, sample and export through the CLI`, () => {
    const dir = join(mkdtempSync(join(tmpdir(), "gantry-cli-")), "run");
    const tiny = preset.startsWith("fashion-")
      ? tinyFashion
      : preset.startsWith("folder-")
        ? tinyFolder
        : preset.startsWith("digits-")
          ? tinySpokenDigits
          : null;
    const data = tiny ? ["--data-dir", tiny()] : [];
    ok("train", "--preset", preset, "--steps", "2", "--batch-size", "8", "--out", dir, ...data);
    const text = presets[preset].overrides.model?.generator?.name === "seq-resnet";
    for (const f of ["config.json", text ? "reals.txt" : "reals.png", "generator.safetensors", "generator.json", "checkpoints/step-00000002.safetensors"]) {
      assert.ok(existsSync(join(dir, f)), `${preset}: ${f} missing`);
    }
    const resumed = ok("train", "--resume", dir, "--steps", "3");
    assert.match(resumed, /resumed .* at step 2/);
    assert.ok(existsSync(join(dir, "checkpoints", "step-00000003.safetensors")));
    const card = JSON.parse(readFileSync(join(dir, "generator.json"), "utf8"));
    if (card.source) {
      // Translation: images in (PNGs of any size, resized), translations out.
      ok("translate", "--run", dir, "--input", tinyFolder(), "--out", join(dir, "translated"));
      assert.ok(isPng(join(dir, "translated", "grid.png")));
    } else if (card.vocabulary) {
      ok("sample", "--run", dir, "--count", "4", "--out", join(dir, "samples.txt"));
      assert.equal(readFileSync(join(dir, "samples.txt"), "utf8").split("\n").length, 5, "four lines of text");
    } else {
      ok("sample", "--run", dir, "--count", "4", "--out", join(dir, "grid.png"));
      assert.ok(isPng(join(dir, "grid.png")));
    }
    assert.equal(card.steps, 3);
    if (card.dataShape.length === 3 && card.dataShape[0] === 1 && !card.source) {
      const out = join(dir, "s-images-idx3-ubyte.gz");
      ok("sample", "--generator", join(dir, "generator.safetensors"), "--count", "6", "--format", "idx", "--out", out);
      assert.deepEqual(readIdx(out).shape, [6, 28, 28]);
      if (card.numClasses) {
        ok("sample", "--run", dir, "--count", "6", "--format", "idx", "--class", "7", "--out", out);
        assert.deepEqual([...readIdx(join(dir, "s-labels-idx1-ubyte.gz")).data], [7, 7, 7, 7, 7, 7]);
      }
      ok("interpolate", "--run", dir, "--steps", "5", "--out", join(dir, "strip.png"));
      assert.ok(isPng(join(dir, "strip.png")));
    }
  });
}

test("eval scores a run and an IDX file of samples, as a table or one JSON line", () => {
  const dir = join(mkdtempSync(join(tmpdir(), "gantry-cli-")), "run");
  ok("train", "--preset", "mnist-cgan", "--steps", "3", "--batch-size", "8", "--out", dir);
  const report = JSON.parse(ok("eval", "--run", dir, "--count", "300", "--json"));
  for (const k of ["fid", "kid", "coverage", "classesCovered", "collapsed", "precision", "recall", "density", "is", "memorized", "labelAccuracy"]) {
    assert.ok(k in report, `--json has ${k}`);
  }
  assert.equal(typeof report.collapsed, "boolean");
  assert.ok(report.floor.fid < report.fid, "an untrained generator is far above the real-vs-real floor");
  const idx = join(dir, "s-images-idx3-ubyte.gz");
  ok("sample", "--run", dir, "--count", "300", "--format", "idx", "--out", idx);
  const table = ok("eval", "--samples", idx);
  assert.match(table, /FID \(MNIST classifier\)/);
  assert.match(table, /real vs real/);
  assert.match(table, /label accuracy/, "the labels file beside the samples is found");
  // A shipped pretrained model, as --help says: trained, so well below the untrained run.
  const pretrained = JSON.parse(ok("eval", "--pretrained", "mnist-dcgan", "--count", "300", "--json"));
  assert.equal(pretrained.count, 300);
  assert.ok(pretrained.fid < report.fid, `pretrained FID ${pretrained.fid} below the untrained ${report.fid}`);
  const toy = join(mkdtempSync(join(tmpdir(), "gantry-cli-")), "toy");
  ok("train", "--preset", "toy-ring8", "--steps", "3", "--out", toy);
  const modes = JSON.parse(ok("eval", "--run", toy, "--json"));
  assert.equal(modes.numModes, 8);
  assert.equal(modes.collapsed, true);
});

test("list shows every preset, model and loss", () => {
  const out = ok("list");
  for (const name of Object.keys(presets)) assert.match(out, new RegExp(`^  ${name} `, "m"));
  for (const name of Object.keys(losses)) assert.match(out, new RegExp(`^  ${name} +\\S.*\\(.*\\d{4}`, "m"), `${name}: a description with its paper`);
  assert.match(out, /^discriminators: .*autoencoder/m);
});

test("--help works on every command", () => {
  for (const c of ["train", "sample", "interpolate", "eval", "export", "config", "list"]) assert.match(ok(c, "--help"), /^usage: gantry/);
  assert.match(ok("classifier", "train", "--help"), /^usage: gantry classifier train/);
  assert.match(ok("--help"), /train .*sample .*interpolate .*eval .*classifier .*export .*config .*list/s);
});

test("bad flags and values exit 2 with a message naming the field", () => {
  const dir = mkdtempSync(join(tmpdir(), "gantry-cli-"));
  writeFileSync(join(dir, "bad.json"), JSON.stringify({ train: { batchSize: -3, optimiser: "adam" } }));
  writeFileSync(join(dir, "broken.json"), "{ not json");
  const cases: [string[], RegExp][] = [
    [["train", "--bogus"], /Unknown option '--bogus'/],
    [["train", "--preset", "nope"], /preset: unknown preset 'nope'/],
    [["train", "--epochs", "2.5"], /--epochs \(train\.epochs\): expected an integer, got 2\.5/],
    [["train", "--loss", "square"], /--loss \(loss\.name\): must be one of .*got "square"/],
    [["train", "--loss", "began", "--steps", "1"], /model\.discriminator\.name: loss began needs an energy model as D: set it to autoencoder/],
    [
      ["train", "--preset", "mnist-ebgan", "--loss", "hinge"],
      /--loss \(loss\.name\): the autoencoder discriminator outputs an energy, which only the began and ebgan losses read/,
    ],
    [["train", "--config", join(dir, "bad.json")], /^(?=[\s\S]*train\.batchSize: must be > 0, got -3)(?=[\s\S]*train\.optimiser: unknown field)/],
    [["train", "--config", join(dir, "broken.json")], /broken\.json is not valid JSON/],
    [["train", "--config", join(dir, "missing.json")], /cannot read .*missing\.json \(ENOENT\)/],
    [
      ["train", "--data-dir", dir, "--steps", "1", "--out", join(dir, "never")],
      new RegExp(`${dir}: no mnist train data there: expected train-images-idx3-ubyte`),
    ],
    [["train", "--resume", join(dir, "nothing")], /--resume: .*nothing does not exist/],
    [["train", "--device", "cuda", "--steps", "1", "--out", join(dir, "r")], /cuda|device/],
    [["sample", "--out", "x.png"], /--run\/--generator\/--pretrained: give exactly one of --run RUN_DIR, --generator FILE and --pretrained NAME/],
    [["sample", "--generator", join(dir, "none.safetensors"), "--out", "x.png"], /no generator export there/],
    [["fly"], /unknown command 'fly'/],
    [["augmnt"], /unknown command 'augmnt' \(did you mean 'augment'\?\)/],
    [["data", "spoken-digit"], /unknown data subcommand 'spoken-digit' \(did you mean 'spoken-digits'\?\); usage: gantry data spoken-digits/],
  ];
  for (const [args, pattern] of cases) {
    const r = gantry(...args);
    assert.equal(r.code, 2, `gantry ${args.join(" ")} exited ${r.code}: ${r.err}`);
    assert.match(r.err, pattern, `gantry ${args.join(" ")}`);
    assert.doesNotMatch(r.err, /^\s+at /m, "no stack trace for a user error");
  }
  assert.ok(!existsSync(join(dir, "never")), "a run whose data would not open leaves no empty run directory");
});
