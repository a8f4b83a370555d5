// gantry config: the resolved config of a preset with overrides, without training; or the
// config's JSON Schema, or its docs table.
import { defineCommand } from "./command.js";
import { configJsonSchema, configTable } from "../train/config-docs.js";
import { ConfigError } from "../errors.js";
import { configFromFlags, overridesFromFlags } from "./config-flags.js";

export const config = defineCommand({
  summary: "print the resolved config of a preset (with --set and --config), its JSON Schema, or its docs",
  usage: "gantry config [--preset NAME] [--config FILE] [--set PATH=VALUE ...] | --json-schema | --docs",
  options: {
    preset: { type: "string", description: "a preset (gantry list shows them); default mnist-mlp" },
    config: { type: "string", description: "a JSON file of config overrides" },
    set: { type: "string", multiple: true, description: "set any config field, e.g. --set train.emaDecay=0.999 (repeatable)" },
    "json-schema": { type: "boolean", description: "print the config's JSON Schema" },
    docs: { type: "boolean", description: "print the table of every config field (docs/config.md)" },
  },
  run(values) {
    if (values["json-schema"] && values.docs) throw new ConfigError([{ path: "--json-schema/--docs", message: "give one of them" }]);
    if (values["json-schema"]) return void console.log(JSON.stringify(configJsonSchema(), null, 2));
    if (values.docs) return void console.log(configTable());
    console.log(JSON.stringify(configFromFlags(values, overridesFromFlags(values).overrides), null, 2));
  },
});
