#!/usr/bin/env bash
# Runs every lesson (experiments/lessons/*.json) at full length on the CPU backend on
# seeds 1, 2 and 3 and prints one table row per claim and seed: a teaching claim must
# hold on any seed, not only the file's. The table goes into docs/lessons.md.
#   scripts/check-lessons.sh [SEEDS...]     (default: 1 2 3)
# Exit status 1 when any claim does not hold on any seed.
set -uo pipefail
cd "$(dirname "$0")/.."
cli=${PLAB_CLI:-build/app/cli/precisionlab-cli}
seeds=${*:-1 2 3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
echo "| lesson | claim | seed | result | measured |"
echo "| --- | --- | --- | --- | --- |"
for file in experiments/lessons/*.json; do
  for seed in $seeds; do
    "$cli" sweep "$file" --seed "$seed" --backend cpu --jobs 2 --db "$work/runs.sqlite" \
      --summary-json "$work/summary.json" > "$work/out.txt" 2>&1 || status=1
    python3 - "$file" "$seed" "$work/summary.json" <<'PY'
import json, os, sys
name, seed, path = os.path.basename(sys.argv[1])[:-5], sys.argv[2], sys.argv[3]
try:
    summary = json.load(open(path))
except (OSError, ValueError):
    print(f"| {name} | (the sweep did not run) | {seed} | error | |")
    sys.exit()
for v in summary["variants"]:
    if v["status"] != v.get("expected_status", "completed"):
        print(f"| {name} | variant {v['name']} | {seed} | {v['status']} | {v['error']} |")
for c in summary["claims"]:
    print(f"| {name} | {c['claim']} | {seed} | {c['status']} | {c['measured']} |")
PY
    rm -f "$work/summary.json"
  done
done
exit $status
