// gantry augment: a classifier from few labels, with and without a GAN's help, scored on the
// whole test set (src/apps/augment.ts); --cas scores a conditional generator by how well a
// classifier trained on its samples alone does on real data.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defineCommand, numberFlag } from "./command.js";
import { ConfigError } from "../errors.js";
import { augmentMethods, augmentStudy, classificationAccuracyScore, type AugmentMethod, type AugmentResult } from "../apps/augment.js";
import { generatorOfRun, loadPretrainedGenerator } from "../train/index.js";
import { makeDir } from "../util/make-dir.js";

const datasets = ["mnist", "fashion-mnist"] as const;

function listFlag<T extends string>(raw: string | undefined, flag: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  if (raw === undefined) return [...fallback];
  const items = raw.split(",").map((s) => s.trim());
  const bad = items.find((m) => !(allowed as readonly string[]).includes(m));
  if (bad !== undefined || items.length === 0)
    throw new ConfigError([{ path: `--${flag}`, message: `expected a comma-separated list of ${allowed.join(", ")}, got '${raw}'` }]);
  return items as T[];
}

function oneOf<T extends string>(raw: string | undefined, flag: string, allowed: readonly T[], fallback: T): T {
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError([{ path: `--${flag}`, message: `must be ${allowed.join(" or ")}, got '${raw}'` }]);
  return raw as T;
}

function seedsFlag(raw: string | undefined): number[] {
  if (raw === undefined) return [0];
  const seeds = raw.split(",").map(Number);
  if (seeds.some((s) => !Number.isInteger(s) || s < 0))
    throw new ConfigError([{ path: "--seeds", message: `expected comma-separated non-negative integers, e.g. 0,1,2; got '${raw}'` }]);
  return seeds;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** Mean and (population) standard deviation of each method's accuracy over its seeds, as markdown rows. */
export function summarize(results: AugmentResult[]): string[] {
  const groups = new Map<string, AugmentResult[]>();
  for (const r of results) groups.set(`${r.method}|${r.labels}`, [...(groups.get(`${r.method}|${r.labels}`) ?? []), r]);
  const rows = ["| method | labels | seeds | test accuracy (mean ± sd) | minutes each (mean) |", "|---|---|---|---|---|"];
  for (const rs of groups.values()) {
    const accs = rs.map((r) => r.testAccuracy);
    const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
    const sd = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / accs.length);
    const minutes = rs.reduce((a, r) => a + r.minutes, 0) / rs.length;
    rows.push(
      `| ${rs[0].method} | ${rs[0].labels || "all (generated)"} | ${rs.map((r) => r.seed).join(", ")} | ${pct(mean)} ± ${(100 * sd).toFixed(2)} | ${minutes.toFixed(1)} |`,
    );
  }
  return rows;
}

