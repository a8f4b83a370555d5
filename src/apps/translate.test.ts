// Image-to-image translation end to end: the datasets built from MNIST, a pix2pix run that
// learns, and `gantry translate` on files and on held-out data, with its errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "../engine/index.js";
import { mnistColour, mnistPairs } from "../data/translation.js";
import { readIdx, writeIdx } from "../data/idx.js";
import { Trainer, createGan } from "../train/index.js";
import { pixelScores } from "./translate.js";
import { PNG } from "pngjs";
import { gantry, gantryOk, silentProgress, tinyFolder } from "../../test/helpers.js";

const tmp = () => mkdtempSync(join(tmpdir(), "gantry-translate-"));
const HW = 28 * 28;

test("mnist-pairs: each digit beside its inverse, its eroded and dilated stroke, its edge map", async () => {
  const inverted = await mnistPairs("inverted", false, { split: "test" });
  assert.deepEqual(inverted.sourceShape, [1, 28, 28]);
  assert.equal(inverted.sources.length, inverted.images.length);
  for (let i = 0; i < 5 * HW; i++) assert.equal(inverted.sources[i], 255 - inverted.images[i]);
  const eroded = await mnistPairs("eroded", false, { split: "test" });
  const dilated = await mnistPairs("dilated", false, { split: "test" });
  let thinner = 0;
  for (let i = 0; i < 100 * HW; i++) {
    assert.ok(eroded.sources[i] <= eroded.images[i] && eroded.images[i] <= dilated.sources[i], `pixel ${i}: eroded <= digit <= dilated`);
    if (eroded.sources[i] < eroded.images[i]) thinner++;
  }
  assert.ok(thinner > 1000, "erosion takes stroke away");
  const edges = await mnistPairs("edges", true, { split: "test" });
  // Reversed: the digit is the input and its edge map the target. Edges lie on the stroke's border:
  // none where the 3x3 neighbourhood is blank, and every one within a pixel of ink.
  let edgePixels = 0;
  for (let n = 0; n < 20; n++) {
    const digit = (y: number, x: number) => (y < 0 || x < 0 || y > 27 || x > 27 ? 0 : edges.sources[n * HW + y * 28 + x]);
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        const ink = [-1, 0, 1].some((dy) => [-1, 0, 1].some((dx) => digit(y + dy, x + dx) > 0));
        const edge = edges.images[n * HW + y * 28 + x];
        if (!ink) assert.equal(edge, 0, `image ${n} (${y}, ${x}): no edge far from ink`);
        if (edge > 64) edgePixels++;
      }
  }
  assert.ok(edgePixels > 20 * 40, `strong edges along every stroke (${edgePixels} in 20 digits)`);
  assert.equal(edges.targetDomain, null, "digit -> edges: the targets are not digits");
  assert.equal(inverted.targetDomain, "mnist");
});

test("mnist-colour: colourised digits unrelated to the grey ones beside them, the same on every build", async () => {
  const a = await mnistColour(false, { split: "test" });
  assert.deepEqual(a.sourceShape, [3, 28, 28]);
  assert.deepEqual(a.imageShape, [1, 28, 28]);
  assert.equal(a.sources.length, a.length * 3 * HW);
  const differentClass = Array.from({ length: 200 }, (_, i) => a.sourceLabels![i] !== a.labels![i]).filter(Boolean).length;
  assert.ok(differentClass > 150, `unpaired: most inputs are of another class than their neighbour target (${differentClass}/200)`);
  const grey = (i: number, c: number) => a.sources[c * HW + i];
  let coloured = 0;
  for (let i = 0; i < HW; i++) if (grey(i, 0) !== grey(i, 1) || grey(i, 1) !== grey(i, 2)) coloured++;
  assert.ok(coloured > HW / 2, "the backgrounds are in colour");
  const b = await mnistColour(false, { split: "test" });
  assert.deepEqual(b.sources.subarray(0, 3 * HW), a.sources.subarray(0, 3 * HW), "seeded: the same dataset on every machine");
  const reversed = await mnistColour(true, { split: "test" });
  assert.deepEqual(reversed.imageShape, [3, 28, 28]);
  assert.equal(reversed.targetDomain, null);
});

