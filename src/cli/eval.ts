// gantry eval and gantry classifier: score a generator, or train the classifier that scores.
import { defineCommand } from "./command.js";
import { numberFlag } from "./command.js";
import { existsSync } from "node:fs";
import { type Tensor, manualSeed, tensor, tidy } from "../engine/index.js";
import { readIdx } from "../data/idx.js";
import { datasetNames, datasetOf } from "../data/registry.js";
import { assertSamplesFit } from "../train/memory.js";
import {
  categoricalAgreement,
  evaluate,
  evaluateFolder,
  evaluateText,
  formatFolderReport,
  formatReport,
  formatTextReport,
  toyModeStats,
  trainClassifier,
} from "../metrics/index.js";
import { decodeSequences } from "../data/text.js";
import { randomHoles } from "../apps/inpaint.js";
import { ConfigError } from "../errors.js";
import { labelsPath, generatorFromFlags, generatorOptions } from "./sample.js";

/** Images from an IDX file (gzipped or not), scaled from 0..255 to [-1, 1]: (N, 1, H, W). */
function idxImages(path: string): Tensor {
  const { data, shape } = readIdx(path);
  if (shape.length !== 3) throw new ConfigError([{ path: "--samples", message: `${path} holds shape [${shape.join(", ")}], expected images (N, H, W)` }]);
  if (shape[1] !== 28 || shape[2] !== 28)
    throw new ConfigError([{ path: "--samples", message: `${path} holds ${shape[1]}x${shape[2]} images; the classifiers score 28x28 images` }]);
  return tidy(() =>
    tensor(data, { dtype: "uint8", shape: [shape[0], 1, shape[1], shape[2]] })
      .to({ dtype: "float32" })
      .div(127.5)
      .sub(1),
  );
}

/** The datasets gantry has a feature classifier for. */
const scored = () => datasetNames.filter((n) => datasetOf(n).classifier);

