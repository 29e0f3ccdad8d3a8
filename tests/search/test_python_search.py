"""`autoda search --policy-lang python`: the LLM writes the paper's get_aug_type; answers are
checked (static checks, trial run), evaluated with the real fitness (the sandboxed epoch
step inside training), and every failure is journaled with its kind while the search goes on."""
from collections import Counter
from pathlib import Path

from autoda.engine.train.data import load_dataset
from autoda.engine.train.fitness import FitnessEvaluator, FitnessSetup
from autoda.engine.train.trainer import Recipe
from autoda.search.journal import Journal
from autoda.search.llm import LLMClient, LLMSettings
from autoda.search.loop import Search, SearchConfig
from autoda.search.prompting import TaskContext
from autoda.search.proposers import LLMProposer
from autoda.search.summary import summarise
from fake_openai import FakeOpenAI

ROOT = Path(__file__).parents[2]
DODA = (ROOT / "examples/policies/paper_doda.py").read_text()
SIGNATURE = "def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):\n"
LATE = SIGNATURE + "    if epoch >= 3:\n        return 1 / 0\n    return lats_chose_matix, lats_chose_exts\n"


def test_a_python_search_evaluates_repairs_and_records_sandbox_failures(tmp_path):
    data = load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=16)
    setup = FitnessSetup("ce", "resnet8", Recipe.for_epochs(5, batch_size=32, lr=0.05), 0, e_ckp=3, n_ft=2)
    evaluator = FitnessEvaluator(data, setup, tmp_path / "cache")
    script = [
        "IDEA: DODA's weights, as the paper's seed\n```python\n" + DODA + "```\n",
        "IDEA: look around\n```python\nimport os\n" + SIGNATURE + "    return lats_chose_matix, lats_chose_exts\n```",
        "IDEA: fails later\n```python\n" + LATE + "```",  # passes its trial run, fails in fine-tuning (after epoch 3)
    ]
    journal = Journal(tmp_path / "journal.sqlite")
    journal.set_meta("config", {"search": {"policy_lang": "python"}})
    with FakeOpenAI(script) as server:
        client = LLMClient(LLMSettings("fake", server.base_url, None, timeout=5, retries=0))
        task = TaskContext("synthetic with 10 classes", "resnet8", "ce", 3, 1, language="python")
        config = SearchConfig(population=2, generations=0, repair_tries=1, policy_lang="python")
        assert Search(journal, evaluator.evaluate, LLMProposer(client, task), config).run() == "done"
        system = server.requests[0]["messages"][0]["content"]
        repair = server.requests[2]["messages"][-1]["content"]
    assert "def get_aug_type(aug_weight, ACCs, History_ACCs" in system and "# The policy language" not in system
    assert "P004" in repair and "```python" in repair
    rows = journal.all()
    assert Counter(r.failure for r in rows) == Counter({None: 1, "compile": 1, "python_exception": 1})
    good = journal.evaluated()[0]
    assert good.policy_text == DODA and good.idea == "DODA's weights, as the paper's seed" and 0 <= good.fitness <= 1
    late = next(r for r in rows if r.failure == "python_exception")
    assert "get_aug_type failed after epoch 3 (exception): ZeroDivisionError" in late.message
    summarise(journal, tmp_path, 1.0, "done")
    assert (tmp_path / "best.py").read_text().endswith(DODA) and not (tmp_path / "best.dsl").exists()


def test_max_time_cuts_a_python_policys_trial_run_short(tmp_path):
    """A function that spends most of its CPU limit on every call made the trial run (three
    calls) last half a minute past --max-time; the trial now ends by it, and the candidate
    waits in flight for --resume, as one checked too late does."""
    import time

    class Result:  # what the stand-in fitness returns; no candidate gets that far here
        ok, fitness, validation, failure, message, seconds = True, 0.5, {}, None, None, 0.0

    slow = SIGNATURE + "    for i in range(10 ** 10):\n        pass\n    return lats_chose_matix, lats_chose_exts\n"
    journal = Journal(tmp_path / "journal.sqlite")
    journal.set_meta("config", {"search": {"policy_lang": "python"}})
    with FakeOpenAI([], fallback="IDEA: slow\n```python\n" + slow + "```") as server:
        client = LLMClient(LLMSettings("fake", server.base_url, None, timeout=5, retries=0))
        task = TaskContext("synthetic with 10 classes", "resnet8", "ce", 3, 1, language="python")
        config = SearchConfig(population=1, generations=0, repair_tries=0, policy_lang="python", max_time=1.5)
        started = time.monotonic()
        assert Search(journal, lambda checked: Result(), LLMProposer(client, task), config).run() == \
            "stopped: max-time (1.5 s)"
        assert time.monotonic() - started < 6  # the CPU limit alone would stop it after 10 s
    [row] = journal.all()
    assert row.status == "evaluating" and row.failure is None  # in flight: the next --resume checks it again
