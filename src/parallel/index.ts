// parallel: data-parallel training on PyTorch's c10d (gloo), and the launcher that starts its ranks.
export { DataParallel, type DistEnv } from "./data-parallel.js";
export { distEnvFrom, freePort, launchWorkers, defaultTimeoutS, type LaunchOptions } from "./launch.js";
