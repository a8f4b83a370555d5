// Reads a whole file, turning a failure into the caller's error class with the path and the
// system's reason (ENOENT, EACCES, ...).
import { readFileSync } from "node:fs";

export function readBytes(path: string, ErrorClass: new (message: string, options?: { cause?: unknown }) => Error): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ErrorClass(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}
