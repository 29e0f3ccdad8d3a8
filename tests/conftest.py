"""Shared test set-up: hypothesis profiles, the sandbox on machines without OS isolation,
and the `cuda` marker (a test that needs a CUDA device skips without one, saying so;
benchmarks/gpu_suite.sh runs them with `pytest -m cuda`).

The default profile is derandomised, so CI runs the same examples every time and a
failure reproduces; AUTODA_HYPOTHESIS=thorough explores more, with fresh randomness.
"""
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))  # tests/strategies.py for every test module

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=150,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=2000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("AUTODA_HYPOTHESIS", "ci"))


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (benchmarks/gpu_suite.sh runs these on a GPU)")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def sandbox_isolation_on_this_machine():
    """Where this machine cannot cut a sandbox worker off from files and the network,
    Python policies are refused unless weak isolation is allowed: the functional tests
    allow it (the escape tests in tests/sandbox/test_isolation.py skip, saying why)."""
    from autoda.doctor import sandbox_layers
    from autoda.sandbox import SandboxError
    from autoda.sandbox.client import ALLOW_WEAK_ENV
    from autoda.sandbox.isolation import REQUIRED, missing_cuts

    try:
        missing = missing_cuts(sandbox_layers())
    except SandboxError:  # no worker at all: the sandbox tests say why
        missing = list(REQUIRED)
    if missing and ALLOW_WEAK_ENV not in os.environ:
        os.environ[ALLOW_WEAK_ENV] = "1"
        yield missing
        del os.environ[ALLOW_WEAK_ENV]
    else:
        yield missing
