"""Paper-compatible Python policies, run without trusting them: RestrictedPython in a
resource-limited worker process. See docs/python-policies.md.

Beside the engine, never importing it nor imported by it: PythonStep implements the
engine's epoch-step interface and reaches it as a value (a checked policy's ``python``
makes one), handed over by the front door, autoda.policies.

- static_checks: static checks in the parent (P001-P004) and the carrier policy;
- guards: what restricted code may touch, inside the worker;
- worker / client: the worker process and the parent's side of it (limits, timeouts);
- validate: the checks on what get_aug_type returns;
- step: PythonStep, stepping a Python policy one epoch in a worker;
- policy: checking a Python policy (with a trial run).
"""
from .client import FAILURE_KINDS, SandboxClient, SandboxError, SandboxLimits
from .policy import TrialCut, check_python_policy, trial_run
from .static_checks import PARAMETERS, PythonPolicy, check_python_source, default_ops
from .step import PythonStep

__all__ = ["FAILURE_KINDS", "PARAMETERS", "PythonPolicy", "PythonStep", "SandboxClient", "SandboxError",
           "SandboxLimits", "TrialCut", "check_python_policy", "check_python_source", "default_ops", "trial_run"]
