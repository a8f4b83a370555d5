// The CLI under the failures of issue 9, each from its reproduction: signals, a second trainer,
// a full or read-only disk, damaged run files, --set and its typos, exit codes and GANTRY_DEBUG.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../test/helpers.js";
import { listCheckpoints } from "../train/index.js";
import { loadSafetensors, saveSafetensors } from "../engine/index.js";
import { writeIdx } from "../data/idx.js";

const bin = join(repoRoot, "bin", "gantry.js");
const env = { ...process.env, CI: "1" };

function gantry(args: string[], extraEnv: Record<string, string> = {}): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { ...env, ...extraEnv } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** Runs gantry expecting exit 2 with one line of error naming `pattern`, and no stack. */
function userError(args: string[], pattern: RegExp): string {
  const r = gantry(args);
  assert.equal(r.code, 2, `gantry ${args.join(" ")} exited ${r.code}:\n${r.err}`);
  assert.match(r.err, pattern, `gantry ${args.join(" ")}`);
  assert.doesNotMatch(r.err, /^\s+at /m, "no stack trace for a user error");
  return r.err;
}

const tmp = () => mkdtempSync(join(tmpdir(), "gantry-hard-"));
const tiny = ["--preset", "mnist-mlp", "--batch-size", "8"];

/** Waits until `check` holds (polling), or fails after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("the issue's NaN reproduction: exit 2 at step 1, real flags in the hint, no checkpoint claimed or written", () => {
  const dir = join(tmp(), "r");
  const err = userError(
    [
      "train",
      "--preset",
      "mnist-mlp",
      "--loss",
      "least-squares",
      "--lr-g",
      "1e20",
      "--lr-d",
      "1e20",
      "--steps",
      "100",
      "--set",
      "log.every=1",
      "--set",
      "log.checkpointEvery=1",
      "--out",
      dir,
    ],
    /step 1: the [DG] loss is (NaN|-?Infinity); training stopped\. No checkpoint was written before this step: lower the learning rates \(--lr-g, --lr-d\)/,
  );
  assert.doesNotMatch(err, /hinge-sn|intact/);
  assert.equal(listCheckpoints(join(dir, "checkpoints")).length, 0);
});

test("SIGTERM and Ctrl-C write a checkpoint at the current step and exit 143 / 130; a second trainer on the run is refused", async () => {
  for (const [signal, code] of [
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const) {
    const dir = join(tmp(), "r");
    const child = spawn(
      process.execPath,
      [bin, "train", ...tiny, "--steps", "100000", "--set", "log.every=1", "--set", "log.checkpointEvery=100000", "--out", dir],
      { env },
    );
    let err = "";
    child.stderr.on("data", (c) => (err += c));
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    const stats = join(dir, "stats.jsonl");
    await until(() => existsSync(stats) && readFileSync(stats, "utf8").split("\n").length > 5, 60_000, "training to start");
    if (signal === "SIGTERM") userError(["train", "--resume", dir, "--steps", "100001"], new RegExp(`is being trained by process ${child.pid}`));
    child.kill(signal);
    assert.equal(await exited, code, err);
    const steps = listCheckpoints(join(dir, "checkpoints")).map((c) => c.step);
    assert.equal(steps.length, 1, `one checkpoint, at the step it stopped: ${steps}`);
    assert.ok(steps[0] >= 5);
    assert.ok(!existsSync(join(dir, "train.lock")), "the lock is released");
    const resumed = gantry(["train", "--resume", dir, "--steps", String(steps[0] + 2)]);
    assert.equal(resumed.code, 0, resumed.err);
    assert.match(resumed.out, new RegExp(`resumed .* at step ${steps[0]}`));
  }
});

test("--time-limit stops as Ctrl-C does, with exit 0 and a checkpoint to resume; a bad value names the flag", () => {
  const dir = join(tmp(), "r");
  const started = Date.now();
  const r = gantry(["train", "--preset", "toy-ring8", "--steps", "1000000", "--time-limit", "0.05", "--set", "log.checkpointEvery=1000000", "--out", dir]);
  assert.equal(r.code, 0, r.err);
  assert.ok(Date.now() - started < 60_000, "stopped near its 3 s limit, not after a million steps");
  assert.match(r.out, /the time limit \(--time-limit 0.05\) was reached: stopped at step (\d+)/);
  const steps = listCheckpoints(join(dir, "checkpoints")).map((c) => c.step);
  assert.equal(steps.length, 1, `one checkpoint, where it stopped: ${steps}`);
  assert.ok(steps[0] > 0 && steps[0] < 1_000_000);
  for (const bad of ["0", "-1", "soon", ""])
    userError(["train", ...tiny, `--time-limit=${bad}`, "--out", join(tmp(), "x")], /--time-limit: expected a positive number of minutes/);
});

test("--out on an existing run is refused and leaves it untouched; --overwrite starts afresh", () => {
  const dir = join(tmp(), "r");
  assert.equal(gantry(["train", ...tiny, "--steps", "2", "--out", dir]).code, 0);
  const before = readFileSync(join(dir, "stats.jsonl"), "utf8") + readFileSync(join(dir, "config.json"), "utf8");
  userError(["train", "--preset", "mnist-dcgan", "--steps", "1", "--out", dir], /already holds a run: continue it with --resume .*--overwrite/);
  assert.equal(readFileSync(join(dir, "stats.jsonl"), "utf8") + readFileSync(join(dir, "config.json"), "utf8"), before);
  const r = gantry(["train", "--preset", "mnist-dcgan", "--batch-size", "4", "--steps", "1", "--out", dir, "--overwrite"]);
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).preset, "mnist-dcgan");
});

/** Mounts a tmpfs with `options`; null where this machine does not allow it (not root). */
function tmpfs(options: string): string | null {
  const dir = tmp();
  return spawnSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]).status === 0 ? dir : null;
}
const canMount = process.getuid?.() === 0 && spawnSync("which", ["mount"]).status === 0;

