// Inpainting by latent optimization (Yeh et al., "Semantic Image Inpainting with Deep Generative
// Models", CVPR 2017). For each damaged image y with mask M (1 = known pixel) find the noise z
// whose G(z) best matches the known pixels around the hole and that D finds real:
//
//   loss(z) = || W * (G(z) - y) ||_1  +  lambda * log(1 - D(G(z)))
//
// where W weights each known pixel by the share of missing pixels in the window around it (so the
// pixels that border the hole count most) and is 0 in the hole. The starts are the draws of one
// shared pool that fit each image's known pixels best (a conditional G's class is drawn with z
// when it is not given); Adam moves z from several starts at once, z is kept within [-3, 3]
// (where N(0, 1) noise lives), and each image keeps its best start. G(z) then fills the hole by
// Poisson blending (Perez et al. 2003): inside the hole the result has G(z)'s gradients and meets
// the known pixels at the border without a seam, and the known pixels are kept exactly.
import { existsSync } from "node:fs";
import { type Tensor, arange, avgPool2d, cat, conv2d, keep, noGrad, pad, rand, randint, randn, tensor, tidy, withSeed, zeros } from "../engine/index.js";
import type { Discriminator, Generator } from "../models/index.js";
import { Adam } from "../optim/index.js";
import { ConfigError, ShapeError } from "../errors.js";
import { type FeatureClassifier, classifierPath, loadClassifier } from "../metrics/classifier.js";

export const maskKinds = ["center", "left", "right", "top", "bottom", "random", "noise"] as const;
export type MaskKind = (typeof maskKinds)[number];

/**
 * Masks (n, 1, h, w), 1 where a pixel is known: `center` hides the middle h/2 x w/2 square,
 * `left`/`right`/`top`/`bottom` a half, `random` each pixel with probability 0.8 (Yeh et al.'s
 * 80% missing), `noise` about half the image in blobs (thresholded, smoothed noise).
 */
export function makeMask(kind: MaskKind, n: number, h: number, w: number, seed = 0): Tensor {
  return tidy(() => {
    const rows = tensor(Float32Array.from({ length: h }, (_, i) => i)).reshape(h, 1);
    const cols = tensor(Float32Array.from({ length: w }, (_, j) => j)).reshape(1, w);
    const ones = zeros([n, 1, h, w]).add(1);
    const hole = (r: Tensor) => ones.mul(r.rsub(1));
    switch (kind) {
      case "center": {
        const inside = rows
          .ge(h / 4)
          .mul(rows.lt((3 * h) / 4))
          .mul(cols.ge(w / 4).mul(cols.lt((3 * w) / 4)));
        return hole(inside.to({ dtype: "float32" }));
      }
      case "left":
        return hole(
          cols
            .lt(w / 2)
            .to({ dtype: "float32" })
            .expand(h, w),
        );
      case "right":
        return hole(
          cols
            .ge(w / 2)
            .to({ dtype: "float32" })
            .expand(h, w),
        );
      case "top":
        return hole(
          rows
            .lt(h / 2)
            .to({ dtype: "float32" })
            .expand(h, w),
        );
      case "bottom":
        return hole(
          rows
            .ge(h / 2)
            .to({ dtype: "float32" })
            .expand(h, w),
        );
      case "random":
        return withSeed(seed, () => rand([n, 1, h, w]).ge(0.8).to({ dtype: "float32" }));
      case "noise":
        return withSeed(seed, () => {
          const smooth = avgPool2d(pad(randn([n, 1, h, w]), [3, 3, 3, 3], "reflect"), 7, { stride: 1 });
          return smooth.ge(0).to({ dtype: "float32" });
        });
    }
  });
}

/** Yeh et al.'s weights: for a known pixel, the share of missing pixels in the window around it; 0 in the hole. */
export function contextWeights(mask: Tensor, window = 7): Tensor {
  return tidy(() => mask.mul(avgPool2d(mask.rsub(1), window, { stride: 1, padding: Math.floor(window / 2) })));
}

/**
 * Poisson blending: the image that equals `known` where mask is 1 and, in the hole, has the
 * Laplacian of `generated` (Jacobi iterations on the 4-neighbour stencil, edges replicated).
 */
