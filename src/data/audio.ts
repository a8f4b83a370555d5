// Audio for WaveGAN: WAV files read (PCM 8/16/24/32-bit or 32-bit float, any rate, mixed to mono)
// and resampled to one rate and length, classes from subfolders; WAV written as 16-bit PCM; and
// the spoken-digits set, a small stand-in for SC09 that espeak-ng synthesizes on the user's machine
// with many voices, speeds and pitches, plus gain and noise jitter. A clip is (1, samples) in
// [-1, 1]. A fixed tenth of the clips (by a hash of the file's path inside the folder, so the same
// on every machine) is the test split.
import { execFile } from "node:child_process";
import { readdirSync, statSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import { DataError, EnvironmentError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { makeDir } from "../util/make-dir.js";
import { readBytes } from "../util/read-file.js";
import { mulberry32 } from "../util/prng.js";
import { isHeldOut } from "./text.js";
import type { ImageDataset, Split } from "./datasets.js";

export interface Wav {
  sampleRate: number;
  /** Mono samples in [-1, 1]. */
  samples: Float32Array;
}

/** Reads a WAV file: PCM 8/16/24/32-bit integer or 32/64-bit float, mixed down to mono. */
export function readWav(path: string): Wav {
  return parseWav(readBytes(path, DataError), path);
}

export function parseWav(bytes: Buffer, path: string): Wav {
  const bad = (why: string) => new DataError(`${path}: ${why}`);
  if (bytes.length < 12 || bytes.toString("ascii", 0, 4) !== "RIFF" || bytes.toString("ascii", 8, 12) !== "WAVE")
    throw bad("not a WAV file (expected a RIFF/WAVE header)");
  let format: { tag: number; channels: number; rate: number; bits: number } | null = null;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = bytes.toString("ascii", at, at + 4);
    // Streamed WAVs (espeak-ng --stdout) give a size past the end: read what is there.
    const size = Math.min(bytes.readUInt32LE(at + 4), bytes.length - at - 8);
    const body = at + 8;
    if (id === "fmt ") {
      let tag = bytes.readUInt16LE(body);
      if (tag === 0xfffe && size >= 26) tag = bytes.readUInt16LE(body + 24); // WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
      format = { tag, channels: bytes.readUInt16LE(body + 2), rate: bytes.readUInt32LE(body + 4), bits: bytes.readUInt16LE(body + 14) };
    } else if (id === "data") {
      if (!format) throw bad("the data chunk comes before the fmt chunk");
      return { sampleRate: format.rate, samples: decode(bytes.subarray(body, body + size), format, bad) };
    }
    at = body + size + (size % 2);
  }
  throw bad(format ? "no data chunk" : "no fmt chunk");
}

function decode(data: Buffer, f: { tag: number; channels: number; bits: number }, bad: (why: string) => DataError): Float32Array {
  const supported = (f.tag === 1 && [8, 16, 24, 32].includes(f.bits)) || (f.tag === 3 && [32, 64].includes(f.bits));
  if (!supported) {
    const name = { 1: "PCM", 3: "IEEE float", 6: "A-law", 7: "mu-law", 2: "ADPCM", 17: "IMA ADPCM", 85: "MP3" }[f.tag] ?? `format tag ${f.tag}`;
    throw bad(`unsupported encoding ${name}, ${f.bits}-bit: expected PCM 8, 16, 24 or 32-bit, or 32 or 64-bit float (convert with: sox IN -b 16 OUT.wav)`);
  }
  if (f.channels < 1) throw bad("the fmt chunk says 0 channels");
  const width = f.bits / 8;
  const frames = Math.floor(data.length / (width * f.channels));
  const read = (o: number): number => {
    if (f.tag === 3) return f.bits === 32 ? data.readFloatLE(o) : data.readDoubleLE(o);
    if (f.bits === 8) return (data[o] - 128) / 128;
    if (f.bits === 16) return data.readInt16LE(o) / 32768;
    if (f.bits === 24) return data.readIntLE(o, 3) / 8388608;
    return data.readInt32LE(o) / 2147483648;
  };
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let s = 0;
    for (let c = 0; c < f.channels; c++) s += read((i * f.channels + c) * width);
    out[i] = s / f.channels;
  }
  return out;
}

