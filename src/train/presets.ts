// Presets: each a table of overrides of the defaults in config.ts. `fashion-*` mirror the MNIST
// ones on Fashion-MNIST.
import type { ConfigOverrides } from "./config.js";

type Preset = { description: string; overrides: ConfigOverrides };

const dcgan = { generator: { name: "dcgan" }, discriminator: { name: "dcgan" } } as const;

const mnist: Record<string, Preset> = {
  "mnist-mlp": {
    description: "the tutorial's GAN: MLP G 100-256-512-1024-784 and D 784-512-256-1, BCE, Adam 2e-4 (0.5, 0.999), batch 64, 100 epochs",
    overrides: {},
  },
  "mnist-cnn-mlp": {
    description: "the tutorial's example: a CNN generator against an MLP discriminator",
    overrides: { model: { generator: { name: "cnn" } }, train: { epochs: 30 } },
  },
  "mnist-dcgan": {
    description: "DCGAN (Radford et al. 2016): strided convolutions with BatchNorm",
    overrides: { model: dcgan, train: { epochs: 20 } },
  },
  "mnist-cgan": {
    description: "conditional GAN (Mirza & Osindero 2014): the label fed to both G and D",
    overrides: { model: { conditional: true }, train: { epochs: 50 } },
  },
  "mnist-acgan": {
    description: "AC-GAN (Odena et al. 2017): G takes the label, D predicts it beside real/fake",
    overrides: {
      model: { conditional: true, generator: { name: "dcgan" }, discriminator: { name: "dcgan", options: { auxClassifier: true } } },
      train: { epochs: 20 },
    },
  },
  "mnist-projection": {
    description:
      "conditional GAN with a projection discriminator (Miyato & Koyama 2018) on DCGAN networks: G takes the label, D dots the label's learned embedding with its features",
    overrides: {
      model: { conditional: true, generator: { name: "dcgan" }, discriminator: { name: "dcgan", options: { projection: true } } },
      train: { epochs: 20 },
    },
  },
  "mnist-wgan-gp": {
    description: "WGAN-GP (Gulrajani et al. 2017): lambda 10, n_critic 5, Adam 1e-4 (0, 0.9), no BatchNorm in the critic",
    overrides: {
      model: { generator: { name: "dcgan" }, discriminator: { name: "dcgan", options: { norm: "layer" } } },
      loss: { name: "wgan-gp" },
      train: { nCritic: 5, lrG: 1e-4, lrD: 1e-4, betas: [0, 0.9], epochs: 20 },
    },
  },
  "mnist-lsgan": {
    description: "LSGAN (Mao et al. 2017): least-squares loss on DCGAN networks",
    overrides: { model: dcgan, loss: { name: "least-squares" }, train: { epochs: 20 } },
  },
  "mnist-hinge-sn": {
    description: "hinge loss with spectral normalization in D (Miyato et al. 2018)",
    overrides: {
      model: { generator: { name: "dcgan" }, discriminator: { name: "dcgan", options: { norm: "none", spectralNorm: true } } },
      loss: { name: "hinge" },
      train: { epochs: 20 },
    },
  },
  "mnist-infogan": {
    description:
      "InfoGAN (Chen et al. 2016): 62 noise dims, a 10-way categorical and 2 continuous codes that D's Q head reads back, on DCGAN nets; Adam 1e-3 for G, 2e-4 for D",
    overrides: {
      model: { ...dcgan, latentDim: 62, codes: { categorical: 10, continuous: 2 } },
      train: { lrG: 1e-3, lrD: 2e-4, epochs: 20 },
    },
  },
  "mnist-ragan": {
    description:
      "relativistic average GAN (RaSGAN, Jolicoeur-Martineau 2018): D asks whether real is more realistic than the average fake; DCGAN nets, Adam 2e-4 (0.5, 0.999)",
    overrides: { model: dcgan, loss: { name: "ragan" }, train: { epochs: 20 } },
  },
  "mnist-ralsgan": {
    description: "relativistic average least squares (RaLSGAN, Jolicoeur-Martineau 2018) on DCGAN nets",
    overrides: { model: dcgan, loss: { name: "ralsgan" }, train: { epochs: 20 } },
  },
  "mnist-dragan": {
    description: "DRAGAN (Kodali et al. 2017): a gradient penalty (lambda 10) around the real data; no BatchNorm in D, Adam 1e-4 (0.5, 0.9)",
    overrides: {
      model: { generator: { name: "dcgan" }, discriminator: { name: "dcgan", options: { norm: "layer" } } },
      loss: { name: "dragan" },
      train: { lrG: 1e-4, lrD: 1e-4, betas: [0.5, 0.9], epochs: 20 },
    },
  },
  "mnist-wgan-div": {
    description: "WGAN-div (Wu et al. 2018): Wasserstein divergence, k 2, p 6, n_critic 5, Adam 2e-4 (0.5, 0.999), no BatchNorm in the critic",
    overrides: {
      model: { generator: { name: "dcgan" }, discriminator: { name: "dcgan", options: { norm: "layer" } } },
      loss: { name: "wgan-div" },
      train: { nCritic: 5, epochs: 20 },
    },
  },
  "mnist-began": {
    description: "BEGAN (Berthelot et al. 2017): an autoencoder D with L1 energy, gamma 0.5, k by proportional control, z of 64, Adam 1e-4 (0.5, 0.999)",
    overrides: {
      model: { latentDim: 64, generator: { name: "dcgan" }, discriminator: { name: "autoencoder", options: { energy: "l1", code: 64 } } },
      loss: { name: "began", gamma: 0.5 },
      train: { lrG: 1e-4, lrD: 1e-4, epochs: 20 },
    },
  },
  "mnist-style": {
    description:
      "StyleGAN-style G (Karras et al. 2019, 2020: mapping network, modulated convolutions, noise, style mixing 0.9) against a DCGAN D with minibatch std; non-saturating loss with lazy R1 (gamma 1, every 16), Adam 2e-3 (0, 0.99), EMA of G",
    overrides: {
      model: {
        generator: { name: "style", options: { width: 16, maxChannels: 64 } },
        discriminator: { name: "dcgan", options: { norm: "none", minibatchStd: 4 } },
      },
      loss: { name: "r1", penaltyWeight: 1, penaltyEvery: 16 },
      train: { lrG: 2e-3, lrD: 2e-3, betas: [0, 0.99], emaDecay: 0.999, epochs: 20 },
    },
  },
  "mnist-ebgan": {
    description: "EBGAN (Zhao et al. 2017): an autoencoder D with squared-error energy, margin 1, the pulling-away term 0.1 in G's loss",
    overrides: {
      model: { generator: { name: "dcgan" }, discriminator: { name: "autoencoder", options: { energy: "l2", code: 64 } } },
      loss: { name: "ebgan", margin: 1, pullAway: 0.1 },
      train: { epochs: 20 },
    },
  },
};