export const evalCommand = defineCommand({
  summary:
    "score a generator: images with gantry's classifier (FID, KID, IS, precision/recall, density/coverage), a folder run on features learned from its folder, toy modes, or text (n-gram JSD, memorized, novel)",
  usage:
    "gantry eval --run RUN_DIR | --generator FILE | --pretrained NAME | --samples IMAGES.idx[.gz] [--labels LABELS.idx] [--dataset folder --data-dir DIR] [--count N] [--json]",
  options: {
    ...generatorOptions,
    samples: { type: "string", description: "an IDX file of 28x28 uint8 images, gzipped or not" },
    labels: { type: "string", description: "with --samples: the labels G was given, for label accuracy" },
    dataset: { type: "string", description: "with --samples: mnist (default) or fashion-mnist; folder scores against --data-dir" },
    "data-dir": { type: "string", description: "with --dataset folder: the image folder to score against (default: the run's own)" },
    "encoder-steps": { type: "string", description: "with a folder: steps of the folder's feature network, trained once and cached; default 1500" },
    count: { type: "string", description: "samples to draw from a generator; default 10000" },
    seed: { type: "string", description: "random seed; default 0" },
    json: { type: "boolean", description: "print one JSON line instead of a table" },
  },
  async run(values) {
    const given = (["run", "generator", "pretrained", "samples"] as const).filter((k) => values[k] !== undefined);
    if (given.length !== 1) throw new ConfigError([{ path: "--run/--generator/--pretrained/--samples", message: "give exactly one of them" }]);
    manualSeed(numberFlag(values, "seed", { integer: true, min: 0 }) ?? 0);
    const count = numberFlag(values, "count", { integer: true, min: 10 }) ?? 10_000;
    const loaded = values.samples === undefined ? generatorFromFlags(values) : null;
    if (loaded) assertSamplesFit(loaded.G, loaded.shape, count);
    let dataset = values.dataset ?? loaded?.card.dataset ?? "mnist";
    if (!datasetNames.includes(dataset as never))
      throw new ConfigError([{ path: "--dataset", message: `unknown dataset '${dataset}': expected one of ${scored().join(", ")}` }]);
    const entry = datasetOf(dataset);
    if (entry.corpus && loaded) {
      const data = loaded.card.data;
      if (!data)
        throw new ConfigError([
          { path: "--run", message: "this text generator's card does not say which data it was trained on (card.data); retrain or re-export it" },
        ]);
      const texts = tidy(() => decodeSequences(loaded.sample(count).samples, loaded.shape.vocabulary!));
      const report = evaluateText(texts, entry.corpus(data as never), dataset);
      console.log(values.json ? JSON.stringify(report) : formatTextReport(report));
      return;
    }
    const toy = entry.toy;
    if (toy && loaded) {
      const stats = tidy(() => toyModeStats(loaded.sample(count).samples, toy));
      const out = { dataset, ...stats, fid: null, kid: null };
      console.log(
        values.json
          ? JSON.stringify(out)
          : [
              `${dataset}: ${stats.modesCaptured}/${stats.numModes} modes captured (at least 20% of a mode's expected share within 3 std)`,
              `high-quality samples (within 3 std of a mode): ${(stats.highQualityFraction * 100).toFixed(1)}%`,
              `mode collapse: ${stats.collapsed ? "YES" : "no"}`,
            ].join("\n"),
      );
      return;
    }
    if (dataset === "folder") {
      if (!loaded) throw new ConfigError([{ path: "--samples", message: "a folder is scored from a generator: give --run, --generator or --pretrained" }]);
      const [channels, imageSize, width] = loaded.shape.dataShape;
      const dataDir = values["data-dir"] ?? (loaded.card.data as { dataDir?: unknown } | undefined)?.dataDir;
      if (typeof dataDir !== "string")
        throw new ConfigError([{ path: "--data-dir", message: "the folder of real images to score against is required (the run's config does not name one)" }]);
      if ((channels !== 1 && channels !== 3) || imageSize !== width)
        throw new ConfigError([
          { path: "--dataset", message: `folder scoring needs square images of 1 or 3 channels; this generator makes (${loaded.shape.dataShape.join(", ")})` },
        ]);
      const drawn = loaded.sample(count);
      const steps = numberFlag(values, "encoder-steps", { integer: true, min: 1 });
      const report = await evaluateFolder(drawn.samples, { dataDir, imageSize, channels }, { recipe: { steps }, log: (m) => console.error(m) });
      console.log(values.json ? JSON.stringify(report) : formatFolderReport(report));
      return;
    }
    if (!datasetOf(dataset).classifier)
      throw new ConfigError([{ path: "--dataset", message: `gantry has no classifier for ${dataset} yet: it scores ${scored().join(", ")}` }]);
    let images: Tensor;
    let labels: Tensor | null = null;
    if (loaded) {
      const drawn = loaded.sample(count);
      images = drawn.samples;
      labels = drawn.labels ?? null;
    } else {
      images = idxImages(values.samples ?? "");
      const beside = labelsPath(values.samples ?? "");
      const labelFile = values.labels ?? (existsSync(beside) ? beside : undefined);
      if (labelFile) labels = tensor(readIdx(labelFile).data, { dtype: "uint8" }).to({ dtype: "int64" });
      dataset = values.dataset ?? "mnist";
    }
    const sampleRate = loaded?.shape.sampleRate;
    const report = await evaluate(images, dataset, labels, sampleRate ? { sampleRate, data: loaded?.card.data ?? {} } : undefined);
    const K = loaded?.shape.codes?.categorical;
    if (loaded && K) report.codeAgreement = categoricalAgreement(loaded, dataset, Math.max(100, Math.round(count / K))); // --count samples in all
    console.log(values.json ? JSON.stringify(report) : formatReport(report));
  },
});

export const classifier = defineCommand({
  summary: "train gantry's feature classifier for a dataset from its fixed-seed recipe",
  usage: "gantry classifier train --dataset mnist|fashion-mnist|spoken-digits [--epochs N] [--out FILE] [--holes]",
  subcommands: ["train"],
  options: {
    dataset: { type: "string", description: "mnist, fashion-mnist or spoken-digits (built first by gantry data spoken-digits)" },
    epochs: { type: "string", description: "passes over the training data; default 6" },
    seed: { type: "string", description: "random seed; default 0" },
    out: { type: "string", description: "where to write it; default models/classifiers/DATASET.safetensors (DATASET-holes with --holes)" },
    holes: {
      type: "boolean",
      description:
        "train on images with random holes (every mask kind of gantry inpaint, or none): the classifier gantry inpaint reads a conditional G's class with",
    },
    "data-dir": { type: "string", description: "a folder holding the dataset's IDX files (for spoken-digits: its WAV folders)" },
  },
  async run(values) {
    const { dataset } = values;
    if (!dataset || !scored().includes(dataset as never))
      throw new ConfigError([{ path: "--dataset", message: `must be one of ${scored().join(", ")}, got ${JSON.stringify(dataset)}` }]);
    if (values.holes && datasetOf(dataset).audio) throw new ConfigError([{ path: "--holes", message: `is for image datasets; ${dataset} is audio` }]);
    await trainClassifier(dataset, {
      variant: values.holes ? { name: "holes", transform: randomHoles } : undefined,
      epochs: numberFlag(values, "epochs", { integer: true, min: 1 }),
      seed: numberFlag(values, "seed", { integer: true, min: 0 }),
      out: values.out,
      dataDir: values["data-dir"],
      log: (m) => console.log(m),
    });
  },
});