test("a full disk and a read-only directory are one-line errors with exit 2, and earlier checkpoints survive", {
  skip: canMount ? false : "mounting a tmpfs needs root",
}, () => {
  const full = tmpfs("size=1m");
  assert.ok(full, "mount a 1 MiB tmpfs");
  try {
    // The first checkpoint of the tutorial's MLP (about 17 MB) cannot fit.
    userError(["train", ...tiny, "--steps", "3", "--out", join(full, "run")], /cannot write .*: the disk is full \(ENOSPC\)/);
    assert.equal(spawnSync("sh", ["-c", `ls -a ${full}/run/checkpoints | grep -c tmp`], { encoding: "utf8" }).stdout.trim(), "0", "no temp file left");
  } finally {
    spawnSync("umount", [full!]);
  }
  const ro = tmpfs("ro,size=1m");
  assert.ok(ro);
  try {
    userError(["train", ...tiny, "--steps", "1", "--out", join(ro, "run")], /cannot create the folder .*run: the file system is read-only \(EROFS\)/);
  } finally {
    spawnSync("umount", [ro!]);
  }
});

test("damaged run files: corrupt config.json, a null --config, bad RNG metadata in the only checkpoint", () => {
  const dir = join(tmp(), "r");
  assert.equal(gantry(["train", ...tiny, "--steps", "2", "--out", dir]).code, 0);
  const config = readFileSync(join(dir, "config.json"), "utf8");
  writeFileSync(join(dir, "config.json"), config.slice(0, 50));
  userError(["train", "--resume", dir, "--steps", "3"], /config\.json: is not valid JSON/);
  writeFileSync(join(dir, "config.json"), config);
  const nullConfig = join(tmp(), "null.json");
  writeFileSync(nullConfig, "null");
  userError(["train", "--config", nullConfig], /--config: .*null\.json must hold a JSON object of config fields.*it holds null/);
  const ckpt = join(dir, "checkpoints", "step-00000002.safetensors");
  const { tensors, metadata } = loadSafetensors(ckpt);
  const meta = JSON.parse(metadata.gantry);
  meta.rng = { cpu: "!!not base64!!" };
  saveSafetensors(ckpt, tensors, { gantry: JSON.stringify(meta) }, { digest: true });
  for (const t of Object.values(tensors)) t.dispose();
  userError(["train", "--resume", dir, "--steps", "3"], /no intact checkpoint to resume from:[\s\S]*RNG state for cpu is not base64/);
});

