#!/usr/bin/env bash
# Proves check_layering.sh fails where it should: a copy of the engine's folder layout
# with one store header that includes train/ and one core header that includes
# backend/ must be reported, each by file and line, with exit code 1.
set -u
script=${1:?usage: check_layering_catches.sh CHECK_SCRIPT}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/engine/core" "$tmp/engine/store" "$tmp/engine/backend" "$tmp/engine/train" "$tmp/engine/numerics"
printf '#pragma once\n#include "core/records.h"\n#include "train/trainer.h"\n' > "$tmp/engine/store/bad.h"
printf '#pragma once\n#include "numerics/precision.h"\n\n#include <vector>\n  #  include "backend/backend.h"\n' > "$tmp/engine/core/bad.h"
printf '#include "train/trainer.h"\n#include "backend/backend.h"\n' > "$tmp/engine/train/fine.cpp"
out=$(bash "$script" "$tmp/engine" 2>&1)
code=$?
fail() { echo "check_layering.sh missed it: $1"; echo "its output was:"; echo "$out"; exit 1; }
[[ $code -eq 1 ]] || fail "exit code $code, expected 1"
grep -q "engine/store/bad.h:3: store includes train/" <<<"$out" || fail "store/bad.h line 3"
grep -q "engine/core/bad.h:5: core includes a module" <<<"$out" || fail "core/bad.h line 5"
! grep -q "train/fine.cpp" <<<"$out" || fail "train/ may include anything, yet fine.cpp was reported"
! grep -q "core/bad.h:2" <<<"$out" || fail "core may include numerics/, yet line 2 was reported"
echo "check_layering.sh reports both broken includes by file and line"
