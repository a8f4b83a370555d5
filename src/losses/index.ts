// Adversarial losses, a typed registry. Each takes the discriminator's real/fake outputs — logits
// (D(x) = sigmoid(logit) for the probabilistic ones), critic scores, or for the energy-based ones an
// autoencoder's reconstruction energy — and may add a penalty that needs D itself.
import { type Tensor, binaryCrossEntropyWithLogits, drawBatch, fullLike, globalMean, globalStd, grad, mseLoss, rand, zerosLike } from "../engine/index.js";
import { ConfigError } from "../errors.js";

/** Options every loss may use. */
export interface LossOptions {
  /** One-sided label smoothing: the real target for D, e.g. 0.9; default 1 (off). */
  realLabel?: number;
  /** Gradient-penalty weight: lambda for WGAN-GP and DRAGAN (default 10), gamma for R1 (default 10), k for WGAN-div (default 2). */
  penaltyWeight?: number;
  /** Weight clipping bound for the original WGAN's critic (default 0.01). */
  clip?: number;
  /** BEGAN's diversity ratio gamma = E[L(G(z))] / E[L(x)] (default 0.5). */
  gamma?: number;
  /** EBGAN's margin m on the fake energy (default 1). */
  margin?: number;
  /** EBGAN's pulling-away term weight (default 0.1). */
  pullAway?: number;
}

/** What G's loss may need beyond D's outputs on the fakes. */
export interface GeneratorContext {
  /** D's outputs on a real batch, detached: the relativistic losses compare against them. */
  real?: Tensor;
  /** D's embedding of the fakes (B, F), for EBGAN's pulling-away term. */
  features?: Tensor;
}

export interface AdversarialLoss {
  /** D's loss, to minimize, from its outputs on a real and a fake batch. */
  discriminator(real: Tensor, fake: Tensor): Tensor;
  /** G's loss, to minimize, from D's outputs on a fake batch. */
  generator(fake: Tensor, context?: GeneratorContext): Tensor;
  /** A penalty on D that needs its gradient (WGAN-GP, R1, DRAGAN, WGAN-div); added to D's loss. */
  penalty?(D: (x: Tensor) => Tensor, real: Tensor, fake: Tensor): Tensor;
  /** Clamp D's weights to [-clip, clip] after each D step (WGAN). */
  clip?: number;
  /** Whether D's output is a probability through sigmoid (the BCE family). */
  probabilistic: boolean;
  /** G's loss compares fakes with reals (RaGAN): the step passes D's outputs on real data. */
  relativistic?: boolean;
  /** D must be an energy model (an autoencoder whose output is its reconstruction error): BEGAN, EBGAN. */
  energy?: boolean;
  /** Called after each D update with D's detached outputs on real and fake (BEGAN's k_t control). */
  afterDiscriminator?(real: Tensor, fake: Tensor): void;
  /** Numbers the loss keeps across steps, saved in checkpoints for exact resume, and restored. */
  saveState?(): Record<string, number>;
  loadState?(state: Record<string, number>): void;
  /** Numbers to log in stats.jsonl beside the losses (BEGAN: k and the convergence measure). */
  logged?(): Record<string, number>;
}

const target = (like: Tensor, value: number) => fullLike(like, value);

/** BCE with logits: D maximizes log D(x) + log(1 - D(G(z))). */
function bceDiscriminator(realLabel: number) {
  return (real: Tensor, fake: Tensor) => binaryCrossEntropyWithLogits(real, target(real, realLabel)).add(binaryCrossEntropyWithLogits(fake, zerosLike(fake)));
}
const nonSaturatingG = (fake: Tensor) => binaryCrossEntropyWithLogits(fake, target(fake, 1));

/** The squared L2 norm of D's gradient at x, per sample: (B). */
function gradientNormSquared(D: (x: Tensor) => Tensor, x: Tensor): Tensor {
  const input = x.detach().requiresGrad_();
  const [g] = grad(D(input).sum(), [input], { createGraph: true });
  return g!.flatten(1).square().sum(1);
}

/** A random point on each line between a and b: eps a + (1 - eps) b, eps ~ U(0, 1) per sample. */
function between(a: Tensor, b: Tensor): Tensor {
  const shape = [a.shape[0], ...a.shape.slice(1).map(() => 1)];
  const eps = drawBatch(shape, (s) => rand(s, { device: a.device }));
  return a.mul(eps).add(b.detach().mul(eps.rsub(1)));
}

