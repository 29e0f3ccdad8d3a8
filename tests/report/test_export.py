"""`autoda runs export`: the leaderboard as CSV, read back with the csv module: the rows and
order `runs show` has, numbers as the journal holds them, and text with commas, quotes and
line breaks (an LLM names policies and writes ideas) in one cell each."""
import csv
import io
import sys
from pathlib import Path

from click.testing import CliRunner

from autoda.cli import cli
from autoda.report.export import COLUMNS
from autoda.report.leaderboard import leaderboard_rows
from autoda.search.journal import Journal
from autoda.search.run import JOURNAL

sys.path.insert(0, str(Path(__file__).parents[1] / "search"))
from test_run_folders import a_run  # noqa: E402

AWKWARD = 'tail, "bold"\nsecond line'


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def a_run_with_awkward_text(tmp_path) -> Path:
    folder = a_run(tmp_path)
    journal = Journal(folder / JOURNAL)
    try:
        first = journal.evaluated()[0]
        journal.update(first.id, policy_name=AWKWARD, idea=AWKWARD + ", and \x1b[31mred")
        journal.update(journal.evaluated()[1].id, idea='=HYPERLINK("http://example.invalid", "x")')
        journal.add(1, 99, 0, "mutate", [first.id], "offline", status="failed", failure="compile", final=1)
    finally:
        journal.close()
    return folder


def read(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames) == COLUMNS
    return list(reader)


def test_export_is_the_leaderboard_as_csv_and_round_trips(tmp_path):
    folder = a_run_with_awkward_text(tmp_path)
    result = run("runs", "export", folder)
    assert result.exit_code == 0, result.output
    rows = read(result.stdout)
    journal = Journal(folder / JOURNAL, read_only=True)
    try:
        shown = leaderboard_rows(journal, top=1000)
        candidates = {c.id: c for c in journal.evaluated()}
    finally:
        journal.close()
    assert [r["id"] for r in rows] == [s["id"] for s in shown]  # the same rows, in the same order
    assert len(rows) == len(candidates) > 2
    for row, board in zip(rows, shown):
        c = candidates[int(row["id"])]
        assert float(row["fitness"]) == c.fitness and "%" not in row["fitness"]  # unformatted, every digit
        assert int(row["fitness_n"]) == c.fitness_n and row["fitness_std"] == ("" if c.fitness_std is None else
                                                                               repr(c.fitness_std))
        assert row["epochs"] == board["epochs"] and row["generation"] == str(c.generation)
        assert row["rank"] == board["rank"].lstrip("=") and row["tied_with_first"] in ("true", "false")
        assert row["policy"] == c.policy_name and row["operator"] == c.operator
        assert (row["status"], row["failure"]) == ("evaluated", "")
        assert row["few"] == repr(c.validation["few"])
    awkward = next(r for r in rows if r["policy"] == AWKWARD)  # the comma, quotes and line break kept in one cell
    assert awkward["idea"] == AWKWARD + ", and \\x1b[31mred"  # a terminal control is shown, not sent
    formula = next(r for r in rows if "HYPERLINK" in r["idea"])
    assert formula["idea"] == '\'=HYPERLINK("http://example.invalid", "x")'  # text to a spreadsheet, not a formula


def test_export_to_a_file_with_top_and_every_candidate(tmp_path):
    folder = a_run_with_awkward_text(tmp_path)
    out = tmp_path / "board.csv"
    result = run("runs", "export", folder, "--out", out, "--all")
    assert result.exit_code == 0 and result.stdout == ""
    rows = read(out.read_text(encoding="utf-8"))
    failed = [r for r in rows if r["status"] == "failed"]
    assert failed and all(r["rank"] == "" and r["fitness"] == "" for r in failed)
    assert {r["failure"] for r in failed} == {"compile"}
    assert rows.index(failed[0]) > max(i for i, r in enumerate(rows) if r["rank"])  # after the ranked rows
    top = read(run("runs", "export", folder, "--top", "2").stdout)
    assert [r["id"] for r in top] == [r["id"] for r in rows[:2]]


def test_export_of_a_folder_without_a_journal_is_a_usage_error(tmp_path):
    result = run("runs", "export", tmp_path)
    assert result.exit_code == 2 and "no journal.sqlite there" in result.output
