// gantry dash, the page. Plain JavaScript over the server's read-only API (src/dash/server.ts):
// it loads each run's stats once as columns, then follows /api/events (server-sent events) and
// appends what arrives; charts are uPlot, redrawn at most once per animation frame.
/* global uPlot */

const token = new URLSearchParams(location.search).get("token");
const api = (path) => (token ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : path);
const $ = (id) => document.getElementById(id);
const colors = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];
const MAX_COMPARE = 8;

/** id -> { summary, data: { steps, evals, rollbacks } | null, grids: [] | null, images: Map } */
const runs = new Map();
let primary = null;
/** The runs drawn, primary first; at most MAX_COMPARE. */
let selected = [];
const charts = new Map();
let redrawQueued = false;

async function getJson(path) {
  const response = await fetch(api(path));
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

// ---- runs and their data ----

async function loadRuns() {
  const list = await getJson("/api/runs");
  for (const summary of list) {
    const run = runs.get(summary.id);
    if (run) run.summary = summary;
    else runs.set(summary.id, { summary, data: null, grids: null, images: new Map() });
  }
  if (!primary && list.length) await choose(list[0].id);
  renderRunList();
}

/**
 * Loads a run's stats and grids once. Events that arrive meanwhile wait in run.pending and are
 * applied after (apply() drops what the snapshot already holds).
 */
async function ensureData(id) {
  const run = runs.get(id);
  if (run.data) return run;
  run.loading ??= (async () => {
    run.pending = [];
    const base = `/api/runs/${encodeURIComponent(id)}`;
    const [stats, grids] = await Promise.all([getJson(`${base}/stats`), getJson(`${base}/grids`)]);
    run.data = stats;
    run.grids = grids;
    run.loading = null;
    const pending = run.pending;
    run.pending = [];
    for (const event of pending) await apply(event);
  })();
  await run.loading;
  return run;
}

/** Makes `id` the primary run (and drawn). */
async function choose(id) {
  primary = id;
  selected = [id, ...selected.filter((s) => s !== id)].slice(0, MAX_COMPARE);
  await Promise.all(selected.map(ensureData));
  renderAll(true);
}

async function toggleCompare(id, on) {
  if (on && !selected.includes(id)) {
    if (selected.length >= MAX_COMPARE) {
      $("connection").textContent = `at most ${MAX_COMPARE} runs at once`;
      renderRunList();
      return;
    }
    selected.push(id);
    await ensureData(id);
  } else if (!on) {
    if (id === primary) return renderRunList();
    selected = selected.filter((s) => s !== id);
  }
  renderAll(true);
}

function renderRunList() {
  const ul = $("runs");
  ul.replaceChildren(
    ...[...runs.values()].map(({ summary }) => {
      const li = document.createElement("li");
      li.dataset.run = summary.id;
      if (summary.id === primary) li.classList.add("primary");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = selected.includes(summary.id);
      box.title = "compare";
      box.addEventListener("change", () => toggleCompare(summary.id, box.checked));
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      const index = selected.indexOf(summary.id);
      swatch.style.background = index >= 0 ? colors[index] : "transparent";
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = summary.name;
      name.title = summary.path;
      name.addEventListener("click", () => choose(summary.id));
      const badge = document.createElement("span");
      badge.className = `badge ${summary.status.state}`;
      badge.textContent = summary.status.state;
      li.append(box, swatch, name, badge);
      return li;
    }),
  );
}

// ---- live updates ----

function connect() {
  const events = new EventSource(api("/api/events"));
  events.onopen = () => {
    $("connection").textContent = "live";
  };
  events.onerror = () => {
    $("connection").textContent = "reconnecting…";
  };
  events.onmessage = (e) => apply(JSON.parse(e.data));
}

async function apply(event) {
  if (event.type === "hello") return;
  if (event.type === "run") return loadRuns();
  const run = runs.get(event.run);
  if (!run) return;
  if (event.type === "status") {
    run.summary.status = event.status;
    renderRunList();
    if (event.run === primary) renderHeader();
    return;
  }
  if (!run.data) {
    // Not shown yet (loaded in full when it is), or loading: keep the event for after.
    if (run.loading) run.pending.push(event);
    return;
  }
  if (event.type === "reset") {
    run.data = null;
    run.grids = null;
    await ensureData(event.run);
    if (event.run === primary) renderGridSlider(true);
  } else if (event.type === "records") {
    const { steps, evals, rollbacks } = run.data;
    const lastStep = last(steps.step) ?? Number.NEGATIVE_INFINITY;
    const fresh = event.steps.step.map((s) => s > lastStep);
    for (const [field, values] of Object.entries(event.steps)) {
      steps[field] ??= [];
      values.forEach((v, i) => fresh[i] && steps[field].push(v));
    }
    const lastEval = evals.length ? evals[evals.length - 1].step : Number.NEGATIVE_INFINITY;
    evals.push(...event.evals.filter((e) => e.step > lastEval));
    const seen = new Set(rollbacks.map((r) => `${r.step}/${r.from}`));
    rollbacks.push(...event.rollbacks.filter((r) => !seen.has(`${r.step}/${r.from}`)));
  } else if (event.type === "grids") {
    const slider = $("grid-slider");
    const atEnd = Number(slider.value) >= run.grids.length - 1;
    const names = new Set(run.grids.map((g) => g.name));
    run.grids.push(...event.grids.filter((g) => !names.has(g.name)));
    run.grids.sort((a, b) => (a.step ?? 0) - (b.step ?? 0) || a.mtimeMs - b.mtimeMs);
    if (event.run === primary) renderGridSlider(atEnd);
    else if (selected.includes(event.run)) showGrid();
    return;
  }
  scheduleRedraw(event.type === "reset");
}

function scheduleRedraw(rebuild = false) {
  if (rebuild) for (const c of charts.values()) c.rebuild = true;
  if (redrawQueued) return;
  redrawQueued = true;
  requestAnimationFrame(() => {
    redrawQueued = false;
    renderHeader();
    renderCharts();
    renderWarnings();
  });
}

// ---- header ----

const clock = (s) => {
  if (!Number.isFinite(s) || s < 0) return "--:--";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return `${h ? `${h}:` : ""}${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
};

function last(values) {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
}

function renderHeader() {
  const run = runs.get(primary);
  if (!run) return;
  const { summary, data } = run;
  const status = summary.status;
  $("run-title").textContent = summary.name;
  const step = Math.max(status.step ?? 0, last(data?.steps.step ?? []) ?? 0);
  const epoch = last(data?.steps.epoch ?? []);
  const ips = last(data?.steps.imagesPerSec ?? []);
  const batch = summary.config?.train?.batchSize ?? 64;
  const parts = [status.state];
  parts.push(`step ${step}${status.totalSteps ? `/${status.totalSteps}` : ""}`);
  if (epoch !== null) parts.push(`epoch ${epoch}${status.epochs ? `/${status.epochs}` : ""}`);
  if (ips !== null) parts.push(`${ips.toFixed(0)} images/s`);
  if (status.state === "running" && ips && status.totalSteps) parts.push(`ETA ${clock(((status.totalSteps - step) * batch) / ips)}`);
  if (status.message && status.state !== "running") parts.push(status.message);
  $("run-state").textContent = parts.join(" · ");
  $("run-state").dataset.step = String(step);
  const base = `/api/runs/${encodeURIComponent(primary)}`;
  const every = Math.max(1, Math.ceil((run.grids?.length ?? 0) / 300));
  const links = [
    ["stats.csv", `${base}/stats.csv`],
    ["progress.gif", `${base}/progress.gif?every=${every}`],
    ["stats.jsonl", `${base}/files/stats.jsonl`],
  ];
  $("exports").replaceChildren(
    ...links.map(([text, href]) => {
      const a = document.createElement("a");
      a.href = api(href);
      a.textContent = text;
      a.target = "_blank";
      return a;
    }),
  );
}

// ---- charts ----

/** Reference lines where the loss has an equilibrium (D(x) = D(G(z)) = 1/2). */
function references(lossName) {
  const bce = ["minimax", "non-saturating", "r1"].includes(lossName);
  return {
    loss: bce ? [Math.log(4), lossName === "minimax" ? -Math.log(2) : Math.log(2)] : lossName === "least-squares" ? [0.25, 0.125] : [],
    dout: bce ? [0.5] : [],
  };
}

const mainCharts = [
  { id: "loss", title: "losses (D, G)", fields: [["dLoss", "D"], ["gLoss", "G"]], smooth: true },
  { id: "dout", title: "D(x) and D(G(z))", fields: [["dReal", "D(x)"], ["dFake", "D(G(z))"]], smooth: true },
  { id: "grad", title: "gradient norms", fields: [["gradNormD", "D"], ["gradNormG", "G"]], smooth: true },
  { id: "lr", title: "learning rates", fields: [["lrG", "G"], ["lrD", "D"]], smooth: false, log: true },
  { id: "speed", title: "images/s", fields: [["imagesPerSec", "images/s"]], smooth: true },
];
const evalCharts = [
  { id: "fid", title: "FID (lower is better)", fields: [["fid", "FID"]] },
  { id: "kid", title: "KID", fields: [["kid", "KID"]] },
  { id: "pr", title: "precision, recall, coverage", fields: [["precision", "precision"], ["recall", "recall"], ["coverage", "coverage"]] },
  { id: "classes", title: "classes covered", fields: [["classesCovered", "classes"]] },
  { id: "labels", title: "label accuracy", fields: [["labelAccuracy", "label acc."]] },
  { id: "modes", title: "toy modes captured", fields: [["modesCaptured", "modes"]] },
  { id: "hq", title: "high-quality samples", fields: [["highQualityFraction", "high quality"]] },
];

function smooth(values, kind, amount) {
  if (kind === "none") return values;
  const out = new Array(values.length);
  if (kind === "ema") {
    let acc = 0;
    let n = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null) {
        out[i] = null;
        continue;
      }
      acc = acc * amount + (1 - amount) * v;
      n++;
      out[i] = acc / (1 - amount ** n);
    }
    return out;
  }
  const window = Math.max(1, Math.round(amount * 100));
  const kept = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null) {
      kept.push(v);
      sum += v;
      if (kept.length > window) sum -= kept.shift();
    }
    out[i] = v === null ? null : sum / kept.length;
  }
  return out;
}

/** Wall time (s) at each step record: the running sum of the records' intervals. */
function wallTimes(steps) {
  const out = new Array(steps.step.length);
  let t = 0;
  for (let i = 0; i < out.length; i++) {
    t += steps.seconds[i] ?? 0;
    out[i] = t;
  }
  return out;
}

/** The wall time at a step, from the nearest step record at or before it. */
function timeAtStep(steps, times, step) {
  let lo = 0;
  let hi = steps.step.length - 1;
  if (hi < 0) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (steps.step[mid] <= step) lo = mid;
    else hi = mid - 1;
  }
  return times[lo];
}

function xOf(run, axis) {
  const steps = run.data.steps;
  return axis === "time" ? wallTimes(steps) : steps.step;
}

const dashes = [[], [6, 4], [2, 3]];

/** uPlot data and series for one chart over the selected runs. */
function chartData(def, isEval) {
  const axis = $("x-axis").value;
  const kind = $("smooth-kind").value;
  const amount = Number($("smooth-amount").value);
  const tables = [];
  const series = [{}];
  const multi = selected.length > 1;
  selected.forEach((id, r) => {
    const run = runs.get(id);
    if (!run?.data) return;
    const name = multi ? `${run.summary.name} ` : "";
    let x;
    const columns = [];
    if (isEval) {
      const evals = run.data.evals;
      const times = axis === "time" ? wallTimes(run.data.steps) : null;
      x = evals.map((e) => (times ? timeAtStep(run.data.steps, times, e.step) : e.step));
      for (const [field, label] of def.fields) {
        const values = evals.map((e) => (typeof e[field] === "number" ? e[field] : null));
        if (!values.some((v) => v !== null)) continue;
        columns.push(values);
        const color = multi ? colors[r] : colors[columns.length - 1];
        series.push({ label: `${name}${label}`, stroke: color, dash: multi ? dashes[columns.length - 1] : [], points: { show: true, size: 5 }, width: 1.5 });
      }
    } else {
      x = xOf(run, axis);
      def.fields.forEach(([field, label], j) => {
        const raw = run.data.steps[field] ?? [];
        // One run: a colour per field. Several: a colour per run, a dash pattern per field.
        const color = multi ? colors[r] : colors[j];
        const dash = multi ? dashes[j] : [];
        if (def.smooth && kind !== "none") {
          columns.push(raw);
          series.push({ label: `${name}${label} raw`, stroke: `${color}40`, width: 1, dash });
        }
        columns.push(def.smooth ? smooth(raw, kind, amount) : raw);
        series.push({ label: `${name}${label}`, stroke: color, width: 1.5, dash });
      });
    }
    if (columns.length) tables.push([x, ...columns]);
  });
  if (!tables.length) return null;
  const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
  return { data, series };
}

/** Vertical marks (collapse warnings, rollbacks) of the primary run and the loss's reference lines. */
function marks(def) {
  const run = runs.get(primary);
  const out = [];
  if (!run?.data) return out;
  const axis = $("x-axis").value;
  const times = axis === "time" ? wallTimes(run.data.steps) : null;
  const at = (step) => (times ? timeAtStep(run.data.steps, times, step) : step);
  for (const e of run.data.evals) if (e.collapsed === true) out.push({ x: at(e.step), color: "#dc2626" });
  for (const r of run.data.rollbacks) out.push({ x: at(r.from ?? r.step), color: "#d97706" });
  const refs = references(run.summary.config?.loss?.name)[def.id] ?? [];
  for (const y of refs) out.push({ y, color: "#888" });
  return out;
}

function marksPlugin(def) {
  return {
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          const { left, top, width, height } = u.bbox;
          ctx.save();
          ctx.lineWidth = 1;
          ctx.setLineDash([4, 3]);
          for (const m of marks(def)) {
            ctx.strokeStyle = m.color;
            ctx.beginPath();
            if (m.x !== undefined) {
              const x = u.valToPos(m.x, "x", true);
              if (x < left || x > left + width) continue;
              ctx.moveTo(x, top);
              ctx.lineTo(x, top + height);
            } else {
              const y = u.valToPos(m.y, "y", true);
              if (y < top || y > top + height) continue;
              ctx.moveTo(left, y);
              ctx.lineTo(left + width, y);
            }
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
}

function drawChart(container, def, isEval) {
  const made = chartData(def, isEval);
  let entry = charts.get(def.id);
  if (!made) {
    if (entry) {
      entry.plot.destroy();
      entry.box.remove();
      charts.delete(def.id);
    }
    return;
  }
  const shape = made.series.map((s) => s.label).join("|");
  if (entry && (entry.shape !== shape || entry.rebuild)) {
    entry.plot.destroy();
    entry.box.remove();
    entry = undefined;
  }
  if (!entry) {
    const box = document.createElement("div");
    box.className = "chart";
    box.dataset.chart = def.id;
    const h = document.createElement("h4");
    h.textContent = def.title;
    box.append(h);
    container.append(box);
    const width = Math.max(300, box.clientWidth - 12);
    const options = {
      width,
      height: 220,
      series: made.series,
      // Learning rates on a log scale (a rollback divides them by 10), padded so that a constant rate has a range.
      scales: { x: { time: false }, ...(def.log ? { y: { distr: 3, range: (_u, min, max) => (min > 0 && max > 0 ? [min / 2, max * 2] : [1e-6, 1]) } } : {}) },
      axes: [
        { label: $("x-axis").value === "time" ? "seconds" : "step" },
        def.log ? { values: (_u, ticks) => ticks.map((v) => (v == null ? "" : v.toExponential(0))), size: 60 } : {},
      ],
      plugins: [marksPlugin(def)],
      cursor: { drag: { x: true, y: false } },
    };
    const plot = new uPlot(options, made.data, box);
    entry = { plot, box, shape, rebuild: false };
    charts.set(def.id, entry);
  } else {
    entry.plot.setData(made.data);
  }
}

function renderCharts() {
  for (const def of mainCharts) drawChart($("charts"), def, false);
  for (const def of evalCharts) drawChart($("eval-charts"), def, true);
  document.body.dataset.charts = String(charts.size);
  const hasEvals = selected.some((id) => runs.get(id)?.data?.evals.length);
  $("eval-hint").hidden = hasEvals;
}

function renderWarnings() {
  const run = runs.get(primary);
  const items = [];
  for (const e of run?.data?.evals ?? []) {
    if (e.collapsed !== true) continue;
    const li = document.createElement("li");
    const what = e.modesCaptured !== undefined ? `${e.modesCaptured} modes captured` : `${e.classesCovered ?? "?"}/10 classes covered`;
    li.textContent = `step ${e.step}: mode collapse (${what})`;
    items.push(li);
  }
  for (const r of run?.data?.rollbacks ?? []) {
    const li = document.createElement("li");
    li.className = "rollback";
    li.textContent = `step ${r.from ?? r.step}: rollback ${r.count ?? ""} to step ${r.step}: ${r.reason ?? ""}`;
    items.push(li);
  }
  $("warnings").replaceChildren(...items);
}

// ---- grids ----

const fileUrl = (id, path) => api(`/api/runs/${encodeURIComponent(id)}/files/${path.split("/").map(encodeURIComponent).join("/")}`);
const gridUrl = (id, grid) => fileUrl(id, `samples/${grid.name}`);

/** Loads every grid of the run into the browser's cache, a few at a time, so scrubbing is instant. */
function preload(id) {
  const run = runs.get(id);
  const queue = run.grids.filter((g) => !run.images.has(g.name));
  let active = 0;
  const next = () => {
    while (active < 6 && queue.length) {
      const g = queue.shift();
      const img = new Image();
      run.images.set(g.name, img);
      active++;
      img.onload = img.onerror = () => {
        active--;
        next();
      };
      img.src = gridUrl(id, g);
    }
  };
  next();
}

function renderGridSlider(toEnd) {
  const run = runs.get(primary);
  const slider = $("grid-slider");
  const n = run?.grids?.length ?? 0;
  slider.max = String(Math.max(0, n - 1));
  if (toEnd) slider.value = String(Math.max(0, n - 1));
  slider.disabled = n === 0;
  preload(primary);
  showGrid();
}

function showGrid() {
  const run = runs.get(primary);
  const grid = run?.grids?.[Number($("grid-slider").value)];
  if (!grid) {
    $("grid-img").removeAttribute("src");
    $("grid-label").textContent = "no grids yet";
    $("compare-grids").replaceChildren();
    return;
  }
  $("grid-img").src = gridUrl(primary, grid);
  // Audio runs: the grid shows spectrograms; the clips themselves sit beside it as WAV.
  const audio = $("grid-audio");
  audio.hidden = !run.summary.config?.data?.sampleRate;
  if (audio.hidden) audio.removeAttribute("src");
  else audio.src = fileUrl(primary, `samples/${grid.name.replace(/\.png$/, ".wav")}`);
  $("grid-label").textContent = `${grid.step !== null ? `step ${grid.step}` : grid.name} (${Number($("grid-slider").value) + 1}/${run.grids.length})`;
  $("grid-label").dataset.name = grid.name;
  // The other runs' grids at the same step (their newest at or before it).
  $("compare-grids").replaceChildren(
    ...selected.slice(1).map((id) => {
      const other = runs.get(id);
      const figure = document.createElement("figure");
      const candidates = (other.grids ?? []).filter((g) => g.step === null || grid.step === null || g.step <= grid.step);
      const match = candidates[candidates.length - 1];
      const caption = document.createElement("figcaption");
      caption.textContent = `${other.summary.name}: ${match ? (match.step !== null ? `step ${match.step}` : match.name) : "no grid yet"}`;
      if (match) {
        const img = document.createElement("img");
        img.src = gridUrl(id, match);
        img.alt = `${other.summary.name} grid`;
        figure.append(img);
      }
      figure.append(caption);
      return figure;
    }),
  );
}

// ---- config, card, playground ----

function flatten(value, prefix = "", out = {}) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = JSON.stringify(value);
  return out;
}

function renderConfig() {
  const box = $("config");
  if (selected.length > 1) {
    $("config-title").textContent = "config: where the compared runs differ";
    const flat = selected.map((id) => flatten(runs.get(id).summary.config ?? {}));
    const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].filter((k) => k !== "resumes" && new Set(flat.map((f) => f[k])).size > 1).sort();
    const table = document.createElement("table");
    table.className = "diff";
    const head = table.insertRow();
    for (const text of ["field", ...selected.map((id) => runs.get(id).summary.name)]) {
      const th = document.createElement("th");
      th.textContent = text;
      head.append(th);
    }
    for (const k of keys) {
      const row = table.insertRow();
      row.insertCell().textContent = k;
      for (const f of flat) row.insertCell().textContent = f[k] ?? "–";
    }
    box.replaceChildren(keys.length ? table : document.createTextNode("the configs are the same"));
  } else {
    $("config-title").textContent = "config";
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify(runs.get(primary)?.summary.config ?? null, null, 2);
    box.replaceChildren(pre);
  }
  const card = runs.get(primary)?.summary.card;
  $("card").textContent = card ? JSON.stringify(card, null, 2) : "no generator export yet: it is written when training finishes";
}

let playInFlight = false;
let playPending = false;

async function renderPlayground() {
  const run = runs.get(primary);
  const section = $("playground");
  section.hidden = !run?.summary.hasGenerator;
  if (section.hidden) return;
  const classes = run.summary.numClasses ?? 0;
  const select = $("play-class");
  $("play-class-label").hidden = classes === 0;
  if (select.dataset.run !== primary) {
    select.dataset.run = primary;
    select.replaceChildren(new Option("one row per class", ""), ...Array.from({ length: classes }, (_, c) => new Option(String(c), String(c))));
  }
  if (playInFlight) {
    playPending = true;
    return;
  }
  playInFlight = true;
  const q = new URLSearchParams({ seed: $("play-seed").value || "0", to: $("play-to").value || "1", t: $("play-t").value });
  if (select.value !== "") q.set("class", select.value);
  try {
    const response = await fetch(api(`/api/runs/${encodeURIComponent(primary)}/sample.png?${q}`));
    if (!response.ok) {
      const body = await response.text();
      let message = body;
      try {
        message = JSON.parse(body).error;
      } catch {}
      $("play-error").textContent = message;
    } else {
      const img = $("play-img");
      const old = img.src;
      img.src = URL.createObjectURL(await response.blob());
      img.dataset.seed = q.get("seed");
      if (old.startsWith("blob:")) URL.revokeObjectURL(old);
      $("play-error").textContent = "";
    }
  } finally {
    playInFlight = false;
    if (playPending) {
      playPending = false;
      renderPlayground();
    }
  }
}

// ---- wiring ----

function renderAll(rebuild) {
  renderRunList();
  renderHeader();
  if (rebuild) for (const c of charts.values()) c.rebuild = true;
  renderCharts();
  renderWarnings();
  renderGridSlider(true);
  const run = runs.get(primary);
  if (run?.summary.config?.data) $("reals-img").src = fileUrl(primary, "reals.png");
  renderConfig();
  renderPlayground();
}

$("grid-slider").addEventListener("input", showGrid);
$("smooth-amount").addEventListener("input", () => {
  $("smooth-value").textContent = $("smooth-amount").value;
  scheduleRedraw();
});
$("smooth-kind").addEventListener("change", () => scheduleRedraw(true));
$("x-axis").addEventListener("change", () => scheduleRedraw(true));
for (const id of ["play-seed", "play-to", "play-t", "play-class"]) $(id).addEventListener("input", renderPlayground);
window.addEventListener("resize", () => scheduleRedraw(true));

// Follow the events first, then load: nothing written in between is missed.
connect();
loadRuns().catch((err) => {
    $("connection").textContent = `error: ${err.message}`;
  });
