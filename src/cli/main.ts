// The gantry command line: thin commands over the library. The user's mistakes and the
// environment's refusals (a GanError, or a system error such as ENOSPC or EACCES) print one line
// and exit 2; anything else is a bug: one line and exit 1. GANTRY_DEBUG=1 adds the stack.
import { parseArgs } from "node:util";
import { GanError, ConfigError, EnvironmentError } from "../errors.js";
import { didYouMean } from "../util/schema.js";
import type { Command, Options, Values } from "./command.js";
import { train } from "./train.js";
import { sample, interpolate } from "./sample.js";
import { list } from "./list.js";
import { evalCommand, classifier } from "./eval.js";
import { config } from "./config.js";
import { exportCommand } from "./export.js";
import { dash, animate } from "./dash.js";
import { inpaintCommand } from "./inpaint.js";
import { translateCommand } from "./translate.js";
import { data } from "./data.js";
import { augmentCommand } from "./augment.js";

const commands: Record<string, Command> = {
  train,
  sample,
  interpolate,
  eval: evalCommand,
  classifier,
  data,
  export: exportCommand,
  inpaint: inpaintCommand,
  augment: augmentCommand,
  translate: translateCommand,
  dash,
  animate,
  config,
  list,
};

function help(): string {
  return [
    "gantry: generative adversarial networks on libtorch",
    "",
    "usage: gantry <command> [options]",
    "",
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`),
    "",
    "gantry <command> --help shows a command's options.",
  ].join("\n");
}

function commandHelp(c: Command): string {
  const lines = Object.entries(c.options).map(([flag, o]) => {
    const value = o.type === "string" ? ` ${flag === "set" ? "PATH=VALUE" : flag.toUpperCase().replace(/-/g, "_")}` : "";
    return `${`  --${flag}${value}`.padEnd(29)} ${o.description}`;
  });
  return [`usage: ${c.usage}`, "", c.summary, "", "options:", ...lines, `${"  --help".padEnd(30)}show this help`].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...afterName] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return name ? 0 : 2;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  // `gantry classifier train ...`, `gantry data spoken-digits ...`: the subcommand word comes first.
  const subcommand = command?.subcommands?.includes(afterName[0]) ? afterName[0] : undefined;
  const rest = subcommand ? afterName.slice(1) : afterName;
  try {
    if (!command) {
      const guess = didYouMean(name, Object.keys(commands));
      throw new ConfigError([
        {
          path: "command",
          message: `unknown command '${name}'${guess ? ` (did you mean '${guess}'?)` : ""}: expected one of ${Object.keys(commands).join(", ")}`,
        },
      ]);
    }
    if (command.subcommands && !subcommand && !rest.includes("--help") && !rest.includes("-h")) {
      const given = rest[0] && !rest[0].startsWith("-") ? rest[0] : null;
      const guess = given ? didYouMean(given, command.subcommands) : null;
      const unknown = given ? `unknown ${name} subcommand '${given}'${guess ? ` (did you mean '${guess}'?)` : ""}; ` : "";
      throw new ConfigError([{ path: "command", message: `${unknown}usage: ${command.usage}` }]);
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(commandHelp(command));
      return 0;
    }
    let values: Values<Options>;
    let positionals: string[];
    try {
      const options = Object.fromEntries(Object.entries(command.options).map(([k, o]) => [k, { type: o.type, multiple: o.multiple ?? false }]));
      const parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: command.positionals ?? false });
      values = parsed.values as Values<Options>;
      positionals = parsed.positionals;
    } catch (err) {
      throw new ConfigError([{ path: "flags", message: `${(err as Error).message} (see gantry ${name} --help)` }], { cause: err });
    }
    const code = await command.run(values, positionals, subcommand);
    return typeof code === "number" ? code : 0;
  } catch (err) {
    return reportError(name, err);
  }
}

/** Prints a failure as one line (the stack too with GANTRY_DEBUG=1); returns the exit code. */
export function reportError(command: string, thrown: unknown): number {
  const err = EnvironmentError.from(thrown) ?? thrown;
  const debug = Boolean(process.env.GANTRY_DEBUG && process.env.GANTRY_DEBUG !== "0");
  if (err instanceof GanError) {
    console.error(`gantry ${command}: ${err.message}`);
    if (debug) console.error(err.stack);
    return 2;
  }
  const message = err instanceof Error ? err.message : String(err);
  console.error(`gantry ${command}: internal error: ${message.split("\n")[0]}`);
  console.error(
    debug ? (err instanceof Error ? err.stack : String(err)) : "this is a bug in gantry: run again with GANTRY_DEBUG=1 for the stack, and report it",
  );
  return 1;
}
