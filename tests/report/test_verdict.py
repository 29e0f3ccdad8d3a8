"""The verdict of `autoda verify`: the searched policy against the same method's best other
policy by mean, seed by seed, in percent."""
import csv
import io

import pytest

from autoda.report.verdict import csv_text, markdown, sentence, verdict


def result(method, policy, seed, all_):
    summary = {"many": None, "medium": all_, "few": all_ / 2, "all": all_}
    return {"method": method, "policy": policy, "seed": seed, "test": summary, "val": summary}


RESULTS = [
    # ce: none wins seed 1, but randaugment has the better mean, so it is the one to beat
    result("ce", "none", 0, 0.50), result("ce", "none", 1, 0.60),
    result("ce", "randaugment", 0, 0.58), result("ce", "randaugment", 1, 0.54),
    result("ce", "mine", 0, 0.61), result("ce", "mine", 1, 0.53),
    # bs: the searched policy is worse on both seeds
    result("bs", "none", 0, 0.70), result("bs", "none", 1, 0.71),
    result("bs", "mine", 0, 0.65), result("bs", "mine", 1, 0.67),
]


def by_method(result_):
    return {c["method"]: c for c in result_["comparisons"]}


def test_rows_keep_each_seeds_test_accuracy_in_percent():
    found = verdict(RESULTS, "mine")
    assert found["searched"] == "mine" and found["split"] == "test"
    ce_ra = next(r for r in found["rows"] if (r["method"], r["policy"]) == ("ce", "randaugment"))
    assert ce_ra["seeds"] == [0, 1] and ce_ra["test_all"] == [58.0, 54.0]
    assert ce_ra["all"] == pytest.approx(56.0) and ce_ra["few"] == pytest.approx(28.0) and ce_ra["many"] is None
    assert ce_ra["all_std"] == pytest.approx(2.8284, abs=1e-4)
    assert len(found["rows"]) == 5


def test_the_best_baseline_is_picked_by_mean_and_paired_by_seed():
    ce = by_method(verdict(RESULTS, "mine"))["ce"]
    assert ce["best_baseline"] == "randaugment"  # not none, which wins one seed
    assert ce["difference_of_means"] == pytest.approx(1.0)
    assert ce["paired_seeds"] == [0, 1] and ce["paired_difference"] == pytest.approx([3.0, -1.0])
    assert ce["paired_mean"] == pytest.approx(1.0) and ce["paired_std"] == pytest.approx(2.8284, abs=1e-4)
    assert ce["positive_seeds"] == 1
    bs = by_method(verdict(RESULTS, "mine"))["bs"]
    assert bs["best_baseline"] == "none" and bs["paired_difference"] == pytest.approx([-5.0, -4.0])
    assert bs["difference_of_means"] == pytest.approx(-4.5) and bs["positive_seeds"] == 0


def test_only_the_seeds_both_have_are_paired_and_a_method_without_both_has_no_comparison():
    results = [result("ce", "none", 0, 0.40), result("ce", "mine", 0, 0.45), result("ce", "mine", 1, 0.90),
               result("bs", "none", 0, 0.40),  # no searched row for bs
               result("ldam", "mine", 0, 0.40)]  # nothing to compare with
    found = verdict(results, "mine")
    assert [c["method"] for c in found["comparisons"]] == ["ce"]
    ce = found["comparisons"][0]
    assert ce["paired_seeds"] == [0] and ce["paired_difference"] == pytest.approx([5.0])
    assert ce["difference_of_means"] == pytest.approx(27.5)  # the means still take every seed
    assert ce["paired_std"] == 0.0 and ce["positive_seeds"] == 1


def test_the_sentence_carries_the_sign_and_the_seeds_that_agree():
    comparisons = by_method(verdict(RESULTS, "mine"))
    better = sentence(comparisons["ce"])
    assert "(randaugment)" in better and "+1.00 points on the mean" in better
    assert "+1.00 ± 2.83" in better and "better on 1 of 2 seeds" in better
    worse = sentence(comparisons["bs"])
    assert "-4.50 points on the mean" in worse and "-4.50 ± 0.71" in worse and "better on 0 of 2 seeds" in worse
    apart = verdict([result("ce", "none", 0, 0.4), result("ce", "mine", 1, 0.5)], "mine")["comparisons"][0]
    assert apart["paired_difference"] == [] and sentence(apart) == "ce: no seed in common with none"


def test_csv_has_a_line_per_policy_and_seed_and_markdown_the_sentences():
    found = verdict(RESULTS, "mine")
    lines = list(csv.reader(io.StringIO(csv_text(found))))
    assert lines[0] == ["method", "policy", "seed", "test_all"]
    assert len(lines) == 1 + len(RESULTS)
    assert ["ce", "mine", "1", "53.0"] in lines and ["bs", "none", "0", "70.0"] in lines
    text = markdown(found)
    assert "| ce | mine | 2 |" in text and "61.00, 53.00" in text
    assert all(f"- {sentence(c)}" in text for c in found["comparisons"])
