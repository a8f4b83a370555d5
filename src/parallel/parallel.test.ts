// Data-parallel training through the real CLI and c10d's gloo: two processes at half the batch
// each compute what one process computes (losses and weights), resume exactly, and fail clearly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { gantry, gantryOk, repoRoot } from "../../test/helpers.js";
import { loadCheckpoint, disposeState } from "../train/index.js";
import { tidy } from "../engine/index.js";
import { distEnvFrom } from "./launch.js";
import { writeWav } from "../data/audio.js";

const tmp = () => mkdtempSync(join(tmpdir(), "gantry-dist-"));

interface Record_ {
  step: number;
  dLoss: number;
  gLoss: number | null;
  gradNormD: number;
}
const stats = (dir: string): Record_[] =>
  readFileSync(join(dir, "stats.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record_);

/** The largest difference between two runs' final checkpoints, over every tensor of G, D and the optimizers. */
function weightGap(a: string, b: string, step: number): number {
  const name = `checkpoints/step-${String(step).padStart(8, "0")}.safetensors`;
  const [sa, sb] = [loadCheckpoint(join(a, name)), loadCheckpoint(join(b, name))];
  try {
    let gap = 0;
    for (const part of ["G", "D"] as const) {
      for (const [k, t] of Object.entries(sa.tensors[part])) {
        gap = Math.max(
          gap,
          tidy(() => t.sub(sb.tensors[part][k]).abs().max().item()),
        );
      }
    }
    return gap;
  } finally {
    disposeState(sa);
    disposeState(sb);
  }
}

function assertSameLosses(one: Record_[], two: Record_[], tolerance: number): void {
  assert.equal(one.length, two.length);
  for (const [i, r] of one.entries()) {
    assert.equal(two[i].step, r.step);
    for (const k of ["dLoss", "gLoss", "gradNormD"] as const) {
      const [x, y] = [r[k] as number, two[i][k] as number];
      assert.ok(Math.abs(x - y) <= tolerance * Math.max(1, Math.abs(x)), `step ${r.step} ${k}: one process ${x}, two processes ${y}`);
    }
  }
}

/** Trains the same run in one process and in two (ROOT/NAME-one, ROOT/NAME-two); both runs' stats. */
function oneAndTwo(root: string, name: string, args: readonly string[]): [Record_[], Record_[]] {
  gantryOk("train", ...args, "--out", join(root, `${name}-one`));
  gantryOk("train", ...args, "--out", join(root, `${name}-two`), "--nproc", "2");
  return [stats(join(root, `${name}-one`)), stats(join(root, `${name}-two`))];
}

/**
 * From the newest checkpoint of a one-process run (at `step`), one more step in one process and in
 * two: that step's records and the largest gap between the weights after it. Whole runs say less
 * than they seem to: one batch and two half-batches round differently, and Adam turns a
 * rounding-sized change in a near-zero gradient into a step of the learning rate's size, so on
 * some CPUs long runs part (the tutorial's GAN: 1e-7 apart for 17 steps, then 3e-2 by step 50 on
 * an AMD EPYC). One step from the same state shows what data parallelism must get right wherever
 * it runs: the same losses, gradients and update.
 */
function nextStepBoth(root: string, run: string, step: number): { one: Record_; two: Record_; gap: number } {
  const dirs = ["one", "two"].map((k) => join(root, `${basename(run)}-then-${k}`));
  for (const [i, dir] of dirs.entries()) {
    cpSync(run, dir, { recursive: true });
    for (const f of readdirSync(join(dir, "checkpoints"))) if (Number(/step-(\d+)/.exec(f)?.[1] ?? 0) > step) rmSync(join(dir, "checkpoints", f));
    gantryOk("train", "--resume", dir, "--steps", String(step + 1), "--set", "log.every=1", ...(i === 1 ? ["--nproc", "2"] : []));
  }
  const [one, two] = dirs.map((d) => stats(d).at(-1)!);
  assert.equal(one.step, step + 1);
  return { one, two, gap: weightGap(dirs[0], dirs[1], step + 1) };
}

const mlp = ["--preset", "mnist-mlp", "--steps", "50", "--set", "log.every=10", "--set", "log.checkpointEvery=25"];

test("two processes at half the batch each train exactly as one process: 50 steps of the tutorial's GAN", () => {
  const root = tmp();
  gantryOk("train", ...mlp, "--out", join(root, "one"));
  const out = gantryOk("train", ...mlp, "--out", join(root, "two"), "--nproc", "2");
  assert.match(out, /across 2 processes \(each computes 32 of every batch of 64\)/);
  const [one, two] = [stats(join(root, "one")), stats(join(root, "two"))];
  assertSameLosses(one.slice(0, 1), two.slice(0, 1), 1e-5);
  const next = nextStepBoth(root, join(root, "one"), 25);
  assertSameLosses([next.one], [next.two], 2e-6);
  assert.ok(next.gap < 1e-6, `weights after step 26 from the same step-25 checkpoint differ by ${next.gap}`);
  // Only rank 0 writes: one export, one set of checkpoints, no stray files.
  assert.deepEqual(readdirSync(join(root, "two", "checkpoints")).sort(), ["step-00000025.safetensors", "step-00000050.safetensors"]);
  assert.ok(existsSync(join(root, "two", "generator.safetensors")));
});

test("a gradient penalty and n_critic train as in one process: WGAN-GP, 5 critic steps per G step", () => {
  const root = tmp();
  const args = [...mlp, "--loss", "wgan-gp", "--set", "train.nCritic=5", "--lr-g", "1e-4", "--lr-d", "1e-4"];
  assertSameLosses(...oneAndTwo(root, "gp", args), 1e-4);
  // Adam moves each weight by up to about lr per step whatever the gradient's size, so float32
  // rounding in a near-zero gradient (two half-batch means against one mean) can move a weight by
  // a few lr: the tolerance is 5 lr (5e-4), far below the weights' own change over 50 steps.
  const gap = weightGap(join(root, "gp-one"), join(root, "gp-two"), 50);
  assert.ok(gap < 5e-4, `weights after 50 steps differ by ${gap}`);
});

test("--sync-bn: a BatchNorm model in two processes normalizes as one process does; without it, each rank's own statistics", () => {
  const root = tmp();
  const args = ["--preset", "mnist-dcgan", "--steps", "10", "--set", "log.every=5", "--set", "log.checkpointEvery=10"];
  gantryOk("train", ...args, "--out", join(root, "one"));
  gantryOk("train", ...args, "--out", join(root, "synced"), "--nproc", "2", "--sync-bn");
  gantryOk("train", ...args, "--out", join(root, "own"), "--nproc", "2");
  const one = stats(join(root, "one"));
  assertSameLosses(one, stats(join(root, "synced")), 5e-4);
  const own = stats(join(root, "own"))[0];
  const gap = Math.abs(own.gradNormD - one[0].gradNormD) / one[0].gradNormD;
  assert.ok(gap > 5e-3, `per-rank BatchNorm should differ from one process (relative gap ${gap})`);
  assert.equal(JSON.parse(readFileSync(join(root, "synced", "config.json"), "utf8")).train.syncBatchNorm, true, "recorded for resume");
  const penalty = gantry("train", ...args, "--loss", "wgan-gp", "--out", join(root, "gp"), "--nproc", "2", "--sync-bn");
  assert.match(penalty.err, /--sync-bn \(train\.syncBatchNorm\): cannot go with wgan-gp's gradient penalty through D's BatchNorm/);
});

test("a toy run (points drawn from the engine's generator) splits its draws across ranks exactly", () => {
  const root = tmp();
  const args = ["--preset", "toy-ring8", "--steps", "20", "--set", "log.every=5", "--set", "log.checkpointEvery=20"];
  const [one, two] = oneAndTwo(root, "toy", args);
  assertSameLosses(one.slice(0, 2), two.slice(0, 2), 1e-4);
  const next = nextStepBoth(root, join(root, "toy-one"), 20);
  assertSameLosses([next.one], [next.two], 2e-6);
});

test("batch statistics span the global batch: DRAGAN's std, minibatch std, BEGAN's control and RaGAN's means train as in one process", () => {
  const root = tmp();
  const toy = ["--preset", "toy-ring8", "--set", "log.every=5", "--set", "log.checkpointEvery=1000"];
  const both = (name: string, flags: readonly string[]) => oneAndTwo(root, name, [...toy, ...flags]);
  // Each rank's own statistics put these 1e-4 to 3e-2 apart within 20 steps; taken over both ranks,
  // 1e-7 for the first 10 steps and for a step from the same checkpoint.
  for (const [name, flags] of [
    ["dragan", ["--loss", "dragan"]],
    ["mbstd", ["--set", "model.discriminator.options.minibatchStd=4"]],
    ["began", ["--loss", "began", "--set", "model.discriminator.name=autoencoder"]],
  ] as const) {
    const [whole, halves] = both(name, [...flags, "--steps", "20"]);
    const [one, two] = [whole.slice(0, 2), halves.slice(0, 2)];
    assertSameLosses(one, two, 1e-5);
    const next = nextStepBoth(root, join(root, `${name}-one`), 20);
    assertSameLosses([next.one], [next.two], 2e-6);
    if (name === "began") {
      const k = (r: Record_) => (r as unknown as { beganK: number }).beganK;
      for (const [i, r] of [...one, next.one].entries()) {
        const other = [...two, next.two][i];
        assert.ok(Math.abs(k(r) - k(other)) < 1e-7, `step ${r.step} k_t: ${k(r)} against ${k(other)}`);
      }
    }
  }
  // RaGAN's loss ignores D's last bias (only differences of D's outputs count), so its gradient
  // there is rounding noise, which Adam turns into steps of the learning rate's size: the runs part
  // after the first step whatever the means. The first step's D loss and gradient show the means
  // (each rank's own: 5e-6 apart; over both ranks: 1e-7).
  const [one, two] = both("ragan", ["--loss", "ragan", "--steps", "1", "--set", "log.every=1"]);
  for (const k of ["dLoss", "gradNormD"] as const) {
    assert.ok(Math.abs(one[0][k] - two[0][k]) <= 1e-6 * Math.abs(one[0][k]), `${k}: one process ${one[0][k]}, two processes ${two[0][k]}`);
  }
});

test("draws inside D's one pass over real and fake (instance noise, WaveGAN's phase shuffle) are what one process draws", () => {
  const root = tmp();
  const both = (name: string, args: readonly string[]) => assertSameLosses(...oneAndTwo(root, name, args), 1e-5);
  // Each half of the batch (real, fake) is sharded, so rank r's rows of the pass are rows r of
  // each half: a draw narrowed as one batch gave them the wrong rows (1e-3 apart at step 1).
  both("noise", ["--preset", "toy-ring8", "--steps", "10", "--set", "log.every=1", "--set", "train.instanceNoise=0.5"]);
  const clips = join(root, "clips");
  for (const [c, hz] of [
    ["low", 300],
    ["high", 1200],
  ] as const) {
    mkdirSync(join(clips, c), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const wave = Float32Array.from({ length: 4096 }, (_, t) => 0.5 * Math.sin((2 * Math.PI * hz * (1 + i / 10) * t) / 8000));
      writeWav(join(clips, c, `${i}.wav`), wave, 8000);
    }
  }
  const wavegan = ["--preset", "digits-wavegan", "--set", "data.dataset=wav-folder", "--data-dir", clips, "--set", "data.length=4096"];
  const small = ["--set", "model.generator.options.dim=2", "--set", "model.discriminator.options.dim=2", "--set", "model.generator.options.layers=4"];
  both("wavegan", [...wavegan, ...small, "--set", "model.discriminator.options.layers=4", "--batch-size", "8", "--steps", "4", "--set", "log.every=1"]);
});

test("a two-process run stopped and resumed gives the losses of one that never stopped", () => {
  const root = tmp();
  gantryOk("train", ...mlp, "--out", join(root, "straight"), "--nproc", "2");
  gantryOk("train", ...mlp, "--steps", "25", "--out", join(root, "resumed"), "--nproc", "2");
  const out = gantryOk("train", "--resume", join(root, "resumed"), "--steps", "50", "--nproc", "2");
  assert.match(out, /resumed .* at step 25/);
  assertSameLosses(stats(join(root, "straight")), stats(join(root, "resumed")), 0);
  assert.equal(weightGap(join(root, "straight"), join(root, "resumed"), 50), 0);
});

/** The pid of the worker of `launcher` whose environment says RANK=rank. */
function workerPid(launcher: number, rank: number): number | null {
  const children = execFileSync("ps", ["-o", "pid=", "--ppid", String(launcher)], { encoding: "utf8" })
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  for (const pid of children) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`RANK=${rank}`)) return Number(pid);
    } catch {}
  }
  return null;
}

