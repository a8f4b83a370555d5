// Inpainting by latent optimization (Yeh et al., "Semantic Image Inpainting with Deep Generative
// Models", CVPR 2017). For each damaged image y with mask M (1 = known pixel) find the noise z
// whose G(z) best matches the known pixels around the hole and that D finds real:
//
//   loss(z) = || W * (G(z) - y) ||_1  +  lambda * log(1 - D(G(z)))
//
// where W weights each known pixel by the share of missing pixels in the window around it (so the
// pixels that border the hole count most) and is 0 in the hole. Adam moves z from several random
// starts at once, z is kept within [-3, 3] (where N(0, 1) noise lives), and each image keeps its
// best start. G(z) then fills the hole by Poisson blending (Perez et al. 2003): inside the hole the
// result has G(z)'s gradients and meets the known pixels at the border without a seam, and the
// known pixels are kept exactly.
import { type Tensor, avgPool2d, cat, conv2d, keep, noGrad, pad, rand, randint, randn, tensor, tidy, withSeed, zeros } from "../engine/index.js";
import type { Discriminator, Generator } from "../models/index.js";
import { Adam } from "../optim/index.js";
import { ShapeError } from "../errors.js";

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

export interface InpaintOptions {
  /** Adam steps on z; default 300. */
  steps?: number;
  /** Random starts per image; the best is kept. Default 4. */
  restarts?: number;
  /**
   * Random z drawn per image before the search, of which the `restarts` with the lowest context
   * loss are where Adam starts (one forward pass, no gradients); default 1, which starts from
   * plain random draws.
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
 * whose G(z) best fits its known pixels (weighted context L1, with each image's `weights`), found
 * by forward passes alone. A conditional G takes each image's label from `labelsOf`; without
 * them (`searchClasses` > 0) every draw takes a random class too, and the picked classes come back.
 */
function startingPoints(
  G: Generator,
  images: Tensor,
  weights: Tensor,
  labelsOf: Tensor | undefined,
  searchClasses: number,
  r: number,
  candidates: number,
  latentDim: number,
): { z: Tensor; labels?: Tensor } {
  const n = images.shape[0];
  const drawsOf = (m: number) => ({
    z: randn([n, m, latentDim]),
    labels: searchClasses ? randint(0, searchClasses, [n, m], { dtype: "int64" }) : labelsOf?.unsqueeze(1).expand(n, m),
  });
  if (candidates <= r) {
    const d = drawsOf(r);
    return { z: d.z.reshape(n * r, latentDim), labels: searchClasses ? d.labels?.reshape(n * r) : undefined };
  }
  const draws = drawsOf(candidates);
  const losses: Tensor[] = [];
  const chunk = Math.max(1, Math.floor(4096 / n));
  noGrad(() => {
    for (let k = 0; k < candidates; k += chunk) {
      const m = Math.min(chunk, candidates - k);
      losses.push(
        tidy(() => {
          const z = draws.z.narrow(1, k, m).reshape(n * m, latentDim);
          const y = draws.labels?.narrow(1, k, m).reshape(n * m);
          const g = G.forward(z, y).reshape(n, m, ...images.shape.slice(1));
          return weights
            .unsqueeze(1)
            .mul(g.sub(images.unsqueeze(1)).abs())
            .flatten(2)
            .sum(2); // (n, m)
        }),
      );
    }
  });
  const best = cat(losses, 1).topk(r, 1, false).indices; // (n, r), lowest first
  const z = draws.z.gather(1, best.unsqueeze(2).expand(n, r, latentDim)).reshape(n * r, latentDim);
  const labels = searchClasses ? draws.labels?.gather(1, best).reshape(n * r) : undefined;
  for (const l of [...losses, best, draws.z, ...(draws.labels ? [draws.labels] : [])]) l.dispose();
  return { z, labels };
}

/** Fills the holes of `images` (n, C, H, W in [-1, 1]) where `mask` (n or 1, 1, H, W) is 0, with G. */
export function inpaint(G: Generator, D: Discriminator | null, images: Tensor, mask: Tensor, options: InpaintOptions = {}): InpaintResult {
  const { steps = 300, restarts = 4, lr = 0.03, lambda = 0.003, window = 7, blend = "poisson", seed = 0 } = options;
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
      const searchClasses = numClasses && !imageLabels ? numClasses : 0;
      const start = withSeed(seed, () => startingPoints(G, images, imageWeights, imageLabels, searchClasses, r, options.candidates ?? 1, latentDim));
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
