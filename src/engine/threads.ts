// How many threads libtorch should use, chosen again while training runs. On a machine where
// another CPU-bound job holds a core, N threads on N cores fight it and every parallel region
// waits for the slowest worker; running on only the cores left free avoids that. The governor
// samples /proc/stat every few seconds, subtracts this process's own CPU time, and follows the
// cores the other processes leave free, changing the count only when two samples agree.
// GANTRY_NUM_THREADS fixes the count and turns the governor off.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { availableCores } from "./native.js";
import { getNumThreads, setNumThreads } from "./device.js";

/** Jiffies summed over every CPU: busy (user, nice, system, irq, softirq, steal) and in all. */
export interface CpuTimes {
  busy: number;
  total: number;
  cpus: number;
}

/** Reads the aggregate "cpu" line of /proc/stat (and counts the per-CPU lines). */
export function parseProcStat(text: string): CpuTimes | null {
  const lines = text.split("\n");
  const fields = lines
    .find((l) => l.startsWith("cpu "))
    ?.trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  if (!fields || fields.length < 4 || fields.some((f) => !Number.isFinite(f))) return null;
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait, cpus: lines.filter((l) => /^cpu\d+ /.test(l)).length };
}

export interface GovernorIO {
  /** The machine's CPU times; null where there is no /proc/stat. */
  cpuTimes(): CpuTimes | null;
  /** CPU seconds this process has used, all its threads together. */
  ownCpuSeconds(): number;
  /** Wall-clock seconds. */
  now(): number;
  getThreads(): number;
  setThreads(n: number): void;
}

const systemIO: GovernorIO = {
  cpuTimes() {
    try {
      return parseProcStat(readFileSync("/proc/stat", "utf8"));
    } catch {
      return null;
    }
  },
  ownCpuSeconds() {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  },
  now: () => performance.now() / 1000,
  getThreads: getNumThreads,
  setThreads: setNumThreads,
};

export interface ThreadChange {
  threads: number;
  previous: number;
  /** Cores the other processes used over the last interval. */
  others: number;
  cpus: number;
}

export class ThreadGovernor {
  #last: { time: number; cpu: CpuTimes; own: number } | null = null;
  #proposed: number | null = null;

  /**
   * `cores`: the most threads to use (the cores this process may run on). `intervalS`: seconds
   * between samples.
   */
  constructor(
    readonly cores = availableCores(),
    readonly intervalS = 2,
    private readonly io: GovernorIO = systemIO,
  ) {}

  /** The governor for this process, or null when GANTRY_NUM_THREADS fixes the count. */
  static fromEnv(): ThreadGovernor | null {
    return process.env.GANTRY_NUM_THREADS ? null : new ThreadGovernor();
  }

  /**
   * Cheap between samples; at each sample returns the change it made, if any. Call it between
   * training steps.
   */
  tick(): ThreadChange | null {
    const time = this.io.now();
    if (this.#last && time - this.#last.time < this.intervalS) return null;
    const cpu = this.io.cpuTimes();
    if (!cpu) return null;
    const own = this.io.ownCpuSeconds();
    const last = this.#last;
    this.#last = { time, cpu, own };
    if (!last || cpu.total <= last.cpu.total || cpu.cpus !== last.cpu.cpus) return null;
    const allCores = ((cpu.busy - last.cpu.busy) / (cpu.total - last.cpu.total)) * cpu.cpus;
    const others = Math.max(0, allCores - (own - last.own) / (time - last.time));
    const target = Math.max(1, Math.min(this.cores, Math.round(cpu.cpus - others)));
    const current = this.io.getThreads();
    if (target === current) {
      this.#proposed = null;
      return null;
    }
    // Two samples in a row must agree: a compile or a short burst elsewhere is no reason to change.
    if (this.#proposed !== target) {
      this.#proposed = target;
      return null;
    }
    this.#proposed = null;
    this.io.setThreads(target);
    return { threads: target, previous: current, others, cpus: cpu.cpus };
  }
}

/** The one line a user sees when the governor changes the thread count. */
export function describeChange(c: ThreadChange): string {
  const others = `other processes are using ${c.others.toFixed(1)} of ${c.cpus} cores`;
  return c.threads < c.previous
    ? `${others}: training on ${c.threads} thread${c.threads === 1 ? "" : "s"} instead of ${c.previous} while they run (GANTRY_NUM_THREADS=N fixes the count)`
    : `${others}: back to ${c.threads} threads`;
}
