#!/usr/bin/env bash
# The one GPU check: runs ON THE GPU MACHINE, in the repository root, after
# scripts/gpu/pack.sh filled .carry/ on the build machine (docs/gpu-testing.md).
#
# A device session has about 15 minutes in all, so this script
#   - runs the checks in priority order, the most important first;
#   - gives each check its own time limit, never more than the time left;
#   - stops by itself PLAB_VERIFY_BUDGET seconds after it started (450: 7.5 minutes),
#     skipping what no longer fits and saying so;
#   - writes every figure and log straight into $OUT (or gpu-out/ without it) as it
#     goes, so that a run cut off at any point still returns what it measured.
#
# Checks (PLAB_CHECKS picks a subset, e.g. PLAB_CHECKS="selftest bench"):
#   selftest  precisionlab-cli selftest --backend cuda: every conformance case, and the
#             captured training steps against op-by-op ones, bit for bit
#   bench     the 784-1024-1024-10 MLP at batch 512 and 1024, step capture off and on,
#             and PyTorch AMP (bench/torch_gpu_mlp.py) at the same batches, in this call
#   accuracy  the Fashion-MNIST MLP in fp32, fp16 and bf16, seeds 1-3, on CUDA and on
#             the CPU (the 0.5-point parity of the means)
#   nhwc      the layout-chain selftest cases, the CNN in fp16/bf16 with NHWC and fp16
#             with NCHW convolutions, NCHW against NHWC side by side at batch 128, 512
#   fp8       the fp8 selftest cases with cuBLASLt fp8 and emulated products, fp8-mlp
#             both ways, the fp8 MLP bench both ways
#   cnn       the CNN one epoch on CUDA with every layer in each of the six formats
set -uo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS
budget=${PLAB_VERIFY_BUDGET:-450}
checks=${PLAB_CHECKS:-selftest bench accuracy nhwc fp8 cnn}
source scripts/gpu/setup-env.sh     # out, summary, cli, limit, accuracy(), experiment_every_layer()
logs="${OUT:-$out}/logs"
mkdir -p "$logs"
work="$out/work"                     # databases and generated files: not sent back
mkdir -p "$work"
: > "$summary"

say() { echo "$*" | tee -a "$summary"; }
left() { echo $((budget - (SECONDS - started))); }
# within SECONDS CMD...: runs CMD under a limit of SECONDS, cut to the time left.
within() {
  local want=$1; shift
  local remaining; remaining=$(left)
  ((remaining < want)) && want=$remaining
  if ((want < 5)); then
    echo "skipped: $(left) s left" ; return 124
  fi
  timeout --kill-after=5 "$want" "$@"
}
# check NAME MIN_SECONDS: whether NAME is asked for and at least MIN_SECONDS remain.
check() {
  [[ " $checks " == *" $1 "* ]] || return 1
  if (($(left) < $2)); then
    say "== $1: skipped, $(left) s left of $budget (needs about $2)"
    return 1
  fi
  say "== $1 ($((SECONDS - started)) s in)"
}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv > "$logs/nvidia-smi.txt" 2>&1
ldd "$cli" > "$logs/ldd.txt" 2>&1
say "verify-all: checks \"$checks\", budget $budget s, $(head -n 2 "$logs/nvidia-smi.txt" | tail -n 1)"

if check selftest 60; then
  within 150 "$cli" selftest --backend cuda > "$logs/selftest-cuda.txt" 2>&1
  say "selftest --backend cuda: rc=$? $(tail -n 2 "$logs/selftest-cuda.txt" | tr '\n' ' ')"
  grep -E "FAIL" "$logs/selftest-cuda.txt" | head -40 >> "$summary"
  say "captured against op by op: $(grep -ciE 'captur' "$logs/selftest-cuda.txt") lines, $(grep -iE 'captur' "$logs/selftest-cuda.txt" | grep -c FAIL) failing"
fi

if check bench 60; then
  # Ours with capture off and on, then PyTorch AMP, at each batch: side by side in one call.
  for batch in 512 1024; do
    for capture in off on; do
      log="$logs/bench-mlp-$batch-capture-$capture.txt"
      within 60 "$cli" bench scripts/gpu/mlp-784-1024-1024-10.json --backend cuda --batch $batch --steps 200 \
        --warmup 20 --step-capture $capture --no-store > "$log" 2>&1
      say "bench mlp batch $batch, step capture $capture: rc=$?"
      grep -vE '^  ' "$log" | sed -n '1,13p' >> "$summary"
    done
    within 60 python3 bench/torch_gpu_mlp.py --batch $batch > "$logs/torch-mlp-$batch.txt" 2>&1
    say "pytorch amp batch $batch: rc=$?"
    cat "$logs/torch-mlp-$batch.txt" >> "$summary"
  done
fi

if check accuracy 90; then
  # Nine files (three formats, three seeds), each on CUDA and on the CPU, side by side.
  export OPENBLAS_NUM_THREADS=2
  for file in fashion-mnist-mlp fashion-mnist-mlp-fp16 fashion-mnist-mlp-bf16; do
    for seed in 1 2 3; do
      python3 - "$file" "$seed" "$work" <<'PY'
