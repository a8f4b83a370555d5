// gantry train: train a preset or a config file, or resume a run.
import { fork, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineCommand, numberFlag, type Options, type Values } from "./command.js";
import { createGan, resumeConfig, Trainer, type ConfigOverrides, type GanConfig } from "../train/index.js";
import { ConfigError } from "../errors.js";
import { configFromFlags, describeField, fieldFlags, overridesFromFlags, setPath } from "./config-flags.js";
import { DataParallel, defaultTimeoutS, distEnvFrom, freePort, launchWorkers } from "../parallel/index.js";
import { assertBatchSplits } from "../engine/index.js";

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
  "time-limit": {
    type: "string",
    description: "stop after this many minutes of training, as Ctrl-C does (a checkpoint; --resume goes on): compare models at the same wall-clock budget",
  },
  dash: { type: "boolean", description: "serve the live dashboard of this run beside training (gantry dash; --port, --host)" },
  port: { type: "string", description: "with --dash: the dashboard's port" },
  host: { type: "string", description: "with --dash: the dashboard's address (default 127.0.0.1)" },
  nproc: { type: "string", description: "data-parallel training in N processes on this machine; --batch-size stays the global batch (docs/distributed.md)" },
  nnodes: { type: "string", description: "with --nproc: machines in the run (default 1); each runs the same command with its --node-rank" },
  "node-rank": { type: "string", description: "with --nnodes: this machine's place, 0 to nnodes-1 (rank 0's machine serves the rendezvous)" },
  "master-addr": { type: "string", description: "with --nnodes: the address of node 0 (MASTER_ADDR; default 127.0.0.1)" },
  "master-port": { type: "string", description: "with --nproc: node 0's rendezvous port (MASTER_PORT; default a free port, 29500 with --nnodes)" },
  backend: { type: "string", description: "with --nproc: the collective backend, gloo (default; CPU)" },
  "sync-bn": { type: "boolean", description: "with --nproc: BatchNorm's statistics over the whole batch, across processes (train.syncBatchNorm)" },
  "dist-timeout": { type: "string", description: `with --nproc: seconds a rank waits for the others before failing (default ${defaultTimeoutS})` },
} as const;

/** The launcher's flags: they start the workers and are not passed on to them. */
const launcherFlags = ["nproc", "nnodes", "node-rank", "master-addr", "master-port", "backend", "dist-timeout"] as const;

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
    if (values["sync-bn"]) {
      setPath(overrides as Record<string, unknown>, "train.syncBatchNorm", true);
      given.set("train.syncBatchNorm", "--sync-bn");
    }
    const resume = values.resume !== undefined;
    const timeLimit = minutesOf(values["time-limit"]);
    const launch = launchOptions(values);
    const env = launch ? null : distEnvFrom();
    let trainer: Trainer;
    let runDir: string;
    let parallel: DataParallel | null = null;
    try {
      const resolved = resolve(values, overrides, given);
      runDir = resolved.runDir;
      if (launch) return await launchRun(launch, resolved.config.train.batchSize, values.out === undefined && !resume ? runDir : null);
      if (env) assertBatchSplits(resolved.config.train.batchSize, env.worldSize, "train.batchSize");
      const gan = createGan(resolved.config);
      parallel = env && DataParallel.join(env);
      trainer = await Trainer.create(gan, { runDir, resume, overwrite: values.overwrite === true, resumeChanges: resolved.changes, parallel });
    } catch (err) {
      parallel?.shutdown();
      // Name the flag beside the config path it sets: "--epochs (train.epochs): ...".
      if (!(err instanceof ConfigError)) throw err;
      throw new ConfigError(
        err.issues.map((i) => ({ ...i, path: labelOf(given, i.path) })),
        { cause: err },
      );
    }
    trainer.progress.line(`config: ${join(runDir, "config.json")}`);
    let dashboard: ChildProcess | null = null;
    if (values.dash && (!env || env.rank === 0)) {
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
    // A worker of `--nproc`: its launcher gone (killed), the ranks stop together with a checkpoint.
    const orphaned = () => trainer.requestStop("the launcher (gantry train --nproc) exited");
    process.once("disconnect", orphaned);
    if (timeLimit !== null) {
      const start = performance.now();
      trainer.use({
        name: "time-limit",
        afterStep: (t) => {
          if (performance.now() - start >= timeLimit * 60_000) t.requestStop(`the time limit (--time-limit ${timeLimit}) was reached`);
        },
      });
    }
    let status: "finished" | "stopped";
    try {
      status = await trainer.run();
    } finally {
      for (const [s, h] of Object.entries(handlers)) process.off(s, h);
      process.off("disconnect", orphaned);
      trainer.dispose();
      parallel?.shutdown();
      if (process.connected) process.disconnect();
      if (dashboard) {
        dashboard.kill("SIGTERM");
        trainer.progress.line(`dashboard stopped with training; gantry dash ${runDir} serves the run again`);
      }
    }
    const stoppedBy = signal as keyof typeof signalExit | null;
    return status === "stopped" && stoppedBy ? signalExit[stoppedBy] : 0;
  },
});

