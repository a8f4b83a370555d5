#!/usr/bin/env bash
# Reproduces docs/zoo.md: trains every zoo variant for the same budget (one epoch of MNIST at
# batch 64, 937 steps; five for the MLPs, as docs/quality.md; 400 for BEGAN and EBGAN, whose
# autoencoder D costs several times as much a step) from seed 0, scores each with
# `gantry eval --json` on 10,000 samples, saves a sample grid to docs/images/zoo-NAME.png and
# writes the table. Runs that finished are kept; rerunning resumes the list.
# Usage: bash scripts/zoo-table.sh [OUT_DIR] [LANE/LANES]   e.g. two lanes at once: 0/2 and 1/2,
# each on one engine thread (GANTRY_NUM_THREADS=1); render with the last one to finish.
# About 100 minutes of one core per lane on a 2-core machine with two lanes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/zoo}
lane=${2:-0/1}
mkdir -p "$out" docs/images
rows=(
  "mnist-mlp|--preset mnist-mlp --epochs 5"
  "mnist-cnn-mlp|--preset mnist-cnn-mlp --epochs 1"
  "mnist-dcgan|--preset mnist-dcgan --epochs 1"
  "mnist-cgan|--preset mnist-cgan --epochs 5"
  "mnist-acgan|--preset mnist-acgan --epochs 1"
  "mnist-projection|--preset mnist-projection --epochs 1"
  "mnist-infogan|--preset mnist-infogan --epochs 1"
  "mnist-wgan-gp|--preset mnist-wgan-gp --epochs 1"
  "mnist-wgan-div|--preset mnist-wgan-div --epochs 1"
  "mnist-lsgan|--preset mnist-lsgan --epochs 1"
  "mnist-hinge-sn|--preset mnist-hinge-sn --epochs 1"
  "mnist-ragan|--preset mnist-ragan --epochs 1"
  "mnist-ralsgan|--preset mnist-ralsgan --epochs 1"
  "mnist-dragan|--preset mnist-dragan --epochs 1"
  "mnist-began|--preset mnist-began --steps 400"
  "mnist-ebgan|--preset mnist-ebgan --steps 400"
)
i=0
for row in "${rows[@]}"; do
  mine=$(( i % ${lane#*/} == ${lane%/*} ))
  i=$(( i + 1 ))
  [ "$mine" = 1 ] || continue
  name=${row%%|*}
  flags=${row#*|}
  [ -f "$out/$name.eval.json" ] && continue
  rm -rf "${out:?}/$name"
  start=$(date +%s)
  # shellcheck disable=SC2086
  node bin/gantry.js train $flags --seed 0 --out "$out/$name" > "$out/$name.log"
  echo "{\"seconds\": $(( $(date +%s) - start ))}" > "$out/$name.time.json"
  node bin/gantry.js sample --run "$out/$name" --count 32 --seed 1 --out "docs/images/zoo-$name.png" > /dev/null
  node bin/gantry.js eval --run "$out/$name" --json > "$out/$name.eval.tmp" && mv "$out/$name.eval.tmp" "$out/$name.eval.json"
  echo "$name done in $(( $(date +%s) - start )) s"
done
done_rows=()
for row in "${rows[@]}"; do [ -f "$out/${row%%|*}.eval.json" ] && done_rows+=("$row"); done
if [ ${#done_rows[@]} = ${#rows[@]} ]; then
  node scripts/zoo-table.mjs "$out" "${rows[@]}" > docs/zoo.md
  echo "wrote docs/zoo.md"
else
  echo "${#done_rows[@]}/${#rows[@]} rows done; docs/zoo.md is written when all are"
fi