/** A 16-bit PCM mono WAV file's bytes. */
export function wavBytes(samples: Float32Array, sampleRate: number): Buffer {
  const out = Buffer.alloc(44 + samples.length * 2);
  out.write("RIFF", 0, "ascii");
  out.writeUInt32LE(36 + samples.length * 2, 4);
  out.write("WAVEfmt ", 8, "ascii");
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write("data", 36, "ascii");
  out.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i])) * 32767), 44 + 2 * i);
  return out;
}

export function writeWav(path: string, samples: Float32Array, sampleRate: number): void {
  writeFileAtomic(path, wavBytes(samples, sampleRate));
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/**
 * Band-limited resampling: each output sample is the input under a Hann-windowed sinc whose
 * cutoff is the lower of the two Nyquist frequencies (so downsampling does not alias). The filter
 * taps for each of the to / gcd(from, to) output phases are computed once.
 */
export function resample(x: Float32Array, from: number, to: number, halfWidth = 16): Float32Array {
  if (from === to) return x;
  const cutoff = Math.min(1, to / from); // in units of the input's Nyquist
  const reach = Math.ceil(halfWidth / cutoff);
  const taps = 2 * reach;
  const g = gcd(from, to);
  const phases = to / g;
  const table = new Float32Array(phases * taps);
  for (let p = 0; p < phases; p++) {
    const frac = (p * g) / to; // the output's offset past its centre input sample
    for (let j = 0; j < taps; j++) {
      const d = frac + reach - 1 - j; // distance from input sample centre - reach + 1 + j
      const arg = Math.PI * cutoff * d;
      const sinc = d === 0 ? 1 : Math.sin(arg) / arg;
      table[p * taps + j] = cutoff * sinc * (0.5 + 0.5 * Math.cos((Math.PI * d) / (reach + 1)));
    }
  }
  const out = new Float32Array(Math.floor((x.length * to) / from));
  for (let i = 0; i < out.length; i++) {
    const num = i * from;
    const centre = Math.floor(num / to);
    const row = ((num % to) / g) * taps;
    const first = centre - reach + 1;
    let s = 0;
    for (let j = Math.max(0, -first); j < taps && first + j < x.length; j++) s += x[first + j] * table[row + j];
    out[i] = s;
  }
  return out;
}

/** The clip cut or zero-padded to `length` samples, centred. */
export function fitLength(x: Float32Array, length: number): Float32Array {
  if (x.length === length) return x;
  const out = new Float32Array(length);
  if (x.length > length) out.set(x.subarray((x.length - length) >> 1, ((x.length - length) >> 1) + length));
  else out.set(x, (length - x.length) >> 1);
  return out;
}

function wavFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...wavFiles(path));
    else if (/\.wave?$/i.test(name)) out.push(path);
  }
  return out;
}

/** A folder's WAV files (paths inside it, sorted) and their classes: the first-level subfolders, if every file sits in one. */
export function listClips(dir: string): { files: string[]; classNames: string[] } {
  if (!existsSync(dir)) throw new DataError(`${dir}: no such folder (expected a folder of WAV files, classes from subfolders)`);
  if (!statSync(dir).isDirectory()) throw new DataError(`${dir}: is a file; expected a folder of WAV files`);
  const files = wavFiles(dir).map((p) => relative(dir, p));
  if (!files.length) throw new DataError(`${dir}: no .wav files there (expected WAV files, classes from subfolders)`);
  const labelled = files.every((r) => /[\\/]/.test(r));
  return { files, classNames: labelled ? [...new Set(files.map(classOf))].sort() : [] };
}
const classOf = (relativePath: string) => relativePath.split(/[\\/]/)[0];

/**
 * A folder of WAV files as a dataset of (1, length) clips at `sampleRate`, each resampled and cut
 * or padded (centred); labels from the subfolders; the split by a hash of each file's path inside
 * the folder.
 */
export function loadAudioFolder(
  dir: string,
  options: { sampleRate: number; length: number; split?: Split | "all"; name?: string },
): ImageDataset<Float32Array> {
  const { sampleRate, length, split = "train", name = "WAV files" } = options;
  const { files, classNames } = listClips(dir);
  const chosen = files.filter((r) => split === "all" || isHeldOut(r) === (split === "test"));
  if (!chosen.length) throw new DataError(`${dir}: no ${split} clips among its ${files.length} WAV files (a tenth, by name, is the test split)`);
  const clips = new Float32Array(chosen.length * length);
  const labels = classNames.length ? new Uint8Array(chosen.length) : null;
  chosen.forEach((r, i) => {
    const wav = readWav(join(dir, r));
    clips.set(fitLength(resample(wav.samples, wav.sampleRate, sampleRate), length), i * length);
    if (labels) labels[i] = classNames.indexOf(classOf(r));
  });
  return { name, images: clips, imageShape: [1, length], labels, numClasses: classNames.length, length: chosen.length, source: dir };
}

