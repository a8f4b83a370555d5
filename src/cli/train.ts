// gantry train: train a preset or a config file, or resume a run.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "./main.js";
import { numberFlag, requireDir } from "./main.js";
import { createGan, resolveConfig, Trainer, type DeepPartial, type GanConfig } from "../train/index.js";
import { ConfigError } from "../errors.js";

function readConfigFile(path: string): DeepPartial<GanConfig> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError([{ path: "--config", message: `cannot read ${path} (${(err as NodeJS.ErrnoException).code})` }], { cause: err });
  }
  try {
    return JSON.parse(text) as DeepPartial<GanConfig>;
  } catch (err) {
    throw new ConfigError([{ path: "--config", message: `${path} is not valid JSON: ${(err as Error).message}` }], { cause: err });
  }
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

export const train: Command = {
  summary: "train a GAN: a preset, a config file, or resume a run",
  usage: "gantry train --preset mnist-mlp [--epochs N | --steps N] [--out DIR] ...  |  gantry train --resume RUN_DIR [--steps N]",
  options: {
    preset: { type: "string" as const, description: "a preset (gantry list shows them); default mnist-mlp" },
    config: { type: "string" as const, description: "a JSON file of config overrides" },
    dataset: { type: "string" as const, description: "mnist, fashion-mnist, ring8, grid25 or folder" },
    "data-dir": { type: "string" as const, description: "a folder holding the dataset's IDX files" },
    epochs: { type: "string" as const, description: "passes over the data" },
    steps: { type: "string" as const, description: "total D steps (counted from the run's start when resuming)" },
    "batch-size": { type: "string" as const, description: "images per batch" },
    "lr-g": { type: "string" as const, description: "G's learning rate" },
    "lr-d": { type: "string" as const, description: "D's learning rate" },
    loss: { type: "string" as const, description: "minimax, non-saturating, least-squares, hinge, wasserstein, wgan-gp or r1" },
    loop: { type: "string" as const, description: "fast (default) or tutorial" },
    seed: { type: "string" as const, description: "random seed" },
    device: { type: "string" as const, description: "cpu, cuda or cuda:N" },
    out: { type: "string" as const, description: "the run directory; default runs/PRESET-TIMESTAMP" },
    resume: { type: "string" as const, description: "continue the run in this directory from its newest checkpoint" },
  },
  async run(values) {
    const overrides: DeepPartial<GanConfig> = { data: {}, train: {}, loss: {} };
    if (values.dataset !== undefined) overrides.data!.dataset = values.dataset as GanConfig["data"]["dataset"];
    if (values["data-dir"] !== undefined) overrides.data!.dataDir = values["data-dir"] as string;
    const t = overrides.train!;
    t.epochs = numberFlag(values, "epochs", { integer: true, min: 1 });
    t.steps = numberFlag(values, "steps", { integer: true, min: 1 });
    t.batchSize = numberFlag(values, "batch-size", { integer: true, min: 1 });
    t.lrG = numberFlag(values, "lr-g", { min: 0 });
    t.lrD = numberFlag(values, "lr-d", { min: 0 });
    t.seed = numberFlag(values, "seed", { integer: true, min: 0 });
    if (values.loop !== undefined) t.loop = values.loop as GanConfig["train"]["loop"];
    if (values.device !== undefined) t.device = values.device as string;
    if (values.loss !== undefined) overrides.loss!.name = values.loss as GanConfig["loss"]["name"];

    let runDir: string;
    let config: GanConfig;
    if (values.resume !== undefined) {
      runDir = requireDir(values.resume as string, "--resume");
      if (values.preset || values.config) throw new ConfigError([{ path: "--resume", message: "takes its config from the run; drop --preset and --config" }]);
      const saved = JSON.parse(readFileSync(join(runDir, "config.json"), "utf8")) as GanConfig;
      config = resolveConfig(saved.preset, { ...saved, ...{ data: { ...saved.data, ...overrides.data }, train: { ...saved.train, ...definedOnly(t) } } });
    } else {
      const file = values.config ? readConfigFile(values.config as string) : {};
      const preset = (values.preset as string | undefined) ?? (file.preset as string | undefined) ?? (values.config ? null : "mnist-mlp");
      config = resolveConfig(preset, merge2(file, overrides));
      runDir = (values.out as string | undefined) ?? join("runs", `${config.preset ?? "custom"}-${timestamp()}`);
    }
    const gan = createGan(config);
    const trainer = await Trainer.create(gan, { runDir, resume: values.resume !== undefined });
    const stop = () => {
      trainer.progress.line("interrupted: writing a checkpoint; resume with gantry train --resume " + runDir);
      trainer.checkpoint();
      process.exit(130);
    };
    process.once("SIGINT", stop);
    try {
      await trainer.run();
    } finally {
      process.off("SIGINT", stop);
      trainer.dispose();
    }
  },
};

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Flags over a config file: only the flags actually given. */
function merge2(file: DeepPartial<GanConfig>, flags: DeepPartial<GanConfig>): DeepPartial<GanConfig> {
  return {
    ...file,
    data: { ...file.data, ...definedOnly(flags.data ?? {}) },
    train: { ...file.train, ...definedOnly(flags.train ?? {}) },
    loss: { ...file.loss, ...definedOnly(flags.loss ?? {}) },
  };
}
