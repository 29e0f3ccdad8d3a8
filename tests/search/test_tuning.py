"""The constant tuner: which literals it moves, in which boxes, and an ask-and-tell loop that
rebuilds its Optuna study from the history alone, so a resumed search proposes the same."""
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import autoda
from autoda.compiler import PolicyError
from autoda.search import tuning
from autoda.policies import example_policies

EXAMPLES = example_policies()
# CUDA with a threshold on training accuracy (the example before it read CUDA's probe)
CUDA = """policy cuda "CUDA (Ahn et al., ICLR 2023): a per-class curriculum of augmentation levels"
state level: int in [0, 10] = 0
every epoch:
    level = clip(level + (1 if train_acc > 0.6 else -1), 0, 10)
per sample:
    apply level of [flip_ud, flip_lr, edge_enhance, detail, smooth, autocontrast, equalize,
                    invert, gaussian_blur, scale, rotate, posterize, solarize, solarize_add,
                    color, contrast, brightness, sharpness, shear_x, shear_y, translate_x,
                    translate_y]
        magnitude level / 30
"""
# Only floats: CMA-ES applies. c0 and c1 share a magnitude, so their boxes hold alone, not together.
FLOATS = """policy floats
per sample:
    rotate(0.3 + 0.2 * rank) with probability 0.8
    cutout(0.25) with probability 0.5
"""
ROOT = Path(__file__).parents[2]


def boxes(text):
    return {c.name: (c.value, c.lo, c.hi, c.integer) for c in tuning.constants(text)}


def test_cuda_constants_and_the_boxes_the_checker_admits():
    found = {c.where: c for c in tuning.constants(CUDA)}
    level = found["initial level"]
    assert (level.lo, level.hi, level.integer) == (0, 10, True)  # the state's declared range, an int
    divisor = found["magnitude of apply"]  # magnitude level / 30: below 10, level / d may pass 1
    assert (divisor.value, divisor.lo, divisor.hi, divisor.integer) == (30, 10, 120, True)
    assert "range of level" not in found  # the proof the rest rests on is never tuned


def test_what_is_never_a_constant():
    text = ("policy p\nstate s: float in [0, 2] = 1\nevery epoch:\n    s = clip(s ** 2 + 0, 0, 2)\n"
            "per sample:\n    apply 1 of [rotate, cutout]\n        magnitude 0.5\n        weight 3\n")
    wheres = [(c.where, c.value) for c in tuning.constants(text)]
    # not the range [0, 2], not the exponent 2, not the 0 a factor cannot move, not the whole weight 3
    assert wheres == [("initial s", 1), ("epoch: s", 2), ("count of apply", 1), ("magnitude of apply", 0.5)]


def test_at_most_max_constants_by_priority():
    text = ("policy p\nstate a: float in [0, 1] = 0.5\nevery epoch:\n    let t = 0.1 + 0.2 + 0.3\n"
            "    a = clip(a + 0.05, 0, 1)\nper sample:\n    rotate(0.2) with probability 0.7\n")
    chosen = [c.where for c in tuning.constants(text, max_constants=3)]
    assert chosen == ["initial a", "magnitude of rotate", "probability of rotate"]  # stage parameters first
    assert len(tuning.constants(text, max_constants=5)) == 5


def test_substitute_checks_keeps_ints_and_rounds_floats():
    checked = tuning.substitute(CUDA, {"c8": 20.7, "c4": 0.712345}, parent="cuda")
    assert "magnitude level / 21" in checked.canonical and "train_acc > 0.712" in checked.canonical
    assert checked.name.startswith("cuda_h") and checked.name != "cuda"
    assert autoda.check_policy(checked.canonical).hash == checked.hash
    with pytest.raises(KeyError):
        tuning.substitute(CUDA, {"c99": 1})
    with pytest.raises(PolicyError):  # each in its box, not together: 0.8 + 0.7 * rank may pass 1
        tuning.substitute(FLOATS, {"c0": 0.8, "c1": 0.7})


def test_propose_gives_checked_children_of_the_same_structure():
    proposals = tuning.propose(CUDA, [], seed=3, n=4)
    assert len(proposals) == 4
    key = tuning.structure_key(CUDA)
    limits = {c.name: c for c in tuning.constants(CUDA)}
    for p in proposals:
        again = autoda.check_policy(p.text)
        assert again.canonical == p.text and p.checked.hash == again.hash
        assert tuning.structure_key(p.text) == key and tuning.values_of(p.text) == p.params
        assert all(limits[k].lo <= v <= limits[k].hi for k, v in p.params.items())
        assert all(isinstance(v, int) for k, v in p.params.items() if limits[k].integer)
        assert again.name.startswith("cuda_h") and "from cuda" in again.ast.description
    assert len({tuple(p.params.values()) for p in proposals}) == 4


