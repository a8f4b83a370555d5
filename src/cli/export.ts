// gantry export: a trained generator in other frameworks' formats (today: PyTorch).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defineCommand, requireDir } from "./command.js";
import { savePretrained } from "../train/index.js";
import { generatorFromFlags, generatorOptions } from "./sample.js";
import { exportTorch } from "../train/torch-export.js";
import { ConfigError } from "../errors.js";

export const exportCommand = defineCommand({
  summary: "write a trained generator for PyTorch (generator.py, generator.pt), or a run as a pretrained model (G, D and G's EMA copy)",
  usage:
    "gantry export --run RUN_DIR | --generator FILE | --pretrained NAME --torch DIR  |  gantry export --run RUN_DIR --as-pretrained FILE.safetensors [--note TEXT]",
  options: {
    ...generatorOptions,
    torch: { type: "string", description: "the folder to write generator.py, generator.pt and generator.safetensors to" },
    "as-pretrained": { type: "string", description: "write the run's newest checkpoint as a pretrained model (for --pretrained and --init) to this file" },
    note: { type: "string", description: "with --as-pretrained: a note kept in its card, e.g. how long it trained" },
  },
  run(values) {
    const asPretrained = values["as-pretrained"];
    if (asPretrained !== undefined) {
      if (!values.run) throw new ConfigError([{ path: "--run", message: "is required with --as-pretrained: the run to export" }]);
      if (!asPretrained.endsWith(".safetensors"))
        throw new ConfigError([{ path: "--as-pretrained", message: `must end in .safetensors, got '${asPretrained}'` }]);
      requireDir(values.run, "--run");
      const metrics = readMetrics(values.run);
      console.log(`wrote ${savePretrained(values.run, asPretrained, { metrics, note: values.note })}`);
      return;
    }
    if (typeof values.torch !== "string") throw new ConfigError([{ path: "--torch", message: "is required: the folder to write the PyTorch files to" }]);
    const loaded = generatorFromFlags(values);
    const safetensors = values.generator ?? join(values.run ?? ".", "generator.safetensors");
    for (const path of exportTorch(loaded, values.torch, existsSync(safetensors) ? safetensors : undefined)) console.log(`wrote ${path}`);
  },
});

/** The scores gantry eval saved in the run's generator card, if any. */
function readMetrics(runDir: string): Record<string, number> {
  const card = join(runDir, "generator.json");
  if (!existsSync(card)) return {};
  try {
    return (JSON.parse(readFileSync(card, "utf8")) as { metrics?: Record<string, number> }).metrics ?? {};
  } catch {
    return {};
  }
}
