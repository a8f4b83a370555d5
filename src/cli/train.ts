// gantry train: train a preset or a config file, or resume a run.
import { fork, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineCommand, type Options, type Values } from "./command.js";
import { createGan, resumeConfig, Trainer, type ConfigOverrides, type GanConfig } from "../train/index.js";
import { ConfigError } from "../errors.js";
import { configFromFlags, describeField, fieldFlags, overridesFromFlags } from "./config-flags.js";

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

/** --epochs, --lr-g, ...: the config fields the schema gives a flag, described by the schema. */
const fieldOptions: Options = Object.fromEntries(
  Object.entries(fieldFlags).map(([flag, path]) => [flag, { type: "string", description: describeField(path) }]),
);

/** Exit codes after a stop by signal, as a shell reports them: 128 + the signal's number. */
const signalExit = { SIGINT: 130, SIGTERM: 143 } as const;

const options = {
  preset: { type: "string", description: "a preset (gantry list shows them); default mnist-mlp" },
  config: { type: "string", description: "a JSON file of config overrides (docs/config.md lists every field)" },
  set: { type: "string", multiple: true, description: "set any config field, e.g. --set train.emaDecay=0.999 (repeatable; docs/config.md)" },
  out: { type: "string", description: "the run directory; default runs/PRESET-TIMESTAMP" },
  overwrite: { type: "boolean", description: "with --out: delete the run already in that directory and start afresh" },
  resume: { type: "string", description: "continue the run in this directory from its newest intact checkpoint" },
  dash: { type: "boolean", description: "serve the live dashboard of this run beside training (gantry dash; --port, --host)" },
  port: { type: "string", description: "with --dash: the dashboard's port" },
  host: { type: "string", description: "with --dash: the dashboard's address (default 127.0.0.1)" },
} as const;

export const train = defineCommand({
  summary: "train a GAN: a preset, a config file, or resume a run",
  usage:
    "gantry train --preset mnist-mlp [--epochs N | --steps N] [--set PATH=VALUE ...] [--out DIR [--overwrite]]  |  gantry train --resume RUN_DIR [--steps N]",
  // The field flags first in --help; they reach the config through overridesFromFlags.
  options: { ...fieldOptions, ...options },
  async run(values) {
    if (!values.dash && (values.port !== undefined || values.host !== undefined))
      throw new ConfigError([{ path: values.port !== undefined ? "--port" : "--host", message: "belongs to --dash: add --dash to serve the dashboard" }]);
    const { overrides, given } = overridesFromFlags(values);
    const resume = values.resume !== undefined;
    let trainer: Trainer;
    let runDir: string;
    try {
      const resolved = resolve(values, overrides, given);
      runDir = resolved.runDir;
      trainer = await Trainer.create(createGan(resolved.config), { runDir, resume, overwrite: values.overwrite === true, resumeChanges: resolved.changes });
    } catch (err) {
      // Name the flag beside the config path it sets: "--epochs (train.epochs): ...".
      if (!(err instanceof ConfigError)) throw err;
      throw new ConfigError(
        err.issues.map((i) => ({ ...i, path: labelOf(given, i.path) })),
        { cause: err },
      );
    }
    trainer.progress.line(`config: ${join(runDir, "config.json")}`);
    let dashboard: ChildProcess | null = null;
    if (values.dash) {
      try {
        const started = await startDashboard(runDir, values);
        dashboard = started.child;
        trainer.progress.line(`dashboard: ${started.url}`);
      } catch (err) {
        trainer.dispose();
        throw err;
      }
    }
    // Ctrl-C and SIGTERM (docker stop, systemd, Slurm, timeout) finish the step and checkpoint.
    let signal: keyof typeof signalExit | null = null;
    const stop = (s: keyof typeof signalExit) => () => {
      signal = s;
      trainer.requestStop(`interrupted (${s})`);
    };
    const handlers = { SIGINT: stop("SIGINT"), SIGTERM: stop("SIGTERM") };
    for (const [s, h] of Object.entries(handlers)) process.once(s, h);
    let status: "finished" | "stopped";
    try {
      status = await trainer.run();
    } finally {
      for (const [s, h] of Object.entries(handlers)) process.off(s, h);
      trainer.dispose();
      if (dashboard) {
        dashboard.kill("SIGTERM");
        trainer.progress.line(`dashboard stopped with training; gantry dash ${runDir} serves the run again`);
      }
    }
    const stoppedBy = signal as keyof typeof signalExit | null;
    return status === "stopped" && stoppedBy ? signalExit[stoppedBy] : 0;
  },
});

/** "--epochs (train.epochs)" for a path a flag set; "--set PATH" for --set; the path otherwise. */
function labelOf(given: Map<string, string>, path: string): string {
  const flag = given.get(path);
  return !flag ? path : flag.startsWith("--set") ? flag : `${flag} (${path})`;
}

/** The run directory, its config and (on resume) the fields this resume changes. */
function resolve(
  values: Values<typeof options>,
  overrides: ConfigOverrides,
  given: Map<string, string>,
): { runDir: string; config: GanConfig; changes?: Record<string, unknown> } {
  const resume = values.resume;
  if (resume !== undefined) {
    for (const flag of ["preset", "config", "out", "overwrite"] as const) {
      if (values[flag] !== undefined)
        throw new ConfigError([
          {
            path: `--${flag}`,
            message: "cannot be used with --resume: a resumed run keeps its directory and its config (to train something else, start a new run)",
          },
        ]);
    }
    return { runDir: resume, ...resumeConfig(resume, overrides, given) };
  }
  const config = configFromFlags(values, overrides);
  return { runDir: values.out ?? join("runs", `${config.preset ?? "custom"}-${timestamp()}`), config };
}

const gantryBin = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "bin", "gantry.js");

/**
 * gantry dash RUN_DIR in a child process, so that serving the page never waits on (or delays) a
 * training step; it leaves when training does. Resolves with its URL once it listens.
 */
function startDashboard(runDir: string, values: { port?: string; host?: string }): Promise<{ child: ChildProcess; url: string }> {
  const args = ["dash", runDir, ...(values.port !== undefined ? ["--port", values.port] : []), ...(values.host !== undefined ? ["--host", values.host] : [])];
  // One engine thread: the playground's rare forward passes should not take cores from training.
  const child = fork(gantryBin, args, { stdio: ["ignore", "ignore", "pipe", "ipc"], env: { ...process.env, GANTRY_NUM_THREADS: "1" } });
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new ConfigError([{ path: "--dash", message: "the dashboard did not start within 30 s" }]));
    }, 30000);
    child.once("message", (m) => {
      clearTimeout(timer);
      child.unref();
      child.channel?.unref();
      child.stderr?.removeAllListeners("data");
      (child.stderr as { unref?: () => void } | null)?.unref?.();
      done({ child, url: (m as { url: string }).url });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      // The child printed one line saying why (a busy --port, a bad --host): pass it on.
      const why =
        stderr
          .trim()
          .split("\n")[0]
          ?.replace(/^gantry dash: /, "") || `exited with code ${code}`;
      fail(new ConfigError([{ path: "--dash", message: `the dashboard could not start: ${why}` }]));
    });
  });
}
