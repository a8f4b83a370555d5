// npm run bench:gan — the training step of mnist-mlp and mnist-dcgan, gantry against PyTorch.
//   torch:            the tutorial's loop in PyTorch (G forward twice, D on real and fake apart);
//   gantry tutorial:  the same loop through gantry's Trainer (--loop tutorial);
//   gantry fast:      gantry's default loop (one G forward reused for G's step, real and fake
//                     through D together when D has no BatchNorm, D frozen during G's step).
//   torch, malloc:    the same PyTorch loop with glibc set as gantry sets it (native/malloc.cc:
//                     blocks up to 32 MiB from the heap, 256 MiB of free memory kept), to show what that alone is worth;
//   torch, tuned:     and with OpenBLAS on as many threads as libtorch as well (libgomp's workers
//                     sleep while OpenBLAS works, OMP_WAIT_POLICY=PASSIVE as gantry sets it): the
//                     fastest PyTorch we know how to set up on this CPU.
// Rounds alternate so that machine noise hits all five alike. Each loop's FLOPs per step are
// counted from the layers' shapes (PyTorch hooks on the same networks; a backward pass counted as
// twice its forward): the tutorial loop runs G forward twice and D forward three times, 4 F_G +
// 9 F_D in all; gantry's default loop 3 F_G + 8 F_D (one G forward, D only back to its input in
// G's step). GFLOP/s are set beside this machine's sgemm rate, a 2048-square matmul on as many
// threads, measured in the same run (on the CPU).
// Then, unless BENCH_SWEEP=0, how the cost grows: images/s of PyTorch's tutorial loop and gantry's
// default loop at batch 64, 256 and 1024 for mnist-mlp and mnist-dcgan (28 px), and at 64 and 256
// (BENCH_SWEEP_64PX, e.g. "64,256,1024") for folder-dcgan (64 px RGB); and unless
// BENCH_RSS_STEPS=0, the peak resident memory of a 1,000-step mnist-dcgan run on MNIST in each,
// the two side by side on one thread each. The last line is JSON.
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { setNumThreads, torchVersion } from "../src/engine/index.js";
import { loadDataset } from "../src/data/index.js";
import { createGan, Trainer } from "../src/train/index.js";
import { TorchWorker, median, scratchDir, machineLine, silentProgress } from "./torch-worker.js";

