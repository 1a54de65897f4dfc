#!/usr/bin/env bash
# Runs ON THE GPU MACHINE after scripts/gpu/run-checks.sh set up .carry/ (libraries
# unpacked, dataset in place). Checks the CUDA backend's fp8 products against its
# emulated path (PLAB_CUDA_FP8_GEMM=emulated, docs/gpu-testing.md):
#   - the fp8 conformance cases both ways (selftest --filter fp8),
#   - fp8-mlp.json on CUDA both ways and on the CPU (test accuracy side by side),
#   - the small CNN with every layer in fp8_e4m3 on CUDA both ways,
#   - the fp8 MLP bench (scripts/gpu/mlp-fp8-784-1024-1024-10.json, batch 512 and
#     1024) both ways: its `custom` row is the fp8 network.
# Appends to $OUT/summary.txt (or gpu-out/summary.txt); logs in gpu-out/fp8-*.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/setup-env.sh
# mode: "fp8" (tensor cores where the rules allow) or "emulated" (the default)
with_mode() { local mode=$1; shift; PLAB_CUDA_FP8_GEMM=$mode "$@"; }

for mode in fp8 emulated; do
  with_mode $mode timeout "$limit" "$cli" selftest --backend cuda --filter fp8 > "$out/fp8-selftest-$mode.txt" 2>&1
  echo "fp8 selftest ($mode): rc=$? ($(tail -n 1 "$out/fp8-selftest-$mode.txt"))" >> "$summary"
  grep -E "FAIL" "$out/fp8-selftest-$mode.txt" | head -20 >> "$summary"
done

python3 - <<'PY'
import json
e = json.load(open("experiments/fashion-mnist-cnn.json"))
for layer in e["network"]["layers"]:
    layer["precision"] = "fp8_e4m3"
e["epochs"] = 1
e["title"] = "CNN, every layer fp8_e4m3"
e["loss_scaling"] = {"mode": "dynamic"}
json.dump(e, open("gpu-out/fp8-cnn.json", "w"), indent=1)
PY
for mode in fp8 emulated; do
  ( with_mode $mode timeout "$limit" "$cli" run experiments/fp8-mlp.json --backend cuda --db "$out/fp8-mlp-$mode.sqlite" \
      --summary-json "$out/fp8-mlp-cuda-$mode.json" > "$out/fp8-mlp-cuda-$mode.txt" 2>&1
    echo "fp8-mlp on cuda ($mode): rc=$? $(accuracy "$out/fp8-mlp-cuda-$mode.json")" >> "$summary" ) &
  ( with_mode $mode timeout "$limit" "$cli" run "$out/fp8-cnn.json" --backend cuda --db "$out/fp8-cnn-$mode.sqlite" \
      --summary-json "$out/fp8-cnn-$mode.json" > "$out/fp8-cnn-$mode.txt" 2>&1
    echo "cnn fp8_e4m3 on cuda ($mode): rc=$? $(accuracy "$out/fp8-cnn-$mode.json")" >> "$summary" ) &
done
( OPENBLAS_NUM_THREADS=4 timeout "$limit" "$cli" run experiments/fp8-mlp.json --backend cpu --db "$out/fp8-mlp-cpu.sqlite" \
    --summary-json "$out/fp8-mlp-cpu.json" > "$out/fp8-mlp-cpu.txt" 2>&1
  echo "fp8-mlp on cpu: rc=$? $(accuracy "$out/fp8-mlp-cpu.json")" >> "$summary" ) &
wait

# The benches one at a time, nothing else running.
for batch in 512 1024; do
  for mode in fp8 emulated; do
    with_mode $mode timeout "$limit" "$cli" bench scripts/gpu/mlp-fp8-784-1024-1024-10.json --backend cuda \
      --batch $batch --steps 200 --warmup 20 --no-store > "$out/fp8-bench-$batch-$mode.txt" 2>&1
    echo "fp8 bench batch $batch ($mode): rc=$?" >> "$summary"
    grep -E "^(config|custom)" "$out/fp8-bench-$batch-$mode.txt" >> "$summary"
  done
done
cat "$summary"
if [[ -n "${OUT:-}" ]]; then
  tar -czf "$OUT/fp8-logs.tar.gz" "$out"/fp8-*
fi
