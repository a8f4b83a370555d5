// npm run bench:data — does the data ever stall folder-dcgan's step?
//   1. decoding: a folder of 20,000 64-px JPEGs (MNIST digits, enlarged and tinted; made once under
//      the system's temp folder) decoded by gantry's loader (sharp on libuv's thread pool, many
//      images at once) against the single-threaded jpeg-js + libtorch path it replaced, in images/s;
//      then the same folder read back from the decoded cache;
//   2. the stall: folder-dcgan's training step against the time its loader takes for a batch
//      (the dataset lives in memory, so a batch is one index_select), and the start-up decoding as
//      a share of the first epoch and of the preset's 25 epochs.
// The last line is JSON.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { getNumThreads, setNumThreads, tidy } from "../src/engine/index.js";
import { loadDataset, loadImageFolder } from "../src/data/index.js";
import { decodeImage, prepareImage } from "../src/data/image-folder.js";
import { createGan, Trainer } from "../src/train/index.js";
import { machineLine, median, scratchDir, silentProgress } from "./torch-worker.js";

const count = Number(process.env.BENCH_IMAGES ?? 20_000);
/** The JPEGs' side in pixels: 64, the case; larger sizes show the cost of users' photos. */
const side = Number(process.env.BENCH_SIDE ?? 64);
const steps = Number(process.env.BENCH_STEPS ?? 10);
const threads = Number(process.env.BENCH_THREADS ?? 2);
const silent = silentProgress();
const seconds = (start: number) => (performance.now() - start) / 1000;

/** The benchmark's folder: count RGB JPEGs, side x side (quality 90), made once and kept. */
async function jpegFolder(): Promise<string> {
  const dir = join(tmpdir(), `gantry-bench-jpegs-${count}-${side}px`);
  if (existsSync(dir) && readdirSync(dir).length === count) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const mnist = await loadDataset("mnist");
  const started = performance.now();
  let next = 0;
  const make = async () => {
    for (let i = next++; i < count; i = next++) {
      const digit = mnist.images.subarray((i % mnist.length) * 784, ((i % mnist.length) + 1) * 784);
      const rgb = Buffer.alloc(28 * 28 * 3);
      for (let p = 0; p < 784; p++) {
        rgb[3 * p] = digit[p];
        rgb[3 * p + 1] = (digit[p] * ((i * 37) % 256)) >> 8;
        rgb[3 * p + 2] = 255 - digit[p];
      }
      const jpeg = await sharp(rgb, { raw: { width: 28, height: 28, channels: 3 } })
        .resize(side, side)
        .jpeg({ quality: 90 })
        .toBuffer();
      writeFileSync(join(dir, `${String(i).padStart(6, "0")}.jpg`), jpeg);
    }
  };
  await Promise.all(Array.from({ length: 16 }, make));
  console.log(`made ${count} JPEGs in ${dir} in ${seconds(started).toFixed(1)} s`);
  return dir;
}

async function main() {
  setNumThreads(threads);
  console.log(machineLine());
  const dir = await jpegFolder();
  const files = readdirSync(dir).sort();

  // 1. Decoding.
  const oldCount = Math.min(2000, count);
  let start = performance.now();
  for (const f of files.slice(0, oldCount)) prepareImage(decodeImage(join(dir, f)), 64, 3);
  const oldRate = oldCount / seconds(start);
  console.log(`jpeg-js + libtorch (before), 1 thread: ${oldRate.toFixed(0)} images/s (first ${oldCount})`);
  start = performance.now();
  await loadImageFolder(dir, { size: 64, cache: false });
  const decodeSeconds = seconds(start);
  console.log(`sharp (gantry's loader): ${count} images in ${decodeSeconds.toFixed(2)} s, ${(count / decodeSeconds).toFixed(0)} images/s`);
  const cacheDir = scratchDir();
  process.env.GANTRY_CACHE_DIR = cacheDir;
  await loadImageFolder(dir, { size: 64, cacheAfterMs: 0 });
  start = performance.now();
  await loadImageFolder(dir, { size: 64 });
  const cachedSeconds = seconds(start);
  console.log(`read back from the decoded cache: ${cachedSeconds.toFixed(2)} s`);

  // 2. The stall. The trainer opens the folder as a run does (from the cache made above).
  const gan = createGan({ preset: "folder-dcgan", data: { dataDir: dir }, train: { steps: 1_000_000 } });
  const trainer = await Trainer.create(gan, { runDir: scratchDir(), progress: silent });
  trainer.stepOnce();
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    trainer.stepOnce();
    stepMs.push(performance.now() - t);
  }
  const batchMs: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    tidy(() => {
      trainer.data.next();
    });
    batchMs.push(performance.now() - t);
  }
  const [step, batch] = [median(stepMs), median(batchMs)];
  const epochSeconds = (trainer.data.batchesPerEpoch * step) / 1000;
  const stall = batch / step;
  console.log(
    `folder-dcgan (${getNumThreads()} threads): step ${step.toFixed(1)} ms, of which the loader's batch ${batch.toFixed(3)} ms (${(100 * stall).toFixed(3)}%)`,
  );
  console.log(
    `start-up decoding ${decodeSeconds.toFixed(1)} s against an epoch of ${epochSeconds.toFixed(0)} s: ${((100 * decodeSeconds) / (decodeSeconds + epochSeconds)).toFixed(2)}% of the first epoch, ${((100 * decodeSeconds) / (decodeSeconds + 25 * epochSeconds)).toFixed(2)}% of the preset's 25`,
  );
  console.log(
    JSON.stringify({
      images: count,
      side,
      decode_images_per_s: { before_jpegjs_1_thread: +oldRate.toFixed(0), sharp: +(count / decodeSeconds).toFixed(0) },
      decode_s: +decodeSeconds.toFixed(2),
      cached_load_s: +cachedSeconds.toFixed(2),
      step_ms: +step.toFixed(1),
      batch_ms: +batch.toFixed(3),
      stall_share: +stall.toFixed(5),
      startup_share_first_epoch: +(decodeSeconds / (decodeSeconds + epochSeconds)).toFixed(4),
      startup_share_25_epochs: +(decodeSeconds / (decodeSeconds + 25 * epochSeconds)).toFixed(4),
      threads: getNumThreads(),
    }),
  );
}

await main();
