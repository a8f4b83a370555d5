// Writes a file so that a crash mid-write leaves the previous version intact: write a temporary
// file beside it, flush it to disk, then rename it over the old one.
import { makeDir } from "./make-dir.js";
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, basename, join } from "node:path";

export function writeFileAtomic(path: string, chunks: Uint8Array | string | readonly (Uint8Array | string)[]): void {
  makeDir(dirname(path));
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, "w");
  } catch (err) {
    throw Object.assign(err as Error, { path });
  }
  try {
    for (const chunk of Array.isArray(chunks) ? chunks : [chunks]) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      let written = 0;
      while (written < bytes.byteLength) written += writeSync(fd, bytes, written);
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    // A failed write names the file the caller asked for, not the temporary beside it.
    throw Object.assign(err as Error, { path });
  }
  closeSync(fd);
  renameSync(tmp, path);
}
