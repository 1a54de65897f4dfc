#!/usr/bin/env bash
# Runs ON THE GPU MACHINE after scripts/gpu/run-checks.sh set up .carry/ (libraries
# unpacked, dataset in place; it sources the same loader path). Trains the small
# Fashion-MNIST CNN (experiments/fashion-mnist-cnn.json: conv, ReLU, max pool twice,
# linear) for one epoch on CUDA with every layer in each format, fp8-mlp.json on CUDA
# and on the CPU, and benchmarks the CNN. Appends to $OUT/summary.txt (or gpu-out/).
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/setup-env.sh

for p in fp32 tf32 fp16 bf16 fp8_e4m3 fp8_e5m2; do
  python3 - "$p" <<'PY'
import json, sys
p = sys.argv[1]
e = json.load(open("experiments/fashion-mnist-cnn.json"))
for layer in e["network"]["layers"]:
    layer["precision"] = p
e["epochs"] = 1
e["title"] = f"CNN, every layer {p}"
e["loss_scaling"] = {"mode": "dynamic"} if p in ("fp16", "fp8_e4m3", "fp8_e5m2") else {"mode": "none"}
json.dump(e, open(f"gpu-out/cnn-{p}.json", "w"), indent=1)
PY
  ( timeout "$limit" "$cli" run "$out/cnn-$p.json" --backend cuda --db "$out/cnn-$p.sqlite" \
      --summary-json "$out/cnn-$p-summary.json" > "$out/cnn-$p.txt" 2>&1
    echo "cnn $p on cuda: rc=$? $(accuracy "$out/cnn-$p-summary.json")" >> "$summary" ) &
done
for backend in cuda cpu; do
  ( OPENBLAS_NUM_THREADS=4 timeout "$limit" "$cli" run experiments/fp8-mlp.json --backend $backend \
      --db "$out/fp8-$backend.sqlite" --summary-json "$out/fp8-mlp-$backend.json" > "$out/fp8-mlp-$backend.txt" 2>&1
    echo "fp8-mlp on $backend: rc=$? $(accuracy "$out/fp8-mlp-$backend.json")" >> "$summary" ) &
done
wait
timeout "$limit" "$cli" bench experiments/fashion-mnist-cnn.json --backend cuda --steps 100 --no-store \
  > "$out/bench-cnn.txt" 2>&1
echo "bench cnn: rc=$?" >> "$summary"
sed -n '/^config/,/^custom/p' "$out/bench-cnn.txt" >> "$summary"
