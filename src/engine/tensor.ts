// Tensor: a typed handle on one libtorch tensor. Every op is a thin wrapper over the generic
// dispatcher call; shapes, broadcasting, autograd and devices are libtorch's own.
import { native, type Handle, type Result } from "./native.js";
import { op } from "./dispatch.js";
import { track, type Owned } from "./scope.js";
import { dtypeCode, dtypeName, dtypes, type DType, type TypedArrayOf } from "./dtype.js";
import { GanError, ShapeError } from "../errors.js";

export type Scalar = number | boolean;
export type Dims = number | readonly number[];

/** at::Reduction codes, as the loss ops take them. */
export const reductions = { none: 0, mean: 1, sum: 2 } as const;
export type Reduction = keyof typeof reductions;

// The safety net for tensors that no scope owns: one the GC collects without dispose() frees its
// libtorch tensor here. The registry holds a box, not the handle, so that dispose() and assign()
// can disarm or move it; registering without an unregister token costs a fifth as much.
type Net = { handle: Handle | null };
const collected = new FinalizationRegistry<Net>((net) => {
  if (net.handle !== null) native.dispose(net.handle);
});

/** Wraps a handle returned by the engine. */
export function wrap(h: Result): Tensor {
  return new Tensor(h as Handle);
}

function wrapAll(hs: Result): Tensor[] {
  return (hs as Handle[]).map((h) => new Tensor(h));
}

/** The handle of a tensor, or a number passed through as a Scalar. */
function arg(x: Tensor | Scalar): Handle | Scalar {
  return x instanceof Tensor ? x.handle : x;
}

/** Sizes given as PyTorch takes them: varargs `reshape(64, 784)` or one array `reshape([64, 784])`. */
function sizes(args: readonly number[] | readonly [readonly number[]]): readonly number[] {
  return args.length === 1 && Array.isArray(args[0]) ? (args[0] as readonly number[]) : (args as readonly number[]);
}

export class Tensor implements Owned, Disposable {
  #handle: Handle | null;
  #meta: [number[], number, string, boolean] | null = null;
  #net: Net | null = null;
  kept = false;

  constructor(handle: Handle) {
    this.#handle = handle;
    track(this);
  }