export function poissonBlend(known: Tensor, generated: Tensor, mask: Tensor, iterations = 400): Tensor {
  return noGrad(() =>
    tidy(() => {
      const c = known.shape[1];
      const kernel = tensor(Float32Array.from([0, 1, 0, 1, 0, 1, 0, 1, 0]))
        .reshape(1, 1, 3, 3)
        .repeat(c, 1, 1, 1);
      const neighbours = (x: Tensor) => conv2d(pad(x, [1, 1, 1, 1], "replicate"), kernel, null, { groups: c });
      const guidance = generated.mul(4).sub(neighbours(generated));
      const hole = mask.rsub(1);
      const fixed = known.mul(mask);
      let x = keep(fixed.add(generated.mul(hole)));
      for (let i = 0; i < iterations; i++) {
        const next = tidy(() => keep(fixed.add(neighbours(x).add(guidance).div(4).mul(hole))));
        x.dispose();
        x = next;
      }
      return x;
    }),
  );
}

/** Images with their holes at the background (-1), as a classifier of the known pixels reads them. */
export function holed(images: Tensor, mask: Tensor): Tensor {
  return tidy(() => images.mul(mask).add(mask.sub(1)));
}

/**
 * `images` (n, C, H, W) with random holes, as the context classifier trains on them: each image
 * gets one of the mask kinds, or none (one in eight), drawn from `seed`.
 */
export function randomHoles(images: Tensor, seed: number): Tensor {
  const [n, , h, w] = images.shape;
  return tidy(() => {
    const masks = cat([...maskKinds.map((kind, i) => makeMask(kind, n, h, w, seed * 8 + i)), zeros([n, 1, h, w]).add(1)], 1);
    const pick = withSeed(seed, () => randint(0, maskKinds.length + 1, [n, 1, 1, 1], { dtype: "int64" })).expand(n, 1, h, w);
    return holed(images, masks.gather(1, pick));
  });
}

/** The classifier that reads a dataset's classes from the known pixels (trained with randomHoles), if one ships. */
export function contextClassifierPath(dataset: string): string | null {
  const path = classifierPath(dataset, "holes");
  return existsSync(path) ? path : null;
}

/** The error for a context classifier asked for where none ships, naming the command that trains one. */
export function noContextClassifier(dataset: string, flag: string): ConfigError {
  return new ConfigError([
    {
      path: flag,
      message: `no classifier reads ${dataset}'s classes from known pixels (${classifierPath(dataset, "holes")}): train one with gantry classifier train --dataset ${dataset} --holes, or use --class-from search`,
    },
  ]);
}

/**
 * How a conditional G gets the classes of images that come without them: the dataset's context
 * classifier when `classFrom` is "context", or is not given and one ships (its path comes back,
 * for messages); null to search them with z ("search", or none ships). "context" where none ships
 * is a ConfigError naming the command that trains one.
 */
export function contextClassifierFor(dataset: string, classFrom?: "context" | "search"): { model: FeatureClassifier; path: string } | null {
  if (classFrom === "search") return null;
  const path = contextClassifierPath(dataset);
  if (!path) {
    if (classFrom === "context") throw noContextClassifier(dataset, "--class-from");
    return null;
  }
  return { model: loadClassifier(dataset, path).model, path };
}

/**
 * Each image's class as the context classifier reads it from the known pixels alone (n, int64):
 * the class a conditional G should fill the hole with when none is given. Reading it from the
 * context beats searching it with z: G's draws of the wrong class can fit a ring of known pixels
 * as well as the right ones (docs/applications.md).
 */
export function classesFromContext(classifier: FeatureClassifier, images: Tensor, mask: Tensor): Tensor {
  return tidy(() => {
    const { features, logits } = classifier.embed(holed(images, mask));
    features.dispose();
    return logits.argmax(1);
  });
}

/** The search's defaults, shared by the library, `gantry inpaint` and its --evaluate. */
export const inpaintDefaults = { steps: 100, restarts: 1, candidates: 16384 } as const;

export interface InpaintOptions {
  /** Adam steps on z; default 100. */
  steps?: number;
  /** Random starts per image; the best is kept. Default 2. */
  restarts?: number;
  /**
   * Random z drawn before the search, one pool shared by all the images: each image's Adam starts
   * from the `restarts` draws whose G(z) fits its known pixels best (forward passes only, no
   * gradients; G runs this many times whatever the number of images). Default
   * `inpaintDefaults.candidates`; 1 starts from plain random draws.
   */
  candidates?: number;
  /** Adam's learning rate on z; default 0.03. */
  lr?: number;
  /** Weight of the prior loss log(1 - D(G(z))); default 0.003 (Yeh et al.); 0 leaves D out. */
  lambda?: number;
  /** Side of the context-weight window; default 7. */
  window?: number;
  /** How G(z) fills the hole: poisson (default), or paste (G(z) in the hole as it is). */
  blend?: "poisson" | "paste";
  /**
   * For conditional generators: the class of each image (n), or one for all. Without it the class
   * is searched with z: each candidate draw takes a random class, and the best fits keep theirs.
   */
  labels?: Tensor | number;
  seed?: number;
  /** Called every 50 steps with the mean loss. */
  onProgress?: (step: number, loss: number) => void;
}

