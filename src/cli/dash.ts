// gantry dash: serve the dashboard for run directories; gantry animate: a run's grids as a GIF.
import { existsSync, statSync } from "node:fs";
import { defineCommand, numberFlag } from "./command.js";
import { ConfigError } from "../errors.js";
import { animateRun, startDash } from "../dash/index.js";
import { writeFileAtomic } from "../util/atomic-write.js";

export const dashOptions = {
  port: { type: "string" as const, description: "the port; default 8686, or the next free one (said when it differs)" },
  host: { type: "string" as const, description: "the address to listen on; default 127.0.0.1. Any other gives a token every request must carry" },
};

export const dash = defineCommand({
  summary: "serve a live dashboard of run directories in the browser (stops with Ctrl-C)",
  usage: "gantry dash [RUN_DIR | FOLDER_OF_RUNS ...] [--port N] [--host ADDRESS]   (default: runs/)",
  positionals: true,
  options: dashOptions,
  async run(values, positionals = []) {
    const paths = positionals.length ? positionals : ["runs"];
    for (const p of paths) {
      if (!existsSync(p) || !statSync(p).isDirectory())
        throw new ConfigError([{ path: p, message: "is not a directory: give run directories or a folder of runs" }]);
    }
    const port = numberFlag(values, "port", { integer: true, min: 0 });
    if (port !== undefined && port > 65535) throw new ConfigError([{ path: "--port", message: `must be at most 65535, got ${port}` }]);
    const server = await startDash({ paths, port, host: values.host });
    console.log(`gantry dash: serving ${paths.join(", ")} at ${server.url}`);
    // The parent (gantry train --dash) learns the URL through IPC.
    process.send?.({ url: server.url });
    await new Promise<void>((done) => {
      const stop = () => done();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      process.once("disconnect", stop);
    });
    await server.close();
    return 0;
  },
});

export const animate = defineCommand({
  summary: "write a run's sample grids as an animated GIF of training progress",
  usage: "gantry animate --run RUN_DIR --out progress.gif [--fps N] [--every N]",
  options: {
    run: { type: "string" as const, description: "the run directory" },
    out: { type: "string" as const, description: "the GIF to write" },
    fps: { type: "string" as const, description: "frames per second; default 8" },
    every: { type: "string" as const, description: "keep every N-th grid (the last always); default 1, all of them" },
  },
  run(values) {
    if (!values.run) throw new ConfigError([{ path: "--run", message: "is required: the run directory" }]);
    if (!values.out) throw new ConfigError([{ path: "--out", message: "is required: the GIF to write" }]);
    if (!existsSync(values.run)) throw new ConfigError([{ path: "--run", message: `${values.run} does not exist` }]);
    const fps = numberFlag(values, "fps", { min: 0.1 });
    const every = numberFlag(values, "every", { integer: true, min: 1 });
    const { gif, frames } = animateRun(values.run, { fps, every });
    writeFileAtomic(values.out, gif);
    console.log(`wrote ${frames} frames to ${values.out}`);
  },
});
