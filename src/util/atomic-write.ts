// Writes a file so that a crash mid-write leaves the previous version intact: write a temporary
// file beside it, flush it to disk, then rename it over the old one.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, basename, join } from "node:path";

export function writeFileAtomic(path: string, chunks: Uint8Array | string | readonly (Uint8Array | string)[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, "w");
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
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
}