test("pix2pix learns: 60 steps on inverted digits bring the translation much closer to its target", async () => {
  const dir = join(tmp(), "run");
  const gan = createGan({
    preset: "edges2digits-pix2pix",
    data: { dataset: "mnist-pairs", transform: "inverted" },
    train: { steps: 60, batchSize: 16 },
    log: { every: 1, sampleEvery: 60, checkpointEvery: 1000, evalEvery: 60, evalCount: 100 },
  });
  const trainer = await Trainer.create(gan, { runDir: dir, progress: silentProgress() });
  await trainer.run();
  trainer.dispose();
  const lines = readFileSync(join(dir, "stats.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { step: number; reconstruction?: number; eval?: Record<string, number> });
  const records = lines.filter((r) => !r.eval);
  // The periodic evaluation of a translation run: held-out inputs against their targets.
  const scored = lines.find((r) => r.eval)?.eval;
  assert.ok(scored, "an evaluation record at step 60");
  for (const k of ["l1", "psnr", "classKept", "fid"]) assert.ok(Number.isFinite(scored[k]), `eval.${k}: ${scored[k]}`);
  const first = records[0].reconstruction!;
  const last = records.slice(-5).reduce((s, r) => s + r.reconstruction!, 0) / 5;
  assert.ok(last < first / 2, `L1 to the target fell from ${first.toFixed(3)} to ${last.toFixed(3)}`);
  assert.ok(existsSync(join(dir, "samples", "step-00000060.png")), "a grid of inputs, translations and targets");
});

test("pixel scores: L1 and PSNR in [0, 1] pixel units", () => {
  E.tidy(() => {
    const target = E.zeros([2, 1, 4, 4]);
    const { l1, psnr } = pixelScores(E.full([2, 1, 4, 4], 0.2), target); // 0.1 off in [0, 1] units
    assert.ok(Math.abs(l1 - 0.1) < 1e-6, `l1 ${l1}`);
    assert.ok(Math.abs(psnr - 20) < 1e-4, `psnr ${psnr}: 10 log10(1 / 0.01)`);
  });
});

test("gantry translate: IDX in and out, a grid, --evaluate against the references, and clear errors", () => {
  const root = tmp();
  const run = join(root, "p2p");
  gantryOk("train", "--preset", "edges2digits-pix2pix", "--steps", "2", "--batch-size", "8", "--out", run);
  const input = join(root, "in-images-idx3-ubyte");
  writeIdx(input, { data: Uint8Array.from({ length: 5 * HW }, (_, i) => (i * 37) % 256), shape: [5, 28, 28] });
  const out = join(root, "out");
  const log = gantryOk("translate", "--run", run, "--input", input, "--out", out);
  assert.match(log, /translated 5 images/);
  const translated = readIdx(join(out, "translated-images-idx3-ubyte.gz"));
  assert.deepEqual(translated.shape, [5, 28, 28]);
  assert.ok(existsSync(join(out, "grid.png")));

  const result = JSON.parse(gantryOk("translate", "--evaluate", "--run", run, "--count", "40", "--json").trim().split("\n").pop()!) as {
    count: number;
    translated: { l1: number; psnr: number; accuracy: number; fid: number };
    identity: { l1: number };
    targets: { accuracy: number };
  };
  assert.equal(result.count, 40);
  for (const v of [result.translated.l1, result.translated.psnr, result.translated.accuracy, result.translated.fid, result.identity.l1])
    assert.ok(Number.isFinite(v), JSON.stringify(result));
  assert.ok(result.targets.accuracy > 0.9, "the real digits are classified right: the reference column");

  const sample = gantry("sample", "--run", run, "--out", join(root, "s.png"));
  assert.equal(sample.code, 2);
  assert.match(sample.err, /translates images .* gantry translate --run RUN --input IMAGES runs it/);
  const toy = join(root, "toy");
  gantryOk("train", "--preset", "toy-ring8", "--steps", "2", "--out", toy);
  const noise = gantry("translate", "--run", toy, "--input", input, "--out", out);
  assert.equal(noise.code, 2);
  assert.match(noise.err, /generates from noise, it does not translate images/);
  const wrong = gantry("train", "--preset", "edges2digits-pix2pix", "--set", "model.generator.name=dcgan", "--steps", "1", "--out", join(root, "x"));
  assert.equal(wrong.code, 2);
  assert.match(wrong.err, /use a translating generator, unet or resnet; got dcgan/);
});

test("CycleGAN between two folders of your own images: train, translate a folder of PNGs, and the missing-folder error", () => {
  const root = tmp();
  const [a, b] = [tinyFolder(), tinyFolder()];
  const run = join(root, "cyc");
  const folders = ["--dataset", "folder-pair", "--data-dir", a, "--set", "data.imageSize=32"];
  gantryOk("train", "--preset", "colour2grey-cyclegan", ...folders, "--target-dir", b, "--steps", "2", "--batch-size", "4", "--out", run);
  const out = join(root, "out");
  gantryOk("translate", "--run", run, "--input", a, "--out", out);
  for (let i = 0; i < 8; i++) {
    const png = PNG.sync.read(readFileSync(join(out, "images", `img${i}.png`)));
    assert.deepEqual([png.width, png.height], [32, 32], "each input's translation, under its own name, at the run's size");
  }
  const missing = gantry("train", "--preset", "colour2grey-cyclegan", ...folders, "--steps", "1", "--out", join(root, "x"));
  assert.equal(missing.code, 2);
  assert.match(missing.err, /data.targetDir: is required for the folder-pair dataset: --target-dir DIR/);
});
