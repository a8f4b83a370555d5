// IDX files (LeCun's MNIST format), gzipped or not: a magic number 0x0000 TT DD (TT the element
// type, DD the dimension count), DD big-endian uint32 sizes, then the elements row-major.
import { gunzipSync, gzipSync } from "node:zlib";
import { DataError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { readBytes } from "../util/read-file.js";

/** uint8 elements with their shape: images (N, H, W) or labels (N). */
export interface IdxArray {
  data: Uint8Array;
  shape: number[];
}

const UINT8 = 0x08;

/** Parses IDX bytes; `source` names the file in errors. Bytes may be gzipped. */
export function parseIdx(raw: Uint8Array, source: string): IdxArray {
  let bytes = raw;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new DataError(`${source}: gzip data is corrupt or truncated (${(err as Error).message})`, { cause: err });
    }
  }
  if (bytes.length < 4) throw new DataError(`${source}: ${bytes.length} bytes is too short for an IDX file (the magic number alone is 4)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Buffer.from(bytes.subarray(0, 4)).toString("hex");
    throw new DataError(`${source}: wrong magic number 0x${magic}: an IDX file starts with 0x0000 followed by a type and a dimension count`);
  }
  if (bytes[2] !== UINT8) {
    throw new DataError(`${source}: element type 0x${bytes[2].toString(16)} is not supported: gantry reads uint8 IDX files (type 0x08)`);
  }
  const ndim = bytes[3];
  const headerLength = 4 + 4 * ndim;
  if (ndim === 0 || bytes.length < headerLength) {
    throw new DataError(`${source}: the header announces ${ndim} dimensions but the file ends at byte ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = shape.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerLength;
  if (actual !== expected) {
    const how = actual < expected ? "truncated" : "longer than its header says";
    throw new DataError(`${source}: ${how}: dimensions [${shape.join(", ")}] need ${expected} bytes of data, the file has ${actual}`);
  }
  return { data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerLength, expected), shape };
}

export function readIdx(path: string): IdxArray {
  return parseIdx(readBytes(path, DataError), path);
}

export function encodeIdx({ data, shape }: IdxArray): Uint8Array {
  const expected = shape.reduce((a, b) => a * b, 1);
  if (data.length !== expected) throw new DataError(`IDX shape [${shape.join(", ")}] needs ${expected} bytes, got ${data.length}`);
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = UINT8;
  header[3] = shape.length;
  shape.forEach((d, i) => {
    header.writeUInt32BE(d, 4 + 4 * i);
  });
  return Buffer.concat([header, data]);
}

/** Writes an IDX file, gzipped when the path ends in .gz. */
export function writeIdx(path: string, array: IdxArray): void {
  const bytes = encodeIdx(array);
  writeFileAtomic(path, path.endsWith(".gz") ? gzipSync(bytes) : bytes);
}
