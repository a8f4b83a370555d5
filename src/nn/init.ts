// Weight initializers, in place and without recording a graph, as torch.nn.init.
import { type Tensor, noGrad, randn } from "../engine/index.js";
import { op } from "../engine/dispatch.js";
import { wrap } from "../engine/tensor.js";
import { GanError } from "../errors.js";

/** (fanIn, fanOut) of a weight: Linear (out, in), Conv (out, in, kh, kw), ConvTranspose (in, out, kh, kw). */
export function fans(weight: Tensor): [number, number] {
  const [out, inp, ...kernel] = weight.shape;
  if (inp === undefined) throw new GanError(`fan in and fan out need a weight of 2 or more dims, got [${weight.shape.join(", ")}]`);
  const receptive = kernel.reduce((a, b) => a * b, 1);
  return [inp * receptive, out * receptive];
}

export type Nonlinearity = "linear" | "relu" | "leaky_relu" | "tanh" | "sigmoid";

export function gain(nonlinearity: Nonlinearity, param = 0.01): number {
  switch (nonlinearity) {
    case "relu":
      return Math.SQRT2;
    case "leaky_relu":
      return Math.sqrt(2 / (1 + param * param));
    case "tanh":
      return 5 / 3;
    default:
      return 1;
  }
}

export const uniform = (t: Tensor, a: number, b: number) => noGrad(() => t.uniform_(a, b));
export const normal = (t: Tensor, mean: number, std: number) => noGrad(() => t.normal_(mean, std));
export const constant = (t: Tensor, value: number) => noGrad(() => t.fill_(value));

/** normal(0, 0.02): DCGAN's initialization. */
export const dcgan = (t: Tensor) => normal(t, 0, 0.02);

export function xavierUniform(t: Tensor, g = 1): Tensor {
  const [fanIn, fanOut] = fans(t);
  const bound = g * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, -bound, bound);
}
export function xavierNormal(t: Tensor, g = 1): Tensor {
  const [fanIn, fanOut] = fans(t);
  return normal(t, 0, g * Math.sqrt(2 / (fanIn + fanOut)));
}
export function kaimingUniform(t: Tensor, a = 0, nonlinearity: Nonlinearity = "leaky_relu", mode: "fanIn" | "fanOut" = "fanIn"): Tensor {
  const fan = fans(t)[mode === "fanIn" ? 0 : 1];
  const bound = (Math.sqrt(3) * gain(nonlinearity, a)) / Math.sqrt(fan);
  return uniform(t, -bound, bound);
}
export function kaimingNormal(t: Tensor, a = 0, nonlinearity: Nonlinearity = "leaky_relu", mode: "fanIn" | "fanOut" = "fanIn"): Tensor {
  const fan = fans(t)[mode === "fanIn" ? 0 : 1];
  return normal(t, 0, gain(nonlinearity, a) / Math.sqrt(fan));
}

/** A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one, as torch.nn.init.orthogonal_. */
export function orthogonal(t: Tensor, g = 1): Tensor {
  const rows = t.shape[0];
  const cols = t.size / rows;
  return noGrad(() => {
    const flat = randn([rows, cols]);
    const a = rows < cols ? flat.t() : flat;
    const [q, r] = qr(a);
    const d = diagonal(r).sign();
    let result = q.mul(d);
    if (rows < cols) result = result.t();
    t.copy_(result.reshape(...t.shape).mul(g));
    for (const x of [flat, q, r, d, result]) x.dispose();
    return t;
  });
}

function qr(a: Tensor): [Tensor, Tensor] {
  const [q, r] = op("aten::linalg_qr").call([a.handle, "reduced"]) as never[];
  return [wrap(q), wrap(r)];
}
function diagonal(a: Tensor): Tensor {
  return wrap(op("aten::diagonal").call([a.handle]));
}
