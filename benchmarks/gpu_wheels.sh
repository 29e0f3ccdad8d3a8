#!/usr/bin/env bash
# Wheels of what autoda needs beyond Python, torch, torchvision, numpy, matplotlib, rich and
# click, for a GPU machine that has those but no network (benchmarks/gpu_suite.sh installs
# them there). Run where a package registry answers:
#   benchmarks/gpu_wheels.sh [DIR]     # DIR: benchmarks/wheels by default (git-ignored)
# PYTHON_VERSION (default 3.12) and PLATFORM (default manylinux2014_x86_64) describe the
# GPU machine's Python. No dependency is followed (kornia's would fetch torch): the list
# below is the closure that machine lacks.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/benchmarks/wheels}"
mkdir -p "$dest"
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$dest" \
    --python-version "${PYTHON_VERSION:-3.12}" --platform "${PLATFORM:-manylinux2014_x86_64}" \
    --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    kornia kornia_rs "lark>=1.2" interegular "RestrictedPython>=7.0" \
    optuna alembic sqlalchemy greenlet Mako colorlog \
    openai distro jiter pydantic pydantic_core annotated_types typing_inspection sniffio
ls "$dest"
