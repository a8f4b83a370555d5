// Writes what G makes: an image grid, for 2-D data a scatter plot (PNG), for text one sample a
// line (.txt), for audio a grid of spectrograms (PNG) and the clips one after another (WAV).
import { PNG } from "pngjs";
import { type Tensor, cat, full } from "../engine/index.js";
import { encodeGrid } from "../image/png.js";
import type { ModelShape } from "../models/index.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { decodeSequences } from "../data/text.js";
import { wavBytes } from "../data/audio.js";
import { spectrogramImages } from "../data/spectrogram.js";

type SampleShape = Pick<ModelShape, "dataShape" | "numClasses" | "vocabulary" | "sampleRate">;

/** The file extension samples of this shape are written with: txt for text, png otherwise. */
export const sampleExtension = (shape: SampleShape) => (shape.vocabulary ? "txt" : "png");

/** Points (N, 2) as white dots on a 256x256 black plot spanning [-span, span]. */
export function scatterPng(points: Tensor, span = 5, size = 256): Buffer {
  const xy = points.detach().to("cpu").toArray();
  const png = new PNG({ width: size, height: size });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([16, 16, 16, 255], i);
  for (let i = 0; i + 1 < xy.length; i += 2) {
    const px = Math.round(((xy[i] + span) / (2 * span)) * (size - 1));
    const py = Math.round(((span - xy[i + 1]) / (2 * span)) * (size - 1));
    if (px >= 0 && px < size && py >= 0 && py < size) png.data.set([255, 255, 255, 255], (py * size + px) * 4);
  }
  return PNG.sync.write(png);
}

/**
 * What G made as a PNG: a scatter plot of 2-D points, an image grid, or for audio a grid of
 * spectrograms (a row per class for conditional models, else 8 a row).
 */
export function samplesPng(samples: Tensor, shape: Pick<ModelShape, "dataShape" | "numClasses" | "sampleRate">, columns = shape.numClasses ? 10 : 8): Buffer {
  if (shape.dataShape.length === 1) return scatterPng(samples);
  if (shape.sampleRate) return encodeGrid(spectrogramImages(samples.detach()), { columns });
  return encodeGrid(samples, { columns });
}

/** Clips (N, 1, L) as one WAV file, one after another with a fifth of a second of silence between. */
export function samplesWav(samples: Tensor, sampleRate: number): Buffer {
  const [n, , L] = samples.shape;
  const gap = Math.round(sampleRate / 5);
  const values = samples.detach().to("cpu").toArray();
  const out = new Float32Array(n * (L + gap));
  for (let i = 0; i < n; i++) out.set(values.slice(i * L, (i + 1) * L), i * (L + gap));
  return wavBytes(out, sampleRate);
}

/** Samples as text, one a line: for text data. */
export function samplesText(samples: Tensor, vocabulary: string): string {
  return `${decodeSequences(samples, vocabulary).join("\n")}\n`;
}

/** Writes samples to `path`: text lines for text data (sampleExtension), a PNG otherwise; for audio also the clips beside it (.wav). */
export function saveSamples(path: string, samples: Tensor, shape: SampleShape, columns?: number): void {
  writeFileAtomic(path, shape.vocabulary ? samplesText(samples, shape.vocabulary) : samplesPng(samples, shape, columns));
  if (shape.sampleRate) writeFileAtomic(path.replace(/\.png$/, ".wav"), samplesWav(samples, shape.sampleRate));
}

/**
 * A translation grid: rows of up to `columns` inputs, their translations and (when known) their
 * targets, one row each in turn; in colour when either side is (grey repeated as RGB).
 * (n, ...) each -> (rows * columns, C, H, W).
 */
export function translationGrid(inputs: Tensor, outputs: Tensor, targets: Tensor | null, columns = 8): Tensor {
  const n = outputs.shape[0];
  const c = Math.max(inputs.shape[1], outputs.shape[1]);
  const rgb = (x: Tensor) => (x.shape[1] === c ? x : x.expand(-1, c, -1, -1));
  const rows: Tensor[] = [];
  for (let start = 0; start < n; start += columns) {
    const k = Math.min(columns, n - start);
    for (const t of (targets ? [inputs, outputs, targets] : [inputs, outputs]).map(rgb)) {
      const row = t.narrow(0, start, k);
      rows.push(k === columns ? row : cat([row, full([columns - k, ...row.shape.slice(1)], -1, { device: row.device })])); // black padding
    }
  }
  return cat(rows);
}
