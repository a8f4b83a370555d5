#!/usr/bin/env bash
# Reproduces docs/quality.md: trains each preset for a fixed budget from seed 0, scores it with
# `gantry eval --json`, and writes the table. Each row's command is printed in the table.
# About an hour on 2 CPU cores. Usage: bash scripts/quality-table.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/quality}
mkdir -p "$out"
rows=(
  "mnist-mlp-5ep|--preset mnist-mlp --epochs 5"
  "mnist-mlp-30ep|--preset mnist-mlp --epochs 30"
  "mnist-cnn-mlp|--preset mnist-cnn-mlp --epochs 1"
  "mnist-dcgan|--preset mnist-dcgan --epochs 1"
  "mnist-cgan|--preset mnist-cgan --epochs 5"
  "mnist-acgan|--preset mnist-acgan --epochs 1"
  "mnist-lsgan|--preset mnist-lsgan --epochs 1"
  "mnist-hinge-sn|--preset mnist-hinge-sn --epochs 1"
  "mnist-wgan-gp|--preset mnist-wgan-gp --epochs 1"
  "toy-ring8|--preset toy-ring8"
  "toy-grid25|--preset toy-grid25"
)
for row in "${rows[@]}"; do
  name=${row%%|*}
  flags=${row#*|}
  [ -f "$out/$name.eval.json" ] && continue
  start=$(date +%s)
  # shellcheck disable=SC2086
  node bin/gantry.js train $flags --seed 0 --out "$out/$name" > "$out/$name.log"
  echo "{\"seconds\": $(( $(date +%s) - start ))}" > "$out/$name.time.json"
  node bin/gantry.js eval --run "$out/$name" --json > "$out/$name.eval.json"
  echo "$name done in $(( $(date +%s) - start )) s"
done
node scripts/quality-table.mjs "$out" "${rows[@]}" > docs/quality.md
echo "wrote docs/quality.md"
