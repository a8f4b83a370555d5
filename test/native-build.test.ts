// The native build's libtorch finder: its order, and the error that names all three places.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "./helpers.js";

const finder = join(repoRoot, "scripts", "libtorch.mjs");
const run = (env: Record<string, string>) => spawnSync(process.execPath, [finder, "--json"], { encoding: "utf8", env: { PATH: process.env.PATH!, ...env } });

test("LIBTORCH_DIR comes first, and a wrong one is named", () => {
  const r = run({ LIBTORCH_DIR: "/no/such/libtorch" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /LIBTORCH_DIR=\/no\/such\/libtorch has no include\/ATen\/ATen\.h and lib\/libc10\.so/);
});

test("with no pip torch, Debian's libtorch-dev is found", () => {
  const r = run({ PYTHON: "/bin/false" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).source, "Debian libtorch-dev (/usr)");
});

test("when nothing is found, the error names all three places", async () => {
  const { findLibtorch } = (await import(finder)) as { findLibtorch: (o: { env: Record<string, string>; debianPrefix: string }) => unknown };
  assert.throws(
    () => findLibtorch({ env: { PYTHON: "/bin/false" }, debianPrefix: "/no/such/prefix" }),
    (e: Error) => /LIBTORCH_DIR \(unset\)/.test(e.message) && /pip-installed PyTorch/.test(e.message) && /libtorch-dev/.test(e.message),
  );
});

test("gloo's headers switch distributed training on: -DUSE_C10D_GLOO when found, nothing when not", async () => {
  const { glooInclude } = (await import(finder)) as { glooInclude: (found: { include: string[] }, prefix?: string) => string | null };
  assert.equal(glooInclude({ include: ["/no/such/include"] }, "/no/such/prefix"), null);
  assert.equal(glooInclude({ include: [] }, "/usr"), "/usr/include", "Debian's libgloo-dev (scripts/setup.sh installs it)");
  const flags = spawnSync(process.execPath, [finder, "--cflags"], { encoding: "utf8", env: { ...process.env, PYTHON: "/bin/false" } }).stdout;
  assert.match(flags, /-DUSE_C10D_GLOO/);
});

test("the addon compiles with OpenMP against Debian's libtorch (one libgomp pool), not against a pip wheel's own libgomp", async () => {
  const { sharesOpenMP } = (await import(finder)) as { sharesOpenMP: (found: { source: string }) => boolean };
  assert.equal(sharesOpenMP({ source: "Debian libtorch-dev (/usr)" }), true);
  assert.equal(sharesOpenMP({ source: "pip torch (python3)" }), false);
  assert.equal(sharesOpenMP({ source: "LIBTORCH_DIR=/opt/libtorch" }), false);
  const env = { ...process.env, PYTHON: "/bin/false" };
  assert.match(spawnSync(process.execPath, [finder, "--cflags"], { encoding: "utf8", env }).stdout, /-fopenmp/);
  assert.match(spawnSync(process.execPath, [finder, "--libs"], { encoding: "utf8", env }).stdout, /-fopenmp/);
});
