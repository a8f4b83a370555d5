// npm run bench:gan — the training step of mnist-mlp and mnist-dcgan, gantry against PyTorch.
//   torch:            the tutorial's loop in PyTorch (G forward twice, D on real and fake apart);
//   gantry tutorial:  the same loop through gantry's Trainer (--loop tutorial);
//   gantry fast:      gantry's default loop (one G forward reused for G's step, real and fake
//                     through D together when D has no BatchNorm, D frozen during G's step).
// Rounds alternate so that machine noise hits all three alike. The last line is JSON.
import { Writable } from "node:stream";
import { setNumThreads, torchVersion } from "../src/engine/index.js";
import { createGan, Trainer } from "../src/train/index.js";
import { Progress } from "../src/train/progress.js";
import { TorchWorker, median, scratchDir, machineLine } from "./torch-worker.js";

const threads = Number(process.env.BENCH_THREADS ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const device = process.env.BENCH_DEVICE ?? "cpu";
const silent = new Progress(new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WriteStream, false);

async function gantryStep(preset: string, loop: "fast" | "tutorial") {
  const gan = createGan({ preset, train: { loop, steps: 1_000_000, device } });
  const trainer = await Trainer.create(gan, { runDir: scratchDir(), progress: silent });
  return (steps: number) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) {
      trainer.stepOnce();
    }
    return Number(process.hrtime.bigint() - start) / 1e6 / steps;
  };
}

async function main() {
  setNumThreads(threads);
  console.log(machineLine());
  const torch = new TorchWorker();
  const results: Record<string, Record<string, number>> = {};
  const cuda = device !== "cpu";
  for (const [preset, workload, steps] of [
    ["mnist-mlp", "mlp-gan", cuda ? 200 : 30],
    ["mnist-dcgan", "dcgan", cuda ? 100 : 8],
  ] as const) {
    await torch.ask(`setup ${workload} ${threads} ${device}`);
    const tutorial = await gantryStep(preset, "tutorial");
    const fast = await gantryStep(preset, "fast");
    await torch.ask(`run 3`);
    tutorial(3);
    fast(3);
    const ms = { torch: [] as number[], tutorial: [] as number[], fast: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      ms.torch.push((await torch.ask<{ ms: number }>(`run ${steps}`)).ms);
      ms.tutorial.push(tutorial(steps));
      ms.fast.push(fast(steps));
      console.log(
        `${preset} round ${r + 1}/${rounds}: torch ${ms.torch[r].toFixed(1)} ms, gantry tutorial ${ms.tutorial[r].toFixed(1)} ms, gantry fast ${ms.fast[r].toFixed(1)} ms`,
      );
    }
    const [t, gt, gf] = [median(ms.torch), median(ms.tutorial), median(ms.fast)];
    results[preset] = {
      torch_ms: +t.toFixed(2),
      gantry_tutorial_ms: +gt.toFixed(2),
      gantry_fast_ms: +gf.toFixed(2),
      ratio_tutorial: +(gt / t).toFixed(3),
      speedup_fast: +(t / gf).toFixed(3),
    };
  }
  torch.close();
  console.log(
    `gantry on libtorch ${torchVersion()}, ${device}, ${threads} threads; ratio_tutorial = gantry/torch on the same loop, speedup_fast = torch tutorial / gantry fast`,
  );
  console.log(JSON.stringify(results));
}

await main();
