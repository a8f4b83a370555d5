# The MLP GAN's Linear layers in PyTorch 1.13 on 2 threads, forward + backward (input, weight and bias
# gradients), as F.linear (OpenBLAS) and as a 1x1 convolution (oneDNN, which threads itself).
# Run twice: OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/linear-profile.py
#       and: OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/linear-profile.py
import os, time
import torch
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)
# (batch, in, out): G 100-256-512-1024-784 at batch 64; D 784-512-256 on real and fake together (128)
# and on the fakes alone (64).
SHAPES = [(64, 100, 256), (64, 256, 512), (64, 512, 1024), (64, 1024, 784), (128, 784, 512), (128, 512, 256), (64, 784, 512)]


def bench(fn, n=200):
    for _ in range(10):
        fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1e6


total = {"linear": 0.0, "conv1x1": 0.0}
for b, i, o in SHAPES:
    x = torch.randn(b, i, requires_grad=True)
    w = torch.randn(o, i, requires_grad=True)
    bias = torch.randn(o, requires_grad=True)
    g = torch.randn(b, o)
    x4 = x.detach().view(b, i, 1, 1).requires_grad_()
    w4 = w.detach().view(o, i, 1, 1).requires_grad_()
    lin = bench(lambda: F.linear(x, w, bias).backward(g))
    conv = bench(lambda: F.conv2d(x4, w4, bias).backward(g.view(b, o, 1, 1)))
    total["linear"] += lin
    total["conv1x1"] += conv
    print(f"{b}x{i}->{o}: linear {lin:.0f} us, 1x1 conv {conv:.0f} us")
print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}: all seven layers, linear {total['linear'] / 1000:.1f} ms, 1x1 conv {total['conv1x1'] / 1000:.1f} ms")
