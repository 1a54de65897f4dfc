#!/usr/bin/env bash
# Runs ON THE GPU MACHINE, in the repository root, after scripts/gpu/pack.sh filled
# .carry/ on the build machine (it unpacks the libraries itself if run-checks.sh did
# not). Checks the CUDA backend's channels-last (NHWC) convolution path:
#   1. the conformance suite, the "layout chain" cases in NCHW and NHWC among them;
#   2. the small Fashion-MNIST CNN one epoch in fp16 and bf16 with NHWC convolutions
#      and, for comparison, fp16 with NCHW ones;
#   3. the CNN's fp16 step time in NCHW and NHWC side by side in one invocation, at
#      batch 128 and 512, each order twice (nchw first, then nhwc first) so that a
#      warm-up effect would show.
# Logs under gpu-out/nhwc-*, a summary in $OUT/summary.txt (or gpu-out/summary.txt).
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/setup-env.sh

timeout "$limit" "$cli" selftest --backend cuda > "$out/nhwc-selftest.txt" 2>&1
echo "nhwc: selftest --backend cuda: rc=$? ($(tail -n 3 "$out/nhwc-selftest.txt" | tr '\n' ' '))" >> "$summary"
grep -E "FAIL" "$out/nhwc-selftest.txt" | head -40 >> "$summary"
echo "nhwc: layout chain checks: $(grep -c 'layout chain' "$out/nhwc-selftest.txt")" >> "$summary"

for run in fp16:nhwc bf16:nhwc fp16:nchw; do
  p=${run%%:*} layout=${run##*:}
  python3 - "$p" <<'PY'
import json, sys
p = sys.argv[1]
e = json.load(open("experiments/fashion-mnist-cnn.json"))
for layer in e["network"]["layers"]:
    layer["precision"] = p
e["epochs"] = 1
e["title"] = f"CNN, every layer {p}"
e["loss_scaling"] = {"mode": "dynamic"} if p == "fp16" else {"mode": "none"}
json.dump(e, open(f"gpu-out/nhwc-cnn-{p}.json", "w"), indent=1)
PY
  PLAB_CUDA_CONV_LAYOUT=$layout timeout "$limit" "$cli" run "$out/nhwc-cnn-$p.json" --backend cuda \
    --db "$out/nhwc-cnn.sqlite" --summary-json "$out/nhwc-cnn-$p-$layout.json" > "$out/nhwc-cnn-$p-$layout.txt" 2>&1
  echo "nhwc: cnn $p $layout on cuda: rc=$? $(accuracy "$out/nhwc-cnn-$p-$layout.json")" >> "$summary"
done

for batch in 128 512; do
  for order in "fp16-mixed@nchw,fp16-mixed@nhwc" "fp16-mixed@nhwc,fp16-mixed@nchw"; do
    log="$out/nhwc-bench-b$batch-${order%%,*}.txt"
    timeout "$limit" "$cli" bench experiments/fashion-mnist-cnn.json --backend cuda --batch $batch --steps 200 \
      --warmup 20 --no-store --configs "$order,bf16-mixed@nchw,bf16-mixed@nhwc" > "$log" 2>&1
    echo "nhwc: bench cnn batch $batch ($order): rc=$?" >> "$summary"
    sed -n '/^config/,/^$/p' "$log" >> "$summary"
  done
done
