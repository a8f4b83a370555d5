// What the config schema says about itself: the JSON Schema file shipped in the package
// (schema/gantry-config.schema.json) and the table of fields in docs/config.md.
import { z } from "zod";
import { configSchema } from "./config.js";
import { generators, discriminators } from "../models/index.js";
import { datasets } from "../data/registry.js";
import { unwrap } from "../util/schema.js";

/** The config's JSON Schema (draft 2020-12), for editors and other tools. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }),
    $id: "https://github.com/gantry/gantry/schema/gantry-config.schema.json",
    title: "gantry run config",
  };
}

type Def = { type: string; shape?: Record<string, z.ZodType>; defaultValue?: unknown; innerType?: z.ZodType };
const def = (s: z.ZodType) => (s as unknown as { def: Def }).def;

function typeName(s: z.ZodType): string {
  const inner = unwrap(s);
  const d = def(inner) as Def & { entries?: Record<string, string>; values?: unknown[]; options?: z.ZodType[]; element?: z.ZodType; format?: string };
  switch (d.type) {
    case "enum":
      return Object.values(d.entries ?? {}).join(" \\| ");
    case "literal":
      return (d.values ?? []).map((v) => JSON.stringify(v)).join(" \\| ");
    case "union":
      return (d.options ?? []).map(typeName).join(" \\| ");
    case "array":
      return `${typeName(d.element!)}[]`;
    case "tuple":
      return "[number, number]";
    case "number":
      return (inner as z.ZodNumber).format === "safeint" ? "integer" : "number";
    default:
      return d.type;
  }
}

function defaultOf(s: z.ZodType): string {
  let cur: z.ZodType | undefined = s;
  while (cur) {
    const d = def(cur);
    if (d.type === "default") {
      const v = typeof d.defaultValue === "function" ? (d.defaultValue as () => unknown)() : d.defaultValue;
      return `\`${JSON.stringify(v)}\``;
    }
    if (!d.innerType) break;
    cur = d.innerType;
  }
  return "required";
}

function rows(schema: z.ZodType, prefix: string): string[] {
  const inner = unwrap(schema);
  const d = def(inner);
  if (d.type !== "object") return [];
  return Object.entries(d.shape!).flatMap(([key, field]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const fieldInner = def(unwrap(field));
    if (fieldInner.type === "object") return rows(field, path);
    if (fieldInner.type === "union" && ["data", "model.generator", "model.discriminator"].includes(path)) return [];
    const nullable = JSON.stringify(z.toJSONSchema(field, { io: "input", unrepresentable: "any" })).includes('"null"') ? " \\| null" : "";
    return [`| \`${path}\` | ${typeName(field)}${nullable} | ${defaultOf(field)} | ${(field.description ?? "").replace(/\|/g, "\\|")} |`];
  });
}

const header = ["| field | type | default | meaning |", "|---|---|---|---|"];

/** docs/config.md: every field, by path, with its type, default and meaning. */
export function configTable(): string {
  const family = (kind: string, table: Record<string, { options: z.ZodType; description: string }>) =>
    Object.entries(table).flatMap(([name, f]) => {
      const r = rows(f.options, `model.${kind}.options`);
      return [`### model.${kind}.name = "${name}": ${f.description}`, "", ...(r.length ? [...header, ...r] : ["No options."]), ""];
    });
  const data = Object.entries(datasets).flatMap(([name, entry]) => {
    const r = rows(entry.options, "data");
    return [`### data.dataset = "${name}": ${entry.description}`, "", `Source: ${entry.source}.`, "", ...(r.length ? [...header, ...r] : ["No options."]), ""];
  });
  return [
    "# gantry's run config",
    "",
    "Generated from the config schema (`src/train/config.ts`) by `gantry config --docs`; the same schema",
    "ships as JSON Schema in `schema/gantry-config.schema.json` (`gantry config --json-schema`).",
    "",
    "Set any field from the command line with `gantry train --set PATH=VALUE` (repeatable), or in a JSON",
    "file given with `--config FILE`. `gantry config --preset NAME [--set ...]` prints the resolved config",
    "without training. A field that does not apply (`data.imageSize` for MNIST) is an error, not ignored.",
    "On `--resume`, only `train.steps`, `train.epochs`, `train.lrG`, `train.lrD`, `train.device` and `log.*`",
    "may change; each resume is recorded under `resumes` in the run's config.json.",
    "",
    "## Fields",
    "",
    ...header,
    ...rows(configSchema, ""),
    "",
    "## Datasets (`data`)",
    "",
    ...data,
    "## Generators (`model.generator`)",
    "",
    ...family("generator", generators),
    "## Discriminators (`model.discriminator`)",
    "",
    ...family("discriminator", discriminators),
  ].join("\n");
}
