// Autograd beyond backward(): grad() with createGraph for double backward (gradient penalties),
// and grad-mode switches.
import { native } from "./native.js";
import { Tensor } from "./tensor.js";

export interface GradOptions {
  /** Gradients of the outputs; ones for scalar outputs when omitted. */
  gradOutputs?: (Tensor | null)[];
  /** Keep the graph for another backward; defaults to createGraph. */
  retainGraph?: boolean;
  /** Build a graph of the gradient itself, so it can be differentiated again. */
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

/** d(sum of outputs)/d(input) for each input, as torch.autograd.grad. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const grads = native.autogradGrad(
    outs.map((t) => t.handle),
    inputs.map((t) => t.handle),
    options.gradOutputs ? options.gradOutputs.map((t) => t?.handle ?? null) : null,
    options.retainGraph ?? null,
    options.createGraph ?? false,
    options.allowUnused ?? false,
  );
  return grads.map((h) => (h === null ? null : new Tensor(h)));
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = native.isGradEnabled();
  native.setGradEnabled(enabled);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Runs fn without recording a graph (evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}
