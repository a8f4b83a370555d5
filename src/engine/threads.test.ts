// Threads on a busy machine: the cores a process may use (affinity and cgroup quota), libgomp's
// wait policy, and the governor that follows the cores other processes leave free.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import * as E from "./index.js";

test("/proc/stat's aggregate line gives busy and total jiffies and the CPU count", () => {
  const text = "cpu  100 5 20 800 10 1 2 3 0 0\ncpu0 50 2 10 400 5 0 1 1 0 0\ncpu1 50 3 10 400 5 1 1 2 0 0\nintr 1\n";
  assert.deepEqual(E.parseProcStat(text), { busy: 131, total: 941, cpus: 2 });
  assert.equal(E.parseProcStat("intr 1\n"), null);
  assert.equal(E.parseProcStat("cpu  a b c d\n"), null);
});

test("the cores available are the affinity mask capped by a cgroup CPU quota", () => {
  const dir = mkdtempSync(join(tmpdir(), "gantry-cgroup-"));
  const file = (text: string) => {
    const path = join(dir, `cpu.max-${Math.random()}`);
    writeFileSync(path, text);
    return path;
  };
  const cores = availableParallelism();
  assert.equal(E.availableCores(file("max 100000\n")), cores);
  assert.equal(E.availableCores(file("100000 100000\n")), 1);
  assert.equal(E.availableCores(file("50000 100000\n")), 1, "half a core is still one thread");
  assert.equal(E.availableCores(file(`${(cores + 3) * 100000} 100000\n`)), cores, "a quota above the mask does not add cores");
  assert.equal(E.availableCores(join(dir, "absent")), cores);
});

test("libgomp's workers sleep between parallel regions unless the user says otherwise", () => {
  // native.ts sets the policy before the addon (and libgomp) loads; a user's own value stands.
  assert.equal(process.env.OMP_WAIT_POLICY ?? "PASSIVE", "PASSIVE");
  const script = `import("${join(import.meta.dirname, "index.js")}").then((E) => { E.ones([1]); console.log(process.env.OMP_WAIT_POLICY) })`;
  const policy = (env: NodeJS.ProcessEnv) => {
    const out = spawnSync(process.execPath, ["-e", script], { env, encoding: "utf8" });
    assert.equal(out.status, 0, out.stderr);
    return out.stdout.trim();
  };
  const { OMP_WAIT_POLICY: _, ...unset } = process.env;
  assert.equal(policy(unset), "PASSIVE");
  assert.equal(policy({ ...unset, OMP_WAIT_POLICY: "ACTIVE" }), "ACTIVE");
});

/** A machine of `cpus` CPUs where others use `others` cores and this process `own` cores each second. */
function fakeMachine(cpus: number, threads: number) {
  const m = { time: 0, busy: 0, total: 0, own: 0, threads, others: 0, set: [] as number[] };
  const io: E.GovernorIO = {
    cpuTimes: () => ({ busy: m.busy, total: m.total, cpus }),
    ownCpuSeconds: () => m.own,
    now: () => m.time,
    getThreads: () => m.threads,
    setThreads: (n) => {
      m.threads = n;
      m.set.push(n);
    },
  };
  /** One second passes: every thread wants a CPU; when there are too few, all get a fair share. */
  const second = () => {
    m.time += 1;
    const wanted = m.threads + m.others;
    m.own += wanted > cpus ? (cpus * m.threads) / wanted : m.threads;
    const used = Math.min(cpus, wanted);
    m.busy += used * 100;
    m.total += cpus * 100;
  };
  return { m, io, second };
}

test("the governor gives a core back to another job, and takes it again when the job ends", () => {
  const { m, io, second } = fakeMachine(2, 2);
  const governor = new E.ThreadGovernor(2, 1, io);
  const run = (seconds: number) => {
    const changes: E.ThreadChange[] = [];
    for (let s = 0; s < seconds; s++) {
      second();
      const c = governor.tick();
      if (c) changes.push(c);
    }
    return changes;
  };
  assert.deepEqual(run(5), [], "idle: the count stays");
  assert.equal(m.threads, 2);

  m.others = 1;
  const busy = run(5);
  assert.equal(busy.length, 1, "one change, after two samples agree");
  assert.equal(busy[0].threads, 1);
  assert.equal(busy[0].previous, 2);
  // Sharing 2 CPUs three ways, the job got two thirds of a core.
  assert.ok(Math.abs(busy[0].others - 2 / 3) < 0.01, `others ${busy[0].others}`);
  assert.match(E.describeChange(busy[0]), /other processes are using 0\.7 of 2 cores: training on 1 thread instead of 2/);
  assert.deepEqual(run(5), [], "with 1 thread beside the job, the count stays");

  m.others = 0;
  const back = run(5);
  assert.deepEqual(
    back.map((c) => c.threads),
    [2],
  );
  assert.match(E.describeChange(back[0]), /back to 2 threads/);
  assert.deepEqual(m.set, [1, 2]);
});

test("one busy sample is not enough, and the count never exceeds the cores given", () => {
  const four = fakeMachine(4, 4);
  const governor = new E.ThreadGovernor(4, 1, four.io);
  const tick = () => {
    four.second();
    return governor.tick();
  };
  for (let s = 0; s < 3; s++) assert.equal(tick(), null);
  four.m.others = 3;
  assert.equal(tick(), null, "the first busy sample only proposes a change");
  four.m.others = 0;
  assert.equal(tick(), null, "and the next idle one withdraws it");
  four.m.others = 3;
  tick();
  assert.equal(tick()?.threads, 2, "two busy samples in a row change it");

  const eight = fakeMachine(8, 2);
  const capped = new E.ThreadGovernor(2, 1, eight.io);
  for (let s = 0; s < 5; s++) {
    eight.second();
    assert.equal(capped.tick(), null);
  }
  assert.equal(eight.m.threads, 2, "an 8-CPU machine with 2 cores given: never more than 2");
});

test("the governor is off when GANTRY_NUM_THREADS fixes the count, and samples the real machine otherwise", () => {
  const saved = process.env.GANTRY_NUM_THREADS;
  try {
    process.env.GANTRY_NUM_THREADS = "1";
    assert.equal(E.ThreadGovernor.fromEnv(), null);
    delete process.env.GANTRY_NUM_THREADS;
    const governor = E.ThreadGovernor.fromEnv();
    assert.ok(governor);
    const before = E.getNumThreads();
    const real = new E.ThreadGovernor(governor.cores, 0);
    for (let i = 0; i < 3; i++) real.tick();
    const after = E.getNumThreads();
    assert.ok(after >= 1 && after <= governor.cores, `threads ${after} of ${governor.cores}`);
    E.setNumThreads(before);
  } finally {
    if (saved === undefined) delete process.env.GANTRY_NUM_THREADS;
    else process.env.GANTRY_NUM_THREADS = saved;
  }
});
