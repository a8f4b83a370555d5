// One training step of a GAN, in the words of Goodfellow et al. (2014): 1. update D on a real and
// a fake batch; 2. update G against D, once every n_critic steps. The options that change the
// maths live here too (instance noise, DiffAugment, packing via D, lazy penalties, unrolled D,
// AC-GAN's auxiliary loss); the loop around it is trainer.ts.
import { type Tensor, cat, crossEntropy, mseLoss, noGrad, stack, withSegments } from "../engine/index.js";
import { BatchNorm1d, BatchNorm2d } from "../nn/index.js";
import { type Adam, type EMA, clipGradNorm, clipWeights } from "../optim/index.js";
import type { Discriminator } from "../models/index.js";
import { sampleLatent, type DrawnCodes, type Gan } from "./gan.js";
import type { DataSource } from "./data-source.js";
import type { Batch } from "../data/loader.js";
import { diffAugment, instanceNoise } from "./augment.js";
import type { DataParallel, GradientReducer } from "../parallel/data-parallel.js";
import type { StepStats } from "./trainer.js";

/** Where in the run the step is: the D step number (0-based), the run's length, G's updates so far. */
export interface StepContext {
  step: number;
  totalSteps: number;
  generatorSteps: number;
  /** Also measure D(x), D(G(z)) and the gradient norms. */
  logging: boolean;
}

/** What the trainer asks of a step: one update of D and (usually) G on a batch. */
export interface Step {
  run(batch: Batch, at: StepContext): StepResult;
}

export interface StepResult {
  dLoss: number;
  /** G's loss, or null on a step without a G update (n_critic > 1). */
  gLoss: number | null;
  /** Whether G was updated. */
  gStep: boolean;
  stats: Partial<StepStats>;
}

/** D's output column 0 is the adversarial logit (or energy); then class logits (AC-GAN); then code predictions (InfoGAN); then an embedding (EBGAN). */
const adversarial = (out: Tensor) => out.narrow(1, 0, 1);
const classes = (out: Tensor, D: Discriminator) => out.narrow(1, 1, D.auxClasses);
const codePredictions = (out: Tensor, D: Discriminator) => out.narrow(1, 1 + D.auxClasses, D.codeOutputs);
const features = (out: Tensor, D: Discriminator) => (D.features ? out.narrow(1, 1 + D.auxClasses + D.codeOutputs, D.features) : undefined);

/** Backward through G's or D's loss at a (0-based) step. */
export type NetBackward = (loss: Tensor, net: "G" | "D", step: number) => void;

/**
 * loss.backward(); in a data-parallel run, through DDP's Reducer for that net, so that its
 * gradients are averaged across ranks (all-reduces overlapped with backward) by the time it returns.
 */
export function netBackward(gan: Gan, parallel: DataParallel | null): NetBackward {
  if (!parallel) return (loss) => loss.backward();
  const reducers: Record<"G" | "D", GradientReducer> = { G: parallel.reducer(gan.G.parameters()), D: parallel.reducer(gan.D.parameters()) };
  return (loss, net, step) => parallel.backward(loss, reducers[net], `the all-reduce of ${net}'s gradients at step ${step + 1}`);
}

export class AdversarialStep implements Step {
  /** Real and fake go through D as one batch, unless BatchNorm would mix their statistics. */
  readonly batchedD: boolean;
  /** loss.backward() for G's or D's loss; data-parallel: with that net's gradients averaged across ranks. */
  readonly #backward: NetBackward;

  constructor(
    readonly gan: Gan,
    readonly optG: Adam,
    readonly optD: Adam,
    readonly ema: EMA | null,
    /** Where unrolled D steps draw their extra real batches. */
    readonly data: DataSource,
    /** Data-parallel training: gradients are averaged across ranks after each backward. */
    readonly parallel: DataParallel | null = null,
  ) {
    const { D, config } = gan;
    this.batchedD = config.train.loop === "fast" && !D.modules().some((m) => m instanceof BatchNorm1d || m instanceof BatchNorm2d);
    this.#backward = netBackward(gan, parallel);
  }

