// Image-to-image translation data, built on the user's machine from MNIST (and from two image
// folders): each sample is a source image and a target image. Paired sets (pix2pix) hold a digit
// and a transform of that same digit: its edge map, its inverse, or its eroded or dilated stroke.
// Unpaired sets (CycleGAN) hold a digit from one domain beside an unrelated digit from the other:
// grey MNIST and a colourised MNIST in the manner of MNIST-M (Ganin & Lempitsky 2015: the digit
// blended with a textured colour background as |background - digit|); the backgrounds here are
// procedural (gradients, stripes and noise), since BSDS500's photographs do not ship with gantry.
import { loadDataset, type ImageDataset, type Split } from "./datasets.js";
import { loadImageFolder } from "./image-folder.js";
import { DataError } from "../errors.js";
import { mulberry32 as prng } from "../util/prng.js";

export const pairTransforms = ["edges", "inverted", "eroded", "dilated"] as const;
export type PairTransform = (typeof pairTransforms)[number];

/** One grey h x w image transformed; `src` and `out` are views of h * w bytes. */
function transformDigit(kind: PairTransform, src: Uint8Array, out: Uint8Array, h: number, w: number): void {
  const at = (y: number, x: number) => (y < 0 || x < 0 || y >= h || x >= w ? 0 : src[y * w + x]);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (kind === "inverted") {
        out[y * w + x] = 255 - src[y * w + x];
      } else if (kind === "edges") {
        // Sobel gradient magnitude, scaled so that a full-contrast step is white.
        const gx = at(y - 1, x + 1) + 2 * at(y, x + 1) + at(y + 1, x + 1) - at(y - 1, x - 1) - 2 * at(y, x - 1) - at(y + 1, x - 1);
        const gy = at(y + 1, x - 1) + 2 * at(y + 1, x) + at(y + 1, x + 1) - at(y - 1, x - 1) - 2 * at(y - 1, x) - at(y - 1, x + 1);
        out[y * w + x] = Math.min(255, Math.round(Math.hypot(gx, gy) / 4));
      } else {
        // 3x3 minimum (erosion: thinner strokes) or maximum (dilation: bolder ones).
        let v = kind === "eroded" ? 255 : 0;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) v = kind === "eroded" ? Math.min(v, at(y + dy, x + dx)) : Math.max(v, at(y + dy, x + dx));
        out[y * w + x] = v;
      }
    }
  }
}

/** A textured colour background, 3 x h x w bytes: a two-colour gradient, stripes and grain. */
function background(random: () => number, h: number, w: number): Uint8Array {
  const out = new Uint8Array(3 * h * w);
  const a = [0, 1, 2].map(() => random() * 255);
  const b = [0, 1, 2].map(() => random() * 255);
  const angle = random() * Math.PI;
  const [ux, uy] = [Math.cos(angle), Math.sin(angle)];
  const stripeAngle = random() * Math.PI;
  const [sx, sy] = [Math.cos(stripeAngle), Math.sin(stripeAngle)];
  const frequency = 0.3 + random() * 1.2;
  const stripes = random() * 60;
  const phase = random() * 2 * Math.PI;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = Math.min(1, Math.max(0, 0.5 + ((x - w / 2) * ux + (y - h / 2) * uy) / Math.max(h, w)));
      const stripe = stripes * Math.sin(frequency * (x * sx + y * sy) + phase);
      for (let c = 0; c < 3; c++) {
        const v = a[c] * (1 - t) + b[c] * t + stripe + (random() - 0.5) * 40;
        out[c * h * w + y * w + x] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
  return out;
}

/** A grey digit on a textured colour background, blended as MNIST-M is: |background - digit|. */
function colourise(random: () => number, digit: Uint8Array, out: Uint8Array, h: number, w: number): void {
  const bg = background(random, h, w);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) out[c * h * w + i] = Math.abs(bg[c * h * w + i] - digit[i]);
}

/**
 * An image dataset whose samples are (source, target) pairs: `images` holds the targets,
 * `sources` the inputs, sample i of each side by side (unrelated for unpaired data).
 */
export interface TranslationDataset extends ImageDataset {
  sources: Uint8Array;
  sourceShape: number[];
  /** The class of each input image (what a translation should keep), when known. */
  sourceLabels: Uint8Array | null;
  /** The real dataset the targets are drawn from, when gantry has its classifier (for FID and class accuracy). */
  targetDomain: "mnist" | null;
}

