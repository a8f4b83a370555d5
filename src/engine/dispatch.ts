// Calls ATen operators by name through the addon, and turns libtorch's failures into typed errors.
import { native, type Arg, type Result } from "./native.js";
import { DTypeError, EngineError, GanError, ShapeError } from "../errors.js";

/** A lazily resolved ATen operator, named as in native_functions.yaml: "aten::add.Tensor". */
export class Op {
  #id = -1;
  constructor(readonly name: string) {}

  get id(): number {
    if (this.#id < 0) {
      const dot = this.name.indexOf(".");
      const [base, overload] = dot < 0 ? [this.name, ""] : [this.name.slice(0, dot), this.name.slice(dot + 1)];
      try {
        this.#id = native.resolveOp(base, overload);
      } catch (err) {
        throw translate(err);
      }
    }
    return this.#id;
  }

  call(args: Arg[]): Result {
    const id = this.id;
    try {
      return native.call(id, args);
    } catch (err) {
      throw translate(err);
    }
  }

  /** For in-place ops: runs the op and drops its result, which is its first argument. */
  callVoid(args: Arg[]): void {
    const id = this.id;
    try {
      native.callVoid(id, args);
    } catch (err) {
      throw translate(err);
    }
  }

  get schema(): string {
    return native.opSchema(this.id);
  }
}

const ops = new Map<string, Op>();

/** The Op for a qualified name; one instance per name. */
export function op(name: string): Op {
  let found = ops.get(name);
  if (!found) ops.set(name, (found = new Op(name)));
  return found;
}

const shapeWords = /size|shape|dimension|mat1 and mat2|same number of|expected .*dim|must match|out of range|invalid for input of size|broadcast/i;
const dtypeWords = /dtype|scalar type|expected .*(Float|Double|Long|Half|BFloat16|Byte|Bool)|promot|not implemented for '/i;

/** Maps an error from the addon to gantry's classes, keeping libtorch's message. */
export function translate(err: unknown): Error {
  if (err instanceof GanError || !(err instanceof Error)) return err as Error;
  const kind = (err as Error & { gantryKind?: string }).gantryKind;
  if (kind === undefined) return err;
  const message = err.message;
  if (kind === "argument") return new GanError(message, { cause: err });
  if (kind === "index" || shapeWords.test(message)) return new ShapeError(message, { cause: err });
  if (dtypeWords.test(message)) return new DTypeError(message, { cause: err });
  return new EngineError(message, { cause: err });
}
