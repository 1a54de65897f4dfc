#!/usr/bin/env bash
# Installs the dependencies, builds everything and runs every test suite.
# This is the command README.md gives and the one CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${PLAB_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" --parallel "$(nproc)"
QT_QPA_PLATFORM=offscreen ctest --test-dir "$build" --output-on-failure --parallel "$(nproc)" --timeout 900
