"""A stand-in for a noisy fitness, for the noisy-fitness tests: each policy has a true
accuracy (from its hash), a longer fine-tune adds a little, and each (policy, n_ft, seed)
draws its own seeded noise, so a result is the same every time it is asked for again.

Run as a script it is one search on a journal (`python noisy_tasks.py JOURNAL [SLEEP]`),
for the tests that kill a search process and resume it."""
import random
import sys
import time
from pathlib import Path

from autoda.engine.train.fitness import FitnessResult

NOISE = 0.02
N_FT = 4  # the evaluator's own fine-tune length
SCHEDULE = 10  # the training's epochs: a training from scratch
CONFIG = dict(population=6, generations=2, explore=2, mutations=2, rungs=(1, 2, 4), promote=3, confirm_seeds=2,
              confirm_top=2)


def true_fitness(checked) -> float:
    return 0.25 + int(checked.hash[:8], 16) % 1000 / 2000


def result(value: float) -> FitnessResult:
    return FitnessResult(True, value, {"many": value, "medium": value, "few": value, "all": value,
                                       "per_class": [value] * 3}, None, None, 0.01)


def noisy_fitness(checked, n_ft=None, seed=None) -> FitnessResult:
    rng = random.Random(f"{checked.hash}/{n_ft}/{seed}")
    return result(min(1.0, max(0.0, true_fitness(checked) + 0.01 * (n_ft or N_FT) + rng.gauss(0, NOISE))))


def search(journal, evaluate=noisy_fitness, **changes):
    """The search these tests run: offline genetic programming, rungs of 1, 2 and 4 epochs,
    the two leaders confirmed with two fresh seeds."""
    import autoda
    from autoda.search.gp import GeneticProgramming
    from autoda.search.loop import Search, SearchConfig
    from autoda.search.proposers import OfflineProposer
    from autoda.policies import example_policies, seed_policies

    seeds = [autoda.check_policy(text) for text in seed_policies().values()]
    config = SearchConfig(**{**CONFIG, "baselines": (("none", example_policies()["none"]),), **changes})
    return Search(journal, evaluate, OfflineProposer(GeneticProgramming(seeds, 64)), config, n_ft=N_FT, seed=0,
                  schedule=SCHEDULE)


def main(path: str, sleep: float) -> None:
    from autoda.search.journal import Journal

    def slow(checked, **fidelity):
        time.sleep(sleep)  # a window for the test to kill the process in
        return noisy_fitness(checked, **fidelity)

    journal = Journal(Path(path), lock=True)
    try:
        print(search(journal, slow).run(), flush=True)
    finally:
        journal.close()


def echo_fidelity(text, **fidelity):
    """A local worker's task that reports the fidelity it was sent."""
    import json

    return {"ok": True, "fitness": 0.5, "validation": None, "failure": None, "message": json.dumps(fidelity),
            "seconds": 0.0}


def echo_fidelity_on_ray(spec, data, checkpoint, text, gpus, **fidelity):
    return echo_fidelity(text, **fidelity)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
