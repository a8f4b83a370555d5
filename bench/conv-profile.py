# One DCGAN layer in PyTorch 1.13 on the CPU: ConvTranspose2d 128->64 and Conv2d 64->128, forward + backward,
# batch 64, by threads, memory format and oneDNN on/off. Run: OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/conv-profile.py
import torch, time, sys
torch.manual_seed(0)
def bench(fn, n=20):
    for _ in range(3): fn()
    t = time.perf_counter()
    for _ in range(n): fn()
    return (time.perf_counter() - t) / n * 1000

def layers(fmt):
    ct = torch.nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False)
    c = torch.nn.Conv2d(64, 128, 4, 2, 1, bias=False)
    x1 = torch.randn(64, 128, 7, 7, requires_grad=True)
    x2 = torch.randn(64, 64, 14, 14, requires_grad=True)
    if fmt == "cl":
        ct = ct.to(memory_format=torch.channels_last); c = c.to(memory_format=torch.channels_last)
        x1 = x1.detach().to(memory_format=torch.channels_last).requires_grad_()
        x2 = x2.detach().to(memory_format=torch.channels_last).requires_grad_()
    def f1():
        y = ct(x1); y.sum().backward()
    def f2():
        y = c(x2); y.sum().backward()
    return f1, f2

for threads in [1, 2]:
    torch.set_num_threads(threads)
    for fmt in ["contig", "cl"]:
        for mk in [True, False]:
            torch.backends.mkldnn.enabled = mk
            f1, f2 = layers(fmt)
            print(f"threads {threads} {fmt:6} mkldnn {mk!s:5}: convT 128->64 fwd+bwd {bench(f1):7.2f} ms, conv 64->128 fwd+bwd {bench(f2):7.2f} ms", flush=True)
