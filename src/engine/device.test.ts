// Devices and threads: 'cpu' always works; CUDA either works or says clearly that it is absent.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as E from "./index.js";

test("cpu is always a device and tensors live there by default", () => {
  assert.equal(E.devices()[0], "cpu");
  assert.equal(E.resolveDevice("cpu"), "cpu");
  E.tidy(() => assert.equal(E.ones([1]).device, "cpu"));
});

test("cuda works when present, else raises a clear error", () => {
  if (E.cudaAvailable()) {
    const x = E.tidy(() => E.ones([3]).to("cuda").mul(2));
    assert.equal(x.device, "cuda:0");
    assert.deepEqual(x.toArray(), [2, 2, 2]);
    x.dispose();
  } else {
    assert.throws(() => E.resolveDevice("cuda"), /not available/);
    assert.throws(() => E.ones([1]).to("cuda"), /not available/);
  }
  assert.throws(() => E.resolveDevice("tpu"), /unknown device 'tpu'/);
});

test("setNumThreads changes libtorch's intra-op thread count", () => {
  const before = E.getNumThreads();
  E.setNumThreads(1);
  assert.equal(E.getNumThreads(), 1);
  E.setNumThreads(before);
  assert.equal(E.getNumThreads(), before);
});
