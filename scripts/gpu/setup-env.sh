# Sourced (not run) by the GPU check scripts, ON THE GPU MACHINE, from the repository
# root: unpacks the libraries pack.sh carried, points the loader at them and at the
# machine's own CUDA runtime, cuBLAS(Lt) and cuDNN (every folder of PyTorch's nvidia
# wheels holding a shared library), puts Fashion-MNIST where the app looks, and sets
#   out, summary, cli, limit   and the functions   accuracy SUMMARY_JSON,
#   experiment_every_layer SOURCE FORMAT DEST
out=gpu-out
mkdir -p "$out"
summary="${OUT:-$out}/summary.txt"
[[ -d .carry/lib ]] || tar -C .carry -xJf .carry/lib.tar.xz
nvlibs=$(python3 -c 'import os, nvidia; print(":".join(sorted({r for p in nvidia.__path__ for r, _, f in os.walk(p) if any(".so" in x for x in f)})))')
export LD_LIBRARY_PATH="$PWD/.carry/lib:$nvlibs"
mkdir -p /usr/share/datasets/fashion-mnist && cp -n .carry/fashion-mnist/*.gz /usr/share/datasets/fashion-mnist/ 2>/dev/null
cli="$PWD/.carry/bin/precisionlab-cli"
limit=${PLAB_STEP_TIMEOUT:-150}   # seconds per command
accuracy() { python3 -c "import json; d=json.load(open('$1')); print(d.get('status'), 'test_accuracy', d.get('test_accuracy'), 'median_step_ms', d.get('median_step_ms'), d.get('error', ''))" 2>/dev/null; }
# experiment_every_layer SOURCE FORMAT DEST: SOURCE with every layer in FORMAT, one
# epoch, dynamic loss scaling for the formats that need it (fp16, fp8) and none else.
experiment_every_layer() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
source, p, dest = sys.argv[1:]
e = json.load(open(source))
for layer in e["network"]["layers"]:
    layer["precision"] = p
e["epochs"] = 1
e["title"] = f"{e.get('title', source)}, every layer {p}"
e["loss_scaling"] = {"mode": "dynamic"} if p in ("fp16", "fp8_e4m3", "fp8_e5m2") else {"mode": "none"}
json.dump(e, open(dest, "w"), indent=1)
PY
}
