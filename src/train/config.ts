// A GAN run's configuration, declared once as a zod schema: the TypeScript types, validation with
// error paths, the defaults, the CLI's flags and help, the JSON Schema file and docs/config.md all
// come from it. Presets (presets.ts) are tables of overrides of these defaults.
//
// Why zod: one declaration gives the type (z.infer), the validation with paths, the defaults
// (.default) and a JSON Schema (z.toJSONSchema) without a second library, and it is the most used
// schema library on npm, with no dependencies of its own.
import { z } from "zod";
import { generators, discriminators, type ModelSpec } from "../models/index.js";
import { losses } from "../losses/index.js";
import { dataSchema } from "../data/registry.js";
import { parseWith } from "../util/schema.js";

/** model.generator / model.discriminator: a family's name and its own options, one schema per family. */
function familySchema(table: Record<string, { options: z.ZodType; description: string }>, what: string) {
  const options = Object.entries(table).map(([name, f]) =>
    z.strictObject({
      name: z.literal(name).describe(`the ${what} family: ${Object.keys(table).join(", ")}`),
      options: (f.options as z.ZodObject).prefault({}).describe(`options of the ${name} ${what}`),
    }),
  );
  return z.discriminatedUnion("name", options as unknown as [z.ZodObject, ...z.ZodObject[]]) as unknown as z.ZodType<Required<ModelSpec>, ModelSpec>;
}

const positiveInt = z.int().positive();
const rate = z.number().positive().finite();
const cadence = (what: string, off: string, fallback: number) => z.int().nonnegative().default(fallback).describe(`${what}; 0 ${off}`);

/** One resume of a run, recorded in its config.json by gantry. */
const resumeRecord = z.strictObject({
  step: z.int().nonnegative().describe("the step the run resumed at"),
  time: z.string().describe("when, as an ISO date"),
  changes: z.record(z.string(), z.unknown()).describe("the fields changed at this resume, by path, with their new values"),
});