/** lambda E[(||grad D(x)|| - 1)^2]: the two-sided penalty of WGAN-GP and DRAGAN. */
const unitGradientPenalty = (D: (x: Tensor) => Tensor, x: Tensor, lambda: number) => gradientNormSquared(D, x).sqrt().sub(1).square().mean().mul(lambda);

/** The relativistic difference: each output against the mean of the other batch's, over the global batch (RaGAN). */
const relative = (a: Tensor, b: Tensor) => a.sub(globalMean(b));

/** EBGAN's pulling-away term: the mean squared cosine similarity between distinct embeddings. */
function pullingAway(features: Tensor): Tensor {
  const n = features.shape[0];
  const s = features.div(features.square().sum(1, true).sqrt().add(1e-8)); // (B, F), unit rows
  const cos = s.matmul(s.t()).square(); // (B, B), 1 on the diagonal
  return cos
    .sum()
    .sub(n)
    .div(n * (n - 1));
}

interface LossEntry {
  /** What it is, with its paper. */
  description: string;
  make(options: LossOptions): AdversarialLoss;
}

export const losses = {
  minimax: {
    description: "the original minimax game: G minimizes log(1 - D(G(z))); saturates early, for study (Goodfellow et al. 2014)",
    make: (o) => ({
      probabilistic: true,
      discriminator: bceDiscriminator(o.realLabel ?? 1),
      generator: (fake) => binaryCrossEntropyWithLogits(fake, zerosLike(fake)).neg(),
    }),
  },
  "non-saturating": {
    description: "the tutorial's BCE: G minimizes -log D(G(z)) (Goodfellow et al. 2014)",
    make: (o) => ({ probabilistic: true, discriminator: bceDiscriminator(o.realLabel ?? 1), generator: nonSaturatingG }),
  },
  "least-squares": {
    description: "least squares, targets 1 for real and 0 for fake (LSGAN, Mao et al. 2017)",
    make: (o) => ({
      probabilistic: false,
      discriminator: (real, fake) =>
        mseLoss(real, target(real, o.realLabel ?? 1))
          .add(mseLoss(fake, zerosLike(fake)))
          .mul(0.5),
      generator: (fake) => mseLoss(fake, target(fake, 1)).mul(0.5),
    }),
  },
  hinge: {
    description: "hinge loss (Lim & Ye 2017; SN-GAN, BigGAN)",
    make: () => ({
      probabilistic: false,
      discriminator: (real, fake) => real.rsub(1).relu().mean().add(fake.add(1).relu().mean()),
      generator: (fake) => fake.mean().neg(),
    }),
  },
  wasserstein: {
    description: "Wasserstein critic with weight clipping (WGAN, Arjovsky et al. 2017)",
    make: (o) => ({
      probabilistic: false,
      discriminator: (real, fake) => fake.mean().sub(real.mean()),
      generator: (fake) => fake.mean().neg(),
      clip: o.clip ?? 0.01,
    }),
  },
  "wgan-gp": {
    description: "Wasserstein with gradient penalty lambda (||grad D(x^)|| - 1)^2 between real and fake (Gulrajani et al. 2017)",
    make: (o) => ({
      probabilistic: false,
      discriminator: (real, fake) => fake.mean().sub(real.mean()),
      generator: (fake) => fake.mean().neg(),
      penalty: (D, real, fake) => unitGradientPenalty(D, between(real, fake), o.penaltyWeight ?? 10),
    }),
  },
  "wgan-div": {
    description: "Wasserstein divergence: critic loss plus k E||grad D(x^)||^p, k 2, p 6, no Lipschitz constraint (WGAN-div, Wu et al. 2018)",
    make: (o) => ({
      probabilistic: false,
      discriminator: (real, fake) => fake.mean().sub(real.mean()),
      generator: (fake) => fake.mean().neg(),
      // ||g||^6 = (||g||^2)^3
      penalty: (D, real, fake) =>
        gradientNormSquared(D, between(real, fake))
          .pow(3)
          .mean()
          .mul(o.penaltyWeight ?? 2),
    }),
  },
  r1: {
    description: "non-saturating with the R1 penalty gamma/2 E||grad D(x)||^2 on real data (Mescheder et al. 2018)",
    make: (o) => ({
      probabilistic: true,
      discriminator: bceDiscriminator(o.realLabel ?? 1),
      generator: nonSaturatingG,
      penalty: (D, real) =>
        gradientNormSquared(D, real)
          .mean()
          .mul((o.penaltyWeight ?? 10) / 2),
    }),
  },
  dragan: {
    description: "non-saturating with a gradient penalty in a noisy neighbourhood of the real data, against sharp D gradients (DRAGAN, Kodali et al. 2017)",
    make: (o) => ({
      probabilistic: true,
      discriminator: bceDiscriminator(o.realLabel ?? 1),
      generator: nonSaturatingG,
      // x_p = x + 0.5 std(x) u, u ~ U(0, 1); the penalty at a random point between x and x_p.
      penalty: (D, real) => {
        const perturbed = real.add(drawBatch(real.shape, (s) => rand(s, { device: real.device })).mul(globalStd(real).mul(0.5)));
        return unitGradientPenalty(D, between(real, perturbed), o.penaltyWeight ?? 10);
      },
    }),
  },
  ragan: {
    description:
      "relativistic average standard GAN: D judges whether real data is more realistic than the average fake, G the reverse (RaSGAN, Jolicoeur-Martineau 2018)",
    make: () =>
      relativistic((real, fake) =>
        binaryCrossEntropyWithLogits(relative(real, fake), target(real, 1)).add(binaryCrossEntropyWithLogits(relative(fake, real), zerosLike(fake))),
      ),
  },
  ralsgan: {
    description: "relativistic average least squares (RaLSGAN, Jolicoeur-Martineau 2018)",
    make: () => relativistic((real, fake) => relative(real, fake).sub(1).square().mean().add(relative(fake, real).add(1).square().mean()).mul(0.5)),
  },
  began: {
    description:
      "boundary equilibrium: D an autoencoder, L(x) its L1 reconstruction error, D minimizes L(x) - k L(G(z)), k kept at the ratio gamma by proportional control; logs the convergence measure (BEGAN, Berthelot et al. 2017)",
    make: (o) => began(o.gamma ?? 0.5),
  },
  ebgan: {
    description:
      "energy-based: D an autoencoder, its reconstruction error the energy; D minimizes E(x) + [m - E(G(z))]+, G its energy plus the pulling-away term (EBGAN, Zhao et al. 2017)",
    make: (o) => {
      const m = o.margin ?? 1;
      const weight = o.pullAway ?? 0.1;
      return {
        probabilistic: false,
        energy: true,
        discriminator: (real, fake) => real.mean().add(fake.rsub(m).relu().mean()),
        generator: (fake, c) => (weight && c?.features && c.features.shape[0] > 1 ? fake.mean().add(pullingAway(c.features).mul(weight)) : fake.mean()),
      };
    },
  },
} satisfies Record<string, LossEntry>;

