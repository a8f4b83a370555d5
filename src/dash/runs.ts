// What the dashboard knows about run directories, kept current by polling cheap facts (a stat of
// stats.jsonl, a listing of samples/) and reading only the bytes appended since the last look.
// A changed inode or a shorter file (a resume or rollback rewrote stats.jsonl) starts the run's
// stats over. A line that is not JSON (a half-written last line while training appends) is left
// for the next look if it is the last, and skipped and counted otherwise.
import { closeSync, existsSync, lstatSync, openSync, readFileSync, readSync, readdirSync, statSync, type Stats } from "node:fs";
import { basename, join, resolve } from "node:path";
import { readRunStatus, type RunStatus } from "../train/run-status.js";
import { dataShapeOf } from "../data/registry.js";

/** The per-step fields of a stats.jsonl record, as the charts read them (columns, in step order). */
export const stepFields = ["step", "epoch", "dLoss", "gLoss", "dReal", "dFake", "gradNormD", "gradNormG", "lrG", "lrD", "imagesPerSec", "seconds"] as const;
export type StepField = (typeof stepFields)[number];

/** One record of stats.jsonl, classified. */
export type StatsRecord =
  | { kind: "step"; values: Record<StepField, number | null> }
  | { kind: "eval"; step: number; scores: Record<string, number | boolean | null> }
  | { kind: "rollback"; step: number; rollback: Record<string, unknown> };

export interface Grid {
  /** File name under samples/. */
  name: string;
  /** The step it shows: from its name (step-N), or epoch x batches per epoch; null if unknown. */
  step: number | null;
  mtimeMs: number;
}

/** What changed in a run since the last look. */
export type RunChange =
  | { type: "reset" }
  | { type: "records"; records: StatsRecord[] }
  | { type: "grids"; grids: Grid[] }
  | { type: "status"; status: RunSummary["status"] };

export interface RunSummary {
  id: string;
  name: string;
  path: string;
  status: RunStatus & { state: string };
  config: unknown;
  card: unknown;
  /** Classes a conditional generator takes; 0 for an unconditional one. */
  numClasses: number;
  hasGenerator: boolean;
  skippedLines: number;
}

const readJson = (path: string): unknown => {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return null;
  }
};

/** The classes a run's generator is conditioned on, from its config; 0 when unconditional or unknown. */
function classesOf(config: { model?: { conditional?: boolean }; data?: { dataset: string } } | null): number {
  if (!config?.model?.conditional || !config.data) return 0;
  try {
    return dataShapeOf(config.data).numClasses;
  } catch {
    return 0;
  }
}

/** Classifies one parsed stats.jsonl object; null for anything else. */
export function classifyRecord(value: unknown): StatsRecord | null {
  if (!value || typeof value !== "object") return null;
  const r = value as Record<string, unknown>;
  if (typeof r.step !== "number") return null;
  if (r.eval && typeof r.eval === "object") return { kind: "eval", step: r.step, scores: r.eval as Record<string, number | boolean | null> };
  if (r.rollback && typeof r.rollback === "object") return { kind: "rollback", step: r.step, rollback: r.rollback as Record<string, unknown> };
  const values = Object.fromEntries(stepFields.map((f) => [f, typeof r[f] === "number" ? r[f] : null])) as Record<StepField, number | null>;
  return { kind: "step", values };
}

/** One run directory, watched. */
export class WatchedRun {
  readonly path: string;
  records: StatsRecord[] = [];
  grids: Grid[] = [];
  skippedLines = 0;
  #offset = 0;
  #inode = -1;
  #pending = "";
  #gridNames = new Set<string>();
  #statusStamp = "";
  #status: RunSummary["status"] | null = null;

  constructor(
    readonly id: string,
    path: string,
  ) {
    this.path = resolve(path);
  }

  get name(): string {
    return basename(this.path);
  }

  /** Looks at the run's files and returns what changed since the last look. */
  poll(): RunChange[] {
    const changes: RunChange[] = [];
    this.#pollStats(changes);
    this.#pollGrids(changes);
    const status = this.#readStatus();
    if (JSON.stringify(status) !== this.#statusStamp) {
      this.#statusStamp = JSON.stringify(status);
      this.#status = status;
      changes.push({ type: "status", status });
    }
    return changes;
  }

  get status(): RunSummary["status"] {
    return this.#status ?? this.#readStatus();
  }

  summary(): RunSummary {
    const config = readJson(join(this.path, "config.json")) as { model?: { conditional?: boolean }; data?: { dataset: string } } | null;
    const card = readJson(join(this.path, "generator.json")) as { numClasses?: number } | null;
    return {
      id: this.id,
      name: this.name,
      path: this.path,
      status: this.status,
      config,
      card,
      numClasses: card?.numClasses ?? classesOf(config),
      hasGenerator: existsSync(join(this.path, "generator.safetensors")) || existsSync(join(this.path, "checkpoints")),
      skippedLines: this.skippedLines,
    };
  }

