// The dashboard's server on real runs trained by the real CLI: its API, live events, what it
// refuses to serve, the playground, the GIF, and gantry train --dash.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { dashFixtureRuns, gantry, gantryOk, repoRoot, statsLine } from "../../test/helpers.js";
import { DEFAULT_PORT, startDash, type DashServer } from "./server.js";
import { gridStep } from "./runs.js";
import { slerpRows } from "./playground.js";
import { readRunStatus, writeRunStatus } from "../train/run-status.js";

let root: string;
let server: DashServer;
let base: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), "gantry-dash-"));
  dashFixtureRuns(root);
});

after(async () => {
  await server?.close();
});

/** A raw GET that keeps the path exactly as written (no client-side normalization of `..`). */
function get(path: string, method = "GET"): Promise<{ status: number; body: Buffer; type: string }> {
  const url = new URL(base);
  return new Promise((done, fail) => {
    const req = request({ host: url.hostname, port: url.port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), type: String(res.headers["content-type"]) }));
    });
    req.on("error", fail);
    req.end();
  });
}
const getJson = async (path: string) => JSON.parse((await get(path)).body.toString()) as never;

/** Resolves with the first server-sent event that `match` accepts, and how long it took. */
function nextEvent(match: (e: Record<string, unknown>) => boolean, trigger: () => void): Promise<{ event: Record<string, unknown>; ms: number }> {
  const url = new URL(base);
  return new Promise((done, fail) => {
    let start = 0;
    const req = request({ host: url.hostname, port: url.port, path: "/api/events" }, (res) => {
      let buffer = "";
      res.on("data", (chunk) => {
        buffer += String(chunk);
        for (let i = buffer.indexOf("\n\n"); i >= 0; i = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const data = block
            .split("\n")
            .find((l) => l.startsWith("data: "))
            ?.slice(6);
          if (!data) continue;
          const event = JSON.parse(data) as Record<string, unknown>;
          if (event.type === "hello") {
            start = Date.now();
            trigger();
          } else if (match(event)) {
            req.destroy();
            done({ event, ms: Date.now() - start });
          }
        }
      });
    });
    req.on("error", (err) => ((err as NodeJS.ErrnoException).code === "ECONNRESET" ? undefined : fail(err)));
    setTimeout(() => {
      req.destroy();
      fail(new Error("no matching event within 10 s"));
    }, 10000).unref();
    req.end();
  });
}

