"""Run folders as they are found, not as they should be: in use by another search, damaged,
not a run at all, read-only, on a full disk, or holding a journal written by an older
version or by hand. Each gives one clear line (or a note), never a traceback, and a
damaged row never stops a resume, `runs show` or `report`."""
import ctypes
import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import autoda
from autoda.cli import cli
from autoda.search.gp import GeneticProgramming
from autoda.search.journal import Journal, JournalError, RunLock
from autoda.search.loop import Search, SearchConfig
from autoda.search.proposers import OfflineProposer
from autoda.policies import example_policies
from autoda.search.run import JOURNAL, new_config, open_run
from autoda.search.summary import summarise
from test_llm_search import fake_fitness

ROOT = Path(__file__).parents[2]
SEEDS = [autoda.check_policy(text) for text in example_policies().values()]
HOSTILE = "\x1b]0;pwned\x07\x1b[31mred\u202eexe.txt\u200b [/bold] $\\frac{"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_error_line(result, code=1):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and (lines[-1].startswith("error:") or lines[-1].startswith("Error:")), result.stderr
    return lines[-1]


def a_config(tmp_path, device="cpu", **search):
    return new_config(proposer="offline", dataset="synthetic", data_root=None, download=False, imb_ratio=10,
                      method="ce", net="resnet8", batch_size=64, lr=0.05, seed=0, device=device,
                      cache_dir=str(tmp_path / "cache" / "data"), fitness_cache=str(tmp_path / "cache"), llm=None,
                      epochs=4, e_ckp=2, n_ft=1, search={"population": 2, "generations": 1, "explore": 1,
                                                         "mutations": 1, "seed": 0, **search})


def a_run(tmp_path, name="run") -> Path:
    """A finished run folder with a few rows, made without training (a stand-in fitness)."""
    folder = tmp_path / name
    journal, config = open_run(folder, a_config(tmp_path))
    try:
        Search(journal, fake_fitness, OfflineProposer(GeneticProgramming(SEEDS, 64)), config.search).run()
    finally:
        journal.close()
    return folder


# --- one search per folder ---------------------------------------------------------------

def test_a_second_search_in_a_folder_in_use_is_refused(tmp_path):
    folder = a_run(tmp_path)
    holder = Journal(folder / JOURNAL, lock=True)  # a search running there
    try:
        line = one_error_line(run("search", "--resume", folder))
        assert "in use by another search" in line and f"process {os.getpid()}" in line
        with pytest.raises(JournalError, match="in use"):
            open_run(folder, None)
    finally:
        holder.close()
    journal, _ = open_run(folder, None)  # once it ends, the folder is free
    journal.close()


def test_a_new_run_cannot_start_in_a_folder_another_is_starting_in(tmp_path):
    folder = tmp_path / "new"
    folder.mkdir()
    holder = RunLock(folder)  # taken, the journal not made yet
    try:
        line = one_error_line(run("search", "--out", folder))
        assert "in use by another search" in line
        assert not (folder / JOURNAL).exists()
    finally:
        holder.release()


@pytest.mark.slow
def test_two_resumes_at_once_evaluate_nothing_twice(tmp_path):
    """The issue's race: two `--resume` of one folder both ran (7 evaluations for
    --max-evals 6). Two processes now: the second is refused while the first runs."""
    folder = a_run(tmp_path)
    command = [sys.executable, "-c", "import sys, time; from autoda.search.run import open_run; "
               "j, _ = open_run(__import__('pathlib').Path(sys.argv[1]), None); print('locked', flush=True); "
               "time.sleep(30)", str(folder)]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert first.stdout.readline().strip() == "locked"
        second = subprocess.run([sys.executable, "-m", "autoda", "search", "--resume", str(folder)],
                                capture_output=True, text=True, cwd=ROOT, timeout=120)
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 1 and "in use by another search" in second.stderr
    assert "Traceback" not in second.stderr and len(second.stderr.strip().splitlines()) == 1


# --- folders that are not runs, damaged journals ------------------------------------------

