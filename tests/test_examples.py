"""The example policies: they compile, they differ, and the baselines say what they claim."""
from pathlib import Path

import autoda

EXAMPLES = {p.stem: p for p in (Path(__file__).parents[1] / "examples" / "policies").glob("*.dsl")}
BASELINES = {"none", "randaugment", "trivialaugment", "autoaugment", "cuda", "doda"}


def test_baselines_and_at_least_three_long_tail_policies_exist_and_compile():
    assert BASELINES <= set(EXAMPLES)
    long_tail = set(EXAMPLES) - BASELINES
    assert len(long_tail) >= 3
    checked = {name: autoda.check_policy(path) for name, path in EXAMPLES.items()}
    assert len({c.hash for c in checked.values()}) == len(checked)
    for name in long_tail:  # written for long tails: each reads a per-class signal
        assert checked[name].lower().stats, name


def test_cuda_is_a_per_class_level_curriculum():
    checked = autoda.check_policy(EXAMPLES["cuda"])
    (decl,) = checked.ast.states
    assert (decl.type, decl.lo.value, decl.hi.value, decl.init.value) == ("int", 0, 10, 0)
    canonical = checked.canonical
    assert "level = clip(level + (1 if lol_pass(level) else -1), 0, 10)" in canonical  # CUDA's probe
    assert "apply level of [" in canonical and "magnitude level / 30" in canonical


def test_doda_moves_weights_of_the_picked_op_and_draws_one():
    canonical = autoda.check_policy(EXAMPLES["doda"]).canonical
    assert "state w: float per op in [1, 1000] = 1" in canonical
    assert "w = clip(w + where(picked and progress > 0.125, change, 0), 1, 1000)" in canonical
    assert "picked = sample_one(w)" in canonical
    assert "apply 1 of [" in canonical and "magnitude uniform(0, 1)" in canonical and "probability 0.5" in canonical
