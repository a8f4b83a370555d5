// The model families by name: typed data, not a switch. An unknown name is a ConfigError listing
// the valid ones.
import { MlpGenerator, DcganGenerator, CnnGenerator, type Generator, type ModelShape } from "./generators.js";
import { MlpDiscriminator, DcganDiscriminator, type Discriminator } from "./discriminators.js";
import { ConfigError } from "../errors.js";

type Options = Record<string, unknown>;

export const generators = {
  mlp: (shape: ModelShape, options: Options) => new MlpGenerator(shape, options),
  dcgan: (shape: ModelShape, options: Options) => new DcganGenerator(shape, options),
  cnn: (shape: ModelShape) => new CnnGenerator(shape),
} satisfies Record<string, (shape: ModelShape, options: Options) => Generator>;

export const discriminators = {
  mlp: (shape: ModelShape, options: Options) => new MlpDiscriminator(shape, options),
  dcgan: (shape: ModelShape, options: Options) => new DcganDiscriminator(shape, options),
} satisfies Record<string, (shape: ModelShape, options: Options) => Discriminator>;

export type GeneratorName = keyof typeof generators;
export type DiscriminatorName = keyof typeof discriminators;

/** A model family and its options, as a config names it. */
export interface ModelSpec<N extends string = string> {
  name: N;
  options?: Options;
}

function lookup<T>(table: Record<string, T>, name: string, path: string): T {
  const found = Object.hasOwn(table, name) ? table[name] : undefined;
  if (!found) throw new ConfigError([{ path, message: `unknown model '${name}': expected one of ${Object.keys(table).join(", ")}` }]);
  return found;
}

export function buildGenerator(spec: ModelSpec, shape: ModelShape): Generator {
  return lookup(generators, spec.name, "model.generator.name")(shape, spec.options ?? {});
}

export function buildDiscriminator(spec: ModelSpec, shape: ModelShape): Discriminator {
  return lookup(discriminators, spec.name, "model.discriminator.name")(shape, spec.options ?? {});
}