def damaged(tmp_path, kind: str) -> Path:
    folder = tmp_path / kind
    if kind == "truncated":
        shutil.copytree(a_run(tmp_path, "whole"), folder)
        data = (folder / JOURNAL).read_bytes()
        (folder / JOURNAL).write_bytes(data[: len(data) // 2])
    elif kind == "garbage":
        folder.mkdir()
        (folder / JOURNAL).write_bytes(os.urandom(10_000))
    elif kind == "other_database":
        folder.mkdir()
        with sqlite3.connect(folder / JOURNAL) as db:
            db.execute("CREATE TABLE candidates (x)")
    elif kind == "journal_is_a_folder":
        (folder / JOURNAL).mkdir(parents=True)
    elif kind == "no_config":
        folder.mkdir()
        Journal(folder / JOURNAL).close()
    elif kind == "bad_config":
        shutil.copytree(a_run(tmp_path, "whole"), folder)
        with sqlite3.connect(folder / JOURNAL) as db:
            config = json.loads(db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
            config["search"]["population"] = "many"
            config["epochs"] = None
            db.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(config),))
    return folder


@pytest.mark.parametrize("kind", ["truncated", "garbage", "other_database", "journal_is_a_folder", "no_config",
                                  "bad_config"])
def test_a_damaged_journal_is_one_line_for_resume_show_and_report(tmp_path, kind):
    folder = damaged(tmp_path, kind)
    resume = run("search", "--resume", folder)
    line = one_error_line(resume, resume.exit_code)
    assert resume.exit_code in (1, 2) and str(folder) in line
    for command in (("runs", "show", folder), ("report", folder)):
        result = run(*command)
        if kind in ("no_config", "bad_config"):  # readable rows: show and report still work
            assert result.exit_code == 0, result.output
        else:
            line = one_error_line(result, result.exit_code)
            assert result.exit_code in (1, 2) and ("journal" in line or "not a" in line or "damaged" in line)


def test_folders_that_are_files_or_not_runs(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert run("search", "--resume", a_file).exit_code == 2
    line = one_error_line(run("search", "--out", a_file / "sub"))
    assert "file" in line.lower() or "directory" in line.lower()
    one_error_line(run("search", "--resume", tmp_path), 2)  # a folder, but not a run
    one_error_line(run("runs", "show", a_file), 2)
    one_error_line(run("report", a_file), 2)
    assert run("runs", "list", a_file).exit_code == 2


def test_runs_list_survives_any_summary(tmp_path):
    for name, text in {"list": "[1, 2]", "deep": "[" * 100_000, "junk": "\x00\xff", "strings": json.dumps(
            {"best": {"fitness": "high", "name": HOSTILE}, "evaluations": "ten", "failures": {"x": "y"},
             "wall_seconds": [], "config": "none"}), "fine": json.dumps({"best": {"fitness": 0.5, "name": "p"}})}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(text, encoding="utf-8", errors="surrogateescape")
    (tmp_path / "dir" / "summary.json").mkdir(parents=True)
    result = run("runs", "list", tmp_path)
    assert result.exit_code == 0, result.output
    assert "fine" in result.stdout and "strings" in result.stdout and "\x1b" not in result.stdout
    assert result.stdout.index("fine") < result.stdout.index("strings")  # best first


# --- a search that never starts leaves nothing ------------------------------------------------

@pytest.fixture
def no_llm_endpoint(monkeypatch):
    """An LLM search whose endpoint refuses every connection (nothing listens on port 9)."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AUTODA_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return ["--proposer", "llm", "--llm-model", "gpt-4o-mini", "--base-url", "http://127.0.0.1:9/v1", "--timeout", "2"]


def test_a_search_whose_llm_cannot_be_reached_leaves_no_run_folder(tmp_path, no_llm_endpoint):
    runs = tmp_path / "runs"
    line = one_error_line(run("search", *no_llm_endpoint, "--out", runs / "new", "--cache-dir", tmp_path / "cache"))
    assert "the LLM endpoint cannot be used" in line
    assert not runs.exists()  # the folder, and the one above it that the search made, are gone
    assert "no runs in" in run("runs", "list", tmp_path).stdout


def test_a_search_whose_data_cannot_be_read_leaves_no_run_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    line = one_error_line(run("search", "--dataset", "folder", "--data-root", tmp_path / "empty", "--out",
                              tmp_path / "new", "--cache-dir", tmp_path / "cache"))
    assert "no images found" in line and not (tmp_path / "new").exists()


def test_a_search_that_never_starts_takes_back_only_what_it_wrote(tmp_path, no_llm_endpoint):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("a person's file")
    (folder / "best.dsl").write_text("# not autoda's")
    one_error_line(run("search", *no_llm_endpoint, "--out", folder, "--cache-dir", tmp_path / "cache"))
    assert sorted(p.name for p in folder.iterdir()) == ["best.dsl", "notes.txt"]
    assert (folder / "best.dsl").read_text() == "# not autoda's"


def test_folders_made_for_a_journal_that_cannot_be_opened_go_unless_something_else_is_there(tmp_path):
    from autoda.search.run import Footprint

    for other in (False, True):
        root = tmp_path / str(other)
        footprint = Footprint(root / "runs" / "new")
        (root / "runs" / "new").mkdir(parents=True)  # what opening the journal makes first
        if other:
            (root / "runs" / "theirs").mkdir()  # another search's, made meanwhile
        with pytest.raises(JournalError), footprint.folders_taken_back_on_error():
            raise JournalError("cannot write in it")
        assert not (root / "runs" / "new").exists()
        assert (root / "runs").exists() == other and tmp_path.exists()


def test_a_resume_that_fails_before_evaluating_keeps_the_run(tmp_path):
    folder = tmp_path / "run"
    journal, _ = open_run(folder, a_config(tmp_path, device="cuda:99"))
    journal.close()
    before = sorted(p.name for p in folder.iterdir())
    assert "this run trains on cuda:99" in one_error_line(run("search", "--resume", folder))
    assert set(before) <= {p.name for p in folder.iterdir()}  # nothing of a run that was there is taken
    assert Journal(folder / JOURNAL, read_only=True).meta("config") is not None


def test_runs_list_leaves_out_runs_that_journaled_nothing(tmp_path):
    for name in ("ran", "never"):
        journal = Journal(a_run(tmp_path, name) / JOURNAL)
        if name == "never":  # what an earlier version left after a search failed before its first candidate
            journal.db.execute("DELETE FROM candidates")
            journal.db.execute("DELETE FROM evaluations")
        summarise(journal, tmp_path / name, 1.0, "done")
        journal.close()
    assert json.loads((tmp_path / "never" / "summary.json").read_text())["candidates"] == 0
    listing = run("runs", "list", tmp_path).stdout
    assert "ran" in listing and "never" not in listing


# --- journals from older versions, by hand, or damaged row by row ------------------------------

def hand_made_journal(tmp_path) -> Path:
    """An older version's schema (no `final`, no `request_id`, no constraints), with rows
    holding NULLs, strings for numbers and hostile text."""
    folder = tmp_path / "old"
    folder.mkdir()
    good = SEEDS[0].canonical
    per_class = json.dumps({"many": 0.5, "medium": 0.4, "few": 0.3, "all": 0.4, "per_class": [0.5, 0.4, 0.3]})
    with sqlite3.connect(folder / JOURNAL) as db:
        db.executescript("""
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE candidates (id INTEGER PRIMARY KEY, generation, slot, attempt, operator, parents,
                proposer, status, policy_text, policy_hash, policy_name, idea, prompt, response, diagnostics,
                fitness, validation, failure, message, tokens_prompt, tokens_completion, eval_seconds, created);""")
        rows = [
            (0, 0, 0, "initialise", "[]", "offline", "evaluated", good, "h0", SEEDS[0].name, "fine", 0.5, per_class,
             None, 10, 5, 1.0),
            (0, 1, 0, None, None, None, "evaluated", good, "h1", HOSTILE, HOSTILE, "high", "{bad", None, "lots",
             -3, "slow"),
            (0, 2, 0, "mutate", "[1, \"x\", null]", "offline", "evaluated", good, "h2", "p2", None, 7.5, "[1, 2]",
             None, 1e30, 2.5, 1.0),
            (None, 3, 0, "mutate", "[]", "offline", "evaluated", good, "h3", "p3", None, 0.9, per_class, None, 1, 1,
             1.0),
            (1, 0, 0, "crossover", "[1]", "offline", None, good, "h4", "p4", None, 0.9, per_class, None, 1, 1, 1.0),
            (1, 1, 0, "crossover", "[1]", "offline", "evaluated", None, "h5", "p5", None, 0.95, per_class, None, 1,
             1, 1.0),
            (1, 2, 0, "crossover", "[1]", "offline", "evaluated", good, "h6", "p6", HOSTILE, 0.4, "[1, 2]", None, 1,
             1, 1.0),
            (1, 3, 0, "mutate", "[1]", "offline", "evaluating", "policy broken\nper sample:\n    rotat(0.1)\n",
             None, None, None, None, None, None, 0, 0, None),
            (1, 4, 0, "mutate", "[1]", "offline", "failed", None, None, None, None, None, None, "compile", 0, 0, None),
        ]
        db.executemany("INSERT INTO candidates (generation, slot, attempt, operator, parents, proposer, status, "
                       "policy_text, policy_hash, policy_name, idea, fitness, validation, failure, tokens_prompt, "
                       "tokens_completion, eval_seconds) VALUES (" + ", ".join("?" * 17) + ")", rows)
        config = a_config(tmp_path).to_dict()
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("config", json.dumps(config)), ("train_counts", '"oops"'),
                                                          ("wall_seconds", '"x"'), ("class_names", "{bad")])
    return folder


def test_show_and_report_read_a_hand_made_journal(tmp_path):
    folder = hand_made_journal(tmp_path)
    shown = run("runs", "show", folder)
    assert shown.exit_code == 0, shown.output
    assert "note: 2 journal rows could not be read" in shown.stdout
    assert "\x1b" not in shown.stdout and "\u202e" not in shown.stdout and "\\x1b" in shown.stdout
    report = run("report", folder, "--out", tmp_path / "page.html")
    assert report.exit_code == 0, report.output
    page = (tmp_path / "page.html").read_text()
    assert "<h2>leaderboard" in page and "\x1b" not in page and "\u202e" not in page


def test_a_resume_goes_on_over_damaged_rows(tmp_path):
    folder = hand_made_journal(tmp_path)
    journal = Journal(folder / JOURNAL, lock=True)  # as --resume opens it: older columns are added
    config = SearchConfig(population=2, generations=2, explore=1, mutations=1)
    assert Search(journal, fake_fitness, OfflineProposer(GeneticProgramming(SEEDS, 64)), config).run() == "done"
    rows = {r.id: r for r in journal.all()}
    assert rows[8].status == "failed" and rows[8].failure == "compile"  # was in flight, no longer checks
    assert journal.tokens() == 10 + 5 + 4 * 2  # strings, negatives, 2.5 and 1e30 count nothing
    from autoda.search.summary import summarise
    summary = summarise(journal, folder, 1.0, "done")
    assert summary["best"]["fitness"] <= 1 and (folder / "best.dsl").exists()
    assert autoda.check_policy(folder / "best.dsl").name  # the header stays a comment
    journal.close()


def test_a_journal_whose_configuration_an_earlier_version_wrote_resumes(tmp_path):
    """The first version's configuration: no policy_lang, no executor (both came later)."""
    folder = a_run(tmp_path)
    with sqlite3.connect(folder / JOURNAL) as db:
        config = json.loads(db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
        del config["search"]["policy_lang"]
        config.pop("executor", None)
        db.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(config),))
    result = run("search", "--resume", folder)
    assert result.exit_code == 0, result.output
    assert "resuming" in result.stderr and (folder / "best.dsl").exists()


# values a hand-edited journal's configuration may hold, each of which reached torch,
# multiprocessing or os.path as it stood and ended in a traceback
TAMPERED = {
    "workers": {"executor": {"workers": "x"}}, "no workers": {"executor": {"workers": 0}},
    "fractional workers": {"executor": {"workers": 2.5}}, "threads": {"executor": {"workers": 2, "cpus_per_eval": -1}},
    "executor kind": {"executor": {"kind": ["local"]}}, "cache path": {"fitness_cache": [1]},
    "data path": {"data_root": 7}, "network": {"net": "evil"}, "method": {"method": "evil"},
    "device": {"device": HOSTILE}, "batch size": {"batch_size": 0}, "learning rate": {"lr": float("nan")},
    "epochs": {"epochs": 10**12}, "checkpoint after the end": {"e_ckp": 5, "epochs": 2}, "seed": {"seed": 10**30},
    "proposer": {"proposer": "evil"},
}


@pytest.mark.parametrize("name", TAMPERED)
def test_a_tampered_configuration_is_one_line(tmp_path, name):
    folder = tmp_path / "run"
    journal, config = open_run(folder, a_config(tmp_path, max_evals=1))
    stored = config.to_dict()
    stored.update(TAMPERED[name])
    journal.set_meta("config", stored)
    journal.close()
    line = one_error_line(run("search", "--resume", folder), 2)
    assert "stored configuration is damaged" in line and "\x1b" not in line


def test_a_run_on_a_device_this_machine_lacks_is_one_line(tmp_path):
    folder = tmp_path / "run"
    journal, config = open_run(folder, a_config(tmp_path, device="cuda:99", max_evals=1))
    journal.close()
    assert "this run trains on cuda:99" in one_error_line(run("search", "--resume", folder))


# --- read-only folders -----------------------------------------------------------------------

def _without_root_powers() -> None:
    """In the child, before exec: root without the capabilities that ignore file modes
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER), so a read-only folder is one."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def as_reader(args: list) -> subprocess.CompletedProcess:
    """`autoda ARGS` in a process for which the read-only folder is read-only (for root,
    whom file modes do not stop, one that dropped the powers to ignore them)."""
    try:
        return subprocess.run([sys.executable, "-m", "autoda", *map(str, args)], capture_output=True, text=True,
                              cwd=ROOT, timeout=300, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
                              preexec_fn=_without_root_powers if os.geteuid() == 0 else None)
    except subprocess.SubprocessError as error:
        pytest.skip(f"cannot make a process that file modes stop here: {error}")


@pytest.fixture
def read_only_run(tmp_path):
    """A finished run in a folder no one may write in (nor make SQLite's -shm file in)."""
    folder = tmp_path / "read-only"
    shutil.copytree(a_run(tmp_path), folder)
    paths = [*folder.iterdir(), folder]
    for path in paths:
        path.chmod(0o555 if path.is_dir() else 0o444)
    yield folder
    for path in paths:
        path.chmod(0o755)


@pytest.mark.slow
def test_show_and_report_work_on_a_read_only_folder_and_resume_says_why_not(read_only_run, tmp_path):
    folder = read_only_run
    before = sorted(p.name for p in folder.iterdir())
    resume = as_reader(["search", "--resume", folder])
    assert resume.returncode == 1 and "cannot write in" in resume.stderr, resume.stderr
    assert "Traceback" not in resume.stderr and len(resume.stderr.strip().splitlines()) == 1
    shown = as_reader(["runs", "show", folder])
    assert shown.returncode == 0 and "rank" in shown.stdout, shown.stderr
    report = as_reader(["report", folder])
    assert report.returncode == 1 and "cannot write" in report.stderr and "--out" in report.stderr
    assert "Traceback" not in report.stderr and len(report.stderr.strip().splitlines()) == 1
    report = as_reader(["report", folder, "--out", tmp_path / "page.html"])
    assert report.returncode == 0 and (tmp_path / "page.html").exists(), report.stderr
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing was written there


# --- a full disk -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def search_args(folder, cache):
    return ["search", "--out", folder, "--population", "3", "--generations", "1", "--explore", "1", "--mutations",
            "1", "--epochs", "4", "--e-ckp", "1", "--n-ft", "1", "--imb-ratio", "10", "--cache-dir", cache]


def test_a_full_disk_under_the_journal_is_one_line_and_keeps_the_journal(tmp_path, cache, monkeypatch):
    opened = Journal.__init__

    def small_disk(self, path, **options):  # SQLite's own "database or disk is full", a few pages on
        opened(self, path, **options)
        if options.get("lock"):
            pages = self.db.execute("PRAGMA page_count").fetchone()[0]
            self.db.execute(f"PRAGMA max_page_count = {pages + 2}")

    monkeypatch.setattr(Journal, "__init__", small_disk)
    folder = tmp_path / "run"
    line = one_error_line(run(*search_args(folder, cache)))
    assert "disk is full" in line and "--resume" in line
    monkeypatch.undo()
    with sqlite3.connect(folder / JOURNAL) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0] >= 1  # what was committed stays
    assert run("runs", "show", folder).exit_code == 0


def test_a_full_disk_under_best_dsl_is_one_line(tmp_path, cache, monkeypatch):
    import autoda.search.summary as summary

    def no_space(path, write):
        raise OSError(errno.ENOSPC, "No space left on device", str(path) + ".tmp")

    monkeypatch.setattr(summary, "write_atomic", no_space)
    folder = tmp_path / "run"
    line = one_error_line(run(*search_args(folder, cache)))
    assert "disk is full" in line and "best.dsl" in line and ".tmp" not in line
    assert Journal(folder / JOURNAL, read_only=True).evaluations() >= 1


def test_fifos_where_files_should_be_never_block(tmp_path):
    """Reading a FIFO waits for a writer for ever; none is ever opened."""
    (tmp_path / "a").mkdir()
    os.mkfifo(tmp_path / "a" / "summary.json")
    (tmp_path / "b").mkdir()
    os.mkfifo(tmp_path / "b" / JOURNAL)
    assert run("runs", "list", tmp_path).exit_code == 0
    assert "not a file" in one_error_line(run("runs", "show", tmp_path / "b"))
    assert "not a file" in one_error_line(run("report", tmp_path / "b"))
    assert "not a file" in one_error_line(run("search", "--resume", tmp_path / "b"), 2)
