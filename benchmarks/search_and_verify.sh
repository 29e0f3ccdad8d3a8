#!/usr/bin/env bash
# A search per method and their from-scratch verdict, end to end, for one preset:
#   benchmarks/search_and_verify.sh [PRESET] [METHOD...]
# PRESET: cifar10-lt-small (default; sized for a CPU) or cifar10-lt (the paper's
# CIFAR-10-LT regime: ResNet-32, 200 epochs; for a GPU). METHOD: ce bs (default).
# Environment: DEVICE (default auto), MAX_TIME (each search's wall-time budget in seconds,
# default 3600), SEEDS (the verdict's, default 0,1,2), WORKERS (evaluations at once, default
# 1), and for an LLM search the usual AUTODA_MODEL / OPENAI_BASE_URL / OPENAI_API_KEY.
# Each search is runs/<preset>-<method>-search; the verdict of all of them (each method's
# best beside none, RandAugment, TrivialAugment, CUDA and DODA) is runs/<preset>-verdict/
# (verdict.json, verdict.md, report.html). Run from the repository root; everything
# resumes: run the same command again after an interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-cifar10-lt-small}"
shift || true
methods=("${@:-ce bs}")
read -r -a methods <<< "${methods[*]}"
device="${DEVICE:-auto}"
runs=()
for method in "${methods[@]}"; do
    run="runs/${preset}-${method}-search"
    if [ -f "$run/journal.sqlite" ]; then
        autoda search --resume "$run" --max-time "${MAX_TIME:-3600}" --workers "${WORKERS:-1}"
    else
        autoda search --preset "$preset" --method "$method" --device "$device" --out "$run" \
            --max-time "${MAX_TIME:-3600}" --workers "${WORKERS:-1}"
    fi
    runs+=("$run")
done
autoda verify "${runs[@]}" --preset "$preset" --seeds "${SEEDS:-0,1,2}" --device "$device" \
    --out "runs/${preset}-verdict"
