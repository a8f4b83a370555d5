// gantry sample and gantry interpolate: draw from a trained generator.
import { defineCommand, type Values } from "./command.js";
import { numberFlag, requireDir } from "./command.js";
import { type Tensor, cat as cat_, manualSeed, noGrad, randn, stack, tensor, tidy, resolveDevice } from "../engine/index.js";
import { writeIdx } from "../data/idx.js";
import { toBytes } from "../image/png.js";
import { saveSamples, samplesText, samplesWav } from "../train/samples.js";
import { writeWav } from "../data/audio.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { makeDir } from "../util/make-dir.js";
import { join } from "node:path";
import { loadGenerator, type LoadedGenerator, type PinnedCodes } from "../train/export.js";
import type { ModelShape } from "../models/index.js";
import { generatorOfRun, loadPretrainedGenerator } from "../train/index.js";
import { ConfigError } from "../errors.js";
import { assertSamplesFit } from "../train/memory.js";

/** The flags that name a trained generator: --run or --generator. */
export const generatorOptions = {
  run: { type: "string" as const, description: "a run directory (its export, else its newest checkpoint)" },
  generator: { type: "string" as const, description: "a generator export (generator.safetensors)" },
  pretrained: { type: "string" as const, description: "a shipped pretrained model (gantry list shows them) or a pretrained .safetensors file" },
};

const source = {
  ...generatorOptions,
  seed: { type: "string" as const, description: "random seed; default 0" },
  class: { type: "string" as const, description: "for conditional models: draw only this class" },
  code: { type: "string" as const, description: "for InfoGAN models: pin codes, e.g. cat=3,c0=0.5 (the categorical value, continuous code i)" },
  device: { type: "string" as const, description: "cpu, cuda or cuda:N" },
} as const;

/** The generator behind exactly one of --run RUN_DIR (its export, else its newest checkpoint), --generator FILE and --pretrained NAME. */
export function generatorFromFlags(values: Values<typeof generatorOptions>): LoadedGenerator {
  const { run, generator: file, pretrained } = values;
  if ([run, file, pretrained].filter((v) => v !== undefined).length !== 1)
    throw new ConfigError([{ path: "--run/--generator/--pretrained", message: "give exactly one of --run RUN_DIR, --generator FILE and --pretrained NAME" }]);
  const flag = run !== undefined ? "--run" : file !== undefined ? "--generator" : "--pretrained";
  let loaded: LoadedGenerator;
  if (pretrained !== undefined) loaded = loadPretrainedGenerator(pretrained);
  else if (file !== undefined) loaded = loadGenerator(file);
  else {
    requireDir(run!, "--run");
    loaded = generatorOfRun(run!);
  }
  if (loaded.shape.source) {
    throw new ConfigError([
      {
        path: flag,
        message:
          "this generator translates images (pix2pix, CycleGAN) rather than sampling noise: gantry translate --run RUN --input IMAGES runs it (sample, interpolate, eval and export --torch are for generators from noise)",
      },
    ]);
  }
  return loaded;
}

function openGenerator(values: Values<typeof source>): LoadedGenerator {
  const loaded = generatorFromFlags(values);
  const { device } = values;
  if (device) loaded.G.to(resolveDevice(device));
  manualSeed(numberFlag(values, "seed", { integer: true, min: 0 }) ?? 0);
  return loaded;
}

function classFlag(values: Record<string, unknown>, loaded: LoadedGenerator): number | undefined {
  const c = numberFlag(values, "class", { integer: true, min: 0 });
  if (c === undefined) return undefined;
  if (!loaded.shape.numClasses) throw new ConfigError([{ path: "--class", message: "this generator is not conditional" }]);
  if (c >= loaded.shape.numClasses) throw new ConfigError([{ path: "--class", message: `must be below ${loaded.shape.numClasses}, got ${c}` }]);
  return c;
}

/** --code cat=K,cI=V: InfoGAN codes to pin, checked against the generator's codes. */
function codesFlag(values: { code?: string }, shape: ModelShape): PinnedCodes {
  if (values.code === undefined) return {};
  const fail = (message: string): never => {
    throw new ConfigError([{ path: "--code", message }]);
  };
  if (!shape.codes) fail("this generator has no InfoGAN codes (model.codes)");
  const { categorical: K, continuous: C } = shape.codes!;
  const pinned: PinnedCodes = {};
  for (const part of values.code.split(",")) {
    const m = /^(cat|c(\d+))=(-?\d+(\.\d+)?)$/.exec(part.trim());
    if (!m) fail(`expected cat=K or cI=VALUE, comma-separated; got '${part}'`);
    const value = Number(m![3]);
    if (m![1] === "cat") {
      if (!K || !Number.isInteger(value) || value < 0 || value >= K)
        fail(`cat must be an integer in 0..${K - 1}${K ? "" : " (this generator has no categorical code)"}, got ${m![3]}`);
      pinned.categorical = value;
    } else {
      const i = Number(m![2]);
      if (i >= C) fail(`c${i}: this generator has ${C} continuous code(s), c0..c${C - 1}`);
      pinned.continuous = { ...pinned.continuous, [i]: value };
    }
  }
  return pinned;
}

