// Bad shapes, dtypes, ops and arguments raise typed errors with libtorch's message, and never abort.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as E from "./index.js";
import { DTypeError, GanError, NotImplementedError, ShapeError } from "../errors.js";

test("a shape mismatch raises ShapeError with libtorch's message", () => {
  E.tidy(() => {
    assert.throws(
      () => E.ones([2, 3]).matmul(E.ones([2, 3])),
      (e) => e instanceof ShapeError && /2x3 and 2x3/.test(e.message),
    );
    assert.throws(() => E.ones([3]).add(E.ones([4])), ShapeError);
    assert.throws(() => E.ones([6]).view(4), ShapeError);
    assert.throws(() => E.conv2d(E.ones([1, 3, 8, 8]), E.ones([4, 2, 3, 3])), ShapeError);
    assert.throws(() => E.cat([E.ones([2, 2]), E.ones([3, 3])], 0), ShapeError);
    assert.throws(() => E.ones([2]).indexSelect(0, E.tensor([5], { dtype: "int64" })), ShapeError);
  });
});

test("a dtype mismatch raises DTypeError", () => {
  E.tidy(() => {
    assert.throws(() => E.ones([2, 2]).matmul(E.ones([2, 2], { dtype: "float64" })), DTypeError);
    assert.throws(() => E.crossEntropy(E.ones([2, 3]), E.ones([2])), GanError);
  });
});

test("an unknown operator raises GanError naming it", () => {
  assert.throws(
    () => E.op("aten::no_such_op").call([]),
    (e) => e instanceof GanError && /aten::no_such_op/.test(e.message),
  );
  assert.throws(() => E.op("aten::add.NoSuchOverload").call([]), /aten::add\.NoSuchOverload/);
});

test("a wrong argument type names the op and the argument", () => {
  const a = E.ones([2]);
  assert.throws(() => E.op("aten::add.Tensor").call([a.handle, "x" as never]), /aten::add\.Tensor: argument 'other' expected a tensor/);
  assert.throws(() => E.op("aten::view").call([a.handle, ["a"] as never]), /argument 'size' expected an integer/);
  assert.throws(() => E.op("aten::add.Tensor").call([a.handle]), /argument 'other' expected a value/);
  a.dispose();
});

test("invalid options get clear errors", () => {
  assert.throws(() => E.tensor([[1, 2], [3]]), /do not fill shape/);
  assert.throws(() => E.randint(3, 3, [2]), /high \(3\) must be greater than low \(3\)/);
  assert.throws(() => E.manualSeed(-1), /non-negative integer/);
  assert.throws(() => E.setNumThreads(0), /positive integer/);
  assert.throws(() => E.upsample(E.ones([1, 1, 2, 2]), {}), /exactly one of scaleFactor and size/);
});

test("the process survives errors and the engine keeps working", () => {
  for (let i = 0; i < 100; i++) assert.throws(() => E.tidy(() => E.ones([2]).add(E.ones([3]))));
  assert.equal(
    E.tidy(() => E.ones([3]).sum().item()),
    3,
  );
});

test("direct engine calls throw typed gantry errors, never a plain Error", () => {
  E.tidy(() => {
    assert.throws(
      () => E.ones([2, 3]).item(),
      (e) => e instanceof ShapeError && /6 elements \(shape \[2, 3\]\)/.test(e.message),
    );
    assert.throws(
      () => E.ones([2], { requiresGrad: true }).mul(2).backward(),
      (e) => e instanceof ShapeError && /needs a scalar/.test(e.message),
    );
    assert.throws(
      () => E.tensor(new Float32Array(3), { shape: [2, 2] }),
      (e) => e instanceof ShapeError && /3 values for shape \[2, 2\]/.test(e.message),
    );
    assert.throws(
      () => E.setRngState({ cpu: new Uint8Array(3) }),
      (e) => e instanceof GanError && /RNG state size/.test(e.message),
    );
    assert.throws(
      () => E.zeros([2], { dtype: "float128" as never }),
      (e) => e instanceof DTypeError && /unknown dtype 'float128'/.test(e.message),
    );
    assert.throws(() => E.ones([2]).to({ dtype: "float128" as never }), DTypeError);
    assert.throws(
      () => E.ones([2]).reshape(3),
      (e) => e instanceof ShapeError,
    );
  });
});

test("a failed op names itself and its inputs' shapes, typed by libtorch's exception class", () => {
  E.tidy(() => {
    assert.throws(
      () => E.ones([2, 3]).matmul(E.ones([2, 3])),
      (e) => e instanceof ShapeError && /^aten::matmul: .*\(inputs \[2, 3\], \[2, 3\]\)$/.test(e.message),
    );
    // c10::IndexError, by type
    assert.throws(
      () => E.ones([2]).indexSelect(0, E.tensor([5], { dtype: "int64" })),
      (e) => e instanceof ShapeError && /aten::index_select: index out of range/.test(e.message),
    );
    assert.throws(
      () => E.ones([2, 2], { dtype: "float16" }).matmul(E.ones([2, 2], { dtype: "float16" })),
      (e) => e instanceof NotImplementedError && /not implemented for 'Half'/.test(e.message),
    );
  });
});

test("without CUDA, a CUDA tensor is a short NotImplementedError, not the dispatcher's backend list", {
  skip: E.cudaAvailable() ? "this machine has CUDA" : false,
}, () => {
  assert.throws(
    () => E.zeros([2], { device: "cuda" }),
    (e) => e instanceof GanError && /built without CUDA/.test(e.message) && e.message.split("\n").length <= 2,
  );
});

test("shapes as PyTorch takes them: an array or varargs", () => {
  E.tidy(() => {
    const x = E.arange(0, 12);
    assert.deepEqual(x.reshape([3, 4]).shape, [3, 4]);
    assert.deepEqual(x.reshape(3, 4).shape, [3, 4]);
    assert.deepEqual(x.view([2, 6]).shape, x.view(2, 6).shape);
    assert.deepEqual(x.view(3, 4).permute([1, 0]).shape, [4, 3]);
    assert.deepEqual(E.ones([1, 3]).expand([2, 3]).shape, [2, 3]);
    assert.deepEqual(x.view(3, 4).flip([0]).toArray(), x.view(3, 4).flip(0).toArray());
  });
});
