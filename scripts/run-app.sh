#!/usr/bin/env bash
# Installs the dependencies, builds the app and opens it on the default experiment.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${PLAB_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" --parallel "$(nproc)"
exec "$build/app/gui/precisionlab" "$@"
