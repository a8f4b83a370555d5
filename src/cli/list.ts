// gantry list: presets, model families and losses.
import { defineCommand } from "./command.js";
import { presets } from "../train/presets.js";
import { pretrainedNames } from "../train/pretrained.js";
import { generators, discriminators } from "../models/index.js";
import { losses } from "../losses/index.js";

export const list = defineCommand({
  summary: "show the presets, models, losses and pretrained models",
  usage: "gantry list",
  options: {},
  run() {
    const width = Math.max(...Object.keys(presets).map((n) => n.length)) + 2;
    console.log("presets:");
    for (const [name, p] of Object.entries(presets)) console.log(`  ${name.padEnd(width)}${p.description}`);
    console.log("\nlosses:");
    const lossWidth = Math.max(...Object.keys(losses).map((n) => n.length)) + 2;
    for (const [name, l] of Object.entries(losses)) console.log(`  ${name.padEnd(lossWidth)}${l.description}`);
    console.log();
    console.log(`generators:      ${Object.keys(generators).join(", ")}`);
    console.log(`discriminators:  ${Object.keys(discriminators).join(", ")}`);
    const shipped = pretrainedNames();
    console.log(`pretrained:      ${shipped.length ? shipped.join(", ") : "none"} (gantry sample --pretrained NAME, gantry train --init NAME)`);
  },
});
