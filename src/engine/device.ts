// Devices, threads and random number generator state.
import { native } from "./native.js";
import { GanError } from "../errors.js";

/** The devices this libtorch can use: 'cpu' always, then 'cuda:0', 'cuda:1', ... */
export function devices(): string[] {
  const count = native.cudaDeviceCount();
  return ["cpu", ...Array.from({ length: count }, (_, i) => `cuda:${i}`)];
}

export function cudaAvailable(): boolean {
  return native.cudaDeviceCount() > 0;
}

/** Checks a device name and returns it; 'cuda' alone means 'cuda:0'. */
export function resolveDevice(device: string): string {
  const name = device === "cuda" ? "cuda:0" : device;
  if (name === "cpu") return name;
  if (/^cuda:\d+$/.test(name)) {
    if (!cudaAvailable()) {
      throw new GanError(`device '${device}' is not available: gantry's libtorch was built without CUDA or sees no GPU (devices: ${devices().join(", ")})`);
    }
    if (!devices().includes(name)) throw new GanError(`device '${device}' does not exist (devices: ${devices().join(", ")})`);
    return name;
  }
  throw new GanError(`unknown device '${device}': expected 'cpu', 'cuda' or 'cuda:N'`);
}

export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new GanError(`setNumThreads(): expected a positive integer, got ${n}`);
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}

/**
 * Whether CPU matrix products (mm, addmm: Linear layers and their gradients) are split over
 * libtorch's threads. On by default where OpenBLAS runs on one thread (GANTRY_PARALLEL_GEMM=0
 * turns it off); `on` switches it, and where the split cannot help it stays off. Returns the state.
 */
export function parallelGemm(on?: boolean): boolean {
  return native.setParallelGemm(on);
}

/** Seeds the CPU generator and every CUDA generator, as torch.manual_seed. */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new GanError(`manualSeed(): expected a non-negative integer, got ${seed}`);
  native.manualSeed(seed);
}

/** The generator state of every device, to save in a checkpoint. */
export function getRngState(): Record<string, Uint8Array> {
  return Object.fromEntries(devices().map((d) => [d, native.getRngState(d)]));
}

export function setRngState(state: Record<string, Uint8Array>): void {
  for (const [device, bytes] of Object.entries(state)) {
    if (devices().includes(device)) native.setRngState(device, bytes);
  }
}

export function torchVersion(): string {
  return native.version();
}

/**
 * Runs `fn` with libtorch's generators seeded with `seed`, then puts their previous states back,
 * as torch.random.fork_rng does: code that needs its own reproducible randomness (evaluation,
 * sampling) never disturbs the caller's stream.
 */
export function withSeed<T>(seed: number, fn: () => T): T {
  const saved = getRngState();
  manualSeed(seed);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    setRngState(saved);
    throw err;
  }
  if (result instanceof Promise) return result.finally(() => setRngState(saved)) as T;
  setRngState(saved);
  return result;
}
