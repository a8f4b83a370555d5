// mkdir -p that reports the real reason. Node's recursive mkdirSync answers ENOENT when the
// nearest existing folder is read-only or forbidden; creating the first missing folder alone
// gives the true error (EROFS, EACCES), naming the folder the caller asked for.
import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

export function makeDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    let first = path;
    while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first);
    try {
      mkdirSync(first);
    } catch (inner) {
      throw Object.assign(inner as Error, { path });
    }
    throw err;
  }
}
