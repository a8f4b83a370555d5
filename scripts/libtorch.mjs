#!/usr/bin/env node
// Finds the libtorch that the addon compiles and links against, in this order:
//   1. LIBTORCH_DIR (a libtorch zip's folder, or any prefix with include/ and lib/);
//   2. the torch package of a pip-installed PyTorch (`python3 -c "import torch"`), which is how
//      users with CUDA get a GPU; PYTHON names another interpreter;
//   3. Debian's `libtorch-dev` under /usr.
// Used by binding.gyp: `node scripts/libtorch.mjs --include | --cflags | --libs | --json`.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

function hasHeaders(includeDir) {
  return existsSync(join(includeDir, "ATen", "ATen.h"));
}

function fromPrefix(prefix, source) {
  const include = join(prefix, "include");
  const lib = join(prefix, "lib");
  if (!hasHeaders(include) || !existsSync(join(lib, "libc10.so"))) return null;
  return { source, include: [include, join(include, "torch", "csrc", "api", "include")], lib, cxx11Abi: null };
}

function fromPython(env) {
  const python = env.PYTHON || "python3";
  let out;
  try {
    out = execFileSync(python, ["-c", "import torch, os, json; print(json.dumps([os.path.dirname(torch.__file__), bool(torch.compiled_with_cxx11_abi())]))"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    return null;
  }
  const [torchDir, cxx11Abi] = JSON.parse(out.trim().split("\n").pop());
  const found = fromPrefix(torchDir, `pip torch (${python})`);
  return found && { ...found, cxx11Abi };
}

function fromDebian(prefix) {
  const include = join(prefix, "include");
  const lib = join(prefix, "lib", "x86_64-linux-gnu");
  if (!hasHeaders(include) || !existsSync(join(lib, "libc10.so"))) return null;
  return {
    source: `Debian libtorch-dev (${prefix})`,
    include: [include, join(include, "torch", "csrc", "api", "include")],
    lib,
    cxx11Abi: true,
  };
}

/** env and debianPrefix are there for tests; the build uses the defaults. */
export function findLibtorch({ env = process.env, debianPrefix = "/usr" } = {}) {
  const dir = env.LIBTORCH_DIR;
  if (dir) {
    const found = fromPrefix(dir, `LIBTORCH_DIR=${dir}`);
    if (!found) throw new Error(`LIBTORCH_DIR=${dir} has no include/ATen/ATen.h and lib/libc10.so: point it at an unpacked libtorch.`);
    return found;
  }
  const found = fromPython(env) ?? fromDebian(debianPrefix);
  if (found) return found;
  throw new Error(
    "gantry could not find libtorch. It looked, in order, at:\n" +
      "  1. LIBTORCH_DIR (unset): set it to an unpacked libtorch folder holding include/ and lib/;\n" +
      `  2. a pip-installed PyTorch: \`${env.PYTHON || "python3"} -c "import torch"\` failed (pip install torch, or set PYTHON);\n` +
      "  3. Debian's libtorch-dev under /usr: not installed (sudo apt-get install libtorch-dev).",
  );
}

function libraries(found) {
  const names = readdirSync(found.lib);
  const has = (name) => names.includes(`lib${name}.so`);
  const libs = [`-L${found.lib}`, `-Wl,-rpath,${found.lib}`, "-lc10", "-ltorch_cpu"];
  // CUDA kernels register themselves from static initialisers: link them even though no symbol is used.
  const cuda = ["c10_cuda", "torch_cuda"].filter(has).map((n) => `-l${n}`);
  if (cuda.length) libs.push("-Wl,--no-as-needed", ...cuda, "-Wl,--as-needed");
  if (has("torch")) libs.push("-Wl,--no-as-needed", "-ltorch", "-Wl,--as-needed");
  if (sharesOpenMP(found)) libs.push("-fopenmp");
  return libs;
}

/** Where gloo's headers are (c10d's ProcessGroupGloo needs them): beside libtorch's, or Debian's libgloo-dev. */
export function glooInclude(found, debianPrefix = "/usr") {
  return [...found.include, join(debianPrefix, "include")].find((dir) => existsSync(join(dir, "gloo", "config.h"))) ?? null;
}

/**
 * Whether the addon may compile with OpenMP: Debian's libtorch runs its pool on the system's
 * libgomp, so the addon's parallel loops (native/gemm.cc) join that same pool. A pip wheel ships
 * its own copy of libgomp; linking the system's beside it would start a second pool, so there the
 * addon's loops run on one thread.
 */
export function sharesOpenMP(found) {
  return found.source.startsWith("Debian");
}

function cflags(found) {
  const flags = [];
  if (sharesOpenMP(found)) flags.push("-fopenmp");
  // Distributed training (native/dist.cc) compiles only with gloo's headers.
  const gloo = glooInclude(found);
  if (gloo) flags.push("-DUSE_C10D_GLOO", ...(gloo === "/usr/include" ? [] : [`-I${gloo}`]));
  if (found.cxx11Abi !== null) flags.push(`-D_GLIBCXX_USE_CXX11_ABI=${found.cxx11Abi ? 1 : 0}`);
  return flags;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const found = findLibtorch();
    const what = process.argv[2] ?? "--json";
    const out = {
      "--include": found.include,
      "--libs": libraries(found),
      "--cflags": cflags(found),
      "--json": [JSON.stringify(found)],
    }[what];
    if (!out) throw new Error(`unknown option ${what}: expected --include, --libs, --cflags or --json`);
    process.stdout.write(`${out.join(" ")}\n`);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