test("gantry dash serves a folder of runs: status, config, stats as columns and CSV, grids", async () => {
  server = await startDash({ paths: [root], port: 0, log: () => {} });
  base = server.url;
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal(server.token, null);
  const runs = (await getJson("/api/runs")) as { id: string; status: { state: string; totalSteps: number }; numClasses: number; hasGenerator: boolean }[];
  assert.deepEqual(runs.map((r) => r.id).sort(), ["cgan", "toy"]);
  const cgan = runs.find((r) => r.id === "cgan")!;
  assert.equal(cgan.status.state, "finished");
  assert.equal(cgan.status.totalSteps, 20);
  assert.equal(cgan.numClasses, 10);
  assert.equal(runs.find((r) => r.id === "toy")!.numClasses, 0);

  const lines = readFileSync(join(root, "toy", "stats.jsonl"), "utf8")
    .trim()
    .split("\n");
  const stats = (await getJson("/api/runs/toy/stats")) as { steps: Record<string, number[]>; evals: { step: number; modesCaptured: number }[] };
  assert.equal(stats.steps.step.length + stats.evals.length, lines.length);
  assert.deepEqual(stats.steps.step, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  assert.deepEqual(
    stats.evals.map((e) => e.step),
    [50, 100],
  );
  assert.equal(typeof stats.evals[0].modesCaptured, "number");

  const csv = (await get("/api/runs/toy/stats.csv")).body.toString().trim().split("\n");
  assert.match(csv[0], /^step,epoch,dLoss,gLoss,.*,eval_modesCaptured/);
  assert.equal(csv.length, 11);
  assert.match(csv[5], /^50,/);

  const grids = (await getJson("/api/runs/cgan/grids")) as { name: string; step: number }[];
  assert.deepEqual(
    grids.map((g) => g.step),
    [5, 10, 15, 20],
  );
  const png = await get(`/api/runs/cgan/files/samples/${grids[0].name}`);
  assert.equal(png.status, 200);
  assert.equal(png.type, "image/png");
  assert.equal((await get("/")).status, 200);
  assert.equal((await get("/static/uPlot.iife.min.js")).status, 200);
  assert.equal((await get("/static/../package.json")).status, 404);
});

test("nothing outside the run directories is served, and nothing is written", async () => {
  symlinkSync("/etc/hostname", join(root, "toy", "samples", "outside.png"));
  symlinkSync(join(root, "cgan", "config.json"), join(root, "toy", "other-run.json"));
  const attempts = [
    "/api/runs/toy/files/../../cgan/config.json",
    "/api/runs/toy/files/%2e%2e/%2e%2e/etc/hostname",
    "/api/runs/toy/files/..%2f..%2fetc%2fhostname",
    "/api/runs/toy/files/%2fetc%2fhostname",
    "/api/runs/toy/files//etc/hostname",
    "/api/runs/toy/files/samples/outside.png",
    "/api/runs/toy/files/other-run.json",
    "/api/runs/toy/files/samples/%00.png",
    "/api/runs/toy/files/samples",
    "/api/runs/..%2fcgan/files/config.json",
    "/api/runs/nope/stats",
  ];
  for (const path of attempts) assert.equal((await get(path)).status, 404, path);
  assert.equal((await get("/api/runs/toy/files/config.json")).status, 200);
  for (const method of ["POST", "PUT", "DELETE"]) assert.equal((await get("/api/runs/toy/files/config.json", method)).status, 405, method);
  assert.ok(readdirSync(join(root, "toy")).includes("config.json"));
});

test("an appended stats record reaches the page's event stream; a half-written line waits, a garbled one is skipped", async () => {
  const stats = join(root, "toy", "stats.jsonl");
  const { event } = await nextEvent(
    (e) => e.type === "records" && e.run === "toy",
    () => appendFileSync(stats, statsLine(110, { epoch: 2, batch: 10 })),
  );
  assert.deepEqual((event.steps as Record<string, number[]>).step, [110]);

  // A line cut off mid-write is not a record yet, and not an error.
  const text = statsLine(120).trimEnd();
  appendFileSync(stats, `not json at all\n${text.slice(0, 20)}`);
  await new Promise((r) => setTimeout(r, 600));
  let cols = (await getJson("/api/runs/toy/stats")) as { steps: { step: number[] }; skipped: number };
  assert.equal(cols.steps.step.at(-1), 110);
  assert.equal(cols.skipped, 1);
  appendFileSync(stats, `${text.slice(20)}\n`);
  await new Promise((r) => setTimeout(r, 600));
  cols = (await getJson("/api/runs/toy/stats")) as { steps: { step: number[] }; skipped: number };
  assert.equal(cols.steps.step.at(-1), 120);
});

test("a new grid and a new run directory appear as events", async () => {
  const grid = await nextEvent(
    (e) => e.type === "grids" && e.run === "cgan",
    () => cpSync(join(root, "cgan", "samples", "step-00000020.png"), join(root, "cgan", "samples", "step-00000025.png")),
  );
  assert.deepEqual(
    (grid.event.grids as { step: number }[]).map((g) => g.step),
    [25],
  );
  const run = await nextEvent(
    (e) => e.type === "run",
    () => cpSync(join(root, "cgan"), join(root, "cgan-copy"), { recursive: true }),
  );
  assert.equal(run.event.run, "cgan-copy");
});

test("the playground draws from a run's generator: a class, an interpolation, and clear errors", async () => {
  const image = await get("/api/runs/cgan/sample.png?seed=3&class=7");
  assert.equal(image.status, 200);
  const png = PNG.sync.read(image.body);
  assert.equal(png.width, 8 * 30 + 2); // 64 samples of 28 pixels, 8 a row, 2-pixel gaps
  const rows = PNG.sync.read((await get("/api/runs/cgan/sample.png?seed=3")).body);
  assert.equal(rows.width, 10 * 30 + 2); // one row per class
  const a = (await get("/api/runs/cgan/sample.png?seed=3&to=4&t=0")).body;
  const b = (await get("/api/runs/cgan/sample.png?seed=3&to=4&t=1")).body;
  const c = (await get("/api/runs/cgan/sample.png?seed=4")).body;
  assert.notDeepEqual(a, b);
  assert.deepEqual(PNG.sync.read(b).data, PNG.sync.read(c).data, "t=1 lands on the second seed");
  const bad = await get("/api/runs/cgan/sample.png?class=12");
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body.toString()).error, /class.*0 to 9/);
  assert.equal((await get("/api/runs/toy/sample.png?class=1")).status, 400);
  assert.equal((await get("/api/runs/toy/sample.png?seed=1&t=2")).status, 400);
  assert.equal((await get("/api/runs/toy/sample.png?seed=1")).status, 200);
});

