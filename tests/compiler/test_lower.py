import json
import math
from pathlib import Path

import autoda

EXAMPLES = Path(__file__).parents[2] / "examples" / "policies"


def plan_of(text_or_path):
    return autoda.check_policy(text_or_path).lower()


def test_cuda_lowers_to_a_level_update_feeding_count_and_magnitude():
    plan = plan_of(EXAMPLES / "cuda.dsl")
    (name, level), = plan.updates
    assert name == "level" and plan.instrs[level].op == "clip"
    (stage,) = plan.stages
    assert stage.kind == "apply" and len(stage.ops) == plan.num_ops == 22
    assert stage.count == level  # the count is the updated level itself
    magnitude = plan.instrs[stage.magnitude.value]
    assert (magnitude.op, magnitude.args[0]) == ("div", level)
    assert plan.stats == ()  # it reads CUDA's probe, not a statistic:
    (probe,) = [i for i in plan.instrs if i.op == "lol_pass"]
    assert plan.instrs[probe.args[0]].op == "state"  # of the level before the update


def test_identical_pure_expressions_are_computed_once():
    plan = plan_of("policy p\nstate s: float in [0, 1] = 0\nevery epoch:\n"
                   "    s = clip(train_acc * train_acc + train_acc * train_acc, 0, 1)\nper sample:\n    cutout(s)\n")
    assert sum(1 for i in plan.instrs if i.op == "stat") == 1
    assert sum(1 for i in plan.instrs if i.op == "mul") == 1


def test_random_draws_are_never_merged():
    plan = plan_of("policy p\nstate a: float in [0, 1] = 0\nstate b: float in [0, 1] = 0\nevery epoch:\n"
                   "    a = uniform(0, 1)\n    b = uniform(0, 1)\nper sample:\n    cutout(a)\n    cutout(b)\n")
    assert sum(1 for i in plan.instrs if i.op == "uniform") == 2


def test_unused_lets_are_eliminated():
    plan = plan_of("policy p\nevery epoch:\n    let unused = exp(train_loss)\nper sample:\n    flip_lr\n")
    assert [i.op for i in plan.instrs] == ["const"]  # the default probability


def test_stages_read_state_after_the_update():
    plan = plan_of("policy p\nstate s: float in [0, 1] = 0\nevery epoch:\n    s = clip(s + 0.1, 0, 1)\n"
                   "per sample:\n    cutout(s)\n")
    (name, updated), = plan.updates
    assert plan.stages[0].magnitude.value == updated


def test_uniform_magnitude_is_drawn_per_sample():
    plan = plan_of(EXAMPLES / "trivialaugment.dsl")
    lo, hi = plan.stages[0].magnitude.uniform
    assert (plan.instrs[lo].attr, plan.instrs[hi].attr) == (0, 1)


def test_plan_serialises_to_json():
    for path in EXAMPLES.glob("*.dsl"):
        data = json.loads(json.dumps(plan_of(path).to_dict(), allow_nan=False))  # strict JSON: no Infinity
        assert data["name"] == path.stem


def test_every_number_instruction_carries_the_range_the_checker_proved():
    plan = plan_of("policy p\nstate s: float in [0, 1] = 0\nevery epoch:\n"
                   "    s = clip(exp(feat_norm - 10) / (1 + exp(feat_norm - 10)), 0, 1)\n"
                   "    let m = min(train_acc, 2, rank + 1)\nper sample:\n    cutout(0.3) with probability s\n")
    bounds = {i.op: i.bounds for i in plan.instrs}
    assert bounds["stat"] == (0, math.inf) and bounds["exp"] == (math.exp(-10), math.inf)
    assert bounds["clip"] == (0, 1)
    assert all((i.bounds is None) == (i.type.dtype == "bool") for i in plan.instrs)
    assert "in [0, inf]" in plan.render()
    assert plan.to_dict()["instrs"][0]["bounds"] == [0, None]  # JSON has no infinity


def test_a_chain_of_comparisons_lowers_to_comparisons_and_ands():
    plan = plan_of("policy p\nstate s: bool = false\nevery epoch:\n    s = 0 < train_acc <= rank < 1\n"
                   "per sample:\n    flip_lr\n")
    ops = [i.op for i in plan.instrs]
    assert ops.count("lt") == 2 and ops.count("le") == 1 and ops.count("and") == 2
    assert ops.count("stat") == 2  # each operand once


def test_dead_code_pass_alone_keeps_what_is_stored_and_renumbers():
    from autoda.compiler.lower import eliminate_dead
    from autoda.compiler.plan import Instr, StagePlan
    from autoda.compiler.types import Type

    f = Type("float", "class")
    instrs = [Instr("stat", (), "rank", f), Instr("stat", (), "freq", f), Instr("neg", (1,), None, f),
              Instr("const", (), 1.0, Type("float", "scalar"))]
    kept, updates, stages = eliminate_dead(instrs, [("s", 2)], [StagePlan("fixed", ("flip_lr",), None, None, 3, None)])
    assert [(i.op, i.args) for i in kept] == [("stat", ()), ("neg", (0,)), ("const", ())]
    assert updates == [("s", 1)] and stages[0].probability == 2