/** --time-limit: positive minutes, or null when not given. */
function minutesOf(text: string | undefined): number | null {
  if (text === undefined) return null;
  const minutes = Number(text);
  if (text.trim() === "" || !Number.isFinite(minutes) || minutes <= 0)
    throw new ConfigError([{ path: "--time-limit", message: `expected a positive number of minutes, got '${text}'` }]);
  return minutes;
}

interface Launch {
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string | null;
  masterPort: number | null;
  timeoutS: number;
}

/** The launcher's flags, checked; null when this process trains alone (or is already one rank of several). */
function launchOptions(values: Values<typeof options>): Launch | null {
  const nproc = numberFlag(values, "nproc", { integer: true, min: 1 }) ?? 1;
  const nnodes = numberFlag(values, "nnodes", { integer: true, min: 1 }) ?? 1;
  const nodeRank = numberFlag(values, "node-rank", { integer: true, min: 0 }) ?? 0;
  const masterPort = numberFlag(values, "master-port", { integer: true, min: 1 }) ?? null;
  const timeoutS = numberFlag(values, "dist-timeout", { min: 1 }) ?? defaultTimeoutS;
  if (nproc === 1 && nnodes === 1) {
    const stray = launcherFlags.find((f) => values[f] !== undefined && f !== "nproc");
    if (stray) throw new ConfigError([{ path: `--${stray}`, message: "belongs to data-parallel training: add --nproc N (N processes on this machine)" }]);
    return null;
  }
  if (distEnvFrom())
    throw new ConfigError([
      { path: "--nproc", message: "this process is already one rank of a data-parallel run (WORLD_SIZE is set): leave --nproc to the launcher" },
    ]);
  if (nodeRank >= nnodes) throw new ConfigError([{ path: "--node-rank", message: `${nodeRank} is not below --nnodes (${nnodes})` }]);
  if (masterPort !== null && masterPort > 65535) throw new ConfigError([{ path: "--master-port", message: `${masterPort} is not a TCP port (1 to 65535)` }]);
  const backend = values.backend ?? "gloo";
  if (backend === "nccl") {
    throw new ConfigError([
      {
        path: "--backend",
        message:
          "nccl is not available: this gantry addon speaks to c10d through gloo only (Debian's libtorch 1.13 has no CUDA, hence no NCCL); use --backend gloo",
      },
    ]);
  }
  if (backend !== "gloo") throw new ConfigError([{ path: "--backend", message: `unknown backend '${backend}': expected gloo` }]);
  const masterAddr = values["master-addr"] ?? process.env.MASTER_ADDR ?? null;
  if (nnodes > 1 && !masterAddr)
    throw new ConfigError([{ path: "--master-addr", message: "is needed with --nnodes: the address of node 0, which every node can reach" }]);
  return { nproc, nnodes, nodeRank, masterAddr, masterPort: masterPort ?? (process.env.MASTER_PORT ? Number(process.env.MASTER_PORT) : null), timeoutS };
}

/** Starts this machine's ranks of a data-parallel run and waits for them; the exit code. */
async function launchRun(l: Launch, batchSize: number, defaultOut: string | null): Promise<number> {
  const world = l.nproc * l.nnodes;
  assertBatchSplits(batchSize, world, "--batch-size (train.batchSize)");
  // The workers run this same command, less the launcher's flags, with the run directory fixed.
  const args = withoutFlags(process.argv.slice(2), launcherFlags);
  if (defaultOut) args.push("--out", defaultOut);
  return launchWorkers({
    command: [process.execPath, ...process.execArgv, process.argv[1], ...args],
    nproc: l.nproc,
    nnodes: l.nnodes,
    nodeRank: l.nodeRank,
    masterAddr: l.masterAddr ?? "127.0.0.1",
    masterPort: l.masterPort ?? (l.nnodes > 1 ? 29500 : await freePort()),
    timeoutS: l.timeoutS,
  });
}

/** argv without the named flags and their values (--flag VALUE and --flag=VALUE). */
function withoutFlags(argv: string[], flags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith("--") ? argv[i].slice(2).split("=")[0] : null;
    if (name && flags.includes(name)) {
      if (!argv[i].includes("=")) i++;
      continue;
    }
    out.push(argv[i]);
  }
  return out;
}

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
