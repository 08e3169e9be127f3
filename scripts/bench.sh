#!/usr/bin/env bash
# Run every benchmark script in bench/ (bench/*.py); each prints its own figures.
# Benchmarks are not part of the test run. Output is also kept in bench/out/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

shopt -s nullglob
scripts=(bench/*.py)
if [[ ${#scripts[@]} -eq 0 ]]; then
    echo "bench: no scripts in bench/"
    exit 0
fi
mkdir -p bench/out var
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.dev}"
for script in "${scripts[@]}"; do
    name="$(basename "$script" .py)"
    echo "== $script"
    .venv/bin/python "$script" 2>&1 | tee "bench/out/$name.txt"
done
