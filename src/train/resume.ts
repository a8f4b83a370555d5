// Resuming a run: the config comes from the run's config.json; only fields that do not change
// what is being trained may differ (length, learning rates, cadences, device). Each resume and its
// changes are recorded in config.json.
import { join } from "node:path";
import { existsSync, readFileSync } from "node:fs";
import { merge, validate, type ConfigOverrides, type GanConfig } from "./config.js";
import { ConfigError } from "../errors.js";

/** Fields a resume may change; a path ending in "." allows everything under it. */
export const resumableFields = ["train.steps", "train.epochs", "train.lrG", "train.lrD", "train.device", "log."] as const;

const isResumable = (path: string) => resumableFields.some((f) => (f.endsWith(".") ? path.startsWith(f) : path === f));

function leaves(value: unknown, prefix = ""): [string, unknown][] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [[prefix, value]];
  return Object.entries(value).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

/** A run's saved config, validated; a damaged config.json is an error naming the file. */
export function readRunConfig(runDir: string): GanConfig {
  const path = join(runDir, "config.json");
  if (!existsSync(runDir)) throw new ConfigError([{ path: "--resume", message: `${runDir} does not exist` }]);
  if (!existsSync(path)) throw new ConfigError([{ path: "--resume", message: `${runDir} is not a gantry run directory (no config.json)` }]);
  let saved: unknown;
  try {
    saved = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError(
      [{ path, message: `is not valid JSON (${(err as Error).message}); each checkpoint holds the run's config too, in its "gantry" metadata` }],
      { cause: err },
    );
  }
  try {
    return validate(saved);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(
      err.issues.map((i) => ({ path: `${path}: ${i.path}`, message: i.message })),
      { cause: err },
    );
  }
}

/**
 * The config to resume with: the saved one with `overrides` applied, and the fields they change.
 * `named` maps a config path to the flag that set it, for messages. A change to anything that
 * would train a different model (data, model, loss, optimizer betas, seed, ...) is an error.
 */
export function resumeConfig(
  runDir: string,
  overrides: ConfigOverrides,
  named: Map<string, string> = new Map(),
): { config: GanConfig; changes: Record<string, unknown> } {
  const saved = readRunConfig(runDir);
  const config = validate(merge(saved, overrides));
  const before = new Map(leaves(saved));
  const changes: Record<string, unknown> = {};
  const refused: { path: string; message: string }[] = [];
  for (const [path, value] of leaves(config)) {
    if (path.startsWith("resumes") || JSON.stringify(before.get(path)) === JSON.stringify(value)) continue;
    if (isResumable(path)) changes[path] = value;
    else
      refused.push({
        path: named.get(path) ?? path,
        message: `would change ${path} from ${JSON.stringify(before.get(path))} to ${JSON.stringify(value)}, which a resumed run cannot change; start a new run (--out) instead`,
      });
  }
  if (refused.length) throw new ConfigError(refused);
  return { config, changes };
}
