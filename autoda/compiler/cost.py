"""The static cost estimate of a policy, checked against a budget.

The compiled graph runs every listed op on every sample and masks what a sample did not
draw (no branches), so a stage costs the sum of its ops' costs whatever its count; all
geometric ops of a sample share one warp, charged once. The unit is one full pass over an
image (about one read and one write of it), from the op registry. A ``one of`` runs each
op once per pass it needs (subpolicies.py), and each of its terms draws its coin and
magnitude per sample: TERM_COST, so that the number of terms is bounded too.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ops import OPS, WARP_COST
from . import ast
from .subpolicies import pass_ops
from .diagnostics import Diagnostic, diag

DEFAULT_BUDGET = 64.0  # every op in the registry once fits with room to spare
# a term's draw, measured at a twentieth of an image pass or less (batch 256 of 32x32 on a
# CPU thread: AutoAugment's 50 terms draw in 1.75 ms, an invert pass takes 0.64 ms)
TERM_COST = 0.05


@dataclass(frozen=True)
class Cost:
    per_sample: float  # image passes per sample
    epoch_ops: int  # vector operations per epoch, over classes
    budget: float

    def __str__(self) -> str:
        return (f"{self.per_sample:g} image passes per sample (budget {self.budget:g}); "
                f"{self.epoch_ops} vector ops per epoch")


def _stage_ops(policy: ast.Policy) -> list[str]:
    """The op of every pass the pipeline runs (a ``one of``'s shared passes once each)."""
    names: list[str] = []
    for stage in policy.stages:
        if isinstance(stage, ast.OneOf):
            members = [[t.op.name for t in member if t.op.name in OPS] for member in stage.members]
            names += pass_ops(members)
            continue
        refs = stage.ops if isinstance(stage, ast.Apply) else (stage.op,)
        names += [r.name for r in refs if r.name in OPS]
    return names


def _vector_ops(node: ast.Expr) -> int:
    """A chain of k comparisons is k comparisons and k - 1 ands; any other node is one."""
    return 2 * len(node.ops) - 1 if isinstance(node, ast.Compare) else 1


def estimate(policy: ast.Policy, budget: float = DEFAULT_BUDGET) -> Cost:
    names = _stage_ops(policy)
    per_sample = sum(OPS[n].cost for n in names)
    if any(OPS[n].kind == "geometric" for n in names):
        per_sample += WARP_COST
    per_sample += TERM_COST * sum(len(s.terms) for s in policy.stages if isinstance(s, ast.OneOf))
    exprs = [s.value for s in policy.epoch or ()]
    exprs += [e for stage in policy.stages for _, e in ast.stage_exprs(stage)]
    epoch_ops = sum(_vector_ops(n) for e in exprs for n in ast.walk(e))
    return Cost(round(per_sample, 3), epoch_ops, budget)


def check_cost(policy: ast.Policy, budget: float = DEFAULT_BUDGET) -> tuple[Cost, list[Diagnostic]]:
    cost = estimate(policy, budget)
    if cost.per_sample <= budget:
        return cost, []
    costliest = sorted(set(_stage_ops(policy)), key=lambda n: -OPS[n].cost)[:3]
    terms = any(isinstance(s, ast.OneOf) for s in policy.stages)
    hint = (f"drop ops{', stages or sub-policies' if terms else ' or stages'}; the costliest here: "
            + ", ".join(f"{n} ({OPS[n].cost:g})" for n in costliest))
    return cost, [diag("C001", policy.sample_span,
                       f"the per-sample section costs about {cost.per_sample:g} image passes per sample; "
                       f"the budget is {budget:g}", hint)]