export const configSchema = z.strictObject({
  preset: z.string().nullable().default(null).describe("the preset this config started from, or null"),
  data: dataSchema.prefault({ dataset: "mnist" }).describe("the dataset and its own options"),
  model: z
    .strictObject({
      latentDim: positiveInt.max(65536).default(100).describe("size of the noise vector z"),
      conditional: z.boolean().default(false).describe("feed class labels to G (and to D, unless D predicts them)"),
      codes: z
        .strictObject({
          categorical: z.int().min(0).max(100).default(0).describe("values of InfoGAN's categorical code (10 for MNIST's digits); 0 for none"),
          continuous: z.int().min(0).max(16).default(0).describe("InfoGAN's continuous codes, each uniform in [-1, 1]; 0 for none"),
        })
        .prefault({})
        .describe(
          "InfoGAN's structured latent codes (Chen et al. 2016), fed to G beside the noise; D's extra head Q predicts them back, and the mutual-information term rewards G for making them readable",
        ),
      pack: z
        .int()
        .min(1)
        .max(16)
        .default(1)
        .describe("PacGAN: D judges this many samples at once, concatenated (Lin et al. 2018); the batch size must be a multiple; 1 for off"),
      generator: familySchema(generators, "generator").prefault({ name: "mlp" }),
      discriminator: familySchema(discriminators, "discriminator").prefault({ name: "mlp" }),
      init: z
        .string()
        .min(1)
        .nullable()
        .default(null)
        .describe(
          "start from trained weights instead of random ones (fine-tuning): a shipped pretrained model (gantry list), a pretrained .safetensors file, or a run directory; G and D must have the same architecture",
        )
        .meta({ flag: "init" }),
      initD: z
        .boolean()
        .default(true)
        .describe(
          "with model.init: start D from the trained weights too; false keeps D's random ones (across datasets a trained D outruns G: docs/challenges.md)",
        ),
    })
    .prefault({}),
  loss: z
    .strictObject({
      name: z
        .enum(Object.keys(losses) as [keyof typeof losses, ...(keyof typeof losses)[]])
        .default("non-saturating")
        .describe("the adversarial loss")
        .meta({ flag: "loss" }),
      realLabel: z.number().gt(0).lte(1).default(1).describe("D's target for real data: 1, or 0.9 for one-sided label smoothing"),
      penaltyWeight: rate
        .nullable()
        .default(null)
        .describe(
          "the gradient penalty's weight: WGAN-GP's and DRAGAN's lambda, R1's gamma (default 10), WGAN-div's k (default 2); null for the loss's default",
        ),
      gamma: z
        .number()
        .gt(0)
        .lte(1)
        .default(0.5)
        .describe("BEGAN's diversity ratio: the fake/real reconstruction-error balance it holds (lower: sharper, less diverse)"),
      margin: z.number().positive().finite().default(1).describe("EBGAN's margin m: D pushes fakes' energy up to m"),
      pullAway: z.number().nonnegative().finite().default(0.1).describe("EBGAN's pulling-away term weight in G's loss; 0 for off"),
      auxWeight: z.number().nonnegative().finite().default(1).describe("weight of the auxiliary classifier's cross entropy (AC-GAN)"),
      infoWeight: z
        .tuple([z.number().nonnegative().finite(), z.number().nonnegative().finite()])
        .default([1, 0.1])
        .describe("InfoGAN: the weights of the categorical code's cross entropy and of the continuous codes' squared error in G's and D's losses"),
      l1Weight: z
        .number()
        .nonnegative()
        .finite()
        .default(100)
        .describe("pix2pix: the weight of the L1 distance to the target in G's loss (lambda, 100 in the paper)"),
      cycleWeight: z
        .number()
        .nonnegative()
        .finite()
        .default(10)
        .describe("CycleGAN: the weight of the cycle-consistency L1 loss, A -> B -> A and B -> A -> B (lambda, 10 in the paper)"),
      identityWeight: z
        .number()
        .nonnegative()
        .finite()
        .default(0.5)
        .describe("CycleGAN: the identity loss's weight relative to cycleWeight (0.5 in the paper); used only when both domains have the same channels"),
      penaltyEvery: positiveInt
        .max(1000)
        .default(1)
        .describe(
          "apply the gradient penalty (WGAN-GP, R1) every this many D steps, scaled by it: lazy regularization (StyleGAN2 uses 16 for R1); 1 for every step",
        ),
    })
    .prefault({}),
  train: z
    .strictObject({
      epochs: positiveInt.default(100).describe("passes over the data; ignored when steps is set").meta({ flag: "epochs" }),
      steps: positiveInt.nullable().default(null).describe("total D steps; null to train for epochs").meta({ flag: "steps" }),
      batchSize: positiveInt.default(64).describe("images per batch").meta({ flag: "batch-size" }),
      lrG: rate.default(2e-4).describe("G's learning rate (Adam)").meta({ flag: "lr-g" }),
      lrD: rate.default(2e-4).describe("D's learning rate (Adam)").meta({ flag: "lr-d" }),
      betas: z
        .tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)])
        .default([0.5, 0.999])
        .describe("Adam's betas for both nets"),
      nCritic: positiveInt.default(1).describe("D steps per G step (5 for WGAN-GP)"),
      loop: z
        .enum(["fast", "tutorial"])
        .default("fast")
        .describe(
          "fast: one G forward reused for G's step, real and fake through D together when D has no BatchNorm; tutorial: the tutorial's loop, step for step",
        )
        .meta({ flag: "loop" }),
      schedule: z.enum(["constant", "linear", "cosine"]).default("constant").describe("learning-rate schedule over the run"),
      seed: z.int().nonnegative().default(0).describe("random seed for weights, noise and data order").meta({ flag: "seed" }),
      device: z
        .string()
        .regex(/^(cpu|cuda(:\d+)?)$/, "must be cpu, cuda or cuda:N")
        .default("cpu")
        .describe("cpu, cuda or cuda:N")
        .meta({ flag: "device" }),
      emaDecay: z
        .number()
        .gt(0)
        .lt(1)
        .nullable()
        .default(null)
        .describe("decay of an EMA copy of G (e.g. 0.999), used for grids, eval and export; null for none"),
      gradClip: rate.nullable().default(null).describe("clip both nets' gradient norm to this; null for none"),
      instanceNoise: z.number().nonnegative().finite().default(0).describe("std of Gaussian noise on D's inputs, annealed to 0; 0 for none"),
      diffAugment: z.boolean().default(false).describe("DiffAugment (translation and cutout) on everything D sees"),
      unrolledSteps: z
        .int()
        .min(0)
        .max(20)
        .default(0)
        .describe("Unrolled GAN (Metz et al. 2017): G's loss is taken against D after this many extra D steps, then D is restored; 0 for off"),
      topK: z
        .number()
        .gt(0)
        .max(1)
        .default(1)
        .describe(
          "top-k training (Sinha et al. 2020): G learns only from the fakes D rates most real, a share of each batch that starts at 1 and shrinks by 0.99 per epoch down to this (the paper: 0.5); 1 for off",
        ),
      syncBatchNorm: z
        .boolean()
        .default(false)
        .describe(
          "data-parallel runs (--nproc): BatchNorm's statistics over every rank's slice of the batch together, as one process computes them (--sync-bn); false: each rank's own, PyTorch DDP's default",
        ),
      rollback: z
        .strictObject({
          limit: z
            .int()
            .min(0)
            .max(100)
            .default(0)
            .describe("roll back to the last good checkpoint at most this many times when training diverges; 0 stops instead"),
          lrScale: z.number().gt(0).lt(1).default(0.5).describe("multiply both learning rates by this at each rollback"),
          patience: z
            .int()
            .min(0)
            .max(1000)
            .default(5)
            .describe("log records in a row with D(x) > 0.99 and D(G(z)) < 0.01 (D has won) that count as divergence; 0 for non-finite losses only"),
        })
        .prefault({})
        .describe("rolling back instead of stopping when training diverges"),
    })
    .prefault({}),
  log: z
    .strictObject({
      every: positiveInt
        .default(100)
        .describe(
          "steps between log lines and stats.jsonl records, counted within each epoch as the tutorial does (100), or over the run when longer than an epoch",
        ),
      sampleEvery: cadence(
        "steps between sample grids (also written at every epoch's end, except on toy data, whose epochs are 100 batches)",
        "for epoch ends only",
        0,
      ),
      checkpointEvery: positiveInt.default(1000).describe("steps between checkpoints (also written at the end and on Ctrl-C or SIGTERM)"),
      keepCheckpoints: positiveInt.default(3).describe("step checkpoints kept; older ones are deleted"),
      evalEvery: cadence(
        "steps between evaluations (FID, KID, classes covered; modes captured on the toy sets; L1, PSNR, class kept and FID for translation), appended to stats.jsonl, keeping the best checkpoint",
        "for none",
        0,
      ),
      evalCount: z.int().min(100).max(1_000_000).default(2000).describe("samples per evaluation"),
    })
    .prefault({}),
  resumes: z.array(resumeRecord).default([]).describe("written by gantry: each resume of the run and what it changed"),
});

/** A resolved, validated config: every field present. */
export type GanConfig = z.output<typeof configSchema>;
/** What a user may write: any subset of the fields, validated when resolved. */
export type ConfigInput = z.input<typeof configSchema>;

export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
/** Config overrides as presets, files, flags and the library give them. */
export type ConfigOverrides = DeepPartial<ConfigInput>;

/** The defaults: the schema applied to nothing. */
export const defaults: GanConfig = configSchema.parse({});

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The discriminating keys: an object that changes one of them is replaced whole, not merged. */
const discriminants = ["name", "dataset"];

/**
 * Overlays `over` on `base`: objects merge key by key, everything else replaces. Choosing another
 * model family or dataset replaces that object, so one family's options never leak into another.
 */
export function merge<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return (over === undefined ? base : over) as T;
  if (discriminants.some((k) => k in over && k in base && over[k] !== base[k])) return structuredClone(over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
  return out as T;
}

/** Validates a whole config; throws one ConfigError listing every issue by its path. */
export function validate(config: unknown): GanConfig {
  return parseWith(configSchema, config);
}
