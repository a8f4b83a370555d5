// gantry translate: run a trained image-to-image GAN (pix2pix, CycleGAN) on images, or measure it.
import { join } from "node:path";
import { defineCommand, numberFlag } from "./command.js";
import { readInput, writeImages } from "./image-io.js";
import { ConfigError } from "../errors.js";
import { tidy } from "../engine/index.js";
import { encodeGrid } from "../image/png.js";
import { generatorOfRun } from "../train/index.js";
import { translationGrid } from "../train/samples.js";
import { evaluateTranslation, formatTranslationEvaluation, translate } from "../apps/translate.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { makeDir } from "../util/make-dir.js";

export const translateCommand = defineCommand({
  summary: "translate images with a trained pix2pix or CycleGAN run, or measure it on held-out data",
  usage: "gantry translate --run RUN_DIR --input IMAGES --out DIR [--count N]  |  gantry translate --evaluate --run RUN_DIR [--count 1000] [--json]",
  options: {
    run: { type: "string", description: "a translation run directory (its exported generator, else its newest checkpoint's)" },
    input: {
      type: "string",
      description: "the images to translate: an IDX file of grey images at the run's size, a PNG, or a folder of PNGs (resized and centre-cropped)",
    },
    out: { type: "string", description: "the folder to write grid.png (rows of inputs and translations) and the translated images to" },
    count: { type: "string", description: "only the first N images (with --evaluate: default 1000)" },
    evaluate: {
      type: "boolean",
      description: "measure instead: the dataset's held-out inputs translated, against their targets, the input as is and the real targets",
    },
    json: { type: "boolean", description: "with --evaluate: print the result as one JSON line" },
  },
  async run(values) {
    if (!values.run)
      throw new ConfigError([{ path: "--run", message: "is required: a translation run directory (gantry train --preset edges2digits-pix2pix ...)" }]);
    const { G, shape, card } = generatorOfRun(values.run);
    if (!shape.source) {
      throw new ConfigError([{ path: "--run", message: `${values.run} generates from noise, it does not translate images: gantry sample runs it` }]);
    }
    const count = numberFlag(values, "count", { integer: true, min: 1 });
    if (values.evaluate) {
      const json = values.json === true;
      const result = await evaluateTranslation(G, card.data!, count ?? 1000, json ? () => {} : (m) => console.log(m));
      console.log(json ? JSON.stringify(result) : formatTranslationEvaluation(result));
      return;
    }
    if (!values.input)
      throw new ConfigError([
        { path: "--input", message: `is required: images of shape ${shape.source.shape.join("x")} (an IDX file, a PNG or a folder of PNGs)` },
      ]);
    if (!values.out) throw new ConfigError([{ path: "--out", message: "is required: the folder to write to" }]);
    // PNGs of another size are resized and centre-cropped, as a folder's images are for training.
    const input = readInput(values.input, shape.source.shape, count, true);
    const n = input.images.shape[0];
    const started = Date.now();
    const outputs = translate(G, input.images);
    console.log(`translated ${n} image${n === 1 ? "" : "s"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    makeDir(values.out);
    tidy(() => {
      writeFileAtomic(join(values.out!, "grid.png"), encodeGrid(translationGrid(input.images, outputs, null), { columns: 8 }));
      console.log(`wrote ${writeImages(values.out!, "translated", outputs, input)}`);
    });
    console.log(`wrote ${join(values.out, "grid.png")} (rows of 8: input, translated)`);
  },
});
