"""PyTorch side of gantry's benchmarks: runs the same workloads as bench/*.ts, on request.

Reads commands from stdin, one per line, and answers each with one JSON line:
  setup <workload> <threads> [device]   build the models for a workload on cpu (default) or cuda
  run <steps>                  time that many steps, answer {"ms": per-step milliseconds}
  op <calls>                   time a tiny add, answer {"us": per-call microseconds}
"""
import json
import sys
import time

import torch
import torch.nn as nn

state = {}


def mlp_gan():
    G = nn.Sequential(
        nn.Linear(100, 256), nn.LeakyReLU(0.2), nn.Linear(256, 512), nn.LeakyReLU(0.2),
        nn.Linear(512, 1024), nn.LeakyReLU(0.2), nn.Linear(1024, 784), nn.Tanh())
    D = nn.Sequential(
        nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 1), nn.Sigmoid())
    return G, D, (784,)


def dcgan():
    """gantry's mnist-dcgan networks, layer for layer."""
    G = nn.Sequential(
        nn.Unflatten(1, (100, 1, 1)),
        nn.ConvTranspose2d(100, 128, 7, 1, 0, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1), nn.Sigmoid())
    return G, D, (1, 28, 28)


workloads = {"mlp-gan": mlp_gan, "dcgan": dcgan}


def setup(name, threads, device="cpu"):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    G, D, shape = workloads[name]()
    G, D = G.to(device), D.to(device)
    state.update(
        G=G, D=D, latent=(100,), device=device,
        optG=torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
        optD=torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
        real=torch.rand(64, *shape, device=device) * 2 - 1,
        ones=torch.ones(64, 1, device=device), zeros=torch.zeros(64, 1, device=device))


def tutorial_step():
    """The tutorial's loop: D on real and fake separately, G forward again for its own step."""
    s = state
    criterion = nn.functional.binary_cross_entropy
    fake = s["G"](torch.randn(64, *s["latent"], device=s["device"]))
    d_loss = criterion(s["D"](s["real"]), s["ones"]) + criterion(s["D"](fake.detach()), s["zeros"])
    s["optD"].zero_grad()
    d_loss.backward()
    s["optD"].step()
    fake = s["G"](torch.randn(64, *s["latent"], device=s["device"]))
    g_loss = criterion(s["D"](fake), s["ones"])
    s["optG"].zero_grad()
    g_loss.backward()
    s["optG"].step()


def main():
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "setup":
            setup(args[0], int(args[1]), *args[2:])
            print(json.dumps({"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
        elif cmd == "run":
            steps = int(args[0])
            start = time.perf_counter()
            for _ in range(steps):
                tutorial_step()
            if state["device"] != "cpu":
                torch.cuda.synchronize()
            print(json.dumps({"ms": (time.perf_counter() - start) * 1000 / steps}), flush=True)
        elif cmd == "op":
            calls = int(args[0])
            a, b = torch.ones(4), torch.ones(4)
            start = time.perf_counter()
            for _ in range(calls):
                a + b
            print(json.dumps({"us": (time.perf_counter() - start) * 1e6 / calls}), flush=True)
        elif cmd == "quit":
            return


if __name__ == "__main__":
    main()