/**
 * The WGAN-GP language model of Gulrajani et al. (2017): residual 1-D convolutions, lambda 10,
 * Adam (0.5, 0.9); sized for a CPU (docs/text.md): 2 blocks of 64 channels (the paper: 5 of 512),
 * n_critic 5 (10) and Adam 3e-4 (1e-4).
 */
const wganText = (dataset: "names" | "words", output: "softmax" | "gumbel"): ConfigOverrides => ({
  data: { dataset },
  model: {
    latentDim: 128,
    generator: { name: "seq-resnet", options: { output, dim: 64, blocks: 2 } },
    discriminator: { name: "seq-resnet", options: { dim: 64, blocks: 2 } },
  },
  loss: { name: "wgan-gp" },
  train: { nCritic: 5, lrG: 1e-3, lrD: 1e-3, betas: [0.5, 0.9], steps: 40000 },
  log: { sampleEvery: 2000 },
});

const text: Record<string, Preset> = {
  "names-wgan-gp": {
    description: "English first names, character by character: the WGAN-GP language model (Gulrajani et al. 2017), residual 1-D convolutions, sized for a CPU",
    overrides: wganText("names", "softmax"),
  },
  "words-wgan-gp": {
    description: "English words of up to 10 letters with the WGAN-GP language model (Gulrajani et al. 2017)",
    overrides: wganText("words", "softmax"),
  },
  "names-gumbel": {
    description: "English first names with a Gumbel-softmax generator, temperature annealed from 1 to 0.1 (Jang et al. 2017), against the WGAN-GP critic",
    overrides: wganText("names", "gumbel"),
  },
};

/**
 * WaveGAN (Donahue et al. 2019) on spoken digits, sized for a CPU: d = 8, batch 32, and the
 * non-saturating loss with lazy R1 (StyleGAN2's) at n_critic 1 in place of the paper's WGAN-GP at
 * n_critic 5, which leaves a 30-minute CPU budget a few hundred G updates (docs/audio.md).
 */
