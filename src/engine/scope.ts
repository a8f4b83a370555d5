// Deterministic memory: every tensor made inside a scope is freed when the scope ends, except
// those it returns or keeps. A tensor that no scope owns (made outside every scope, kept, or
// returned from the outermost one) is handed to the GC's safety net (Owned.unscoped), which frees
// it if it is never disposed; the hot path inside a scope pays nothing for that net.
import { GanError } from "../errors.js";

export interface Owned {
  dispose(): void;
  readonly isDisposed: boolean;
  /** Set by keep(): no scope frees it; only dispose() does. */
  kept: boolean;
  /** Called when no scope owns it any longer: from then on dispose() or the GC frees it. */
  unscoped(): void;
}

const stack: Owned[][] = [];

/** Registers a new tensor with the innermost scope; outside every scope, with the GC. */
export function track(t: Owned): void {
  if (stack.length) stack[stack.length - 1].push(t);
  else t.unscoped();
}

/** Marks a tensor to outlive every scope (model parameters, optimizer state). */
export function keep<T extends Owned>(t: T): T {
  t.kept = true;
  t.unscoped();
  return t;
}

function collect(value: unknown, into: Set<Owned>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 4) return;
  if ("dispose" in value && "kept" in value) {
    into.add(value as Owned);
    return;
  }
  const items = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : Object.values(value);
  for (const item of items) collect(item, into, depth + 1);
}

function close(scope: Owned[], escaping: Set<Owned>): void {
  const parent = stack[stack.length - 1];
  for (const t of scope) {
    if (t.kept || t.isDisposed) continue;
    if (!escaping.has(t)) t.dispose();
    else if (parent) parent.push(t);
    else t.unscoped();
  }
}

/**
 * Runs fn and frees every tensor it made, except those in its result (a tensor, or arrays and
 * objects of them), which move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Owned[] = [];
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    stack.pop();
    close(scope, new Set());
    throw err;
  }
  stack.pop();
  if (result instanceof Promise) {
    close(scope, new Set());
    throw new GanError("tidy() takes a synchronous function: tensors cannot be tracked across await");
  }
  const escaping = new Set<Owned>();
  collect(result, escaping);
  close(scope, escaping);
  return result;
}

/**
 * A scope for TypeScript's `using`: `using s = scope();` frees what the block made when it ends.
 * `s.keep(t)` lets one tensor escape into the enclosing scope.
 */
export function scope(): Disposable & { keep<T extends Owned>(t: T): T } {
  const own: Owned[] = [];
  const escaping = new Set<Owned>();
  stack.push(own);
  return {
    keep(t) {
      escaping.add(t);
      return t;
    },
    [Symbol.dispose]() {
      if (stack[stack.length - 1] !== own) throw new GanError("scopes must be closed in the order they were opened");
      stack.pop();
      close(own, escaping);
    },
  };
}
