// The dashboard's playground: the server runs a run's generator (its export, else its newest
// checkpoint, reloaded when a newer one appears) without gradients and returns a PNG. A grid is
// drawn from a seed; with a second seed and t in [0, 1] each sample walks the great circle
// between the two seeds' noise (slerp, which keeps Gaussian noise at its usual norm).
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Tensor, noGrad, randn, tensor, tidy, withSeed } from "../engine/index.js";
import { generatorOfRun, type LoadedGenerator } from "../train/index.js";
import { listCheckpoints } from "../train/checkpoint.js";
import { samplesPng } from "../train/samples.js";
import { ConfigError } from "../errors.js";

export interface PlaygroundRequest {
  seed: number;
  /** A second seed to interpolate towards, and how far (0..1). */
  to?: number;
  t?: number;
  /** For conditional generators: draw only this class (else one row per class). */
  classLabel?: number;
}

/** A stamp that changes when the file a run's generator comes from (generatorOfRun) does; null if there is none. */
function generatorStamp(runDir: string): string | null {
  const exported = join(runDir, "generator.safetensors");
  if (existsSync(exported)) return `export:${statSync(exported).mtimeMs}`;
  const newest = listCheckpoints(join(runDir, "checkpoints"))
    .filter((c) => c.step >= 0)
    .pop();
  return newest ? `checkpoint:${newest.path}` : null;
}

export class Playground {
  readonly #loaded = new Map<string, { stamp: string; generator: LoadedGenerator }>();

  /** The generator of a run, loaded once per export or checkpoint. */
  generator(runDir: string): LoadedGenerator {
    const stamp = generatorStamp(runDir);
    if (!stamp) throw new ConfigError([{ path: runDir, message: "has no generator yet: no export and no checkpoint" }]);
    const cached = this.#loaded.get(runDir);
    if (cached?.stamp === stamp) return cached.generator;
    const generator = generatorOfRun(runDir);
    for (const p of cached?.generator.G.parameters() ?? []) p.dispose();
    this.#loaded.set(runDir, { stamp, generator });
    return generator;
  }

  /** A PNG of samples from the run's generator. */
  render(runDir: string, request: PlaygroundRequest): Buffer {
    const { G, shape } = this.generator(runDir);
    if (shape.source)
      throw new ConfigError([{ path: runDir, message: "translates images (pix2pix, CycleGAN): its sample grids show it; gantry translate runs it" }]);
    const points = shape.dataShape.length === 1;
    const conditional = shape.numClasses > 0;
    if (request.classLabel !== undefined) {
      if (!conditional) throw new ConfigError([{ path: "class", message: "this generator is not conditional" }]);
      if (!Number.isInteger(request.classLabel) || request.classLabel < 0 || request.classLabel >= shape.numClasses)
        throw new ConfigError([{ path: "class", message: `must be an integer from 0 to ${shape.numClasses - 1}` }]);
    }
    const n = points ? 2000 : conditional && request.classLabel === undefined ? shape.numClasses * 10 : 64;
    // The same draw as training's noise: the engine's randn under the seed.
    const noise = (seed: number) => withSeed(seed, () => tidy(() => Float32Array.from(randn([n, shape.latentDim]).toArray())));
    let z: Float32Array = noise(request.seed);
    if (request.to !== undefined) z = slerpRows(z, noise(request.to), Math.min(1, Math.max(0, request.t ?? 0)), shape.latentDim);
    return noGrad(() =>
      tidy(() => {
        const zt = tensor(z, { shape: [n, shape.latentDim] });
        let labels: Tensor | undefined;
        if (conditional) {
          const ids = Int32Array.from({ length: n }, (_, i) => request.classLabel ?? Math.floor(i / 10) % shape.numClasses);
          labels = tensor(ids, { shape: [n] }).to({ dtype: "int64" });
        }
        // One row per class only when every class is drawn.
        return samplesPng(G.forward(zt, labels), { ...shape, numClasses: request.classLabel === undefined ? shape.numClasses : 0 });
      }),
    );
  }

  dispose(): void {
    for (const { generator } of this.#loaded.values()) for (const p of generator.G.parameters()) p.dispose();
    this.#loaded.clear();
  }
}

/** Row by row, the point a fraction t along the great circle from a to b (rows of length d). */
export function slerpRows(a: Float32Array, b: Float32Array, t: number, d: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < a.length; r += d) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = r; i < r + d; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb || 1))));
    const so = Math.sin(omega);
    // Nearly parallel rows: the straight line is the same path.
    const [wa, wb] = so < 1e-6 ? [1 - t, t] : [Math.sin((1 - t) * omega) / so, Math.sin(t * omega) / so];
    for (let i = r; i < r + d; i++) out[i] = wa * a[i] + wb * b[i];
  }
  return out;
}
