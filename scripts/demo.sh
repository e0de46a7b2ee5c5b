#!/usr/bin/env bash
# The main job on the embedded default: train the tiny config on the embedded
# corpus (Tiny Shakespeare, bytes) with compiled training steps, print the
# validation loss before and after, check the trained model's loss against
# the fp64 reference interpreter, then generate text from it.
# STEPS=N overrides the length of the run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
bin=build/bin
out=out/demo
steps=${STEPS:-1500}
rm -rf "$out"
mkdir -p "$out"

echo "== train: examples/tiny.json on data/tinyshakespeare.txt, $steps steps"
"$bin/megalodon-run" train --config examples/tiny.json \
  --data data/tinyshakespeare.txt --out "$out/train" --seed 0 \
  --steps "$steps" --batch 8 --seq-len 64 --lr 3e-3 --warmup 100 \
  --schedule cosine --eval-every 250 --val-batches 64 --save-every 500 \
  --quiet

weights="$out/train/latest/model.safetensors"
for backend in cpu reference; do
  echo "== eval ($backend): trained model, last 64 windows of 64 bytes"
  tail -c 4160 data/tinyshakespeare.txt > "$out/tail.txt"
  "$bin/megalodon-run" eval --config examples/tiny.json --weights "$weights" \
    --tokens "$out/tail.txt" --seq-len 64 --batch 8 --backend "$backend"
done

echo "== generate: 300 bytes after \"ROMEO:\""
"$bin/megalodon-run" generate --config examples/tiny.json --weights "$weights" \
  -p "ROMEO:" -n 300 --temp 0.8 --top-k 40 --seed 0
echo
