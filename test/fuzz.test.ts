// Property tests (fast-check): truncated, bit-flipped and random IDX, PNG, JPEG, safetensors and
// checkpoint files, and random configs, fed to the loaders and the CLI. Every case either loads or
// ends in a typed gantry error: never a plain Error, a crash, a hang, or a stack. Bounded in runs
// and time so that it fits in CI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { GanError } from "../src/errors.js";
import { readIdx, writeIdx } from "../src/data/idx.js";
import { loadImageFolder } from "../src/data/image-folder.js";
import { loadSafetensors, liveTensors, ones, saveSafetensors } from "../src/engine/index.js";
import { createGan, loadCheckpoint, disposeState, validate, Trainer } from "../src/train/index.js";
import { repoRoot, silentProgress } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-fuzz-"));
const runs = Number(process.env.GANTRY_FUZZ_RUNS ?? 150);

/** A file made from a valid one: cut short, with bits flipped, or replaced by random bytes. */
const damaged = (valid: Uint8Array) =>
  fc.oneof(
    fc.integer({ min: 0, max: valid.length - 1 }).map((n) => valid.slice(0, n)),
    fc.array(fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }).map((flips) => {
      const copy = valid.slice();
      for (const [at, bit] of flips) copy[at] ^= 1 << bit;
      return copy;
    }),
    fc.uint8Array({ minLength: 0, maxLength: 512 }),
    // A valid prefix with random bytes after it: headers that parse, bodies that do not.
    fc
      .tuple(fc.integer({ min: 8, max: Math.min(64, valid.length) }), fc.uint8Array({ maxLength: 256 }))
      .map(([n, tail]) => Uint8Array.from([...valid.slice(0, n), ...tail])),
  );

