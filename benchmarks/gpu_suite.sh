#!/usr/bin/env bash
# Everything autoda measures on a GPU, in one run of at most 8 minutes (benchmarks/gpu_suite.py
# says what it runs and writes):
#   benchmarks/gpu_suite.sh --data ARCHIVE --out DIR [--budget SECONDS] [--wheels DIR]
#   benchmarks/gpu_suite.sh --dry-run --out DIR      # the same steps on the CPU at toy sizes
# For a machine with its own Python and torch but no network: the packages autoda needs
# beyond those (kornia, lark, optuna, RestrictedPython, openai, ...) are installed from
# wheels prepared beforehand, on a machine with a package registry, by
#   benchmarks/gpu_wheels.sh [DIR]      # DIR: benchmarks/wheels (git-ignored) by default
# Run from anywhere; the wheels folder is benchmarks/wheels unless --wheels names another.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
wheels="$root/benchmarks/wheels"
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --wheels) wheels="$2"; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
if ! "$python" -c "import kornia, lark, optuna, RestrictedPython, openai, rich, click" 2>/dev/null; then
    if ! ls "$wheels"/*.whl >/dev/null 2>&1; then
        echo "gpu_suite: packages missing and no wheels in $wheels: prepare them with benchmarks/gpu_wheels.sh" >&2
        exit 2
    fi
    "$python" -m pip install --quiet --no-index --no-deps "$wheels"/*.whl
fi
exec "$python" "$root/benchmarks/gpu_suite.py" "${args[@]}"
