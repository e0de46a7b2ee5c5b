#!/usr/bin/env bash
# The GPU check: numerics of the cuda backend against the fp64 reference,
# a short training run, generation, and a benchmark table. Run it from the
# repository root on a machine with an NVIDIA GPU and driver:
#
#   scripts/gpu-check.sh [MEGALODON_RUN]
#
# MEGALODON_RUN defaults to build/bin/megalodon-run. A GPU machine without
# LLVM/MLIR runs a megalodon-run linked statically against them (cmake
# -DMEGALODON_STATIC_MLIR=ON, target megalodon-run; strip it and copy it over).
# Every step has its own time limit and a failing step does not stop the
# others; the script exits non-zero if any numeric check fails. Artifacts
# link with ld.lld or cc, which the machine must have.
set -u
bin=${1:-build/bin/megalodon-run}
work=$(mktemp -d)
export MEGALODON_CACHE_DIR="$work/cache"
status=0
# Artifacts are linked by cc (or ld.lld); a machine with only gcc gets a cc.
if ! command -v cc >/dev/null && ! command -v ld.lld >/dev/null &&
  command -v gcc >/dev/null; then
  mkdir -p "$work/bin" && ln -s "$(command -v gcc)" "$work/bin/cc"
  export PATH="$work/bin:$PATH"
fi

step() {
  local limit=$1
  shift
  echo "== $*"
  local start=$SECONDS
  timeout "$limit" "$@"
  local rc=$?
  echo "-- rc=$rc, $((SECONDS - start)) s"
  return $rc
}

# Relative difference of two numbers printed by the steps; fails above tol.
agree() {
  local what=$1 got=$2 want=$3 tol=$4
  python3 - "$what" "$got" "$want" "$tol" <<'EOF' || status=1
import sys
what, got, want, tol = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
err = abs(got - want) / max(abs(want), 1e-30)
print(f"CHECK {what}: cuda {got:.9g} reference {want:.9g} relative error {err:.2e} (tolerance {tol:g}): {'ok' if err <= tol else 'FAILED'}")
sys.exit(0 if err <= tol else 1)
EOF
}

json_field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv

tiny=examples/tiny.json
small=examples/small.json
head -c 40000 data/tinyshakespeare.txt >"$work/text.txt"
step 60 "$bin" init --config $tiny -o "$work/tiny.safetensors" || status=1
step 60 "$bin" init --config $small -o "$work/small.safetensors" || status=1

# 1. Numerics: loss of @loss (forward), of @prefill/@decode_step (streaming)
#    and the gradient norm of @loss_grad against the fp64 interpreter.
for cfg in tiny small; do
  weights="$work/$cfg.safetensors"
  # Windows of one chunk, so that the streamed windows are the evaluated ones.
  chunk=$(python3 -c "import json; print(json.load(open('examples/$cfg.json'))['chunk_size'])")
  ref=$(step 120 "$bin" eval --config examples/$cfg.json --weights "$weights" \
    --tokens "$work/text.txt" --seq-len $chunk --max-windows 2 --json --backend reference)
  echo "$ref"
  gpu=$(step 120 "$bin" eval --config examples/$cfg.json --weights "$weights" \
    --tokens "$work/text.txt" --seq-len $chunk --max-windows 2 --json --backend cuda)
  echo "$gpu"
  agree "$cfg eval loss" "$(echo "$gpu" | grep '^{' | json_field loss)" \
    "$(echo "$ref" | grep '^{' | json_field loss)" 1e-5
  # Parameters stored as bf16, against the reference with the same rounding.
  ref16=$(step 120 "$bin" eval --config examples/$cfg.json --weights "$weights" \
    --tokens "$work/text.txt" --seq-len $chunk --max-windows 2 --json \
    --backend reference --bf16-params)
  gpu16=$(step 120 "$bin" eval --config examples/$cfg.json --weights "$weights" \
    --tokens "$work/text.txt" --seq-len $chunk --max-windows 2 --json \
    --backend cuda --bf16-params)
  echo "$gpu16"
  agree "$cfg eval loss, bf16 parameters" \
    "$(echo "$gpu16" | grep '^{' | json_field loss)" \
    "$(echo "$ref16" | grep '^{' | json_field loss)" 1e-5
  stream=$(step 120 "$bin" eval --config examples/$cfg.json --weights "$weights" \
    --tokens "$work/text.txt" --seq-len $chunk --max-windows 2 --json --backend cuda --streaming)
  echo "$stream"
  agree "$cfg streaming (decode) loss" \
    "$(echo "$stream" | grep '^{' | json_field loss)" \
    "$(echo "$ref" | grep '^{' | json_field loss)" 1e-5
  rg=$(step 120 "$bin" grad --config examples/$cfg.json --weights "$weights" \
    --tokens "$work/text.txt" --json --backend reference)
  echo "$rg"
  gg=$(step 120 "$bin" grad --config examples/$cfg.json --weights "$weights" \
    --tokens "$work/text.txt" --json --backend cuda)
  echo "$gg"
  agree "$cfg gradient loss" "$(echo "$gg" | grep '^{' | json_field loss)" \
    "$(echo "$rg" | grep '^{' | json_field loss)" 1e-5
  agree "$cfg gradient norm" "$(echo "$gg" | grep '^{' | json_field global_grad_norm)" \
    "$(echo "$rg" | grep '^{' | json_field global_grad_norm)" 1e-4
done

# 2. Training on the GPU, then generation from the result.
step 150 "$bin" train --backend cuda --config $tiny --data data/tinyshakespeare.txt \
  --steps 50 --batch 4 --seq-len 64 --eval-every 25 --val-fraction 0.05 \
  --out "$work/run" || status=1
trained="$work/run/latest/model.safetensors"
step 60 "$bin" generate --backend cuda --config $tiny --weights "$trained" \
  -p "ROMEO:" -n 120 --temp 0.8 --top-k 40 --seed 0 || status=1

# 3. Benchmarks (timings, not checks), with the kernels by device time.
step 120 "$bin" bench --backend cuda --config $small --seq-len 2048 --iters 5 \
  --kernel-times
step 120 "$bin" bench --backend cuda --config $small --seq-len 2048 --iters 5 \
  --bf16-params
step 120 "$bin" bench --backend cuda --config $small --seq-len 2048 --iters 3 \
  --train --kernel-times
step 180 "$bin" bench --backend cuda --config examples/mega7.1B-layer.json \
  --seq-len 4096,32768 --iters 2 --kernel-times
echo "launches and status: $status"
rm -rf "$work"
exit $status
