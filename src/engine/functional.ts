// Functional ops over several tensors: joining, selection, the layers' maths and the losses.
// Names and defaults follow torch.nn.functional.
import { op } from "./dispatch.js";
import { Tensor, wrap, reductions, type Reduction, type Scalar } from "./tensor.js";
import { GanError } from "../errors.js";

type Pair = number | readonly [number, number];

const handles = (ts: readonly Tensor[]) => ts.map((t) => t.handle);
const opt = (t: Tensor | null | undefined) => (t ? t.handle : null);

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return wrap(op("aten::cat").call([handles(tensors), dim]));
}
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return wrap(op("aten::stack").call([handles(tensors), dim]));
}
/** Elementwise: condition ? a : b. */
export function where(condition: Tensor, a: Tensor | Scalar, b: Tensor | Scalar): Tensor {
  const name =
    a instanceof Tensor
      ? b instanceof Tensor
        ? "aten::where.self"
        : "aten::where.ScalarOther"
      : b instanceof Tensor
        ? "aten::where.ScalarSelf"
        : "aten::where.Scalar";
  const h = (x: Tensor | Scalar) => (x instanceof Tensor ? x.handle : x);
  return wrap(op(name).call([condition.handle, h(a), h(b)]));
}
/** One-hot int64 encoding of class indices. */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  return wrap(op("aten::one_hot").call([indices.handle, numClasses]));
}
/** Rows of weight picked by integer indices. */
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  return wrap(op("aten::embedding").call([weight.handle, indices.handle]));
}
/** Pads the last dims: pad = [left, right, top, bottom, ...] as torch.nn.functional.pad. */
export function pad(x: Tensor, padding: readonly number[], mode: "constant" | "reflect" | "replicate" | "circular" = "constant", value = 0): Tensor {
  return wrap(op("aten::pad").call([x.handle, padding, mode, mode === "constant" ? value : null]));
}

// --- layers --------------------------------------------------------------------------------

/** x W^T + b */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return wrap(op("aten::linear").call([x.handle, weight.handle, opt(bias)]));
}
/** (B, in, L) -> (B, out, L'): a 1-D convolution over the last dimension. */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: { stride?: number; padding?: number } = {}): Tensor {
  const { stride = 1, padding = 0 } = options;
  return wrap(op("aten::conv1d").call([x.handle, weight.handle, opt(bias), [stride], [padding], [1], 1]));
}
/** (B, in, L) -> (B, out, L'): the transpose of conv1d; weight (in, out, K). */
export function convTranspose1d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: { stride?: number; padding?: number; outputPadding?: number } = {},
): Tensor {
  const { stride = 1, padding = 0, outputPadding = 0 } = options;
  return wrap(op("aten::conv_transpose1d").call([x.handle, weight.handle, opt(bias), [stride], [padding], [outputPadding], 1, [1]]));
}
export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: { stride?: Pair; padding?: Pair; dilation?: Pair; groups?: number } = {},
): Tensor {
  const { stride = 1, padding = 0, dilation = 1, groups = 1 } = options;
  return wrap(op("aten::conv2d").call([x.handle, weight.handle, opt(bias), stride, padding, dilation, groups]));
}
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: { stride?: Pair; padding?: Pair; outputPadding?: Pair; groups?: number; dilation?: Pair } = {},
): Tensor {
  const { stride = 1, padding = 0, outputPadding = 0, groups = 1, dilation = 1 } = options;
  const is = (p: Pair, n: number) => (typeof p === "number" ? p === n : p[0] === n && p[1] === n);
  if (
    subpixel &&
    x.device === "cpu" &&
    weight.ndim === 4 &&
    weight.shape[1] >= 32 &&
    weight.shape[2] === 4 &&
    weight.shape[3] === 4 &&
    is(stride, 2) &&
    is(padding, 1)
  ) {
    if (is(outputPadding, 0) && is(dilation, 1) && groups === 1) return convTranspose2dSubpixel(x, weight, bias ?? null);
  }
  return wrap(op("aten::conv_transpose2d.input").call([x.handle, weight.handle, opt(bias), stride, padding, outputPadding, groups, dilation]));
}

