"""The experiment table: rows averaged over seeds, with the gain over each method's `none` row."""
import pytest

from autoda.report.tables import csv_text, markdown, rows


def result(method, policy, seed, all_, few=None):
    summary = {"many": None, "medium": all_, "few": few, "all": all_}
    return {"method": method, "policy": policy, "seed": seed, "test": summary, "val": summary}


def test_rows_average_over_seeds_and_gain_over_the_methods_none_row():
    results = [result("ce", "none", 0, 0.50), result("ce", "none", 1, 0.60),
               result("ce", "cuda", 0, 0.62, few=0.2), result("ce", "cuda", 1, 0.66, few=0.4),
               result("bs", "cuda", 0, 0.70)]
    table = rows(results)
    ce_none, ce_cuda, bs_cuda = table
    assert ce_none["all"] == pytest.approx(0.55) and ce_none["all_std"] == pytest.approx(0.0707107, rel=1e-5)
    assert ce_cuda["gain"] == pytest.approx(0.09) and ce_cuda["few"] == pytest.approx(0.3)
    assert ce_none["many"] is None and bs_cuda["gain"] is None  # no bs none row to compare with
    text = markdown(table)
    assert "| ce | cuda | 2 | - | 64.00 ± 2.83 | 30.00 ± 14.14 | 64.00 ± 2.83 | +9.00 |" in text
    assert csv_text(table).splitlines()[0].startswith("method,policy,seeds,many,many_std")
