#!/usr/bin/env bash
# The CPU speed target of issue 4, measured side by side in one run (docs/PERFORMANCE.md):
# our fp32 training step against PyTorch's on the same network (784-256-128-10, ReLU,
# Adam, batch 128), and our emulated fp16/bf16 steps against our fp32 step.
#
# The two programs take turns, ROUNDS times, so that load from other processes hits
# both alike; each reports the median of STEPS steps after a warm-up, and the table
# shows the median of those medians. Both use THREADS threads (OpenBLAS for ours,
# torch.set_num_threads for PyTorch).
#
# usage: bench/compare_cpu_speed.sh [BUILD_DIR] (defaults: build, ROUNDS=5, STEPS=200, THREADS=1;
# CLI=path overrides the binary, EXPERIMENT=path the experiment file)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${1:-$root/build}"
cli="${CLI:-$build/app/cli/precisionlab-cli}"
rounds="${ROUNDS:-5}"
steps="${STEPS:-200}"
threads="${THREADS:-1}"
python="${PYTHON:-/usr/bin/python3}"
experiment="${EXPERIMENT:-$root/experiments/fashion-mnist-mlp.json}"
# Both programs get the same thread budget: OpenBLAS and OpenMP (PyTorch's intra-op pool and
# whatever BLAS it calls) are limited alike, so neither oversubscribes the cores.
export OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

for round in $(seq "$rounds"); do
  "$cli" bench "$experiment" --backend cpu --json --no-store \
    --steps "$steps" --warmup 20 > "$out/ours-$round.json"
  "$python" "$here/torch_mlp.py" --json --steps "$steps" --warmup 20 --threads "$threads" > "$out/torch-$round.json"
done

"$python" - "$out" "$rounds" "$threads" <<'PY'
import json, os, statistics, sys
out, rounds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ours = [json.load(open(os.path.join(out, "ours-%d.json" % r))) for r in range(1, rounds + 1)]
torch = [json.load(open(os.path.join(out, "torch-%d.json" % r))) for r in range(1, rounds + 1)]
def med(config):
    return statistics.median(next(x["median_step_ms"] for x in o["results"] if x["config"] == config) for o in ours)
pt = statistics.median(t["median_step_ms"] for t in torch)
fp32 = med("fp32")
print("device: %s, %s thread(s), %d rounds, %s" % (ours[0]["device"], threads, rounds, torch[0]["framework"]))
print("%-22s %10s %12s" % ("step (batch 128)", "median ms", "ratio"))
print("%-22s %10.3f %12s" % ("pytorch fp32", pt, "1.00x torch"))
print("%-22s %10.3f %9.2fx torch" % ("ours fp32", fp32, fp32 / pt))
for config in ("tf32", "fp16-mixed", "bf16-mixed"):
    ms = med(config)
    print("%-22s %10.3f %9.2fx fp32" % ("ours " + config, ms, ms / fp32))
print("rounds, ours fp32 ms:", ", ".join("%.3f" % next(x["median_step_ms"] for x in o["results"] if x["config"] == "fp32") for o in ours))
print("rounds, torch ms:    ", ", ".join("%.3f" % t["median_step_ms"] for t in torch))
PY
