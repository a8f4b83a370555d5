"""PyTorch side of gantry's benchmarks: runs the same workloads as bench/*.ts, on request.

Reads commands from stdin, one per line, and answers each with one JSON line:
  setup <workload> <threads>   build the models for a workload
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
    G = nn.Sequential(
        nn.ConvTranspose2d(100, 256, 7, 1, 0, bias=False), nn.BatchNorm2d(256), nn.ReLU(True),
        nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(True),
        nn.ConvTranspose2d(128, 1, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2, True),
        nn.Conv2d(128, 1, 7, 1, 0, bias=False), nn.Sigmoid(), nn.Flatten())
    return G, D, (1, 28, 28)


workloads = {"mlp-gan": mlp_gan, "dcgan": dcgan}


def setup(name, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    G, D, shape = workloads[name]()
    state.update(
        G=G, D=D, latent=(100,) if name == "mlp-gan" else (100, 1, 1),
        optG=torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
        optD=torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
        real=torch.rand(64, *shape) * 2 - 1, ones=torch.ones(64, 1), zeros=torch.zeros(64, 1))


def tutorial_step():
    """The tutorial's loop: D on real and fake separately, G forward again for its own step."""
    s = state
    criterion = nn.functional.binary_cross_entropy
    fake = s["G"](torch.randn(64, *s["latent"]))
    d_loss = criterion(s["D"](s["real"]), s["ones"]) + criterion(s["D"](fake.detach()), s["zeros"])
    s["optD"].zero_grad()
    d_loss.backward()
    s["optD"].step()
    fake = s["G"](torch.randn(64, *s["latent"]))
    g_loss = criterion(s["D"](fake), s["ones"])
    s["optG"].zero_grad()
    g_loss.backward()
    s["optG"].step()


def main():
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "setup":
            setup(args[0], int(args[1]))
            print(json.dumps({"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
        elif cmd == "run":
            steps = int(args[0])
            start = time.perf_counter()
            for _ in range(steps):
                tutorial_step()
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
