"""The epoch section in torch, against a class-at-a-time reference, on random policies;
and NaN-proof on extreme statistics."""
import dataclasses
import math
from pathlib import Path

import pytest
import torch
from hypothesis import assume, given, settings, strategies as st

import autoda
from autoda.compiler import ast, format_policy
from autoda.engine import ClassStats
from autoda.engine.augment.epoch import FLOAT_MAX, run_epoch_program
from level_probes import probed
from epoch_reference import EpochReference
from strategies import policies


def uses_randomness(policy: ast.Policy) -> bool:
    return any(isinstance(n, ast.Call) and n.func in ("uniform", "sample_one")
               for s in policy.epoch or () for n in ast.walk(s.value))


@st.composite
def class_stats(draw, num_classes: int) -> ClassStats:
    quarter = st.integers(0, 4).map(lambda q: q / 4)  # exact in float32: comparisons cannot flip
    vector = lambda elements: torch.tensor(draw(st.lists(elements, min_size=num_classes, max_size=num_classes)),  # noqa: E731
                                           dtype=torch.float32)
    return ClassStats(torch.tensor(draw(st.lists(st.integers(1, 500), min_size=num_classes, max_size=num_classes))),
                      vector(quarter), vector(quarter), vector(st.integers(0, 12).map(lambda q: q / 4)),
                      vector(st.integers(0, 12).map(lambda q: q / 4)), vector(st.integers(0, 12).map(lambda q: q / 4)),
                      draw(st.integers(0, 30)), 30)


@pytest.mark.slow
@given(policies(), st.integers(1, 5).flatmap(class_stats))
def test_vectorised_epoch_matches_the_class_at_a_time_reference(policy, stats):
    assume(policy.epoch and not uses_randomness(policy))
    checked = autoda.check_policy(format_policy(policy))
    compiled = autoda.compile_policy(checked, num_classes=stats.num_classes, seed=0)
    state = {k: v.clone() for k, v in compiled.state.items()}
    new, _ = run_epoch_program(compiled.plan, state, stats, torch.Generator().manual_seed(0))
    expected = EpochReference(checked, stats, state).run()
    for name, value in new.items():
        want = expected[name].to(value.dtype)
        if value.is_floating_point():
            assert torch.allclose(value, want, rtol=1e-5, atol=1e-5), name
        else:
            assert torch.equal(value, want), name


def test_epoch_randomness_is_seeded_and_sample_one_draws_one_op_per_class():
    def picks(seed):
        policy = autoda.compile_policy("examples/policies/doda.dsl", num_classes=4, seed=seed)
        policy.update_epoch(ClassStats.initial(torch.tensor([40, 30, 20, 10])))
        return policy.state["picked"].clone()
    a, b = picks(1), picks(1)
    assert torch.equal(a, b) and a.sum(1).tolist() == [1, 1, 1, 1]
    assert any(not torch.equal(a, picks(s)) for s in range(2, 6))


def test_bad_statistics_are_refused_with_a_clear_error():
    policy = autoda.compile_policy("examples/policies/cuda.dsl", num_classes=3)
    with pytest.raises(autoda.PolicyRuntimeError, match="train_acc"):
        policy.update_epoch({"count": [5, 4, 3], "train_acc": [0.5, float("nan"), 0.2]})
    with pytest.raises(autoda.PolicyRuntimeError, match="the policy has 3"):
        policy.update_epoch({"count": [5, 4]})
    with pytest.raises(autoda.PolicyRuntimeError, match="unknown class statistics: val_acc"):
        policy.update_epoch({"count": [5, 4, 3], "val_acc": [1, 1, 1]})


# --- no NaN, no inf: extreme statistics on every example and on random policies ----------

SIGMOID = "clip(exp(feat_norm - 10) / (1 + exp(feat_norm - 10)), 0, 1)"
INF = float("inf")
EXAMPLES = sorted(Path(__file__).parents[3].joinpath("examples", "policies").glob("*.dsl"))


def test_an_overflowing_sigmoid_is_one_not_nan():
    # float32 exp overflows from feat_norm ~ 99: inf / inf was NaN, and the op never applied
    text = (f"policy p\nstate s: float in [0, 1] = 0\nevery epoch:\n    s = {SIGMOID}\n"
            f"per sample:\n    cutout(0.3) with probability {SIGMOID}\n")
    policy = autoda.compile_policy(text, num_classes=6, seed=0)
    feat_norm = torch.tensor([0, 10, 100, 1e4, 1e30, INF])
    policy.update_epoch(dataclasses.replace(ClassStats.initial(torch.arange(6, 0, -1) * 10), feat_norm=feat_norm))
    expected = torch.tensor([1 / (1 + math.exp(10)), 0.5, 1, 1, 1, 1])
    assert torch.allclose(policy.state["s"].flatten(), expected)
    assert torch.allclose(policy.tables[:, 0], expected)  # the probability column


def extreme_stats(kind: str, num_classes: int = 4) -> ClassStats:
    """Statistics at the ends of their documented ranges (inf where the range allows it)."""
    count = torch.tensor([10 ** 9, 1000, 1, 1][:num_classes])
    big = {"zero": 0.0, "one": 1.0, "huge": 1e30, "inf": INF, "tiny": 1e-30, "mixed": INF}[kind]
    unit = min(big, 1.0)
    vector = lambda x: torch.full((num_classes,), x)  # noqa: E731
    mixed = torch.tensor([0.0, 1e-30, 1e4, INF][:num_classes])
    far = mixed if kind == "mixed" else vector(big)
    return ClassStats(count, vector(unit), vector(1 - unit), far, far, far, 10 ** 6 if big > 1 else 0, 1)


