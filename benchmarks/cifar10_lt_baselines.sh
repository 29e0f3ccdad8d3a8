#!/usr/bin/env bash
# Real CIFAR-10-LT (IR 100) results for CE and Balanced Softmax with ResNet-32, from the
# JPEG archive in ../shared/data, with a schedule a CPU affords: EPOCHS epochs (default 30)
# of the standard recipe scaled down (warm-up, x0.01 and x1e-4 at 80% and 90%).
# Metrics (validation and test, many/medium/few/all) go to benchmarks/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${EPOCHS:-30}"
for method in ce bs; do
    autoda train --dataset folder --data-root ../shared/data/cifar10-jpg.tar.gz --imb-ratio 100 \
        --method "$method" --net resnet32 --epochs "$epochs" --seed 0 --report-test \
        --metrics-out "benchmarks/results/cifar10_lt_${method}_${epochs}ep.json"
done
