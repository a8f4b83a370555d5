// gantry inpaint: fill the holes of images with a trained GAN (latent optimization, Yeh et al. 2017).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCommand, numberFlag } from "./command.js";
import { pngPlanes, readInput, writeImages } from "./image-io.js";
import { ConfigError } from "../errors.js";
import { type Tensor, cat, tensor, tidy } from "../engine/index.js";
import { encodeGrid } from "../image/png.js";
import { loadTrainedPair } from "../train/index.js";
import { classesFromContext, contextClassifierFor, inpaint, inpaintDefaults, makeMask, maskKinds, type MaskKind } from "../apps/inpaint.js";
import { evaluateInpainting } from "../apps/inpaint-eval.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { makeDir } from "../util/make-dir.js";

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
  const pair = values.run !== undefined ? loadTrainedPair(values.run, "--run") : loadTrainedPair(values.pretrained!, "--pretrained");
  if (pair.shape.source)
    throw new ConfigError([{ path: "--run", message: "this run translates images: gantry translate runs it; inpainting needs a generator from noise" }]);
  return pair;
}

function classFromFlag(values: Record<string, unknown>): "context" | "search" | undefined {
  const v = values["class-from"];
  if (v === undefined || v === "context" || v === "search") return v;
  throw new ConfigError([{ path: "--class-from", message: `must be context or search, got '${v}'` }]);
}

/** A conditional G's classes for images that come without them (contextClassifierFor says how); undefined: searched with z. */
function unknownClasses(dataset: string, classFrom: "context" | "search" | undefined, images: Tensor, mask: Tensor): Tensor | undefined {
  const reader = contextClassifierFor(dataset, classFrom);
  const given = "the images' classes are not given (--class, or an IDX labels file)";
  if (!reader) {
    console.log(`${given}: searching them with z`);
    return undefined;
  }
  console.log(`${given}: reading them from the known pixels (${reader.path}; --class-from search to search them with z)`);
  return classesFromContext(reader.model, images, mask);
}

/** The latent search's flags, with the library's defaults (inpaintDefaults), for inpainting and for --evaluate. */
function searchFlags(values: Record<string, unknown>) {
  return {
    steps: numberFlag(values, "steps", { integer: true, min: 1 }) ?? inpaintDefaults.steps,
    restarts: numberFlag(values, "restarts", { integer: true, min: 1 }) ?? inpaintDefaults.restarts,
    candidates: numberFlag(values, "candidates", { integer: true, min: 1 }) ?? inpaintDefaults.candidates,
    lambda: numberFlag(values, "lambda", { min: 0 }) ?? 0.003,
    seed: numberFlag(values, "seed", { integer: true, min: 0 }) ?? 0,
    window: numberFlag(values, "window", { integer: true, min: 1 }),
  };
}

