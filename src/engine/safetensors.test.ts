// safetensors against the format's specification, byte for byte, and PyTorch's files both ways.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "./index.js";
import { CheckpointError } from "../errors.js";
import { repoRoot, assertClose } from "../../test/helpers.js";

const concat = (chunks: Uint8Array[]) => Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));

/** The bytes the specification prescribes for {b: F32 [1, 2], a: I64 [7]} with metadata. */
function expectedBytes(): Buffer {
  // Larger dtypes first, then by name; offsets count from the start of the data.
  let header =
    '{"__metadata__":{"format":"pt"},"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' + '"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}';
  header += " ".repeat((8 - (header.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const a = Buffer.alloc(8);
  a.writeBigInt64LE(7n);
  const b = Buffer.alloc(8);
  b.writeFloatLE(1, 0);
  b.writeFloatLE(2, 4);
  return Buffer.concat([length, Buffer.from(header), a, b]);
}

test("serialize writes exactly the bytes the specification prescribes", () => {
  E.tidy(() => {
    const bytes = concat(E.serialize({ b: E.tensor([1, 2]), a: E.tensor([7], { dtype: "int64" }) }, { format: "pt" }));
    assert.deepEqual(bytes, expectedBytes());
    assert.equal((bytes.readUInt32LE(0) + 8) % 8, 0, "the data starts 8-byte aligned");
  });
});

test("tensors of equal width are ordered as the reference implementation orders them", () => {
  E.tidy(() => {
    const bytes = concat(
      E.serialize({
        a: E.zeros([1], { dtype: "float64" }),
        z: E.zeros([1], { dtype: "int64" }),
        h: E.zeros([1], { dtype: "float16" }),
        b: E.zeros([1], { dtype: "bfloat16" }),
      }),
    );
    const header = JSON.parse(bytes.subarray(8, 8 + bytes.readUInt32LE(0)).toString());
    assert.deepEqual(Object.keys(header), ["z", "a", "b", "h"]);
  });
});

test("deserialize reads the specification's bytes back", () => {
  const { tensors, metadata } = E.deserialize(expectedBytes());
  assert.deepEqual(metadata, { format: "pt" });
  assert.equal(tensors.a.dtype, "int64");
  assert.deepEqual(tensors.a.toArray(), [7]);
  assert.deepEqual(tensors.b.toArray(), [1, 2]);
  for (const t of Object.values(tensors)) t.dispose();
});

test("every dtype and a scalar round-trip through a file", () => {
  const dir = mkdtempSync(join(tmpdir(), "gantry-st-"));
  E.tidy(() => {
    const dict = {
      f64: E.tensor(
        [
          [1.5, -2],
          [3, 4],
        ],
        { dtype: "float64" },
      ),
      f32: E.randn([3, 2]),
      bf16: E.tensor([1, -0.5], { dtype: "bfloat16" }),
      f16: E.tensor([0.25, 8], { dtype: "float16" }),
      i64: E.tensor([-(2 ** 40), 3], { dtype: "int64" }),
      i32: E.tensor([-5, 9], { dtype: "int32" }),
      u8: E.tensor([0, 255], { dtype: "uint8" }),
      bool: E.tensor([true, false]),
      scalar: E.tensor([42], { shape: [] }),
      empty: E.zeros([0, 3]),
    };
    E.saveSafetensors(join(dir, "all.safetensors"), dict);
    const back = E.loadSafetensors(join(dir, "all.safetensors")).tensors;
    for (const [name, t] of Object.entries(dict)) {
      assert.equal(back[name].dtype, t.dtype, name);
      assert.deepEqual(back[name].shape, t.shape, name);
      assert.deepEqual(back[name].toArray(), t.toArray(), name);
    }
  });
});

test("PyTorch reads gantry's file and gantry reads PyTorch's, with identical bytes", () => {
  const dir = mkdtempSync(join(tmpdir(), "gantry-st-"));
  const ours = join(dir, "ours.safetensors");
  const theirs = join(dir, "theirs.safetensors");
  E.tidy(() => {
    E.manualSeed(3);
    E.saveSafetensors(ours, { "layer.weight": E.randn([4, 3]), "layer.bias": E.randn([4], { dtype: "float64" }), steps: E.tensor([9], { dtype: "int64" }) });
  });
  const script = `
import sys; sys.path.insert(0, ${JSON.stringify(join(repoRoot, "scripts"))})
from safetensors_min import load_file, save_file
t = load_file(${JSON.stringify(ours)})
save_file(t, ${JSON.stringify(theirs)})
print(float(t["layer.weight"].sum()), t["layer.bias"].dtype, int(t["steps"][0]))`;
  const out = execFileSync("/usr/bin/python3", ["-c", script], { encoding: "utf8" }).trim().split(" ");
  const back = E.loadSafetensors(theirs).tensors;
  E.tidy(() => {
    assertClose(back["layer.weight"].sum(), [Number(out[0])], { atol: 1e-5 });
    assert.equal(out[1], "torch.float64");
    assert.equal(out[2], "9");
  });
  assert.deepEqual(readFileSync(theirs), readFileSync(ours));
});

test("malformed files raise CheckpointError naming the file and the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "gantry-st-"));
  const good = expectedBytes();
  const cases: [string, Buffer, RegExp][] = [
    ["short", Buffer.alloc(4), /shorter than the 8-byte header length/],
    ["truncated", good.subarray(0, good.length - 4), /it is truncated: its header needs 16 bytes of tensor data, the file holds 12/],
    ["huge-header", Buffer.concat([Buffer.from([255, 255, 255, 0, 0, 0, 0, 0]), good.subarray(8)]), /header claims/],
    ["not-json", Buffer.concat([good.subarray(0, 8), Buffer.from("x".repeat(good.readUInt32LE(0))), good.subarray(8 + good.readUInt32LE(0))]), /not JSON/],
    ["bad-dtype", Buffer.from(good.toString("latin1").replace('"I64"', '"X64"'), "latin1"), /dtype "X64"/],
    ["bad-size", Buffer.from(good.toString("latin1").replace('"shape":[2]', '"shape":[3]'), "latin1"), /needs 12 bytes, its offsets give 8/],
  ];
  for (const [name, bytes, pattern] of cases) {
    const path = join(dir, `${name}.safetensors`);
    writeFileSync(path, bytes);
    assert.throws(
      () => E.loadSafetensors(path),
      (e) => e instanceof CheckpointError && e.message.includes(path) && pattern.test(e.message),
      name,
    );
  }
  assert.throws(() => E.loadSafetensors(join(dir, "missing.safetensors")), /missing\.safetensors: cannot read \(ENOENT\)/);
});
