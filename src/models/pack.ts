// PacGAN (Lin et al. 2018): D judges m samples at once, concatenated, all real or all fake. A
// collapsed G yields packs of near-identical samples, which D learns to tell from real packs, so
// packing penalizes mode collapse with any D family: the inner D is built for m times the
// channels (images) or features (points), and sees (B / m) packs of m.
import type { Tensor } from "../engine/index.js";
import { Discriminator } from "./discriminators.js";
import type { ModelShape } from "./generators.js";

/** The shape the inner D is built for: m samples side by side along the first data dimension. */
export function packedShape(shape: ModelShape, m: number): ModelShape {
  const [first, ...rest] = shape.dataShape;
  return { ...shape, dataShape: [first * m, ...rest] };
}

export class PackedDiscriminator extends Discriminator {
  readonly inner: Discriminator;
  constructor(
    shape: ModelShape,
    inner: Discriminator,
    readonly pack: number,
  ) {
    super(shape, false);
    this.inner = this.child("inner", inner);
  }
  override get features(): number {
    return this.inner.features;
  }
  override get energy(): boolean {
    return this.inner.energy;
  }
  forward(x: Tensor): Tensor {
    const [b, first, ...rest] = x.shape;
    // (B, C, ...) -> (B / m, m * C, ...): consecutive samples form a pack.
    return this.inner.forward(x.reshape(b / this.pack, this.pack * first, ...rest)); // (B / m, 1)
  }
}
