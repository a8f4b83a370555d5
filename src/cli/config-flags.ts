// Config fields from the command line. A field the schema marks with .meta({ flag }) gets that
// flag on `gantry train`, as an alias of `--set PATH=VALUE`, with its description from the
// schema; values are read by the type the schema expects there, then validated with the config.
import { readFileSync } from "node:fs";
import { configSchema, merge, resolveConfig, type ConfigOverrides, type GanConfig } from "../train/index.js";
import { leafFields, schemaAt, unwrap } from "../util/schema.js";
import { ConfigError } from "../errors.js";

/** Flags that are shorthands for one config field: flag -> path, from the schema's metadata. */
export const fieldFlags: Record<string, string> = Object.fromEntries(
  leafFields(configSchema).flatMap(({ path, schema }) => {
    const flag = (schema.meta() as { flag?: string } | undefined)?.flag;
    return flag ? [[flag, path]] : [];
  }),
);

const def = (s: unknown) => (s as { def: { type: string; values?: unknown[]; innerType?: unknown } }).def;

/** The schema's description of a config field, for --help. */
export function describeField(path: string): string {
  const s = schemaAt(configSchema, path.split("."));
  if (!s) throw new Error(`no config field ${path}`);
  const inner = unwrap(s);
  const choices = def(inner).type === "enum" ? ` (${Object.values((inner as unknown as { enum: Record<string, string> }).enum).join(", ")})` : "";
  return `${s.description ?? ""}${choices} [${path}]`;
}

/** Whether the field takes text as it is (a string or a choice of words), rather than JSON. */
function takesText(path: string): boolean {
  const s = schemaAt(configSchema, path.split("."));
  if (!s) return false;
  const d = def(unwrap(s));
  return d.type === "string" || d.type === "enum" || (d.type === "literal" && typeof d.values?.[0] === "string");
}

/** A value from the command line: null, text for text fields, otherwise JSON (numbers, booleans, arrays). */
export function readValue(path: string, raw: string): unknown {
  if (raw === "null") return null;
  if (takesText(path)) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw; // validation names the field and what it expected
  }
}

/** Sets `value` at a dotted path in `target`, creating objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let cur = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof cur[key] !== "object" || cur[key] === null || Array.isArray(cur[key])) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]] = value;
}

/** The leaves of an object as dotted paths; arrays are leaves. */
export function flatten(value: unknown, prefix = ""): [string, unknown][] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [[prefix, value]];
  return Object.entries(value).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
}

/** The overrides given by field flags and --set, in that order (a later one wins). */
export function overridesFromFlags(values: Record<string, unknown>): { overrides: ConfigOverrides; given: Map<string, string> } {
  const overrides: Record<string, unknown> = {};
  /** config path -> the flag that set it, for messages */
  const given = new Map<string, string>();
  for (const [flag, path] of Object.entries(fieldFlags)) {
    const raw = values[flag];
    if (typeof raw !== "string") continue;
    setPath(overrides, path, readValue(path, raw));
    given.set(path, `--${flag}`);
  }
  const sets = values.set;
  for (const item of Array.isArray(sets) ? sets : []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new ConfigError([{ path: "--set", message: `expected PATH=VALUE, such as train.emaDecay=0.999, got '${item}'` }]);
    const path = item.slice(0, eq).trim();
    if (!/^[A-Za-z][\w]*(\.[A-Za-z][\w]*)*$/.test(path))
      throw new ConfigError([{ path: "--set", message: `'${path}' is not a config path such as train.batchSize` }]);
    setPath(overrides, path, readValue(path, item.slice(eq + 1)));
    given.set(path, `--set ${path}`);
  }
  return { overrides: overrides as ConfigOverrides, given };
}

/**
 * The config a new run gets from the command line: the preset (--preset, else the config file's,
 * else mnist-mlp unless a file is given), the --config file over it, then the flags and --set.
 */
export function configFromFlags(values: { preset?: string; config?: string }, overrides: ConfigOverrides): GanConfig {
  const file: ConfigOverrides = values.config ? readConfigFile(values.config) : {};
  const preset = values.preset ?? (typeof file.preset === "string" ? file.preset : null) ?? (values.config ? null : "mnist-mlp");
  return resolveConfig(preset, merge(file, overrides));
}

/** A JSON file of config overrides: must hold an object. */
export function readConfigFile(path: string): ConfigOverrides {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError([{ path: "--config", message: `cannot read ${path} (${(err as NodeJS.ErrnoException).code})` }], { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([{ path: "--config", message: `${path} is not valid JSON: ${(err as Error).message}` }], { cause: err });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([
      {
        path: "--config",
        message: `${path} must hold a JSON object of config fields, such as {"train": {"epochs": 5}}; it holds ${JSON.stringify(parsed)?.slice(0, 40)}`,
      },
    ]);
  }
  return parsed as ConfigOverrides;
}
