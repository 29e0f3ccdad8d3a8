"""The search loop's operators beyond EoH's: `tune` (Optuna on the leader's constants),
`diversity` (niches, parsimony, bounded GP offspring), on the noisy stand-in fitness."""
import pytest

from autoda.search.config import ConfigError, RunConfig, SearchConfig
from autoda.search.parsimony import size_of
from autoda.search.journal import Journal
from autoda.search.niches import niche_of_text
from autoda.search.tuning import structure_key

from noisy_tasks import search


def run(tmp_path, name: str, **changes) -> Journal:
    journal = Journal(tmp_path / f"{name}.sqlite")
    search(journal, **changes).run()
    return journal


def test_tune_offspring_keep_the_leaders_structure_and_move_its_constants(tmp_path):
    journal = run(tmp_path, "tune", tune=2, generations=2)
    rows = [c for c in journal.all() if c.operator == "tune"]
    assert len(rows) == 4 and all(c.proposer == "optuna" for c in rows)
    by_id = {c.id: c for c in journal.all()}
    for row in rows:
        (parent,) = row.parents
        leader = by_id[parent]
        assert structure_key(row.policy_text) == structure_key(leader.policy_text)
        assert row.policy_hash != leader.policy_hash  # new constants, so a new behaviour
        assert row.status == "evaluated" and "constants tuned" in row.idea
        assert row.policy_name != leader.policy_name  # a child has its own name


def test_the_tuner_proposes_the_same_after_a_resume_as_in_one_go(tmp_path):
    # no confirmation: a stopped run confirms whichever candidates lead when it stops, and
    # those extra seeds rightly change what a resumed run ranks first
    once = run(tmp_path, "once", tune=2, generations=2, confirm_seeds=0)
    stopped = Journal(tmp_path / "stopped.sqlite")
    assert search(stopped, tune=2, generations=2, max_evals=20, confirm_seeds=0).run().startswith("stopped")
    assert sum(c.operator == "tune" for c in stopped.all()) == 2  # stopped between the two generations' tuning
    search(stopped, tune=2, generations=2, confirm_seeds=0).run()  # resumed: the history it tunes from is the journal's
    tuned = [c.policy_hash for c in once.all() if c.operator == "tune"]
    assert tuned and tuned == [c.policy_hash for c in stopped.all() if c.operator == "tune"]


def test_diversity_keeps_more_niches_and_bounds_offspring(tmp_path):
    plain = run(tmp_path, "plain", generations=2)
    diverse = run(tmp_path, "diverse", generations=2, diversity=True)

    def niches(journal: Journal) -> set:
        result = search(journal, generations=2, diversity=journal is diverse)
        return {niche_of_text(c.policy_text) for c in result.population_before(3)}

    assert len(niches(diverse)) >= len(niches(plain))
    # the population's leader is the same candidate whichever way it is kept
    assert search(diverse, generations=2, diversity=True).population_before(3)[0].id == \
           search(diverse, generations=2).population_before(3)[0].id


def test_diversity_simplifies_and_bounds_genetic_programming_offspring(tmp_path):
    from autoda.search.run import _proposer

    config = RunConfig("offline", search=SearchConfig(diversity=True))
    gp = _proposer(config, None, None).gp
    assert gp.simplify and gp.max_size == 120
    assert not _proposer(RunConfig("offline"), None, None).gp.simplify
    journal = run(tmp_path, "bounded", generations=2, diversity=True)
    assert all(size_of(c.policy_text) <= 120 for c in journal.all() if c.generation > 0 and c.policy_text)


def test_tune_is_refused_for_python_searches():
    from autoda.search.llm import LLMSettings

    config = RunConfig("llm", search=SearchConfig(tune=1, policy_lang="python"), llm=LLMSettings(model="m"))
    with pytest.raises(ConfigError, match="--tune"):
        config.validate()


def test_operator_settings_are_stored_only_when_used_and_read_back():
    default = RunConfig("offline").to_dict()["search"]
    assert "tune" not in default and "diversity" not in default
    used = RunConfig("offline", search=SearchConfig(tune=2, diversity=True))
    assert RunConfig.from_dict(used.to_dict()).search == used.search
    for bad in ({"tune": -1}, {"tune": 1.5}, {"diversity": 1}):
        with pytest.raises(ConfigError):
            RunConfig.from_dict({**used.to_dict(), "search": {**used.to_dict()["search"], **bad}})
