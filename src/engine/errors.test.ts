// Bad shapes, dtypes, ops and arguments raise typed errors with libtorch's message, and never abort.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as E from "./index.js";
import { DTypeError, GanError, ShapeError } from "../errors.js";

test("a shape mismatch raises ShapeError with libtorch's message", () => {
  E.tidy(() => {
    assert.throws(() => E.ones([2, 3]).matmul(E.ones([2, 3])), (e) => e instanceof ShapeError && /2x3 and 2x3/.test(e.message));
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
  assert.throws(() => E.op("aten::no_such_op").call([]), (e) => e instanceof GanError && /aten::no_such_op/.test(e.message));
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
  assert.equal(E.tidy(() => E.ones([3]).sum().item()), 3);
});
