// Training progress as an animated GIF: every sample grid of a run, in training order, one frame
// each. gifenc (small, no dependencies, a well-known encoder) does the LZW; the palette is
// quantized once from the first, middle and last grids so that colours do not flicker.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import gifenc from "gifenc";
import { ConfigError } from "../errors.js";
import { WatchedRun } from "./runs.js";

export interface AnimateOptions {
  /** Frames per second; default 8. */
  fps?: number;
  /** Keep every n-th grid (the last always); default 1, every grid. */
  every?: number;
}

/** The run's sample grids as one animated GIF. */
export function animateRun(runDir: string, options: AnimateOptions = {}): { gif: Uint8Array; frames: number } {
  const run = new WatchedRun("run", runDir);
  run.poll();
  const every = Math.max(1, Math.floor(options.every ?? 1));
  const grids = run.grids.filter((_, i, all) => i % every === 0 || i === all.length - 1);
  if (!grids.length) throw new ConfigError([{ path: "--run", message: `${runDir} has no sample grids yet (samples/*.png)` }]);
  const images = grids.map((g) => {
    const path = join(run.path, "samples", g.name);
    try {
      return PNG.sync.read(readFileSync(path));
    } catch (err) {
      throw new ConfigError([{ path, message: `not a readable PNG (${(err as Error).message})` }], { cause: err });
    }
  });
  const { width, height } = images[0];
  const delay = Math.round(1000 / Math.max(0.1, options.fps ?? 8));
  const keyFrames = [images[0], images[Math.floor(images.length / 2)], images[images.length - 1]];
  const sampleBytes = Buffer.concat(keyFrames.map((p) => p.data));
  const palette = gifenc.quantize(sampleBytes, 256);
  const gif = gifenc.GIFEncoder();
  images.forEach((png, i) => {
    if (png.width !== width || png.height !== height)
      throw new ConfigError([{ path: join(run.path, "samples", grids[i].name), message: `is ${png.width}x${png.height}, the other grids ${width}x${height}` }]);
    gif.writeFrame(gifenc.applyPalette(png.data, palette), width, height, {
      // The first frame's palette is the global one; the others share it.
      ...(i === 0 ? { palette } : {}),
      delay: i === images.length - 1 ? delay * 10 : delay,
    });
  });
  gif.finish();
  return { gif: gif.bytes(), frames: images.length };
}
