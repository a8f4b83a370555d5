// gantry dash: a local web server for run directories. The page (web/dash/) reads the runs through
// a small read-only JSON API and follows them through one server-sent-events stream; the server
// polls cheap facts (stat, readdir) every pollMs and reads only appended bytes (runs.ts).
//
//   GET /                                  the page
//   GET /static/NAME                       its script, style and uPlot (from node_modules, never a CDN)
//   GET /api/runs                          every run: status, config, generator card
//   GET /api/runs/ID/stats                 the stats as columns, evaluations and rollbacks
//   GET /api/runs/ID/stats.csv             the same as a CSV table
//   GET /api/runs/ID/grids                 every sample grid, in training order
//   GET /api/runs/ID/files/PATH            a file inside the run directory (nothing outside it)
//   GET /api/runs/ID/sample.png?seed=&to=&t=&class=   the playground
//   GET /api/runs/ID/progress.gif          the grids as an animated GIF
//   GET /api/events                        server-sent events: run, reset, records, grids, status
//
// Nothing writes or deletes: only GET and HEAD are answered. It binds 127.0.0.1; with another
// host every request must carry the token it prints.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createReadStream, realpathSync, statSync } from "node:fs";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, GanError } from "../errors.js";
import { RunSet, stepFields, type RunChange, type StatsRecord, type WatchedRun } from "./runs.js";
import { Playground } from "./playground.js";
import { animateRun } from "./animate.js";

export interface DashOptions {
  /** Run directories, or folders of them. */
  paths: string[];
  /** The port; default 8686, or the next free one after it. A port given explicitly must be free. */
  port?: number;
  /** The address to bind; default 127.0.0.1. Any other host requires a token. */
  host?: string;
  pollMs?: number;
  log?: (message: string) => void;
}

