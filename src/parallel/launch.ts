// Starting a data-parallel run, as PyTorch's launcher does: `gantry train --nproc N` starts N
// worker processes of the same command on this machine, each told its place by the environment
// variables torchrun, SLURM scripts and Kubernetes' PyTorchJob set (RANK, LOCAL_RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT). A scheduler that sets them itself starts `gantry train` directly.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { availableCores } from "../engine/index.js";
import { ConfigError } from "../errors.js";
import type { DistEnv } from "./data-parallel.js";

/** How long a collective may wait for the other ranks unless --dist-timeout says otherwise, in seconds. */
export const defaultTimeoutS = 600;

/** This process's place in a data-parallel run, from the environment; null when it runs alone. */
export function distEnvFrom(env: NodeJS.ProcessEnv = process.env): DistEnv | null {
  if (env.WORLD_SIZE === undefined) return null;
  const int = (name: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const raw = env[name];
    const n = Number(raw);
    if (raw === undefined || raw === "" || !Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError([{ path: name, message: `expected an integer from ${min} to ${max} (the launcher's environment variable), got '${raw ?? ""}'` }]);
    }
    return n;
  };
  const worldSize = int("WORLD_SIZE", 1);
  if (worldSize === 1) return null;
  const rank = int("RANK", 0, worldSize - 1);
  const masterAddr = env.MASTER_ADDR;
  if (!masterAddr)
    throw new ConfigError([
      { path: "MASTER_ADDR", message: "is not set: the address of rank 0's machine (WORLD_SIZE is set, so this is one rank of several)" },
    ]);
  const timeout = env.GANTRY_DIST_TIMEOUT === undefined ? defaultTimeoutS : Number(env.GANTRY_DIST_TIMEOUT);
  if (!(timeout > 0)) throw new ConfigError([{ path: "GANTRY_DIST_TIMEOUT", message: `expected seconds above 0, got '${env.GANTRY_DIST_TIMEOUT}'` }]);
  return {
    rank,
    worldSize,
    localRank: env.LOCAL_RANK === undefined ? rank : int("LOCAL_RANK", 0),
    masterAddr,
    masterPort: int("MASTER_PORT", 1, 65535),
    timeoutS: timeout,
    ...(env.GLOO_SOCKET_IFNAME && { iface: env.GLOO_SOCKET_IFNAME }),
  };
}

/** A TCP port free on this machine now (the OS picks it). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export interface LaunchOptions {
  /** The worker's command line: node and its arguments (gantry train ... without the launcher's flags). */
  command: string[];
  /** Processes on this machine. */
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  timeoutS: number;
}

/**
 * Runs the workers of this machine and waits for them. Rank 0 prints as usual; the others' error
 * output is prefixed with their rank. When one fails, the launcher names it and stops the rest:
 * they usually fail on their own at their next collective and say why, so they get half of
 * `graceMs` for that, then SIGTERM, then SIGKILL at `graceMs`. Ctrl-C and SIGTERM are passed to every worker, which
 * stop together at the next step with a checkpoint. Resolves with the exit code: 0, the first
 * failure's, or 128 + the signal's number after a stop by signal.
 */
export function launchWorkers(o: LaunchOptions, graceMs = 10_000): Promise<number> {
  const world = o.nproc * o.nnodes;
  const threads = process.env.GANTRY_NUM_THREADS ?? String(Math.max(1, Math.floor(availableCores() / o.nproc)));
  const workers: ChildProcess[] = [];
  let failure: { code: number } | null = null;
  const timers: NodeJS.Timeout[] = [];
  const signalRunning = (signal: NodeJS.Signals) => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill(signal);
  };
  const stopAll = () => {
    if (timers.length) return;
    timers.push(
      setTimeout(() => signalRunning("SIGTERM"), graceMs / 2),
      setTimeout(() => signalRunning("SIGKILL"), graceMs),
    );
  };
  return new Promise((done) => {
    let running = o.nproc;
    let signalled: NodeJS.Signals | null = null;
    /** 130 or 143: a worker that stopped on a signal, with the others, after a checkpoint. */
    let stoppedCode = 0;
    const forward = (signal: NodeJS.Signals) => () => {
      signalled = signal;
      for (const w of workers) if (w.exitCode === null) w.kill(signal);
    };
    const handlers = { SIGINT: forward("SIGINT"), SIGTERM: forward("SIGTERM") };
    for (const [s, h] of Object.entries(handlers)) process.on(s, h);
    for (let local = 0; local < o.nproc; local++) {
      const rank = o.nodeRank * o.nproc + local;
      const env = {
        ...process.env,
        RANK: String(rank),
        LOCAL_RANK: String(local),
        WORLD_SIZE: String(world),
        LOCAL_WORLD_SIZE: String(o.nproc),
        MASTER_ADDR: o.masterAddr,
        MASTER_PORT: String(o.masterPort),
        GANTRY_DIST_TIMEOUT: String(o.timeoutS),
        GANTRY_NUM_THREADS: threads,
        // c10d logs each failed socket attempt through glog; the rank's own message says what went wrong.
        GLOG_minloglevel: process.env.GLOG_minloglevel ?? "3",
      };
      // Each worker in its own process group, so that a Ctrl-C reaches it once, from here; the
      // IPC channel tells it when the launcher is gone.
      const child = spawn(o.command[0], o.command.slice(1), {
        env,
        detached: true,
        stdio: ["ignore", rank === 0 ? "inherit" : "ignore", rank === 0 ? "inherit" : "pipe", "ipc"],
      });
      if (rank !== 0) prefixLines(child, `[rank ${rank}] `);
      workers.push(child);
      child.once("exit", (code, signal) => {
        running--;
        // A worker stopped by Ctrl-C or SIGTERM (from here or sent to it alone) stops the run cleanly: not a failure.
        if (code === 130 || code === 143) stoppedCode ||= code;
        const failed = signal !== null || (code !== 0 && code !== 130 && code !== 143);
        if (failed && !failure) {
          failure = { code: code ?? 1 };
          const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          process.stderr.write(`gantry train: rank ${rank} (pid ${child.pid}) ${how}; stopping the other ranks\n`);
          stopAll();
        }
        if (running === 0) {
          for (const t of timers) clearTimeout(t);
          for (const [s, h] of Object.entries(handlers)) process.off(s, h);
          done(failure ? failure.code || 1 : stoppedCode || (signalled ? (signalled === "SIGINT" ? 130 : 143) : 0));
        }
      });
    }
  });
}

function prefixLines(child: ChildProcess, prefix: string): void {
  let pending = "";
  child.stderr?.on("data", (chunk) => {
    pending += String(chunk);
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) process.stderr.write(`${prefix}${line}\n`);
  });
  child.stderr?.on("end", () => {
    if (pending) process.stderr.write(`${prefix}${pending}\n`);
  });
}
