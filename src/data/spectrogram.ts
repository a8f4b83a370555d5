// Short-time Fourier magnitudes of clips, in the engine: one strided 1-D convolution with a
// Hann-windowed cosine and sine per frequency bin, so it runs batched on any device and gradients
// flow through it. The spoken-digit classifier reads log magnitudes; sample pictures are spectrograms.
import { type Tensor, conv1d, tensor } from "../engine/index.js";

const bases = new Map<number, Float32Array>();

/** (2F, 1, frame) real DFT rows under a Hann window: cosines for bins 0..F-1, then sines; F = frame / 2 + 1. */
function dftBasis(frame: number): Float32Array {
  const known = bases.get(frame);
  if (known) return known;
  const F = frame / 2 + 1;
  const out = new Float32Array(2 * F * frame);
  for (let f = 0; f < F; f++) {
    for (let t = 0; t < frame; t++) {
      const window = 0.5 - 0.5 * Math.cos((2 * Math.PI * t) / frame);
      const angle = (2 * Math.PI * f * t) / frame;
      out[f * frame + t] = window * Math.cos(angle);
      out[(F + f) * frame + t] = -window * Math.sin(angle);
    }
  }
  bases.set(frame, out);
  return out;
}

/** Clips (B, 1, L) -> STFT magnitudes (B, frame / 2 + 1, frames), frames = (L - frame) / hop + 1. */
export function stftMagnitude(clips: Tensor, frame = 256, hop = frame / 2): Tensor {
  const F = frame / 2 + 1;
  const basis = tensor(dftBasis(frame), { shape: [2 * F, 1, frame] }).to({ device: clips.device, dtype: clips.dtype });
  const spectrum = conv1d(clips, basis, null, { stride: hop }); // (B, 2F, T)
  const re = spectrum.narrow(1, 0, F);
  const im = spectrum.narrow(1, F, F);
  return re.mul(re).add(im.mul(im)).add(1e-10).sqrt();
}

/**
 * Spectrogram pictures of clips (B, 1, L): (B, 1, F, T) in [-1, 1], low frequencies at the
 * bottom, the top `rangeDb` decibels under the loudest bin of the batch shown, quieter ones black.
 */
export function spectrogramImages(clips: Tensor, frame = 256, rangeDb = 80): Tensor {
  const db = stftMagnitude(clips, frame)
    .add(1e-5)
    .log()
    .mul(20 / Math.LN10);
  const top = db.max().item();
  const scaled = db
    .sub(top - rangeDb)
    .div(rangeDb / 2)
    .sub(1)
    .clamp(-1, 1);
  const F = scaled.shape[1];
  const reversed = tensor(BigInt64Array.from({ length: F }, (_, i) => BigInt(F - 1 - i))).to({ device: clips.device });
  return scaled.indexSelect(1, reversed).unsqueeze(1);
}
