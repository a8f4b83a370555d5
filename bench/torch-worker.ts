// Drives bench/torch_worker.py (Debian's python3-torch) so PyTorch and gantry run side by side,
// in alternating rounds of one benchmark run.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { Writable } from "node:stream";
import { Progress } from "../src/train/progress.js";

const script = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "torch_worker.py");

export class TorchWorker {
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;
  readonly #pending: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];

  /** `env`: more environment for the Python process (the benchmarks' PyTorch given gantry's malloc settings). */
  constructor(env: NodeJS.ProcessEnv = {}, python = process.env.TORCH_PYTHON ?? "/usr/bin/python3") {
    this.#proc = spawn(python, [script], { env: { ...process.env, OPENBLAS_NUM_THREADS: "1", ...env } });
    this.#proc.stderr.on("data", (d) => process.stderr.write(`[torch] ${d}`));
    this.#lines = createInterface({ input: this.#proc.stdout });
    this.#lines.on("line", (line) => this.#pending.shift()?.resolve(line));
    this.#proc.on("exit", (code) => {
      for (const p of this.#pending.splice(0)) p.reject(new Error(`the PyTorch worker exited with code ${code}`));
    });
  }

  ask<T>(command: string): Promise<T> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve: (line) => resolve(JSON.parse(line) as T), reject });
      this.#proc.stdin.write(`${command}\n`);
    });
  }

  close(): void {
    this.#proc.stdin.end("quit\n");
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const scratch: string[] = [];

/** A run directory for a benchmark, removed when the process exits. */
export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gantry-bench-"));
  if (!scratch.length) {
    process.on("exit", () => {
      for (const d of scratch) rmSync(d, { recursive: true, force: true });
    });
  }
  scratch.push(dir);
  return dir;
}

/** The line every benchmark prints first: the CPU (models vary between machines), cores and Node. */
export function machineLine(): string {
  return `cpu: ${cpus()[0]?.model} x${cpus().length}; node ${process.version}`;
}

/** A progress display that prints nothing, for trainers a benchmark drives step by step. */
export function silentProgress(): Progress {
  return new Progress(new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WriteStream, false);
}
