// Calls ATen operators through the addon, resolved once to an id; a failure names the op and the
// shapes of its inputs.
import { native, translate, type Arg, type Handle, type Result } from "./native.js";
import { GanError } from "../errors.js";

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
      return native.call(id, ...args);
    } catch (err) {
      throw opError(err, this.name, args);
    }
  }

  /** For in-place ops: runs the op and drops its result, which is its first argument. */
  callVoid(args: Arg[]): void {
    const id = this.id;
    try {
      native.callVoid(id, ...args);
    } catch (err) {
      throw opError(err, this.name, args);
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

/** The shapes of the tensor arguments, for error messages: "[2, 3], [4]". */
function shapesOf(args: readonly Arg[]): string {
  const shapes: string[] = [];
  const visit = (a: Arg) => {
    if (Array.isArray(a)) for (const x of a) visit(x);
    else if (typeof a === "bigint") {
      try {
        shapes.push(`[${native.meta(a as Handle)[0].join(", ")}]`);
      } catch {
        shapes.push("[disposed]");
      }
    }
  };
  for (const a of args) visit(a);
  return shapes.join(", ");
}

/** An error from calling `opName` with `args`, typed and naming the op and its inputs' shapes. */
function opError(err: unknown, opName: string, args: readonly Arg[]): Error {
  const typed = translate(err);
  if (!(typed instanceof GanError) || typed.message.startsWith(opName)) return typed;
  const shapes = shapesOf(args);
  const Ctor = typed.constructor as new (message: string, options?: { cause?: unknown }) => GanError;
  return new Ctor(`${opName}: ${typed.message}${shapes ? ` (inputs ${shapes})` : ""}`, { cause: (typed as Error).cause ?? err });
}