export const inpaintCommand = defineCommand({
  summary: "fill the holes of images with a trained GAN (latent optimization, Yeh et al. 2017; Poisson blending)",
  usage:
    "gantry inpaint --run RUN_DIR | --pretrained NAME --input IMAGES --mask center|left|right|top|bottom|random|noise|MASK.png --out DIR  |  gantry inpaint --evaluate --run RUN_DIR | --pretrained NAME [--mask center] [--count 1000] [--class-from context|search]",
  options: {
    run: { type: "string", description: "a run directory (its newest checkpoint: G's EMA copy and D)" },
    pretrained: { type: "string", description: "a shipped pretrained model (gantry list) or a pretrained .safetensors file" },
    input: { type: "string", description: "the images: an IDX file (its labels file beside it, if any), a PNG, or a folder of PNGs" },
    mask: { type: "string", description: `which pixels are missing: ${maskKinds.join(", ")}, or a PNG where white is known; default center` },
    out: { type: "string", description: "the folder to write grid.png and the inpainted images to" },
    count: { type: "string", description: "inpaint only the first N images" },
    steps: { type: "string", description: `Adam steps on z; default ${inpaintDefaults.steps}` },
    restarts: { type: "string", description: `random starts per image, the best kept; default ${inpaintDefaults.restarts}` },
    candidates: {
      type: "string",
      description: `random z drawn once and shared by all images (G's forward pass only); each image starts from those that fit its known pixels best; default ${inpaintDefaults.candidates}`,
    },
    lambda: { type: "string", description: "weight of D's prior loss log(1 - D(G(z))); default 0.003" },
    window: { type: "string", description: "side of the window that weights known pixels by the missing ones around them; default 7" },
    class: { type: "string", description: "for conditional generators without a labels file: the class of every image" },
    "class-from": {
      type: "string",
      description:
        "for conditional generators whose images' classes are not given: context (read from the known pixels by the dataset's holes classifier; the default where one ships) or search (drawn with z)",
    },
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
    const { steps, restarts, candidates, lambda, seed, window } = searchFlags(values);
    const classLabel = numberFlag(values, "class", { integer: true, min: 0 });
    const classFrom = classFromFlag(values);
    const { G, D, shape, config } = pairFromFlags(values);
    if (shape.dataShape.length !== 3)
      throw new ConfigError([{ path: "--run/--pretrained", message: "inpainting needs an image generator; this one makes 2-D points" }]);
    const [, h, w] = shape.dataShape;
    const input = readInput(values.input, shape.dataShape, count);
    const n = input.images.shape[0];
    const mask = readMask(values.mask ?? "center", n, h, w, seed);
    let labels: Tensor | number | undefined = input.labels;
    if (shape.numClasses) {
      if (classLabel !== undefined) {
        if (classLabel >= shape.numClasses) throw new ConfigError([{ path: "--class", message: `must be below ${shape.numClasses}, got ${classLabel}` }]);
        labels = classLabel;
      }
      if (labels === undefined) labels = unknownClasses(config.data.dataset, classFrom, input.images, mask);
    }
    const started = Date.now();
    console.log(
      `inpainting ${n} image${n === 1 ? "" : "s"} (${steps} steps, ${restarts} start${restarts === 1 ? "" : "s"} each${candidates > 1 ? `, the best of ${candidates} draws` : ""})`,
    );
    const result = inpaint(G, D, input.images, mask, {
      steps,
      restarts,
      candidates,
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
      console.log(`wrote ${writeImages(values.out!, "inpainted", result.completed, input)}`);
    });
    console.log(`wrote ${join(values.out, "grid.png")} (rows of 8: masked, inpainted, input)`);
  },
});

async function evaluateCommand(values: Record<string, string | boolean | undefined>): Promise<void> {
  const mask = (values.mask as string | undefined) ?? "center";
  if (!(maskKinds as readonly string[]).includes(mask))
    throw new ConfigError([{ path: "--mask", message: `with --evaluate: one of ${maskKinds.join(", ")}, got '${mask}'` }]);
  const search = searchFlags(values);
  const classFrom = classFromFlag(values);
  const pair = pairFromFlags(values as { run?: string; pretrained?: string });
  const json = values.json === true;
  const result = await evaluateInpainting(pair, {
    ...search,
    dataset: values.dataset as string | undefined,
    mask: mask as MaskKind,
    classFrom,
    count: numberFlag(values, "count", { integer: true, min: 1 }) ?? 1000,
    log: json ? () => {} : (m) => console.log(m),
  });
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(
    `\n${result.dataset}, ${result.count} test images, mask ${result.mask}, ${result.steps} steps x ${result.restarts} starts${result.candidates > 1 ? ` (the best of ${result.candidates} draws)` : ""}, ${result.seconds.toFixed(0)} s`,
  );
  if (result.classFrom)
    console.log(
      `classes ${result.classFrom === "context" ? "read from the known pixels" : "searched with z"}: ${(100 * (result.classAccuracy ?? 0)).toFixed(1)}% right`,
    );
  console.log("method     hole L1   hole PSNR   classifier accuracy");
  for (const s of result.scores) {
    console.log(
      `${s.method.padEnd(10)} ${s.holeL1.toFixed(4).padStart(7)}   ${Number.isFinite(s.holePsnr) ? s.holePsnr.toFixed(2).padStart(6) : "     -"} dB   ${(100 * s.accuracy).toFixed(1)}%`,
    );
  }
  console.log(
    result.recovered === null
      ? "accuracy recovered by inpainting: none to recover (the classifier reads the masked images as well as the whole ones)"
      : `accuracy recovered by inpainting: ${(100 * result.recovered).toFixed(1)}% of what the mask took away`,
  );
}
