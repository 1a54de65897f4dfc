#!/usr/bin/env bash
# The engine's include graph points one way (docs/architecture.md, "Layering"):
#   - backend, model, protocol, store, data and core include nothing of train/;
#   - core includes only numerics/ and core/ (of the engine's own headers).
# Usage: check_layering.sh ENGINE_DIR. Prints "FILE:LINE: what" for each include that
# breaks a rule and exits 1; exits 0 when there is none, 2 when ENGINE_DIR is wrong.
set -u
engine=${1:?usage: check_layering.sh ENGINE_DIR}
if [[ ! -d "$engine/core" ]]; then
  echo "check_layering.sh: $engine has no core/ folder (pass the engine/ folder)" >&2
  exit 2
fi
sources() { find "$1" -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' \) | sort; }
# An engine include: #include "module/..." or <module/...>.
include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]'
bad=0
for module in backend model protocol store data core; do
  [[ -d "$engine/$module" ]] || continue
  while IFS= read -r file; do
    while IFS=: read -r line text; do
      echo "$file:$line: $module includes train/ ($text)"
      bad=1
    done < <(grep -nE "${include_re}train/" "$file")
  done < <(sources "$engine/$module")
done
modules=$(find "$engine" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | grep -vxE 'numerics|core' | paste -sd'|')
if [[ -n "$modules" ]]; then
  while IFS= read -r file; do
    while IFS=: read -r line text; do
      echo "$file:$line: core includes a module other than numerics/ and core/ ($text)"
      bad=1
    done < <(grep -nE "${include_re}(${modules})/" "$file")
  done < <(sources "$engine/core")
fi
if [[ $bad -ne 0 ]]; then
  echo "engine include layering broken: see docs/architecture.md, \"Layering\"" >&2
  exit 1
fi
echo "engine include layering holds ($(sources "$engine" | wc -l) files checked)"