const audio: Record<string, Preset> = {
  "digits-wavegan": {
    description:
      "spoken digits 0-9 (gantry data spoken-digits) at 8 kHz, conditional WaveGAN (Donahue et al. 2019): 1-D transposed convolutions, phase shuffle, D with AC-GAN's class head; non-saturating + lazy R1, kernel 24 in G, an EMA of G; sized for a CPU",
    overrides: {
      data: { dataset: "spoken-digits", sampleRate: 8000, length: 8192 },
      model: {
        conditional: true,
        latentDim: 100,
        // Kernel 24, a multiple of the stride 4, overlaps evenly: fewer of the transposed
        // convolutions' fixed tones (checkerboard artifacts) than the paper's 25.
        generator: { name: "wavegan", options: { dim: 8, kernel: 24 } },
        // AC-GAN's class head: over 20,000 steps the asked-for digit is heard far more often than
        // with projection (83.8% against 73.0%), at a higher FID and lower recall (docs/audio.md).
        discriminator: { name: "wavegan", options: { dim: 8, auxClassifier: true } },
      },
      loss: { name: "r1", penaltyWeight: 1, penaltyEvery: 16 },
      train: { nCritic: 1, lrG: 1e-3, lrD: 1e-3, betas: [0.5, 0.99], batchSize: 32, steps: 20000, emaDecay: 0.999 },
      log: { sampleEvery: 500, every: 50 },
    },
  },
};

const toy = (dataset: "ring8" | "grid25"): Preset => ({
  description: `2-D ${dataset === "ring8" ? "ring of 8 Gaussians" : "5x5 grid of 25 Gaussians"} with MLPs, the mode-collapse benchmark`,
  overrides: {
    data: { dataset },
    model: {
      latentDim: 16,
      generator: { name: "mlp", options: { hidden: [128, 128, 128], output: "linear" } },
      discriminator: { name: "mlp", options: { hidden: [128, 128, 128] } },
    },
    train: { steps: 5000, batchSize: 256, lrG: 1e-3, lrD: 1e-3 },
    log: { sampleEvery: 1000 },
  },
});

/** Image-to-image translation on data built from MNIST (src/data/translation.ts). */
const translation: Record<string, Preset> = {
  "edges2digits-pix2pix": {
    description:
      "pix2pix (Isola et al. 2017): MNIST edge maps to digits, paired; U-Net G, PatchGAN D on (input, output), non-saturating loss + 100 x L1, Adam 2e-4 (0.5, 0.999)",
    overrides: {
      data: { dataset: "mnist-pairs", transform: "edges" },
      model: { generator: { name: "unet" }, discriminator: { name: "patch" } },
      loss: { name: "non-saturating", l1Weight: 100 },
      train: { epochs: 5 },
      log: { sampleEvery: 500 },
    },
  },
  "colour2grey-cyclegan": {
    description:
      "CycleGAN (Zhu et al. 2017): colourised MNIST to grey MNIST, unpaired; ResNet Gs both ways, PatchGAN Ds with pools of 50 fakes, least squares + 10 x cycle L1, Adam 2e-4 (0.5, 0.999), batch 16",
    overrides: {
      data: { dataset: "mnist-colour" },
      model: { generator: { name: "resnet" }, discriminator: { name: "patch", options: { norm: "instance" } } },
      loss: { name: "least-squares", cycleWeight: 10 },
      train: { batchSize: 16, steps: 6000 },
      log: { sampleEvery: 500 },
    },
  },
};

export const presets: Record<string, Preset> = {
  ...mnist,
  ...Object.fromEntries(
    Object.entries(mnist).map(([name, p]) => [
      name.replace("mnist-", "fashion-"),
      { description: `${p.description}, on Fashion-MNIST`, overrides: { ...p.overrides, data: { dataset: "fashion-mnist" } } },
    ]),
  ),
  "folder-dcgan": {
    description: "DCGAN on a folder of your PNG or JPEG images (--data-dir DIR) at 64 px, RGB; 32 px with data.imageSize",
    overrides: { data: { dataset: "folder", imageSize: 64, channels: 3 }, model: dcgan, train: { epochs: 25 } },
  },
  ...translation,
  ...text,
  ...audio,
  "toy-ring8": toy("ring8"),
  "toy-grid25": toy("grid25"),
};
