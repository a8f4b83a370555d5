// A user's folder of images (PNG or JPEG), flat or with one subfolder per class, for training:
// decoded by sharp (libvips), their shorter side resized to `size` and centre-cropped to size x
// size, optionally made grayscale, and cached decoded. Single images given on the command line
// (decodeImage, prepareImage) go through pngjs, jpeg-js and libtorch instead, synchronously.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, extname, join, resolve } from "node:path";
import { PNG } from "pngjs";
import jpeg from "jpeg-js";
import sharp from "sharp";
import { tensor, tidy, upsample } from "../engine/index.js";
import { cacheDir, type ImageDataset } from "./datasets.js";
import { DataError } from "../errors.js";

const extensions = new Set([".png", ".jpg", ".jpeg"]);

export interface ImageFolderOptions {
  /** Output size in pixels, square. */
  size: number;
  /** 1 for grayscale, 3 for RGB (default). */
  channels?: 1 | 3;
  /** Keep the decoded images in gantry's cache and read them back next time (default true). */
  cache?: boolean;
  /** Write the cache only when decoding took at least this long (default 2,000 ms): small folders decode faster than they load. */
  cacheAfterMs?: number;
}

export interface Decoded {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** The most pixels an image may declare: 40 megapixels (an 8000x5000 photo) decode to 160 MB of RGBA. */
export const MAX_PIXELS = 40_000_000;

/** The size a PNG (IHDR) or JPEG (its frame header) declares, or null when the bytes are neither. */
export function headerSize(bytes: Buffer): { width: number; height: number } | null {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.toString("latin1", 12, 16) === "IHDR") {
    return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  // JPEG: walk the marker segments to the first start-of-frame (SOF0..SOF15 but DHT, JPG, DAC).
  for (let i = 2; i + 9 < bytes.length; ) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { width: bytes.readUInt16BE(i + 7), height: bytes.readUInt16BE(i + 5) };
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) i += 2;
    else i += 2 + bytes.readUInt16BE(i + 2);
  }
  return null;
}

const tooLarge = (w: number, h: number) => `its header declares ${w}x${h} pixels, more than the ${MAX_PIXELS / 1e6} megapixels gantry decodes; shrink it first`;

/** A PNG's IHDR size, read before decoding, so that a tiny file declaring a huge image is refused at once. */
function checkPngHeader(bytes: Buffer): void {
  const declared = headerSize(bytes);
  if (declared && declared.width * declared.height > MAX_PIXELS) throw new Error(tooLarge(declared.width, declared.height));
}

/** A PNG or JPEG file as RGBA; one that declares more than MAX_PIXELS is refused before decoding. */
export function decodeImage(path: string): Decoded {
  const bytes = readFileSync(path);
  if (extname(path).toLowerCase() === ".png") {
    try {
      checkPngHeader(bytes);
    } catch (err) {
      throw new DataError(`${path}: ${(err as Error).message}`);
    }
    const png = PNG.sync.read(bytes);
    return { width: png.width, height: png.height, rgba: png.data };
  }
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512, maxResolutionInMP: MAX_PIXELS / 1e6 });
  return { width: img.width, height: img.height, rgba: img.data };
}

/** One image as uint8 (C, size, size): resize the shorter side, then crop the centre. */
export function prepareImage(img: Decoded, size: number, channels: 1 | 3): Uint8Array {
  return tidy(() => {
    const { width: w, height: h, rgba } = img;
    let x = tensor(rgba, { dtype: "uint8", shape: [h, w, 4] })
      .narrow(2, 0, 3)
      .permute(2, 0, 1)
      .to({ dtype: "float32" }); // (3, H, W)
    if (channels === 1) x = x.mul(tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0, true);
    const scale = size / Math.min(w, h);
    const [nh, nw] = [Math.max(size, Math.round(h * scale)), Math.max(size, Math.round(w * scale))];
    const resized = upsample(x.unsqueeze(0), { size: [nh, nw], mode: "bilinear" }).squeeze(0);
    const top = Math.floor((nh - size) / 2);
    const left = Math.floor((nw - size) / 2);
    return resized.narrow(1, top, size).narrow(2, left, size).round().clamp(0, 255).to({ dtype: "uint8" }).data<"uint8">();
  });
}

/** Lists the images under `dir`; subfolders, if any, are the classes (in name order). */
function listImages(dir: string): { files: { path: string; label: number }[]; classes: string[] } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DataError(`${dir}: not a folder of images`);
  const entries = readdirSync(dir).sort();
  const classes = entries.filter((e) => statSync(join(dir, e)).isDirectory());
  const files = classes.length
    ? classes.flatMap((c, label) =>
        readdirSync(join(dir, c))
          .sort()
          .filter((f) => extensions.has(extname(f).toLowerCase()))
          .map((f) => ({ path: join(dir, c, f), label })),
      )
    : entries.filter((f) => extensions.has(extname(f).toLowerCase())).map((f) => ({ path: join(dir, f), label: 0 }));
  if (!files.length) {
    throw new DataError(`${dir}: no images (.png, .jpg, .jpeg) found${classes.length ? ` in its ${classes.length} class folders` : ""}`);
  }
  return { files, classes };
}

