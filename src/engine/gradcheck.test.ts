// Every differentiable op's gradient against central finite differences, in float64.
import { test } from "node:test";
import * as E from "./index.js";
import { assertClose } from "../../test/helpers.js";

type Case = { shapes: number[][]; fn: (...xs: E.Tensor[]) => E.Tensor; positive?: boolean };

const cases: Record<string, Case> = {
  add: { shapes: [[3, 4], [4]], fn: (x, y) => x.add(y, 2) },
  sub: {
    shapes: [
      [3, 4],
      [3, 1],
    ],
    fn: (x, y) => x.sub(y),
  },
  mul: { shapes: [[3, 4], [4]], fn: (x, y) => x.mul(y) },
  div: { shapes: [[3, 4], [4]], fn: (x, y) => x.div(y.abs().add(1)) },
  matmul: {
    shapes: [
      [3, 4],
      [4, 2],
    ],
    fn: (x, y) => x.matmul(y),
  },
  linear: { shapes: [[3, 4], [2, 4], [2]], fn: (x, w, b) => E.linear(x, w, b) },
  conv2d: { shapes: [[1, 2, 5, 5], [3, 2, 3, 3], [3]], fn: (x, w, b) => E.conv2d(x, w, b, { stride: 2, padding: 1 }) },
  conv_transpose2d: { shapes: [[1, 2, 3, 3], [2, 2, 4, 4], [2]], fn: (x, w, b) => E.convTranspose2d(x, w, b, { stride: 2, padding: 1 }) },
  batch_norm: {
    shapes: [[4, 3, 2, 2], [3], [3]],
    fn: (x, w, b) => E.batchNorm(x, null, null, w, b, { training: true }),
  },
  layer_norm: { shapes: [[2, 3, 4], [4], [4]], fn: (x, w, b) => E.layerNorm(x, [4], w, b) },
  instance_norm: { shapes: [[2, 2, 3, 3]], fn: (x) => E.instanceNorm(x, null, null) },
  max_pool2d: { shapes: [[1, 2, 4, 4]], fn: (x) => E.maxPool2d(x, 2) },
  avg_pool2d: { shapes: [[1, 2, 4, 4]], fn: (x) => E.avgPool2d(x, 2) },
  upsample_nearest: { shapes: [[1, 1, 3, 3]], fn: (x) => E.upsample(x, { scaleFactor: 2 }) },
  upsample_bilinear: { shapes: [[1, 1, 3, 3]], fn: (x) => E.upsample(x, { scaleFactor: 2, mode: "bilinear" }) },
  relu: { shapes: [[12]], fn: (x) => x.relu() },
  leaky_relu: { shapes: [[12]], fn: (x) => x.leakyRelu(0.2) },
  tanh: { shapes: [[12]], fn: (x) => x.tanh() },
  sigmoid: { shapes: [[12]], fn: (x) => x.sigmoid() },
  softplus: { shapes: [[12]], fn: (x) => x.softplus() },
  gelu: { shapes: [[12]], fn: (x) => x.gelu() },
  sum: { shapes: [[3, 4]], fn: (x) => x.sum(1, true) },
  mean: { shapes: [[3, 4]], fn: (x) => x.mean(0) },
  logsumexp: { shapes: [[3, 4]], fn: (x) => x.logsumexp(1) },
  var: { shapes: [[3, 4]], fn: (x) => x.var(1) },
  std: { shapes: [[3, 4]], fn: (x) => x.std() },
  max: { shapes: [[3, 4]], fn: (x) => x.max(1).values },
  min: { shapes: [[3, 4]], fn: (x) => x.min() },
  norm: { shapes: [[3, 4]], fn: (x) => x.norm() },
  view_reshape: { shapes: [[3, 4]], fn: (x) => x.view(2, 6).reshape(12).mul(x.flatten()) },
  permute_transpose: { shapes: [[2, 3, 4]], fn: (x) => x.permute(2, 0, 1).transpose(0, 2).square() },
  cat_stack: {
    shapes: [
      [2, 3],
      [2, 3],
    ],
    fn: (x, y) => E.stack([E.cat([x, y], 1), E.cat([y, x], 1)]).square(),
  },
  split: { shapes: [[4, 3]], fn: (x) => x.split([1, 3], 0)[1].exp() },
  index_select: { shapes: [[4, 3]], fn: (x) => x.indexSelect(0, E.tensor([3, 0, 3], { dtype: "int64" })) },
  gather: {
    shapes: [[3, 4]],
    fn: (x) =>
      x.gather(
        1,
        E.tensor(
          [
            [0, 0],
            [3, 1],
            [2, 2],
          ],
          { dtype: "int64" },
        ),
      ),
  },
  flip: { shapes: [[3, 4]], fn: (x) => x.flip(0, 1).square() },
  pad: { shapes: [[1, 1, 3, 3]], fn: (x) => E.pad(x, [1, 1, 2, 0], "reflect") },
  where: {
    shapes: [
      [3, 4],
      [3, 4],
    ],
    fn: (x, y) => E.where(x.gt(0), x.square(), y),
  },
  clamp: { shapes: [[12]], fn: (x) => x.clamp(-0.5, 0.5) },
  pow: { shapes: [[12]], fn: (x) => x.pow(3) },
  sqrt: { shapes: [[12]], fn: (x) => x.sqrt(), positive: true },
  exp: { shapes: [[12]], fn: (x) => x.exp() },
  log: { shapes: [[12]], fn: (x) => x.log(), positive: true },
  abs: { shapes: [[12]], fn: (x) => x.abs() },
  embedding: { shapes: [[5, 3]], fn: (w) => E.embedding(w, E.tensor([4, 0, 4], { dtype: "int64" })) },
  bce: { shapes: [[6]], fn: (x) => E.binaryCrossEntropy(x.sigmoid(), E.tensor([1, 0, 1, 0.5, 0, 1], { dtype: "float64" })) },
  bce_logits: { shapes: [[6]], fn: (x) => E.binaryCrossEntropyWithLogits(x, E.tensor([1, 0, 1, 0.5, 0, 1], { dtype: "float64" })) },
  mse: {
    shapes: [
      [3, 4],
      [3, 4],
    ],
    fn: (x, y) => E.mseLoss(x, y),
  },
  cross_entropy: { shapes: [[4, 3]], fn: (x) => E.crossEntropy(x, E.tensor([0, 2, 1, 1], { dtype: "int64" })) },
};

