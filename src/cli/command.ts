// What a gantry command is: its flags, typed, and the helpers commands share to read them.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors.js";

/** A flag: taking a value (string), or not (boolean); `multiple` ones repeat. */
export interface Option {
  type: "string" | "boolean";
  description: string;
  multiple?: boolean;
}
export type Options = Record<string, Option>;
/** The parsed flags, typed by their declaration: string, string[] or boolean, each optional. */
export type Values<O extends Options> = {
  [K in keyof O]?: O[K] extends { type: "boolean" } ? boolean : O[K] extends { multiple: true } ? string[] : string;
};

export interface Command<O extends Options = Options> {
  summary: string;
  usage: string;
  /** Flags, parsed strictly. */
  options: O;
  /** The subcommand words it takes first (gantry classifier train, gantry data spoken-digits); one is required. */
  subcommands?: readonly string[];
  /** Whether it takes positional arguments (gantry dash RUN...); others refuse them. */
  positionals?: boolean;
  /** Runs the command; a number is the exit code (0 when nothing is returned). `subcommand` is the word given, for those that take one. */
  run(values: Values<O>, positionals?: string[], subcommand?: string): Promise<unknown> | unknown;
}

/** Declares a command, typing its run()'s values from its options. */
export const defineCommand = <O extends Options>(command: Command<O>): Command<O> => command;

/** A number flag, or a ConfigError naming it. */
export function numberFlag(values: Record<string, unknown>, flag: string, options: { integer?: boolean; min?: number } = {}): number | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const { integer = false, min = -Infinity } = options;
  if (raw === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
    const what = integer ? "an integer" : "a number";
    throw new ConfigError([{ path: `--${flag}`, message: `expected ${what}${min > -Infinity ? ` >= ${min}` : ""}, got '${raw}'` }]);
  }
  return n;
}

export function requireDir(path: string, what: string): string {
  if (!existsSync(path)) throw new ConfigError([{ path: what, message: `${path} does not exist` }]);
  if (!existsSync(join(path, "config.json"))) throw new ConfigError([{ path: what, message: `${path} is not a gantry run directory (no config.json)` }]);
  return path;
}