export const augmentCommand = defineCommand({
  summary: "few labels, helped by a GAN: real-only vs real + cGAN samples vs a semi-supervised GAN, or --cas for a conditional generator",
  usage:
    "gantry augment --labels 100 [--methods real,gan,ssl] [--seeds 0,1,2] [--dataset mnist] [--out DIR]  |  gantry augment --cas --run RUN_DIR | --pretrained NAME [--seeds 0]",
  options: {
    labels: { type: "string", description: "labelled training images, the same number of each class, chosen by the seed (e.g. 100 or 1000)" },
    methods: {
      type: "string",
      description:
        "which to run, comma-separated: real (the classifier on the labelled images, with shifts), gan (plus a conditional GAN's samples), ssl (semi-supervised GAN); default all",
    },
    seeds: { type: "string", description: "comma-separated seeds, each choosing the labelled subset and all randomness; default 0" },
    dataset: { type: "string", description: "mnist or fashion-mnist; default mnist (or, with --cas, the generator's)" },
    "data-dir": { type: "string", description: "a folder holding the dataset's IDX files, as gantry train's --data-dir" },
    out: {
      type: "string",
      description:
        "where results.jsonl and the gan method's GAN runs go; finished (method, seed) pairs there are not run again; default runs/augment-DATASET-LABELS",
    },
    steps: { type: "string", description: "the classifier's Adam steps at batch 64 (real, gan, cas); default 2000" },
    "gan-preset": {
      type: "string",
      description: "gan: the conditional preset trained on the labelled images; default mnist-cgan (fashion-cgan on fashion-mnist)",
    },
    "gan-steps": { type: "string", description: "gan: its D steps; default 5000" },
    fraction: { type: "string", description: "gan: the share of each classifier batch that is generated; default 0.5" },
    "ssl-epochs": {
      type: "string",
      description: "ssl: passes over the unlabelled training set; default 25 (about 21 minutes on one core of an AMD EPYC beside another job)",
    },
    "time-limit": { type: "string", description: "ssl: stop its training after this many minutes" },
    "ssl-d": { type: "string", description: "ssl: D's family, mlp (the paper's, weight norm and Gaussian noise) or cnn; default mlp" },
    cas: {
      type: "boolean",
      description: "the classification accuracy score of --run or --pretrained: a classifier trained on its samples only, tested on real data",
    },
    run: { type: "string", description: "with --cas: a run directory of a conditional preset" },
    pretrained: { type: "string", description: "with --cas: a shipped pretrained conditional model or a .safetensors file" },
    json: { type: "boolean", description: "print each result as one JSON line instead of the table" },
  },
  async run(values) {
    const json = values.json === true;
    const log = json ? () => {} : (m: string) => console.log(m);
    const seeds = seedsFlag(values.seeds);
    const steps = numberFlag(values, "steps", { integer: true, min: 1 });
    const dataDir = values["data-dir"];
    if (values.dataset !== undefined) oneOf(values.dataset, "dataset", datasets, "mnist");
    const results: AugmentResult[] = [];
    const report = (r: AugmentResult) => {
      results.push(r);
      if (json) console.log(JSON.stringify(r));
      else log(`${r.method} (seed ${r.seed}): test accuracy ${pct(r.testAccuracy)} in ${r.minutes.toFixed(1)} min; ${r.detail}`);
    };

    if (values.cas) {
      if ((values.run === undefined) === (values.pretrained === undefined))
        throw new ConfigError([{ path: "--run/--pretrained", message: "with --cas, give exactly one of --run RUN_DIR and --pretrained NAME" }]);
      const { G, shape, card } = values.run !== undefined ? generatorOfRun(values.run) : loadPretrainedGenerator(values.pretrained!);
      const dataset = (values.dataset ?? card.dataset) as (typeof datasets)[number];
      if (!(datasets as readonly string[]).includes(dataset))
        throw new ConfigError([{ path: "--dataset", message: `CAS is measured on mnist or fashion-mnist; the generator was trained on ${dataset}` }]);
      for (const seed of seeds) report(await classificationAccuracyScore(G, shape, dataset, { steps, seed, dataDir, log }));
    } else {
      if (values.run !== undefined || values.pretrained !== undefined)
        throw new ConfigError([{ path: "--run/--pretrained", message: "are for --cas; the other methods train their own models from --labels" }]);
      const labels = numberFlag(values, "labels", { integer: true, min: 1 });
      if (labels === undefined) throw new ConfigError([{ path: "--labels", message: "is required: how many labelled training images, e.g. 100" }]);
      const dataset = (values.dataset ?? "mnist") as (typeof datasets)[number];
      const methods = listFlag<AugmentMethod>(values.methods, "methods", augmentMethods, augmentMethods);
      const out = values.out ?? join("runs", `augment-${dataset}-${labels}`);
      makeDir(out);
      const file = join(out, "results.jsonl");
      const done = existsSync(file)
        ? readFileSync(file, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as AugmentResult)
        : [];
      const options = {
        dataset,
        labels,
        classifierSteps: steps,
        ganPreset: values["gan-preset"] ?? (dataset === "mnist" ? "mnist-cgan" : "fashion-cgan"),
        ganSteps: numberFlag(values, "gan-steps", { integer: true, min: 1 }),
        fraction: numberFlag(values, "fraction", { min: 0 }),
        sslEpochs: numberFlag(values, "ssl-epochs", { integer: true, min: 1 }),
        sslMinutes: numberFlag(values, "time-limit", { min: 0 }),
        sslDiscriminator: oneOf(values["ssl-d"], "ssl-d", ["mlp", "cnn"] as const, "mlp"),
        dataDir,
        log,
      };
      for (const seed of seeds)
        for (const method of methods) {
          const before = done.find((r) => r.method === method && r.seed === seed && r.labels === labels && r.dataset === dataset);
          if (before) {
            log(`${method} (seed ${seed}): already in ${file}`);
            report(before);
            continue;
          }
          log(`${method} with ${labels} labels, seed ${seed}`);
          const result = await augmentStudy(method, { ...options, seed, workDir: join(out, `gan-seed${seed}`) });
          appendFileSync(file, `${JSON.stringify(result)}\n`);
          report(result);
        }
    }
    if (!json) {
      log("");
      for (const row of summarize(results)) log(row);
    }
  },
});
