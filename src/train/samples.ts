// Writes what G makes as a picture: an image grid, or for 2-D data a scatter plot.
import { PNG } from "pngjs";
import type { Tensor } from "../engine/index.js";
import { saveGrid } from "../image/png.js";
import type { ModelShape } from "../models/index.js";
import { writeFileAtomic } from "../util/atomic-write.js";

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

export function saveSamples(path: string, samples: Tensor, shape: Pick<ModelShape, "dataShape" | "numClasses">): void {
  if (shape.dataShape.length === 1) writeFileAtomic(path, scatterPng(samples));
  else saveGrid(path, samples, { columns: shape.numClasses ? 10 : 8 });
}