  get handle(): Handle {
    if (this.#handle === null) throw new GanError("this tensor was disposed and cannot be used again");
    return this.#handle;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  /** Frees the tensor's memory now. Using it afterwards throws. */
  dispose(): void {
    if (this.#handle === null) return;
    native.dispose(this.#handle);
    this.#handle = null;
    if (this.#net) this.#net.handle = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  unscoped(): void {
    if (this.#net || this.#handle === null) return;
    this.#net = { handle: this.#handle };
    collected.register(this, this.#net);
  }

  /**
   * Makes this tensor object refer to other's data, freeing its own; `other` is consumed.
   * Modules use it to move or load parameters without breaking references to them.
   */
  assign(other: Tensor): this {
    const h = other.handle;
    if (this.#handle !== null) native.dispose(this.#handle);
    this.#handle = h;
    this.#meta = null;
    other.#handle = null;
    // The GC's net follows the handle: other's would free it when other is collected.
    if (other.#net) other.#net.handle = null;
    if (this.#net) this.#net.handle = h;
    return this;
  }

  #info(): [number[], number, string, boolean] {
    return (this.#meta ??= native.meta(this.handle));
  }

  get shape(): readonly number[] {
    return this.#info()[0];
  }
  get dtype(): DType {
    return dtypeName(this.#info()[1]);
  }
  get device(): string {
    return this.#info()[2];
  }
  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(", ")}], dtype=${this.dtype}, device=${this.device})`;
  }

  // --- data out ------------------------------------------------------------------------------

  /** A copy of the data as the typed array of its dtype (bfloat16 as raw Uint16 bits). */
  data<D extends DType = DType>(): TypedArrayOf<D> {
    const buffer = native.toBuffer(this.handle);
    return new dtypes[this.dtype].array(buffer) as TypedArrayOf<D>;
  }

  /** The data as plain numbers, flattened in row-major order. */
  toArray(): number[] {
    const d = this.dtype === "bfloat16" ? this.to({ dtype: "float32" }).data() : this.data();
    return Array.from(d as ArrayLike<number | bigint>, Number);
  }

  /** The value of a one-element tensor. */
  item(): number {
    const n = this.size;
    if (n !== 1) throw new ShapeError(`item(): the tensor has ${n} elements (shape [${this.shape.join(", ")}]); item() reads a one-element tensor`);
    return native.item(this.handle);
  }

  // --- autograd ------------------------------------------------------------------------------

  get requiresGrad(): boolean {
    return native.meta(this.handle)[3];
  }
  set requiresGrad(on: boolean) {
    native.setRequiresGrad(this.handle, on);
  }
  /** Sets requiresGrad and returns this tensor, for chaining. */
  requiresGrad_(on = true): this {
    this.requiresGrad = on;
    return this;
  }

  /** The accumulated gradient, or null before backward(). A new handle each call. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g === null ? null : g.handle);
  }

  backward(gradient?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    if (!gradient && this.size !== 1) {
      throw new ShapeError(
        `backward(): the tensor has shape [${this.shape.join(", ")}]; without a gradient argument backward() needs a scalar (reduce it with sum() or mean())`,
      );
    }
    native.backward(this.handle, gradient?.handle ?? null, options.retainGraph ?? null, options.createGraph ?? false);
  }

  detach(): Tensor {
    return wrap(op("aten::detach").call([this.handle]));
  }

  // --- conversion ----------------------------------------------------------------------------

  to(options: { dtype?: DType; device?: string } | string): Tensor {
    const { dtype, device } = typeof options === "string" ? { device: options, dtype: undefined } : options;
    if (device?.startsWith("cuda") && native.cudaDeviceCount() === 0) {
      throw new GanError(`device '${device}' is not available: the libtorch gantry was built against has no CUDA, or no GPU is visible`);
    }
    return wrap(op("aten::to.dtype_layout").call([this.handle, dtype === undefined ? null : dtypeCode(dtype), null, device ?? null]));
  }
  clone(): Tensor {
    return wrap(op("aten::clone").call([this.handle]));
  }
  contiguous(): Tensor {
    return wrap(op("aten::contiguous").call([this.handle]));
  }

  // --- arithmetic, broadcasting --------------------------------------------------------------

  add(other: Tensor | Scalar, alpha = 1): Tensor {
    return other instanceof Tensor
      ? wrap(op("aten::add.Tensor").call([this.handle, other.handle, alpha]))
      : wrap(op("aten::add.Scalar").call([this.handle, other, alpha]));
  }
  sub(other: Tensor | Scalar, alpha = 1): Tensor {
    return other instanceof Tensor
      ? wrap(op("aten::sub.Tensor").call([this.handle, other.handle, alpha]))
      : wrap(op("aten::sub.Scalar").call([this.handle, other, alpha]));
  }
  mul(other: Tensor | Scalar): Tensor {
    return wrap(op(other instanceof Tensor ? "aten::mul.Tensor" : "aten::mul.Scalar").call([this.handle, arg(other)]));
  }
  div(other: Tensor | Scalar): Tensor {
    return wrap(op(other instanceof Tensor ? "aten::div.Tensor" : "aten::div.Scalar").call([this.handle, arg(other)]));
  }
  /** other - this, for scalars on the left. */
  rsub(other: Scalar): Tensor {
    return wrap(op("aten::rsub.Scalar").call([this.handle, other]));
  }
  neg(): Tensor {
    return wrap(op("aten::neg").call([this.handle]));
  }
  pow(exponent: Tensor | Scalar): Tensor {
    return exponent instanceof Tensor
      ? wrap(op("aten::pow.Tensor_Tensor").call([this.handle, exponent.handle]))
      : wrap(op("aten::pow.Tensor_Scalar").call([this.handle, exponent]));
  }
  matmul(other: Tensor): Tensor {
    return wrap(op("aten::matmul").call([this.handle, other.handle]));
  }

  // --- elementwise ---------------------------------------------------------------------------

  #unary(name: string): Tensor {
    return wrap(op(name).call([this.handle]));
  }
  sqrt(): Tensor {
    return this.#unary("aten::sqrt");
  }
  exp(): Tensor {
    return this.#unary("aten::exp");
  }
  log(): Tensor {
    return this.#unary("aten::log");
  }
  abs(): Tensor {
    return this.#unary("aten::abs");
  }
  square(): Tensor {
    return this.#unary("aten::square");
  }
  sign(): Tensor {
    return this.#unary("aten::sign");
  }
  round(): Tensor {
    return this.#unary("aten::round");
  }
  relu(): Tensor {
    return this.#unary("aten::relu");
  }
  tanh(): Tensor {
    return this.#unary("aten::tanh");
  }
  sigmoid(): Tensor {
    return this.#unary("aten::sigmoid");
  }
  leakyRelu(negativeSlope = 0.01): Tensor {
    return wrap(op("aten::leaky_relu").call([this.handle, negativeSlope]));
  }
  elu(alpha = 1): Tensor {
    return wrap(op("aten::elu").call([this.handle, alpha, 1, 1]));
  }
  softplus(beta = 1, threshold = 20): Tensor {
    return wrap(op("aten::softplus").call([this.handle, beta, threshold]));
  }
  gelu(approximate: "none" | "tanh" = "none"): Tensor {
    return wrap(op("aten::gelu").call([this.handle, approximate]));
  }
  /** Elementwise minimum and maximum of two tensors. */
  minimum(other: Tensor): Tensor {
    return wrap(op("aten::minimum").call([this.handle, other.handle]));
  }
  maximum(other: Tensor): Tensor {
    return wrap(op("aten::maximum").call([this.handle, other.handle]));
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return wrap(op("aten::clamp").call([this.handle, min ?? null, max ?? null]));
  }

  // --- comparisons ---------------------------------------------------------------------------

  #compare(name: string, other: Tensor | Scalar): Tensor {
    return wrap(op(`aten::${name}.${other instanceof Tensor ? "Tensor" : "Scalar"}`).call([this.handle, arg(other)]));
  }
  eq(other: Tensor | Scalar): Tensor {
    return this.#compare("eq", other);
  }
  ne(other: Tensor | Scalar): Tensor {
    return this.#compare("ne", other);
  }
  lt(other: Tensor | Scalar): Tensor {
    return this.#compare("lt", other);
  }
  le(other: Tensor | Scalar): Tensor {
    return this.#compare("le", other);
  }
  gt(other: Tensor | Scalar): Tensor {
    return this.#compare("gt", other);
  }
  ge(other: Tensor | Scalar): Tensor {
    return this.#compare("ge", other);
  }

  // --- reductions ----------------------------------------------------------------------------

  sum(dim?: Dims, keepdim = false): Tensor {
    return dim === undefined ? wrap(op("aten::sum").call([this.handle])) : wrap(op("aten::sum.dim_IntList").call([this.handle, dim, keepdim]));
  }
  /** log(sum(exp(x))) over `dim`, computed stably (as torch.logsumexp). */
  logsumexp(dim: Dims, keepdim = false): Tensor {
    return wrap(op("aten::logsumexp").call([this.handle, dim, keepdim]));
  }
  mean(dim?: Dims, keepdim = false): Tensor {
    return dim === undefined ? wrap(op("aten::mean").call([this.handle])) : wrap(op("aten::mean.dim").call([this.handle, dim, keepdim]));
  }
  /** Variance with Bessel's correction by default (correction 1), as torch.var. */
  var(dim?: Dims, options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return wrap(op("aten::var.correction").call([this.handle, dim ?? null, options.correction ?? 1, options.keepdim ?? false]));
  }
  std(dim?: Dims, options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return wrap(op("aten::std.correction").call([this.handle, dim ?? null, options.correction ?? 1, options.keepdim ?? false]));
  }
  /** The maximum of all elements. */
  max(): Tensor;
  /** The maximum along dim, with its indices. */
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return wrap(op("aten::max").call([this.handle]));
    const [values, indices] = wrapAll(op("aten::max.dim").call([this.handle, dim, keepdim]));
    return { values, indices };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return wrap(op("aten::min").call([this.handle]));
    const [values, indices] = wrapAll(op("aten::min.dim").call([this.handle, dim, keepdim]));
    return { values, indices };
  }
  /** The k largest (or, with largest false, smallest) along dim, sorted, with their indices. */
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const [values, indices] = wrapAll(op("aten::topk").call([this.handle, k, dim, largest, true]));
    return { values, indices };
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return wrap(op("aten::argmax").call([this.handle, dim ?? null, keepdim]));
  }
  /** Whether every element is non-zero (true), as a bool scalar tensor. */
  all(): Tensor {
    return wrap(op("aten::all").call([this.handle]));
  }
  /** Whether any element is non-zero (true), as a bool scalar tensor. */
  any(): Tensor {
    return wrap(op("aten::any").call([this.handle]));
  }
  /** Elementwise: true where the value is neither NaN nor infinite. */
  isfinite(): Tensor {
    return wrap(op("aten::isfinite").call([this.handle]));
  }
  /** The p-norm of all elements (2 by default). */
  norm(p = 2): Tensor {
    return wrap(op("aten::norm.Scalar").call([this.handle, p]));
  }

  // --- shape ---------------------------------------------------------------------------------

  view(...shape: number[] | [readonly number[]]): Tensor {
    return wrap(op("aten::view").call([this.handle, sizes(shape)]));
  }
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return wrap(op("aten::reshape").call([this.handle, sizes(shape)]));
  }
  permute(...dims: number[] | [readonly number[]]): Tensor {
    return wrap(op("aten::permute").call([this.handle, sizes(dims)]));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return wrap(op("aten::transpose.int").call([this.handle, dim0, dim1]));
  }
  /** The transpose of a 2-D tensor. */
  t(): Tensor {
    return wrap(op("aten::t").call([this.handle]));
  }
  /** The diagonal of a matrix (a view), `offset` above (> 0) or below (< 0) the main one. */
  diagonal(offset = 0): Tensor {
    return wrap(op("aten::diagonal").call([this.handle, offset, 0, 1]));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return wrap(op("aten::flatten.using_ints").call([this.handle, startDim, endDim]));
  }
  unsqueeze(dim: number): Tensor {
    return wrap(op("aten::unsqueeze").call([this.handle, dim]));
  }
  squeeze(dim?: number): Tensor {
    return dim === undefined ? wrap(op("aten::squeeze").call([this.handle])) : wrap(op("aten::squeeze.dim").call([this.handle, dim]));
  }
  expand(...shape: number[] | [readonly number[]]): Tensor {
    return wrap(op("aten::expand").call([this.handle, sizes(shape)]));
  }
  /** Elements start..start+length along dim, as a view. */
  narrow(dim: number, start: number, length: number): Tensor {
    return wrap(op("aten::narrow").call([this.handle, dim, start, length]));
  }
  /** Chunks of splitSize (a number) or of the given sizes (an array) along dim. */
  split(splitSize: number | readonly number[], dim = 0): Tensor[] {
    return typeof splitSize === "number"
      ? wrapAll(op("aten::split.Tensor").call([this.handle, splitSize, dim]))
      : wrapAll(op("aten::split_with_sizes").call([this.handle, splitSize, dim]));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return wrap(op("aten::index_select").call([this.handle, dim, index.handle]));
  }
  gather(dim: number, index: Tensor): Tensor {
    return wrap(op("aten::gather").call([this.handle, dim, index.handle]));
  }
  /** Tiles the tensor: repeat(2) of [a, b] is [a, b, a, b], as torch.Tensor.repeat. */
  repeat(...times: number[] | [readonly number[]]): Tensor {
    return wrap(op("aten::repeat").call([this.handle, sizes(times)]));
  }
  flip(...dims: number[] | [readonly number[]]): Tensor {
    return wrap(op("aten::flip").call([this.handle, sizes(dims)]));
  }

  // --- in place, for optimizers and initializers ---------------------------------------------

  add_(other: Tensor | Scalar, alpha = 1): this {
    if (other instanceof Tensor) op("aten::add_.Tensor").callVoid([this.handle, other.handle, alpha]);
    else op("aten::add_.Scalar").callVoid([this.handle, other, alpha]);
    return this;
  }
  sub_(other: Tensor | Scalar, alpha = 1): this {
    if (other instanceof Tensor) op("aten::sub_.Tensor").callVoid([this.handle, other.handle, alpha]);
    else op("aten::sub_.Scalar").callVoid([this.handle, other, alpha]);
    return this;
  }
  mul_(other: Tensor | Scalar): this {
    op(other instanceof Tensor ? "aten::mul_.Tensor" : "aten::mul_.Scalar").callVoid([this.handle, arg(other)]);
    return this;
  }
  div_(other: Tensor | Scalar): this {
    op(other instanceof Tensor ? "aten::div_.Tensor" : "aten::div_.Scalar").callVoid([this.handle, arg(other)]);
    return this;
  }
  /** this += value * t1 * t2 */
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this {
    op("aten::addcmul_").callVoid([this.handle, t1.handle, t2.handle, value]);
    return this;
  }
  /** this += value * t1 / t2 */
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this {
    op("aten::addcdiv_").callVoid([this.handle, t1.handle, t2.handle, value]);
    return this;
  }
  /** this += weight * (end - this) */
  lerp_(end: Tensor, weight: number): this {
    op("aten::lerp_.Scalar").callVoid([this.handle, end.handle, weight]);
    return this;
  }
  copy_(src: Tensor): this {
    op("aten::copy_").callVoid([this.handle, src.handle]);
    return this;
  }
  zero_(): this {
    op("aten::zero_").callVoid([this.handle]);
    return this;
  }
  fill_(value: number): this {
    op("aten::fill_.Scalar").callVoid([this.handle, value]);
    return this;
  }
  clamp_(min?: number | null, max?: number | null): this {
    op("aten::clamp_").callVoid([this.handle, min ?? null, max ?? null]);
    return this;
  }
  sqrt_(): this {
    op("aten::sqrt_").callVoid([this.handle]);
    return this;
  }
  normal_(mean = 0, std = 1): this {
    op("aten::normal_").callVoid([this.handle, mean, std]);
    return this;
  }
  uniform_(from = 0, to = 1): this {
    op("aten::uniform_").callVoid([this.handle, from, to]);
    return this;
  }
}
