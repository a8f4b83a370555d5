// Few-label studies (gantry augment, data-efficient GANs): a balanced subset of a labelled
// dataset, the same for a given seed on every machine.
import type { ImageDataset } from "./datasets.js";
import { ConfigError } from "../errors.js";
import { mulberry32 } from "../util/prng.js";

/**
 * `count` samples of `data`, count / numClasses of each class, drawn by a seeded shuffle of each
 * class's indices (in dataset order); the subset keeps them in dataset order. `path` names the
 * config field or flag in errors.
 */
export function balancedSubset<S extends Uint8Array | Float32Array>(data: ImageDataset<S>, count: number, seed: number, path = "data.subset"): ImageDataset<S> {
  const { labels, numClasses } = data;
  if (!labels || numClasses < 1) throw new ConfigError([{ path, message: `${data.name} has no labels, so it has no balanced subset` }]);
  if (!Number.isInteger(count) || count < numClasses || count % numClasses !== 0) {
    throw new ConfigError([{ path, message: `must be a positive multiple of ${data.name}'s ${numClasses} classes (the same number of each), got ${count}` }]);
  }
  const perClass = count / numClasses;
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < data.length; i++) byClass[labels[i]].push(i);
  const random = mulberry32(seed);
  const chosen: number[] = [];
  for (const [c, indices] of byClass.entries()) {
    if (indices.length < perClass)
      throw new ConfigError([{ path, message: `${data.name} has only ${indices.length} samples of class ${c}; ${perClass} of each were asked for` }]);
    for (let i = indices.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [indices[i], indices[j]] = [indices[j], indices[i]];
    }
    chosen.push(...indices.slice(0, perClass));
  }
  chosen.sort((a, b) => a - b);
  const size = data.imageShape.reduce((a, b) => a * b, 1);
  const images = new (data.images.constructor as new (n: number) => S)(count * size);
  const subsetLabels = new Uint8Array(count);
  for (const [k, i] of chosen.entries()) {
    images.set(data.images.subarray(i * size, (i + 1) * size), k * size);
    subsetLabels[k] = labels[i];
  }
  return { ...data, images, labels: subsetLabels, length: count, source: `${data.source}, ${count} of its samples (${perClass} a class, seed ${seed})` };
}
