"""PyTorch side of gantry's benchmarks: runs the same workloads as bench/*.ts, on request.

Reads commands from stdin, one per line, and answers each with one JSON line:
  setup <workload> <threads> [device] [batch]   build the models for a workload on cpu (default)
                               or cuda, with batches of 64 (default) or `batch` images
  run <steps>                  time that many steps, answer {"ms": per-step milliseconds}
  op <calls>                   time a tiny add, answer {"us": per-call microseconds}
  flops                        the set-up workload's forward FLOPs at its batch size, G's and D's,
                               counted from its layers' shapes: {"g": ..., "d": ...}

`python3 torch_worker.py peak <n>` times an n x n float32 matmul (OpenBLAS on as many threads as
OPENBLAS_NUM_THREADS gives it) and prints {"gflops": ...}: the machine's sgemm rate.

`python3 torch_worker.py rss <images.u8> <steps>` instead trains the DCGAN on MNIST (raw uint8
images, 28x28 each) with the tutorial's loop for that many steps, on one thread, and prints
{"max_rss_mb": ...}: the peak resident memory that bench/gan.ts sets beside gantry's.
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


def dcgan64():
    """gantry's folder-dcgan networks (64 px RGB), layer for layer."""
    up = lambda i, o: [nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
    down = lambda i, o: [nn.Conv2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.LeakyReLU(0.2)]
    G = nn.Sequential(
        nn.Unflatten(1, (100, 1, 1)),
        nn.ConvTranspose2d(100, 512, 4, 1, 0, bias=False), nn.BatchNorm2d(512), nn.ReLU(),
        *up(512, 256), *up(256, 128), *up(128, 64),
        nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(3, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        *down(64, 128), *down(128, 256), *down(256, 512),
        nn.Flatten(), nn.Linear(512 * 4 * 4, 1), nn.Sigmoid())
    return G, D, (3, 64, 64)


workloads = {"mlp-gan": mlp_gan, "dcgan": dcgan, "dcgan64": dcgan64}


def setup(name, threads, device="cpu", batch="64"):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    G, D, shape = workloads[name]()
    G, D = G.to(device), D.to(device)
    b = int(batch)
    state.update(
        G=G, D=D, latent=(100,), device=device, batch=b,
        optG=torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
        optD=torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
        real=torch.rand(b, *shape, device=device) * 2 - 1,
        ones=torch.ones(b, 1, device=device), zeros=torch.zeros(b, 1, device=device))


def tutorial_step(real=None):
    """The tutorial's loop: D on real and fake separately, G forward again for its own step."""
    s = state
    real = s["real"] if real is None else real
    criterion = nn.functional.binary_cross_entropy
    fake = s["G"](torch.randn(s["batch"], *s["latent"], device=s["device"]))
    d_loss = criterion(s["D"](real), s["ones"]) + criterion(s["D"](fake.detach()), s["zeros"])
    s["optD"].zero_grad()
    d_loss.backward()
    s["optD"].step()
    fake = s["G"](torch.randn(s["batch"], *s["latent"], device=s["device"]))
    g_loss = criterion(s["D"](fake), s["ones"])
    s["optG"].zero_grad()
    g_loss.backward()
    s["optG"].step()


def forward_flops(model, x):
    """2 x the multiply-adds of model's Linear and convolution layers on input x."""
    macs = []

    def hook(layer, inputs, output):
        if isinstance(layer, nn.Linear):
            macs.append(output.numel() * layer.in_features)
        elif isinstance(layer, nn.Conv2d):
            macs.append(output.numel() * layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1] // layer.groups)
        elif isinstance(layer, nn.ConvTranspose2d):
            macs.append(inputs[0].numel() * layer.out_channels * layer.kernel_size[0] * layer.kernel_size[1] // layer.groups)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        y = model(x)
    for h in handles:
        h.remove()
    return 2 * sum(macs), y


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
        elif cmd == "flops":
            s = state
            g, fake = forward_flops(s["G"], torch.randn(s["batch"], *s["latent"], device=s["device"]))
            d, _ = forward_flops(s["D"], fake)
            print(json.dumps({"g": g, "d": d}), flush=True)
        elif cmd == "quit":
            return


def rss(images_path, steps):
    """The DCGAN on MNIST for `steps` steps of the tutorial's loop; prints the peak RSS in MiB."""
    import numpy as np
    images = torch.from_numpy(np.fromfile(images_path, dtype=np.uint8).reshape(-1, 1, 28, 28))
    setup("dcgan", 1)
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(images), generator=g)
    per_epoch = len(images) // 64
    for step in range(steps):
        i = step % per_epoch
        if i == 0 and step:
            order = torch.randperm(len(images), generator=g)
        tutorial_step(images[order[i * 64:(i + 1) * 64]].float() / 127.5 - 1)
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent that forked us.
    with open("/proc/self/status") as status:
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"max_rss_mb": hwm / 1024}), flush=True)


def peak(n):
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    rates = []
    for _ in range(5):
        start = time.perf_counter()
        torch.mm(a, b)
        rates.append(2 * n ** 3 / (time.perf_counter() - start) / 1e9)
    print(json.dumps({"gflops": max(rates)}), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["rss"]:
        rss(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["peak"]:
        peak(int(sys.argv[2]))
    else:
        main()
