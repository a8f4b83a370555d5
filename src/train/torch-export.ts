// gantry export --torch: a trained generator for PyTorch users, with no gantry and no safetensors
// package needed: generator.py defines the architecture as an nn.Module whose parameter names
// match gantry's, and generator.pt holds the weights in torch.save's format.
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { torchSave } from "../engine/index.js";
import type { LoadedGenerator } from "./export.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { makeDir } from "../util/make-dir.js";
import { CheckpointError } from "../errors.js";

/** generator.py for a loaded generator: its children's PyTorch expressions, labels one-hot beside z. */
export function generatorPython(loaded: LoadedGenerator): string {
  const { G, card } = loaded;
  const children = G.children();
  if (children.length !== 1) throw new CheckpointError(`${G.constructor.name}: only generators made of one network (net) export to PyTorch yet`);
  const [name, net] = children[0];
  const body = net.torch().replace(/\n/g, "\n        ");
  const out = `(B, ${card.dataShape.join(", ")})`;
  return `# Written by \`gantry export --torch\`: gantry's ${card.generator.name} generator${card.preset ? ` (preset ${card.preset})` : ""}, trained ${card.steps} step${card.steps === 1 ? "" : "s"} on ${card.dataset}.
# Parameter names match gantry's state dict, so generator.pt (torch.save format) loads with strict=True.
#
#   from generator import load
#   G = load()                                   # generator.pt beside this file, in eval mode
#   z = torch.randn(16, G.latent_dim)
#   images = G(z${card.numClasses ? ", torch.randint(0, G.num_classes, (16,))" : ""})  # ${out}, in [${card.range.join(", ")}]
import os

import torch
from torch import nn
import torch.nn.functional as F


class Generator(nn.Module):
    latent_dim = ${card.latentDim}
    num_classes = ${card.numClasses}

    def __init__(self):
        super().__init__()
        self.${name} = ${body}

    def forward(self, z, labels=None):
        """z (B, ${card.latentDim})${card.numClasses ? ` and labels (B) in 0..${card.numClasses - 1}` : ""} -> ${out}"""
        if self.num_classes:
            z = torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], 1)
        return self.${name}(z)


def load(path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "generator.pt"), map_location="cpu"):
    G = Generator()
    G.load_state_dict(torch.load(path, map_location=map_location, weights_only=True))
    return G.eval()
`;
}

/** Writes DIR/generator.py and DIR/generator.pt (and the safetensors beside them, if given). */
export function exportTorch(loaded: LoadedGenerator, dir: string, safetensors?: string): string[] {
  makeDir(dir);
  const written = [join(dir, "generator.py"), join(dir, "generator.pt")];
  writeFileAtomic(written[0], generatorPython(loaded));
  writeFileAtomic(written[1], torchSave(loaded.G.stateDict(), "generator"));
  if (safetensors && existsSync(safetensors)) {
    copyFileSync(safetensors, join(dir, "generator.safetensors"));
    written.push(join(dir, "generator.safetensors"));
  }
  return written;
}