/**
 * One file through sharp (libvips): EXIF orientation applied, the shorter side resized to `size`
 * and the centre cropped (`fit: cover`), as (C, size, size) uint8 written at `out`. Grayscale is
 * 0.299 R + 0.587 G + 0.114 B of the resized RGB, as PIL's "L" mode.
 */
async function decodeInto(path: string, size: number, channels: 1 | 3, out: Uint8Array): Promise<"ok" | { width: number; height: number }> {
  // Read here, on the main thread (a small file is in the page cache), and the size taken from the
  // header, so that sharp's one task on the thread pool is the decoding (a metadata() call first
  // would be a second round trip through the pool for every image).
  const bytes = readFileSync(path);
  const image = sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: "error" });
  // Neither test depends on the EXIF orientation: a quarter turn swaps the sides.
  const { width, height } = headerSize(bytes) ?? (await image.metadata());
  if (width === undefined || height === undefined) throw new Error("no image size in its header");
  if (width * height > MAX_PIXELS) throw new Error(tooLarge(width, height));
  if (Math.min(width, height) < size / 2) return { width, height };
  const rgb = await image.rotate().resize(size, size, { fit: "cover", position: "centre" }).toColourspace("srgb").removeAlpha().raw().toBuffer();
  const area = size * size;
  for (let i = 0; i < area; i++) {
    const r = rgb[3 * i];
    const g = rgb[3 * i + 1];
    const b = rgb[3 * i + 2];
    if (channels === 1) {
      out[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    } else {
      out[i] = r;
      out[area + i] = g;
      out[2 * area + i] = b;
    }
  }
  return "ok";
}

/** Where a folder's decoded images are kept: named by everything that would change them. */
function cachePath(dir: string, files: readonly { path: string }[], size: number, channels: number): string {
  const hash = createHash("sha256").update(JSON.stringify({ version: 1, dir: resolve(dir), size, channels }));
  for (const { path } of files) {
    const st = statSync(path);
    hash.update(`${path}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return join(cacheDir(), "folders", `${basename(resolve(dir))}-${size}px-${channels}c-${hash.digest("hex").slice(0, 16)}.u8`);
}

/**
 * Loads every image under `dir` into memory as uint8 (the training loop then never waits for
 * data: a batch is one index_select). Files are decoded by sharp on libuv's thread pool, many at
 * once, and (with `cache`, the default) a folder that took `cacheAfterMs` or more to decode is kept
 * in gantry's cache, so that the next run over the same files reads it back instead.
 */
export async function loadImageFolder(dir: string, options: ImageFolderOptions): Promise<ImageDataset> {
  const { size, channels = 3, cache = true, cacheAfterMs = 2000 } = options;
  const { files, classes } = listImages(dir);
  const per = channels * size * size;
  const dataset = (images: Uint8Array): ImageDataset => ({
    name: "folder",
    images,
    imageShape: [channels, size, size],
    labels: classes.length ? Uint8Array.from(files, (f) => f.label) : null,
    numClasses: classes.length,
    length: files.length,
    source: dir,
  });
  const cached = cache ? cachePath(dir, files, size, channels) : null;
  if (cached && existsSync(cached) && statSync(cached).size === files.length * per) return dataset(new Uint8Array(readFileSync(cached)));

  const started = performance.now();
  const images = new Uint8Array(files.length * per);
  const unreadable: string[] = [];
  const tooSmall: string[] = [];
  // libvips runs each small image on one thread; the pool's threads take different images.
  const vipsThreads = sharp.concurrency();
  sharp.concurrency(1);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < files.length; i = next++) {
      const { path } = files[i];
      try {
        const result = await decodeInto(path, size, channels, images.subarray(i * per, (i + 1) * per));
        if (result !== "ok") tooSmall.push(`${path} (${result.width}x${result.height})`);
      } catch (err) {
        // libvips repeats its decoder's warnings, one a line: each said once, on one line.
        const lines = new Set((err as Error).message.split("\n").map((line) => line.trim()));
        unreadable.push(`${path} (${[...lines].filter(Boolean).join("; ")})`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(files.length, 4 * availableParallelism()) }, worker));
  } finally {
    sharp.concurrency(vipsThreads);
  }
  unreadable.sort();
  tooSmall.sort();
  const problems = [
    unreadable.length ? `${unreadable.length} unreadable: ${unreadable.slice(0, 10).join(", ")}${unreadable.length > 10 ? ", ..." : ""}` : "",
    tooSmall.length
      ? `${tooSmall.length} smaller than half of ${size} px on a side: ${tooSmall.slice(0, 10).join(", ")}${tooSmall.length > 10 ? ", ..." : ""}`
      : "",
  ].filter(Boolean);
  if (problems.length) {
    throw new DataError(
      `${dir}: ${problems.length === 2 ? "images failed two ways" : "some images cannot be used"} (of ${files.length}):\n  ${problems.join("\n  ")}\nRemove or fix them, then run again.`,
    );
  }
  if (cached && performance.now() - started >= cacheAfterMs) {
    // Written aside and renamed, so that a run stopped halfway never leaves a partial cache.
    try {
      mkdirSync(dirname(cached), { recursive: true });
      writeFileSync(`${cached}.${process.pid}.tmp`, images);
      renameSync(`${cached}.${process.pid}.tmp`, cached);
    } catch {
      // A cache that cannot be written only costs the next run its decoding time.
    }
  }
  return dataset(images);
}
