// zod glue: parse a value against a schema and turn every problem into a ConfigIssue with its
// path, the value found and, for a misspelt key, the nearest valid one.
import type { z } from "zod";
import { ConfigError, type ConfigIssue } from "../errors.js";

type Schema = z.ZodType;
type Def = { type: string; innerType?: Schema; element?: Schema; shape?: Record<string, Schema>; discriminator?: string; options?: Schema[] };
const def = (s: Schema) => (s as unknown as { def: Def }).def;

/** The schema inside wrappers that only add defaults, optionality or nullability. */
export function unwrap(s: Schema): Schema {
  let cur = s;
  for (;;) {
    const d = def(cur);
    if (["default", "prefault", "optional", "nullable", "readonly", "catch"].includes(d.type) && d.innerType) cur = d.innerType;
    else return cur;
  }
}

/** The object schemas a value at this level may match (one, or a union's options). */
function objectsOf(s: Schema, value: unknown): Schema[] {
  const inner = unwrap(s);
  const d = def(inner);
  if (d.type === "object") return [inner];
  if (d.type === "union" && d.options) {
    const objects = d.options.flatMap((o) => objectsOf(o, value));
    const key = d.discriminator;
    if (key && value && typeof value === "object") {
      const tag = (value as Record<string, unknown>)[key];
      const chosen = objects.filter((o) => {
        const lit = def(unwrap(def(o).shape![key]!)) as Def & { values?: unknown[] };
        return lit.values?.includes(tag);
      });
      if (chosen.length) return chosen;
    }
    return objects;
  }
  return [];
}

/** The schema of the field at `path` given the value it sits in (null where there is none). */
export function schemaAt(root: Schema, path: readonly PropertyKey[], value?: unknown): Schema | null {
  let s: Schema = root;
  let v = value;
  for (const key of path) {
    const inner = unwrap(s);
    if (def(inner).type === "array" && typeof key === "number") {
      s = def(inner).element!;
    } else {
      const found = objectsOf(s, v)
        .map((o) => def(o).shape![String(key)])
        .find(Boolean);
      if (!found) return null;
      s = found;
    }
    v = v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return s;
}

/** Every leaf field of a schema by dotted path, through objects and every option of a union. */
export function leafFields(root: Schema, prefix = ""): { path: string; schema: Schema }[] {
  const inner = unwrap(root);
  const d = def(inner);
  const objects = d.type === "object" ? [inner] : d.type === "union" ? objectsOf(inner, undefined) : [];
  if (!objects.length) return prefix ? [{ path: prefix, schema: root }] : [];
  const seen = new Set<string>();
  return objects.flatMap((o) =>
    Object.entries(def(o).shape!)
      .flatMap(([key, field]) => leafFields(field, prefix ? `${prefix}.${key}` : key))
      .filter((f) => !seen.has(f.path) && seen.add(f.path)),
  );
}

/** The keys an object at `path` may hold. */
export function keysAt(root: Schema, path: readonly PropertyKey[], value?: unknown): string[] {
  const s = path.length ? schemaAt(root, path, value) : root;
  return s ? [...new Set(objectsOf(s, valueAt(value, path)).flatMap((o) => Object.keys(def(o).shape!)))] : [];
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const key of path) v = v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      prev = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}

/** The option nearest to `word` if it is close enough to be a typo of it. */
export function didYouMean(word: string, options: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const o of options) {
    const d = editDistance(word, o);
    if (d < bestDistance) [best, bestDistance] = [o, d];
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v));

const article = (type: string) => (type === "int" ? "an integer" : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

/** What a value failed, in words: "expected an integer", "must be > 0", "needs at least 1 item". */
function describeIssue(issue: z.core.$ZodIssue): string {
  const i = issue as z.core.$ZodIssue & { expected?: string; origin?: string; minimum?: number | bigint; maximum?: number | bigint; inclusive?: boolean };
  if (issue.code === "invalid_type") return `expected ${article(String(i.expected))}`;
  if ((issue.code === "too_small" || issue.code === "too_big") && (i.origin === "number" || i.origin === "int")) {
    const small = issue.code === "too_small";
    const bound = small ? i.minimum : i.maximum;
    return `must be ${small ? (i.inclusive ? ">=" : ">") : i.inclusive ? "<=" : "<"} ${bound}`;
  }
  if ((issue.code === "too_small" || issue.code === "too_big") && (i.origin === "array" || i.origin === "string")) {
    const bound = Number(issue.code === "too_small" ? i.minimum : i.maximum);
    const unit = i.origin === "array" ? "item" : "character";
    return `needs ${issue.code === "too_small" ? "at least" : "at most"} ${bound} ${unit}${bound === 1 ? "" : "s"}`;
  }
  return issue.message.replace(/^Invalid input: /, "");
}

/** Every issue of a failed parse, each with its dotted path, the value found and what was expected. */
export function issuesOf(error: z.ZodError, schema: Schema, input: unknown, prefix = ""): ConfigIssue[] {
  const join = (path: readonly PropertyKey[]) => [prefix, ...path.map(String)].filter(Boolean).join(".");
  return error.issues.flatMap((issue): ConfigIssue[] => {
    const found = valueAt(input, issue.path);
    if (issue.code === "unrecognized_keys") {
      const known = keysAt(schema, issue.path, input);
      return issue.keys.map((key) => {
        const guess = didYouMean(key, known);
        return { path: join([...issue.path, key]), message: `unknown field${guess ? ` (did you mean '${guess}'?)` : ""}; expected one of ${known.join(", ")}` };
      });
    }
    if (issue.code === "invalid_union" && "options" in issue) {
      const options = (issue.options as unknown[]).map(String);
      const guess = typeof found === "string" ? didYouMean(found, options) : null;
      return [{ path: join(issue.path), message: `must be one of ${options.join(", ")}, got ${show(found)}${guess ? ` (did you mean '${guess}'?)` : ""}` }];
    }
    if (issue.code === "invalid_value" && "values" in issue) {
      const options = (issue.values as unknown[]).map(String);
      const guess = typeof found === "string" ? didYouMean(found, options) : null;
      return [{ path: join(issue.path), message: `must be one of ${options.join(", ")}, got ${show(found)}${guess ? ` (did you mean '${guess}'?)` : ""}` }];
    }
    if (found === undefined) {
      // A missing field: a message the schema gave for it, else what it needs.
      const custom = !issue.message.startsWith("Invalid input");
      return [{ path: join(issue.path), message: custom ? issue.message : `is required (${describeIssue(issue)})` }];
    }
    return [{ path: join(issue.path), message: `${describeIssue(issue)}, got ${show(found)}` }];
  });
}

/** Parses `value` with `schema`, or throws one ConfigError listing every issue by path. */
export function parseWith<S extends Schema>(schema: S, value: unknown, prefix = ""): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(issuesOf(result.error, schema, value, prefix));
}