/** A relativistic average loss: G's loss is D's with the roles of real and fake swapped. */
function relativistic(dLoss: (real: Tensor, fake: Tensor) => Tensor): AdversarialLoss {
  return {
    probabilistic: false,
    relativistic: true,
    discriminator: dLoss,
    generator: (fake, context) => {
      if (!context?.real) throw new Error("a relativistic loss needs D's outputs on real data for G's loss (context.real)");
      return dLoss(fake, context.real);
    },
  };
}

/** BEGAN: the equilibrium control k_t, a number carried from step to step (and in checkpoints). */
function began(gamma: number, lambdaK = 0.001): AdversarialLoss {
  let k = 0;
  let convergence = 0;
  return {
    probabilistic: false,
    energy: true,
    discriminator: (real, fake) => real.mean().sub(fake.mean().mul(k)),
    generator: (fake) => fake.mean(),
    afterDiscriminator(real, fake) {
      const [lReal, lFake] = [globalMean(real).item(), globalMean(fake).item()];
      const balance = gamma * lReal - lFake;
      k = Math.min(1, Math.max(0, k + lambdaK * balance));
      convergence = lReal + Math.abs(balance); // M_global: falls as training converges
    },
    saveState: () => ({ k, convergence }),
    loadState(state) {
      k = state.k ?? 0;
      convergence = state.convergence ?? 0;
    },
    logged: () => ({ beganK: k, convergence }),
  };
}

export type LossName = keyof typeof losses;

export function buildLoss(name: string, options: LossOptions = {}): AdversarialLoss {
  const entry = Object.hasOwn(losses, name) ? (losses[name as LossName] as LossEntry) : undefined;
  if (!entry) throw new ConfigError([{ path: "loss", message: `unknown loss '${name}': expected one of ${Object.keys(losses).join(", ")}` }]);
  return entry.make(options);
}
