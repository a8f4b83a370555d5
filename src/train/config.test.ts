// The config schema as the single source: shipped JSON Schema and docs are current, every field is
// described, presets validate, unknown keys and bad values are errors with paths.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { configSchema, defaults, presets, resolveConfig, validate } from "./index.js";
import { configJsonSchema, configTable } from "./config-docs.js";
import { ConfigError } from "../errors.js";
import { repoRoot } from "../../test/helpers.js";
import { datasets, datasetOf, dataShapeOf } from "../data/registry.js";

test("the shipped JSON Schema and docs/config.md are what the schema generates (gantry config --json-schema / --docs)", () => {
  assert.equal(
    readFileSync(join(repoRoot, "schema", "gantry-config.schema.json"), "utf8"),
    `${JSON.stringify(configJsonSchema(), null, 2)}\n`,
    "run: node bin/gantry.js config --json-schema > schema/gantry-config.schema.json",
  );
  assert.equal(readFileSync(join(repoRoot, "docs", "config.md"), "utf8"), `${configTable()}\n`, "run: node bin/gantry.js config --docs > docs/config.md");
});

test("every row of the docs table has a description", () => {
  const rows = configTable()
    .split("\n")
    .filter((l) => l.startsWith("| `"));
  assert.ok(rows.length > 30);
  for (const row of rows) assert.doesNotMatch(row, /\|\s*\|$/, `no description: ${row}`);
});

test("every preset resolves to a valid config, and the defaults are the schema applied to nothing", () => {
  for (const name of Object.keys(presets)) {
    const c = resolveConfig(name, name.startsWith("folder") ? { data: { dataset: "folder", dataDir: "/x" } } : {});
    assert.equal(c.preset, name);
    assert.deepEqual(validate(JSON.parse(JSON.stringify(c))), c, `${name} round-trips through JSON`);
  }
  assert.deepEqual(defaults, configSchema.parse({}));
  assert.equal(z.toJSONSchema(configSchema).type, "object");
});

test("unknown keys anywhere, model options included, and bad values are ConfigErrors with paths", () => {
  const cases: [unknown, RegExp][] = [
    [{ generator: { options: { bogus: true } } }, /^generator: unknown field; expected one of preset, data, model/m],
    [{ model: { generator: { name: "mlp", options: { bogus: true } } } }, /model\.generator\.options\.bogus: unknown field/],
    [{ model: { generator: { name: "mlp", options: { hidden: [-5] } } } }, /model\.generator\.options\.hidden\.0: must be > 0, got -5/],
    [
      { model: { discriminator: { name: "dcgan", options: { norm: "btach" } } } },
      /norm: must be one of batch, layer, none, got "btach" \(did you mean 'batch'\?\)/,
    ],
    [{ train: { batchSzie: 3 } }, /train\.batchSzie: unknown field \(did you mean 'batchSize'\?\)/],
    [{ data: { dataset: "mnist", imageSize: 32 } }, /data\.imageSize: unknown field/],
    [{ data: { dataset: "folder" } }, /data\.dataDir: is required for the folder dataset/],
    [{ data: { dataset: "mnits" } }, /data\.dataset: must be one of .*got "mnits" \(did you mean 'mnist'\?\)/],
    [{ train: { emaDecay: 1.5, betas: [0.5] } }, /(?=[\s\S]*train\.emaDecay: must be < 1)(?=[\s\S]*train\.betas)/],
  ];
  for (const [input, pattern] of cases) {
    assert.throws(
      () => validate(input),
      (e) => e instanceof ConfigError && pattern.test(e.message),
      JSON.stringify(input),
    );
  }
  assert.throws(() => resolveConfig("mnist-dcgn"), /unknown preset 'mnist-dcgn' \(did you mean 'mnist-dcgan'\?\)/);
});

test("choosing another model family or dataset replaces that object: no options leak between families", () => {
  const c = resolveConfig("mnist-acgan", { model: { discriminator: { name: "mlp" } } });
  assert.deepEqual(c.model.discriminator, {
    name: "mlp",
    options: { hidden: [512, 256], maxout: 0, spectralNorm: false, auxClassifier: false, minibatchStd: 0 },
  });
  const f = resolveConfig("folder-dcgan", { data: { dataset: "folder", dataDir: "/imgs", imageSize: 32 } });
  assert.deepEqual(f.data, { dataset: "folder", dataDir: "/imgs", imageSize: 32, channels: 3, cache: true });
  assert.deepEqual(resolveConfig("folder-dcgan", { data: { dataset: "mnist" } }).data, { dataset: "mnist", dataDir: null, subset: null, subsetSeed: 0 });
});

test("every dataset in the registry describes its shape, source and evaluation", () => {
  for (const [name, entry] of Object.entries(datasets)) {
    const required =
      { folder: { dataDir: "/x" }, "text-file": { dataFile: "/x.txt" }, "folder-pair": { dataDir: "/a", targetDir: "/b" }, "wav-folder": { dataDir: "/w" } }[
        name
      ] ?? {};
    const data = validate({ data: { dataset: name, ...required } }).data;
    const { dataShape, numClasses, vocabulary, source, sampleRate } = dataShapeOf(data);
    assert.ok(dataShape.length === 3 || dataShape.length === 1 || dataShape.length === 2, `${name}: images (C, H, W), text (V, L), audio (1, L) or points (2)`);
    const text = dataShape.length === 2 && !sampleRate;
    assert.equal(text, vocabulary?.length === dataShape[0], `${name}: text, and only text, has a vocabulary of V characters`);
    assert.equal(text, Boolean(datasetOf(name).corpus), `${name}: text datasets open their corpus for evaluation`);
    assert.equal(
      Boolean(sampleRate),
      dataShape.length === 2 && dataShape[0] === 1 && Boolean(datasetOf(name).audio),
      `${name}: audio, (1, L) at a rate, opens its splits`,
    );
    assert.ok(numClasses >= 0);
    assert.ok(entry.description && entry.source, name);
    assert.ok(entry.classifier === null || entry.classifier === name, `${name}: its classifier is models/classifiers/${name}.safetensors`);
    assert.equal(entry.toy !== null, dataShape.length === 1, `${name}: toy distributions are the 2-D point sets`);
    assert.equal(
      Boolean(source),
      Boolean(datasetOf(name).translation),
      `${name}: translation datasets, and only they, declare an input shape and open their splits`,
    );
    if (source) assert.equal(source.shape.length, 3, `${name}: translation inputs are images`);
  }
});