/** labels.idx beside images.idx: "x-images-idx3-ubyte.gz" -> "x-labels-idx1-ubyte.gz", else "x.idx" -> "x-labels.idx". */
export function labelsPath(out: string): string {
  if (out.includes("images-idx3")) return out.replace("images-idx3", "labels-idx1");
  const m = /^(.*?)((\.idx)?(\.gz)?)$/.exec(out)!;
  return `${m[1]}-labels${m[2]}`;
}

export const sample = defineCommand({
  summary: "write N samples from a trained generator as a PNG grid or an IDX file; text printed or a line each; audio as WAV",
  usage: "gantry sample --run RUN_DIR | --generator FILE | --pretrained NAME [--count N] [--format png|idx|txt|wav] --out PATH [--class K]",
  options: {
    ...source,
    count: { type: "string" as const, description: "how many samples; default 64" },
    format: {
      type: "string" as const,
      description:
        "png (a grid; spectrograms for audio), idx (28x28 uint8 images, .gz to compress), txt (text, a sample a line) or wav (audio: OUT.wav holds the clips in a row, else OUT is a folder of one WAV each); default: from --out's extension, else txt for text, wav for audio, png otherwise",
    },
    out: { type: "string" as const, description: "the file to write; for text, leave it out to print the samples" },
  },
  run(values) {
    if (values.format !== undefined && !["png", "idx", "txt", "wav"].includes(values.format))
      throw new ConfigError([{ path: "--format", message: `must be png, idx, txt or wav, got '${values.format}'` }]);
    const count = numberFlag(values, "count", { integer: true, min: 1 }) ?? 64;
    const loaded = openGenerator(values);
    const { vocabulary, sampleRate } = loaded.shape;
    // The format: --format, else the --out file's extension, else what the generator makes.
    const byName =
      values.out === undefined ? undefined : (/\.(png|txt|wav)$/i.exec(values.out)?.[1].toLowerCase() ?? (/idx/.test(values.out) ? "idx" : undefined));
    const format = values.format ?? byName ?? (vocabulary ? "txt" : sampleRate ? "wav" : "png");
    if ((format === "txt") !== Boolean(vocabulary))
      throw new ConfigError([
        {
          path: "--format",
          message: vocabulary ? `this generator makes text: use --format txt` : "txt is for text generators; this one makes images, audio or points",
        },
      ]);
    if ((format === "wav" || format === "idx") && Boolean(sampleRate) !== (format === "wav"))
      throw new ConfigError([
        { path: "--format", message: sampleRate ? "this generator makes audio: use --format wav (or png for spectrograms)" : "wav is for audio generators" },
      ]);
    if (!values.out && format !== "txt") throw new ConfigError([{ path: "--out", message: "is required: the file to write" }]);
    assertSamplesFit(loaded.G, loaded.shape, count);
    const classLabel = classFlag(values, loaded);
    const { out } = values;
    tidy(() => {
      const { samples, labels } = loaded.sample(count, { classLabel, codes: codesFlag(values, loaded.shape) });
      if (format === "txt") {
        if (!out) return void process.stdout.write(samplesText(samples, loaded.shape.vocabulary!));
        saveSamples(out, samples, loaded.shape);
        console.log(`wrote ${count} samples to ${out}`);
        return;
      }
      if (!out) return;
      if (format === "wav") {
        if (/\.wav$/i.test(out)) {
          writeFileAtomic(out, samplesWav(samples, sampleRate!));
          return void console.log(`wrote ${count} clips to ${out}, one after another`);
        }
        makeDir(out);
        const clips = samples.to("cpu").toArray();
        const L = samples.shape[2];
        const classes = labels?.toArray();
        for (let i = 0; i < count; i++) {
          const name = `sample-${String(i).padStart(4, "0")}${classes ? `-class-${classes[i]}` : ""}.wav`;
          writeWav(join(out, name), Float32Array.from(clips.slice(i * L, (i + 1) * L)), sampleRate!);
        }
        return void console.log(`wrote ${count} clips to ${out}/, one WAV each`);
      }
      if (format === "png") {
        saveSamples(out, samples, loaded.shape);
        console.log(`wrote ${count} samples to ${out}`);
        return;
      }
      if (samples.ndim !== 4) throw new ConfigError([{ path: "--format", message: "idx holds images; this generator makes 2-D points" }]);
      if (samples.shape[1] !== 1)
        throw new ConfigError([
          { path: "--format", message: `idx holds grayscale images; this generator makes ${samples.shape[1]} channels: use --format png` },
        ]);
      const {
        data,
        shape: [n, h, w],
      } = toBytes(samples);
      writeIdx(out, { data, shape: [n, h, w] });
      console.log(`wrote ${n} images (${h}x${w}) to ${out}`);
      if (labels) {
        const path = labelsPath(out);
        writeIdx(path, { data: Uint8Array.from(labels.toArray()), shape: [n] });
        console.log(`wrote their labels to ${path}`);
      }
    });
  },
});

