// The dashboard: a local web server over run directories (server.ts), what it knows of each run
// (runs.ts), the generator playground (playground.ts) and progress animations (animate.ts).
export { startDash, DEFAULT_PORT, type DashOptions, type DashServer } from "./server.js";
export { RunSet, WatchedRun, type StatsRecord, type Grid } from "./runs.js";
export { animateRun, type AnimateOptions } from "./animate.js";
export { Playground, slerpRows } from "./playground.js";
