"""The paper's Python host, exactly: a paper-style get_aug_type run sandboxed by autoda
receives, epoch by epoch, what the paper's training code gives it, and its choices are
applied per sample as the paper's autolt applies them. The reference is a direct
re-implementation of the paper's host (datasets/cifar100.py, train/train_fn/base.py and
aug/LLM_AutoLT.py of the LLM-AutoDA code), run on the same function natively."""
from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
import torch

import autoda
from autoda.engine import ClassStats

CLASSES, EPOCHS = 5, 6
COUNTS = np.array([500, 200, 80, 30, 10])
OPS = ["flip_ud", "flip_lr", "edge_enhance", "detail", "smooth", "autocontrast", "equalize", "invert",
       "gaussian_blur", "rotate"]

# Reads every argument into what it returns (so a wrong argument changes the answer), and
# writes as the paper's functions do: items in place (kept), an item of a copy (numpy drops
# it), a rebound local (dropped), augmented assignment to items.
ECHO = '''
import numpy as np

def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):
    cls_num, num_aug_type = History_ACCs.shape
    for cidx in range(cls_num):
        indices = lats_chose_matix[cidx]
        assert indices.any(), 'every class has a chosen op'
        aug_weight[cidx][indices][0] += 1000       # an item of a copy: numpy drops it, as in the paper's seed
        aug_weight[cidx, 0] += ACCs[cidx]          # in place: kept
    aug_weight[:, 1] = epoch
    aug_weight[:, 2] = History_ACCs.sum(axis=1)
    aug_weight[:, 3] = ACCs.max()
    aug_weight = np.maximum(aug_weight, 5)         # rebound: the host's array does not see it
    chose = np.roll(lats_chose_matix, 1, axis=1)
    chose[:, 0] = chose[:, 0] | (ACCs % 2 == 1)
    exts = (lats_chose_exts * 0.5 + (History_ACCs % 7) / 14.0) % 1.0
    return chose, exts
'''


def echo():
    namespace: dict = {}
    exec(ECHO, namespace)  # the test's own function, run natively by the reference host
    return namespace["get_aug_type"]


def correct_counts(seed: int) -> list[np.ndarray]:
    """Each epoch's correct training predictions per class (the paper's ACCs)."""
    rng = random.Random(seed)
    return [np.array([rng.randint(0, int(n)) for n in COUNTS]) for _ in range(EPOCHS)]


def reference_host(function, opening_chose, opening_exts, counts):
    """The paper's host: a dataset starts with one op per class and random intensities;
    after each epoch, update_aug calls the function with that epoch's ACCs and index, then
    records History_ACCs for the ops the epoch used. Yields the state after each call and
    the arguments the call received."""
    aug_weight = np.ones((CLASSES, len(OPS)))
    history = np.zeros_like(aug_weight)
    chose, exts = opening_chose.copy(), opening_exts.copy()
    for epoch, accs in enumerate(counts):
        received = (aug_weight.copy(), accs.copy(), history.copy(), chose.copy(), exts.copy(), epoch)
        used = chose.copy()
        chose, exts = function(aug_weight, accs.astype(np.int32), history, chose, exts, epoch)[:2]
        for cidx in range(CLASSES):
            history[cidx][used[cidx]] = accs[cidx]
        yield {"chose": np.asarray(chose, bool), "exts": exts, "aug_weight": aug_weight.copy(),
               "history": history.copy()}, received


def autoda_run(counts, source: str = ECHO):
    """autoda's trainer's calls: update_epoch before each epoch, with the statistics of the
    one before (training accuracy = correct / images)."""
    policy = autoda.compile_policy(f"OPS = {OPS!r}\n{source}", num_classes=CLASSES, seed=3)
    stats = ClassStats.initial(torch.tensor(COUNTS), total_epochs=EPOCHS + 1)
    policy.update_epoch(stats)
    yield policy
    for epoch, accs in enumerate(counts, start=1):
        policy.update_epoch(dataclasses.replace(stats, train_acc=torch.tensor(accs / COUNTS), epoch=epoch))
        yield policy


def test_the_opening_state_is_one_random_op_per_class_and_random_intensities():
    policy = next(autoda_run(correct_counts(0)))
    chose, ext = policy.state["chose"], policy.state["ext"]
    assert chose.sum(dim=1).tolist() == [1] * CLASSES
    assert ((ext >= 0) & (ext < 1)).all() and len(set(ext.flatten().tolist())) == ext.numel()
    assert (policy.state["aug_weight"] == 1).all() and (policy.state["history_acc"] == 0).all()
    other = next(autoda_run(correct_counts(0)))
    assert torch.equal(other.state["chose"], chose)  # seeded: a run replays


