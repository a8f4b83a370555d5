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

/** Training cannot go on: a non-finite loss or weight. Nothing non-finite is ever checkpointed. */
export class TrainingError extends GanError {
  override name = "TrainingError";
}

const errnoReasons: Record<string, string> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is exceeded",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is a file, not a directory",
  EISDIR: "it is a directory",
  EEXIST: "it already exists",
  EMFILE: "too many open files",
  ENAMETOOLONG: "the name is too long",
  EIO: "an input/output error from the disk",
  EADDRINUSE: "the address is in use",
};

/** The machine refused: a full disk, a read-only or forbidden path, a missing folder. */
export class EnvironmentError extends GanError {
  override name = "EnvironmentError";
  /** A system error (from node:fs and friends) as an EnvironmentError naming the path; null for anything else. */
  static from(err: unknown): EnvironmentError | null {
    if (err instanceof GanError || !(err instanceof Error)) return null;
    const { code, syscall, path, dest } = err as NodeJS.ErrnoException & { dest?: string };
    if (typeof code !== "string" || !/^E[A-Z]+$/.test(code) || !syscall) return null;
    const what =
      { mkdir: "create the folder", open: "open", write: "write", rename: "write", unlink: "delete", rmdir: "delete", scandir: "list", read: "read" }[
        syscall
      ] ?? syscall;
    return new EnvironmentError(`cannot ${what} ${dest ?? path ?? "a file"}: ${errnoReasons[code] ?? "system error"} (${code})`, { cause: err });
  }
}

/** Any other failure inside libtorch, with libtorch's own message. */
export class EngineError extends GanError {
  override name = "EngineError";
}

/** libtorch's ValueError: an argument's value is out of its domain. */
export class ValueError extends EngineError {
  override name = "ValueError";
}

/** libtorch's NotImplementedError: no kernel for this dtype or device. */
export class NotImplementedError extends EngineError {
  override name = "NotImplementedError";
}

/** Memory ran out (libtorch's OutOfMemoryError, or an allocation that failed). */
export class OutOfMemoryError extends EngineError {
  override name = "OutOfMemoryError";
}

/**
 * Data-parallel training could not start or lost a rank: the message names this rank, the other
 * side where it is known, and what to check (the address, the port, the other processes' output).
 */
export class DistributedError extends GanError {
  override name = "DistributedError";
}
