"""What ``autoda compile`` says about a policy that checks: its ops, state, reads and cost."""
from __future__ import annotations

from .format import format_expr, format_term
from .intervals import format_number
from .check import CheckedPolicy
from . import ast


def _state_text(decl: ast.StateDecl) -> str:
    shape = "per class and op" if decl.per_op else "per class"
    bounds = f" in [{format_expr(decl.lo)}, {format_expr(decl.hi)}]" if decl.lo is not None else ""
    return f"{decl.name}: {decl.type} {shape}{bounds} = {format_expr(decl.init)}"


def _stage_text(stage: ast.Stage) -> str:
    if isinstance(stage, ast.Fixed):
        return format_term(stage)
    if isinstance(stage, ast.OneOf):
        return f"one of {len(stage.members)} sub-policies ({len(stage.terms)} ops)"
    clauses = ", ".join(f"{c.kind} {format_expr(c.value)}" for c in stage.clauses)
    return f"apply {format_expr(stage.count)} of {len(stage.ops)} ops" + (f" ({clauses})" if clauses else "")


def summary_dict(checked: CheckedPolicy) -> dict:
    plan = checked.lower()
    return {
        "file": checked.source.file,
        "ok": True,
        "name": checked.name,
        "description": checked.ast.description,
        "hash": checked.hash,
        "ops": list(plan.ops),
        "states": [_state_text(d) for d in checked.ast.states],
        "reads": list(plan.stats),
        "stages": [_stage_text(s) for s in checked.ast.stages],
        "cost": {"per_sample": checked.cost.per_sample, "budget": checked.cost.budget,
                 "epoch_ops": checked.cost.epoch_ops},
        "diagnostics": [],
        "python": None if checked.python is None else {
            "function": "get_aug_type", "aug_prob": checked.python.aug_prob,
            "epoch_step": "sandboxed: RestrictedPython in a worker process"
                          + (f" isolated by {', '.join(checked.python.isolation)}" if checked.python.isolation
                             else "")},
    }


def summary_text(checked: CheckedPolicy) -> str:
    info = summary_dict(checked)
    description = f' "{info["description"]}"' if info["description"] else ""
    rows = [("policy", f"{info['name']}{description}"), ("hash", info["hash"][:16])]
    rows += [("state", s) for s in info["states"]] or [("state", "none")]
    if info["python"]:  # the states are the carrier's: what get_aug_type fills each epoch
        rows.append(("python", f"get_aug_type, {info['python']['epoch_step']}; "
                               f"a sample is augmented with probability {info['python']['aug_prob']:g}"))
        rows.append(("reads", "train_acc (as ACCs), through get_aug_type"))
    else:
        rows.append(("reads", ", ".join(info["reads"]) or "nothing"))
    rows += [("stage", s) for s in info["stages"]]
    rows.append(("ops", f"{len(info['ops'])}: {', '.join(info['ops'])}"))
    rows.append(("cost", f"{format_number(checked.cost.per_sample)} image passes per sample "
                         f"(budget {format_number(checked.cost.budget)}); "
                         f"{checked.cost.epoch_ops} vector ops per epoch"))
    return "\n".join([f"{info['file']}: ok"] + [f"  {k:<7} {v}" for k, v in rows])