const h = 1e-6;

for (const [name, { shapes, fn, positive }] of Object.entries(cases)) {
  test(`gradient of ${name} matches finite differences`, () => {
    E.tidy(() => {
      E.manualSeed(11);
      const values = shapes.map((s) => {
        const x = E.randn(s, { dtype: "float64" });
        return (positive ? x.abs().add(0.5) : x).toArray();
      });
      const make = (i: number, v: number[]) => E.tensor(v, { dtype: "float64", shape: shapes[i] });
      // A fixed random weighting makes the scalar sensitive to every output element.
      const out0 = fn(...values.map((v, i) => make(i, v)));
      const weight = E.randn([...out0.shape], { dtype: "float64" });
      const loss = (xs: E.Tensor[]) =>
        fn(...xs)
          .mul(weight)
          .sum();

      const inputs = values.map((v, i) => make(i, v).requiresGrad_());
      const analytic = E.grad(loss(inputs), inputs);
      values.forEach((v, i) => {
        const numeric = v.map((_, j) =>
          E.tidy(() => {
            const at = (delta: number) => {
              const shifted = [...v];
              shifted[j] += delta;
              return loss(values.map((w, k) => make(k, k === i ? shifted : w))).item();
            };
            return (at(h) - at(-h)) / (2 * h);
          }),
        );
        assertClose(analytic[i]!, numeric, { atol: 1e-5, rtol: 1e-4, what: `d/d(input ${i})` });
      });
    });
  });
}
