// Data types: gantry's names, libtorch's ScalarType codes, and the typed arrays that carry them.
import { DTypeError, GanError } from "../errors.js";

export const dtypes = {
  uint8: { code: 0, array: Uint8Array },
  int32: { code: 3, array: Int32Array },
  int64: { code: 4, array: BigInt64Array },
  float16: { code: 5, array: Uint16Array }, // raw float16 bits
  float32: { code: 6, array: Float32Array },
  float64: { code: 7, array: Float64Array },
  bool: { code: 11, array: Uint8Array },
  bfloat16: { code: 15, array: Uint16Array }, // raw bfloat16 bits
} as const;

export type DType = keyof typeof dtypes;
export type TypedArrayOf<D extends DType> = InstanceType<(typeof dtypes)[D]["array"]>;
export type AnyTypedArray = TypedArrayOf<DType>;

const byCode = new Map<number, DType>(Object.entries(dtypes).map(([name, d]) => [d.code, name as DType]));

export function dtypeCode(dtype: DType): number {
  const entry = dtypes[dtype];
  if (!entry || !Object.hasOwn(dtypes, dtype)) throw new DTypeError(`unknown dtype '${dtype}': expected one of ${Object.keys(dtypes).join(", ")}`);
  return entry.code;
}

export function dtypeName(code: number): DType {
  const name = byCode.get(code);
  if (!name) throw new GanError(`libtorch returned ScalarType ${code}, which gantry does not expose`);
  return name;
}

export function isFloating(dtype: DType): boolean {
  return dtype === "float16" || dtype === "float32" || dtype === "float64" || dtype === "bfloat16";
}

/** The dtype a typed array holds by default. */
export function dtypeOfArray(data: ArrayBufferView): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Uint16Array) return "bfloat16";
  throw new GanError(`cannot make a tensor from a ${data.constructor.name}`);
}
