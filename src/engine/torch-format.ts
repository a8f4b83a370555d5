// PyTorch's own file format, as torch.save writes it and torch.load(weights_only=True) reads it:
// a ZIP archive (stored, not compressed) holding ARCHIVE/data.pkl, a protocol-2 pickle of an
// OrderedDict whose tensors are rebuilt by torch._utils._rebuild_tensor_v2 from persistent
// storages, ARCHIVE/data/N, the raw little-endian bytes of storage N, and ARCHIVE/version.
import type { Tensor } from "./tensor.js";
import { tidy } from "./scope.js";
import type { DType } from "./dtype.js";
import { CheckpointError } from "../errors.js";

const storageClass: Record<DType, string> = {
  float32: "FloatStorage",
  float64: "DoubleStorage",
  float16: "HalfStorage",
  bfloat16: "BFloat16Storage",
  int64: "LongStorage",
  int32: "IntStorage",
  uint8: "ByteStorage",
  bool: "BoolStorage",
};

/** A minimal pickle writer: the opcodes a state dict needs (protocol 2). */
class Pickler {
  readonly #parts: Buffer[] = [Buffer.from([0x80, 2])]; // PROTO 2
  op(byte: number, payload?: Buffer): this {
    this.#parts.push(Buffer.from([byte]));
    if (payload) this.#parts.push(payload);
    return this;
  }
  global(module: string, name: string): this {
    return this.op(0x63, Buffer.from(`${module}\n${name}\n`)); // GLOBAL
  }
  string(s: string): this {
    const bytes = Buffer.from(s, "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.length);
    return this.op(0x58, Buffer.concat([length, bytes])); // BINUNICODE
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, Buffer.from([n])); // BININT1
    if (n >= -(2 ** 31) && n < 2 ** 31) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(n);
      return this.op(0x4a, b); // BININT
    }
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    return this.op(0x8a, Buffer.concat([Buffer.from([8]), b])); // LONG1
  }
  tuple(items: number[]): this {
    this.op(0x28); // MARK
    for (const i of items) this.int(i);
    return this.op(0x74); // TUPLE
  }
  mark = () => this.op(0x28);
  bytes(): Buffer {
    return Buffer.concat([...this.#parts, Buffer.from([0x2e])]); // STOP
  }
}

/** Row-major strides of a contiguous tensor. */
function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i];
  }
  return out;
}

/** The pickle of an OrderedDict of tensors, each backed by its own storage named by its index. */
function statePickle(entries: [string, Tensor][]): Buffer {
  const p = new Pickler();
  p.global("collections", "OrderedDict").op(0x29).op(0x52); // OrderedDict()
  p.mark();
  entries.forEach(([name, t], i) => {
    p.string(name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.mark();
    // the persistent id: ("storage", StorageClass, key, location, numel)
    p.mark().string("storage").global("torch", storageClass[t.dtype]).string(String(i)).string("cpu").int(t.size).op(0x74).op(0x51); // TUPLE, BINPERSID
    p.int(0)
      .tuple([...t.shape])
      .tuple(strides(t.shape));
    p.op(0x89); // requires_grad: NEWFALSE
    p.global("collections", "OrderedDict").op(0x29).op(0x52); // backward hooks
    p.op(0x74).op(0x52); // TUPLE, REDUCE
  });
  p.op(0x75); // SETITEMS
  return p.bytes();
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A stored ZIP archive. Each file's data starts at a multiple of 64 bytes (padding in the local
 * header's extra field), as PyTorch's writer aligns them so that storages can be memory-mapped.
 */
function zip(files: [string, Uint8Array][]): Buffer[] {
  const out: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBytes = Buffer.from(name);
    const headerSize = 30 + nameBytes.length;
    const pad = (64 - ((offset + headerSize + 4) % 64)) % 64;
    const extra = Buffer.alloc(4 + pad);
    extra.writeUInt16LE(0x4746, 0); // an unregistered id, as PyTorch uses for its padding ("FG")
    extra.writeUInt16LE(pad, 2);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(0, 10); // time, date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(extra.length, 28);
    out.push(local, nameBytes, extra, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(data.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(nameBytes.length, 28);
    entry.writeUInt32LE(offset, 42);
    central.push(entry, nameBytes);
    offset += local.length + nameBytes.length + extra.length + data.length;
    if (offset >= 2 ** 32) throw new CheckpointError("torch export: the state dict is over 4 GiB, which needs ZIP64 (not written yet)");
  }
  const centralSize = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return [...out, ...central, end];
}

/**
 * A state dict as the bytes of a file that `torch.load(path, weights_only=True)` reads back as an
 * OrderedDict of tensors. `archive` names the folder inside the ZIP (torch.save uses the file's stem).
 */
export function torchSave(state: Record<string, Tensor>, archive = "archive"): Buffer[] {
  const entries = Object.entries(state);
  const files: [string, Uint8Array][] = [[`${archive}/data.pkl`, statePickle(entries)]];
  entries.forEach(([, t], i) => {
    const d = tidy(() => t.to("cpu").contiguous().data());
    files.push([`${archive}/data/${i}`, new Uint8Array(d.buffer, d.byteOffset, d.byteLength)]);
  });
  files.push([`${archive}/version`, Buffer.from("3\n")]);
  return zip(files);
}
