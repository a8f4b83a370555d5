#!/usr/bin/env node
// Renders docs/quality.md from the eval JSON that scripts/quality-table.sh collects.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [dir, ...rows] = process.argv.slice(2);
const f = (x, d = 3) => (typeof x === "number" ? x.toFixed(d) : "–");
const image = [];
const toy = [];
let floor = null;
for (const row of rows) {
  const [name, flags] = row.split("|");
  const r = JSON.parse(readFileSync(join(dir, `${name}.eval.json`), "utf8"));
  const { seconds } = JSON.parse(readFileSync(join(dir, `${name}.time.json`), "utf8"));
  const command = `\`gantry train ${flags} --seed 0 --out runs/${name} && gantry eval --run runs/${name}\``;
  const minutes = (seconds / 60).toFixed(1);
  if ("modesCaptured" in r) {
    toy.push(
      `| ${name} | ${r.modesCaptured}/${r.numModes} | ${f(r.highQualityFraction * 100, 1)}% | ${r.collapsed ? "yes" : "no"} | ${minutes} | ${command} |`,
    );
  } else {
    floor = r.floor;
    image.push(
      `| ${name} | ${f(r.fid, 2)} | ${f(r.kid, 4)} | ${f(r.is, 2)} | ${f(r.precision)} | ${f(r.recall)} | ${f(r.density)} | ${f(r.coverage)} | ${r.classesCovered}/10 | ${r.collapsed ? "yes" : "no"} | ${r.labelAccuracy === null ? "–" : `${f(r.labelAccuracy * 100, 1)}%`} | ${f(r.memorized * 100, 2)}% | ${minutes} | ${command} |`,
    );
  }
}
console.log(`# Quality of gantry's presets

Each row is one run from seed 0 on a 2-core CPU (Debian 12, libtorch 1.13), trained for the
budget its command gives, then scored by \`gantry eval\` on 10,000 samples. "minutes" is wall time
on a shared machine (some rows ran beside test suites), a rough guide only. The budgets are small
on purpose, to show where each preset stands early: mnist-mlp at 5 and at 30 epochs shows the
tutorial's GAN improving (FID 492 to 79), and the toy rows show plain GANs collapsing onto a few
modes, which is what the toy presets are for.

The scores use gantry's own MNIST classifier (\`models/classifiers/mnist.safetensors\`, 99.14% test
accuracy), not InceptionV3: "FID (MNIST classifier)" and the IS analogue are **not comparable with
Inception FID or IS** reported elsewhere. Lower FID and KID are better; precision measures how
many samples look real, recall how much of the real data the samples cover (k = 3); density and
coverage are Naeem et al.'s (k = 5). "classes" counts classes holding at least 10% of their share;
"collapsed" means a class is missing or one holds over 3x its share. "memorized" is the share of
samples within RMS pixel distance 0.025 of a training image (no MNIST test image is that close to a training image: their nearest distances start at 0.035).

## MNIST

| run | FID (MNIST clf.) | KID | IS analogue | precision | recall | density | coverage | classes | collapsed | label acc. | memorized | minutes | reproduce |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${image.join("\n")}
| *real vs real: 10,000 train vs 10,000 test images* | ${f(floor.fid, 2)} | ${f(floor.kid, 4)} | ${f(floor.is, 2)} | ${f(floor.precision)} | ${f(floor.recall)} | ${f(floor.density)} | ${f(floor.coverage)} | ${floor.classesCovered}/10 | | | | | |

## Toy 2-D mixtures

The protocol of Unrolled GAN, VEEGAN and PacGAN on 10,000 samples: a sample is high quality within
3 standard deviations of its nearest mode; a mode is captured when it holds at least 20% of its
expected share of high-quality samples.

| run | modes captured | high-quality samples | collapsed | minutes | reproduce |
|---|---|---|---|---|---|
${toy.join("\n")}

## Samples

The tutorial's GAN (mnist-mlp) from the same fixed noise after 5 epochs and after 30:

![mnist-mlp after 5 epochs](images/mnist-mlp-5ep.png) ![mnist-mlp after 30 epochs](images/mnist-mlp-30ep.png)
`);
