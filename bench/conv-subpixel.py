# The sub-pixel decomposition gantry uses for ConvTranspose2d(k4, s2, p1), prototyped in PyTorch: its difference
# from F.conv_transpose2d and both timings. Run: OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/conv-subpixel.py
import torch, time, torch.nn.functional as F
torch.manual_seed(0)
torch.set_num_threads(2)
def bench(fn, n=20):
    for _ in range(3): fn()
    t = time.perf_counter()
    for _ in range(n): fn()
    return (time.perf_counter() - t) / n * 1000
W = torch.randn(128, 64, 4, 4, requires_grad=True)
x = torch.randn(64, 128, 7, 7, requires_grad=True)
taps = {0: [3, 1], 1: [2, 0]}
pads = {0: (1, 0), 1: (0, 1)}
def poly(x, W):
    outs = []
    for a in (0, 1):
        row = []
        for b in (0, 1):
            K = W[:, :, taps[a], :][:, :, :, taps[b]].transpose(0, 1)  # (O, C, 2, 2)
            xp = F.pad(x, (pads[b][0], pads[b][1], pads[a][0], pads[a][1]))
            row.append(F.conv2d(xp, K))
        outs.append(torch.stack(row, -1))  # (B,O,H,W,b)
    y = torch.stack(outs, 3)  # (B,O,H,a,W,b)
    B, O, H, _, Wd, _ = y.shape
    return y.reshape(B, O, 2 * H, 2 * Wd)
ref = F.conv_transpose2d(x, W, stride=2, padding=1)
out = poly(x, W)
print("max diff", (ref - out).abs().max().item())
g = torch.randn_like(ref)
gx1, gw1 = torch.autograd.grad(ref, [x, W], g)
gx2, gw2 = torch.autograd.grad(out, [x, W], g)
print("grad diffs", (gx1 - gx2).abs().max().item(), (gw1 - gw2).abs().max().item())
def f1(): F.conv_transpose2d(x, W, stride=2, padding=1).sum().backward()
def f2(): poly(x, W).sum().backward()
print("native", round(bench(f1), 2), "poly", round(bench(f2), 2))
