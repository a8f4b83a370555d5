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
    E.tidy(() => {
      // The same conv and its gradient on both devices.
      E.manualSeed(1);
      const input = E.randn([2, 3, 8, 8], { dtype: "float64" });
      const weight = E.randn([4, 3, 3, 3], { dtype: "float64" });
      const run = (device: string) => {
        const w = weight.to(device).requiresGrad_();
        const y = E.conv2d(input.to(device), w, null, { padding: 1 }).tanh().sum();
        const [g] = E.grad(y, [w]);
        return [y.item(), ...g!.toArray()];
      };
      const [cpu, gpu] = [run("cpu"), run("cuda")];
      for (const [i, v] of cpu.entries()) assert.ok(Math.abs(v - gpu[i]) < 1e-8, `element ${i}: cpu ${v}, cuda ${gpu[i]}`);
      // CUDA's generator state saves and restores too.
      const state = E.getRngState();
      assert.ok(state["cuda:0"]?.length > 0);
      const first = E.randn([4], { device: "cuda" }).toArray();
      E.setRngState(state);
      assert.deepEqual(E.randn([4], { device: "cuda" }).toArray(), first);
    });
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
