"""Shared test set-up: hypothesis profiles.

The default profile is derandomised, so CI runs the same examples every time and a
failure reproduces; AUTODA_HYPOTHESIS=thorough explores more, with fresh randomness.
"""
import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))  # tests/strategies.py for every test module

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=150,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=2000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("AUTODA_HYPOTHESIS", "ci"))
