// A child of bench/gan.ts: trains mnist-dcgan for argv[2] steps with the tutorial's loop through
// gantry's Trainer (logs, samples and checkpoints as a run writes them, under a scratch folder),
// then prints {"max_rss_mb": ...}, its peak resident memory, beside PyTorch's from torch_worker.py.
import { readFileSync } from "node:fs";
import { createGan, Trainer } from "../src/train/index.js";
import { scratchDir, silentProgress } from "./torch-worker.js";

const steps = Number(process.argv[2] ?? 1000);
const silent = silentProgress();
const gan = createGan({ preset: "mnist-dcgan", train: { steps, loop: "tutorial" } });
const trainer = await Trainer.create(gan, { runDir: scratchDir(), progress: silent });
await trainer.run();
// VmHWM, not process.resourceUsage().maxRSS: Linux carries maxRSS over from the parent that forked us.
const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]);
console.log(JSON.stringify({ max_rss_mb: hwm / 1024 }));
