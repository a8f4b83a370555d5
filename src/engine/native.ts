// Loads the libtorch addon. Everything else in the engine goes through this module.
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { DTypeError, EngineError, GanError, NotImplementedError, OutOfMemoryError, ShapeError, ValueError } from "../errors.js";

/** An opaque reference to one libtorch tensor, owned by a Tensor (a BigInt naming a slot of the addon's table). */
export type Handle = { readonly __handle: unique symbol };
export type Arg = Handle | number | boolean | string | null | undefined | readonly Arg[];
export type Result = Handle | number | boolean | null | Result[];

export interface Native {
  resolveOp(name: string, overload: string): number;
  opSchema(id: number): string;
  /** Runs op `id` on its arguments, given positionally as the schema lists them. */
  call(id: number, ...args: Arg[]): Result;
  callVoid(id: number, ...args: Arg[]): void;
  fromBuffer(data: ArrayBufferView, shape: readonly number[], dtype: number): Handle;
  toBuffer(h: Handle): ArrayBuffer;
  item(h: Handle): number;
  meta(h: Handle): [number[], number, string, boolean];
  dispose(h: Handle): void;
  liveTensors(): number;
  setRequiresGrad(h: Handle, on: boolean): void;
  grad(h: Handle): Handle | null;
  setGrad(h: Handle, g: Handle | null): void;
  backward(h: Handle, gradient: Handle | null, retainGraph: boolean | null, createGraph: boolean): void;
  autogradGrad(
    outputs: Handle[],
    inputs: Handle[],
    gradOutputs: (Handle | null)[] | null,
    retainGraph: boolean | null,
    createGraph: boolean,
    allowUnused: boolean,
  ): (Handle | null)[];
  isGradEnabled(): boolean;
  setGradEnabled(on: boolean): void;
  manualSeed(seed: number): void;
  getRngState(device: string): Uint8Array;
  setRngState(device: string, state: Uint8Array): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** Keeps freed memory in the process (glibc's mmap and trim thresholds, native/malloc.cc); false where not glibc. */
  keepFreedMemory(): boolean;
  /** Registers (or removes) the matrix products split over libtorch's threads (native/gemm.cc); with no argument only reports; returns whether they are on. */
  setParallelGemm(on?: boolean): boolean;
  /** How many products have run split so far (for tests). */
  parallelGemmSplits(): number;
  cudaDeviceCount(): number;
  version(): string;
  /** Whether the addon was built with c10d's gloo backend (native/dist.cc). */
  distAvailable: boolean;
  distInit(options: { rank: number; worldSize: number; masterAddr: string; masterPort: number; timeoutMs: number; iface?: string }): GroupHandle;
  distAllreduce(group: GroupHandle, tensors: Handle[], average: boolean): void;
  distBroadcast(group: GroupHandle, tensors: Handle[], root: number): void;
  distBarrier(group: GroupHandle): void;
  distShutdown(group: GroupHandle): void;
  distReducer(group: GroupHandle, params: Handle[], bucketBytes: number, firstBucketBytes: number): ReducerHandle;
  distPrepareBackward(reducer: ReducerHandle, outputs: Handle[]): void;
  /** A new tensor: x summed over every rank; differentiable (its backward is the same sum). */
  distAllreduceSum(group: GroupHandle, x: Handle): Handle;
  distSyncBatchNorm(
    group: GroupHandle,
    x: Handle,
    weight: Handle | null,
    bias: Handle | null,
    runningMean: Handle | null,
    runningVar: Handle | null,
    momentum: number,
    eps: number,
  ): Handle;
}

/** An opaque reference to one c10d Reducer (DistributedDataParallel's gradient bucketing). */
export type ReducerHandle = { readonly __reducer: unique symbol };

/** An opaque reference to one c10d process group. */
export type GroupHandle = { readonly __group: unique symbol };

/**
 * The cores this process may use: the CPUs in its affinity mask (what availableParallelism reports)
 * capped by a cgroup v2 CPU quota (a container given 2 CPUs of a 64-core host sees 64 in its mask).
 */
export function availableCores(cpuMax = "/sys/fs/cgroup/cpu.max"): number {
  const cores = availableParallelism();
  try {
    const [quota, period] = readFileSync(cpuMax, "utf8").trim().split(/\s+/);
    if (quota === "max" || !period) return cores;
    return Math.max(1, Math.min(cores, Math.ceil(Number(quota) / Number(period)) || cores));
  } catch {
    return cores;
  }
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

function load(): Native {
  // Both are read once, when the libraries load. OpenBLAS's own thread pool would fight
  // libtorch's. libgomp's workers spin between parallel regions by default: on a machine where
  // another job holds a core they steal its time and the step runs 2.3x slower; passive workers
  // sleep instead, at no cost when the machine is idle (bench/threads.ts measures both).
  process.env.OPENBLAS_NUM_THREADS ??= "1";
  process.env.OMP_WAIT_POLICY ??= "PASSIVE";
  const path = join(root, "build", "Release", "gantry.node");
  if (!existsSync(path)) {
    throw new EngineError(`gantry's native addon is not built (${path} is missing): run \`npm run build:native\``);
  }
  const addon = createRequire(import.meta.url)(path) as Native;
  const threads = Number(process.env.GANTRY_NUM_THREADS ?? availableCores());
  addon.setNumThreads(Math.max(1, Math.floor(threads) || 1));
  // Matrix products on every thread while OpenBLAS runs on one (native/gemm.cc);
  // GANTRY_PARALLEL_GEMM=0 keeps libtorch's single-threaded kernel.
  addon.setParallelGemm(process.env.GANTRY_PARALLEL_GEMM !== "0");
  // Freed activations stay in the heap rather than returning as fresh, page-faulting pages
  // (native/malloc.cc). glibc's own variables, or GANTRY_MALLOC=default, keep its defaults.
  const mallocSet = process.env.MALLOC_MMAP_THRESHOLD_ ?? process.env.MALLOC_TRIM_THRESHOLD_;
  if (mallocSet === undefined && process.env.GANTRY_MALLOC !== "default") addon.keepFreedMemory();
  return addon;
}

// A plain libtorch Error carries no finer type (TORCH_CHECK raises it for most shape and dtype
// mistakes), so its wording is the only clue left: used for the base class alone.
const shapeWords = /size|shape|dimension|mat1 and mat2|same number of|expected .*dim|must match|out of range|invalid for input of size|broadcast/i;
const dtypeWords = /dtype|scalar type|expected .*(Float|Double|Long|Half|BFloat16|Byte|Bool)|promot/i;

/** Keeps the first lines of libtorch's longest messages (the dispatcher lists every backend). */
function trimmed(message: string): string {
  const lines = message.split("\n");
  return lines.length <= 6 ? message : `${lines.slice(0, 3).join("\n")}\n(${lines.length - 3} more lines of libtorch's message; GANTRY_DEBUG=1 shows them)`;
}

/** Maps an error thrown by the addon to gantry's classes by the C++ exception's type. */
export function translate(err: unknown): Error {
  if (err instanceof GanError || !(err instanceof Error)) return err as Error;
  const kind = (err as Error & { gantryKind?: string }).gantryKind;
  if (kind === undefined) return err;
  const options = { cause: err };
  if (/Could not run '[^']+' with arguments from the '(CUDA|MPS)' backend/.test(err.message) && !cudaBuilt()) {
    const what = err.message.split(". ")[0];
    return new NotImplementedError(
      `${what}: this libtorch was built without CUDA (Debian's libtorch is CPU-only; README, "GPUs", says how to build against a CUDA PyTorch)`,
      options,
    );
  }
  const message = trimmed(err.message);
  switch (kind) {
    case "argument":
      return new GanError(message, options);
    case "index":
      return new ShapeError(message, options);
    case "value":
      return new ValueError(message, options);
    case "type":
      return new DTypeError(message, options);
    case "notImplemented":
      return new NotImplementedError(message, options);
    case "outOfMemory":
      return new OutOfMemoryError(message, options);
    default:
      if (/not implemented for '/.test(message)) return new NotImplementedError(message, options);
      if (shapeWords.test(message)) return new ShapeError(message, options);
      if (dtypeWords.test(message)) return new DTypeError(message, options);
      return new EngineError(message, options);
  }
}

let addon: Native | null = null;
const cudaBuilt = () => (addon?.cudaDeviceCount() ?? 0) > 0;

/** Every addon function, throwing gantry's typed errors; the op calls add their own context. */
function guard(addon: Native): Native {
  // The op calls add their own context; dispose is on every op's path and only a misuse throws.
  const direct = new Set(["call", "callVoid", "dispose"]);
  return Object.fromEntries(
    Object.entries(addon).map(([name, fn]) => [
      name,
      direct.has(name) || typeof fn !== "function"
        ? fn
        : (...args: unknown[]) => {
            try {
              return (fn as (...a: unknown[]) => unknown)(...args);
            } catch (err) {
              throw translate(err);
            }
          },
    ]),
  ) as unknown as Native;
}

addon = load();
export const native: Native = guard(addon);
