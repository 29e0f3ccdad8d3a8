"""The report's figures read at a glance: whole-number ticks on axes of evaluations, epochs
and generations; one colour per generation; and a sentence, not a blank map, where a class
group's policy applied no op."""
import pytest
from matplotlib.colors import BoundaryNorm

import autoda
from autoda.report import plots
from autoda.report.build import _policy_figures
from autoda.policies import example_policies

COUNTS = [500, 300, 150, 80, 40, 20, 10, 5]  # many, medium and few classes


def visible_ticks(axis) -> list[float]:
    low, high = sorted(axis.get_view_interval())
    return [t for t in axis.get_majorticklocs() if low - 1e-9 <= t <= high + 1e-9]


@pytest.mark.parametrize("evaluations,per_generation", [(3, 3), (14, 3), (60, 2)])
def test_fitness_over_the_search_has_whole_evaluations_and_a_colour_per_generation(evaluations, per_generation):
    points = [(i, (i - 1) // per_generation, 0.3 + 0.002 * i) for i in range(1, evaluations + 1)]
    fig = plots.fitness_figure(points, {"none": 0.35})
    fig.canvas.draw()
    ax, bar = fig.axes
    ticks = visible_ticks(ax.xaxis)
    assert ticks and all(float(t).is_integer() for t in ticks)
    generations = points[-1][1] + 1
    scatter = ax.collections[0]
    assert isinstance(scatter.norm, BoundaryNorm) and scatter.norm.Ncmap == generations  # one colour each
    colours = {tuple(c) for c in scatter.get_facecolors().round(4).tolist()}
    assert len(colours) == generations
    bar_ticks = visible_ticks(bar.yaxis)
    assert bar_ticks and all(float(t).is_integer() and 0 <= t < generations for t in bar_ticks)
    assert (0.0 in bar_ticks) if generations == 1 else len(bar_ticks) >= 2


def test_op_use_maps_have_whole_epochs():
    checked = autoda.check_policy(example_policies()["randaugment"])
    from autoda.report.usage import op_usage

    ops, frequency, magnitude = op_usage(checked, COUNTS, 3, samples=256)  # a default axis ticks 0.5 here
    fig = plots.op_heatmaps_figure(ops, frequency, magnitude, "randaugment")
    fig.canvas.draw()
    for ax in fig.axes[:2]:  # the two maps (then their colour bars)
        ticks = visible_ticks(ax.xaxis)
        assert ticks and all(float(t).is_integer() for t in ticks)


def test_a_group_without_ops_gets_a_sentence_not_a_blank_map():
    none = _policy_figures(example_policies()["none"], "none", COUNTS, 6, None)
    for group in ("many", "medium", "few"):
        assert f"none: no op was applied to the {group} classes in 6 simulated epochs." in none
    assert "<img" not in none
    applied = _policy_figures(example_policies()["randaugment"], "randaugment", COUNTS, 6, None)
    assert applied.count("<img") == 3 and "no op was applied" not in applied
