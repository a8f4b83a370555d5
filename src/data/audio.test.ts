// Audio: WAV files read in every common encoding and written back, band-limited resampling, WAV
// folders with classes and a fixed split, the spoken-digits synthesizer (espeak-ng), WaveGAN's
// shapes and phase shuffle, spectrograms, and a spoken-digits run through the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "../engine/index.js";
import { fitLength, loadAudioFolder, parseWav, readWav, resample, synthesizeSpokenDigits, wavBytes, writeWav } from "./audio.js";
import { stftMagnitude } from "./spectrogram.js";
import { WaveganDiscriminator, WaveganGenerator, phaseShuffle } from "../models/audio.js";
import { DataError, ConfigError, EnvironmentError } from "../errors.js";
import { gantry, gantryOk } from "../../test/helpers.js";

const tmp = () => mkdtempSync(join(tmpdir(), "gantry-audio-"));
const sine = (hz: number, rate: number, n: number) => Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / rate));

/** A WAV file's bytes with any format tag, bit depth and channel count; `extensible` wraps the tag in WAVE_FORMAT_EXTENSIBLE. */
function wavOf(frames: number[][], o: { tag: number; bits: number; rate?: number; extensible?: boolean }): Buffer {
  const channels = frames[0].length;
  const width = o.bits / 8;
  const data = Buffer.alloc(frames.length * channels * width);
  frames.flat().forEach((v, i) => {
    const at = i * width;
    if (o.tag === 3) o.bits === 32 ? data.writeFloatLE(v, at) : data.writeDoubleLE(v, at);
    else if (o.bits === 8) data[at] = Math.round(v * 127 + 128);
    else if (o.bits === 16) data.writeInt16LE(Math.round(v * 32767), at);
    else if (o.bits === 24) data.writeIntLE(Math.round(v * 8388607), at, 3);
    else data.writeInt32LE(Math.round(v * 2147483647), at);
  });
  const fmt = Buffer.alloc(o.extensible ? 40 : 16);
  fmt.writeUInt16LE(o.extensible ? 0xfffe : o.tag, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(o.rate ?? 8000, 4);
  fmt.writeUInt32LE((o.rate ?? 8000) * channels * width, 8);
  fmt.writeUInt16LE(channels * width, 12);
  fmt.writeUInt16LE(o.bits, 14);
  if (o.extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(o.tag, 24);
  }
  const chunk = (id: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.write(id, 0, "ascii");
    head.writeUInt32LE(body.length, 4);
    return Buffer.concat([head, body, Buffer.alloc(body.length % 2)]);
  };
  const list = chunk("LIST", Buffer.from("INFOjunk")); // a chunk readers must skip
  const body = Buffer.concat([Buffer.from("WAVE"), chunk("fmt ", fmt), list, chunk("data", data)]);
  const riff = Buffer.alloc(8);
  riff.write("RIFF", 0, "ascii");
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

test("WAV: 8, 16, 24 and 32-bit PCM and 32/64-bit float, plain or extensible, mono or stereo, read to mono floats", () => {
  const values = [0, 0.5, -0.5, 0.25, -0.999];
  for (const [tag, bits] of [
    [1, 8],
    [1, 16],
    [1, 24],
    [1, 32],
    [3, 32],
    [3, 64],
  ]) {
    for (const extensible of [false, true]) {
      const wav = parseWav(
        wavOf(
          values.map((v) => [v]),
          { tag, bits, extensible, rate: 11025 },
        ),
        "x.wav",
      );
      assert.equal(wav.sampleRate, 11025);
      const tolerance = bits === 8 ? 1 / 100 : 1e-4;
      for (const [i, v] of values.entries()) assert.ok(Math.abs(wav.samples[i] - v) < tolerance, `${bits}-bit tag ${tag}: ${wav.samples[i]} vs ${v}`);
    }
  }
  const stereo = parseWav(
    wavOf(
      [
        [0.5, -0.5],
        [0.2, 0.4],
      ],
      { tag: 1, bits: 16 },
    ),
    "s.wav",
  );
  assert.ok(Math.abs(stereo.samples[0]) < 1e-4 && Math.abs(stereo.samples[1] - 0.3) < 1e-4, "channels averaged");
  // Written as 16-bit PCM and read back.
  const dir = tmp();
  const x = sine(440, 16000, 1600);
  writeWav(join(dir, "a.wav"), x, 16000);
  const back = readWav(join(dir, "a.wav"));
  assert.equal(back.sampleRate, 16000);
  assert.ok(back.samples.every((v, i) => Math.abs(v - x[i]) < 1 / 32000));
});

test("WAV: an unsupported encoding, a non-WAV file or a truncated header is a DataError naming the file and what was expected", () => {
  const mulaw = wavOf([[0.1], [0.2]], { tag: 7, bits: 8 });
  assert.throws(
    () => parseWav(mulaw, "phone.wav"),
    (e) => e instanceof DataError && /phone\.wav: unsupported encoding mu-law, 8-bit: expected PCM 8, 16, 24 or 32-bit, or 32 or 64-bit float/.test(e.message),
  );
  assert.throws(
    () => parseWav(Buffer.from("ID3\u0004 not a wav at all"), "song.mp3.wav"),
    (e) => e instanceof DataError && /song\.mp3\.wav: not a WAV file \(expected a RIFF\/WAVE header\)/.test(e.message),
  );
  const noData = wavOf([[0.1]], { tag: 1, bits: 16 }).subarray(0, 36);
  assert.throws(
    () => parseWav(noData, "cut.wav"),
    (e) => e instanceof DataError && /cut\.wav: no data chunk/.test(e.message),
  );
  // A streamed WAV (espeak-ng --stdout) claims more data than it has: what is there is read.
  const streamed = wavBytes(sine(100, 8000, 80), 8000);
  streamed.writeUInt32LE(0x7ffff000, 40);
  assert.equal(parseWav(streamed, "stream.wav").samples.length, 80);
});

test("resampling keeps what both rates can hold and removes what the lower one cannot (no aliasing)", () => {
  const from = 22050;
  const x = sine(440, from, from).map((v, i) => v + 0.5 * Math.sin((2 * Math.PI * 9000 * i) / from)); // 9 kHz: above 16 kHz's Nyquist
  const y = resample(x, from, 16000);
  assert.equal(y.length, 16000);
  const want = sine(440, 16000, 16000);
  let err = 0;
  for (let i = 1000; i < 15000; i++) err += (y[i] - want[i]) ** 2;
  assert.ok(Math.sqrt(err / 14000) < 0.01, `440 Hz kept and 9 kHz removed: rms error ${Math.sqrt(err / 14000)}`);
  const up = resample(sine(300, 8000, 800), 8000, 16000);
  assert.equal(up.length, 1600);
  const wantUp = sine(300, 16000, 1600);
  for (let i = 200; i < 1400; i++) assert.ok(Math.abs(up[i] - wantUp[i]) < 0.01);
  assert.equal(resample(x, 16000, 16000), x, "the same rate: unchanged");
  assert.deepEqual([...fitLength(Float32Array.of(1, 2, 3, 4, 5), 3)], [2, 3, 4], "cut, centred");
  assert.deepEqual([...fitLength(Float32Array.of(1, 2), 4)], [0, 1, 2, 0], "padded, centred");
});

test("a WAV folder: classes from subfolders, resampled and fitted, a fixed test split; missing or empty folders are DataErrors", () => {
  const dir = tmp();
  for (const [c, hz] of [
    ["bird", 1000],
    ["cat", 300],
  ] as const) {
    mkdirSync(join(dir, c));
    for (let i = 0; i < 20; i++) writeWav(join(dir, c, `${i}.wav`), sine(hz, 22050, 22050 + 100 * i), 22050);
  }
  const train = loadAudioFolder(dir, { sampleRate: 8000, length: 4096 });
  const test_ = loadAudioFolder(dir, { sampleRate: 8000, length: 4096, split: "test" });
  assert.equal(train.length + test_.length, 40);
  assert.ok(test_.length >= 1 && test_.length <= 10, `a tenth or so held out (${test_.length})`);
  assert.deepEqual(train.imageShape, [1, 4096]);
  assert.equal(train.numClasses, 2);
  assert.equal(train.images.length, train.length * 4096);
  assert.ok(train.images instanceof Float32Array);
  assert.equal(new Set(train.labels).size, 2);
  assert.throws(
    () => loadAudioFolder(join(dir, "nope"), { sampleRate: 8000, length: 64 }),
    (e) => e instanceof DataError && /nope: no such folder/.test(e.message),
  );
  const empty = tmp();
  writeFileSync(join(empty, "notes.txt"), "x");
  assert.throws(
    () => loadAudioFolder(empty, { sampleRate: 8000, length: 64 }),
    (e) => e instanceof DataError && /no \.wav files there/.test(e.message),
  );
});

test("spectrograms: a 1 kHz tone at 8 kHz peaks in bin 32 of a 256-sample frame", () => {
  E.tidy(() => {
    const x = E.tensor(sine(1000, 8000, 2048), { shape: [1, 1, 2048] });
    const m = stftMagnitude(x, 256);
    assert.deepEqual(m.shape, [1, 129, 15]);
    const peaks = m.argmax(1).toArray();
    assert.ok(
      peaks.every((p) => p === 32),
      `peaks at ${peaks}`,
    );
  });
});

test("WaveGAN: G makes (B, 1, L) clips for L = 16 x 4^layers and multiples; D gives a logit; lengths that do not divide are ConfigErrors", () => {
  E.tidy(() => {
    for (const [length, layers] of [
      [16384, 5],
      [8192, 5],
      [4096, 4],
    ]) {
      const shape = { dataShape: [1, length], latentDim: 8, numClasses: 3 };
      const G = new WaveganGenerator(shape, { dim: 2, layers });
      const D = new WaveganDiscriminator(shape, { dim: 2, layers });
      const labels = E.tensor([0, 2], { dtype: "int64" });
      const x = G.forward(E.randn([2, 8]), labels);
      assert.deepEqual(x.shape, [2, 1, length]);
      assert.ok(x.abs().max().item() <= 1, "tanh");
      assert.deepEqual(D.forward(x, labels).shape, [2, 1]);
    }
    assert.throws(
      () => new WaveganGenerator({ dataShape: [1, 1000], latentDim: 8, numClasses: 0 }),
      (e) => e instanceof ConfigError && /data\.length.*1000 samples do not divide by 4\^5/.test(e.message),
    );
    assert.throws(
      () => new WaveganDiscriminator({ dataShape: [1, 28, 28], latentDim: 8, numClasses: 0 }),
      (e) => e instanceof ConfigError && /wavegan is for audio/.test(e.message),
    );
  });
});

test("WaveGAN's conditional D reads the label by projection; phase shuffle runs only in training mode", () => {
  E.tidy(() => {
    E.manualSeed(0);
    const D = new WaveganDiscriminator({ dataShape: [1, 1024], latentDim: 8, numClasses: 4 }, { dim: 2, layers: 5 });
    D.eval();
    const x = E.randn([1, 1, 1024]).tanh();
    const a = D.forward(x, E.tensor([0], { dtype: "int64" })).item();
    const b = D.forward(x, E.tensor([3], { dtype: "int64" })).item();
    assert.notEqual(a, b);
    assert.equal(D.forward(x, E.tensor([0], { dtype: "int64" })).item(), a, "eval mode: no phase shuffle, the same logit");
    D.train();
    const shuffled = Array.from({ length: 6 }, () => D.forward(x, E.tensor([0], { dtype: "int64" })).item());
    assert.ok(new Set(shuffled).size > 1, "training mode: phase shuffle moves D's features");
  });
});

test("phase shuffle shifts each sample by -n..n with reflected edges; n = 0 and eval mode leave D's input alone", () => {
  E.tidy(() => {
    E.manualSeed(1);
    const row = E.arange(0, 16).to({ dtype: "float32" });
    const x = row.view(1, 1, 16).expand(64, 2, 16).contiguous();
    const y = phaseShuffle(x, 2).toArray();
    const seen = new Set<number>();
    for (let b = 0; b < 64; b++) {
      const first = y[b * 32];
      const shift = y[b * 32 + 8] - 8; // the middle is never at an edge: its value says the shift
      assert.ok(Math.abs(shift) <= 2);
      seen.add(shift);
      for (let t = 2; t < 14; t++) assert.equal(y[b * 32 + t], t + shift, "a whole shift");
      assert.equal(y[b * 32 + 16 + 8], 8 + shift, "both channels shifted alike");
      assert.equal(first, Math.abs(shift), "the edge reflected (x[-1] is x[1]), not wrapped or zero");
    }
    assert.equal(seen.size, 5, "all of -2..2 drawn");
    assert.deepEqual(phaseShuffle(x, 0).toArray(), x.toArray());
  });
});

test("espeak-ng missing: a clear EnvironmentError naming the apt package; present: a reproducible one-second 16 kHz set", async () => {
  const path = process.env.PATH;
  process.env.PATH = "/nonexistent";
  try {
    await assert.rejects(synthesizeSpokenDigits(tmp(), { perClass: 1 }), (e) => e instanceof EnvironmentError && /apt-get install espeak-ng/.test(e.message));
  } finally {
    process.env.PATH = path;
  }
  const [a, b] = [tmp(), tmp()];
  const made = await synthesizeSpokenDigits(a, { perClass: 2, seed: 3 });
  await synthesizeSpokenDigits(b, { perClass: 2, seed: 3 });
  assert.equal(made.files, 20);
  assert.deepEqual(readdirSync(a).sort(), ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  for (const f of ["7/seven-0000.wav", "0/zero-0001.wav"]) {
    const wav = readWav(join(a, f));
    assert.equal(wav.sampleRate, 16000);
    assert.equal(wav.samples.length, 16000);
    assert.ok(Math.max(...wav.samples.map(Math.abs)) > 0.2, "speech, not silence");
    assert.deepEqual(readFileSync(join(a, f)), readFileSync(join(b, f)), "the same seed, the same file");
  }
});

test("spoken digits through the CLI: data, train, resume, sample WAV, eval with the shipped classifier; bad inputs say what to do", () => {
  const dir = tmp();
  const data = join(dir, "digits");
  gantryOk("data", "spoken-digits", "--out", data, "--per-class", "6");
  const again = gantry("data", "spoken-digits", "--out", data);
  assert.equal(again.code, 2);
  assert.match(again.err, /--out: .*digits is not empty/);
  const run = join(dir, "run");
  const small = ["--set", "model.generator.options.dim=2", "--set", "model.discriminator.options.dim=2", "--batch-size", "8"];
  gantryOk("train", "--preset", "digits-wavegan", "--data-dir", data, "--steps", "4", ...small, "--set", "log.sampleEvery=2", "--out", run);
  for (const f of ["reals.png", "reals.wav", "samples/step-00000002.png", "samples/step-00000002.wav", "generator.safetensors"])
    assert.ok(existsSync(join(run, f)), f);
  assert.equal(readWav(join(run, "reals.wav")).sampleRate, 8000);
  gantryOk("train", "--resume", run, "--steps", "6");
  assert.match(readFileSync(join(run, "status.json"), "utf8"), /"step":6/);
  const clips = join(dir, "clips");
  gantryOk("sample", "--run", run, "--count", "3", "--out", clips);
  assert.deepEqual(readdirSync(clips).length, 3);
  assert.match(readdirSync(clips)[0], /^sample-0000-class-\d\.wav$/);
  assert.equal(readWav(join(clips, readdirSync(clips)[0])).samples.length, 8192);
  gantryOk("sample", "--run", run, "--count", "2", "--out", join(dir, "two.wav"));
  assert.equal(readWav(join(dir, "two.wav")).samples.length, 2 * 8192 + 2 * 1600);
  const idx = gantry("sample", "--run", run, "--format", "idx", "--out", join(dir, "x.idx"));
  assert.match(idx.err, /this generator makes audio: use --format wav/);
  const report = JSON.parse(gantryOk("eval", "--run", run, "--count", "20", "--json"));
  assert.equal(report.count, 20);
  assert.ok(report.labelAccuracy >= 0 && report.labelAccuracy <= 1);
  assert.ok(report.floor.classesCovered >= 1 && Number.isFinite(report.fid));
  const missing = gantry("train", "--preset", "digits-wavegan", "--data-dir", join(dir, "none"), "--steps", "1", "--out", join(dir, "r2"));
  assert.equal(missing.code, 2);
  assert.match(missing.err, /no spoken digits at .*none: build them first with gantry data spoken-digits --out/);
  assert.ok(!existsSync(join(dir, "r2", "checkpoints")), "nothing half-made");
});
