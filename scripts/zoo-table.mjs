#!/usr/bin/env node
// Renders docs/zoo.md from what scripts/zoo-table.sh collects: one row per variant of the zoo.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [dir, ...rows] = process.argv.slice(2);
const f = (x, d = 3) => (typeof x === "number" ? x.toFixed(d) : "–");

/** What each variant changes, against the tutorial's GAN. */
const changes = {
  "mnist-mlp": "the tutorial's GAN: MLPs, BCE",
  "mnist-cnn-mlp": "G upsamples and convolves; D stays an MLP",
  "mnist-dcgan": "strided (transposed) convolutions and BatchNorm in both nets",
  "mnist-cgan": "the label fed to G and D",
  "mnist-acgan": "D predicts the label beside real/fake",
  "mnist-projection": "G takes the label; D dots the label's embedding with its features (projection)",
  "mnist-infogan": "unsupervised codes in z; D's Q head reads them back (mutual information)",
  "mnist-wgan-gp": "Wasserstein critic, gradient penalty between real and fake, n_critic 5",
  "mnist-wgan-div": "Wasserstein divergence: a penalty on the gradient norm to the 6th power, no Lipschitz constraint",
  "mnist-lsgan": "least-squares targets instead of BCE",
  "mnist-hinge-sn": "hinge loss, spectral norm in D",
  "mnist-ragan": "D judges real against the average fake (relativistic)",
  "mnist-ralsgan": "the relativistic comparison with least squares",
  "mnist-dragan": "a gradient penalty in a noisy neighbourhood of the real data",
  "mnist-began": "D an autoencoder; the equilibrium control k_t and the convergence measure",
  "mnist-ebgan": "D an autoencoder energy with a margin; the pulling-away term in G's loss",
};

const lines = [];
for (const row of rows) {
  const [name, flags] = row.split("|");
  const r = JSON.parse(readFileSync(join(dir, `${name}.eval.json`), "utf8"));
  const { seconds } = JSON.parse(readFileSync(join(dir, `${name}.time.json`), "utf8"));
  const card = JSON.parse(readFileSync(join(dir, name, "config.json"), "utf8"));
  const command = `\`gantry train ${flags} --seed 0 --out runs/${name} && gantry eval --run runs/${name}\``;
  const agreement = r.codeAgreement ? ` (code-class agreement ${f(r.codeAgreement.agreement * 100, 1)}%)` : "";
  lines.push(
    `| ${name} | ${changes[name] ?? ""} | \`${card.loss.name}\` | ![${name}](images/zoo-${name}.png) | ${f(r.fid, 1)}${agreement} | ${f(r.precision)} | ${f(r.recall)} | ${r.classesCovered}/10 | ${(seconds / 60).toFixed(1)} | ${command} |`,
  );
}
const info = JSON.parse(readFileSync(join(dir, "mnist-infogan.eval.json"), "utf8")).codeAgreement;
const began = readFileSync(join(dir, "mnist-began", "stats.jsonl"), "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l))
  .filter((r) => typeof r.convergence === "number");
const m = (i) => began[Math.max(0, Math.min(began.length - 1, i))];
const floor = JSON.parse(readFileSync(join(dir, `${rows[0].split("|")[0]}.eval.json`), "utf8")).floor;

console.log(`# The GAN zoo

Every variant gantry ships, each a preset with its paper's settings (\`gantry list\` prints each
with its paper). A variant is a loss in the registry (\`src/losses/index.ts\`), a model family
(\`src/models/registry.ts\`) or a latent option, and a preset (\`src/train/presets.ts\`); one
contract suite (\`src/train/zoo.test.ts\`) trains every preset for a few steps on tiny data and
checks finite losses, exact resume, export and sampling, the config round trip and the data
shapes. Every \`mnist-*\` preset has a \`fashion-*\` twin.

The scores are at one fixed, small budget — one epoch of MNIST at batch 64 (937 steps; five for
the MLP GANs, which are 10x cheaper per step) from seed 0 on one engine thread of a 2-core CPU,
two runs at a time — to compare the variants early in training, not their best. The n_critic 5
presets (WGAN-GP, WGAN-div) update G only 187 times in that epoch, which their scores show.
BEGAN and EBGAN ran 400 steps (0.43 epoch): their autoencoder D costs several times as much a
step, and their runs were cut to that budget (stopped, then resumed with \`--steps 400\`, which
trains exactly as a 400-step run). FID is gantry's
MNIST-classifier FID on 10,000 samples (lower is better; real vs real: ${f(floor.fid, 2)}), not
comparable with Inception FID; precision/recall are Kynkäänniemi et al.'s (k = 3) in the same
features; "classes" counts classes holding at least 10% of their share. Rows that ran beside
other jobs took longer; "minutes" is a rough guide. The sample grids are 32 samples from seed 1
(\`gantry sample --run RUN --count 32 --seed 1\`).

Reproduce the whole table: \`bash scripts/zoo-table.sh\` (two lanes at once: \`bash scripts/zoo-table.sh runs/zoo 0/2\` and \`1/2\`).

| preset | what it changes | loss | samples | FID (MNIST clf.) | precision | recall | classes | minutes | reproduce |
|---|---|---|---|---|---|---|---|---|---|
${lines.join("\n")}

## InfoGAN's codes

\`mnist-infogan\` feeds G 62 noise values, a 10-way categorical code and two continuous codes in
[-1, 1]; D's head also predicts the codes (the Q network), and both nets minimize how badly Q
reads them back (the mutual-information bound of Chen et al. 2016). Nothing tells it about
digits. \`gantry eval\` draws 1,000 samples per code value, labels them with the MNIST classifier,
and matches code values to classes one-to-one for the largest agreement: after this one epoch,
**${f(info.agreement * 100, 1)}%** of samples agree (code value k is class ${info.classOf.join(", ")} for k = 0..9). Chen
et al. report about 95% (5% error) after full training; one epoch is far from that, and the
categorical code has so far found some digits (the columns below) and merged others.

The categorical code, one value a column (\`gantry interpolate --run runs/mnist-infogan --sweep cat\`):

![categorical code](images/infogan-cat.png)

Continuous code c0 from -2 to 2 along each row, a row per categorical value, one noise vector
(\`gantry interpolate --run runs/mnist-infogan --sweep c0\`), and c1 the same way (\`--sweep c1\`):

![c0](images/infogan-c0.png) ![c1](images/infogan-c1.png)

At this budget both codes change the strokes' width and shape along a row, far less cleanly than
the slant and width the paper's fully trained model separates; \`gantry sample --run runs/mnist-infogan --code cat=3,c0=1.5\` pins codes.

## BEGAN's convergence measure

BEGAN logs k_t and its global convergence measure M = L(x) + |gamma L(x) - L(G(z))| in
\`stats.jsonl\` (\`beganK\`, \`convergence\`) and on the console. In the row above, M went from
${f(m(0).convergence)} at step ${m(0).step} to ${f(m(Math.floor(began.length / 2)).convergence)} at step ${m(Math.floor(began.length / 2)).step} and ${f(m(began.length - 1).convergence)} at step ${m(began.length - 1).step}, with k_t at ${f(m(began.length - 1).beganK, 4)}.${
  m(began.length - 1).beganK < 1e-3
    ? " While k_t sits at 0, L(G(z)) is still above gamma L(x): D only learns to reconstruct real digits and G only to be\nreconstructed well, so at this budget BEGAN's samples are blurry and alike; BEGAN needs a far longer run than this table gives."
    : ""
}
`);
