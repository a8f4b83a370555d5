// gantry's error classes. The CLI prints a GanError's message and exits 2; anything else is a bug
// and prints its stack.

export class GanError extends Error {
  override name = "GanError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One problem with a config value, located by its path (`train.learningRate`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** Invalid user configuration: a flag, a config file or an option object. Lists every issue found. */
export class ConfigError extends GanError {
  override name = "ConfigError";
  readonly issues: readonly ConfigIssue[];
  constructor(issues: ConfigIssue[] | string, options?: { cause?: unknown }) {
    const list = typeof issues === "string" ? [{ path: "", message: issues }] : issues;
    super(list.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("\n"), options);
    this.issues = list;
  }
}

/** Unreadable, malformed or missing data, naming the file and what was expected. */
export class DataError extends GanError {
  override name = "DataError";
}

/** A checkpoint or state dict that cannot be read or does not fit the model. */
export class CheckpointError extends GanError {
  override name = "CheckpointError";
}

/** Tensors whose shapes do not fit the operation. */
export class ShapeError extends GanError {
  override name = "ShapeError";
}

/** Tensors whose dtypes do not fit the operation. */
export class DTypeError extends GanError {
  override name = "DTypeError";
}

/** Any other failure inside libtorch, with libtorch's own message. */
export class EngineError extends GanError {
  override name = "EngineError";
}