def within(value: torch.Tensor, lo: float, hi: float) -> bool:
    """Finite and in [lo, hi], the bounds as the value's dtype holds them (0.6 in float32
    is a little more than 0.6)."""
    lo, hi = max(lo, -FLOAT_MAX), min(hi, FLOAT_MAX)
    if value.is_floating_point():
        lo, hi = (torch.tensor(x, dtype=value.dtype).item() for x in (lo, hi))
    v = value.double()
    return bool(torch.isfinite(v).all() and (v >= lo).all() and (v <= hi).all())


def assert_nan_proof(checked, kinds=("zero", "one", "huge", "inf", "tiny", "mixed"), epochs: int = 2) -> None:
    """Every value of the epoch program is finite and inside its proven range; state stays
    in its declared range; stage parameters in their roles' ranges; the tables are finite."""
    plan = checked.lower()
    for kind in kinds:
        stats = probed(extreme_stats(kind))
        policy = autoda.compile_policy(checked, num_classes=stats.num_classes, seed=0)
        for _ in range(epochs):
            state = {name: value.clone() for name, value in policy.state.items()}
            new, values = run_epoch_program(plan, state, stats, torch.Generator().manual_seed(0))
            for instr, value in zip(plan.instrs, values):
                if instr.type.dtype == "bool":
                    continue
                assert torch.isfinite(value.double()).all(), (kind, instr)
                assert within(value, *instr.bounds), (kind, instr)
            for decl in plan.states:
                if decl.dtype != "bool":
                    assert within(new[decl.name], decl.lo, decl.hi), (kind, decl)
            for stage in plan.stages:
                assert within(values[stage.probability], 0, 1)
                assert stage.weight is None or within(values[stage.weight], 0, INF)
                assert stage.count is None or within(values[stage.count], 0, len(stage.ops))
            policy.update_epoch(stats)  # the state moves on, as in training
            assert torch.isfinite(policy.tables).all(), kind


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_never_compute_nan_or_inf_on_extreme_statistics(path):
    assert_nan_proof(autoda.check_policy(path))


def test_overflow_prone_operations_are_nan_proof():
    lines = ["let a = exp(feat_norm) / exp(w_norm)", "let b = feat_norm - w_norm",
             "let c = (train_loss + 1) ** 3 / (w_norm + 1) ** 3", "let d = log(feat_norm + 1) - log(w_norm + 1)",
             "let e = sqrt(feat_norm) * sqrt(w_norm)", "let f = count ** 3 - count ** 3",
             "let g = sum(count * count * count) % 7", "let h = feat_norm % (w_norm + 1)",
             "let i = mean(feat_norm) - max(w_norm)", "let j = uniform(-feat_norm, feat_norm)",
             "s = clip(a + b + c + d + e + f + g + h + i + j, -1, 1)",
             "n = clip(count * count * count - epoch * epoch * epoch, 0, 10)"]
    text = ("policy p\nstate s: float in [-1, 1] = 0\nstate n: int in [0, 10] = 0\nevery epoch:\n"
            + "".join(f"    {line}\n" for line in lines)
            + "per sample:\n    apply 1 of [rotate, color]\n        magnitude clip(exp(feat_norm) / exp(w_norm), 0, 1)\n"
              "        weight exp(feat_norm)\n        probability clip(s * s, 0, 1)\n")
    assert_nan_proof(autoda.check_policy(text))


@settings(max_examples=40)
@given(policies())
def test_random_policies_never_compute_nan_or_inf_on_extreme_statistics(policy):
    assert_nan_proof(autoda.check_policy(format_policy(policy)), kinds=("huge", "inf", "mixed"), epochs=1)


# --- the instruction table ---------------------------------------------------------------

def test_every_instruction_has_exactly_one_torch_implementation():
    from collections import Counter

    from autoda.compiler.instructions import Instruction
    from autoda.engine.augment.epoch import IMPLEMENTATIONS, TABLE

    rows = Counter(instruction for instruction, _ in TABLE)
    assert rows == Counter(set(Instruction)), {i: n for i, n in rows.items() if n != 1}
    assert set(IMPLEMENTATIONS) == set(Instruction)


def test_a_value_smaller_than_its_type_is_broadcast_before_a_sum_or_a_draw():
    # after 'w = 1' the per-op state w holds one number: its sum over ops is K, its sum over
    # classes C, and sample_one draws one op per class, not every op
    text = ("policy p\nstate s: float in [0, 1] = 0\nstate total: float in [0, 100] = 0\n"
            "state per_class: float in [0, 100] = 0\nstate w: float per op in [0, 10] = 1\n"
            "state picked: bool per op = false\nevery epoch:\n    s = 0.5\n    total = clip(sum(s), 0, 100)\n"
            "    w = 1\n    per_class = clip(sum_ops(w), 0, 100)\n    picked = sample_one(w)\n"
            "per sample:\n    apply 1 of [rotate, invert, flip_lr]\n        magnitude 0.5\n"
            "        weight where(picked, 1, 0)\n")
    policy = autoda.compile_policy(text, num_classes=4, seed=0)
    policy.update_epoch(ClassStats.initial(torch.tensor([40, 30, 20, 10])))
    assert policy.state["total"].flatten().tolist() == [2.0] * 4
    assert policy.state["per_class"].flatten().tolist() == [3.0] * 4
    assert policy.state["picked"].sum(1).tolist() == [1, 1, 1, 1]
