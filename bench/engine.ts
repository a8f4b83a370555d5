// npm run bench:engine — gantry's engine against PyTorch on this machine, in one run.
//  1. per-op call overhead: a 4-element add, in µs per call. Each add runs in its own scope, which
//     frees the result at once, as Python frees `a + b`; a second figure leaves the result to the
//     GC (an op outside every scope, as at a REPL);
//  2. the tutorial's MLP GAN training step (G 100-256-512-1024-784 tanh, D 784-512-256-1 sigmoid,
//     BCE, Adam 2e-4 (0.5, 0.999), batch 64), D on real and fake separately, then G.
// Rounds alternate between the two so that machine noise hits both alike. The last line is JSON.
import { ones, zeros, rand, randn, tidy, setNumThreads, getNumThreads, binaryCrossEntropy, manualSeed, torchVersion } from "../src/engine/index.js";
import { Sequential, Linear, LeakyReLU, Tanh, Sigmoid } from "../src/nn/index.js";
import { Adam } from "../src/optim/index.js";
import { TorchWorker, median, machineLine } from "./torch-worker.js";

const threads = Number(process.env.BENCH_THREADS ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const stepsPerRound = Number(process.env.BENCH_STEPS ?? 30);

function mlpGan() {
  manualSeed(0);
  const G = new Sequential(
    new Linear(100, 256),
    new LeakyReLU(0.2),
    new Linear(256, 512),
    new LeakyReLU(0.2),
    new Linear(512, 1024),
    new LeakyReLU(0.2),
    new Linear(1024, 784),
    new Tanh(),
  );
  const D = new Sequential(new Linear(784, 512), new LeakyReLU(0.2), new Linear(512, 256), new LeakyReLU(0.2), new Linear(256, 1), new Sigmoid());
  const optG = new Adam(G.parameters(), { lr: 2e-4, betas: [0.5, 0.999] });
  const optD = new Adam(D.parameters(), { lr: 2e-4, betas: [0.5, 0.999] });
  const real = rand([64, 784]).mul(2).sub(1);
  const [one, zero] = [ones([64, 1]), zeros([64, 1])];
  return () =>
    tidy(() => {
      const fake = G.forward(randn([64, 100]));
      const dLoss = binaryCrossEntropy(D.forward(real), one).add(binaryCrossEntropy(D.forward(fake.detach()), zero));
      optD.zeroGrad();
      dLoss.backward();
      optD.step();
      const gLoss = binaryCrossEntropy(D.forward(G.forward(randn([64, 100]))), one);
      optG.zeroGrad();
      gLoss.backward();
      optG.step();
    });
}

function timeMs(fn: () => void, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1e6 / n;
}

async function main() {
  setNumThreads(threads);
  console.log(machineLine());
  const torch = new TorchWorker();
  const info = await torch.ask<{ torch: string; threads: number }>(`setup mlp-gan ${threads}`);
  console.log(`gantry (libtorch ${torchVersion()}, ${getNumThreads()} threads) vs PyTorch ${info.torch} (${info.threads} threads)`);

  const a = ones([4]);
  const b = ones([4]);
  const addCall = () =>
    tidy(() => {
      a.add(b);
    });
  const unscopedCall = () => a.add(b);
  timeMs(addCall, 20000);
  timeMs(unscopedCall, 20000);
  await torch.ask(`op 20000`);
  const opUs = { gantry: [] as number[], unscoped: [] as number[], torch: [] as number[] };
  for (let r = 0; r < 5; r++) {
    opUs.gantry.push(timeMs(addCall, 50000) * 1000);
    opUs.unscoped.push(timeMs(unscopedCall, 50000) * 1000);
    opUs.torch.push((await torch.ask<{ us: number }>(`op 50000`)).us);
  }
  console.log(
    `op overhead (4-element add): gantry ${median(opUs.gantry).toFixed(2)} us (result left to the GC: ${median(opUs.unscoped).toFixed(2)} us), torch ${median(opUs.torch).toFixed(2)} us`,
  );

  const step = mlpGan();
  timeMs(step, 10);
  await torch.ask(`run 10`);
  const ms = { gantry: [] as number[], torch: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    ms.torch.push((await torch.ask<{ ms: number }>(`run ${stepsPerRound}`)).ms);
    ms.gantry.push(timeMs(step, stepsPerRound));
    console.log(`round ${r + 1}/${rounds}: gantry ${ms.gantry[r].toFixed(2)} ms, torch ${ms.torch[r].toFixed(2)} ms`);
  }
  torch.close();
  const gantryMs = median(ms.gantry);
  const torchMs = median(ms.torch);
  console.log(
    JSON.stringify({
      gantry_ms: +gantryMs.toFixed(3),
      torch_ms: +torchMs.toFixed(3),
      ratio: +(gantryMs / torchMs).toFixed(3),
      op_us: { gantry: +median(opUs.gantry).toFixed(3), gantry_unscoped: +median(opUs.unscoped).toFixed(3), torch: +median(opUs.torch).toFixed(3) },
      threads,
    }),
  );
}

await main();