import json, sys
name, seed, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
e = json.load(open(f"experiments/{name}.json"))
e["seed"] = seed
json.dump(e, open(f"{work}/{name}-seed{seed}.json", "w"), indent=1)
PY
      for backend in cuda cpu; do
        ( tag="$file-seed$seed-$backend"
          within 240 "$cli" run "$work/$file-seed$seed.json" --backend $backend --db "$work/$tag.sqlite" \
            --summary-json "$logs/accuracy-$tag.json" > "$logs/accuracy-$tag.txt" 2>&1
          echo "run $tag: rc=$? $(accuracy "$logs/accuracy-$tag.json")" >> "$summary" ) &
      done
    done
  done
  wait
  python3 - "$logs" <<'PY' | tee -a "$summary"
import glob, json, statistics, sys
acc = {}
for path in glob.glob(f"{sys.argv[1]}/accuracy-*.json"):
    d = json.load(open(path))
    stem = path.rsplit("/", 1)[1][len("accuracy-"):-len(".json")]
    name, _seed, backend = stem.rsplit("-", 2)   # fashion-mnist-mlp-fp16, seed1, cuda
    if d.get("status") == "completed" and d.get("test_accuracy") is not None:
        acc.setdefault((name, backend), []).append(d["test_accuracy"])
for name in ("fashion-mnist-mlp", "fashion-mnist-mlp-fp16", "fashion-mnist-mlp-bf16"):
    cuda, cpu = acc.get((name, "cuda"), []), acc.get((name, "cpu"), [])
    if cuda and cpu:
        gap = 100 * (statistics.mean(cuda) - statistics.mean(cpu))
        print(f"parity {name}: cuda mean {statistics.mean(cuda):.4f} ({len(cuda)} seeds), "
              f"cpu mean {statistics.mean(cpu):.4f} ({len(cpu)} seeds), gap {gap:+.2f} points")
    else:
        print(f"parity {name}: incomplete (cuda {len(cuda)}, cpu {len(cpu)} seeds)")
PY
fi

if check nhwc 60; then
  within 90 "$cli" selftest --backend cuda --filter "layout chain" > "$logs/nhwc-selftest.txt" 2>&1
  say "nhwc: layout-chain selftest: rc=$? $(tail -n 1 "$logs/nhwc-selftest.txt")"
  grep -E "FAIL" "$logs/nhwc-selftest.txt" | head -20 >> "$summary"
  for run in fp16:nhwc bf16:nhwc fp16:nchw; do
    p=${run%%:*} layout=${run##*:}
    experiment_every_layer experiments/fashion-mnist-cnn.json "$p" "$work/cnn-$p.json"
    PLAB_CUDA_CONV_LAYOUT=$layout within 90 "$cli" run "$work/cnn-$p.json" --backend cuda --db "$work/nhwc.sqlite" \
      --summary-json "$logs/nhwc-cnn-$p-$layout.json" > "$logs/nhwc-cnn-$p-$layout.txt" 2>&1
    say "nhwc: cnn $p $layout: rc=$? $(accuracy "$logs/nhwc-cnn-$p-$layout.json")"
  done
  for batch in 128 512; do
    log="$logs/nhwc-bench-b$batch.txt"
    within 60 "$cli" bench experiments/fashion-mnist-cnn.json --backend cuda --batch $batch --steps 200 --warmup 20 \
      --no-store --configs "fp16-mixed@nchw,fp16-mixed@nhwc,bf16-mixed@nchw,bf16-mixed@nhwc" > "$log" 2>&1
    say "nhwc: bench cnn batch $batch: rc=$?"
    sed -n '/^config/,/^$/p' "$log" >> "$summary"
  done
fi

if check fp8 60; then
  for mode in fp8 emulated; do
    PLAB_CUDA_FP8_GEMM=$mode within 60 "$cli" selftest --backend cuda --filter fp8 > "$logs/fp8-selftest-$mode.txt" 2>&1
    say "fp8 selftest ($mode): rc=$? $(tail -n 1 "$logs/fp8-selftest-$mode.txt")"
    grep -E "FAIL" "$logs/fp8-selftest-$mode.txt" | head -20 >> "$summary"
    PLAB_CUDA_FP8_GEMM=$mode within 90 "$cli" run experiments/fp8-mlp.json --backend cuda --db "$work/fp8-$mode.sqlite" \
      --summary-json "$logs/fp8-mlp-cuda-$mode.json" > "$logs/fp8-mlp-cuda-$mode.txt" 2>&1
    say "fp8-mlp on cuda ($mode): rc=$? $(accuracy "$logs/fp8-mlp-cuda-$mode.json")"
    for batch in 512 1024; do
      PLAB_CUDA_FP8_GEMM=$mode within 60 "$cli" bench scripts/gpu/mlp-fp8-784-1024-1024-10.json --backend cuda \
        --batch $batch --steps 200 --warmup 20 --no-store > "$logs/fp8-bench-$batch-$mode.txt" 2>&1
      say "fp8 bench batch $batch ($mode): rc=$?"
      grep -E "^(config|custom)" "$logs/fp8-bench-$batch-$mode.txt" >> "$summary"
    done
  done
fi

if check cnn 45; then
  for p in fp32 tf32 fp16 bf16 fp8_e4m3 fp8_e5m2; do
    experiment_every_layer experiments/fashion-mnist-cnn.json "$p" "$work/cnn-$p.json"
    ( within 120 "$cli" run "$work/cnn-$p.json" --backend cuda --db "$work/cnn-$p.sqlite" \
        --summary-json "$logs/cnn-$p.json" > "$logs/cnn-$p.txt" 2>&1
      echo "cnn $p on cuda: rc=$? $(accuracy "$logs/cnn-$p.json")" >> "$summary" ) &
  done
  wait
fi

say "verify-all: done after $((SECONDS - started)) s"
