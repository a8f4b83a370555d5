// gantry data spoken-digits: builds the spoken-digits set (an SC09 stand-in) with espeak-ng.
import { existsSync, readdirSync } from "node:fs";
import { defineCommand, numberFlag } from "./command.js";
import { synthesizeSpokenDigits } from "../data/audio.js";
import { spokenDigitsDir } from "../data/registry.js";
import { ConfigError } from "../errors.js";

export const data = defineCommand({
  summary: "build a dataset on this machine: spoken-digits (one-second WAVs of 0-9 spoken by espeak-ng)",
  usage: "gantry data spoken-digits [--out DIR] [--per-class N] [--seed N]",
  subcommands: ["spoken-digits"],
  options: {
    out: { type: "string", description: "the folder to write (class folders 0 .. 9); default gantry's cache, where the spoken-digits dataset looks" },
    "per-class": { type: "string", description: "clips of each digit; default 300" },
    seed: { type: "string", description: "the seed of the voices, speeds, pitches, gains and noise; default 0" },
  },
  async run(values) {
    const out = values.out ?? spokenDigitsDir();
    if (existsSync(out) && readdirSync(out).length)
      throw new ConfigError([{ path: "--out", message: `${out} is not empty: choose a new folder, or delete it to build the set again` }]);
    const perClass = numberFlag(values, "per-class", { integer: true, min: 1 }) ?? 300;
    const seed = numberFlag(values, "seed", { integer: true, min: 0 }) ?? 0;
    console.log(`synthesizing ${perClass * 10} clips (${perClass} of each digit) with espeak-ng into ${out}`);
    const { files, seconds } = await synthesizeSpokenDigits(out, { perClass, seed, log: (m) => console.log(m) });
    console.log(`wrote ${files} one-second 16 kHz WAV files in ${seconds.toFixed(0)} s; train on them: gantry train --preset digits-wavegan`);
  },
});
