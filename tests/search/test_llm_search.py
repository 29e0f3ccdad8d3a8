"""The LLM proposer against a fake OpenAI-compatible server over HTTP, with the real openai
client: every kind of answer is journaled with the right failure kind and the search ends."""
from collections import Counter
from dataclasses import dataclass

import pytest

from autoda.search.journal import Journal
from autoda.search.llm import LLMClient, LLMSettings
from autoda.search.loop import Search, SearchConfig
from autoda.search.prompting import TaskContext
from autoda.search.proposers import LLMProposer
from fake_openai import FakeOpenAI

GOOD = "IDEA: rotate the rare classes harder\n```policy\npolicy tail \"x\"\nper sample:\n    rotate(0.1 + 0.4 * rank)\n```\n"
OTHER = "policy other\nper sample:\n    cutout(0.25) with probability 0.5\n"
FOURTH = "policy fourth\nper sample:\n    invert with probability 0.2\n"
THIRD = "```\npolicy third\nper sample:\n    flip_lr with probability 0.5\n```"
BROKEN = "IDEA: typo\n```policy\npolicy broken\nper sample:\n    rotat(0.3)\n```"
PYTHON = "```python\ndef get_aug_type(w, acc, epoch):\n    return w.argmax(1)\n```"
TASK = TaskContext("synthetic with 3 classes", "resnet8", "ce", 2, 1)


@dataclass
class Result:
    ok: bool
    fitness: float | None
    validation: dict | None
    failure: str | None = None
    message: str | None = None
    seconds: float = 0.01


def fake_fitness(checked):
    """A stand-in for training: the policy text's length decides, so results differ."""
    value = (len(checked.canonical) % 97) / 100
    return Result(True, value, {"many": None, "medium": value, "few": value, "all": value})


def search(server, config: SearchConfig, tmp_path, timeout=2.0):
    journal = Journal(tmp_path / "journal.sqlite")
    client = LLMClient(LLMSettings("fake", server.base_url, None, timeout=timeout, retries=0))
    return Search(journal, fake_fitness, LLMProposer(client, TASK), config), journal


def test_every_kind_of_answer_is_journaled_and_the_search_ends(tmp_path):
    script = [
        "Here you go:\n" + GOOD + "\nThat should help the tail.",  # prose around a fence
        BROKEN, OTHER,                                             # repaired on the second try
        "", THIRD,                                                 # empty, then a bare-ish answer
        PYTHON, PYTHON, PYTHON,                                    # Python three times: the slot gives up
        {"status": 429}, {"status": 500}, {"sleep": 2.0, "content": GOOD},  # the next slot: transport failures
        GOOD, FOURTH,                                              # a repeat is not evaluated twice
    ]
    with FakeOpenAI(script) as server:
        s, journal = search(server, SearchConfig(population=6, generations=0, repair_tries=2), tmp_path, timeout=0.5)
        assert s.run() == "done"
        rows = journal.all()
        kinds = Counter(r.failure for r in rows)
        assert kinds == Counter({None: 4, "compile": 1, "empty": 4, "rate_limit": 1, "server": 1, "timeout": 1,
                                 "duplicate": 1})
        assert [r.policy_name for r in journal.evaluated()] == ["tail", "other", "third", "fourth"]
        assert "already evaluated" in server.requests[-1]["messages"][-1]["content"]
        assert journal.evaluated()[0].idea == "rotate the rare classes harder"
        repair = server.requests[2]["messages"]
        assert "N002" in repair[-1]["content"] and "rotate" in repair[-1]["content"]  # diagnostics went back
        assert repair[-2] == {"role": "assistant", "content": BROKEN}
        assert "# The policy language" in repair[0]["content"]  # the reference is in the system prompt
        assert sum(r.tokens_prompt for r in rows) == 100 * len([r for r in rows if r.response is not None])
        assert all(r.request_id for r in rows if r.response is not None)


def test_crossover_and_mutation_prompts_carry_the_parents(tmp_path):
    answers = [f"policy p{i}\nper sample:\n    rotate({0.1 + i / 100})\n" for i in range(12)]
    with FakeOpenAI(answers) as server:
        s, journal = search(server, SearchConfig(population=2, generations=1, explore=1, mutations=1), tmp_path)
        assert s.run() == "done"
        crossover = server.requests[2]["messages"][-1]["content"]
        assert "Policy A: fitness" in crossover and "Policy B: fitness" in crossover and "```policy" in crossover
        assert "Policy: fitness" in server.requests[3]["messages"][-1]["content"]
        operators = [r.operator for r in journal.all()]
        assert operators == ["initialise", "initialise", "crossover", "mutate"]
        assert journal.all()[2].parents and len(journal.all()[3].parents) == 1


def test_simple_strategy_asks_once(tmp_path):
    with FakeOpenAI([GOOD]) as server:
        s, journal = search(server, SearchConfig(strategy="simple"), tmp_path)
        assert s.run() == "done"
        assert len(server.requests) == 1 and [r.operator for r in journal.all()] == ["simple"]
        assert "do best" in server.requests[0]["messages"][-1]["content"]


def test_token_budget_stops_the_run(tmp_path):
    answers = [f"policy p{i}\nper sample:\n    rotate({0.1 + i / 100})\n" for i in range(10)]
    with FakeOpenAI(answers) as server:
        s, journal = search(server, SearchConfig(population=5, generations=0, max_tokens=250), tmp_path)
        assert s.run() == "stopped: max-tokens (250)"
        assert len(server.requests) == 3  # 120 tokens each: the third call crosses 250


@pytest.mark.parametrize("answer", ["", "no policy here, sorry", PYTHON])
def test_answers_without_a_policy_are_asked_again(answer, tmp_path):
    with FakeOpenAI([answer, GOOD]) as server:
        s, journal = search(server, SearchConfig(population=1, generations=0), tmp_path)
        s.run()
        assert [r.failure for r in journal.all()] == ["empty", None]
        assert "no policy in it" in server.requests[1]["messages"][-1]["content"]


def test_an_answer_under_a_name_that_means_another_behaviour_gets_its_own(tmp_path):
    from autoda.policies import example_policies

    randaugment = example_policies()["randaugment"]
    answers = ["policy p\nper sample:\n    rotate(0.2)\n",
               "policy p\nper sample:\n    rotate(0.3)\n",           # a parent's name, another behaviour
               "policy randaugment\nper sample:\n    invert\n",       # an example's name, another behaviour
               randaugment]                                           # RandAugment itself keeps its name
    with FakeOpenAI(answers) as server:
        s, journal = search(server, SearchConfig(population=1, generations=3, explore=0, mutations=1), tmp_path)
        assert s.run() == "done"
        names = [r.policy_name for r in journal.evaluated()]
        hashes = [r.policy_hash for r in journal.evaluated()]
        assert names[0] == "p" and names[1] == f"p_h{hashes[1][:6]}"
        assert names[2] == f"randaugment_h{hashes[2][:6]}" and names[3] == "randaugment"
        assert len(set(names)) == 4
        assert f"policy {names[1]}" in journal.evaluated()[1].policy_text  # the journaled text says it too
