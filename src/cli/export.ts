// gantry export: a trained generator in other frameworks' formats (today: PyTorch).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "./command.js";
import { generatorFromFlags, generatorOptions } from "./sample.js";
import { exportTorch } from "../train/torch-export.js";
import { ConfigError } from "../errors.js";

export const exportCommand = defineCommand({
  summary: "write a trained generator for PyTorch: generator.py (the nn.Module) and generator.pt (torch.load format)",
  usage: "gantry export --run RUN_DIR | --generator FILE --torch DIR",
  options: {
    ...generatorOptions,
    torch: { type: "string", description: "the folder to write generator.py, generator.pt and generator.safetensors to" },
  },
  run(values) {
    if (typeof values.torch !== "string") throw new ConfigError([{ path: "--torch", message: "is required: the folder to write the PyTorch files to" }]);
    const loaded = generatorFromFlags(values);
    const safetensors = values.generator ?? join(values.run ?? ".", "generator.safetensors");
    for (const path of exportTorch(loaded, values.torch, existsSync(safetensors) ? safetensors : undefined)) console.log(`wrote ${path}`);
  },
});
