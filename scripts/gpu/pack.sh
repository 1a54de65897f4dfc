#!/usr/bin/env bash
# Builds the engine and precisionlab-cli for Hopper (sm_90 machine code + compute_90
# PTX, so newer GPUs run it too) on a machine WITHOUT a GPU (nvcc, cuBLAS and cuDNN
# under /usr/local/cuda), with no Qt, and packs what a GPU machine needs into .carry/:
#   .carry/bin/precisionlab-cli
#   .carry/lib.tar.xz       shared libraries ldd names that are neither CUDA's nor the C/C++ runtime's
#   .carry/fashion-mnist/   the dataset files (the GPU machine has no internet)
#   .carry/repo-scripts     nothing: scripts travel with the working tree
# The GPU machine brings its own CUDA runtime, cuBLAS and cuDNN (PyTorch's wheels);
# scripts/gpu/verify-all.sh (through setup-env.sh) points the loader at them. See docs/gpu-testing.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${PLAB_GPU_BUILD:-build-cuda}
archs=${PLAB_GPU_ARCHS:-90}   # 90 = sm_90 + compute_90 PTX
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPLAB_WITH_CUDA=ON -DPLAB_WITH_GUI=OFF \
  -DCMAKE_CUDA_ARCHITECTURES="$archs" -DCMAKE_DISABLE_FIND_PACKAGE_Qt6=ON >/dev/null
cmake --build "$build" --target precisionlab-cli -j"${PLAB_JOBS:-2}"
rm -rf .carry
mkdir -p .carry/bin .carry/lib .carry/fashion-mnist
cp "$build/app/cli/precisionlab-cli" .carry/bin/
strip .carry/bin/precisionlab-cli
skip='libcuda\.|libcudart|libcublas|libcudnn|libnv|/libc\.so|/libm\.so|libstdc\+\+|libgcc_s|ld-linux|libpthread|libdl\.|librt\.'
ldd .carry/bin/precisionlab-cli | awk '/=> \// {print $3}' | grep -Ev "$skip" | while read -r lib; do
  cp -L "$lib" .carry/lib/
done
tar -C .carry -cJf .carry/lib.tar.xz lib
rm -rf .carry/lib
cp /usr/share/datasets/fashion-mnist/*.gz .carry/fashion-mnist/
du -sh .carry/* 
