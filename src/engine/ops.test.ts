// Every op against the values PyTorch computed on the same inputs (test/fixtures/ops.safetensors).
import { test } from "node:test";
import * as E from "./index.js";
import { fixture, assertClose } from "../../test/helpers.js";

const f = fixture("ops");
const { a, b, m } = f;

const cases: Record<string, () => E.Tensor> = {
  add: () => a.add(b),
  sub: () => a.sub(b),
  mul: () => a.mul(b),
  div: () => a.div(b.abs().add(1)),
  matmul: () => a.matmul(m),
  linear: () => E.linear(a, m.t(), b.narrow(0, 0, 1).expand(5)),
  conv2d: () => E.conv2d(f.x4, f.w4, f.bias4, { stride: 2, padding: 1 }),
  conv_transpose2d: () => E.convTranspose2d(f.xt, f.wt, f.bt, { stride: 2, padding: 1 }),
  layer_norm: () => E.layerNorm(f.ln, [4]),
  max_pool2d: () => E.maxPool2d(f.img, 2),
  avg_pool2d: () => E.avgPool2d(f.img, 2),
  upsample_nearest: () => E.upsample(f.img, { scaleFactor: 2 }),
  upsample_bilinear: () => E.upsample(f.img, { scaleFactor: 2, mode: "bilinear" }),
  relu: () => a.relu(),
  leaky_relu: () => a.leakyRelu(0.2),
  tanh: () => a.tanh(),
  sigmoid: () => a.sigmoid(),
  softplus: () => a.softplus(),
  gelu: () => a.gelu(),
  sum1: () => a.sum(1),
  mean: () => a.mean(),
  var0: () => a.var(0),
  max: () => a.max(),
  min: () => a.min(),
  argmax1: () => a.argmax(1),
  permute: () => a.reshape(3, 2, 2).permute(2, 0, 1),
  transpose: () => a.transpose(0, 1),
  cat: () => E.cat([a, a.mul(2)], 1),
  stack: () => E.stack([a, a.mul(2)], 0),
  split1: () => a.split(3, 1)[1],
  index_select: () => a.indexSelect(0, f.idx),
  gather: () => a.gather(0, f.gidx.clamp(null, 2)),
  flip: () => a.flip(1),
  pad: () => E.pad(f.img, [1, 2, 0, 1], "constant", 0.5),
  pad_reflect: () => E.pad(f.img, [1, 1, 1, 1], "reflect"),
  where: () => E.where(a.gt(0), a, b.expand(3, 4)),
  clamp: () => a.clamp(-0.5, 0.5),
  pow: () => a.pow(3),
  sqrt: () => a.abs().sqrt(),
  exp: () => a.exp(),
  log: () => a.abs().add(1).log(),
  abs: () => a.abs(),
  one_hot: () => E.oneHot(f.labels, 4),
  embedding: () => E.embedding(f.emb, f.idx),
  bce: () => E.binaryCrossEntropy(f.p, f.target),
  bce_logits: () => E.binaryCrossEntropyWithLogits(a.flatten().narrow(0, 0, 6), f.target),
  mse: () => E.mseLoss(a, a.flip(0)),
  cross_entropy: () => E.crossEntropy(f.logits, f.labels),
};

for (const [name, run] of Object.entries(cases)) {
  test(`${name} matches PyTorch`, () => {
    E.tidy(() => assertClose(run(), f[`out.${name}`], { atol: 1e-10, rtol: 1e-10, what: name }));
  });
}

test("batch_norm in training matches PyTorch, running statistics included", () => {
  const mean = E.zeros([3], { dtype: "float64" });
  const variance = E.ones([3], { dtype: "float64" });
  const y = E.batchNorm(f.bn_x, mean, variance, f.bn_w, f.bn_b, { training: true, momentum: 0.1 });
  assertClose(y, f["out.batch_norm"], { atol: 1e-10, what: "output" });
  assertClose(mean, f["out.batch_norm.running_mean"], { atol: 1e-12, what: "running mean" });
  assertClose(variance, f["out.batch_norm.running_var"], { atol: 1e-12, what: "running var" });
});

