#!/usr/bin/env bash
# The main job on the embedded default: compile the tiny config to IR, verify
# it, then evaluate a seeded random model on the embedded corpus (Tiny
# Shakespeare, bytes) with compiled CPU code, and check it against the fp64
# reference interpreter on the same windows.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
bin=build/bin
out=out/demo
mkdir -p "$out"

echo "== emit: examples/tiny.json -> $out/tiny.mlir"
"$bin/megalodon-run" emit --config examples/tiny.json > "$out/tiny.mlir"
grep -c "megalodon\." "$out/tiny.mlir" | sed 's/^/   megalodon ops: /'

echo "== verify: megalodon-opt $out/tiny.mlir"
"$bin/megalodon-opt" "$out/tiny.mlir" -o /dev/null && echo "   verified"

echo "== init: seeded random weights"
"$bin/megalodon-run" init --config examples/tiny.json --seed 0 -o "$out/tiny-init.safetensors"

for backend in cpu reference; do
  echo "== eval ($backend): data/tinyshakespeare.txt, first 256 windows of 64"
  "$bin/megalodon-run" eval --config examples/tiny.json \
    --weights "$out/tiny-init.safetensors" --tokens data/tinyshakespeare.txt \
    --seq-len 64 --batch 8 --max-windows 256 --backend "$backend"
done