test("--set reaches any field; typos in keys and values are exit-2 errors that name them", () => {
  const dir = join(tmp(), "r");
  const r = gantry([
    "train",
    ...tiny,
    "--steps",
    "3",
    "--set",
    "train.emaDecay=0.9",
    "--set",
    "log.evalEvery=500",
    "--set",
    "train.gradClip=1",
    "--set",
    "model.generator.options.hidden=[32,64]",
    "--out",
    dir,
  ]);
  assert.equal(r.code, 0, r.err);
  const saved = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  assert.deepEqual([saved.train.emaDecay, saved.log.evalEvery, saved.train.gradClip, saved.model.generator.options.hidden], [0.9, 500, 1, [32, 64]]);
  userError(["train", "--set", "train.emaDcay=0.9"], /--set train\.emaDcay: unknown field \(did you mean 'emaDecay'\?\)/);
  userError(["train", "--set", "trian.steps=3"], /trian: unknown field \(did you mean 'train'\?\)/);
  userError(["train", "--set", "train.loop=fats"], /train\.loop: must be one of fast, tutorial, got "fats" \(did you mean 'fast'\?\)/);
  userError(["train", "--set", "model.generator.options.hidden=[-5]"], /model\.generator\.options\.hidden\.0: must be > 0, got -5/);
  userError(
    ["train", "--set", "model.generator.options.bogus=true"],
    /model\.generator\.options\.bogus: unknown field; expected one of hidden, output, batchNorm/,
  );
  userError(["train", "--set", "train.steps"], /--set: expected PATH=VALUE/);
  userError(["train", "--set", "data.imageSize=32"], /data\.imageSize: unknown field/);
});

test("exit codes: 2 for the user's mistakes, with the stack only under GANTRY_DEBUG=1", () => {
  const plain = gantry(["train", "--epochs", "2.5"]);
  assert.equal(plain.code, 2);
  assert.doesNotMatch(plain.err, /^\s+at /m);
  const debug = gantry(["train", "--epochs", "2.5"], { GANTRY_DEBUG: "1" });
  assert.equal(debug.code, 2);
  assert.match(debug.err, /^\s+at /m);
});

test("shapes are checked before the work starts: IDX images of the wrong size for training and for eval", () => {
  const data = tmp();
  writeIdx(join(data, "train-images-idx3-ubyte"), { data: new Uint8Array(16 * 100), shape: [16, 10, 10] });
  writeIdx(join(data, "train-labels-idx1-ubyte"), { data: new Uint8Array(16), shape: [16] });
  userError(
    ["train", ...tiny, "--steps", "1", "--data-dir", data, "--out", join(data, "r")],
    /its samples have shape 1x10x10, but mnist models expect 1x28x28/,
  );
  userError(["eval", "--samples", join(data, "train-images-idx3-ubyte")], /holds 10x10 images; the classifiers score 28x28 images/);
});

test("a PNG whose header declares 20000x20000 pixels is refused before decoding", () => {
  const dir = tmp();
  mkdirSync(join(dir, "imgs"));
  // A valid PNG signature and IHDR chunk declaring 20000x20000, then nothing: the file is tiny.
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(20000, 0);
  ihdr.writeUInt32BE(20000, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const chunk = Buffer.concat([Buffer.from([0, 0, 0, 13]), Buffer.from("IHDR"), ihdr, Buffer.alloc(4)]);
  writeFileSync(join(dir, "imgs", "huge.png"), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk]));
  const r = spawnSync(
    process.execPath,
    [
      "-e",
      `
    import(${JSON.stringify(join(repoRoot, "dist", "src", "data", "image-folder.js"))}).then(async ({ loadImageFolder }) => {
      try { await loadImageFolder(${JSON.stringify(join(dir, "imgs"))}, { size: 32 }); } catch (e) { console.log(e.message); }
      console.log("rss", process.memoryUsage().rss);
    });`,
    ],
    { encoding: "utf8" },
  );
  assert.match(r.stdout, /huge\.png \(its header declares 20000x20000 pixels, more than the 40 megapixels gantry decodes; shrink it first\)/);
  assert.ok(Number(/rss (\d+)/.exec(r.stdout)![1]) < 1e9, "decoding never started");
});

test("a batch or sample count that cannot fit in memory is refused with the estimate", () => {
  const dir = tmp();
  userError(
    ["train", "--preset", "toy-ring8", "--batch-size", "10000000", "--out", join(dir, "r")],
    /--batch-size \(train\.batchSize\): 10000000 needs about [\d.]+ GiB of memory/,
  );
  assert.ok(!existsSync(join(dir, "r")));
  assert.equal(gantry(["train", "--preset", "toy-ring8", "--steps", "1", "--out", join(dir, "t")]).code, 0);
  userError(["sample", "--run", join(dir, "t"), "--count", "2000000000", "--out", join(dir, "x.png")], /--count: 2000000000 needs about/);
});

test("after setup, the fashion presets find Fashion-MNIST without --data-dir", () => {
  const dir = join(tmp(), "r");
  const r = gantry(["train", "--preset", "fashion-dcgan", "--steps", "1", "--batch-size", "4", "--out", dir]);
  assert.equal(r.code, 0, `run scripts/setup.sh first: ${r.err}`);
  assert.match(r.out, /fashion-mnist \(60000 images from .*fashion-mnist\)/);
});