export interface DashServer {
  url: string;
  port: number;
  host: string;
  token: string | null;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 8686;

const here = dirname(fileURLToPath(import.meta.url));
/** web/dash/ in the package: two levels above dist/src/dash/ or src/dash/. */
const webDir = [join(here, "..", "..", "..", "web", "dash"), join(here, "..", "..", "web", "dash")].find((d) => {
  try {
    return statSync(join(d, "index.html")).isFile();
  } catch {
    return false;
  }
});
const require = createRequire(import.meta.url);
const uplotDir = dirname(require.resolve("uplot/dist/uPlot.iife.min.js"));

const staticFiles: Record<string, { path: () => string; type: string }> = {
  "app.js": { path: () => join(webDir!, "app.js"), type: "text/javascript; charset=utf-8" },
  "app.css": { path: () => join(webDir!, "app.css"), type: "text/css; charset=utf-8" },
  "uPlot.iife.min.js": { path: () => join(uplotDir, "uPlot.iife.min.js"), type: "text/javascript; charset=utf-8" },
  "uPlot.min.css": { path: () => join(uplotDir, "uPlot.min.css"), type: "text/css; charset=utf-8" },
};

const contentTypes: Record<string, string> = {
  ".png": "image/png",
  ".json": "application/json; charset=utf-8",
  ".jsonl": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".wav": "audio/wav",
};

/** Starts the server; resolves once it listens. */
export async function startDash(options: DashOptions): Promise<DashServer> {
  if (!webDir) throw new GanError("the dashboard's page (web/dash/index.html) is missing from this installation");
  const log = options.log ?? ((m: string) => console.log(m));
  const host = options.host ?? "127.0.0.1";
  const token = options.host !== undefined ? randomBytes(16).toString("hex") : null;
  const runs = new RunSet(options.paths);
  const playground = new Playground();
  const clients = new Set<ServerResponse>();

  const broadcast = (event: object) => {
    const text = `data: ${JSON.stringify(event)}\n\n`;
    for (const c of clients) c.write(text);
  };
  const pollOnce = () => {
    for (const run of runs.discover()) {
      broadcast({ type: "run", run: run.id });
      // Serialize a new run's stats before the page asks: the first load of a large run is then as fast as the next.
      setImmediate(() => statsBody(run));
    }
    for (const run of runs.runs.values()) for (const change of run.poll()) broadcast({ run: run.id, ...wireChange(change) });
  };
  pollOnce();

  const server = createServer((req, res) => {
    try {
      const reply = route(req);
      if (reply.kind === "events") openEvents(req, res);
      else if (reply.kind === "file") sendFile(res, reply.path, reply.type);
      else send(res, reply.status, reply.body, reply.type, reply.headers);
    } catch (err) {
      sendError(res, err);
    }
  });

  /** What a request gets: a body, a file, or the event stream. Reads only. */
  function route(req: IncomingMessage): Reply {
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, "only GET and HEAD: the dashboard never changes anything\n");
    const url = new URL(req.url ?? "/", "http://dash.invalid");
    if (token && !tokenMatches(url.searchParams.get("token"), token)) return text(403, "this dashboard needs the token printed when it started (?token=...)\n");
    const path = url.pathname;
    if (path === "/" || path === "/index.html") return { kind: "file", path: join(webDir!, "index.html"), type: "text/html; charset=utf-8" };
    if (path.startsWith("/static/")) {
      const file = Object.hasOwn(staticFiles, path.slice(8)) ? staticFiles[path.slice(8)] : undefined;
      return file ? { kind: "file", path: file.path(), type: file.type } : notFound;
    }
    if (path === "/api/runs") return json([...runs.runs.values()].map((r) => ({ ...r.summary(), grids: r.grids.length, records: r.records.length })));
    if (path === "/api/events") return { kind: "events" };
    const m = /^\/api\/runs\/([^/]+)\/(.+)$/.exec(path);
    const run = m ? runs.runs.get(safeDecode(m[1]) ?? "") : undefined;
    if (!m || !run) return notFound;
    const rest = m[2];
    if (rest === "stats") return { kind: "body", status: 200, body: statsBody(run), type: jsonType, headers: { "Cache-Control": "no-store" } };
    if (rest === "stats.csv")
      return {
        kind: "body",
        status: 200,
        body: toCsv(run.records),
        type: "text/csv; charset=utf-8",
        headers: { "Content-Disposition": `attachment; filename="${run.id}-stats.csv"` },
      };
    if (rest === "grids") return json(run.grids);
    if (rest === "progress.gif") {
      const every = Number(url.searchParams.get("every") ?? 1);
      const { gif } = animateRun(run.path, { every: Number.isFinite(every) ? every : 1, fps: Number(url.searchParams.get("fps") ?? 8) || 8 });
      return {
        kind: "body",
        status: 200,
        body: Buffer.from(gif),
        type: "image/gif",
        headers: { "Content-Disposition": `inline; filename="${run.id}-progress.gif"` },
      };
    }
    if (rest === "sample.png")
      return {
        kind: "body",
        status: 200,
        body: playground.render(run.path, playgroundRequest(url.searchParams)),
        type: "image/png",
        headers: { "Cache-Control": "no-store" },
      };
    if (rest.startsWith("files/")) {
      const file = fileInside(run, rest.slice(6));
      if (!file) return notFound;
      return { kind: "file", path: file, type: contentTypes[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream" };
    }
    return notFound;
  }

  function openEvents(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store", Connection: "keep-alive" });
    res.write(`retry: 500\ndata: ${JSON.stringify({ type: "hello" })}\n\n`);
    clients.add(res);
    req.on("close", () => clients.delete(res));
  }

  // Listen first: a refused port leaves no timer behind to keep the process alive.
  const port = await listen(server, host, options.port, log);
  const timer = setInterval(pollOnce, options.pollMs ?? 250);
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(": keep-alive\n\n");
  }, 15000);
  const shown = host.includes(":") ? `[${host}]` : host;
  const url = `http://${shown === "0.0.0.0" ? "127.0.0.1" : shown}:${port}/${token ? `?token=${token}` : ""}`;
  if (token) log(`warning: the dashboard listens on ${host}, reachable from other machines; every request must carry its token`);
  return {
    url,
    port,
    host,
    token,
    close: () =>
      new Promise<void>((done) => {
        clearInterval(timer);
        clearInterval(heartbeat);
        for (const c of clients) c.end();
        clients.clear();
        playground.dispose();
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** Listens on the port given (an error if busy), or on DEFAULT_PORT or the next free one (stated). */
async function listen(server: Server, host: string, port: number | undefined, log: (m: string) => void): Promise<number> {
  const tryPort = (p: number) =>
    new Promise<number | null>((done, fail) => {
      const onError = (err: NodeJS.ErrnoException) => {
        server.off("listening", onListening);
        if (err.code === "EADDRINUSE") done(null);
        else fail(err);
      };
      const onListening = () => {
        server.off("error", onError);
        const address = server.address();
        done(typeof address === "object" && address ? address.port : p);
      };
      server.once("error", onError);
      server.once("listening", onListening);
      server.listen(p, host);
    });
  if (port !== undefined) {
    const got = await tryPort(port);
    if (got === null)
      throw new ConfigError([{ path: "--port", message: `port ${port} on ${host} is in use: choose another, or leave --port out to take a free one` }]);
    return got;
  }
  for (let p = DEFAULT_PORT; p < DEFAULT_PORT + 50; p++) {
    const got = await tryPort(p);
    if (got !== null) {
      if (p !== DEFAULT_PORT) log(`port ${DEFAULT_PORT} is in use; using ${p}`);
      return got;
    }
  }
  const got = await tryPort(0);
  log(`ports ${DEFAULT_PORT}-${DEFAULT_PORT + 49} are in use; using ${got}`);
  return got!;
}

function tokenMatches(given: string | null, token: string): boolean {
  if (!given || given.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

const safeDecode = (s: string): string | null => {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
};

/**
 * The real path of a file inside the run directory named by a URL path, or null: no `..` or `.`
 * segment, no encoded slash, no absolute path, and after resolving symlinks still inside the run.
 */
export function fileInside(run: WatchedRun, urlPath: string): string | null {
  const segments = urlPath.split("/").map(safeDecode);
  if (segments.some((s) => s === null || s === "" || s === "." || s === ".." || /[/\\\0]/.test(s))) return null;
  const rel = segments.join(sep);
  if (isAbsolute(rel)) return null;
  let root: string;
  let real: string;
  try {
    root = realpathSync(run.path);
    real = realpathSync(resolve(root, rel));
  } catch {
    return null;
  }
  if (!real.startsWith(root + sep)) return null;
  try {
    return statSync(real).isFile() ? real : null;
  } catch {
    return null;
  }
}

function playgroundRequest(q: URLSearchParams): { seed: number; to?: number; t?: number; classLabel?: number } {
  const int = (name: string): number | undefined => {
    const raw = q.get(name);
    if (raw === null || raw === "") return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new ConfigError([{ path: name, message: `expected an integer >= 0, got '${raw}'` }]);
    return n;
  };
  const tRaw = q.get("t");
  const t = tRaw === null || tRaw === "" ? undefined : Number(tRaw);
  if (t !== undefined && !(t >= 0 && t <= 1)) throw new ConfigError([{ path: "t", message: `expected a number from 0 to 1, got '${tRaw}'` }]);
  return { seed: int("seed") ?? 0, to: int("to"), t, classLabel: int("class") };
}

/** Step records as columns (one array per field) plus evaluations and rollbacks, for the charts. */
export function columns(records: StatsRecord[], skipped = 0) {
  const steps = Object.fromEntries(stepFields.map((f) => [f, [] as (number | null)[]])) as Record<string, (number | null)[]>;
  const evals: Record<string, unknown>[] = [];
  const rollbacks: Record<string, unknown>[] = [];
  for (const r of records) {
    if (r.kind === "step") for (const f of stepFields) steps[f].push(finiteOrNull(r.values[f]));
    else if (r.kind === "eval") evals.push({ step: r.step, ...r.scores });
    else rollbacks.push({ step: r.step, ...r.rollback });
  }
  return { steps, evals, rollbacks, skipped };
}

/** Charts need no more than 6 significant digits; the JSON is about 40% smaller for it. */
const finiteOrNull = (v: number | null) => (v !== null && Number.isFinite(v) ? Number(v.toPrecision(6)) : null);

/** A run's stats as the page loads them, serialized once per change (a large run is 100,000 records). */
const statsCache = new WeakMap<WatchedRun, { records: StatsRecord[]; length: number; skipped: number; body: string }>();
function statsBody(run: WatchedRun): string {
  const cached = statsCache.get(run);
  if (cached && cached.records === run.records && cached.length === run.records.length && cached.skipped === run.skippedLines) return cached.body;
  const body = JSON.stringify(columns(run.records, run.skippedLines));
  statsCache.set(run, { records: run.records, length: run.records.length, skipped: run.skippedLines, body });
  return body;
}

function wireChange(change: RunChange): object {
  if (change.type !== "records") return change;
  return { type: "records", ...columns(change.records) };
}

/** The stats as CSV: one row per step, the evaluation scores as extra columns on their step's row. */
export function toCsv(records: StatsRecord[]): string {
  const rows = new Map<number, Record<string, unknown>>();
  const evalKeys = new Set<string>();
  for (const r of records) {
    if (r.kind === "rollback") continue;
    const step = r.kind === "step" ? (r.values.step ?? 0) : r.step;
    const row = rows.get(step) ?? { step };
    if (r.kind === "step") Object.assign(row, r.values);
    else
      for (const [k, v] of Object.entries(r.scores)) {
        evalKeys.add(k);
        row[`eval_${k}`] = v;
      }
    rows.set(step, row);
  }
  const header = [...stepFields, ...[...evalKeys].map((k) => `eval_${k}`)];
  const cell = (v: unknown) => (v === undefined || v === null ? "" : typeof v === "string" ? JSON.stringify(v) : String(v));
  const lines = [...rows.values()].sort((a, b) => (a.step as number) - (b.step as number)).map((row) => header.map((h) => cell(row[h])).join(","));
  return `${[header.join(","), ...lines].join("\n")}\n`;
}

type Reply =
  | { kind: "body"; status: number; body: string | Buffer; type: string; headers?: Record<string, string> }
  | { kind: "file"; path: string; type: string }
  | { kind: "events" };

const jsonType = "application/json; charset=utf-8";
const text = (status: number, body: string): Reply => ({ kind: "body", status, body, type: "text/plain; charset=utf-8" });
const json = (value: unknown): Reply => ({ kind: "body", status: 200, body: JSON.stringify(value), type: jsonType, headers: { "Cache-Control": "no-store" } });
const notFound = text(404, "not found\n");

function send(res: ServerResponse, status: number, body: string | Buffer, type = "text/plain; charset=utf-8", headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": type, "X-Content-Type-Options": "nosniff", ...headers });
  res.end(body);
}

function sendFile(res: ServerResponse, path: string, type: string): void {
  let size: number;
  let mtimeMs: number;
  try {
    ({ size, mtimeMs } = statSync(path));
  } catch {
    send(res, 404, "not found\n");
    return;
  }
  const etag = `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
  if (res.req.headers["if-none-match"] === etag) {
    res.writeHead(304, { ETag: etag });
    res.end();
    return;
  }
  res.writeHead(200, { "Content-Type": type, "Content-Length": size, ETag: etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff" });
  if (res.req.method === "HEAD") return void res.end();
  createReadStream(path)
    .on("error", () => res.destroy())
    .pipe(res);
}

function sendError(res: ServerResponse, err: unknown): void {
  const user = err instanceof GanError;
  const message = err instanceof Error ? err.message : String(err);
  if (res.headersSent) return void res.destroy();
  send(res, user ? 400 : 500, JSON.stringify({ error: message }), "application/json; charset=utf-8");
}
