#!/usr/bin/env bash
# Multi-process training throughput on this machine: the same global batch
# trained by 1 process (1 thread), by 2 data-parallel processes and by 2
# chunk-parallel processes (1 thread each), side by side in one run. Prints
# tokens/s, the scaling efficiency (tokens/s over 2x the one-process rate)
# and the bytes each process sends per step.
#   CONFIG=examples/small.json BATCH=4 SEQ_LEN=512 STEPS=12 scripts/bench-distributed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh >/dev/null
config=${CONFIG:-examples/small.json}
batch=${BATCH:-4}
seq_len=${SEQ_LEN:-512}
steps=${STEPS:-12}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
train=(build/bin/megalodon-run train --config "$config"
       --data data/tinyshakespeare.txt --batch "$batch" --seq-len "$seq_len"
       --steps "$steps" --warmup 2 --eval-every 0 --val-batches 1 --quiet
       --cache-dir "$out/cache")

# --quiet keeps the step lines out; the throughput comes from metrics.jsonl
# (the mean tokens/s over the run's steps, the last line's value) and the
# bytes from the communication summary.
run() { # name, command...
  local name=$1; shift
  "$@" --out "$out/$name" > "$out/$name.log" 2>&1 || {
    cat "$out/$name.log"; exit 1; }
  grep -o '"tokens_per_s":[0-9.e+]*' "$out/$name/metrics.jsonl" | tail -1 |
    cut -d: -f2
}
echo "config $config, global batch $batch x $seq_len tokens, $steps steps"
one=$(run one "${train[@]}" --threads 1)
dp=$(run dp mpirun --oversubscribe -np 2 "${train[@]}" --dp 2 --threads 1)
cp=$(run cp mpirun --oversubscribe -np 2 "${train[@]}" --cp 2 --threads 1)
bytes() { sed -n 's/^communication per step and process: //p' "$out/$1.log"; }
printf '%-28s %10s %10s  %s\n' layout "tokens/s" efficiency "sent per step and process"
printf '%-28s %10.0f %10s\n' "1 process" "$one" "-"
for name in dp cp; do
  value=${!name}
  label=$([ "$name" = dp ] && echo "2 processes, data parallel" ||
          echo "2 processes, chunk parallel")
  printf '%-28s %10.0f %9.0f%%  %s\n' "$label" "$value" \
    "$(awk -v a="$value" -v b="$one" 'BEGIN { print 100 * a / (2 * b) }')" \
    "$(bytes "$name")"
done
