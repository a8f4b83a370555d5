"""Writes the golden fixtures that gantry's tests compare against: `npm run fixtures`.

Run with Debian's python3-torch (the same libtorch 1.13 core gantry links). Outputs, committed:
  test/fixtures/ops.safetensors     inputs and outputs of the engine's ops, and some gradients
  test/fixtures/optim.safetensors   parameters after 3 steps of each optimizer configuration
  test/fixtures/nn.safetensors      default initialization of each layer after manual_seed
  test/fixtures/model.safetensors   a small CNN's state dict, an input and its eval output
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_min import save_file  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures")


def ops_fixture():
    torch.manual_seed(0)
    r = lambda *s: torch.randn(*s, dtype=torch.float64)  # noqa: E731
    a, b, m = r(3, 4), r(4), r(4, 5)
    x4, w4, bias4 = r(2, 3, 6, 6), r(4, 3, 3, 3), r(4)
    xt, wt, bt = r(2, 4, 3, 3), r(4, 3, 4, 4), r(3)
    img = r(1, 2, 4, 4)
    bn_x, bn_w, bn_b = r(4, 3, 2, 2), r(3), r(3)
    ln = r(2, 3, 4)
    logits, labels = r(5, 3), torch.tensor([0, 2, 1, 2, 0])
    p, target = torch.rand(6, dtype=torch.float64) * 0.98 + 0.01, torch.rand(6, dtype=torch.float64)
    idx = torch.tensor([2, 0])
    gidx = torch.tensor([[0, 1, 1, 0], [3, 2, 1, 0], [0, 0, 0, 3]])
    emb = r(5, 3)
    running_mean, running_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    bn_out = F.batch_norm(bn_x, running_mean, running_var, bn_w, bn_b, training=True, momentum=0.1, eps=1e-5)
    out = {
        "a": a, "b": b, "m": m, "x4": x4, "w4": w4, "bias4": bias4, "xt": xt, "wt": wt, "bt": bt, "img": img,
        "bn_x": bn_x, "bn_w": bn_w, "bn_b": bn_b, "ln": ln, "logits": logits, "labels": labels, "p": p,
        "target": target, "idx": idx, "gidx": gidx, "emb": emb,
        "out.add": a + b, "out.sub": a - b, "out.mul": a * b, "out.div": a / (b.abs() + 1),
        "out.matmul": a @ m, "out.linear": F.linear(a, m.t(), b[:1].expand(5).contiguous()),
        "out.conv2d": F.conv2d(x4, w4, bias4, stride=2, padding=1),
        "out.conv_transpose2d": F.conv_transpose2d(xt, wt, bt, stride=2, padding=1),
        "out.batch_norm": bn_out, "out.batch_norm.running_mean": running_mean, "out.batch_norm.running_var": running_var,
        "out.layer_norm": F.layer_norm(ln, [4]),
        "out.max_pool2d": F.max_pool2d(img, 2), "out.avg_pool2d": F.avg_pool2d(img, 2),
        "out.upsample_nearest": F.interpolate(img, scale_factor=2, mode="nearest"),
        "out.upsample_bilinear": F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False),
        "out.relu": F.relu(a), "out.leaky_relu": F.leaky_relu(a, 0.2), "out.tanh": torch.tanh(a),
        "out.sigmoid": torch.sigmoid(a), "out.softplus": F.softplus(a), "out.gelu": F.gelu(a),
        "out.sum1": a.sum(1), "out.mean": a.mean().reshape(()), "out.var0": a.var(0), "out.max": a.max().reshape(()),
        "out.min": a.min().reshape(()), "out.argmax1": a.argmax(1),
        "out.permute": a.reshape(3, 2, 2).permute(2, 0, 1).contiguous(), "out.transpose": a.t().contiguous(),
        "out.cat": torch.cat([a, a * 2], 1), "out.stack": torch.stack([a, a * 2], 0),
        "out.split1": torch.split(a, 3, 1)[1].contiguous(), "out.index_select": a.index_select(0, idx),
        "out.gather": a.gather(0, gidx.clamp(max=2)), "out.flip": a.flip(1),
        "out.pad": F.pad(img, [1, 2, 0, 1], value=0.5), "out.pad_reflect": F.pad(img, [1, 1, 1, 1], mode="reflect"),
        "out.where": torch.where(a > 0, a, b.expand(3, 4)), "out.clamp": a.clamp(-0.5, 0.5), "out.pow": a.pow(3),
        "out.sqrt": a.abs().sqrt(), "out.exp": a.exp(), "out.log": (a.abs() + 1).log(), "out.abs": a.abs(),
        "out.one_hot": F.one_hot(labels, 4), "out.embedding": F.embedding(idx, emb),
        "out.bce": F.binary_cross_entropy(p, target), "out.bce_logits": F.binary_cross_entropy_with_logits(a.flatten()[:6], target),
        "out.mse": F.mse_loss(a, a.flip(0)), "out.cross_entropy": F.cross_entropy(logits, labels),
    }
    # Gradients of a composite through several ops, and a gradient penalty's double backward.
    x = a.clone().requires_grad_()
    y = (F.linear(x, m.t()).tanh() * 2).sum()
    (gx,) = torch.autograd.grad(y, [x], create_graph=True)
    (ggx,) = torch.autograd.grad(gx.pow(2).sum(), [x])
    out["grad.composite"], out["grad.double"] = gx.detach(), ggx
    save_file(out, os.path.join(OUT, "ops.safetensors"))


OPTIMIZERS = {
    "adam": lambda ps: torch.optim.Adam(ps),
    "adam_gan": lambda ps: torch.optim.Adam(ps, lr=2e-4, betas=(0.5, 0.999), weight_decay=0.01),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1),
    "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "sgd_damped": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "rmsprop": lambda ps: torch.optim.RMSprop(ps),
    "rmsprop_centered": lambda ps: torch.optim.RMSprop(ps, lr=1e-2, centered=True, momentum=0.9, weight_decay=0.01),
}


def optim_fixture():
    torch.manual_seed(1)
    p0 = torch.randn(5, 3)
    grads = [torch.randn(5, 3) for _ in range(3)]
    out = {"p0": p0, **{f"g{i}": g for i, g in enumerate(grads)}}
    for name, make in OPTIMIZERS.items():
        p = p0.clone().requires_grad_()
        opt = make([p])
        for g in grads:
            p.grad = g.clone()
            opt.step()
        out[f"after.{name}"] = p.detach()
    save_file(out, os.path.join(OUT, "optim.safetensors"))


LAYERS = {
    "linear": lambda: nn.Linear(5, 3),
    "conv2d": lambda: nn.Conv2d(3, 4, 3),
    "conv_transpose2d": lambda: nn.ConvTranspose2d(4, 2, 4),
    "embedding": lambda: nn.Embedding(10, 3),
    "batch_norm2d": lambda: nn.BatchNorm2d(3),
}


def nn_fixture():
    out = {}
    for name, make in LAYERS.items():
        torch.manual_seed(3)
        for key, t in make().state_dict().items():
            out[f"{name}.{key}"] = t
    save_file(out, os.path.join(OUT, "nn.safetensors"))


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, 2, 1), nn.BatchNorm2d(4), nn.LeakyReLU(0.2), nn.Flatten(),
        nn.Linear(64, 3), nn.Tanh())


def model_fixture():
    torch.manual_seed(4)
    model = small_cnn()
    x = torch.randn(2, 1, 8, 8)
    model.train()
    model(torch.randn(8, 1, 8, 8))  # moves the running statistics away from their defaults
    model.eval()
    out = {f"state.{k}": v for k, v in model.state_dict().items()}
    out.update(x=x, y=model(x).detach())
    sn = nn.utils.spectral_norm(nn.Linear(4, 3))
    xs = torch.randn(2, 4)
    sn_state = {f"sn.{k}": v.clone() for k, v in sn.state_dict().items()}
    out.update(sn_state)
    out.update({"sn.x": xs, "sn.y": sn(xs).detach(), "sn.u_after": sn.weight_u.detach()})
    save_file(out, os.path.join(OUT, "model.safetensors"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    ops_fixture()
    optim_fixture()
    nn_fixture()
    model_fixture()
    print(f"fixtures written to {os.path.abspath(OUT)}")