/** A long 2-process run of the real CLI in the background: its output so far, its exit code once its output is all read ("close", not "exit"), and a wait for a condition. */
function launch(args: string[]) {
  const launcher = spawn(process.execPath, [join(repoRoot, "bin", "gantry.js"), "train", ...args], { env: { ...process.env, CI: "1" } });
  const run = { out: "", err: "", launcher, exited: new Promise<number | null>((done) => launcher.once("close", (code) => done(code))) };
  launcher.stdout.on("data", (d) => {
    run.out += String(d);
  });
  launcher.stderr.on("data", (d) => {
    run.err += String(d);
  });
  const until = async (ready: () => boolean) => {
    const deadline = Date.now() + 120_000;
    while (!ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(ready(), `the run never got there:\n${run.out}\n${run.err}`);
  };
  /** Sends a signal to one worker (by rank); returns when it was sent. */
  const signal = (rank: number, name: NodeJS.Signals) => {
    const pid = workerPid(launcher.pid!, rank);
    assert.ok(pid, `rank ${rank}'s process`);
    process.kill(pid, name);
    return Date.now();
  };
  return Object.assign(run, { until, signal });
}

const longRun = (dir: string, checkpointEvery: number) => [
  "--preset",
  "mnist-mlp",
  "--steps",
  "100000",
  "--set",
  "log.every=10",
  "--set",
  `log.checkpointEvery=${checkpointEvery}`,
  "--out",
  dir,
  "--nproc",
  "2",
];
const checkpointAt = (dir: string, step: number) => join(dir, "checkpoints", `step-${String(step).padStart(8, "0")}.safetensors`);

test("a worker killed with SIGKILL stops the run within seconds, naming its rank; the checkpoint resumes", async () => {
  const dir = join(tmp(), "run");
  const run = launch(longRun(dir, 10));
  await run.until(() => existsSync(checkpointAt(dir, 20)));
  const killedAt = run.signal(1, "SIGKILL");
  const code = await run.exited;
  const seconds = (Date.now() - killedAt) / 1000;
  assert.notEqual(code, 0);
  assert.ok(seconds < 30, `the launcher took ${seconds} s to exit`);
  assert.match(run.err, /rank 1 \(pid \d+\) was killed by SIGKILL; stopping the other ranks/);
  // Rank 0 said what happened to it, and nothing it saved was lost: the run resumes.
  assert.match(run.err, /rank 0: lost contact with another rank/);
  const newest = Math.max(...readdirSync(join(dir, "checkpoints")).map((f) => Number(/step-(\d+)/.exec(f)?.[1] ?? -1)));
  assert.ok(newest >= 20);
  const out = gantryOk("train", "--resume", dir, "--steps", String(newest + 10), "--nproc", "2");
  assert.match(out, new RegExp(`resumed .* at step ${newest}`));
});

test("Ctrl-C to the launcher stops every rank at the same step, with a checkpoint, exit code 130", async () => {
  const dir = join(tmp(), "run");
  const run = launch(longRun(dir, 1000));
  await run.until(() => run.out.includes("Step [10/"));
  run.launcher.kill("SIGINT");
  assert.equal(await run.exited, 130);
  const stopped = /stopped at step (\d+), checkpoint/.exec(run.out);
  assert.ok(stopped, run.out);
  assert.ok(existsSync(checkpointAt(dir, Number(stopped[1]))));
  assert.equal(JSON.parse(readFileSync(join(dir, "status.json"), "utf8")).state, "stopped");
  // SIGINT to one worker alone (it lands between two steps): every rank still stops at the same step.
  const again = launch(["--resume", dir, "--nproc", "2"]);
  await again.until(() => /Step \[\d+\/937\]/.test(again.out));
  again.signal(1, "SIGINT");
  assert.equal(await again.exited, 130, again.err);
  assert.match(again.out, /another rank was interrupted: stopped at step \d+/);
  assert.equal(again.err, "", "no rank lost contact with another");
});

test("a worker that hangs (SIGSTOP) fails the others after --dist-timeout, naming the step; the launcher ends it", async () => {
  const dir = join(tmp(), "run");
  const run = launch([...longRun(dir, 10), "--dist-timeout", "4"]);
  await run.until(() => existsSync(checkpointAt(dir, 10)));
  const stoppedAt = run.signal(1, "SIGSTOP");
  const code = await run.exited;
  const seconds = (Date.now() - stoppedAt) / 1000;
  assert.notEqual(code, 0);
  // 4 s of timeout, then the launcher's 10 s of grace before SIGKILL for the frozen rank.
  assert.ok(seconds < 25, `the launcher took ${seconds} s to exit`);
  assert.match(run.err, /rank 0: no answer from the other ranks within 4 s during the all-reduce of ([DG]'s gradients|the losses) at step \d+/);
  assert.match(run.err, /rank 0 \(pid \d+\) exited with code 2; stopping the other ranks/);
});

test("distributed errors name the flag or the address: port in use, batch split, backend, stray flags", async () => {
  const dir = join(tmp(), "run");
  const server = createServer();
  const port = await new Promise<number>((done) => server.listen(0, "127.0.0.1", () => done((server.address() as { port: number }).port)));
  try {
    const busy = gantry("train", "--preset", "toy-ring8", "--steps", "2", "--out", dir, "--nproc", "2", "--master-port", String(port), "--dist-timeout", "5");
    assert.equal(busy.code, 2);
    assert.match(busy.err, new RegExp(`rank 0: port ${port} is in use on 127.0.0.1: choose another --master-port`));
    assert.doesNotMatch(busy.err, /socket\.cpp/, "c10d's own socket log stays quiet");
  } finally {
    server.close();
  }
  const split = gantry("train", "--preset", "mnist-mlp", "--batch-size", "63", "--steps", "2", "--out", dir, "--nproc", "2");
  assert.equal(split.code, 2);
  assert.match(split.err, /--batch-size \(train\.batchSize\): 63 does not split evenly across 2 processes/);
  const nccl = gantry("train", "--preset", "mnist-mlp", "--steps", "2", "--out", dir, "--nproc", "2", "--backend", "nccl");
  assert.match(nccl.err, /--backend: nccl is not available/);
  const stray = gantry("train", "--preset", "mnist-mlp", "--steps", "2", "--out", dir, "--master-port", "29500");
  assert.match(stray.err, /--master-port: belongs to data-parallel training: add --nproc N/);
  const addr = gantry("train", "--preset", "mnist-mlp", "--steps", "2", "--out", dir, "--nproc", "2", "--nnodes", "2");
  assert.match(addr.err, /--master-addr: is needed with --nnodes/);
  assert.ok(!existsSync(dir), "no run directory is left by a run that never started");
});

test("every model family trains in two processes: conditional, InfoGAN codes, energy D, n_critic, text", () => {
  const root = tmp();
  for (const [preset, steps] of [
    ["mnist-acgan", 3],
    ["mnist-infogan", 3],
    ["mnist-began", 3],
    ["mnist-wgan-gp", 11],
    ["names-gumbel", 21],
  ] as const) {
    const dir = join(root, preset);
    gantryOk("train", "--preset", preset, "--steps", String(steps), "--batch-size", "8", "--out", dir, "--nproc", "2");
    assert.ok(existsSync(join(dir, "generator.safetensors")), preset);
  }
});

test("the launcher's environment variables are read as torchrun sets them, and checked", () => {
  assert.equal(distEnvFrom({}), null);
  assert.equal(distEnvFrom({ WORLD_SIZE: "1" }), null);
  assert.deepEqual(distEnvFrom({ WORLD_SIZE: "4", RANK: "3", LOCAL_RANK: "1", MASTER_ADDR: "10.0.0.1", MASTER_PORT: "29500" }), {
    rank: 3,
    worldSize: 4,
    localRank: 1,
    masterAddr: "10.0.0.1",
    masterPort: 29500,
    timeoutS: 600,
  });
  assert.throws(() => distEnvFrom({ WORLD_SIZE: "2", RANK: "2", MASTER_ADDR: "h", MASTER_PORT: "1" }), /RANK: expected an integer from 0 to 1/);
  assert.throws(() => distEnvFrom({ WORLD_SIZE: "2", RANK: "0", MASTER_PORT: "1" }), /MASTER_ADDR: is not set/);
  assert.throws(() => distEnvFrom({ WORLD_SIZE: "2", RANK: "0", MASTER_ADDR: "h", MASTER_PORT: "70000" }), /MASTER_PORT: expected an integer from 1 to 65535/);
});
