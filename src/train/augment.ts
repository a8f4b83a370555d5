// What D sees can be perturbed to stabilize training: annealed instance noise (Sønderby et al.
// 2017) and DiffAugment (Zhao et al. 2020: translation and cutout, differentiable, applied to
// real and fake alike). All randomness is libtorch's, so resumed runs replay it.
import { type Tensor, drawBatch, pad, randint, randn, stack, tensor } from "../engine/index.js";

/** x plus N(0, std^2) noise. */
export function instanceNoise(x: Tensor, std: number): Tensor {
  return std > 0 ? x.add(drawBatch(x.shape, (s) => randn(s, { device: x.device })).mul(std)) : x;
}

/** Shifts each image by up to 1/8 of its size, filling with zeros (the background at -1 is not assumed). */
export function translate(x: Tensor, ratio = 0.125): Tensor {
  const [b, , h, w] = x.shape;
  const p = Math.max(1, Math.round(h * ratio));
  const padded = pad(x, [p, p, p, p]);
  const dy = drawBatch([b], (s) => randint(0, 2 * p + 1, s)).toArray();
  const dx = drawBatch([b], (s) => randint(0, 2 * p + 1, s)).toArray();
  return stack(Array.from({ length: b }, (_, i) => padded.narrow(0, i, 1).narrow(2, dy[i], h).narrow(3, dx[i], w).squeeze(0)));
}

/** Zeroes one square of half the image's size at a random place in each image. */
export function cutout(x: Tensor, ratio = 0.5): Tensor {
  const [b, , h, w] = x.shape;
  const [ch, cw] = [Math.round(h * ratio), Math.round(w * ratio)];
  const cy = drawBatch([b], (s) => randint(0, h + (1 - (ch % 2)), s)).toArray();
  const cx = drawBatch([b], (s) => randint(0, w + (1 - (cw % 2)), s)).toArray();
  const mask = new Float32Array(b * h * w).fill(1);
  for (let i = 0; i < b; i++) {
    for (let y = Math.max(0, cy[i] - (ch >> 1)); y < Math.min(h, cy[i] - (ch >> 1) + ch); y++) {
      for (let xx = Math.max(0, cx[i] - (cw >> 1)); xx < Math.min(w, cx[i] - (cw >> 1) + cw); xx++) mask[(i * h + y) * w + xx] = 0;
    }
  }
  return x.mul(tensor(mask, { shape: [b, 1, h, w], device: x.device }));
}

export function diffAugment(x: Tensor): Tensor {
  return x.ndim === 4 ? cutout(translate(x)) : x;
}
