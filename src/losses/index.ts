// Adversarial losses, a typed registry. Each takes the discriminator's real/fake logits
// (D(x) = sigmoid(logit) for the probabilistic ones) and may add a penalty that needs D itself.
import { type Tensor, binaryCrossEntropyWithLogits, fullLike, grad, mseLoss, rand, zerosLike } from "../engine/index.js";
import { ConfigError } from "../errors.js";

/** Options every loss may use. */
export interface LossOptions {
  /** One-sided label smoothing: the real target for D, e.g. 0.9; default 1 (off). */
  realLabel?: number;
  /** Gradient-penalty weight: lambda for WGAN-GP (default 10), gamma for R1 (default 10). */
  penaltyWeight?: number;
  /** Weight clipping bound for the original WGAN's critic (default 0.01). */
  clip?: number;
}

export interface AdversarialLoss {
  /** D's loss, to minimize, from its logits on a real and a fake batch. */
  discriminator(real: Tensor, fake: Tensor): Tensor;
  /** G's loss, to minimize, from D's logits on a fake batch. */
  generator(fake: Tensor): Tensor;
  /** A penalty on D that needs its gradient (WGAN-GP, R1); added to D's loss. */
  penalty?(D: (x: Tensor) => Tensor, real: Tensor, fake: Tensor): Tensor;
  /** Clamp D's weights to [-clip, clip] after each D step (WGAN). */
  clip?: number;
  /** Whether D's output is a probability through sigmoid (the BCE family). */
  probabilistic: boolean;
}

const target = (like: Tensor, value: number) => fullLike(like, value);

/** BCE with logits: D maximizes log D(x) + log(1 - D(G(z))). */
function bceDiscriminator(realLabel: number) {
  return (real: Tensor, fake: Tensor) => binaryCrossEntropyWithLogits(real, target(real, realLabel)).add(binaryCrossEntropyWithLogits(fake, zerosLike(fake)));
}

/** The squared L2 norm of D's gradient at x, per sample: (B). */
function gradientNormSquared(D: (x: Tensor) => Tensor, x: Tensor): Tensor {
  const input = x.detach().requiresGrad_();
  const [g] = grad(D(input).sum(), [input], { createGraph: true });
  return g!.flatten(1).square().sum(1);
}

export const losses = {
  /** The original minimax game: G minimizes log(1 - D(G(z))). Saturates early; for study. */
  minimax: (o: LossOptions): AdversarialLoss => ({
    probabilistic: true,
    discriminator: bceDiscriminator(o.realLabel ?? 1),
    generator: (fake) => binaryCrossEntropyWithLogits(fake, zerosLike(fake)).neg(),
  }),
  /** The tutorial's loss: G minimizes -log D(G(z)) (non-saturating). */
  "non-saturating": (o: LossOptions): AdversarialLoss => ({
    probabilistic: true,
    discriminator: bceDiscriminator(o.realLabel ?? 1),
    generator: (fake) => binaryCrossEntropyWithLogits(fake, target(fake, 1)),
  }),
  /** Least squares (Mao et al. 2017): targets 1 for real, 0 for fake. */
  "least-squares": (o: LossOptions): AdversarialLoss => ({
    probabilistic: false,
    discriminator: (real, fake) =>
      mseLoss(real, target(real, o.realLabel ?? 1))
        .add(mseLoss(fake, zerosLike(fake)))
        .mul(0.5),
    generator: (fake) => mseLoss(fake, target(fake, 1)).mul(0.5),
  }),
  /** Hinge (Lim & Ye 2017; SN-GAN, BigGAN). */
  hinge: (): AdversarialLoss => ({
    probabilistic: false,
    discriminator: (real, fake) => real.rsub(1).relu().mean().add(fake.add(1).relu().mean()),
    generator: (fake) => fake.mean().neg(),
  }),
  /** Wasserstein with weight clipping (Arjovsky et al. 2017). */
  wasserstein: (o: LossOptions): AdversarialLoss => ({
    probabilistic: false,
    discriminator: (real, fake) => fake.mean().sub(real.mean()),
    generator: (fake) => fake.mean().neg(),
    clip: o.clip ?? 0.01,
  }),
  /** Wasserstein with gradient penalty (Gulrajani et al. 2017): lambda (||grad D(x^)|| - 1)^2, x^ between real and fake. */
  "wgan-gp": (o: LossOptions): AdversarialLoss => ({
    probabilistic: false,
    discriminator: (real, fake) => fake.mean().sub(real.mean()),
    generator: (fake) => fake.mean().neg(),
    penalty: (D, real, fake) => {
      const shape = [real.shape[0], ...real.shape.slice(1).map(() => 1)];
      const eps = rand(shape, { device: real.device }); // U(0, 1), one per sample
      const between = real.mul(eps).add(fake.detach().mul(eps.rsub(1)));
      return gradientNormSquared(D, between)
        .sqrt()
        .sub(1)
        .square()
        .mean()
        .mul(o.penaltyWeight ?? 10);
    },
  }),
  /** Non-saturating with the R1 penalty (Mescheder et al. 2018): gamma/2 E ||grad D(x)||^2 on real data. */
  r1: (o: LossOptions): AdversarialLoss => ({
    probabilistic: true,
    discriminator: bceDiscriminator(o.realLabel ?? 1),
    generator: (fake) => binaryCrossEntropyWithLogits(fake, target(fake, 1)),
    penalty: (D, real) =>
      gradientNormSquared(D, real)
        .mean()
        .mul((o.penaltyWeight ?? 10) / 2),
  }),
} satisfies Record<string, (options: LossOptions) => AdversarialLoss>;

export type LossName = keyof typeof losses;

export function buildLoss(name: string, options: LossOptions = {}): AdversarialLoss {
  const make = Object.hasOwn(losses, name) ? losses[name as LossName] : undefined;
  if (!make) throw new ConfigError([{ path: "loss", message: `unknown loss '${name}': expected one of ${Object.keys(losses).join(", ")}` }]);
  return make(options);
}