/** Runs `load` on `bytes` written to a file; it must succeed or throw a GanError. */
function typedOrOk(name: string, bytes: Uint8Array, load: (path: string) => void): void {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  try {
    load(path);
  } catch (err) {
    if (!(err instanceof GanError)) assert.fail(`${name} (${bytes.length} bytes) threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
  }
}

const options = { numRuns: runs, interruptAfterTimeLimit: 60_000 };

test("IDX files: damaged or random bytes give a DataError, never a crash", () => {
  const path = join(dir, "valid-idx");
  writeIdx(path, { data: Uint8Array.from({ length: 4 * 28 * 28 }, (_, i) => i % 251), shape: [4, 28, 28] });
  const gz = join(dir, "valid-idx.gz");
  writeIdx(gz, { data: new Uint8Array(4 * 28 * 28), shape: [4, 28, 28] });
  for (const valid of [readFileSync(path), readFileSync(gz)]) {
    fc.assert(
      fc.property(damaged(valid), (bytes) => typedOrOk("case-idx", bytes, (p) => void readIdx(p))),
      options,
    );
  }
});

/** typedOrOk for an asynchronous loader. */
async function typedOrOkAsync(name: string, bytes: Uint8Array, load: (path: string) => Promise<unknown>): Promise<void> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  try {
    await load(path);
  } catch (err) {
    if (!(err instanceof GanError)) assert.fail(`${name} (${bytes.length} bytes) threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
  }
}

test("PNG and JPEG images: damaged files are reported by the image-folder loader, never a crash", async () => {
  const png = new PNG({ width: 20, height: 20 });
  png.data.fill(128);
  const validPng = PNG.sync.write(png);
  const validJpeg = jpeg.encode({ data: Buffer.alloc(20 * 20 * 4, 90), width: 20, height: 20 }, 80).data;
  for (const [ext, valid] of [
    ["png", validPng],
    ["jpg", validJpeg],
  ] as const) {
    const folder = join(dir, `img-${ext}`);
    mkdirSync(folder, { recursive: true });
    await fc.assert(
      fc.asyncProperty(damaged(new Uint8Array(valid)), (bytes) =>
        typedOrOkAsync(join(`img-${ext}`, `x.${ext}`), bytes, () => loadImageFolder(folder, { size: 32, cache: false })),
      ),
      { ...options, numRuns: Math.ceil(runs / 2) },
    );
  }
});

test("safetensors files: damaged or random bytes give a CheckpointError and leak no tensors", () => {
  const path = join(dir, "valid.safetensors");
  saveSafetensors(path, { a: ones([3, 4]), b: ones([2], { dtype: "int64" }) }, { note: "x" }, { digest: true });
  const valid = readFileSync(path);
  const live = liveTensors();
  fc.assert(
    fc.property(damaged(valid), (bytes) =>
      typedOrOk("case.safetensors", bytes, (p) => {
        for (const t of Object.values(loadSafetensors(p).tensors)) t.dispose();
      }),
    ),
    options,
  );
  assert.equal(liveTensors(), live, "every tensor of a failed load is freed");
});

test("checkpoints: damaged files and damaged metadata give a CheckpointError", async () => {
  const run = join(dir, "run");
  const trainer = await Trainer.create(createGan({ preset: "toy-ring8", train: { steps: 2 }, log: { checkpointEvery: 2 } }), {
    runDir: run,
    progress: silentProgress(),
  });
  await trainer.run();
  trainer.dispose();
  const valid = readFileSync(join(run, "checkpoints", "step-00000002.safetensors"));
  const load = (p: string) => disposeState(loadCheckpoint(p));
  fc.assert(
    fc.property(damaged(valid), (bytes) => typedOrOk("case-ckpt.safetensors", bytes, load)),
    { ...options, numRuns: Math.ceil(runs / 2) },
  );
  // Valid files whose gantry metadata is replaced by random JSON.
  const { tensors, metadata } = loadSafetensors(join(run, "checkpoints", "step-00000002.safetensors"));
  const meta = JSON.parse(metadata.gantry) as Record<string, unknown>;
  fc.assert(
    fc.property(fc.constantFrom(...Object.keys(meta)), fc.jsonValue(), (key, value) => {
      const path = join(dir, "meta.safetensors");
      saveSafetensors(path, tensors, { gantry: JSON.stringify({ ...meta, [key]: value }) }, { digest: true });
      typedOrOk("meta.safetensors", readFileSync(path), load);
    }),
    { ...options, numRuns: Math.ceil(runs / 2) },
  );
  for (const t of Object.values(tensors)) t.dispose();
});

/** Random config-shaped input: the real paths with random values, and random keys. */
const configLike = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      preset: fc.oneof(fc.constant("mnist-mlp"), fc.string()),
      data: fc.record(
        { dataset: fc.constantFrom("mnist", "folder", "ring8", "nope"), dataDir: fc.oneof(fc.string(), fc.constant(null)), imageSize: fc.integer() },
        { requiredKeys: [] },
      ),
      model: fc.record(
        {
          latentDim: fc.jsonValue(),
          generator: fc.record({ name: fc.constantFrom("mlp", "dcgan", "x"), options: fc.dictionary(fc.string(), fc.jsonValue()) }, { requiredKeys: [] }),
        },
        { requiredKeys: [] },
      ),
      train: fc.dictionary(fc.constantFrom("steps", "batchSize", "lrG", "betas", "emaDecay", "device", "bogus"), fc.jsonValue()),
      log: fc.dictionary(fc.string(), fc.jsonValue()),
    },
    { requiredKeys: [] },
  ),
);

test("random configs: validation accepts or gives a ConfigError, never anything else", () => {
  fc.assert(
    fc.property(configLike, (input) => {
      try {
        validate(input);
      } catch (err) {
        if (!(err instanceof GanError)) assert.fail(`${JSON.stringify(input)} threw ${(err as Error).constructor.name}: ${(err as Error).message}`);
      }
    }),
    { ...options, numRuns: runs * 4 },
  );
});

test("random config files through the real CLI: exit 0 or 2 with one line, never a stack", () => {
  fc.assert(
    fc.property(configLike, (input) => {
      const path = join(dir, "config.json");
      writeFileSync(path, JSON.stringify(input) ?? "null");
      const r = spawnSync(process.execPath, [join(repoRoot, "bin", "gantry.js"), "config", "--config", path], { encoding: "utf8", timeout: 30_000 });
      assert.ok(r.status === 0 || r.status === 2, `exit ${r.status} for ${JSON.stringify(input)}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /^\s+at |internal error/m, `a stack for ${JSON.stringify(input)}`);
    }),
    { numRuns: Math.max(10, Math.ceil(runs / 8)), interruptAfterTimeLimit: 60_000 },
  );
  rmSync(dir, { recursive: true, force: true });
});