/** GANTRY_NATIVE_CONV_TRANSPOSE=1 keeps libtorch's own CPU kernel for every transposed convolution. */
const subpixel = !process.env.GANTRY_NATIVE_CONV_TRANSPOSE || process.env.GANTRY_NATIVE_CONV_TRANSPOSE === "0";

/**
 * DCGAN's upsampling layer (kernel 4, stride 2, padding 1) as four stride-1 convolutions, one per
 * output pixel parity (a "sub-pixel" decomposition), interleaved. The same sums as
 * conv_transpose2d, to float rounding, with the same number of multiplications; but libtorch 1.13
 * runs a CPU transposed convolution as one small single-threaded GEMM per image, while conv2d
 * goes to oneDNN on every thread. Used for layers of 32 output channels or more: for narrower
 * ones (DCGAN's last layer, 64 -> 1) four tiny convolutions cost more than they save
 * (docs/performance.md measures both).
 *
 * Output row 2i + a takes kernel rows 3, 1 (a = 0) or 2, 0 (a = 1) from input rows i - 1, i or
 * i, i + 1: each phase's 2x2 kernel is every other row and column of the 4x4 one, flipped, and
 * its input is padded by one row (column) before or after.
 */
function convTranspose2dSubpixel(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const [n, , h, w] = x.shape;
  const out = weight.shape[1];
  const phase = (a: number, b: number) => {
    const rows = wrap(op("aten::slice.Tensor").call([weight.handle, 2, 1 - a, 4, 2]));
    const taps = wrap(op("aten::slice.Tensor").call([rows.handle, 3, 1 - b, 4, 2]));
    const kernel = wrap(op("aten::flip").call([taps.handle, [2, 3]])).transpose(0, 1); // (out, in, 2, 2)
    return conv2d(pad(x, [b === 0 ? 1 : 0, b, a === 0 ? 1 : 0, a]), kernel); // (n, out, h, w)
  };
  const rows = [0, 1].map((a) => stack([phase(a, 0), phase(a, 1)], 4)); // (n, out, h, w, b)
  const y = stack(rows, 3).reshape(n, out, 2 * h, 2 * w); // (n, out, h, a, w, b) -> (n, out, 2h, 2w)
  return bias ? y.add(bias.view(1, out, 1, 1)) : y;
}
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  options: { training?: boolean; momentum?: number; eps?: number } = {},
): Tensor {
  const { training = false, momentum = 0.1, eps = 1e-5 } = options;
  return wrap(op("aten::batch_norm").call([x.handle, opt(weight), opt(bias), opt(runningMean), opt(runningVar), training, momentum, eps, true]));
}
export function instanceNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  return wrap(op("aten::instance_norm").call([x.handle, opt(weight), opt(bias), null, null, true, 0.1, eps, true]));
}
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return wrap(op("aten::layer_norm").call([x.handle, normalizedShape, opt(weight), opt(bias), eps, true]));
}
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  return wrap(op("aten::dropout").call([x.handle, p, training]));
}
export function maxPool2d(x: Tensor, kernelSize: Pair, options: { stride?: Pair; padding?: Pair } = {}): Tensor {
  return wrap(op("aten::max_pool2d").call([x.handle, kernelSize, options.stride ?? kernelSize, options.padding ?? 0]));
}
export function avgPool2d(x: Tensor, kernelSize: Pair, options: { stride?: Pair; padding?: Pair } = {}): Tensor {
  return wrap(op("aten::avg_pool2d").call([x.handle, kernelSize, options.stride ?? kernelSize, options.padding ?? 0]));
}
/** Resizes the last two dims by a scale factor or to a size. */
export function upsample(
  x: Tensor,
  options: { scaleFactor?: number; size?: readonly [number, number]; mode?: "nearest" | "bilinear"; alignCorners?: boolean },
): Tensor {
  const { scaleFactor, size, mode = "nearest", alignCorners = false } = options;
  if ((scaleFactor === undefined) === (size === undefined)) throw new GanError("upsample(): give exactly one of scaleFactor and size");
  const scales = scaleFactor === undefined ? null : [scaleFactor, scaleFactor];
  return mode === "nearest"
    ? wrap(op("aten::upsample_nearest2d.vec").call([x.handle, size ?? null, scales]))
    : wrap(op("aten::upsample_bilinear2d.vec").call([x.handle, size ?? null, alignCorners, scales]));
}

