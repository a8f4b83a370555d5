#!/usr/bin/env bash
# Checks gantry on a CUDA machine that has a pip-installed PyTorch 2.x but maybe no Node.js or
# network: builds the addon against that PyTorch's libtorch (found by scripts/libtorch.mjs),
# runs the engine's tests with CUDA present, trains on the GPU through the CLI, compares
# safetensors bytes with the official library, and benchmarks GAN steps against PyTorch on CUDA.
#
# Expects, beside the working tree: dist/ (built here), node_modules/node-addon-api and pngjs,
# and .device/ holding node.xz (a compressed node binary), include/ (Node-API headers) and
# cache/mnist/ (MNIST's train files, gzipped). Writes logs to $OUT (or ./gpu-out).
set -u
out=${OUT:-gpu-out}
mkdir -p "$out" /tmp/nodebin
log="$out/log.txt"
step() { echo "=== $* ($(date +%T))" | tee -a "$log"; }

step "node and torch"
xz -dc .device/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node
export PATH=/tmp/nodebin:$PATH OPENBLAS_NUM_THREADS=1 GANTRY_CACHE_DIR=$PWD/.device/cache TORCH_PYTHON=python3
{ node --version; python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'cxx11abi', torch.compiled_with_cxx11_abi())"; nvidia-smi -L; which g++ c++; } 2>&1 | tee -a "$log"

step "build the addon against pip torch"
node scripts/libtorch.mjs --json 2>&1 | tee -a "$log"
mkdir -p build/Release
start=$(date +%s)
g++ -O2 -std=c++17 -fPIC -shared -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -I.device/include -Inode_modules/node-addon-api \
  $(node scripts/libtorch.mjs --include | tr ' ' '\n' | sed 's/^/-I/') $(node scripts/libtorch.mjs --cflags) \
  native/ops.cc native/tensor.cc $(node scripts/libtorch.mjs --libs) -o build/Release/gantry.node 2>&1 | grep -v "warning\|note:" | head -40 | tee -a "$log"
echo "build: $(( $(date +%s) - start )) s" | tee -a "$log"
node -e 'import("./dist/src/engine/index.js").then(E => console.log("libtorch", E.torchVersion(), "devices", E.devices().join(" "), "threads", E.getNumThreads()))' 2>&1 | tee -a "$log"

step "engine tests with CUDA present"
node --expose-gc --test --test-reporter=spec dist/src/engine/device.test.js dist/src/engine/ops.test.js dist/src/engine/gradcheck.test.js \
  dist/src/engine/errors.test.js dist/src/engine/memory.test.js dist/src/optim/optim.test.js 2>&1 | grep -E "^(✖|ℹ)|Error|element" | head -60 | tee -a "$log"

step "safetensors bytes against the official library"
node -e '
import("./dist/src/engine/index.js").then(E => {
  E.manualSeed(0);
  E.saveSafetensors("/tmp/ours.safetensors", { "net.0.weight": E.randn([4, 3]), "net.0.bias": E.randn([4], { dtype: "float64" }),
    steps: E.tensor([7], { dtype: "int64" }), half: E.tensor([1.5, 2], { dtype: "bfloat16" }), mask: E.tensor([true, false]) }, { format: "pt" });
})' 2>&1 | tee -a "$log"
python3 - <<'PY' 2>&1 | tee -a "$log"
from safetensors import safe_open
from safetensors.torch import load_file, save_file
t = load_file("/tmp/ours.safetensors")
with safe_open("/tmp/ours.safetensors", "pt") as f:
    meta = f.metadata()
save_file(t, "/tmp/theirs.safetensors", metadata=meta)
a, b = open("/tmp/ours.safetensors", "rb").read(), open("/tmp/theirs.safetensors", "rb").read()
print("official safetensors read gantry's file:", {k: (str(v.dtype), list(v.shape)) for k, v in t.items()})
print("byte-identical after the official re-save:", a == b, len(a), len(b))
if a != b: print(a[:300]); print(b[:300])
PY

step "train mnist-mlp on cuda through the CLI, resume, sample"
node bin/gantry.js train --preset mnist-mlp --device cuda --steps 300 --out /tmp/gpu-run 2>&1 | tail -4 | tee -a "$log"
node bin/gantry.js train --resume /tmp/gpu-run --steps 400 2>&1 | tail -2 | tee -a "$log"
node bin/gantry.js sample --run /tmp/gpu-run --device cuda --count 64 --out "$out/gpu-samples.png" 2>&1 | tee -a "$log"
node bin/gantry.js train --preset mnist-wgan-gp --device cuda --steps 50 --out /tmp/gpu-wgan 2>&1 | tail -1 | tee -a "$log"

step "bench: GAN steps on cuda, gantry vs PyTorch"
BENCH_DEVICE=cuda BENCH_THREADS=8 BENCH_ROUNDS=5 node dist/bench/gan.js 2>&1 | tail -14 | tee -a "$log"
step "done"
