// Loads the libtorch addon. Everything else in the engine goes through this module.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { EngineError } from "../errors.js";

/** An opaque reference to one libtorch tensor, owned by a Tensor. */
export type Handle = { readonly __handle: unique symbol };
export type Arg = Handle | number | boolean | string | null | undefined | readonly Arg[];
export type Result = Handle | number | boolean | null | Result[];

export interface Native {
  resolveOp(name: string, overload: string): number;
  opSchema(id: number): string;
  call(id: number, args: Arg[]): Result;
  callVoid(id: number, args: Arg[]): void;
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
    outputs: Handle[], inputs: Handle[], gradOutputs: (Handle | null)[] | null,
    retainGraph: boolean | null, createGraph: boolean, allowUnused: boolean,
  ): (Handle | null)[];
  isGradEnabled(): boolean;
  setGradEnabled(on: boolean): void;
  manualSeed(seed: number): void;
  getRngState(device: string): Uint8Array;
  setRngState(device: string, state: Uint8Array): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaDeviceCount(): number;
  version(): string;
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

function load(): Native {
  // OpenBLAS reads this when it is loaded: its own thread pool would fight libtorch's.
  process.env.OPENBLAS_NUM_THREADS ??= "1";
  const path = join(root, "build", "Release", "gantry.node");
  if (!existsSync(path)) {
    throw new EngineError(`gantry's native addon is not built (${path} is missing): run \`npm run build:native\``);
  }
  const addon = createRequire(import.meta.url)(path) as Native;
  const threads = Number(process.env.GANTRY_NUM_THREADS ?? availableParallelism());
  addon.setNumThreads(Math.max(1, Math.floor(threads) || 1));
  return addon;
}

export const native: Native = load();
