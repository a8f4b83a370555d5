// One training step of an image-to-image translation GAN, chosen by the data (a dataset whose
// samples are (input, target) pairs), beside step.ts's GAN from noise.
//   pix2pix (paired; Isola et al. 2017): D judges (input, target) against (input, G(input)); G
//     fools D and stays near the target in L1 (weight loss.l1Weight, 100).
//   CycleGAN (unpaired; Zhu et al. 2017): G: A -> B and F: B -> A; each fools its domain's D, and
//     F(G(a)) = a, G(F(b)) = b (loss.cycleWeight, 10), with an identity loss G(b) = b, F(a) = a
//     when the domains have the same channels; each D learns from a pool of past fakes.
// The adversarial terms are the configured loss (non-saturating by default; least squares as in
// CycleGAN's paper), applied to every patch D scores.
import { type Tensor, cat, noGrad, stack } from "../engine/index.js";
import type { Adam, EMA } from "../optim/index.js";
import { clipGradNorm } from "../optim/index.js";
import type { CycleDiscriminator, CycleGenerator, Discriminator } from "../models/index.js";
import type { Batch } from "../data/loader.js";
import type { Gan } from "./gan.js";
import type { DataParallel } from "../parallel/data-parallel.js";
import { netBackward, type NetBackward, type Step, type StepContext, type StepResult } from "./step.js";
import type { StepStats } from "./trainer.js";

const l1 = (x: Tensor, y: Tensor) => x.sub(y).abs().mean();

export class TranslationStep implements Step {
  readonly #backward: NetBackward;

  constructor(
    readonly gan: Gan,
    readonly optG: Adam,
    readonly optD: Adam,
    readonly ema: EMA | null,
    readonly parallel: DataParallel | null = null,
  ) {
    this.#backward = netBackward(gan, parallel);
  }

  run(batch: Batch, at: StepContext): StepResult {
    const source = batch.sources;
    if (!source) throw new Error("a translation step needs a batch with its input images (batch.sources)");
    return this.gan.shape.source!.paired ? this.#pix2pix(source, batch.images, at) : this.#cycle(source, batch.images, at);
  }

  #pix2pix(input: Tensor, target: Tensor, at: StepContext): StepResult {
    const { G, D, loss, config } = this.gan;
    const stats: Partial<StepStats> = {};
    const fake = G.forward(input);
    // D: (input, target) is real, (input, G(input)) fake; halved, as pix2pix slows D down.
    const realOut = D.forward(cat([input, target], 1));
    const fakeOut = D.forward(cat([input, fake.detach()], 1));
    const dLoss = loss.discriminator(realOut, fakeOut).mul(0.5);
    this.#update("D", dLoss, at, stats);
    // G: fool D, and stay near the target.
    this.#frozenParams(D, false);
    const out = D.forward(cat([input, fake], 1));
    const distance = l1(fake, target);
    const gLoss = loss.generator(out).add(distance.mul(config.loss.l1Weight));
    this.#update("G", gLoss, at, stats, () => this.#frozenParams(D, true));
    if (at.logging) this.#scores(stats, realOut, fakeOut, distance);
    return this.#result(dLoss, gLoss, stats);
  }

  #cycle(a: Tensor, b: Tensor, at: StepContext): StepResult {
    const { loss, config } = this.gan;
    const G = this.gan.G as CycleGenerator;
    const D = this.gan.D as CycleDiscriminator;
    const stats: Partial<StepStats> = {};
    // G and F first, against both discriminators as they stand (CycleGAN's order).
    this.#frozenParams(D, false);
    const fakeB = G.forwardNet.forward(a);
    const fakeA = G.back.forward(b);
    const cycle = l1(G.back.forward(fakeB), a).add(l1(G.forwardNet.forward(fakeA), b));
    let gLoss = loss
      .generator(D.forward(fakeB))
      .add(loss.generator(D.judgeSource(fakeA)))
      .add(cycle.mul(config.loss.cycleWeight));
    const { identityWeight, cycleWeight } = config.loss;
    if (identityWeight > 0 && a.shape[1] === b.shape[1]) {
      const identity = l1(G.forwardNet.forward(b), b).add(l1(G.back.forward(a), a));
      gLoss = gLoss.add(identity.mul(cycleWeight * identityWeight));
    }
    this.#update("G", gLoss, at, stats, () => this.#frozenParams(D, true));
    // Each D: its real domain against fakes drawn through its pool.
    const shownB = noGrad(() => D.targetPool.query(fakeB.detach()));
    const shownA = noGrad(() => D.sourcePool.query(fakeA.detach()));
    const realOut = D.forward(b);
    const fakeOut = D.forward(shownB);
    const dLoss = loss
      .discriminator(realOut, fakeOut)
      .add(loss.discriminator(D.judgeSource(a), D.judgeSource(shownA)))
      .mul(0.5);
    this.#update("D", dLoss, at, stats);
    if (at.logging) this.#scores(stats, realOut, fakeOut, cycle.div(2));
    return this.#result(dLoss, gLoss, stats);
  }

  /** Backward (gradients averaged across ranks in a data-parallel run), optional clipping, the optimizer's step. */
  #update(net: "G" | "D", value: Tensor, at: StepContext, stats: Partial<StepStats>, afterBackward?: () => void): void {
    const { G, D, config } = this.gan;
    const opt = net === "G" ? this.optG : this.optD;
    opt.zeroGrad();
    this.#backward(value, net, at.step);
    afterBackward?.();
    const params = (net === "G" ? G : D).parameters();
    if (config.train.gradClip !== null || at.logging) {
      const norm = clipGradNorm(params, config.train.gradClip ?? Number.POSITIVE_INFINITY);
      if (net === "G") stats.gradNormG = norm;
      else stats.gradNormD = norm;
    }
    opt.step();
    if (net === "G") this.ema?.update(G, at.generatorSteps);
  }

  /** D's weights need no gradient while G learns against it. */
  #frozenParams(D: Discriminator, on: boolean): void {
    for (const p of D.parameters()) p.requiresGrad = on;
  }

  #scores(stats: Partial<StepStats>, realOut: Tensor, fakeOut: Tensor, reconstruction: Tensor): void {
    const { loss } = this.gan;
    const score = (out: Tensor) => noGrad(() => (loss.probabilistic ? out.sigmoid() : out).mean().item());
    stats.dReal = score(realOut);
    stats.dFake = score(fakeOut);
    stats.reconstruction = reconstruction.item();
  }

  #result(dLoss: Tensor, gLoss: Tensor, stats: Partial<StepStats>): StepResult {
    const [d, g] = stack([dLoss.detach(), gLoss.detach()]).toArray();
    return { dLoss: d, gLoss: g, gStep: true, stats };
  }
}
