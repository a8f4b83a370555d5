// The CPU step's two process-wide settings: matrix products split over libtorch's threads
// (native/gemm.cc) and freed memory kept in the heap (native/malloc.cc).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import * as E from "./index.js";
import { linear } from "./functional.js";
import { native } from "./native.js";
import { ShapeError } from "../errors.js";

/** Runs `body` with the split on and then off, the same inputs, and returns both results. */
function bothWays<T>(body: () => T): { split: T; whole: T; splits: number } {
  const before = native.parallelGemmSplits();
  assert.equal(E.parallelGemm(true), true);
  const split = body();
  const splits = native.parallelGemmSplits() - before;
  assert.equal(E.parallelGemm(false), false);
  const whole = body();
  E.parallelGemm(true);
  return { split, whole, splits };
}

const close = (a: E.Tensor, b: E.Tensor, what: string) => {
  const scale = b.abs().max().item() as number;
  const gap = a.sub(b).abs().max().item() as number;
  assert.ok(gap <= 1e-5 * Math.max(1, scale), `${what}: the split product differs by ${gap} (values up to ${scale})`);
};

test("on this machine (OpenBLAS on one thread) the split products are on by default, and can be turned off", () => {
  assert.equal(process.env.OPENBLAS_NUM_THREADS, "1");
  assert.equal(E.parallelGemm(), true);
  assert.equal(E.parallelGemm(false), false);
  assert.equal(E.parallelGemm(), false);
  assert.equal(E.parallelGemm(true), true);
});

test("mm and addmm split over two threads give libtorch's values, cut by rows or by columns", () => {
  const threads = E.getNumThreads();
  E.setNumThreads(2);
  try {
    E.manualSeed(0);
    // Tall (cut by rows), wide (by columns), transposed and sliced operands, sizes that do not
    // divide evenly, and every shape of bias addmm broadcasts.
    const cases: [string, () => E.Tensor][] = [];
    const a = E.randn([200, 300]);
    const b = E.randn([300, 90]);
    const wide = E.randn([40, 300]);
    const bWide = E.randn([300, 1000]);
    cases.push(["tall mm", () => a.matmul(b)]);
    cases.push(["wide mm", () => wide.matmul(bWide)]);
    cases.push(["transposed operands", () => b.t().matmul(a.t())]);
    cases.push(["sliced operands", () => a.narrow(1, 7, 250).matmul(bWide.narrow(0, 3, 250).narrow(1, 11, 777))]);
    const ops = E.op("aten::addmm");
    for (const bias of [E.randn([90]), E.randn([1, 90]), E.randn([200, 1]), E.randn([200, 90])]) {
      cases.push([`addmm, bias [${bias.shape}]`, () => new E.Tensor(ops.call([bias.handle, a.handle, b.handle, 0.5, 2]) as never)]);
    }
    for (const [what, product] of cases) {
      const { split, whole, splits } = bothWays(product);
      assert.deepEqual(split.shape, whole.shape, what);
      close(split, whole, what);
      assert.equal(splits, 1, `${what}: ran split`);
    }
    // A double product too, against the same product in libtorch's kernel.
    const { split, whole } = bothWays(() => a.to({ dtype: "float64" }).matmul(b.to({ dtype: "float64" })));
    close(split, whole, "double");
  } finally {
    E.setNumThreads(threads);
  }
});

test("a Linear layer's forward and both gradients match libtorch's kernel when split", () => {
  const threads = E.getNumThreads();
  E.setNumThreads(2);
  try {
    E.manualSeed(1);
    const x = E.randn([64, 512]).requiresGrad_();
    const w = E.randn([1024, 512]).requiresGrad_();
    const bias = E.randn([1024]).requiresGrad_();
    const g = E.randn([64, 1024]);
    const step = () => {
      const y = linear(x, w, bias);
      const [gx, gw, gb] = E.grad([y], [x, w, bias], { gradOutputs: [g] });
      return [y, gx, gw, gb] as E.Tensor[];
    };
    const { split, whole, splits } = bothWays(step);
    for (const [i, what] of ["output", "input's gradient", "weight's gradient", "bias's gradient"].entries()) close(split[i], whole[i], what);
    assert.ok(splits >= 3, `the forward and both gradient products ran split (${splits})`);
  } finally {
    E.setNumThreads(threads);
  }
});

test("small products, one thread, and shapes that do not fit run libtorch's kernel as they are", () => {
  const threads = E.getNumThreads();
  try {
    E.setNumThreads(2);
    let before = native.parallelGemmSplits();
    E.randn([8, 8]).matmul(E.randn([8, 8]));
    E.randn([64, 16]).matmul(E.randn([16, 64]));
    assert.equal(native.parallelGemmSplits(), before, "too small to split");
    assert.throws(() => E.randn([256, 300]).matmul(E.randn([299, 256])), ShapeError, "libtorch's own shape error");
    const addmm = E.op("aten::addmm");
    const [x, y] = [E.randn([256, 300]), E.randn([300, 256])];
    assert.throws(
      () => addmm.call([E.randn([255]).handle, x.handle, y.handle, 1, 1]),
      /expand|size|shape/i,
      "a bias that does not broadcast: libtorch's error",
    );
    assert.throws(() => addmm.call([E.randn([256]).handle, E.randn([256]).handle, y.handle, 1, 1]), /matri|2D|dim/i, "a vector: libtorch's error");
    assert.equal(native.parallelGemmSplits(), before, "none of these ran split");
    E.setNumThreads(1);
    before = native.parallelGemmSplits();
    E.randn([512, 512]).matmul(E.randn([512, 512]));
    assert.equal(native.parallelGemmSplits(), before, "one thread: nothing to split over");
  } finally {
    E.setNumThreads(threads);
  }
});

test("freed tensors' memory is reused, not page-faulted in afresh; a user's own glibc settings stand", () => {
  // Ten times over, fills a hundred 1 MiB tensors and frees them together, as a step frees its
  // activations, and counts the minor page faults: kept in the heap, the memory faults in once.
  // With the user's own MALLOC_MMAP_THRESHOLD_ of 128 KiB (glibc's starting value, which it
  // raises by itself as blocks are freed, so its defaults fault more or less by history), gantry
  // leaves glibc alone and each block is a fresh mapping: about 25,000 faults a round.
  const script = `import("${join(import.meta.dirname, "index.js")}").then((E) => {
    const step = () => E.tidy(() => { for (let k = 0; k < 100; k++) E.ones([1 << 18]); });
    for (let i = 0; i < 2; i++) step();
    const before = process.resourceUsage().minorPageFault;
    for (let i = 0; i < 10; i++) step();
    console.log(process.resourceUsage().minorPageFault - before);
  })`;
  const faults = (env: NodeJS.ProcessEnv) => {
    const out = spawnSync(process.execPath, ["-e", script], { env: { ...process.env, ...env }, encoding: "utf8" });
    assert.equal(out.status, 0, out.stderr);
    return Number(out.stdout.trim());
  };
  const kept = faults({});
  const mapped = faults({ MALLOC_MMAP_THRESHOLD_: "131072" });
  assert.ok(mapped > 100_000, `the user's threshold stands: each block faults in afresh (${mapped} faults)`);
  assert.ok(kept < 5_000, `kept memory faults ${kept} times against ${mapped}`);
});
