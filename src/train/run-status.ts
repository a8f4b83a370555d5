// RUN_DIR/status.json: what a run is doing, for whoever watches it (gantry dash). The trainer
// writes it when training starts, finishes, stops or fails; a reader checks the lock too, so a
// run whose trainer was killed reads as stopped, not running.
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";
import { alive, LOCK_FILE, type LockInfo } from "./run-dir.js";

export type RunState = "running" | "finished" | "stopped" | "failed";

export interface RunStatus {
  state: RunState;
  /** The step when the status was written (a watcher takes the newer of this and stats.jsonl's). */
  step: number;
  totalSteps: number | null;
  epochs: number | null;
  batchesPerEpoch: number | null;
  /** ISO times: when this training process began, and when the status was written. */
  startedAt: string | null;
  updatedAt: string | null;
  /** Why it stopped or failed. */
  message: string | null;
}

export const STATUS_FILE = "status.json";

export function writeRunStatus(runDir: string, status: RunStatus): void {
  writeFileAtomic(join(runDir, STATUS_FILE), `${JSON.stringify(status)}\n`);
}

/** The run's status; "running" only while a live process holds its lock. */
export function readRunStatus(runDir: string): RunStatus {
  let status: RunStatus | null = null;
  try {
    status = JSON.parse(readFileSync(join(runDir, STATUS_FILE), "utf8")) as RunStatus;
  } catch {
    status = null;
  }
  const finished = existsSync(join(runDir, "generator.safetensors"));
  // No status.json (a run from before gantry wrote one): the lock and the export tell.
  const base: RunStatus = status ?? {
    state: locked(runDir) ? "running" : finished ? "finished" : "stopped",
    step: 0,
    totalSteps: null,
    epochs: null,
    batchesPerEpoch: null,
    startedAt: null,
    updatedAt: null,
    message: null,
  };
  if (base.state === "running" && !locked(runDir)) return { ...base, state: "stopped", message: base.message ?? "the training process is gone" };
  return base;
}

function locked(runDir: string): boolean {
  try {
    const held = JSON.parse(readFileSync(join(runDir, LOCK_FILE), "utf8")) as LockInfo;
    return held.host !== hostname() || alive(held.pid);
  } catch {
    return false;
  }
}
