// Generator and discriminator families and their registry.
export { Generator, MlpGenerator, DcganGenerator, CnnGenerator, type ModelShape, type LatentCodes } from "./generators.js";
export { StyleGenerator } from "./style.js";
export { UnetGenerator, ResnetGenerator, PatchDiscriminator, CycleGenerator, CycleDiscriminator } from "./translation.js";
export { Discriminator, MlpDiscriminator, DcganDiscriminator, AutoencoderDiscriminator } from "./discriminators.js";
export { PackedDiscriminator, packedShape } from "./pack.js";
export { generators, discriminators, buildGenerator, buildDiscriminator, type ModelSpec, type GeneratorName, type DiscriminatorName } from "./registry.js";
