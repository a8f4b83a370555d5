// safetensors read and write, so gantry's weights open in PyTorch with
// safetensors.torch.load_file and the reverse. The format:
//   8 bytes   N, the header's length, unsigned little-endian
//   N bytes   JSON: {"__metadata__": {str: str}, NAME: {"dtype", "shape", "data_offsets": [begin, end]}}
//             padded with spaces to a multiple of 8
//   the rest  the tensors' bytes, little-endian, row-major; offsets count from here
import { createHash } from "node:crypto";
import { native } from "./native.js";
import { Tensor } from "./tensor.js";
import { dtypeCode, type DType } from "./dtype.js";
import { CheckpointError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { readBytes } from "../util/read-file.js";

// rank: the position of the dtype in the reference implementation's Dtype enum, by which it
// orders tensors in a file (highest first, then by name).
const formatDtypes: Record<string, { dtype: DType; bytes: number; rank: number }> = {
  I64: { dtype: "int64", bytes: 8, rank: 8 },
  F64: { dtype: "float64", bytes: 8, rank: 7 },
  F32: { dtype: "float32", bytes: 4, rank: 6 },
  I32: { dtype: "int32", bytes: 4, rank: 5 },
  BF16: { dtype: "bfloat16", bytes: 2, rank: 4 },
  F16: { dtype: "float16", bytes: 2, rank: 3 },
  U8: { dtype: "uint8", bytes: 1, rank: 2 },
  BOOL: { dtype: "bool", bytes: 1, rank: 1 },
};
const formatName = Object.fromEntries(Object.entries(formatDtypes).map(([k, v]) => [v.dtype, k])) as Record<DType, string>;

export type TensorDict = Record<string, Tensor>;
export type Metadata = Record<string, string>;

/**
 * The metadata key under which gantry records the SHA-256 of a file's data section, so that a
 * truncated or bit-flipped checkpoint is caught on load. Files without it load unchecked.
 */
export const DIGEST_KEY = "gantry-sha256";

export interface SerializeOptions {
  /** Record the data section's SHA-256 in the metadata (verified by deserialize). */
  digest?: boolean;
}

/** Serializes tensors to safetensors bytes, ordered as the reference implementation orders them. */
export function serialize(tensors: TensorDict, metadata?: Metadata, options: SerializeOptions = {}): Uint8Array[] {
  const entries = Object.entries(tensors).map(([name, t]) => {
    const format = formatName[t.dtype];
    if (!format) throw new CheckpointError(`safetensors: tensor '${name}' has dtype ${t.dtype}, which the format cannot hold`);
    return { name, t, format, rank: formatDtypes[format].rank };
  });
  // The reference order: by dtype rank, then by name. Wider dtypes rank higher, so every
  // tensor starts aligned to its element size.
  entries.sort((a, b) => b.rank - a.rank || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  const blobs: Uint8Array[] = [];
  const tensorHeaders: Record<string, unknown> = {};
  let offset = 0;
  for (const { name, t, format } of entries) {
    const data = t.data();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    tensorHeaders[name] = { dtype: format, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    blobs.push(bytes);
  }
  const meta = { ...metadata, ...(options.digest ? { [DIGEST_KEY]: digestOf(blobs) } : {}) };
  if (Object.keys(meta).length) header.__metadata__ = meta;
  Object.assign(header, tensorHeaders);
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  return [prefix, headerBytes, ...blobs];
}

function digestOf(blobs: readonly Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const b of blobs) hash.update(b);
  return hash.digest("hex");
}

export function saveSafetensors(path: string, tensors: TensorDict, metadata?: Metadata, options?: SerializeOptions): void {
  writeFileAtomic(path, serialize(tensors, metadata, options));
}

/** Parses safetensors bytes; `source` names the file in errors. */
export function deserialize(bytes: Uint8Array, source = "safetensors data"): { tensors: TensorDict; metadata: Metadata } {
  const fail = (why: string): never => {
    throw new CheckpointError(`${source}: not a valid safetensors file: ${why}`);
  };
  if (bytes.byteLength < 8) fail(`it is ${bytes.byteLength} bytes long, shorter than the 8-byte header length`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > bytes.byteLength - 8) fail(`the header claims ${headerLength} bytes but only ${bytes.byteLength - 8} follow`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString("utf8"));
  } catch (err) {
    return fail(`its header is not JSON (${(err as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("its header is not a JSON object");
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Metadata;
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) fail("its __metadata__ is not a JSON object");
  // The data section must end where the last tensor ends: fewer bytes is a truncated file.
  const dataEnd = Object.entries(header).reduce((end, [name, raw]) => {
    const offsets = name === "__metadata__" ? null : (raw as { data_offsets?: unknown })?.data_offsets;
    return Array.isArray(offsets) && Number.isInteger(offsets[1]) ? Math.max(end, offsets[1] as number) : end;
  }, 0);
  if (dataEnd > dataLength) fail(`it is truncated: its header needs ${dataEnd} bytes of tensor data, the file holds ${dataLength}`);
  const digest = metadata[DIGEST_KEY];
  if (digest !== undefined) {
    const actual = digestOf([new Uint8Array(bytes.buffer, bytes.byteOffset + dataStart, dataLength)]);
    if (actual !== digest) fail(`its tensor data does not match the SHA-256 recorded when it was written (corrupted on disk?)`);
  }
  const tensors: TensorDict = {};
  try {
    for (const [name, raw] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const info = raw as { dtype?: string; shape?: unknown; data_offsets?: unknown };
      const format = formatDtypes[info?.dtype ?? ""];
      if (!format) fail(`tensor '${name}' has dtype ${JSON.stringify(info?.dtype)}; gantry reads ${Object.keys(formatDtypes).join(", ")}`);
      const shape = info.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
        fail(`tensor '${name}' has shape ${JSON.stringify(shape)}, not a list of sizes`);
      const offsets = info.data_offsets;
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(Number.isInteger))
        fail(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}`);
      const [begin, end] = offsets as [number, number];
      const expected = (shape as number[]).reduce((a, b) => a * b, 1) * format.bytes;
      if (begin < 0 || end < begin || end > dataLength) fail(`tensor '${name}' spans bytes ${begin}..${end} but the data is ${dataLength} bytes`);
      if (end - begin !== expected)
        fail(`tensor '${name}' of shape [${(shape as number[]).join(", ")}] ${info.dtype} needs ${expected} bytes, its offsets give ${end - begin}`);
      const view = new Uint8Array(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
      tensors[name] = new Tensor(native.fromBuffer(view, shape as number[], dtypeCode(format.dtype)));
    }
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  }
  return { tensors, metadata };
}

export function loadSafetensors(path: string): { tensors: TensorDict; metadata: Metadata } {
  return deserialize(readBytes(path, CheckpointError), path);
}
