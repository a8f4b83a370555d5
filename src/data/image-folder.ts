// A user's folder of images (PNG or JPEG), flat or with one subfolder per class. Images are
// decoded by pngjs and jpeg-js, optionally made grayscale, their shorter side resized to `size`
// (bilinear, by libtorch) and centre-cropped to size x size.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { PNG } from "pngjs";
import jpeg from "jpeg-js";
import { tensor, tidy, upsample } from "../engine/index.js";
import type { ImageDataset } from "./datasets.js";
import { DataError } from "../errors.js";

const extensions = new Set([".png", ".jpg", ".jpeg"]);

export interface ImageFolderOptions {
  /** Output size in pixels, square. */
  size: number;
  /** 1 for grayscale, 3 for RGB (default). */
  channels?: 1 | 3;
}

export interface Decoded {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** The most pixels an image may declare: 40 megapixels (an 8000x5000 photo) decode to 160 MB of RGBA. */
export const MAX_PIXELS = 40_000_000;

/** A PNG or JPEG file as RGBA; one that declares more than MAX_PIXELS is refused before decoding. */
export function decodeImage(path: string): Decoded {
  const bytes = readFileSync(path);
  if (extname(path).toLowerCase() === ".png") {
    // The header's size is read before decoding, so a tiny file declaring a huge image is refused at once.
    if (bytes.length >= 24 && bytes.toString("latin1", 12, 16) === "IHDR") {
      const [w, h] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
      if (w * h > MAX_PIXELS)
        throw new DataError(`${path}: its header declares ${w}x${h} pixels, more than the ${MAX_PIXELS / 1e6} megapixels gantry decodes; shrink it first`);
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

/** Loads every image under `dir`; subfolders, if any, are the classes (in name order). */
export function loadImageFolder(dir: string, options: ImageFolderOptions): ImageDataset {
  const { size, channels = 3 } = options;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DataError(`${dir}: not a folder of images`);
  const entries = readdirSync(dir).sort();
  const classes = entries.filter((e) => statSync(join(dir, e)).isDirectory());
  const files: { path: string; label: number }[] = classes.length
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
  const images = new Uint8Array(files.length * channels * size * size);
  const unreadable: string[] = [];
  const tooSmall: string[] = [];
  files.forEach(({ path }, i) => {
    let img: Decoded;
    try {
      img = decodeImage(path);
    } catch (err) {
      unreadable.push(`${path} (${(err as Error).message})`);
      return;
    }
    if (Math.min(img.width, img.height) < size / 2) {
      tooSmall.push(`${path} (${img.width}x${img.height})`);
      return;
    }
    images.set(prepareImage(img, size, channels), i * channels * size * size);
  });
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
  return {
    name: "folder",
    images,
    imageShape: [channels, size, size],
    labels: classes.length ? Uint8Array.from(files, (f) => f.label) : null,
    numClasses: classes.length,
    length: files.length,
    source: dir,
  };
}
