// npm run bench:threads — gantry's default thread settings against every fixed thread count, on an
// idle machine and on one where another CPU-bound process holds a core (issue 14, item 6).
// Each setting runs in its own process (libgomp reads its wait policy once, at load), training
// mnist-mlp and mnist-dcgan through the Trainer; rounds alternate the settings so that machine
// noise hits all alike. The ratio is gantry's default against the best fixed setting under the
// same load (1.0 = as good as the best). The last line is JSON.
//   BENCH_ROUNDS (3), BENCH_LOADS (idle,busy), BENCH_PRESETS (mnist-mlp,mnist-dcgan);
//   BENCH_SETTINGS: extra settings to try, e.g. "spin10k:GOMP_SPINCOUNT=10000;active:OMP_WAIT_POLICY=ACTIVE"
import { spawn, spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { machineLine, median, scratchDir, silentProgress } from "./torch-worker.js";
import { performance } from "node:perf_hooks";

type Setting = { name: string; env: Record<string, string> };

async function worker(preset: string, steps: number, rounds: number) {
  const { createGan, Trainer } = await import("../src/train/index.js");
  const { getNumThreads, ThreadGovernor } = await import("../src/engine/index.js");
  // What the trainer's threads hook does between steps (stepOnce runs no hooks).
  const governor = ThreadGovernor.fromEnv();
  const silent = silentProgress();
  const trainer = await Trainer.create(createGan({ preset, train: { steps: 1_000_000 } }), {
    runDir: scratchDir(),
    progress: silent,
  });
  // Warm up for a few seconds, long enough for the governor's two samples: a real run is long.
  const warm = performance.now();
  for (let i = 0; i < 3 || performance.now() - warm < 6000; i++) {
    trainer.stepOnce();
    governor?.tick();
  }
  const ms: number[] = [];
  let changes = 0;
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) {
      trainer.stepOnce();
      if (governor?.tick()) changes++;
    }
    ms.push(Number(process.hrtime.bigint() - start) / 1e6 / steps);
  }
  console.log(JSON.stringify({ ms, threads: getNumThreads(), changes }));
}

function run(setting: Setting, preset: string, steps: number, rounds: number): { ms: number[]; threads: number; changes: number } {
  const self = fileURLToPath(import.meta.url);
  const env: Record<string, string | undefined> = { ...process.env, ...setting.env };
  for (const [k, v] of Object.entries(setting.env)) if (v === "unset") delete env[k];
  const out = spawnSync(process.execPath, [self, "worker", preset, String(steps), String(rounds)], { env, encoding: "utf8" });
  if (out.status !== 0) throw new Error(`${setting.name} ${preset}: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").at(-1) ?? "{}");
}

async function main() {
  const cores = cpus().length;
  const settings: Setting[] = [
    { name: "default", env: { GANTRY_NUM_THREADS: "unset" } },
    ...Array.from({ length: cores }, (_, i) => ({ name: `fixed-${i + 1}`, env: { GANTRY_NUM_THREADS: String(i + 1) } })),
    ...(process.env.BENCH_SETTINGS ?? "")
      .split(";")
      .filter(Boolean)
      .map((s) => {
        const [name, ...vars] = s.split(":");
        return {
          name,
          env: Object.fromEntries(
            vars
              .join(":")
              .split(",")
              .map((kv) => kv.split("=") as [string, string]),
          ),
        };
      }),
  ];
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const loads = (process.env.BENCH_LOADS ?? "idle,busy").split(",");
  const results: Record<string, Record<string, Record<string, number>>> = {};
  console.log(`${machineLine()}; ${rounds} rounds; busy = one spinning process`);
  for (const load of loads) {
    const competitor = load === "busy" ? spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }) : null;
    try {
      const presets = (process.env.BENCH_PRESETS ?? "mnist-mlp,mnist-dcgan").split(",");
      for (const [preset, steps] of [
        ["mnist-mlp", 40],
        ["mnist-dcgan", 6],
      ].filter(([p]) => presets.includes(p as string)) as [string, number][]) {
        const ms: Record<string, number[]> = Object.fromEntries(settings.map((s) => [s.name, []]));
        const threads: Record<string, number> = {};
        let changes = 0;
        for (let r = 0; r < rounds; r++) {
          for (const s of r % 2 ? [...settings].reverse() : settings) {
            const out = run(s, preset, steps, 2);
            ms[s.name].push(median(out.ms));
            threads[s.name] = out.threads;
            if (s.name === "default") changes += out.changes;
          }
        }
        const row: Record<string, number> = {};
        for (const s of settings) row[`${s.name}_ms`] = +median(ms[s.name]).toFixed(2);
        const fixed = settings.filter((s) => s.name.startsWith("fixed-")).map((s) => median(ms[s.name]));
        row.ratio_default_vs_best_fixed = +(Math.min(...fixed) / median(ms.default)).toFixed(3);
        row.default_threads_at_end = threads.default;
        row.default_changes_while_timed = changes;
        results[`${load} ${preset}`] = row as never;
        console.log(`${load} ${preset}: ${JSON.stringify(row)}`);
      }
    } finally {
      competitor?.kill();
    }
  }
  console.log(JSON.stringify(results));
}

if (process.argv[2] === "worker") await worker(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
else await main();
