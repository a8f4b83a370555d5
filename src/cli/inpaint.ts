// gantry inpaint: fill the holes of images with a trained GAN (latent optimization, Yeh et al. 2017).
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { defineCommand, numberFlag } from "./command.js";
import { labelsPath } from "./sample.js";
import { ConfigError, DataError } from "../errors.js";
import { type Tensor, cat, tensor, tidy } from "../engine/index.js";
import { readIdx, writeIdx } from "../data/idx.js";
import { decodeImage, type Decoded } from "../data/image-folder.js";
import { encodeGrid, toBytes } from "../image/png.js";
import { loadTrainedPair } from "../train/index.js";
import { inpaint, makeMask, maskKinds, type MaskKind } from "../apps/inpaint.js";
import { evaluateInpainting } from "../apps/inpaint-eval.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { makeDir } from "../util/make-dir.js";

interface Input {
  images: Tensor;
  labels?: Tensor;
  /** How to write the results back: an IDX file, PNG files (with their names). */
  format: "idx" | "png";
  names: string[];
}

/** A PNG as C planes in [-1, 1] (grey as the mean of R, G and B when C is 1); it must be w x h already. */
function pngPlanes(path: string, c: number, h: number, w: number): Float32Array {
  let png: Decoded;
  try {
    png = decodeImage(path);
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${path}: not a readable PNG (${(err as Error).message})`, { cause: err });
  }
  if (png.width !== w || png.height !== h) throw new DataError(`${path}: is ${png.width}x${png.height}; this generator makes ${w}x${h} images`);
  const out = new Float32Array(c * h * w);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = [png.rgba[4 * i], png.rgba[4 * i + 1], png.rgba[4 * i + 2]];
    if (c === 1) out[i] = (r + g + b) / 3 / 127.5 - 1;
    else for (let k = 0; k < c; k++) out[k * h * w + i] = [r, g, b][k] / 127.5 - 1;
  }
  return out;
}

function readInput(path: string, dataShape: number[], count: number | undefined): Input {
  if (!existsSync(path)) throw new ConfigError([{ path: "--input", message: `${path} does not exist` }]);
  const [c, h, w] = dataShape;
  if (statSync(path).isDirectory()) {
    const names = readdirSync(path)
      .filter((f) => f.toLowerCase().endsWith(".png"))
      .sort()
      .slice(0, count);
    if (!names.length) throw new ConfigError([{ path: "--input", message: `${path} holds no .png images` }]);
    const data = new Float32Array(names.length * c * h * w);
    names.forEach((n, i) => {
      data.set(pngPlanes(join(path, n), c, h, w), i * c * h * w);
    });
    return { images: tensor(data, { shape: [names.length, c, h, w] }), format: "png", names };
  }
  if (extname(path).toLowerCase() === ".png") {
    return { images: tensor(pngPlanes(path, c, h, w), { shape: [1, c, h, w] }), format: "png", names: [basename(path)] };
  }
  const idx = readIdx(path);
  if (c !== 1 || idx.shape.length !== 3 || idx.shape[1] !== h || idx.shape[2] !== w)
    throw new DataError(`${path}: holds [${idx.shape.join(", ")}]; this generator makes ${c}x${h}x${w} images (an IDX file holds (N, ${h}, ${w}) grey images)`);
  const n = Math.min(idx.shape[0], count ?? idx.shape[0]);
  const images = tensor(
    Float32Array.from(idx.data.subarray(0, n * h * w), (b) => b / 127.5 - 1),
    { shape: [n, 1, h, w] },
  );
  const labelFile = labelsPath(path);
  const labels = existsSync(labelFile) ? tensor(Int32Array.from(readIdx(labelFile).data.subarray(0, n)), { shape: [n] }).to({ dtype: "int64" }) : undefined;
  return { images, labels, format: "idx", names: [basename(path)] };
}

function readMask(spec: string, n: number, h: number, w: number, seed: number): Tensor {
  if ((maskKinds as readonly string[]).includes(spec)) return makeMask(spec as MaskKind, n, h, w, seed);
  if (!spec.toLowerCase().endsWith(".png"))
    throw new ConfigError([{ path: "--mask", message: `must be one of ${maskKinds.join(", ")} or a PNG (white = known pixel), got '${spec}'` }]);
  if (!existsSync(spec)) throw new ConfigError([{ path: "--mask", message: `${spec} does not exist` }]);
  const planes = pngPlanes(spec, 1, h, w);
  return tensor(
    Float32Array.from(planes, (v) => (v >= 0 ? 1 : 0)),
    { shape: [1, 1, h, w] },
  );
}

/** G and D behind --run or --pretrained (run() has checked that exactly one is given). */
function pairFromFlags(values: { run?: string; pretrained?: string }) {
  return values.run !== undefined ? loadTrainedPair(values.run, "--run") : loadTrainedPair(values.pretrained!, "--pretrained");
}

/** The latent search's flags, with the CLI's defaults (200 steps, 2 starts), for inpainting and for --evaluate. */
function searchFlags(values: Record<string, unknown>) {
  return {
    steps: numberFlag(values, "steps", { integer: true, min: 1 }) ?? 200,
    restarts: numberFlag(values, "restarts", { integer: true, min: 1 }) ?? 2,
    lambda: numberFlag(values, "lambda", { min: 0 }) ?? 0.003,
    seed: numberFlag(values, "seed", { integer: true, min: 0 }) ?? 0,
    window: numberFlag(values, "window", { integer: true, min: 1 }),
  };
}

export const inpaintCommand = defineCommand({
  summary: "fill the holes of images with a trained GAN (latent optimization, Yeh et al. 2017; Poisson blending)",
  usage:
    "gantry inpaint --run RUN_DIR | --pretrained NAME --input IMAGES --mask center|left|right|top|bottom|random|noise|MASK.png --out DIR  |  gantry inpaint --evaluate --run RUN_DIR | --pretrained NAME [--mask center] [--count 1000]",
  options: {
    run: { type: "string", description: "a run directory (its newest checkpoint: G's EMA copy and D)" },
    pretrained: { type: "string", description: "a shipped pretrained model (gantry list) or a pretrained .safetensors file" },
    input: { type: "string", description: "the images: an IDX file (its labels file beside it, if any), a PNG, or a folder of PNGs" },
    mask: { type: "string", description: `which pixels are missing: ${maskKinds.join(", ")}, or a PNG where white is known; default center` },
    out: { type: "string", description: "the folder to write grid.png and the inpainted images to" },
    count: { type: "string", description: "inpaint only the first N images" },
    steps: { type: "string", description: "Adam steps on z; default 200" },
    restarts: { type: "string", description: "random starts per image, the best kept; default 2" },
    lambda: { type: "string", description: "weight of D's prior loss log(1 - D(G(z))); default 0.003" },
    window: { type: "string", description: "side of the window that weights known pixels by the missing ones around them; default 7" },
    class: { type: "string", description: "for conditional generators without a labels file: the class of every image" },
    seed: { type: "string", description: "random seed for the starts and random masks; default 0" },
    evaluate: {
      type: "boolean",
      description: "measure instead: the first --count test images (default 1000) with --mask, against the masked, mean-fill and nearest-neighbour baselines",
    },
    dataset: { type: "string", description: "with --evaluate: the test set (mnist or fashion-mnist); default the model's" },
    json: { type: "boolean", description: "with --evaluate: print the result as one JSON line" },
  },
  run(values) {
    if ((values.run === undefined) === (values.pretrained === undefined))
      throw new ConfigError([{ path: "--run/--pretrained", message: "give exactly one of --run RUN_DIR and --pretrained NAME" }]);
    if (values.evaluate) return evaluateCommand(values);
    if (!values.input) throw new ConfigError([{ path: "--input", message: "is required: an IDX file, a PNG or a folder of PNGs" }]);
    if (!values.out) throw new ConfigError([{ path: "--out", message: "is required: the folder to write to" }]);
    const count = numberFlag(values, "count", { integer: true, min: 1 });
    const { steps, restarts, lambda, seed, window } = searchFlags(values);
    const classLabel = numberFlag(values, "class", { integer: true, min: 0 });
    const { G, D, shape } = pairFromFlags(values);
    if (shape.dataShape.length !== 3)
      throw new ConfigError([{ path: "--run/--pretrained", message: "inpainting needs an image generator; this one makes 2-D points" }]);
    const [, h, w] = shape.dataShape;
    const input = readInput(values.input, shape.dataShape, count);
    const n = input.images.shape[0];
    let labels: Tensor | number | undefined = input.labels;
    if (shape.numClasses) {
      if (classLabel !== undefined) {
        if (classLabel >= shape.numClasses) throw new ConfigError([{ path: "--class", message: `must be below ${shape.numClasses}, got ${classLabel}` }]);
        labels = classLabel;
      }
      if (labels === undefined)
        throw new ConfigError([{ path: "--class", message: "this generator is conditional: give --class K, or an IDX input with its labels file beside it" }]);
    }
    const mask = readMask(values.mask ?? "center", n, h, w, seed);
    const started = Date.now();
    console.log(`inpainting ${n} image${n === 1 ? "" : "s"} (${steps} steps, ${restarts} start${restarts === 1 ? "" : "s"} each)`);
    const result = inpaint(G, D, input.images, mask, {
      steps,
      restarts,
      lambda,
      seed,
      window,
      labels: shape.numClasses ? labels : undefined,
      onProgress: (s, loss) => console.log(`step ${s}/${steps}: loss ${loss.toFixed(4)}`),
    });
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    console.log(
      `done in ${((Date.now() - started) / 1000).toFixed(1)} s: context loss ${mean(result.contextBefore).toFixed(3)} -> ${mean(result.contextAfter).toFixed(3)} per image`,
    );
    makeDir(values.out);
    tidy(() => {
      // Rows of 8: the masked images (holes grey), the inpainted ones, the inputs.
      const full = mask.shape[0] === n ? mask : mask.expand(n, 1, h, w);
      const masked = input.images.mul(full).add(full.rsub(1).mul(-0.3));
      const rows: Tensor[] = [];
      for (let i = 0; i < n; i += 8) {
        const k = Math.min(8, n - i);
        rows.push(masked.narrow(0, i, k), result.completed.narrow(0, i, k), input.images.narrow(0, i, k));
      }
      writeFileAtomic(join(values.out!, "grid.png"), encodeGrid(cat(rows), { columns: Math.min(8, n) }));
      const { data } = toBytes(result.completed);
      if (input.format === "idx") {
        const path = join(values.out!, "inpainted-images-idx3-ubyte.gz");
        writeIdx(path, { data, shape: [n, h, w] });
        console.log(`wrote ${path}`);
      } else {
        const dir = join(values.out!, "images");
        makeDir(dir);
        input.names.forEach((name, i) => {
          writeFileAtomic(join(dir, name), encodeGrid(result.completed.narrow(0, i, 1), { columns: 1, padding: 0 }));
        });
        console.log(`wrote ${n} PNGs to ${dir}`);
      }
    });
    console.log(`wrote ${join(values.out, "grid.png")} (rows of 8: masked, inpainted, input)`);
  },
});

async function evaluateCommand(values: Record<string, string | boolean | undefined>): Promise<void> {
  const mask = (values.mask as string | undefined) ?? "center";
  if (!(maskKinds as readonly string[]).includes(mask))
    throw new ConfigError([{ path: "--mask", message: `with --evaluate: one of ${maskKinds.join(", ")}, got '${mask}'` }]);
  const search = searchFlags(values);
  const pair = pairFromFlags(values as { run?: string; pretrained?: string });
  const json = values.json === true;
  const result = await evaluateInpainting(pair, {
    ...search,
    dataset: values.dataset as string | undefined,
    mask: mask as MaskKind,
    count: numberFlag(values, "count", { integer: true, min: 1 }) ?? 1000,
    log: json ? () => {} : (m) => console.log(m),
  });
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(
    `\n${result.dataset}, ${result.count} test images, mask ${result.mask}, ${result.steps} steps x ${result.restarts} starts, ${result.seconds.toFixed(0)} s`,
  );
  console.log("method     hole L1   hole PSNR   classifier accuracy");
  for (const s of result.scores) {
    console.log(
      `${s.method.padEnd(10)} ${s.holeL1.toFixed(4).padStart(7)}   ${Number.isFinite(s.holePsnr) ? s.holePsnr.toFixed(2).padStart(6) : "     -"} dB   ${(100 * s.accuracy).toFixed(1)}%`,
    );
  }
  console.log(`accuracy recovered by inpainting: ${(100 * result.recovered).toFixed(1)}% of what the mask took away`);
}