test("grad through a composite, and double backward, match PyTorch", () => {
  const x = a.clone().requiresGrad_();
  const y = E.linear(x, m.t()).tanh().mul(2).sum();
  const [gx] = E.grad(y, [x], { createGraph: true });
  assertClose(gx!, f["grad.composite"], { atol: 1e-10, what: "first-order" });
  const [ggx] = E.grad(gx!.pow(2).sum(), [x]);
  assertClose(ggx!, f["grad.double"], { atol: 1e-10, what: "second-order" });
});

test("creation ops give the requested shapes, dtypes and values", () => {
  E.tidy(() => {
    assertClose(E.zeros([2, 2]), [0, 0, 0, 0]);
    assertClose(E.ones([3]), [1, 1, 1]);
    assertClose(E.full([2], 7), [7, 7]);
    assertClose(E.arange(0, 1, 0.25), [0, 0.25, 0.5, 0.75]);
    assertClose(
      E.tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { dtype: "int64" },
      ),
      [1, 2, 3, 4],
    );
    const r = E.randint(0, 3, [1000]);
    if (r.dtype !== "int64" || r.min().item() !== 0 || r.max().item() !== 2) throw new Error("randint out of range");
    const u = E.rand([10000]);
    if (u.min().item() < 0 || u.max().item() >= 1 || Math.abs(u.mean().item() - 0.5) > 0.02) throw new Error("rand not U[0,1)");
    const n = E.randn([20000], { dtype: "float64" });
    if (Math.abs(n.mean().item()) > 0.03 || Math.abs(n.std().item() - 1) > 0.03) throw new Error("randn not N(0,1)");
    const bf = E.tensor([1.5, -2], { dtype: "bfloat16" });
    assertClose(bf.to({ dtype: "float32" }), [1.5, -2]);
    const bools = E.tensor([1, 2, 3]).gt(1.5);
    if (bools.dtype !== "bool") throw new Error(`comparison gave ${bools.dtype}`);
    assertClose(bools.to({ dtype: "float32" }), [0, 1, 1]);
  });
});

test("manualSeed makes randn reproduce PyTorch's stream", () => {
  E.manualSeed(0);
  // torch.manual_seed(0); torch.randn(3)
  assertClose(E.randn([3]), [1.5409960746765137, -0.293428897857666, -2.1787893772125244], { atol: 1e-7 });
});

test("RNG state saved and restored replays the same numbers", () => {
  E.manualSeed(5);
  const state = E.getRngState();
  const first = E.randn([4]).toArray();
  E.randn([10]);
  E.setRngState(state);
  assertClose(E.randn([4]), first, { atol: 0 });
});

test("the sub-pixel transposed convolution (kernel 4, stride 2, padding 1) gives libtorch's values and gradients", async () => {
  const { op: dispatch } = await import("./dispatch.js");
  const { wrap } = await import("./tensor.js");
  E.manualSeed(3);
  // 32 output channels: narrower layers keep libtorch's kernel (functional.ts).
  const x = E.randn([4, 16, 7, 7]).requiresGrad_();
  const w = E.randn([16, 32, 4, 4]).requiresGrad_();
  const b = E.randn([32]).requiresGrad_();
  const seed = E.randn([4, 32, 14, 14]);
  const native = wrap(dispatch("aten::conv_transpose2d.input").call([x.handle, w.handle, b.handle, 2, 1, 0, 1, 1]));
  const ours = E.convTranspose2d(x, w, b, { stride: 2, padding: 1 });
  assertClose(ours, native, { atol: 1e-4, what: "output" });
  const grads = (y: E.Tensor) => E.grad(y.mul(seed).sum(), [x, w, b]) as E.Tensor[];
  const [gn, go] = [grads(native), grads(ours)];
  for (const i of [0, 1, 2]) assertClose(go[i], gn[i], { atol: 1e-3, rtol: 1e-4, what: ["dx", "dw", "db"][i] });
});