/**
 * InfoGAN sweeps (Chen et al. 2016, figure 2): one noise vector; rows are the categorical code's
 * values (one row without one); columns sweep continuous code `sweep` from -2 to 2, or with
 * sweep "cat" one row walks the categorical values. Other codes sit at their pinned values or 0.
 */
function sweepLatent(shape: ModelShape, sweep: string, steps: number, pinned: PinnedCodes, device: string): Tensor {
  const { categorical: K, continuous: C } = shape.codes!;
  const noise = randn([shape.latentDim - K - C], { device });
  const m = /^c(\d+)$/.exec(sweep);
  if (sweep !== "cat" && !(m && Number(m[1]) < C))
    throw new ConfigError([{ path: "--sweep", message: `expected cat${C ? ` or c0..c${C - 1}` : ""}, got '${sweep}'` }]);
  if (sweep === "cat" && !K) throw new ConfigError([{ path: "--sweep", message: "this generator has no categorical code" }]);
  const rows = sweep === "cat" ? [null] : K ? Array.from({ length: K }, (_, k) => k) : [null];
  const cells: Tensor[] = [];
  for (const row of rows) {
    for (let j = 0; j < (sweep === "cat" ? K : steps); j++) {
      const cat = sweep === "cat" ? j : (row ?? pinned.categorical ?? 0);
      const cont = Array.from({ length: C }, (_, i) => (m && Number(m[1]) === i ? -2 + (4 * j) / (steps - 1) : (pinned.continuous?.[i] ?? 0)));
      const onehot = Array.from({ length: K }, (_, k) => (k === cat ? 1 : 0));
      cells.push(cat_([noise, tensor([...onehot, ...cont], { device })]));
    }
  }
  return stack(cells);
}

export const interpolate = defineCommand({
  summary: "write a PNG strip walking G's latent space between two random points; for InfoGAN models, sweep a code",
  usage: "gantry interpolate --run RUN_DIR | --generator FILE | --pretrained NAME [--steps N] --out strip.png [--class K] [--sweep cat|cI] [--code ...]",
  options: {
    ...source,
    steps: { type: "string" as const, description: "images in the strip; default 10" },
    sweep: { type: "string" as const, description: "InfoGAN: sweep the categorical code (cat), or continuous code cI from -2 to 2 with a row per category" },
    out: { type: "string" as const, description: "the PNG to write" },
  },
  run(values) {
    const { out } = values;
    if (!out) throw new ConfigError([{ path: "--out", message: "is required: the PNG to write" }]);
    const steps = numberFlag(values, "steps", { integer: true, min: 2 }) ?? 10;
    const loaded = openGenerator(values);
    const classLabel = classFlag(values, loaded);
    const { G, shape } = loaded;
    if (shape.dataShape.length !== 3)
      throw new ConfigError([
        { path: "--run/--generator", message: `interpolate draws images; this generator makes ${shape.vocabulary ? "text" : "2-D points"}` },
      ]);
    if (values.sweep !== undefined && !shape.codes) throw new ConfigError([{ path: "--sweep", message: "this generator has no InfoGAN codes (model.codes)" }]);
    const device = G.parameters()[0].device;
    const pinned = codesFlag(values, shape);
    if (values.sweep !== undefined) {
      const sweep = values.sweep;
      const columns = sweep === "cat" ? shape.codes!.categorical : steps;
      noGrad(() => tidy(() => saveSamples(out, G.forward(sweepLatent(shape, sweep, steps, pinned, device)), shape, columns)));
      console.log(`wrote the ${sweep} sweep to ${out}`);
      return;
    }
    noGrad(() =>
      tidy(() => {
        const [a, b] = [randn([shape.latentDim], { device }), randn([shape.latentDim], { device })];
        const z = stack(Array.from({ length: steps }, (_, i) => a.mul(1 - i / (steps - 1)).add(b.mul(i / (steps - 1)))));
        let labels: Tensor | undefined;
        if (shape.numClasses)
          labels = z
            .sum(1)
            .mul(0)
            .add(classLabel ?? 0)
            .to({ dtype: "int64" });
        saveSamples(out, G.forward(z, labels), { ...shape, numClasses: 0 });
      }),
    );
    console.log(`wrote a ${steps}-image strip to ${out}`);
  },
});
