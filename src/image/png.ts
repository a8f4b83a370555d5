// PNG output: sample grids and strips from image tensors in [-1, 1].
import { PNG } from "pngjs";
import { type Tensor, tidy } from "../engine/index.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { ShapeError } from "../errors.js";

/** (B, C, H, W) in [-1, 1] -> uint8 (B, H, W, C) bytes and the shape. */
export function toBytes(images: Tensor): { data: Uint8Array; shape: [number, number, number, number] } {
  if (images.ndim !== 4) throw new ShapeError(`expected images (B, C, H, W), got [${images.shape.join(", ")}]`);
  const [b, c, h, w] = images.shape;
  const data = tidy(() => images.detach().to("cpu").add(1).mul(127.5).clamp(0, 255).add(0.5).permute(0, 2, 3, 1).to({ dtype: "uint8" }).data<"uint8">());
  return { data, shape: [b, h, w, c] };
}

/** Encodes images as one PNG: a grid of `columns` per row with `padding` pixels between. */
export function encodeGrid(images: Tensor, options: { columns?: number; padding?: number } = {}): Buffer {
  const {
    data,
    shape: [b, h, w, c],
  } = toBytes(images);
  const columns = Math.min(options.columns ?? Math.ceil(Math.sqrt(b)), b);
  const rows = Math.ceil(b / columns);
  const pad = options.padding ?? 2;
  const png = new PNG({ width: columns * (w + pad) + pad, height: rows * (h + pad) + pad });
  png.data.fill(0);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  for (let k = 0; k < b; k++) {
    const x0 = pad + (k % columns) * (w + pad);
    const y0 = pad + Math.floor(k / columns) * (h + pad);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = ((k * h + y) * w + x) * c;
        const dst = ((y0 + y) * png.width + x0 + x) * 4;
        for (let ch = 0; ch < 3; ch++) png.data[dst + ch] = data[src + (c === 1 ? 0 : ch)];
      }
    }
  }
  return PNG.sync.write(png);
}

export function saveGrid(path: string, images: Tensor, options: { columns?: number; padding?: number } = {}): void {
  writeFileAtomic(path, encodeGrid(images, options));
}