  run(batch: Batch, at: StepContext): StepResult {
    const { G, D, loss, shape, config } = this.gan;
    const { images: real, labels: realLabels } = batch;
    const b = real.shape[0];
    const labels = shape.numClasses ? (realLabels ?? undefined) : undefined;
    const stats: Partial<StepStats> = {};
    G.schedule(at.step / at.totalSteps);

    // 1. Update D: maximize log D(x) + log(1 - D(G(z)))
    const { z, labels: fakeLabels, codes } = sampleLatent(shape, b, config.train.device);
    const fake = G.forward(z, fakeLabels); // (B, ...dataShape)
    const { dLoss, realOut, fakeOut } = this.#updateD(real, labels, fake, fakeLabels, at, at.step, at.logging ? stats : null, codes);
    loss.afterDiscriminator?.(adversarial(realOut).detach(), adversarial(fakeOut).detach());

    // 2. Update G: maximize log D(G(z)), once every nCritic D steps
    let gLoss: Tensor | null = null;
    if ((at.step + 1) % config.train.nCritic === 0) {
      // Unrolled GAN (Metz et al. 2017): G answers D as it will be k steps on, then D is put back.
      const restoreD = config.train.unrolledSteps ? this.#unrollD(config.train.unrolledSteps, at) : null;
      let gFake = fake;
      let gLabels = fakeLabels;
      let gCodes = codes;
      if (config.train.loop === "tutorial" || config.train.nCritic > 1) {
        const again = sampleLatent(shape, b, config.train.device);
        gFake = G.forward(again.z, again.labels);
        gLabels = again.labels;
        gCodes = again.codes;
      }
      // D's weights need no gradient here; the tutorial's loop computes them anyway, and discards them.
      const freeze = config.train.loop === "fast";
      if (freeze) for (const p of D.parameters()) p.requiresGrad = false;
      let out = D.forward(this.#view(gFake, at), gLabels);
      // Top-k training (Sinha et al. 2020): G's loss over the fakes D finds most real only.
      const best = this.#mostRealistic(out, at);
      if (best) {
        out = out.indexSelect(0, best);
        gLabels = gLabels?.indexSelect(0, best);
        if (gCodes) gCodes = { categorical: gCodes.categorical?.indexSelect(0, best) ?? null, continuous: gCodes.continuous?.indexSelect(0, best) ?? null };
      }
      // RaGAN's G compares with D on real data: this step's outputs, unless D has moved since.
      const realNow = () =>
        config.train.loop === "fast" && config.train.nCritic === 1 && !config.train.unrolledSteps
          ? adversarial(realOut).detach()
          : noGrad(() => adversarial(D.forward(this.#view(real, at), labels)));
      let g = loss.generator(adversarial(out), { real: loss.relativistic ? realNow() : undefined, features: features(out, D) });
      if (D.auxClasses > 0) g = g.add(crossEntropy(classes(out, D), gLabels!).mul(config.loss.auxWeight));
      const info = this.#info(out, gCodes);
      if (info) g = g.add(info);
      this.optG.zeroGrad();
      this.#backward(g, "G", at.step);
      if (freeze) for (const p of D.parameters()) p.requiresGrad = true;
      if (config.train.gradClip !== null || at.logging) stats.gradNormG = clipGradNorm(G.parameters(), config.train.gradClip ?? Number.POSITIVE_INFINITY);
      restoreD?.();
      this.optG.step();
      this.ema?.update(G, at.generatorSteps);
      gLoss = g;
    }
    if (at.logging) {
      const score = (out: Tensor) => noGrad(() => (loss.probabilistic ? adversarial(out).sigmoid() : adversarial(out)).mean().item());
      stats.dReal = score(realOut);
      stats.dFake = score(fakeOut);
      Object.assign(stats, loss.logged?.());
    }
    // One read of both losses: on a GPU each read waits for the device.
    if (!gLoss) return { dLoss: dLoss.item(), gLoss: null, gStep: false, stats };
    const [d, gl] = stack([dLoss.detach(), gLoss.detach()]).toArray();
    return { dLoss: d, gLoss: gl, gStep: true, stats };
  }

  /**
   * Top-k training's rows of D's outputs on the fakes (packs, when packed): the k that D rates most
   * real (the highest logits or critic scores; the lowest energies), k the share 0.99^epoch of the
   * batch, not below train.topK; null while every row counts.
   */
  #mostRealistic(out: Tensor, at: StepContext): Tensor | null {
    const { topK } = this.gan.config.train;
    if (topK >= 1) return null;
    const rows = out.shape[0];
    const epoch = at.step / this.data.batchesPerEpoch;
    const k = Math.max(1, Math.ceil(rows * Math.max(topK, 0.99 ** epoch)));
    if (k >= rows) return null;
    const realness = adversarial(out).detach().flatten();
    return (this.gan.loss.energy ? realness.neg() : realness).topk(k).indices;
  }

  /** What D sees: instance noise annealed to 0 over the run, then DiffAugment if enabled. */
  #view(x: Tensor, at: StepContext): Tensor {
    const { instanceNoise: std, diffAugment: augment } = this.gan.config.train;
    const noisy = instanceNoise(x, std * Math.max(0, 1 - at.step / at.totalSteps));
    return augment ? diffAugment(noisy) : noisy;
  }

  /** D's outputs on real and fake; one forward pass for both when the loop allows. */
  #discriminate(real: Tensor, fake: Tensor, at: StepContext, realLabels?: Tensor, fakeLabels?: Tensor): [Tensor, Tensor] {
    const { D } = this.gan;
    if (!this.batchedD) return [D.forward(this.#view(real, at), realLabels), D.forward(this.#view(fake, at), fakeLabels)];
    const labels = realLabels && fakeLabels ? cat([realLabels, fakeLabels]) : undefined;
    // (2B / pack, ...): packs never straddle the halves. Each half is sharded across ranks, so
    // random draws inside (instance noise, DiffAugment, phase shuffle) follow withSegments.
    const out = withSegments(2, () => D.forward(this.#view(cat([real, fake]), at), labels));
    const half = out.shape[0] / 2;
    return [out.narrow(0, 0, half), out.narrow(0, half, half)];
  }

  /**
   * One D update on real and (detached) fake data: the loss, a gradient penalty every
   * loss.penaltyEvery steps scaled by it (lazy regularization, StyleGAN2), the optimizer step and
   * WGAN's clipping. `stats`, when given, receives D's gradient norm.
   */
  #updateD(
    real: Tensor,
    labels: Tensor | undefined,
    fake: Tensor,
    fakeLabels: Tensor | undefined,
    at: StepContext,
    step: number,
    stats: Partial<StepStats> | null,
    codes?: DrawnCodes,
  ) {
    const { D, loss, config } = this.gan;
    const [realOut, fakeOut] = this.#discriminate(real, fake.detach(), at, labels, fakeLabels);
    let dLoss = loss.discriminator(adversarial(realOut), adversarial(fakeOut));
    if (D.auxClasses > 0) {
      const aux = (out: Tensor, y: Tensor) => crossEntropy(classes(out, D), y).mul(config.loss.auxWeight);
      dLoss = dLoss.add(aux(realOut, labels!)).add(aux(fakeOut, fakeLabels!));
    }
    const info = this.#info(fakeOut, codes);
    if (info) dLoss = dLoss.add(info);
    const every = config.loss.penaltyEvery;
    if (loss.penalty && step % every === 0) dLoss = dLoss.add(loss.penalty((x) => adversarial(D.forward(x, labels)), real, fake).mul(every));
    this.optD.zeroGrad();
    this.#backward(dLoss, "D", step);
    if (config.train.gradClip !== null || stats) {
      const norm = clipGradNorm(D.parameters(), config.train.gradClip ?? Number.POSITIVE_INFINITY);
      if (stats) stats.gradNormD = norm;
    }
    this.optD.step();
    if (loss.clip) clipWeights(D.parameters(), loss.clip);
    return { dLoss, realOut, fakeOut };
  }

  /**
   * InfoGAN's mutual-information term (Chen et al. 2016): how well D's Q head reads the codes back
   * from the fakes: cross entropy for the categorical code, squared error (a fixed-variance
   * Gaussian) for the continuous ones, weighted by loss.infoWeight; null without codes.
   */
  #info(out: Tensor, codes: DrawnCodes | undefined): Tensor | null {
    const { D, shape, config } = this.gan;
    if (!codes || !shape.codes) return null;
    const { categorical: K, continuous: C } = shape.codes;
    const q = codePredictions(out, D); // (B, K + C)
    const [wCat, wCon] = config.loss.infoWeight;
    const terms: Tensor[] = [];
    if (K) terms.push(crossEntropy(q.narrow(1, 0, K), codes.categorical!).mul(wCat));
    if (C) terms.push(mseLoss(q.narrow(1, K, C), codes.continuous!).mul(wCon));
    return terms.reduce((a, t) => a.add(t));
  }

  /**
   * Takes k extra D steps on fresh batches, with D's weights and optimizer state saved first;
   * returns the function that puts them back. G's loss in between is the first-order surrogate of
   * Metz et al.: D's unrolled weights are used, not differentiated through.
   */
  #unrollD(k: number, at: StepContext): () => void {
    const { G, D, shape, config } = this.gan;
    const weights = Object.fromEntries(Object.entries(D.stateDict()).map(([name, t]) => [name, t.detach().clone()]));
    const opt = this.optD.stateDict();
    const optSaved = { ...opt, tensors: Object.fromEntries(Object.entries(opt.tensors).map(([name, t]) => [name, t.clone()])) };
    for (let i = 0; i < k; i++) {
      const batch = this.data.next();
      const { z, labels, codes } = sampleLatent(shape, batch.images.shape[0], config.train.device);
      const fake = noGrad(() => G.forward(z, labels));
      this.#updateD(batch.images, shape.numClasses ? (batch.labels ?? undefined) : undefined, fake, labels, at, at.step + 1 + i, null, codes);
    }
    return () => {
      D.loadStateDict(weights, "unrolled D");
      this.optD.loadStateDict(optSaved, "unrolled D's optimizer");
    };
  }
}
