"""What long work says about its time: the estimate a training prints a few batches in,
the time left on its lines, and a search's estimated cost and time left."""
from dataclasses import replace

from autoda.report import progress
from autoda.report.progress import PACED, SETTLE, _Pace, _SearchClock
from autoda.search import estimate
from autoda.search.run import new_config
from autoda.words import duration


class Clock:
    """A stand-in for the clock: ``step`` seconds a reading."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def paced(monkeypatch, seconds_per_reading: float, batches: int, epochs: int, device: str = "cpu") -> list[str]:
    said: list[str] = []
    monkeypatch.setattr(progress.time, "perf_counter", Clock(seconds_per_reading))
    pace = _Pace(epochs, device, said.append)
    for done in range(1, batches + 1):
        pace.batch(done, batches)
    pace.epoch(123.0)  # the first epoch's own time: not used once the batches gave a pace
    return said


def test_a_long_training_is_estimated_from_its_first_batches(monkeypatch):
    # the clock is read once at batch SETTLE and once at SETTLE + PACED: 2 s apart
    [line] = paced(monkeypatch, 2.0, batches=100, epochs=200)
    expected = 2.0 / PACED * 100 * 200
    assert line.startswith(f"estimated: about {duration(expected)} for 200 epochs on cpu")
    assert "--preset cifar10-lt-small" in line  # over two hours on a CPU


def test_a_short_training_says_nothing_and_a_gpu_is_not_pointed_at_the_cpu_preset(monkeypatch):
    assert paced(monkeypatch, 0.001, batches=100, epochs=200) == []
    [line] = paced(monkeypatch, 1.0, batches=100, epochs=200, device="cuda")
    assert "preset" not in line


def test_an_epoch_of_few_batches_is_estimated_from_the_first_epoch(monkeypatch):
    [line] = paced(monkeypatch, 1.0, batches=SETTLE + PACED - 1, epochs=10)
    assert line.startswith(f"estimated: about {duration(1230)} for 10 epochs") and "the first epoch" in line


def test_the_search_clock_says_the_time_left_by_budget_and_by_pace(monkeypatch):
    clock = Clock(10.0)
    monkeypatch.setattr(progress.time, "monotonic", clock)
    timed = _SearchClock(planned=12, max_time=3600)
    assert timed.left(2) == f"time left {duration(3600)}"  # a resumed run's 2: no pace yet
    # 10 s later, 2 more done: 5 s each, 8 to go
    assert timed.left(4) == f"time left {duration(3590)}, eta {duration(40)}"
    untimed = _SearchClock(planned=12, max_time=None)
    untimed.left(0)
    assert untimed.left(3) == f"eta {duration(10 / 3 * 9)}"
    assert untimed.left(12) == ""  # nothing planned is left


def config(**search):
    return new_config(proposer="offline", dataset="synthetic", data_root=None, download=False, imb_ratio=10,
                      method="ce", net="resnet8", batch_size=64, lr=0.05, seed=0, device="cpu", cache_dir=None,
                      fitness_cache=None, llm=None, epochs=100, e_ckp=40, n_ft=20, search=search)


def test_a_search_estimate_counts_the_planned_epochs_at_the_probed_pace(monkeypatch):
    monkeypatch.setattr(estimate, "training_throughput", lambda *args, **kwargs: 1000.0)
    run = config(population=8, generations=10, max_time=600)
    epochs = run.search.planned_epochs(20, 100) + 40
    line = estimate.search_estimate(run, 5000, 10, 32, checkpoint_cached=False)
    assert line.startswith(f"estimated: about {duration(epochs * 5000 / 1000)} on this CPU for {epochs} "
                           f"training epochs of 5,000 images at 1,000 images/s")
    assert f"--max-time stops it after {duration(600)}" in line
    cached = estimate.search_estimate(run, 5000, 10, 32, checkpoint_cached=True)
    assert f"for {epochs - 40} training epochs" in cached
    unbounded = estimate.search_estimate(config(population=8, generations=10), 50_000, 10, 32, True)
    assert "--max-time bounds it, and --preset cifar10-lt-small" in unbounded  # 13 h at this pace


def test_short_searches_and_gpus_are_not_probed(monkeypatch):
    def probe(*args, **kwargs):
        raise AssertionError("probed")

    monkeypatch.setattr(estimate, "training_throughput", probe)
    assert estimate.search_estimate(config(population=2, generations=0), 200, 10, 32, False) is None
    long = config(population=8, generations=10)
    on_gpu = replace(long, training=replace(long.training, device="cuda"))
    assert estimate.search_estimate(on_gpu, 5000, 10, 32, False) is None


def test_the_probe_measures_a_positive_pace_and_leaves_the_random_state():
    import torch

    from autoda.engine.train.probe import training_throughput

    torch.manual_seed(5)
    before = torch.rand(3)
    torch.manual_seed(5)
    rate = training_throughput("resnet8", 10, 16, 8, steps=1)
    assert rate > 0 and torch.equal(torch.rand(3), before)
