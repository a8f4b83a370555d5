// Optimizers as torch.optim: Adam, AdamW, SGD and RMSprop, each step the same arithmetic as
// PyTorch's single-tensor implementation, with state dicts that resume exactly.
import { type Tensor, keep, noGrad, tidy, zerosLike } from "../engine/index.js";
import { CheckpointError, ConfigError } from "../errors.js";

/** Per-parameter state tensors (exp_avg, momentum_buffer, ...) and the step count. */
interface ParamState {
  step: number;
  tensors: Record<string, Tensor>;
}

/** What an optimizer saves: its hyperparameters as JSON, and state tensors by "index.name". */
export interface OptimizerState {
  hyper: Record<string, unknown>;
  steps: (number | null)[];
  tensors: Record<string, Tensor>;
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly params: Tensor[];
  hyper: H;
  protected state = new Map<number, ParamState>();

  constructor(params: Tensor[], hyper: H) {
    this.params = params;
    this.hyper = hyper;
    if (!(hyper.lr >= 0)) throw new ConfigError([{ path: "lr", message: `must be a non-negative number, got ${hyper.lr}` }]);
  }

  get lr(): number {
    return this.hyper.lr;
  }
  set lr(value: number) {
    this.hyper.lr = value;
  }

  /** Frees the gradients (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    noGrad(() =>
      tidy(() => {
        this.params.forEach((p, i) => {
          const grad = p.grad;
          if (grad === null) return;
          let state = this.state.get(i);
          if (!state) this.state.set(i, (state = { step: 0, tensors: {} }));
          state.step += 1;
          this.update(p, grad, state);
        });
      }),
    );
  }

  protected abstract update(p: Tensor, grad: Tensor, state: ParamState): void;

  /** A state tensor, created as zeros like p on first use and kept across scopes. */
  protected buffer(state: ParamState, name: string, p: Tensor): Tensor {
    return (state.tensors[name] ??= keep(zerosLike(p)));
  }

  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    const steps = this.params.map((_, i) => this.state.get(i)?.step ?? null);
    for (const [i, s] of this.state) for (const [name, t] of Object.entries(s.tensors)) tensors[`${i}.${name}`] = t;
    return { hyper: { ...this.hyper }, steps, tensors };
  }

  loadStateDict(saved: OptimizerState, source = "optimizer state"): void {
    if (saved.steps.length !== this.params.length) {
      throw new CheckpointError(`${source}: holds ${saved.steps.length} parameters, this optimizer has ${this.params.length}`);
    }
    const next = new Map<number, ParamState>();
    saved.steps.forEach((step, i) => {
      if (step !== null) next.set(i, { step, tensors: {} });
    });
    for (const [key, t] of Object.entries(saved.tensors)) {
      const dot = key.indexOf(".");
      const i = Number(key.slice(0, dot));
      const state = next.get(i);
      if (!state) throw new CheckpointError(`${source}: tensor '${key}' belongs to parameter ${i}, which has no step count`);
      if (t.shape.join() !== this.params[i].shape.join()) {
        throw new CheckpointError(`${source}: '${key}' has shape [${t.shape.join(", ")}], parameter ${i} is [${this.params[i].shape.join(", ")}]`);
      }
      // A checkpoint loads on the CPU: the state goes where its parameter lives.
      state.tensors[key.slice(dot + 1)] = keep(t.to({ device: this.params[i].device }).clone());
    }
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state = next;
    this.hyper = { ...this.hyper, ...(saved.hyper as Partial<H>) };
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** Adam (Kingma & Ba 2015); weight decay added to the gradient, as torch.optim.Adam. */
export class Adam extends Optimizer<Required<AdamOptions>> {
  constructor(params: Tensor[], options: AdamOptions = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...options });
  }
  protected decoupled = false;
  protected update(p: Tensor, grad: Tensor, state: ParamState): void {
    const {
      lr,
      betas: [beta1, beta2],
      eps,
      weightDecay,
    } = this.hyper;
    if (weightDecay !== 0) {
      if (this.decoupled) p.mul_(1 - lr * weightDecay);
      else grad = grad.add(p, weightDecay);
    }
    const expAvg = this.buffer(state, "exp_avg", p);
    const expAvgSq = this.buffer(state, "exp_avg_sq", p);
    expAvg.mul_(beta1).add_(grad, 1 - beta1);
    expAvgSq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    const biasCorrection1 = 1 - beta1 ** state.step;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** state.step);
    const denom = expAvgSq.sqrt().div_(biasCorrection2Sqrt).add_(eps);
    p.addcdiv_(expAvg, denom, -lr / biasCorrection1);
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter 2019), as torch.optim.AdamW. */
export class AdamW extends Adam {
  constructor(params: Tensor[], options: AdamOptions = {}) {
    super(params, { weightDecay: 1e-2, ...options });
    this.decoupled = true;
  }
}

export interface SgdOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export class SGD extends Optimizer<Required<SgdOptions>> {
  constructor(params: Tensor[], options: SgdOptions = {}) {
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, ...options });
    if (this.hyper.nesterov && (this.hyper.momentum <= 0 || this.hyper.dampening !== 0)) {
      throw new ConfigError([{ path: "nesterov", message: "needs momentum > 0 and dampening 0" }]);
    }
  }
  protected update(p: Tensor, grad: Tensor, state: ParamState): void {
    const { lr, momentum, dampening, nesterov, weightDecay } = this.hyper;
    let d = weightDecay !== 0 ? grad.add(p, weightDecay) : grad;
    if (momentum !== 0) {
      let buf = state.tensors.momentum_buffer;
      if (!buf) buf = state.tensors.momentum_buffer = keep(d.clone());
      else buf.mul_(momentum).add_(d, 1 - dampening);
      d = nesterov ? d.add(buf, momentum) : buf;
    }
    p.add_(d, -lr);
  }
}

export interface RmspropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
}

export class RMSprop extends Optimizer<Required<RmspropOptions>> {
  constructor(params: Tensor[], options: RmspropOptions = {}) {
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, ...options });
  }
  protected update(p: Tensor, grad: Tensor, state: ParamState): void {
    const { lr, alpha, eps, weightDecay, momentum, centered } = this.hyper;
    if (weightDecay !== 0) grad = grad.add(p, weightDecay);
    const squareAvg = this.buffer(state, "square_avg", p);
    squareAvg.mul_(alpha).addcmul_(grad, grad, 1 - alpha);
    let avg: Tensor;
    if (centered) {
      const gradAvg = this.buffer(state, "grad_avg", p);
      gradAvg.mul_(alpha).add_(grad, 1 - alpha);
      avg = squareAvg.sub(gradAvg.mul(gradAvg)).sqrt_().add_(eps);
    } else {
      avg = squareAvg.sqrt().add_(eps);
    }
    if (momentum > 0) {
      const buf = this.buffer(state, "momentum_buffer", p);
      buf.mul_(momentum).addcdiv_(grad, avg);
      p.add_(buf, -lr);
    } else {
      p.addcdiv_(grad, avg, -lr);
    }
  }
}
