// The package as a user gets it: `npm pack` ships the library, the CLI, the addon's sources, the
// models and the schema, and no tests, fixtures or benchmarks; its types compile in a strict
// consumer project (skipLibCheck: false) importing every public entry point.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { repoRoot } from "./helpers.js";

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { exports: Record<string, unknown>; dependencies: Record<string, string> };

test("npm pack ships the library and no tests, fixtures or benchmarks", () => {
  const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: repoRoot, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
  for (const needed of [
    "dist/src/index.js",
    "dist/src/index.d.ts",
    "bin/gantry.js",
    "native/ops.cc",
    "native/dist.cc",
    "native/shim/torch/csrc/distributed/autograd/context/context.h",
    "binding.gyp",
    "scripts/build-native.mjs",
    "models/classifiers/mnist.safetensors",
    "schema/gantry-config.schema.json",
    "web/dash/index.html",
    "web/dash/app.js",
  ]) {
    assert.ok(files.includes(needed), `${needed} is shipped`);
  }
  for (const f of files) assert.doesNotMatch(f, /\.test\.|^test\/|^dist\/test|^bench\/|^dist\/bench|fixtures/, `${f} is not shipped`);
});

test("the published types compile in a strict consumer project that imports every entry point", () => {
  const dir = mkdtempSync(join(tmpdir(), "gantry-consumer-"));
  mkdirSync(join(dir, "node_modules", "@types"), { recursive: true });
  symlinkSync(repoRoot, join(dir, "node_modules", "gantry"));
  // What `npm install gantry` brings beside it: its dependencies, and nothing of its devDependencies.
  for (const dep of Object.keys(pkg.dependencies)) {
    mkdirSync(dirname(join(dir, "node_modules", dep)), { recursive: true }); // a scoped package's @scope folder
    symlinkSync(join(repoRoot, "node_modules", dep), join(dir, "node_modules", dep));
  }
  const entries = Object.keys(pkg.exports).filter((e) => !e.endsWith(".json"));
  const lines = entries.map((e, i) => `import * as m${i} from "${e === "." ? "gantry" : `gantry/${e.slice(2)}`}";`);
  lines.push(`console.log(${entries.map((_, i) => `Object.keys(m${i}).length`).join(" + ")});`);
  lines.push('import { createGan, type GanConfig } from "gantry/train";', "const c: Partial<GanConfig> = {}; void c; void createGan;");
  lines.push('import { randn } from "gantry"; const t = randn([2, 3]); t.reshape([3, 2]); t.reshape(3, 2); { using s = t; void s; }');
  writeFileSync(join(dir, "index.ts"), `${lines.join("\n")}\n`);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", type: "module", private: true }));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: false, noEmit: true, lib: ["ES2022"] },
      files: ["index.ts"],
    }),
  );
  const r = spawnSync(process.execPath, [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", dir], { encoding: "utf8" });
  assert.equal(r.status, 0, `tsc in a strict consumer project:\n${r.stdout}${r.stderr}`);
});
