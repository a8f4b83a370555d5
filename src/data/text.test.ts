// Text data and its scores: reading and filtering items, the fixed held-out split, one-hot encoding
// and decoding, n-gram divergences, the n-gram baseline, and what the CLI does with text runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "../engine/index.js";
import { PAD, corpusDataset, decodeSequences, fileSource, isHeldOut, openTextCorpus, textSources } from "./text.js";
import { dataSchema, dataShapeOf } from "./registry.js";
import { jsd, ngramCounts, ngramModel, textScores } from "../metrics/text.js";
import { DataError } from "../errors.js";
import { gantry, gantryOk } from "../../test/helpers.js";

const tmp = () => mkdtempSync(join(tmpdir(), "gantry-text-"));
const letters = "abcdefghijklmnopqrstuvwxyz";

test("a text file: lowercased, blank lines dropped, foreign characters and long items skipped and said", () => {
  const file = join(tmp(), "items.txt");
  writeFileSync(file, "Anna\r\nbob\n\nJosé\nbartholomew-the-great\nbob\n");
  const said: string[] = [];
  const corpus = openTextCorpus(fileSource(file), { alphabet: `${letters}-`, maxLength: 8, lowercase: true }, (m) => said.push(m));
  assert.deepEqual([...corpus.train, ...corpus.heldOut].sort(), ["anna", "bob"], "unique, lowercased");
  assert.equal(corpus.vocabulary, `${PAD}${letters}-`);
  assert.match(said.join("\n"), /skipped 1 item\(s\) with characters outside data\.alphabet .* line 4 "josé" has "é"/);
  assert.match(said.join("\n"), /skipped 1 item\(s\) longer than data\.maxLength 8, e\.g\. line 5 "bartholomew-the-great"/);
});

test("an empty, missing or unusable text file is a DataError naming it", () => {
  const dir = tmp();
  writeFileSync(join(dir, "empty.txt"), "");
  writeFileSync(join(dir, "foreign.txt"), "ß\nüü\n");
  const open = (name: string) => openTextCorpus(fileSource(join(dir, name)), { alphabet: letters, maxLength: 8, lowercase: true });
  assert.throws(
    () => open("empty.txt"),
    (e) => e instanceof DataError && /empty\.txt: no items to train on/.test(e.message),
  );
  assert.throws(
    () => open("foreign.txt"),
    (e) => e instanceof DataError && /no items to train on .*2 with characters outside the alphabet/.test(e.message),
  );
  assert.throws(
    () => open("none.txt"),
    (e) => e instanceof DataError && /none\.txt does not exist/.test(e.message),
  );
});

test("the packaged names: about 8,400 unique, a tenth held out by a hash of the item, the same on every run", () => {
  const corpus = openTextCorpus(textSources.names, { alphabet: `${letters}-`, maxLength: 12, lowercase: true });
  const total = corpus.train.length + corpus.heldOut.length;
  assert.ok(total > 8000 && total < 8500, `${total} names`);
  assert.ok(Math.abs(corpus.heldOut.length / total - 0.1) < 0.02, `${corpus.heldOut.length} held out`);
  assert.ok(corpus.heldOut.every(isHeldOut) && !corpus.train.some(isHeldOut));
  assert.deepEqual(dataShapeOf(dataSchema.parse({ dataset: "names" })), { dataShape: [28, 12], numClasses: 0, vocabulary: `${PAD}${letters}-` });
});

test("one-hot sequences scaled as the loader scales them decode back to the items", () => {
  const corpus = { name: "t", source: "t", train: ["abc", "z", "hello-you"], heldOut: [], vocabulary: `${PAD}${letters}-`, maxLength: 9 };
  const data = corpusDataset(corpus);
  assert.deepEqual(data.imageShape, [28, 9]);
  E.tidy(() => {
    const x = E.tensor(data.images, { dtype: "uint8", shape: [3, 28, 9] })
      .to({ dtype: "float32" })
      .div(127.5)
      .sub(1);
    assert.deepEqual(decodeSequences(x, corpus.vocabulary), corpus.train);
  });
});

test("n-gram JSD is 0 for the same items and 1 for disjoint ones; the scores count memorized and novel-valid samples", () => {
  assert.equal(jsd(ngramCounts(["anna", "bob"], 2), ngramCounts(["bob", "anna"], 2)), 0);
  assert.equal(jsd(ngramCounts(["aa"], 1), ngramCounts(["bb"], 1)) > 0.3, true);
  assert.equal(jsd(new Map([["x", 1]]), new Map([["y", 3]])), 1);
  const s = textScores(["anna", "anna", "zed", "qqq"], { train: ["anna", "bob"], heldOut: ["zed"] });
  assert.equal(s.memorized, 0.5);
  assert.equal(s.novelValid, 0.25);
  assert.equal(s.novel, 0.5);
  assert.equal(s.unique, 0.75);
});

test("the n-gram baseline samples items of the alphabet, up to the length, reproducibly; order 4 copies more than order 2", () => {
  const { train } = openTextCorpus(textSources.names, { alphabet: `${letters}-`, maxLength: 12, lowercase: true });
  const four = ngramModel(train, 4, 12).sample(2000, 1);
  assert.deepEqual(four, ngramModel(train, 4, 12).sample(2000, 1));
  assert.ok(four.every((s) => s.length <= 12 && /^[a-z-]*$/.test(s)));
  const copies = (items: string[]) => items.filter((s) => train.includes(s)).length;
  assert.ok(copies(four) > copies(ngramModel(train, 2, 12).sample(2000, 1)));
});

test("text runs through the CLI: train a text file, sample prints text, eval prints the n-gram table", () => {
  const dir = tmp();
  const file = join(dir, "pets.txt");
  writeFileSync(file, `${["rex", "fido", "bella", "max", "luna", "coco", "milo", "nala", "oscar", "ruby"].join("\n")}\n`);
  const run = join(dir, "run");
  gantryOk("train", "--preset", "names-wgan-gp", "--dataset", "text-file", "--data-file", file, "--steps", "3", "--batch-size", "4", "--out", run);
  assert.equal(readFileSync(join(run, "reals.txt"), "utf8").trim().split("\n").length, 4, "a batch of real items, a line each");
  const printed = gantryOk("sample", "--run", run, "--count", "7");
  assert.equal(printed.split("\n").length, 8, "seven lines and the final newline");
  assert.match(printed, /^[a-z' .-]*$/m);
  const report = JSON.parse(gantryOk("eval", "--run", run, "--count", "200", "--json"));
  assert.equal(report.samples.count, 200);
  assert.deepEqual(
    report.baselines.map((b: { order: number }) => b.order),
    [2, 4],
  );
  assert.ok(report.floor.memorized === 1 && report.samples.jsd[4] >= 0);
  const png = gantry("sample", "--run", run, "--format", "png", "--out", join(dir, "x.png"));
  assert.equal(png.code, 2);
  assert.match(png.err, /--format: this generator makes text: use --format txt/);
});
