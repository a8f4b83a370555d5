// gantry export --torch: PyTorch (Debian's python3-torch) loads generator.py and generator.pt with
// weights_only=True and strict names, and gives gantry's outputs for the same z and labels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "../engine/index.js";
import { createGan, loadGenerator, Trainer } from "./index.js";
import { repoRoot, silentProgress } from "../../test/helpers.js";

const python = `
import sys, numpy as np, torch
sys.path.insert(0, sys.argv[1])
from generator import load
G = load()
n = int(sys.argv[2])
z = torch.from_numpy(np.fromfile(sys.argv[1] + "/z.bin", dtype=np.float32).reshape(n, G.latent_dim).copy())
labels = torch.from_numpy(np.fromfile(sys.argv[1] + "/labels.bin", dtype=np.int64).copy()) if G.num_classes else None
with torch.no_grad():
    out = G(z, labels).numpy().ravel()
expected = np.fromfile(sys.argv[1] + "/out.bin", dtype=np.float32)
print(float(np.abs(out - expected).max()), out.size, expected.size)
`;

for (const preset of ["mnist-mlp", "mnist-dcgan", "mnist-cnn-mlp", "mnist-acgan", "toy-ring8"]) {
  test(`${preset}: PyTorch loads the exported generator and matches gantry's output`, async () => {
    const run = mkdtempSync(join(tmpdir(), "gantry-torch-"));
    const trainer = await Trainer.create(createGan({ preset, train: { steps: 3, batchSize: 8 } }), { runDir: run, progress: silentProgress() });
    await trainer.run();
    trainer.dispose();
    const out = join(run, "torch");
    const cli = spawnSync(process.execPath, [join(repoRoot, "bin", "gantry.js"), "export", "--run", run, "--torch", out], { encoding: "utf8" });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /generator\.py[\s\S]*generator\.pt[\s\S]*generator\.safetensors/);
    const { G, shape } = loadGenerator(run);
    const n = 6;
    E.tidy(() => {
      const z = E.randn([n, shape.latentDim]);
      const labels = shape.numClasses ? E.randint(0, shape.numClasses, [n]) : undefined;
      const y = E.noGrad(() => G.forward(z, labels));
      writeFileSync(join(out, "z.bin"), z.data());
      if (labels) writeFileSync(join(out, "labels.bin"), labels.data());
      writeFileSync(join(out, "out.bin"), y.data());
    });
    const r = spawnSync("/usr/bin/python3", ["-c", python, out, String(n)], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const [maxDiff, got, want] = r.stdout.trim().split(" ").map(Number);
    assert.equal(got, want, "same number of outputs");
    assert.ok(maxDiff < 1e-5, `max |torch - gantry| = ${maxDiff}`);
  });
}
