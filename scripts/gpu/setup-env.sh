# Sourced (not run) by the GPU check scripts, ON THE GPU MACHINE, from the repository
# root: unpacks the libraries pack.sh carried, points the loader at them and at the
# machine's own CUDA runtime, cuBLAS(Lt) and cuDNN (every folder of PyTorch's nvidia
# wheels holding a shared library), puts Fashion-MNIST where the app looks, and sets
#   out, summary, cli, limit   and the function   accuracy SUMMARY_JSON
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
