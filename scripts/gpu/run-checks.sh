#!/usr/bin/env bash
# Runs ON THE GPU MACHINE, in the repository root, after scripts/gpu/pack.sh filled
# .carry/ on the build machine. Writes every log under ./gpu-out, prints a short
# summary last, and when $OUT is set (the device tool's folder that comes back) packs
# the logs into $OUT/gpu-logs.tar.gz beside $OUT/summary.txt. Steps (each can be skipped: PLAB_STEPS="selftest bench torch train"):
#   selftest  precisionlab-cli selftest --backend cuda (the conformance suite, and
#             captured training steps against op-by-op ones)
#   bench     precisionlab-cli bench on the 784-1024-1024-10 MLP at batch 512 and 1024,
#             with step capture (CUDA graphs) off and on
#   torch     bench/torch_gpu_mlp.py (PyTorch autocast + GradScaler, fused Adam) at 512 and 1024
#   train     the Fashion-MNIST MLP in fp32, fp16 and bf16 on CUDA and on the CPU
#             (PLAB_TRAIN_BACKENDS="cuda cpu"); every command is limited to
#             PLAB_STEP_TIMEOUT seconds (150)
set -uo pipefail
cd "$(dirname "$0")/../.."
out=gpu-out
rm -rf "$out"
mkdir -p "$out"
steps=${PLAB_STEPS:-selftest bench torch train}
tar -C .carry -xJf .carry/lib.tar.xz
# The machine's own CUDA runtime, cuBLAS(Lt) and cuDNN: every folder of PyTorch's
# nvidia wheels that holds a shared library.
nvlibs=$(python3 - <<'PY'
import os, nvidia
dirs = set()
for root in nvidia.__path__:
    for r, _, files in os.walk(root):
        if any(".so" in f for f in files):
            dirs.add(r)
print(":".join(sorted(dirs)))
PY
)
export LD_LIBRARY_PATH="$PWD/.carry/lib:$nvlibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p /usr/share/datasets/fashion-mnist 2>/dev/null && cp -n .carry/fashion-mnist/*.gz /usr/share/datasets/fashion-mnist/ 2>/dev/null
cli="$PWD/.carry/bin/precisionlab-cli"
db="$out/runs.sqlite"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv > "$out/nvidia-smi.txt" 2>&1
ldd "$cli" > "$out/ldd.txt" 2>&1
# The summary goes straight to $OUT (when set), so that it comes back even if the
# command is stopped at its time limit.
summary="${OUT:-$out}/summary.txt"
: > "$summary"
limit=${PLAB_STEP_TIMEOUT:-150}   # seconds per command

if [[ " $steps " == *" selftest "* ]]; then
  timeout "$limit" "$cli" selftest --backend cuda > "$out/selftest-cuda.txt" 2>&1
  echo "selftest --backend cuda: rc=$? ($(tail -n 3 "$out/selftest-cuda.txt" | tr '\n' ' '))" >> "$summary"
  grep -E "FAIL" "$out/selftest-cuda.txt" | head -40 >> "$summary"
fi
if [[ " $steps " == *" bench "* ]]; then
  # Each batch twice, side by side: every operation issued by the host, then the
  # captured step replayed as one CUDA graph launch (--step-capture on).
  for batch in 512 1024; do
    for capture in off on; do
      timeout "$limit" "$cli" bench scripts/gpu/mlp-784-1024-1024-10.json --backend cuda --batch $batch --steps 200 \
        --warmup 20 --step-capture $capture --db "$db" > "$out/bench-cuda-$batch-capture-$capture.txt" 2>&1
      echo "bench cuda batch $batch, step capture $capture: rc=$?" >> "$summary"
      grep -vE '^  ' "$out/bench-cuda-$batch-capture-$capture.txt" | sed -n '1,13p' >> "$summary"
    done
  done
fi
if [[ " $steps " == *" torch "* ]]; then
  for batch in 512 1024; do
    timeout "$limit" python3 bench/torch_gpu_mlp.py --batch $batch > "$out/torch-$batch.txt" 2>&1
    echo "torch batch $batch: rc=$?" >> "$summary"
    cat "$out/torch-$batch.txt" >> "$summary"
  done
fi
train_one() {  # file backend
  local file=$1 backend=$2
  PLAB_STEP_CAPTURE=${PLAB_TRAIN_CAPTURE:-on} timeout "$limit" "$cli" run "experiments/$file.json" --backend "$backend" --db "$out/runs-$file-$backend.sqlite" \
    --summary-json "$out/train-$file-$backend.json" > "$out/train-$file-$backend.txt" 2>&1
  echo "run $file on $backend: rc=$? $(python3 -c "import json; d=json.load(open('$out/train-$file-$backend.json')); print({k: d[k] for k in d if 'acc' in k or k in ('status', 'wall_seconds', 'step_capture')})" 2>/dev/null)" >> "$summary"
}
if [[ " $steps " == *" train "* ]]; then
  # The runs are independent: side by side, each CPU run with 4 OpenBLAS threads.
  export OPENBLAS_NUM_THREADS=4
  for file in fashion-mnist-mlp fashion-mnist-mlp-fp16 fashion-mnist-mlp-bf16; do
    for backend in ${PLAB_TRAIN_BACKENDS:-cuda cpu}; do
      train_one "$file" "$backend" &
    done
  done
  wait
fi
cat "$summary"
if [[ -n "${OUT:-}" ]]; then
  tar -czf "$OUT/gpu-logs.tar.gz" "$out"
fi