/**
 * The sampling grid (N, H, W, 2) of a batch of 2x3 affine matrices `theta` (N, 2, 3) for an output
 * of `size` (N, C, H, W), in normalized coordinates: torch.nn.functional.affine_grid.
 */
export function affineGrid(theta: Tensor, size: readonly number[], alignCorners = false): Tensor {
  return wrap(op("aten::affine_grid_generator").call([theta.handle, size, alignCorners]));
}
/** Samples `x` (N, C, H, W) at `grid` (N, H', W', 2): torch.nn.functional.grid_sample. */
export function gridSample(
  x: Tensor,
  grid: Tensor,
  options: { mode?: "bilinear" | "nearest"; padding?: "zeros" | "border" | "reflection"; alignCorners?: boolean } = {},
): Tensor {
  const { mode = "bilinear", padding = "zeros", alignCorners = false } = options;
  const modes = { bilinear: 0, nearest: 1 };
  const paddings = { zeros: 0, border: 1, reflection: 2 };
  return wrap(op("aten::grid_sampler").call([x.handle, grid.handle, modes[mode], paddings[padding], alignCorners]));
}

// --- losses ----------------------------------------------------------------------------------

/** BCE on probabilities in (0, 1). */
export function binaryCrossEntropy(p: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  return wrap(op("aten::binary_cross_entropy").call([p.handle, target.handle, null, reductions[reduction]]));
}
/** BCE on logits: sigmoid and log fused, numerically stable. */
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  return wrap(op("aten::binary_cross_entropy_with_logits").call([logits.handle, target.handle, null, null, reductions[reduction]]));
}
export function mseLoss(x: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  return wrap(op("aten::mse_loss").call([x.handle, target.handle, reductions[reduction]]));
}
/** Cross entropy of logits (B, C) against int64 class indices (B). */
export function crossEntropy(logits: Tensor, target: Tensor, options: { reduction?: Reduction; labelSmoothing?: number } = {}): Tensor {
  const { reduction = "mean", labelSmoothing = 0 } = options;
  return wrap(op("aten::cross_entropy_loss").call([logits.handle, target.handle, null, reductions[reduction], -100, labelSmoothing]));
}

// --- for evaluation --------------------------------------------------------------------------

export function softmax(x: Tensor, dim = -1): Tensor {
  return wrap(op("aten::softmax.int").call([x.handle, dim, null]));
}
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return wrap(op("aten::log_softmax.int").call([x.handle, dim, null]));
}
/** Euclidean distances between the rows of a (N, D) and b (M, D): (N, M). */
export function cdist(a: Tensor, b: Tensor): Tensor {
  return wrap(op("aten::cdist").call([a.handle, b.handle, 2, null]));
}
/** Eigenvalues (ascending) and eigenvectors of a symmetric matrix. */
export function eigh(a: Tensor): { values: Tensor; vectors: Tensor } {
  const [values, vectors] = (op("aten::linalg_eigh").call([a.handle, "L"]) as unknown[]).map((h) => wrap(h as never));
  return { values, vectors };
}
/** The k-th smallest element along dim (1-based k, as torch.kthvalue). */
export function kthvalue(x: Tensor, k: number, dim = -1): Tensor {
  const [values, indices] = (op("aten::kthvalue").call([x.handle, k, dim, false]) as unknown[]).map((h) => wrap(h as never));
  indices.dispose();
  return values;
}