def test_the_history_holds_every_constant():
    assert [c.name for c in tuning.constants(FLOATS)] == ["c0", "c1", "c2", "c3", "c4"]


def test_propose_is_a_function_of_structure_history_and_seed():
    first = tuning.propose(FLOATS, [], seed=0, n=3)
    history = [(p.params, 0.5 + 0.1 * i) for i, p in enumerate(first)]
    again = [p.params for p in tuning.propose(FLOATS, history, seed=1, n=3)]
    assert again == [p.params for p in tuning.propose(FLOATS, history, seed=1, n=3)]
    assert again != [p.params for p in tuning.propose(FLOATS, history, seed=2, n=3)]
    assert not {tuple(v.values()) for v in again} & {tuple(v.values()) for v, _ in history}  # nothing twice


@pytest.mark.slow
def test_a_resumed_process_proposes_the_same():
    """Another process, with other string hashing, rebuilds the same study."""
    script = ("from autoda.search import tuning\nfrom test_tuning import FLOATS\n"
              "h = [({'c0': 0.3, 'c1': 0.2, 'c2': 0.8, 'c3': 0.25, 'c4': 0.5}, 0.4), "
              "({'c0': 0.1, 'c1': 0.5, 'c2': 0.2, 'c3': 0.7, 'c4': 0.1}, None)]\n"
              "print([p.params for p in tuning.propose(FLOATS, h, seed=5, n=2)])\n")
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(Path(__file__).parent)}
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and outputs[0].startswith("[{")


def test_optuna_says_nothing(capfd):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tuning.propose(FLOATS, [({"c0": 0.3, "c1": 0.2, "c2": 0.8, "c3": 0.25, "c4": 0.5}, 0.4)], seed=0, n=2)
    out, err = capfd.readouterr()
    assert (out, err, caught) == ("", "", [])


def test_tpe_moves_towards_what_scored_well():
    """Fitness peaks at probability 0.9 of the cutout: after twenty results, TPE asks there."""
    history, seed = [], 0
    while len(history) < 20:
        for p in tuning.propose(FLOATS, history, seed=seed, n=2):
            history.append((p.params, 1 - abs(p.params["c4"] - 0.9)))
        seed += 1
    asked = [p.params["c4"] for p in tuning.propose(FLOATS, history, seed=99, n=4)]
    assert sum(abs(c - 0.9) for c in asked) / 4 < 0.2  # uniform guesses would be 0.41 away on average


def test_history_from_journal_rows_and_outside_values_left_out():
    tuned = tuning.propose(CUDA, [], seed=1, n=2)
    rows = [(p.text, 0.5) for p in tuned] + [(EXAMPLES["doda"], 0.9), ("def get_aug_type(): pass", 0.1)]
    history = tuning.history_for(CUDA, rows)  # another structure and a Python policy: not this history
    assert history == [(p.params, 0.5) for p in tuned]
    outside = [({**tuned[0].params, "c8": 5000}, 0.99)]  # out of this box: not a trial, no error
    assert tuning.propose(CUDA, outside, seed=1, n=2)


def test_no_constants_no_proposals_and_bad_sampler():
    assert tuning.propose(EXAMPLES["none"], [], seed=0, n=3) == []
    with pytest.raises(ValueError, match="sampler"):
        tuning.propose(FLOATS, [], seed=0, n=1, sampler="grid")


def test_cmaes_where_every_constant_is_a_float():
    pytest.importorskip("cmaes")
    history, seed = [], 0
    while len(history) < 12:  # past ten results CMA-ES starts from the history's best
        for p in tuning.propose(FLOATS, history, seed=seed, n=2, sampler="cmaes"):
            history.append((p.params, -abs(p.params["c3"] - 0.4)))
        seed += 1
    proposals = tuning.propose(FLOATS, history, seed=7, n=3, sampler="cmaes")
    assert [p.params for p in proposals] == [p.params for p in tuning.propose(FLOATS, history, seed=7, n=3,
                                                                               sampler="cmaes")]
    assert all(autoda.check_policy(p.text).hash == p.checked.hash for p in proposals)
    # an int constant (CUDA's level) leaves CMA-ES out: TPE proposes, as if asked
    assert [p.params for p in tuning.propose(CUDA, [], seed=4, n=2, sampler="cmaes")] == \
        [p.params for p in tuning.propose(CUDA, [], seed=4, n=2)]