const threads = Number(process.env.BENCH_THREADS ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const device = process.env.BENCH_DEVICE ?? "cpu";
const sweep = process.env.BENCH_SWEEP !== "0";
const batches64px = (process.env.BENCH_SWEEP_64PX ?? "64,256").split(",").map(Number);
const rssSteps = Number(process.env.BENCH_RSS_STEPS ?? 1000);
const silent = silentProgress();
const here = dirname(fileURLToPath(import.meta.url));
// Each trainer holds its run directory's lock until the process exits; this benchmark keeps a dozen.
process.setMaxListeners(32);

/** glibc's settings as native/malloc.cc makes them, for the PyTorch process (32 MiB and 256 MiB). */
const gantryMalloc = { MALLOC_MMAP_THRESHOLD_: String(32 << 20), MALLOC_TRIM_THRESHOLD_: String(256 << 20) };

async function gantryStep(preset: string, loop: "fast" | "tutorial", batchSize = 64, data?: { dataDir: string; cache: boolean }) {
  const gan = createGan({ preset, ...(data ? { data } : {}), train: { loop, steps: 1_000_000, device, batchSize } });
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
  const cuda = device !== "cpu";
  // The PyTorch variants timed beside the plain one, on the CPU only: each reports `torch_NAME_ms`
  // and `speedup_fast_vs_torch_NAME`.
  const variants = (
    !cuda
      ? [
          { name: "malloc", label: "torch with gantry's malloc", env: gantryMalloc },
          { name: "tuned", label: "torch tuned", env: { ...gantryMalloc, OPENBLAS_NUM_THREADS: String(threads) } },
        ]
      : []
  ).map((v) => ({ ...v, worker: new TorchWorker(v.env), ms: [] as number[] }));
  const results: Record<string, Record<string, number>> = {};
  const peak = cuda ? null : sgemmPeak();
  if (peak) console.log(`sgemm peak (2048-square matmul, ${threads} threads): ${peak.toFixed(1)} GFLOP/s`);
  for (const [preset, workload, steps] of [
    ["mnist-mlp", "mlp-gan", cuda ? 200 : 30],
    ["mnist-dcgan", "dcgan", cuda ? 100 : 8],
  ] as const) {
    await torch.ask(`setup ${workload} ${threads} ${device}`);
    for (const v of variants) await v.worker.ask(`setup ${workload} ${threads} ${device}`);
    const tutorial = await gantryStep(preset, "tutorial");
    const fast = await gantryStep(preset, "fast");
    await torch.ask(`run 3`);
    for (const v of variants) await v.worker.ask(`run 3`);
    tutorial(3);
    fast(3);
    const ms = { torch: [] as number[], tutorial: [] as number[], fast: [] as number[] };
    for (const v of variants) v.ms = [];
    for (let r = 0; r < rounds; r++) {
      ms.torch.push((await torch.ask<{ ms: number }>(`run ${steps}`)).ms);
      for (const v of variants) v.ms.push((await v.worker.ask<{ ms: number }>(`run ${steps}`)).ms);
      ms.tutorial.push(tutorial(steps));
      ms.fast.push(fast(steps));
      console.log(
        `${preset} round ${r + 1}/${rounds}: torch ${ms.torch[r].toFixed(1)} ms${variants.map((v) => `, ${v.label} ${v.ms[r].toFixed(1)} ms`).join("")}, gantry tutorial ${ms.tutorial[r].toFixed(1)} ms, gantry fast ${ms.fast[r].toFixed(1)} ms`,
      );
    }
    const [t, gt, gf] = [median(ms.torch), median(ms.tutorial), median(ms.fast)];
    const f = await torch.ask<{ g: number; d: number }>("flops");
    const [tutorialFlop, fastFlop] = [4 * f.g + 9 * f.d, 3 * f.g + 8 * f.d];
    const rate = (flop: number, stepMs: number) => flop / stepMs / 1e6;
    results[preset] = {
      torch_ms: +t.toFixed(2),
      gantry_tutorial_ms: +gt.toFixed(2),
      gantry_fast_ms: +gf.toFixed(2),
      ratio_tutorial: +(gt / t).toFixed(3),
      speedup_fast: +(t / gf).toFixed(3),
      ...Object.fromEntries(
        variants.flatMap((v) => [
          [`torch_${v.name}_ms`, +median(v.ms).toFixed(2)],
          [`speedup_fast_vs_torch_${v.name}`, +(median(v.ms) / gf).toFixed(3)],
        ]),
      ),
      gflop_tutorial_step: +(tutorialFlop / 1e9).toFixed(3),
      gflop_fast_step: +(fastFlop / 1e9).toFixed(3),
      gflops_torch: +rate(tutorialFlop, t).toFixed(1),
      gflops_gantry_tutorial: +rate(tutorialFlop, gt).toFixed(1),
      gflops_gantry_fast: +rate(fastFlop, gf).toFixed(1),
      ...(peak ? { sgemm_peak_gflops: +peak.toFixed(1) } : {}),
    };
    console.log(
      `${preset}: ${(tutorialFlop / 1e9).toFixed(3)} GFLOP a tutorial step, ${(fastFlop / 1e9).toFixed(3)} a default step; torch ${rate(tutorialFlop, t).toFixed(1)}, gantry tutorial ${rate(tutorialFlop, gt).toFixed(1)}, gantry default ${rate(fastFlop, gf).toFixed(1)} GFLOP/s${peak ? ` (${((100 * rate(fastFlop, gf)) / peak).toFixed(0)}% of the sgemm peak)` : ""}`,
    );
  }
  console.log(
    `gantry on libtorch ${torchVersion()}, ${device}, ${threads} threads; ratio_tutorial = gantry/torch on the same loop, speedup_fast = torch tutorial / gantry fast, speedup_fast_vs_torch_malloc = the same against PyTorch given gantry's malloc settings, speedup_fast_vs_torch_tuned = and OpenBLAS on every thread too`,
  );
  const scaling = sweep ? await sweepBatches(torch) : null;
  torch.close();
  for (const v of variants) v.worker.close();
  const rss = rssSteps > 0 && device === "cpu" ? await peakMemory() : null;
  console.log(JSON.stringify({ ...results, ...(scaling ? { scaling } : {}), ...(rss ? { rss } : {}) }));
}

/** This machine's sgemm rate: PyTorch's 2048-square matmul, OpenBLAS on `threads` threads. */
function sgemmPeak(): number {
  const r = spawnSync(process.env.TORCH_PYTHON ?? "/usr/bin/python3", [join(here, "..", "..", "bench", "torch_worker.py"), "peak", "2048"], {
    encoding: "utf8",
    env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads) },
  });
  if (r.status !== 0) throw new Error(`the sgemm peak failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim()).gflops;
}

/** A folder of n 64-px RGB PNGs of noise, for folder-dcgan's step (what is in them does not matter). */
async function noiseFolder(n: number): Promise<string> {
  const dir = scratchDir();
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      sharp({
        create: { width: 64, height: 64, channels: 3, background: { r: i % 256, g: (7 * i) % 256, b: 128 }, noise: { type: "gaussian", mean: 128, sigma: 40 } },
      })
        .png()
        .toFile(join(dir, `${i}.png`)),
    ),
  );
  return dir;
}

/** Images per second of PyTorch's tutorial loop and gantry's default loop, batch by batch. */
async function sweepBatches(torch: TorchWorker) {
  const folder = await noiseFolder(Math.max(...batches64px) + 8);
  const cases = [
    ...[64, 256, 1024].map((batch) => ({ preset: "mnist-mlp", workload: "mlp-gan", batch, px: 28, images: 8192 })),
    ...[64, 256, 1024].map((batch) => ({ preset: "mnist-dcgan", workload: "dcgan", batch, px: 28, images: 1024 })),
    ...batches64px.map((batch) => ({ preset: "folder-dcgan", workload: "dcgan64", batch, px: 64, images: 256 })),
  ];
  const out: Record<string, number | string>[] = [];
  for (const c of cases) {
    // About `images` images a round (at least one step), two rounds after a warm-up step.
    const steps = Math.max(1, Math.round(c.images / c.batch));
    await torch.ask(`setup ${c.workload} ${threads} ${device} ${c.batch}`);
    const fast = await gantryStep(c.preset, "fast", c.batch, c.preset === "folder-dcgan" ? { dataDir: folder, cache: false } : undefined);
    await torch.ask("run 1");
    fast(1);
    const ms = { torch: [] as number[], gantry: [] as number[] };
    for (let r = 0; r < 2; r++) {
      ms.torch.push((await torch.ask<{ ms: number }>(`run ${steps}`)).ms);
      ms.gantry.push(fast(steps));
    }
    const [t, g] = [Math.min(...ms.torch), Math.min(...ms.gantry)];
    const row = {
      preset: c.preset,
      px: c.px,
      batch: c.batch,
      torch_images_per_s: +((1000 * c.batch) / t).toFixed(0),
      gantry_images_per_s: +((1000 * c.batch) / g).toFixed(0),
      speedup: +(t / g).toFixed(3),
    };
    console.log(
      `${c.preset} ${c.px} px, batch ${c.batch}: torch ${row.torch_images_per_s} images/s, gantry ${row.gantry_images_per_s} images/s (${row.speedup}x)`,
    );
    out.push(row);
  }
  return out;
}

/** Peak RSS of rssSteps mnist-dcgan steps on MNIST: gantry's Trainer and PyTorch, side by side. */
async function peakMemory() {
  const dir = scratchDir();
  const mnist = await loadDataset("mnist");
  writeFileSync(join(dir, "mnist.u8"), mnist.images);
  const run = (cmd: string, args: string[]) =>
    new Promise<number>((resolve, reject) => {
      const child = spawn(cmd, args, { env: { ...process.env, GANTRY_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" } });
      let stdout = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      child.stderr.on("data", (d) => process.stderr.write(d));
      child.on("exit", (code) =>
        code === 0 ? resolve(JSON.parse(stdout.trim().split("\n").pop()!).max_rss_mb) : reject(new Error(`${cmd} exited with ${code}`)),
      );
    });
  const started = Date.now();
  const [gantry, torch] = await Promise.all([
    run(process.execPath, [join(here, "rss-child.js"), String(rssSteps)]),
    run(process.env.TORCH_PYTHON ?? "/usr/bin/python3", [join(here, "..", "..", "bench", "torch_worker.py"), "rss", join(dir, "mnist.u8"), String(rssSteps)]),
  ]);
  console.log(
    `peak RSS over ${rssSteps} mnist-dcgan steps on MNIST (tutorial loop, 1 thread each, side by side, ${((Date.now() - started) / 60000).toFixed(1)} min): gantry ${gantry.toFixed(0)} MiB, PyTorch ${torch.toFixed(0)} MiB`,
  );
  return { steps: rssSteps, gantry_mb: +gantry.toFixed(0), torch_mb: +torch.toFixed(0) };
}

await main();
