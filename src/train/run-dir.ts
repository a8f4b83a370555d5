// The run directory's safety rules: one trainer at a time (a lock file, taken over when its owner
// has died), never two runs mixed in one directory, no temp files left behind by a kill, and a
// stats.jsonl whose half-written last line never blocks a resume.
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic-write.js";

export const LOCK_FILE = "train.lock";

/** Files whose presence means a directory already holds a gantry run. */
const runMarkers = ["config.json", "stats.jsonl", "checkpoints", "generator.safetensors"];

export function holdsRun(dir: string): boolean {
  return runMarkers.some((m) => existsSync(join(dir, m)));
}

/**
 * Makes `dir` ready for a new run: refuses a directory that holds a run (or anything else)
 * unless `overwrite`, which clears a run directory first. A non-empty folder that is no gantry
 * run is never cleared.
 */
export function prepareNewRunDir(dir: string, overwrite: boolean, log: (m: string) => void): void {
  if (!existsSync(dir)) return;
  const entries = readdirSync(dir).filter((f) => f !== LOCK_FILE);
  if (!entries.length) return;
  if (!holdsRun(dir)) {
    throw new ConfigError([{ path: "--out", message: `${dir} is a non-empty folder that holds no gantry run: choose a new or empty directory` }]);
  }
  if (!overwrite) {
    throw new ConfigError([
      {
        path: "--out",
        message: `${dir} already holds a run: continue it with --resume ${dir}, pass --overwrite to delete it and start afresh, or choose another --out`,
      },
    ]);
  }
  for (const f of entries) rmSync(join(dir, f), { recursive: true, force: true });
  log(`--overwrite: cleared the previous run in ${dir}`);
}

export interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

/** Whether a process with this pid exists on this host. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the run directory's lock: a file created exclusively, naming this process. A lock whose
 * process has died (same host) is stale and taken over with a message; a live one is an error.
 * Returns the release function (also run at process exit).
 */
export function lockRunDir(dir: string, log: (m: string) => void): () => void {
  const path = join(dir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${JSON.stringify(mine)}\n`, { flag: "wx" });
      const release = () => {
        try {
          const held = JSON.parse(readFileSync(path, "utf8")) as LockInfo;
          if (held.pid === mine.pid && held.host === mine.host) rmSync(path, { force: true });
        } catch {
          // Already gone, or someone else's now: leave it.
        }
        process.off("exit", release);
      };
      process.on("exit", release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let held: LockInfo | null = null;
    try {
      held = JSON.parse(readFileSync(path, "utf8")) as LockInfo;
    } catch {
      // An empty or garbled lock: its writer died while writing it.
    }
    if (held && held.host === mine.host && alive(held.pid)) {
      throw new ConfigError([
        {
          path: "run directory",
          message: `${dir} is being trained by process ${held.pid} (started ${held.started}); wait for it to finish or stop it, then resume`,
        },
      ]);
    }
    if (held && held.host !== mine.host) {
      throw new ConfigError([
        {
          path: "run directory",
          message: `${dir} is locked by process ${held.pid} on host ${held.host} (started ${held.started}); if that process is gone, delete ${path}`,
        },
      ]);
    }
    log(`taking over a stale lock on ${dir}${held ? ` (process ${held.pid}, started ${held.started}, is gone)` : ""}`);
    rmSync(path, { force: true });
  }
  throw new ConfigError([{ path: "run directory", message: `${dir}: could not take the lock ${path}` }]);
}

/** Removes the temp files an interrupted atomic write left in the run directory. */
export function removeStaleTemps(dir: string, log: (m: string) => void): void {
  for (const sub of ["", "checkpoints", "samples"]) {
    const folder = join(dir, sub);
    if (!existsSync(folder)) continue;
    for (const f of readdirSync(folder)) {
      if (!/^\..+\.\d+\.tmp$/.test(f)) continue;
      rmSync(join(folder, f), { force: true });
      log(`removed ${join(folder, f)}, left by an interrupted write`);
    }
  }
}

/**
 * Keeps the stats.jsonl records up to `step` (later ones will be written again by the resumed run)
 * and drops lines that are not complete JSON records, such as a last line cut off by a kill.
 */
export function truncateStats(path: string, step: number, log: (m: string) => void): void {
  if (!existsSync(path)) return;
  const lines = readFileSync(path, "utf8").split("\n");
  const kept: string[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let record: { step?: unknown };
    try {
      record = JSON.parse(line) as { step?: unknown };
    } catch {
      const where = i === lines.length - 1 ? "its last line, cut off mid-write" : `line ${i + 1}, which is not valid JSON`;
      log(`${path}: dropped ${where}`);
      return;
    }
    if (typeof record?.step === "number" && record.step <= step) kept.push(line);
  });
  writeFileAtomic(path, kept.map((l) => `${l}\n`).join(""));
}