def test_every_call_receives_what_the_papers_host_gives_and_its_answer_is_kept_as_the_host_keeps_it():
    counts = correct_counts(1)
    run = autoda_run(counts)
    opening = next(run)
    # copies: the policy's state changes in place
    reference = reference_host(echo(), opening.state["chose"].numpy().copy(), opening.state["ext"].double().numpy(),
                               counts)
    for policy, (expected, received) in zip(run, reference):
        assert policy.state["chose"].numpy().tolist() == expected["chose"].tolist()
        assert np.allclose(policy.state["ext"].double().numpy(), expected["exts"], atol=1e-6)
        # aug_weight echoes ACCs (counts, integers), the epoch just finished and History_ACCs
        assert policy.state["aug_weight"].double().numpy().tolist() == expected["aug_weight"].tolist()
        assert policy.state["history_acc"].double().numpy().tolist() == expected["history"].tolist()
    weight = expected["aug_weight"]
    assert weight[:, 1].tolist() == [EPOCHS - 1] * CLASSES and (weight[:, 3] == counts[-1].max()).all()
    assert (weight[:, 4:] == 1).all() and received[5] == EPOCHS - 1  # the copy's item and the rebound local: dropped


def test_each_sample_gets_its_classs_chosen_ops_at_intensity_over_their_number_half_the_time():
    counts = correct_counts(2)
    for policy in autoda_run(counts):
        pass
    chose, ext = policy.state["chose"], policy.state["ext"]
    assert (chose.sum(dim=1) > 1).any()  # some class has two ops: intensities are divided
    labels = torch.arange(CLASSES).repeat(400)
    draw = policy.draw(labels, (len(labels), 3, 32, 32))
    order = [OPS.index(op) for op in draw.ops]
    chosen, ext = chose[labels][:, order], ext[labels][:, order]
    augmented = draw.applied.any(dim=1)
    assert torch.equal(draw.applied, chosen & augmented[:, None])  # all of the class's ops, or none
    assert abs(augmented.float().mean().item() - 0.5) < 0.05  # AUG_PROB 0.5, per sample
    expected = torch.where(draw.applied, ext / chosen.sum(dim=1, keepdim=True).clamp(min=1), torch.zeros(()))
    assert torch.allclose(draw.magnitude, expected, atol=1e-6)


PAPER_STYLE = [
    # the paper's seed: asserts the previous epoch chose an op for every class
    '''
import numpy as np
import random
def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):
    cls_num, num_aug_type = History_ACCs.shape
    for cidx in range(cls_num):
        indices = lats_chose_matix[cidx]
        assert indices.any(), f'class index {cidx} has no chose_aug (num of aug must > 0)'
        upper_index = (ACCs[cidx] > History_ACCs[cidx][indices])
        aug_weight[cidx][indices][upper_index] += 1
        down_index = (ACCs[cidx] < History_ACCs[cidx][indices])
        aug_weight[cidx][indices][down_index] -= 1
    aug_weight = np.maximum(aug_weight, 1)
    chose_matix = np.zeros((cls_num, num_aug_type)).astype(bool)
    chose_exts = np.random.rand(*lats_chose_exts.shape)
    aug_list = [i for i in range(num_aug_type)]
    for i in range(cls_num):
        indexes = random.choices(aug_list, weights=aug_weight[i, :].tolist(), k=1)
        for index in indexes:
            chose_matix[i][index] = True
    return chose_matix, chose_exts
''',
    # counts as integers: range() takes no float
    '''
import numpy as np
def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):
    cls_num, num_aug_type = History_ACCs.shape
    chose = np.zeros((cls_num, num_aug_type), dtype=bool)
    for cidx in range(cls_num):
        steps = 0
        for _ in range(ACCs[cidx] // 50):
            steps += 1
        chose[cidx, (steps + epoch) % num_aug_type] = True
        aug_weight[cidx, steps % num_aug_type] += 1
    return chose, np.clip(lats_chose_exts, 0, 1)
''',
    # numpy functions that load modules lazily (percentile loads numpy.ma), after the
    # worker has cut itself off from the file system
    '''
import numpy as np
def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):
    cls_num, num_aug_type = History_ACCs.shape
    chose = np.zeros((cls_num, num_aug_type), dtype=bool)
    for cidx in np.argsort(ACCs)[::-1]:
        best = aug_weight[cidx] >= np.percentile(aug_weight[:, 0], 50) + np.quantile(ACCs, 0.5) * 0
        chose[cidx, int(np.argmax(best)) if best.any() else 0] = True
    return chose, np.full((cls_num, num_aug_type), np.median(lats_chose_exts))
''',
]


@pytest.mark.parametrize("source", PAPER_STYLE, ids=["seed", "integer counts", "percentile"])
def test_paper_style_functions_check_and_run_through_the_epochs(source):
    autoda.check_policy(f"OPS = {OPS!r}\n{source}")
    for policy in autoda_run(correct_counts(3), source):
        assert policy.state["chose"].any(dim=1).all()
