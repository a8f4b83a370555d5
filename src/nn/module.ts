// Module: the base of every layer and model, as torch.nn.Module. It owns named parameters,
// buffers and children, switches train/eval, moves devices and saves and loads state dicts.
import { type Tensor, keep, noGrad } from "../engine/index.js";
import { CheckpointError, GanError } from "../errors.js";

export abstract class Module {
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #children = new Map<string, Module>();
  /** Parameters computed from others at use, e.g. spectral norm's weight = weight_orig / sigma. */
  readonly #computed = new Map<string, () => Tensor>();

  abstract forward(x: Tensor, ...rest: Tensor[]): Tensor;

  /** Registers a trainable parameter; it outlives every tidy() scope. */
  protected param(name: string, t: Tensor): Tensor {
    keep(t).requiresGrad = true;
    this.#params.set(name, t);
    return t;
  }
  protected buffer(name: string, t: Tensor): Tensor {
    this.#buffers.set(name, keep(t));
    return t;
  }
  protected child<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  /** A parameter by name, computed if a reparametrization (spectral norm) replaced it. */
  tensor(name: string): Tensor {
    const computed = this.#computed.get(name);
    if (computed) return computed();
    const t = this.#params.get(name) ?? this.#buffers.get(name);
    if (!t) throw new CheckpointError(`${this.constructor.name} has no parameter or buffer '${name}'`);
    return t;
  }

  hasParam(name: string): boolean {
    return this.#params.has(name) || this.#computed.has(name);
  }

  /** Replaces parameter `name` by `compute()`, registering `extra` parameters and buffers. */
  reparametrize(name: string, compute: () => Tensor, extra: { params?: Record<string, Tensor>; buffers?: Record<string, Tensor> }): void {
    this.#params.delete(name);
    for (const [n, t] of Object.entries(extra.params ?? {})) this.param(n, t);
    for (const [n, t] of Object.entries(extra.buffers ?? {})) this.buffer(n, t);
    this.#computed.set(name, compute);
  }

  children(): [string, Module][] {
    return [...this.#children];
  }

  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.#params].map(([n, t]) => [prefix + n, t]);
    for (const [n, m] of this.#children) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.#buffers].map(([n, t]) => [prefix + n, t]);
    for (const [n, m] of this.#children) out.push(...m.namedBuffers(`${prefix}${n}.`));
    return out;
  }
  /** Modules in this tree, depth first, this one included. */
  modules(): Module[] {
    return [this, ...[...this.#children.values()].flatMap((m) => m.modules())];
  }

  /**
   * The PyTorch expression that builds this layer (`nn.Linear(784, 512, bias=True)`), for the
   * architecture file of `gantry export --torch`; the state dict's names then match. A layer
   * without a PyTorch twin throws.
   */
  torch(): string {
    throw new GanError(`${this.constructor.name} has no PyTorch equivalent for export yet`);
  }

  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  train(on = true): this {
    for (const m of this.modules()) m.training = on;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Moves every parameter and buffer to a device, keeping the same Tensor objects. */
  to(device: string): this {
    noGrad(() => {
      for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
        if (t.device === device) continue;
        const requiresGrad = t.requiresGrad;
        t.assign(t.to({ device }));
        if (requiresGrad) t.requiresGrad = true;
      }
    });
    return this;
  }

  /** Parameters then buffers by dotted name: the live tensors, not copies. */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies values into this module's parameters and buffers. Every missing, unexpected and
   * misshapen entry is reported at once, and nothing is copied unless all fit.
   */
  loadStateDict(dict: Record<string, Tensor>, source = "state dict"): void {
    const own = this.stateDict();
    const problems: string[] = [];
    for (const [name, t] of Object.entries(own)) {
      const given = dict[name];
      if (!given) problems.push(`missing '${name}' (shape [${t.shape.join(", ")}])`);
      else if (given.shape.join() !== t.shape.join()) {
        problems.push(`'${name}' has shape [${given.shape.join(", ")}], the model expects [${t.shape.join(", ")}]`);
      }
    }
    for (const name of Object.keys(dict)) if (!(name in own)) problems.push(`unexpected '${name}'`);
    if (problems.length) {
      throw new CheckpointError(`${source} does not fit ${this.constructor.name}:\n  ${problems.join("\n  ")}`);
    }
    noGrad(() => {
      for (const [name, t] of Object.entries(own)) t.copy_(dict[name]);
    });
  }
}