export interface InpaintResult {
  /** The images with their holes filled (n, C, H, W) in [-1, 1]; the known pixels as given. */
  completed: Tensor;
  /** G(z) at the best z (n, C, H, W). */
  generated: Tensor;
  /** The best z per image (n, latentDim). */
  z: Tensor;
  /** A conditional G's class for each image (n, int64): as given, or the one the search found. */
  labels?: Tensor;
  /** The weighted context loss per image at the first step (from the best start) and at the end. */
  contextBefore: number[];
  contextAfter: number[];
}

/**
 * n x r starting codes, rows grouped by image: for each image, the r of `candidates` random draws
 * whose G(z) best fits its known pixels (the weighted context distance, with each image's
 * `weights`), found by forward passes alone. The draws are one pool shared by every image: G runs
 * `candidates` times whatever n, and the distances of all images to all draws are two matrix
 * products (weighted squared distance, expanded), so a pool of thousands costs about as much as
 * the search that follows. A conditional G takes each image's label from `labelsOf` (draws of
 * other classes are ruled out); without them each draw takes a random class, and the picked
 * classes come back.
 */
function startingPoints(
  G: Generator,
  images: Tensor,
  weights: Tensor,
  labelsOf: Tensor | undefined,
  r: number,
  candidates: number,
  latentDim: number,
  numClasses: number,
): { z: Tensor; labels?: Tensor } {
  const n = images.shape[0];
  const searchClasses = numClasses > 0 && !labelsOf;
  if (candidates <= r) {
    const z = randn([n * r, latentDim]);
    return { z, labels: searchClasses ? randint(0, numClasses, [n * r], { dtype: "int64" }) : undefined };
  }
  const pool = randn([candidates, latentDim]);
  const poolLabels = numClasses ? randint(0, numClasses, [candidates], { dtype: "int64" }) : undefined;
  const w = weights.flatten(1); // (n, D)
  const y = images.flatten(1);
  const wy = w.mul(y);
  const wyy = wy.mul(y).sum(1, true);
  // The r nearest draws so far (distance, pool index), merged chunk by chunk: memory stays at one
  // chunk of G's output whatever the pool's size.
  let nearest = { d: zeros([n, 0]), index: zeros([n, 0], { dtype: "int64" }) };
  noGrad(() => {
    for (let k = 0; k < candidates; k += 1024) {
      const m = Math.min(1024, candidates - k);
      const next = tidy(() => {
        const g = G.forward(pool.narrow(0, k, m), poolLabels?.narrow(0, k, m)).flatten(1); // (m, D)
        // sum_j w_ij (g_kj - y_ij)^2 = w_i . g_k^2 - 2 (w_i y_i) . g_k + w_i . y_i^2
        let d = w.matmul(g.square().t()).sub(wy.matmul(g.t()).mul(2)).add(wyy); // (n, m)
        if (labelsOf && poolLabels)
          d = d.add(
            labelsOf
              .unsqueeze(1)
              .ne(poolLabels.narrow(0, k, m).unsqueeze(0))
              .to({ dtype: "float32" })
              .mul(1e30),
          );
        d = cat([nearest.d, d], 1);
        const index = cat(
          [
            nearest.index,
            arange(k, k + m, 1, { dtype: "int64" })
              .unsqueeze(0)
              .expand(n, m),
          ],
          1,
        );
        const top = d.topk(Math.min(r, d.shape[1]), 1, false);
        return { d: top.values, index: index.gather(1, top.indices) };
      });
      for (const t of [nearest.d, nearest.index]) t.dispose();
      nearest = next;
    }
  });
  const best = nearest.index.flatten(); // (n r), each image's nearest first
  return { z: pool.indexSelect(0, best), labels: searchClasses && poolLabels ? poolLabels.indexSelect(0, best) : undefined };
}