/** MNIST digits paired with a transform of themselves; reverse: the digit is the source. */
export async function mnistPairs(
  transform: PairTransform,
  reverse: boolean,
  options: { split?: Split; dataDir?: string; log?: (m: string) => void } = {},
): Promise<TranslationDataset> {
  const split = options.split ?? "train";
  const mnist = await loadDataset("mnist", { split, dataDir: options.dataDir, log: options.log });
  const [h, w] = [28, 28];
  const transformed = new Uint8Array(mnist.images.length);
  for (let i = 0; i < mnist.length; i++) {
    transformDigit(transform, mnist.images.subarray(i * h * w, (i + 1) * h * w), transformed.subarray(i * h * w, (i + 1) * h * w), h, w);
  }
  const [sources, images] = reverse ? [mnist.images, transformed] : [transformed, mnist.images];
  return {
    ...mnist,
    name: `mnist-pairs (${reverse ? `digit -> ${transform}` : `${transform} -> digit`}, ${split})`,
    images,
    sources,
    sourceShape: [1, h, w],
    sourceLabels: mnist.labels,
    targetDomain: reverse ? null : "mnist",
  };
}

/**
 * Unpaired MNIST and colourised MNIST: sample i holds MNIST digit i on one side and the
 * colourised version of a different, randomly chosen digit on the other (a fixed seeded
 * permutation), so nothing pairs them. Default: colour -> grey; reverse: grey -> colour.
 * Labels are the grey digit's class when it is the target, else the colour one's.
 */
export async function mnistColour(reverse: boolean, options: { split?: Split; dataDir?: string; log?: (m: string) => void } = {}): Promise<TranslationDataset> {
  const split = options.split ?? "train";
  const mnist = await loadDataset("mnist", { split, dataDir: options.dataDir, log: options.log });
  const [h, w, n] = [28, 28, mnist.length];
  const random = prng(split === "train" ? 0x5eed : 0x7e57);
  const partner = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [partner[i], partner[j]] = [partner[j], partner[i]];
  }
  const colour = new Uint8Array(n * 3 * h * w);
  const colourLabels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const j = partner[i];
    colourise(random, mnist.images.subarray(j * h * w, (j + 1) * h * w), colour.subarray(i * 3 * h * w, (i + 1) * 3 * h * w), h, w);
    colourLabels[i] = mnist.labels![j];
  }
  const grey = { images: mnist.images, shape: [1, h, w], labels: mnist.labels };
  const rgb = { images: colour, shape: [3, h, w], labels: colourLabels };
  const [source, target] = reverse ? [grey, rgb] : [rgb, grey];
  return {
    ...mnist,
    name: `mnist-colour (${reverse ? "grey -> colour" : "colour -> grey"}, unpaired, ${split})`,
    images: target.images,
    imageShape: target.shape,
    labels: target.labels,
    sources: source.images,
    sourceShape: source.shape,
    sourceLabels: source.labels,
    targetDomain: reverse ? null : "mnist",
  };
}

/** Two folders of images, unpaired: the source folder's image i beside the target folder's image i mod its count, shuffled. */
export async function folderPair(sourceDir: string, targetDir: string, size: number, channels: 1 | 3, cache = true): Promise<TranslationDataset> {
  const a = await loadImageFolder(sourceDir, { size, channels, cache });
  const b = await loadImageFolder(targetDir, { size, channels, cache });
  if (a.length === 0 || b.length === 0) throw new DataError(`${a.length ? targetDir : sourceDir}: no images`);
  const n = Math.max(a.length, b.length);
  const per = channels * size * size;
  const random = prng(0xf01d);
  const pick = (d: ImageDataset, count: number) => {
    const order = Array.from({ length: count }, (_, i) => i % d.length);
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const out = new Uint8Array(count * per);
    order.forEach((k, i) => {
      out.set(d.images.subarray(k * per, (k + 1) * per), i * per);
    });
    return out;
  };
  return {
    name: `folder-pair (${sourceDir} -> ${targetDir}, unpaired)`,
    images: pick(b, n),
    imageShape: [channels, size, size],
    labels: null,
    numClasses: 0,
    length: n,
    source: `${sourceDir} (${a.length} images) and ${targetDir} (${b.length} images)`,
    sources: pick(a, n),
    sourceShape: [channels, size, size],
    sourceLabels: null,
    targetDomain: null,
  };
}