test("slerp keeps the endpoints and the norm of Gaussian noise", () => {
  const a = Float32Array.from([3, 0, 0, 1]);
  const b = Float32Array.from([0, 3, 1, 0]);
  assert.deepEqual([...slerpRows(a, b, 0, 2)], [3, 0, 0, 1]);
  assert.deepEqual(
    [...slerpRows(a, b, 1, 2)].map((v) => Math.round(v * 1e6) / 1e6),
    [0, 3, 1, 0],
  );
  const mid = slerpRows(a, b, 0.5, 2);
  assert.ok(Math.abs(Math.hypot(mid[0], mid[1]) - 3) < 1e-5);
});

test("progress as a GIF, from the server and from gantry animate", async () => {
  const gif = await get("/api/runs/cgan/progress.gif");
  assert.equal(gif.status, 200);
  assert.equal(gif.body.subarray(0, 6).toString(), "GIF89a");
  const out = join(root, "progress.gif");
  assert.match(gantryOk("animate", "--run", join(root, "toy"), "--out", out), /wrote 4 frames/);
  assert.equal(readFileSync(out).subarray(0, 6).toString(), "GIF89a");
  const missing = gantry("animate", "--run", join(root, "nope"), "--out", out);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--run: .*nope does not exist/);
});

test("another --host needs the printed token; a busy --port is a clear error, the default moves on", async () => {
  const logs: string[] = [];
  const guarded = await startDash({ paths: [root], host: "127.0.0.1", port: 0, log: (m) => logs.push(m) });
  try {
    assert.match(logs.join("\n"), /warning: .*token/);
    assert.ok(guarded.token && guarded.url.includes(`token=${guarded.token}`));
    const port = guarded.port;
    const status = (path: string) => new Promise<number>((done) => request({ host: "127.0.0.1", port, path }, (r) => done(r.statusCode ?? 0)).end());
    assert.equal(await status("/api/runs"), 403);
    assert.equal(await status("/api/runs?token=wrong"), 403);
    assert.equal(await status(`/api/runs?token=${guarded.token}`), 200);
    await assert.rejects(startDash({ paths: [root], port, log: () => {} }), /--port: port \d+ on 127\.0\.0\.1 is in use/);
    // From the CLI too: one line, exit 2, and no timer left running to keep the process alive.
    const busy = gantry("dash", root, "--port", String(port));
    assert.equal(busy.code, 2);
    assert.match(busy.err, /^gantry dash: --port: port \d+ on 127\.0\.0\.1 is in use/);
  } finally {
    await guarded.close();
  }
  // Without --port: 8686, or the next free port, said.
  const blocker = createServer();
  await new Promise<void>((done) => blocker.once("error", () => done()).listen(DEFAULT_PORT, "127.0.0.1", () => done()));
  const moved: string[] = [];
  const next = await startDash({ paths: [root], log: (m) => moved.push(m) });
  try {
    assert.notEqual(next.port, DEFAULT_PORT);
    assert.match(moved.join("\n"), new RegExp(`port ${DEFAULT_PORT} is in use; using ${next.port}`));
  } finally {
    await next.close();
    blocker.close();
  }
  const cli = gantry("dash", join(root, "nope"));
  assert.equal(cli.code, 2);
  assert.match(cli.err, /nope: is not a directory/);
});

