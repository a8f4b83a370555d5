// Making tensors: from JS data, filled, random and ranges. dtype defaults to float32, device to cpu.
import { native } from "./native.js";
import { op } from "./dispatch.js";
import { Tensor, wrap } from "./tensor.js";
import { dtypeCode, dtypeOfArray, dtypes, type DType } from "./dtype.js";
import { GanError, ShapeError } from "../errors.js";

export interface TensorOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

type Nested = number | boolean | readonly Nested[];

function finish(t: Tensor, options: TensorOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

/** The [dtype code, layout, device, pin_memory] tail that factory ops take. */
function factory(options: TensorOptions, fallback: DType = "float32") {
  return [dtypeCode(options.dtype ?? fallback), null, options.device ?? null, null] as const;
}

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let level: Nested = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

/**
 * A tensor from nested arrays or a typed array. A typed array is taken flat: pass `shape`.
 */
export function tensor(data: Nested | ArrayBufferView, options: TensorOptions & { shape?: readonly number[] } = {}): Tensor {
  if (options.dtype !== undefined) dtypeCode(options.dtype); // an unknown dtype is a DTypeError, named
  const half = options.dtype === "bfloat16" || options.dtype === "float16";
  if (half && !(data instanceof Uint16Array)) {
    // Numbers for a 16-bit float dtype: libtorch rounds them from float32.
    const wide = tensor(data, { ...options, dtype: "float32", requiresGrad: false });
    const narrow = wide.to({ dtype: options.dtype });
    wide.dispose();
    return finish(narrow, options);
  }
  let flat: ArrayBufferView;
  let shape: readonly number[];
  let dtype: DType;
  if (ArrayBuffer.isView(data)) {
    dtype = options.dtype ?? dtypeOfArray(data);
    const length = (data as unknown as ArrayLike<number>).length;
    shape = options.shape ?? [length];
    if (dtypes[dtype].array !== data.constructor) {
      // e.g. a Float64Array for a float32 tensor: convert element by element.
      flat =
        dtype === "int64"
          ? BigInt64Array.from(data as unknown as ArrayLike<number>, (v) => BigInt(Math.trunc(v)))
          : new dtypes[dtype].array(data as unknown as ArrayLike<number> as never);
    } else {
      flat = data;
    }
  } else {
    shape = options.shape ?? inferShape(data);
    const values: (number | boolean)[] = Array.isArray(data) ? ((data as unknown[]).flat(Infinity as 1) as (number | boolean)[]) : [data as number | boolean];
    dtype = options.dtype ?? (typeof values[0] === "boolean" ? "bool" : "float32");
    const expected = shape.reduce((a, b) => a * b, 1);
    if (values.length !== expected) {
      throw new ShapeError(`tensor(): ${values.length} values do not fill shape [${shape.join(", ")}] (ragged nested arrays?)`);
    }
    flat = dtype === "int64" ? BigInt64Array.from(values, (v) => BigInt(Math.trunc(Number(v)))) : new dtypes[dtype].array(values.map(Number));
  }
  const needed = shape.reduce((a, b) => a * b, 1);
  const given = (flat as unknown as ArrayLike<unknown>).length;
  if (given !== needed) throw new ShapeError(`tensor(): ${given} values for shape [${shape.join(", ")}], which holds ${needed}`);
  let t = new Tensor(native.fromBuffer(flat, shape, dtypeCode(dtype)));
  if (options.device && options.device !== "cpu") {
    const moved = t.to({ device: options.device });
    t.dispose();
    t = moved;
  }
  return finish(t, options);
}

/** Uninitialized memory: for parameters that an initializer fills next. */
export function empty(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return finish(wrap(op("aten::empty.memory_format").call([shape, ...factory(options)])), options);
}
export function zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return finish(wrap(op("aten::zeros").call([shape, ...factory(options)])), options);
}
export function ones(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return finish(wrap(op("aten::ones").call([shape, ...factory(options)])), options);
}
export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  return finish(wrap(op("aten::full").call([shape, value, ...factory(options)])), options);
}
/** Uniform on [0, 1). */
export function rand(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return finish(wrap(op("aten::rand").call([shape, ...factory(options)])), options);
}
/** Standard normal. */
export function randn(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return finish(wrap(op("aten::randn").call([shape, ...factory(options)])), options);
}
/** Integers uniform on [low, high), int64 unless dtype says otherwise. */
export function randint(low: number, high: number, shape: readonly number[], options: TensorOptions = {}): Tensor {
  if (!(high > low)) throw new GanError(`randint(): high (${high}) must be greater than low (${low})`);
  return wrap(op("aten::randint.low").call([low, high, shape, ...factory(options, "int64")]));
}
/** start, start+step, ... below end; int64 when all three are integers, as torch.arange. */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  const integral = [start, end, step].every(Number.isInteger);
  return wrap(op("aten::arange.start_step").call([start, end, step, ...factory(options, integral ? "int64" : "float32")]));
}

function like(name: string, t: Tensor, extra: number[] = []): Tensor {
  return wrap(op(name).call([t.handle, ...extra]));
}
export const zerosLike = (t: Tensor) => like("aten::zeros_like", t);
export const onesLike = (t: Tensor) => like("aten::ones_like", t);
export const randnLike = (t: Tensor) => like("aten::randn_like", t);
export const randLike = (t: Tensor) => like("aten::rand_like", t);
export const fullLike = (t: Tensor, value: number) => like("aten::full_like", t, [value]);

export function liveTensors(): number {
  return native.liveTensors();
}