/** Fills the holes of `images` (n, C, H, W in [-1, 1]) where `mask` (n or 1, 1, H, W) is 0, with G. */
export function inpaint(G: Generator, D: Discriminator | null, images: Tensor, mask: Tensor, options: InpaintOptions = {}): InpaintResult {
  const {
    steps = inpaintDefaults.steps,
    restarts = inpaintDefaults.restarts,
    candidates = inpaintDefaults.candidates,
    lr = 0.03,
    lambda = 0.003,
    window = 7,
    blend = "poisson",
    seed = 0,
  } = options;
  const [n, ...dims] = images.shape;
  const { dataShape, latentDim, numClasses } = G.shape;
  if (images.ndim !== 4 || dims.join() !== dataShape.join())
    throw new ShapeError(`inpaint: the images are [${images.shape.join(", ")}]; this generator makes [N, ${dataShape.join(", ")}]`);
  if (mask.ndim !== 4 || mask.shape[1] !== 1 || mask.shape[2] !== dims[1] || mask.shape[3] !== dims[2] || (mask.shape[0] !== 1 && mask.shape[0] !== n))
    throw new ShapeError(`inpaint: the mask is [${mask.shape.join(", ")}]; expected [${n} or 1, 1, ${dims[1]}, ${dims[2]}] (1 = known pixel)`);
  const frozen = [...G.parameters(), ...(D?.parameters() ?? [])];
  const wasTraining = [G.training, D?.training ?? false];
  const hadGrad = frozen.map((p) => p.requiresGrad);
  for (const p of frozen) p.requiresGrad = false;
  G.eval();
  D?.eval();
  try {
    return tidy(() => {
      const r = restarts;
      const repeatRows = (t: Tensor) =>
        t
          .unsqueeze(1)
          .expand(t.shape[0], r, ...t.shape.slice(1))
          .reshape(t.shape[0] * r, ...t.shape.slice(1));
      const fullMask = mask.shape[0] === n ? mask : mask.expand(n, ...mask.shape.slice(1));
      const y = repeatRows(images);
      const imageWeights = contextWeights(fullMask.to({ dtype: "float32" }), window).expand(n, ...dims);
      const weights = repeatRows(imageWeights);
      let imageLabels: Tensor | undefined;
      if (numClasses && options.labels !== undefined) {
        const given = typeof options.labels === "number" ? zeros([n], { dtype: "int64" }).add(options.labels) : options.labels;
        imageLabels = given.to({ dtype: "int64" });
      }
      const start = withSeed(seed, () => startingPoints(G, images, imageWeights, imageLabels, r, candidates, latentDim, numClasses));
      const z = keep(start.z.requiresGrad_());
      const labels = start.labels ?? (imageLabels && repeatRows(imageLabels));
      const opt = new Adam([z], { lr, betas: [0.9, 0.999] });
      const losses = (g: Tensor) => {
        const context = weights.mul(g.sub(y).abs()).flatten(1).sum(1);
        // log(1 - D(G(z))) = -softplus(logit), with D's real/fake logit in column 0.
        const prior =
          D && lambda > 0
            ? D.forward(g, D.takesLabels ? labels : undefined)
                .narrow(1, 0, 1)
                .flatten()
                .softplus()
                .neg()
                .mul(lambda)
            : null;
        return { context, total: prior ? context.add(prior) : context };
      };
      let contextStart: number[] = [];
      for (let step = 0; step < steps; step++) {
        tidy(() => {
          const { context, total } = losses(G.forward(z, labels));
          if (step === 0) contextStart = context.toArray();
          const loss = total.sum();
          opt.zeroGrad();
          loss.backward();
          opt.step();
          noGrad(() => z.clamp_(-3, 3));
          if (options.onProgress && (step + 1) % 50 === 0) options.onProgress(step + 1, loss.item() / (n * r));
        });
      }
      opt.zeroGrad();
      return noGrad(() => {
        const g = G.forward(z, labels);
        const { context, total } = losses(g);
        const best = total.reshape(n, r).min(1).indices;
        const index = best.add(tensor(Int32Array.from({ length: n }, (_, i) => i * r)).to({ dtype: "int64" }));
        const generated = g.indexSelect(0, index);
        const bestZ = z.detach().indexSelect(0, index);
        const after = context.indexSelect(0, index).toArray();
        const chosen = best.toArray();
        const before = chosen.map((b, i) => contextStart[i * r + b]);
        z.dispose();
        const m = fullMask.to({ dtype: "float32" });
        const completed = blend === "poisson" ? poissonBlend(images, generated, m) : images.mul(m).add(generated.mul(m.rsub(1)));
        return { completed, generated, z: bestZ, labels: labels?.indexSelect(0, index), contextBefore: before, contextAfter: after };
      });
    });
  } finally {
    frozen.forEach((p, i) => {
      p.requiresGrad = hadGrad[i];
    });
    G.train(wasTraining[0]);
    D?.train(wasTraining[1]);
  }
}
