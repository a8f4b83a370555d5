// Images in and out of the CLI's apps (inpaint, translate): an IDX file (with its labels file
// beside it), a PNG, or a folder of PNGs, read as (N, C, H, W) in [-1, 1]; results written back in
// the input's format.
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { labelsPath } from "./sample.js";
import { ConfigError, DataError } from "../errors.js";
import { type Tensor, tensor } from "../engine/index.js";
import { readIdx, writeIdx } from "../data/idx.js";
import { decodeImage, prepareImage, type Decoded } from "../data/image-folder.js";
import { encodeGrid, toBytes } from "../image/png.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { makeDir } from "../util/make-dir.js";

export interface Input {
  images: Tensor;
  labels?: Tensor;
  /** How to write the results back: an IDX file, PNG files (with their names). */
  format: "idx" | "png";
  names: string[];
}

/**
 * A PNG as C planes in [-1, 1] (grey as the mean of R, G and B when C is 1). It must be w x h
 * already, unless `resize`: then it is resized and centre-cropped as training images of a folder are.
 */
export function pngPlanes(path: string, c: number, h: number, w: number, resize = false): Float32Array {
  let png: Decoded;
  try {
    png = decodeImage(path);
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${path}: not a readable PNG (${(err as Error).message})`, { cause: err });
  }
  if (png.width !== w || png.height !== h) {
    if (resize && h === w) return Float32Array.from(prepareImage(png, h, c as 1 | 3), (v) => v / 127.5 - 1);
    throw new DataError(`${path}: is ${png.width}x${png.height}; this generator makes ${w}x${h} images`);
  }
  const out = new Float32Array(c * h * w);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = [png.rgba[4 * i], png.rgba[4 * i + 1], png.rgba[4 * i + 2]];
    if (c === 1) out[i] = (r + g + b) / 3 / 127.5 - 1;
    else for (let k = 0; k < c; k++) out[k * h * w + i] = [r, g, b][k] / 127.5 - 1;
  }
  return out;
}

/** Images from an IDX file, a PNG or a folder of PNGs; with `resize`, PNGs of another size are resized and centre-cropped. */
export function readInput(path: string, dataShape: number[], count: number | undefined, resize = false): Input {
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
      data.set(pngPlanes(join(path, n), c, h, w, resize), i * c * h * w);
    });
    return { images: tensor(data, { shape: [names.length, c, h, w] }), format: "png", names };
  }
  if (extname(path).toLowerCase() === ".png") {
    return { images: tensor(pngPlanes(path, c, h, w, resize), { shape: [1, c, h, w] }), format: "png", names: [basename(path)] };
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

/**
 * Writes `images` (N, C, H, W) in [-1, 1] to `dir` in the input's format: an IDX file
 * `NAME-images-idx3-ubyte.gz` for grey IDX input, else one PNG per image (the input's names, or
 * numbered); returns what it wrote, for the log.
 */
export function writeImages(dir: string, name: string, images: Tensor, input: Input): string {
  const [n, c, h, w] = images.shape;
  if (input.format === "idx" && c === 1) {
    const path = join(dir, `${name}-images-idx3-ubyte.gz`);
    writeIdx(path, { data: toBytes(images).data, shape: [n, h, w] });
    return path;
  }
  const folder = join(dir, "images");
  makeDir(folder);
  const names = input.format === "png" ? input.names : Array.from({ length: n }, (_, i) => `${String(i).padStart(5, "0")}.png`);
  names.forEach((file, i) => {
    writeFileAtomic(join(folder, file), encodeGrid(images.narrow(0, i, 1), { columns: 1, padding: 0 }));
  });
  return `${n} PNGs to ${folder}`;
}