  #readStatus(): RunSummary["status"] {
    const status = readRunStatus(this.path);
    // The newest step record, found from the end (this runs on every poll; a run may hold 100,000 records).
    let step = 0;
    for (let i = this.records.length - 1; i >= 0; i--) {
      const r = this.records[i];
      if (r.kind === "step") {
        step = r.values.step ?? 0;
        break;
      }
    }
    return { ...status, step: Math.max(status.step ?? 0, step) };
  }

  #pollStats(changes: RunChange[]): void {
    const path = join(this.path, "stats.jsonl");
    let st: Stats;
    try {
      st = statSync(path);
    } catch {
      return;
    }
    if (st.ino !== this.#inode || st.size < this.#offset) {
      const hadAny = this.#inode !== -1 && (this.records.length > 0 || this.#offset > 0);
      this.#inode = st.ino;
      this.#offset = 0;
      this.#pending = "";
      this.records = [];
      this.skippedLines = 0;
      if (hadAny) changes.push({ type: "reset" });
    }
    if (st.size === this.#offset) return;
    const fd = openSync(path, "r");
    let text: string;
    try {
      const bytes = Buffer.alloc(st.size - this.#offset);
      const n = readSync(fd, bytes, 0, bytes.length, this.#offset);
      text = bytes.subarray(0, n).toString("utf8");
      this.#offset += n;
    } finally {
      closeSync(fd);
    }
    const lines = (this.#pending + text).split("\n");
    // The last piece has no newline yet: training may be writing it. Keep it for the next look.
    this.#pending = lines.pop() ?? "";
    const added: StatsRecord[] = [];
    for (const line of lines) {
      if (!line.trim()) continue;
      let record: StatsRecord | null = null;
      try {
        record = classifyRecord(JSON.parse(line));
      } catch {
        record = null;
      }
      if (record) added.push(record);
      else this.skippedLines++;
    }
    if (added.length) {
      this.records.push(...added);
      changes.push({ type: "records", records: added });
    }
  }

  #pollGrids(changes: RunChange[]): void {
    const dir = join(this.path, "samples");
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(".png") && !n.startsWith("."));
    } catch {
      return;
    }
    const fresh = names.filter((n) => !this.#gridNames.has(n));
    if (!fresh.length) return;
    const perEpoch = this.status.batchesPerEpoch;
    const added: Grid[] = [];
    for (const name of fresh) {
      let mtimeMs: number;
      try {
        // Regular files only: a symlink (which might point anywhere) is not a grid the run wrote.
        const st = lstatSync(join(dir, name));
        if (!st.isFile()) continue;
        mtimeMs = st.mtimeMs;
      } catch {
        continue;
      }
      this.#gridNames.add(name);
      added.push({ name, step: gridStep(name, perEpoch), mtimeMs });
    }
    this.grids.push(...added);
    this.grids.sort(compareGrids);
    changes.push({ type: "grids", grids: added.sort(compareGrids) });
  }
}

/** The step a grid shows, from its name: step-00001000.png, or epoch-003.png at batchesPerEpoch. */
export function gridStep(name: string, batchesPerEpoch: number | null): number | null {
  const step = /^step-(\d+)\.png$/.exec(name);
  if (step) return Number(step[1]);
  const epoch = /^epoch-(\d+)\.png$/.exec(name);
  if (epoch && batchesPerEpoch) return Number(epoch[1]) * batchesPerEpoch;
  return null;
}

/** In training order: by step where both are known, else by time written, then by name. */
function compareGrids(a: Grid, b: Grid): number {
  if (a.step !== null && b.step !== null && a.step !== b.step) return a.step - b.step;
  return a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name);
}

/** Whether a directory is a gantry run (it has config.json). */
export const isRunDir = (path: string): boolean => existsSync(join(path, "config.json"));

/**
 * The runs under the given paths: each path is a run directory, or a folder whose subfolders are
 * runs (looked at again on every discover(), so new runs appear).
 */
export class RunSet {
  readonly runs = new Map<string, WatchedRun>();
  readonly #roots: string[];

  constructor(paths: string[]) {
    this.#roots = paths.map((p) => resolve(p));
  }

  /** Finds runs not seen before; returns them. */
  discover(): WatchedRun[] {
    const found: WatchedRun[] = [];
    const known = new Set([...this.runs.values()].map((r) => r.path));
    for (const root of this.#roots) {
      const candidates = isRunDir(root) ? [root] : subfolders(root);
      for (const dir of candidates) {
        if (known.has(dir) || !isRunDir(dir)) continue;
        const run = new WatchedRun(this.#uniqueId(basename(dir)), dir);
        this.runs.set(run.id, run);
        known.add(dir);
        found.push(run);
      }
    }
    return found;
  }

  #uniqueId(name: string): string {
    const base = name.replace(/[^A-Za-z0-9._-]/g, "_") || "run";
    let id = base;
    for (let i = 2; this.runs.has(id); i++) id = `${base}-${i}`;
    return id;
  }
}

function subfolders(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(root, d.name))
      .sort();
  } catch {
    return [];
  }
}