test("a run whose trainer died reads as stopped, not running", () => {
  const dir = join(root, "toy");
  const saved = readFileSync(join(dir, "status.json"), "utf8");
  writeRunStatus(dir, { ...readRunStatus(dir), state: "running" });
  // A lock naming a process that does not exist on this host.
  writeFileSync(join(dir, "train.lock"), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), started: "" }));
  assert.equal(readRunStatus(dir).state, "stopped");
  // A run without status.json (written by an older gantry) held by a live trainer reads as running.
  rmSync(join(dir, "status.json"));
  writeFileSync(join(dir, "train.lock"), JSON.stringify({ pid: process.pid, host: hostname(), started: "" }));
  assert.equal(readRunStatus(dir).state, "running");
  rmSync(join(dir, "train.lock"));
  assert.equal(readRunStatus(dir).state, "finished");
  writeFileSync(join(dir, "status.json"), saved);
});

test("grid names give their steps", () => {
  assert.equal(gridStep("step-00001200.png", null), 1200);
  assert.equal(gridStep("epoch-003.png", 937), 2811);
  assert.equal(gridStep("epoch-003.png", null), null);
  assert.equal(gridStep("other.png", 10), null);
});

test("gantry train --dash serves the run beside training, prints its URL, and stops with it", async () => {
  const out = join(root, "dashed");
  const child = spawn(
    process.execPath,
    [join(repoRoot, "bin", "gantry.js"), "train", "--preset", "toy-ring8", "--steps", "300", "--set", "log.every=50", "--dash", "--port", "0", "--out", out],
    { env: { ...process.env, CI: "1" } },
  );
  const exited = new Promise<number | null>((done) => child.once("exit", done));
  let text = "";
  child.stdout.on("data", (d) => {
    text += String(d);
  });
  child.stderr.on("data", (d) => {
    text += String(d);
  });
  const url = await new Promise<string>((done, fail) => {
    const timer = setInterval(() => {
      const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text);
      if (m) {
        clearInterval(timer);
        done(m[1]);
      }
    }, 50);
    void exited.then(() => {
      clearInterval(timer);
      fail(new Error(`training exited before printing the dashboard's URL:\n${text}`));
    });
  });
  const runs = (await (await fetch(`${url}api/runs`)).json()) as { id: string }[];
  assert.deepEqual(
    runs.map((r) => r.id),
    ["dashed"],
  );
  const code = await exited;
  assert.equal(code, 0, text);
  assert.match(text, /config: .*config\.json/);
  assert.match(text, /dashboard stopped with training/);
  // The dashboard leaves with training (give its process a moment to go).
  let gone = false;
  for (let i = 0; i < 50 && !gone; i++) {
    gone = await fetch(`${url}api/runs`).then(
      () => false,
      () => true,
    );
    if (!gone) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(gone, "the dashboard still answers after training ended");
  const misuse = gantry("train", "--preset", "toy-ring8", "--steps", "1", "--port", "9000", "--out", join(root, "misuse"));
  assert.equal(misuse.code, 2);
  assert.match(misuse.err, /--port: belongs to --dash/);
});