// ---- the spoken-digits set ----

export const digitWords = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const accents = ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc"];
const variants = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3", "croak"];

function espeak(args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    execFile("espeak-ng", args, { encoding: "buffer", maxBuffer: 1 << 24 }, (err, stdout) => {
      if ((err as NodeJS.ErrnoException | null)?.code === "ENOENT")
        reject(new EnvironmentError("espeak-ng is not installed: it synthesizes the spoken digits (sudo apt-get install espeak-ng)"));
      else if (err) reject(new EnvironmentError(`espeak-ng ${args.join(" ")} failed: ${err.message.split("\n")[0]}`));
      else resolve(stdout);
    }),
  );
}

/** The clip without its leading and trailing silence (below 1% of its peak). */
function trimSilence(x: Float32Array): Float32Array {
  let peak = 0;
  for (const v of x) peak = Math.max(peak, Math.abs(v));
  const floor = peak * 0.01;
  let a = 0;
  let b = x.length;
  while (a < b && Math.abs(x[a]) <= floor) a++;
  while (b > a && Math.abs(x[b - 1]) <= floor) b--;
  return x.subarray(a, b);
}

/**
 * Synthesizes `perClass` clips of each digit word into out/0 .. out/9 as 16 kHz 16-bit WAVs of one
 * second: a random accent and voice variant, speed 120-220 words a minute, pitch 20-80, the word
 * placed near the middle (jitter 0.1 s), peak gain 0.3-0.9 and white noise 20-40 dB below it.
 * The same seed gives the same files.
 */
export async function synthesizeSpokenDigits(
  out: string,
  options: { perClass?: number; seed?: number; sampleRate?: number; log?: (m: string) => void } = {},
): Promise<{ files: number; seconds: number }> {
  const { perClass = 300, seed = 0, sampleRate = 16000, log = () => {} } = options;
  await espeak(["--version"]);
  const random = mulberry32(seed);
  const jobs = digitWords.flatMap((word, digit) =>
    Array.from({ length: perClass }, (_, i) => ({
      word,
      path: join(out, String(digit), `${word}-${String(i).padStart(4, "0")}.wav`),
      voice: `${accents[Math.floor(random() * accents.length)]}+${variants[Math.floor(random() * variants.length)]}`,
      speed: 120 + Math.floor(random() * 101),
      pitch: 20 + Math.floor(random() * 61),
      offset: (random() - 0.5) * 0.2,
      gain: 0.3 + 0.6 * random(),
      snrDb: 20 + 20 * random(),
      noiseSeed: Math.floor(random() * 2 ** 31),
    })),
  );
  for (let d = 0; d < 10; d++) makeDir(join(out, String(d)));
  let done = 0;
  const work = async (job: (typeof jobs)[number]) => {
    const raw = parseWav(await espeak(["-v", job.voice, "-s", String(job.speed), "-p", String(job.pitch), "--stdout", job.word]), `espeak-ng "${job.word}"`);
    const speech = trimSilence(resample(raw.samples, raw.sampleRate, sampleRate));
    let peak = 1e-9;
    for (const v of speech) peak = Math.max(peak, Math.abs(v));
    const clip = new Float32Array(sampleRate);
    const start = Math.max(0, Math.round((sampleRate - speech.length) / 2 + job.offset * sampleRate));
    const n = Math.min(speech.length, sampleRate - start);
    for (let i = 0; i < n; i++) clip[start + i] = (speech[i] / peak) * job.gain;
    const noise = mulberry32(job.noiseSeed);
    const sigma = job.gain * 10 ** (-job.snrDb / 20);
    for (let i = 0; i < clip.length; i++) clip[i] += sigma * Math.sqrt(-2 * Math.log(1 - noise())) * Math.cos(2 * Math.PI * noise());
    writeWav(job.path, clip, sampleRate);
    if (++done % 500 === 0) log(`${done}/${jobs.length} clips`);
  };
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < jobs.length) await work(jobs[next++]);
    }),
  );
  return { files: jobs.length, seconds: (Date.now() - started) / 1000 };
}
