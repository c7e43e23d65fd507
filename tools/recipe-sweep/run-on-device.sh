#!/usr/bin/env bash
# On the GPU machine (the `device` tool), from the repository root:
#   bash tools/recipe-sweep/run-on-device.sh tools/recipe-sweep/configs.jsonl DATA_DIR
# One process per config line, all at once (a tiny CNN leaves the GPU mostly idle per
# process); each prints its JSON result line into $OUT/results.jsonl as it finishes.
set -uo pipefail
export OMP_NUM_THREADS=1
configs=$1 data=$2
out=${OUT:-/tmp}/results.jsonl
: >"$out"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
while IFS= read -r line; do
  [ -z "$line" ] && continue
  PYTHONUNBUFFERED=1 python3 tools/recipe-sweep/sweep.py "$data" "$line" >>"$out" 2>>"${OUT:-/tmp}/errors.log" &
done <"$configs"
wait
echo "results: $(wc -l <"$out") of $(grep -c . "$configs")"
python3 tools/recipe-sweep/show.py "$out"
