// Memory is freed deterministically: scopes, dispose, finalizers, and a long training-like loop
// whose live tensor count and resident memory stay flat.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as E from "./index.js";
import { Linear, Sequential, ReLU } from "../nn/index.js";
import { Adam } from "../optim/index.js";

test("tidy frees what it made, except what it returns", () => {
  const before = E.liveTensors();
  const kept = E.tidy(() => {
    const a = E.ones([10]);
    const b = a.mul(2).add(1);
    return { b, list: [b.sum()] };
  });
  assert.equal(E.liveTensors(), before + 2);
  assert.equal(kept.b.sum().item(), 30);
  kept.b.dispose();
  kept.list[0].dispose();
});

test("nested tidy moves returned tensors to the outer scope, which frees them", () => {
  const before = E.liveTensors();
  E.tidy(() => {
    const inner = E.tidy(() => E.ones([3]).add(1));
    assert.equal(inner.sum().item(), 6);
  });
  assert.equal(E.liveTensors(), before);
});

test("tidy frees everything when its function throws", () => {
  const before = E.liveTensors();
  assert.throws(
    () =>
      E.tidy(() => {
        E.ones([5]).mul(3);
        throw new Error("boom");
      }),
    /boom/,
  );
  assert.equal(E.liveTensors(), before);
});

test("using scope() frees the block's tensors; keep() lets one escape", () => {
  const before = E.liveTensors();
  let escaped: E.Tensor;
  {
    using s = E.scope();
    const a = E.ones([4]);
    escaped = s.keep(a.add(1));
  }
  assert.equal(E.liveTensors(), before + 1);
  assert.equal(
    E.tidy(() => escaped.sum().item()),
    8,
  );
  {
    using t = E.ones([2]);
    assert.equal(t.size, 2);
  }
  escaped.dispose();
  assert.equal(E.liveTensors(), before);
});

test("a disposed tensor throws a clear error when used again, and never crashes", () => {
  const a = E.ones([2]);
  const b = a.view(2);
  a.dispose();
  a.dispose(); // a second dispose is harmless
  assert.throws(() => a.add(1), /disposed/);
  assert.throws(() => a.shape, /disposed/);
  assert.equal(b.sum().item(), 2); // views keep their own reference to the data
  b.dispose();
});

test("the GC finalizer frees tensors that were never disposed", async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, "run with --expose-gc (scripts/run-tests.mjs does)");
  const before = E.liveTensors();
  (() => {
    for (let i = 0; i < 500; i++) E.ones([100]);
  })();
  assert.ok(E.liveTensors() >= before + 500);
  for (let i = 0; i < 10 && E.liveTensors() > before; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(E.liveTensors() <= before, `${E.liveTensors() - before} tensors still live after GC`);
});

/** Collects garbage until `done` holds or ten rounds pass; FinalizationRegistry callbacks run on later turns. */
async function collectUntil(done: () => boolean): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, "run with --expose-gc (scripts/run-tests.mjs does)");
  for (let i = 0; i < 10 && !done(); i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

test("tensors returned from the outermost tidy, and kept ones, are freed by the GC when dropped", async () => {
  const before = E.liveTensors();
  (() => {
    for (let i = 0; i < 200; i++) E.tidy(() => E.ones([10]).mul(2));
    for (let i = 0; i < 200; i++) E.keep(E.tidy(() => E.ones([10]).add(1)));
  })();
  assert.ok(E.liveTensors() >= before + 400);
  await collectUntil(() => E.liveTensors() <= before);
  assert.equal(E.liveTensors(), before);
});

test("a disposed tensor's handle is refused even after its slot holds a new tensor", () => {
  const a = E.ones([3]);
  const stale = a.handle;
  a.dispose();
  const b = E.full([3], 7); // takes the slot a freed
  assert.throws(() => E.op("aten::add.Tensor").call([stale, b.handle, 1]), /disposed/);
  assert.throws(() => E.op("aten::add.Tensor").call([5 as never, b.handle, 1]), /expected a tensor/);
  assert.equal(b.sum().item(), 21);
  b.dispose();
});

test("assign() moves the GC's safety net with the data: dropping the source frees nothing", async () => {
  const target = E.keep(E.zeros([4]));
  (() => {
    const source = E.keep(E.ones([4]).mul(5));
    target.assign(source);
  })();
  let rounds = 0;
  await collectUntil(() => ++rounds > 5); // the source object is garbage now; its net is disarmed
  assert.equal(
    E.tidy(() => target.sum().item()),
    20,
  );
  target.dispose();
});

test("10,000 training steps keep live tensors and resident memory flat", async () => {
  E.manualSeed(0);
  const model = new Sequential(new Linear(16, 32), new ReLU(), new Linear(32, 1));
  const opt = new Adam(model.parameters(), { lr: 1e-3 });
  const x = E.keep(E.randn([32, 16]));
  const y = E.keep(E.randn([32, 1]));
  const step = () =>
    E.tidy(() => {
      const loss = E.mseLoss(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss.item();
    });
  // Garbage JS wrappers are V8's to collect whenever it likes: collect before each reading.
  const gcNow = (globalThis as { gc?: () => void }).gc ?? (() => {});
  // Node runs the addon's finalizers after a GC, on a later turn of the event loop.
  const gc = async () => {
    gcNow();
    await new Promise((r) => setImmediate(r));
    gcNow();
  };
  // Steps run in chunks with a turn of the event loop between, as a trainer's logging and data
  // loading give it; the allocators settle during a warm-up, and afterwards nothing may grow.
  const run = async (steps: number) => {
    let loss = 0;
    for (let i = 0; i < steps; i++) {
      loss = step();
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    return loss;
  };
  await run(3000);
  await gc();
  const live = E.liveTensors();
  const rss = process.memoryUsage.rss();
  const last = await run(10_000);
  await gc();
  const grownMb = (process.memoryUsage.rss() - rss) / 2 ** 20;
  assert.equal(E.liveTensors(), live, "live tensor count changed");
  assert.ok(grownMb < 8, `resident memory grew ${grownMb.toFixed(1)} MiB over 10,000 steps`);
  assert.ok(Number.isFinite(last) && last < 1.5, `the model did not train (loss ${last})`);
});
