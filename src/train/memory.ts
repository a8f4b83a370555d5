// Will a batch fit in memory? Measured, not guessed: one sample goes through G and D with every
// layer's output size recorded, and the training step's footprint is that times the batch, times
// the copies a step keeps (real and fake through D, saved activations, their gradients).
import { freemem, totalmem } from "node:os";
import { cat, noGrad, randn, tidy, withSeed, type Tensor } from "../engine/index.js";
import type { Generator, ModelShape } from "../models/index.js";
import type { Module } from "../nn/index.js";
import { sampleLatent, type Gan } from "./gan.js";
import { ConfigError } from "../errors.js";

/** Float elements every layer of `modules` outputs for one sample, summed. */
function activationElements(modules: Module[], run: () => Tensor): number {
  let elements = 0;
  const leaves = modules.filter((m) => m.children().length === 0);
  const originals = leaves.map((m) => m.forward);
  leaves.forEach((m, i) => {
    const original = originals[i];
    (m as { forward: (...args: unknown[]) => Tensor }).forward = (...args: unknown[]) => {
      const out = (original as (...a: unknown[]) => Tensor).apply(m, args);
      elements += out.size;
      return out;
    };
  });
  try {
    noGrad(() => tidy(() => void run()));
  } finally {
    leaves.forEach((m, i) => {
      (m as { forward: unknown }).forward = originals[i];
    });
  }
  return elements;
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** Memory that may be used: what the system reports free, or half the machine if that is more. */
function available(): number {
  return Math.max(freemem(), 0.5 * totalmem());
}

function assertFits(perSample: number, count: number, field: string): void {
  const needed = perSample * count;
  const limit = available();
  if (needed <= limit) return;
  const fits = Math.max(1, Math.floor(limit / perSample));
  throw new ConfigError([
    { path: field, message: `${count} needs about ${gib(needed)} of memory, more than the ${gib(limit)} available; about ${fits} at most would fit` },
  ]);
}

/** Measures with the models in eval mode and a private RNG, so training is not disturbed. */
function measure(modules: Module[], run: () => Tensor): number {
  const training = modules.map((m) => m.training);
  for (const m of modules) m.eval();
  try {
    return withSeed(0, () => activationElements(modules, run));
  } finally {
    for (const [i, m] of modules.entries()) m.train(training[i]);
  }
}

/**
 * Refuses a batch size whose training step would not fit in memory, with the estimate: D sees a
 * real and a fake batch, and the graph keeps every activation and its gradient (about 4 float32
 * copies of each layer's output per sample).
 */
export function assertBatchFits(gan: Gan, field = "train.batchSize"): void {
  const { G, D, shape } = gan;
  const device = G.parameters()[0]?.device ?? "cpu";
  // One pack of samples (one sample without PacGAN), then per sample.
  const n = gan.config.model.pack;
  const elements = measure([...G.modules(), ...D.modules()], () => {
    if (shape.source) {
      // Translation: G on an input image; D on the pair (pix2pix) or the output alone (CycleGAN).
      const x = randn([n, ...shape.source.shape], { device });
      const y = G.forward(x);
      return D.forward(shape.source.paired ? cat([x, y], 1) : y);
    }
    const { z, labels } = sampleLatent(shape, n, device);
    return D.forward(G.forward(z, labels), labels);
  });
  // CycleGAN runs both directions, twice each (a translation and a cycle): about twice one direction's activations.
  const directions = shape.source && !shape.source.paired ? 2 : 1;
  assertFits((elements / n) * 4 * 4 * directions, gan.config.train.batchSize, field);
}

/** Refuses a sample count whose generation (one forward of G, no gradients) would not fit. */
export function assertSamplesFit(G: Generator, shape: ModelShape, count: number, field = "--count"): void {
  const device = G.parameters()[0]?.device ?? "cpu";
  const elements = measure(G.modules(), () => {
    const { z, labels } = sampleLatent(shape, 1, device);
    return G.forward(z, labels);
  });
  assertFits(elements * 4 * 2, count, field);
}
