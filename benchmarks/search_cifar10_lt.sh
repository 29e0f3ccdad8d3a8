#!/usr/bin/env bash
# An offline search on CIFAR-10-LT (IR 100, the JPEG archive in ../shared/data) with a
# schedule a CPU affords, with none, randaugment and cuda evaluated by the same fitness.
# Fitness: balanced validation accuracy after N_FT (default 2) epochs from an epoch-E_CKP
# (default 10) checkpoint of a 20-epoch CE recipe on ResNet-32. The run folder (journal,
# best.dsl, summary.json with evaluations per hour) goes to benchmarks/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
out="benchmarks/results/search_cifar10_lt_offline"
autoda search --proposer offline --dataset folder --data-root ../shared/data/cifar10-jpg.tar.gz \
    --imb-ratio 100 --method ce --net resnet32 --epochs 20 --e-ckp "${E_CKP:-10}" --n-ft "${N_FT:-2}" \
    --population 4 --generations 1 --explore 2 --mutations 2 --seed 0 \
    --baseline none --baseline randaugment --baseline cuda --out "$out"
python - "$out/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
rate = 3600 * s["evaluations"] / s["evaluation_seconds"]
print(f"best {s['best']['name']} {100 * s['best']['fitness']:.2f}%; references "
      + ", ".join(f"{k} {100 * v:.2f}%" for k, v in s["references"].items())
      + f"; {s['evaluations']} evaluations, {rate:.1f} per hour of evaluation, wall {s['wall_seconds']:.0f} s")
PY
