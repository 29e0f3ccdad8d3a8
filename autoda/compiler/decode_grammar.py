"""Grammars for constrained decoding, generated from grammar/policy.lark.

A model server that constrains its decoder to a grammar (llama.cpp's GBNF, the EBNF of
vLLM's structured outputs and XGrammar, the Lark of llguidance and of OpenAI's custom
tools) only samples text the grammar admits, so even a small model answers with a policy
that parses. The decode grammar is a stricter sub-language of the parser's: one canonical
layout (a space between words, four spaces before a statement or stage, eight before a
clause, no comments), only the ops, statistics and functions the checker knows where a
name must be one, no keyword as a name, and plain decimals of at most six digits either
side of the point; numbers the checker bounds are written in families that keep their
range, and states are of the kinds decode_values gives (the declared-names grammar).
Everything it admits parses; most of it also checks.

It is derived from the rules the parser runs (``parser.grammar_rules``), never written
twice: left recursion becomes repetition, the whitespace the lexer ignores becomes an
explicit space where two tokens would otherwise run together, and every NAME becomes what
its place allows (``_NAME_PLACES``). A change to policy.lark that adds a NAME in a new
place, or a token this module has no decode form for, fails here with a message, so the
two grammars cannot drift apart silently.

``decode_grammar()`` is the grammar of a whole answer as the prompts ask for it (the
``IDEA:`` line, then the policy in a fenced block); decode_render writes it as GBNF, EBNF or
Lark.
"""
from __future__ import annotations

import functools
import re
import string
from dataclasses import replace
from typing import Callable

from ..ops import OPS
from . import ast
from . import typerules
from .decode_nodes import (MAX_DIGITS, MAX_EXPONENT_DIGITS, MAYBE_SPACE, NEWLINE, SPACE, Alt, DecodeGrammar, Lit, Node,
                           Ref, Rep, Seq, alt, call, chars, seq)
from .decode_values import (MOST_IN_A_CHAIN, ROLES, STATE_KINDS, apply_counts, free_roles, op_lists, op_names,
                            role_names, state_declaration, value_families)
from .functions import FUNCTIONS
from .parser import grammar_rules


# --- the lexical rules the decode grammar adds ----------------------------------------

# Where the parser's grammar has NAME, what the decode grammar allows there: (rule, alias)
# of the rule the NAME sits in (a helper rule counts as its parent's). Stages and calls are
# then replaced by _checker_rules' stricter ones; every place is still named here, so a
# NAME that policy.lark adds anywhere stops generation until it is.
_NAME_PLACES = {
    ("header", None): "ident",
    ("state_decl", None): "ident",
    ("statement", "let"): "ident",
    ("statement", "assign"): "ident",
    ("term", None): "op_name",
    ("op_list", None): "op_name",
    ("atom", "name"): "value_name",
    ("atom", "call"): "function_name",
}
# the canonical layout's indentation, before every alternative of these rules (stages and
# clauses: _checker_rules)
_INDENT = {"statement": "    "}
MAX_INDENT = 48  # spaces after a newline in an op list (inside brackets a newline is a space)
# How many of a repeated part: a small model held to the grammar can go on adding terms
# until its token limit, and a bound ends the answer instead. Keyed by the rule a
# repetition belongs to; other repetitions are operator chains (a + b + ...).
_MOST = {"start": 8,  # state declarations
         "epoch_section": 16,  # statements
         "comparison": 2,  # comparisons in a chain
         "or_expr": 2, "and_expr": 2}  # no example joins more than two conditions
MAX_NAME = 32  # characters in a name the model makes up
MAX_DESCRIPTION = 120
MAX_IDEA = 200
_WORD = set(string.ascii_letters + string.digits + "_")
_LOWER, _IDENT_REST = set(string.ascii_lowercase), set(string.ascii_lowercase + string.digits + "_")
# printable ASCII: a description has no quote or backslash, an idea no backtick (it would
# open the fence early)
_PRINTABLE = set(chr(c) for c in range(0x20, 0x7F))


def _helper_parent(rule: str) -> str:
    """The rule a Lark helper (``__op_list_star_4``) was made from; any other rule itself."""
    match = re.fullmatch(r"__(.+)_(?:star|plus)_\d+", rule)
    return match.group(1) if match else rule


def _literal_choices(pattern: str) -> list[str] | None:
    """The strings of a token defined as literal alternatives (``"<" | "<="``), which Lark
    compiles to ``(?:<|<=)``; None for any other pattern."""
    match = re.fullmatch(r"\(\?:(.*)\)", pattern)
    if not match:
        return None
    pieces = re.split(r"(?<!\\)\|", match.group(1))
    words = [re.sub(r"\\(.)", r"\1", piece) for piece in pieces]
    return words if all(re.fullmatch(pattern, w) for w in words) else None


def _ident_rules(keywords: set[str]) -> dict[str, Node]:
    """``ident``: a lowercase name that is no keyword, as rules along the keywords' trie
    (a name that leaves the trie is free; one that ends inside it must not end on a
    keyword), since the formats have no lookahead to exclude words with."""
    rules: dict[str, Node] = {}
    tail_name = "ident_tail"

    def node(prefix: str) -> str:
        name = "ident" if not prefix else f"ident_{prefix}"
        if name in rules:
            return name
        rules[name] = Lit("")  # reserve the name's place in the order
        allowed = _LOWER if not prefix else _IDENT_REST
        children = sorted({k[len(prefix)] for k in keywords if k.startswith(prefix) and len(k) > len(prefix)} & allowed)
        options: list[Node] = [seq(Lit(c), Ref(node(prefix + c))) for c in children]
        free = allowed - set(children)
        if free:
            options.append(seq(chars(free), Ref(tail_name)))
        body = alt(*options)
        rules[name] = Rep(body, 0, 1) if prefix and prefix not in keywords else body
        return name

    node("")
    rules[tail_name] = Rep(chars(_IDENT_REST), 0, MAX_NAME - 1)
    return rules


def _lexical_rules(keywords: set[str]) -> dict[str, Node]:
    digits = Rep(chars(string.digits), 1, MAX_DIGITS)
    # small numbers only (1e-06, as the canonical form writes them): 1e+99 is too large
    exponent = seq(Lit("e-"), Rep(chars(string.digits), 1, MAX_EXPONENT_DIGITS))
    return {
        **free_roles(keywords),
        "op_name": alt(*(Lit(op) for op in sorted(OPS, key=lambda o: (-len(o), o)))),
        "function_name": alt(*(Lit(f) for f in sorted(FUNCTIONS, key=lambda f: (-len(f), f)))),
        "number": seq(digits, Rep(seq(Lit("."), digits), 0, 1), Rep(exponent, 0, 1)),
        "string": seq(Lit('"'), Rep(chars(_PRINTABLE - {'"', "\\"}), 0, MAX_DESCRIPTION), Lit('"')),
        **_ident_rules(keywords),
    }


# --- from the parser's rules ------------------------------------------------------------

def _edges(tokens: dict[str, tuple[str, str]], name: str) -> tuple[set[str], set[str]]:
    """What a token can start and end with: "word" (a letter, digit or underscore, which
    runs into a neighbouring word) or its literal text (punctuation)."""
    kind, value = tokens[name]
    if name in ("NAME", "NUMBER"):
        return {"word"}, {"word"}
    if name == "STRING":
        return {'"'}, {'"'}
    if name == "_NL":
        return {"\n"}, {"\n"}
    words = [value] if kind == "string" else (_literal_choices(value) or [])
    first = {"word" if w[0] in _WORD else w for w in words}
    last = {"word" if w[-1] in _WORD else w for w in words}
    return first, last


def _token_node(tokens: dict[str, tuple[str, str]], name: str, place: tuple[str, str | None]) -> Node:
    kind, value = tokens[name]
    if name == "NAME":
        if place not in _NAME_PLACES:
            raise ValueError(f"decode grammar: policy.lark has a NAME in {place}, which _NAME_PLACES does not cover")
        return Ref(_NAME_PLACES[place])
    if name == "_NL":  # a blank line may follow, as between the canonical form's sections
        return seq(Lit("\n"), Rep(Lit("\n"), 0, 1))
    if name in ("NUMBER", "STRING"):
        return Ref(name.lower())
    if kind == "string":
        return Lit(value)
    choices = _literal_choices(value)
    if choices is None:
        raise ValueError(f"decode grammar: no decode form for the token {name} ({value!r})")
    return alt(*(Lit(c) for c in sorted(choices, key=lambda c: (-len(c), c))))


def _rule_name(lark_name: str) -> str:
    """A rule's name in every format: lowercase letters, digits and underscores (GBNF
    writes the underscores as hyphens); the parser's start is the policy, and a helper
    is named after its parent (policy_star_0)."""
    if lark_name == "start":
        return "policy"
    parent = _helper_parent(lark_name)
    return lark_name.lstrip("_") if parent == lark_name else _rule_name(parent) + lark_name[2 + len(parent):]


NAMES = ("declared", "free")


@functools.lru_cache(maxsize=4)
def decode_grammar(answer: bool = True, names: str = "declared") -> DecodeGrammar:
    """The decode grammar: of a whole answer (the IDEA line and a fenced policy) or, with
    ``answer=False``, of the policy text alone. ``names``: ``declared`` (the default) reads
    only names that are declared where they are read, its states named s1, s2, ... and
    its epoch values v1, v2, ... in order (_declared_names, ast.numbered_names); ``free``
    admits any name where the parser does, as every example is written."""
    if names not in NAMES:
        raise ValueError(f"unknown names {names!r}: one of {', '.join(NAMES)}")
    bnf, tokens = grammar_rules()
    literals = {v for k, v in tokens.values() if k == "string"}
    for kind, value in tokens.values():
        literals.update(_literal_choices(value) or [] if kind == "regex" else [])
    keywords = {w for w in literals if re.fullmatch(tokens["NAME"][1], w)}
    alternatives: dict[str, list[tuple[tuple[str, bool], ...]]] = {}
    aliases: dict[tuple[str, int], str | None] = {}
    for origin, alias, expansion in bnf:
        alternatives.setdefault(origin, []).append(expansion)
        aliases[origin, len(alternatives[origin]) - 1] = alias
    first, last = _first_last(alternatives, tokens)
    _refuse_indirect_left_recursion(alternatives)

    def gap(left: tuple[str, bool], right: tuple[str, bool]) -> Node | None:
        """What goes between two neighbours: nothing at a line's edge, a space where they
        would run together as one token, else an optional space."""
        ends = last[left[0]] if not left[1] else _edges(tokens, left[0])[1]
        starts = first[right[0]] if not right[1] else _edges(tokens, right[0])[0]
        if ends == {"\n"} or starts == {"\n"}:
            return None
        joined = any(e == s == "word" for e in ends for s in starts) or any(
            w.startswith(e) and w[len(e)] == s[0]
            for e in ends - {"word"} for s in starts - {"word"} for w in literals if len(w) > len(e))
        return Lit(" ") if joined else Rep(Lit(" "), 0, 1)

    def sequence(symbols: tuple[tuple[str, bool], ...], place: tuple[str, str | None],
                 before: tuple[str, bool] | None = None) -> list[Node]:
        items: list[Node] = []
        for i, symbol in enumerate(symbols):
            neighbour = symbols[i - 1] if i else before
            if neighbour is not None and (between := gap(neighbour, symbol)) is not None:
                items.append(between)
            items.append(_token_node(tokens, symbol[0], place) if symbol[1] else Ref(_rule_name(symbol[0])))
        return items

    rules: dict[str, Node] = {}
    for origin, expansions in alternatives.items():
        home = _helper_parent(origin)
        indent = _INDENT.get(origin)
        bases, tails = [], []
        for i, expansion in enumerate(expansions):
            place = (home, aliases[origin, i] if home == origin else None)
            if expansion[0] == (origin, False):  # left recursion: A -> A tail
                tails.append(seq(*sequence(expansion[1:], place, before=(origin, False))))
            else:
                items = sequence(expansion, place)
                bases.append(seq(*([Lit(indent)] if indent else []), *items))
        body = alt(*bases)
        most = _MOST.get(home, MOST_IN_A_CHAIN)
        rules[_rule_name(origin)] = seq(body, Rep(alt(*tails), 0, most - 1, chain=True)) if tails else body
    rules = {name: _factor(body) for name, body in rules.items()}
    assignment = _token_node(tokens, "ASSIGN_OP", ("statement", "assign"))
    checker = _checker_rules(_token_node(tokens, "COMPARE", ("comparison", None)), assignment)
    rules = {**rules, **{name: _factor(body) for name, body in checker.items()}, **_lexical_rules(keywords)}
    if names == "declared":
        rules.update(_declared_names(rules, assignment))
    lexemes = frozenset({"ident", "number", "unit_number", "positive_number", "tens_number", "whole_number", "string",
                         "idea", *(name for name in rules if name.startswith("unit_pair_b"))})
    if not answer:
        return DecodeGrammar(_prune(rules, "policy"), "policy", lexemes)
    envelope = {"answer": seq(Lit("IDEA: "), Ref("idea"), Lit("\n```policy\n"), Ref("policy"), Lit("```")),
                "idea": Rep(chars(_PRINTABLE - {"`"}), 1, MAX_IDEA)}
    return DecodeGrammar(_prune({**envelope, **rules}, "answer"), "answer", lexemes)


# --- the checker's rules that are cheap to say ---------------------------------------------

_LIST_BREAK = Rep(alt(Lit(" "), seq(Lit("\n"), Rep(Lit(" "), 0, MAX_INDENT))), 0, 1)  # after a comma in a list
_MOST_STAGES = 4  # single-op stages before and after the apply stage
_MOST_SUB_POLICIES, _MOST_TERMS = 32, 4  # in a `one of` (AutoAugment's: 25 of 2)
_PREFIXES = 1  # unary minus or plus, or not, before an operand (- -x and not not x say nothing new)


_SAMPLE_HEAD = seq(Lit("per"), SPACE, Lit("sample"), MAYBE_SPACE, Lit(":"), NEWLINE)
_PER_OP = seq(SPACE, Lit("per"), SPACE, Lit("op"))


def _state_decl(name: Node) -> Node:
    """A state declaration of ``name`` whose range holds its initial value: [0, N] = 0,
    [1, N] = 1 with N a whole number >= 1, and for a float [0, 1] = any number in it
    (every example's state has one of these forms; a range that is empty or misses its
    initial value, which small models write often, cannot be written); per class or per
    op. (The declared-names grammar declares decode_values.STATE_KINDS instead.)"""
    per_op = Rep(_PER_OP, 0, 1)
    equals = seq(MAYBE_SPACE, Lit("="), MAYBE_SPACE)
    top = seq(chars("123456789"), Rep(chars(string.digits), 0, MAX_DIGITS - 1))  # a whole number >= 1

    def ranged(kind: str, *bounds: tuple[Node, Node, Node]) -> Node:
        return seq(Lit(kind), per_op, SPACE, Lit("in"), MAYBE_SPACE, Lit("["), MAYBE_SPACE, alt(*(
            seq(lo, MAYBE_SPACE, Lit(","), MAYBE_SPACE, hi, MAYBE_SPACE, Lit("]"), equals, init)
            for lo, hi, init in bounds)))

    from_zero, from_one = (Lit("0"), top, Lit("0")), (Lit("1"), top, Lit("1"))
    return seq(Lit("state"), SPACE, name, MAYBE_SPACE, Lit(":"), MAYBE_SPACE,
               alt(ranged("int", from_zero, from_one),
                   ranged("float", from_zero, from_one, (Lit("0"), Lit("1"), Ref("unit_number"))),
                   seq(Lit("bool"), per_op, equals, alt(Lit("true"), Lit("false")))), NEWLINE)


def _checker_rules(compare: Node, assignment: Node) -> dict[str, Node]:
    """Rules that replace the parser's where a rule of the checker is cheap to say, so
    that most of what the grammar admits also checks. Written here, not derived: each is a
    sub-language of the parser's rule it replaces (the sampling test parses what they
    admit). A number state has a range and an int state whole numbers, a bool state
    none; an op takes a magnitude in brackets exactly when it has a parameter; an apply
    stage lists at least one op with a parameter and then has a magnitude, or none and
    has none; clauses come in the canonical order, each at most once; at most one apply
    stage; each function is called with as many arguments as one of its forms takes, and
    uniform only as a whole magnitude; an operand has at most one sign or `not` before it.

    Numbers and conditions are apart (small models write `abs(true)`, `log(2) or log(3)`
    and `x == 4` where a number goes): ``expr`` is a number (a sum, or a conditional
    whose branches are numbers), ``or_expr`` a condition (comparisons and names joined by
    and, or, not), read where a condition goes: after `if`, as where's first argument, as
    what a let or an assignment gives (`=` only: _assign); there are no true and false
    literals in expressions.
    Numbers whose range the checker bounds are written in families that keep it
    (decode_values): a magnitude, a probability and uniform's bounds in [0, 1]
    (``expr_unit``), a weight >= 0 (``expr_nonneg``), a divisor and log's argument > 0
    (``positive``), sqrt's >= 0; an apply stage's count is 1, 2, 3, ``a + round(b * x)``,
    ``round(b * x)`` or a level, and its op list at least that long; an exponent is a
    number; a name alone is a condition only if it is declared (no statistic is
    true/false), and a reduction reads a name of what it reduces over (``max(25)`` does
    not check): over classes a per-class statistic or a declared name, over ops a declared
    name (the roles of decode_values.ROLES)."""
    # uniform(lo, hi) is a magnitude drawn per sample: it may be a magnitude, and nothing else
    magnitude = alt(call("uniform", Ref("expr_unit"), Ref("expr_unit")), Ref("expr_unit"))
    clause_values = {"magnitude": magnitude, "probability": Ref("expr_unit"), "weight": Ref("expr_nonneg")}

    def clause(word: str) -> Node:
        return seq(Lit("        "), Lit(word), SPACE, clause_values[word], NEWLINE)

    chance = Rep(seq(SPACE, Lit("with"), SPACE, Lit("probability"), SPACE, Ref("expr_unit")), 0, 1)
    counts = apply_counts()
    lists: dict[str, Node] = {}

    def applied(bound: int) -> Node:
        """A count with this bound, then a list at least that long and its clauses."""
        with_magnitude, plain = op_lists(bound, _LIST_BREAK)
        lists[f"op_list_{bound}"] = with_magnitude
        options = [seq(Ref(f"op_list_{bound}"), NEWLINE, clause("magnitude"), Rep(clause("weight"), 0, 1),
                       Rep(clause("probability"), 0, 1))]
        if plain is not None:
            lists[f"plain_op_list_{bound}"] = plain
            options.append(seq(Ref(f"plain_op_list_{bound}"), NEWLINE, Rep(clause("weight"), 0, 1),
                               Rep(clause("probability"), 0, 1)))
        return seq(Ref(f"apply_count_{bound}"), SPACE, Lit("of"), MAYBE_SPACE, alt(*options))

    # the indent a literal of its own: llguidance lexes a rule's literals greedily, and
    # "    apply" as one would stop it reading "    " before another op's stage
    apply_stage = seq(Lit("    "), Lit("apply"), SPACE, alt(*(applied(bound) for bound in counts)))
    calls = [call(name, *(_argument(name, arity, i) for i in range(arity)))
             for name, arity in _arities() if name not in ("uniform", "lol_pass")]
    value = alt(Ref("expr"), Ref("or_expr"))  # a number or a condition, for a let or an assignment
    divided = [seq(MAYBE_SPACE, Lit(operator), MAYBE_SPACE, Ref("positive")) for operator in ("/", "%")]
    return {
        **value_families(),
        **op_names(),
        **lists,
        **{f"apply_count_{bound}": count for bound, count in counts.items()},
        "expr": seq(Ref("sum"), Rep(seq(SPACE, Lit("if"), SPACE, Ref("or_expr"), SPACE, Lit("else"), SPACE,
                                        Ref("expr")), 0, 1)),
        "product": seq(Ref("unary"), Rep(alt(seq(MAYBE_SPACE, Lit("*"), MAYBE_SPACE, Ref("unary")), *divided),
                                         0, MOST_IN_A_CHAIN - 1, chain=True)),
        # a name alone is a condition only if it is declared: no statistic is true/false;
        # CUDA's probe of a level state is one
        "not_expr": seq(Rep(seq(Lit("not"), SPACE), 0, _PREFIXES),
                        alt(Ref("comparison"), Ref("flag_name"), call("lol_pass", Ref("level_name")))),
        "power": seq(Ref("atom"), Rep(seq(MAYBE_SPACE, Lit("**"), MAYBE_SPACE, Ref("number")), 0, 1)),
        "comparison": seq(Ref("sum"), MAYBE_SPACE, compare, MAYBE_SPACE, Ref("sum")),
        "value": value,
        "statement": seq(Lit("    "), alt(
            seq(Lit("let"), SPACE, Ref("ident"), MAYBE_SPACE, Lit("="), MAYBE_SPACE, Ref("value"), NEWLINE),
            seq(Ref("ident"), MAYBE_SPACE, _assign(assignment), MAYBE_SPACE, Ref("value"), NEWLINE))),
        "state_decl": _state_decl(Ref("ident")),
        "sample_section": seq(_SAMPLE_HEAD, alt(Ref("applied_stages"),
                                                Rep(Ref("single_op_stage"), 1, 2 * _MOST_STAGES),
                                                seq(Rep(Ref("single_op_stage"), 0, _MOST_STAGES),
                                                    Ref("one_of_stage")))),
        "applied_stages": seq(Rep(Ref("single_op_stage"), 0, _MOST_STAGES), Ref("apply_stage"),
                              Rep(Ref("single_op_stage"), 0, _MOST_STAGES)),
        "apply_stage": apply_stage,
        "single_op_stage": seq(Lit("    "), Ref("op_term"), NEWLINE),
        "op_term": alt(
            seq(Ref("op_with_magnitude"), MAYBE_SPACE, Lit("("), MAYBE_SPACE, magnitude, MAYBE_SPACE, Lit(")"),
                chance),
            seq(Ref("op_without_magnitude"), chance)),
        # a sub-policy a line, as the canonical form writes them
        "one_of_stage": seq(Lit("    "), Lit("one"), SPACE, Lit("of"), SPACE, Lit("["), NEWLINE, Rep(
            seq(Lit("        "), Lit("["), Ref("op_term"),
                Rep(seq(Lit(","), SPACE, Ref("op_term")), 0, _MOST_TERMS - 1), Lit("]"), Lit(","), NEWLINE),
            1, _MOST_SUB_POLICIES), Lit("    "), Lit("]"), NEWLINE),
        "atom": alt(Ref("number"), Ref("value_name"), *calls,
                    seq(Lit("("), MAYBE_SPACE, Ref("expr"), MAYBE_SPACE, Lit(")"))),
        "unary": seq(Rep(alt(seq(Lit("-"), MAYBE_SPACE), seq(Lit("+"), MAYBE_SPACE)), 0, _PREFIXES), Ref("power")),
    }


# --- names that are declared where they are read ---------------------------------------

# A context-free grammar cannot carry the names a policy declares, so a small model held to
# the free grammar reads names it never declared and declares one twice (most of what it
# writes that parses but fails to check). The declared-names grammar fixes the names
# instead: the i-th state is s<i>, the j-th value an epoch section lets is v<j>, and every
# expression is written in a copy of the expression rules whose value names are the
# statistics and what is declared before it (a copy per kinds of states and count of
# lets). Each state is of one of decode_values.STATE_KINDS, declared in their order, so
# the copy also knows what each state may be read as and given.
MAX_STATES = 2  # the examples declare at most two
MAX_LETS = 3  # the examples let at most three
MAX_DEPTH = 3  # brackets and calls nested in an expression (the examples nest three: clip(where(where(...))))
_MOST_ASSIGNS = 4  # state assignments between two lets
# The kinds the first state may have, and those a state may follow a state of each kind
# with: the examples' (a strength, a level, DODA's weights and then its picks) and a
# strength with a level. Each set of kinds costs a copy of the expression rules per count
# of lets, and llguidance refuses a grammar of over 65,000 symbols.
_FOLLOWING = {None: ("unit", "level", "weight"), "unit": ("level",), "level": (), "weight": ("picked",), "picked": ()}
_ONLY_BEFORE = {"weight": "picked"}  # a state of this kind comes with one of that kind next


def _declared_names(rules: dict[str, Node], assignment: Node) -> dict[str, Node]:
    """The rules that replace ``policy`` and read only declared names: after the header,
    declarations ``declared_<kinds>`` (a per-op state needs an apply stage), then with no
    state the per-sample section alone, or an epoch section whose statements assign
    (``assignment``: the parser's operators) each declared state what its kind may be
    given and let v1, v2, ... in turn."""
    reads = _reading_rules(rules)
    new: dict[str, Node] = {"policy": seq(Ref("header"), Ref("declared_none"))}

    def key(kinds: tuple[str, ...]) -> str:
        return "".join(STATE_KINDS[k].letter for k in kinds) or "none"

    def scope(kinds: tuple[str, ...], lets: int) -> str:
        """The suffix of the expression rules that read these names (made once)."""
        suffix = f"{key(kinds)}_{lets}"
        if f"expr_{suffix}" not in new:
            states = [ast.numbered_name("state", i) for i in range(1, len(kinds) + 1)]
            names = role_names(kinds, [ast.numbered_name("let", j) for j in range(1, lets + 1)], states)
            roots = ("expr", "value", *(STATE_KINDS[k].assignment for k in kinds))
            roots += ("sample_section", "applied_stages") if lets == 0 else ()
            new.update(_copy(rules, reads, roots, suffix, names))
        return suffix

    def following(kinds: tuple[str, ...]) -> tuple[str, ...]:
        return () if len(kinds) == MAX_STATES else _FOLLOWING[kinds[-1] if kinds else None]

    pending = [()]
    while pending:
        kinds = pending.pop()
        sample = scope(kinds, 0)
        per_op = any(STATE_KINDS[k].per_op for k in kinds)
        stages = seq(_SAMPLE_HEAD, Ref(f"applied_stages_{sample}")) if per_op else Ref(f"sample_section_{sample}")
        body = alt(seq(Ref(f"epoch_{key(kinds)}"), stages), stages) if kinds else stages
        name = Lit(ast.numbered_name("state", len(kinds) + 1))
        more = [seq(state_declaration(name, kind), Ref(f"declared_{key(kinds + (kind,))}"))
                for kind in following(kinds)]
        complete = not kinds or kinds[-1] not in _ONLY_BEFORE
        new[f"declared_{key(kinds)}"] = _factor(alt(*more, *([body] if complete else [])))
        pending += [kinds + (kind,) for kind in following(kinds)]
        if complete and kinds:
            new.update(_epoch_section(kinds, key(kinds), scope, assignment))
    return new


def _epoch_section(kinds: tuple[str, ...], kinds_key: str, scope: Callable[[tuple[str, ...], int], str],
                   assignment: Node) -> dict[str, Node]:
    """``epoch_<kinds>`` and its statements: assignments to the states, each given what its
    kind may be, and lets v1, v2, ... in turn (``statements_<kinds>_<lets>``)."""
    new = {f"epoch_{kinds_key}": seq(Lit("every"), SPACE, Lit("epoch"), Lit(":"), NEWLINE,
                                     Ref(f"statements_{kinds_key}_0"))}
    for lets in range(MAX_LETS + 1):
        suffix = scope(kinds, lets)
        assign = seq(Lit("    "), alt(*(
            seq(Lit(ast.numbered_name("state", i)), MAYBE_SPACE, _assign(assignment), MAYBE_SPACE,
                Ref(f"{STATE_KINDS[kind].assignment}_{suffix}")) for i, kind in enumerate(kinds, 1))), NEWLINE)
        more = [] if lets == MAX_LETS else [Rep(seq(Lit("    "), Lit("let"), SPACE,
                                                    Lit(ast.numbered_name("let", lets + 1)), MAYBE_SPACE, Lit("="),
                                                    MAYBE_SPACE, Ref(f"value_{suffix}"), NEWLINE,
                                                    Ref(f"statements_{kinds_key}_{lets + 1}")), 0, 1)]
        new[f"statements_{kinds_key}_{lets}"] = seq(Rep(assign, 0 if more else 1, _MOST_ASSIGNS), *more)
    return new


def _reading_rules(rules: dict[str, Node]) -> set[str]:
    """The rules from which a value name can be reached: those a scope copies."""
    reads = set(ROLES)
    changed = True
    while changed:
        changed = False
        for name, body in rules.items():
            if name not in reads and reads.intersection(_refs(body)):
                reads.add(name)
                changed = True
    return reads


def _copy(rules: dict[str, Node], reads: set[str], roots: tuple[str, ...], suffix: str,
          names: dict[str, list[str]]) -> dict[str, Node]:
    """The rules under ``roots`` that read a value name, renamed with ``suffix``, whose
    name roles (decode_values.ROLES) read exactly ``names``; and a copy of them for each
    level of nesting (``_d1``...). Every way an expression holds another back up its
    precedence chain (an atom's brackets and calls, a power's exponent, a conditional's
    else) leads one level deeper, where an operator chain has one term fewer (4, 3, 2,
    then 1); at MAX_DEPTH none is left, so an expression is bounded (a small model nests
    and chains until its token limit otherwise)."""
    wanted = {name for root in roots for name in reachable(rules, root) if name in reads} - set(ROLES)
    # each family's precedence chain, from its top (expr, expr_unit, ...) down to its atom
    level = _levels(rules, _FAMILY_TOPS, wanted)

    def named(rule: str, depth: int) -> str:
        return f"{rule}_{suffix}" + (f"_d{depth}" if depth else "")

    def edit(node: Node, rule: str, depth: int) -> Node | None:
        """``node`` of ``rule``'s copy at ``depth``: references renamed, a reference back
        up the chain one level deeper, chains shortened (see _mapped)."""
        def reference(ref: Ref) -> Node | None:
            if ref.name in ROLES:
                return Ref(f"{ref.name}_{suffix}") if names[ref.name] else None
            if ref.name not in wanted:
                return ref
            back = ref.name in level and rule in level and (level[ref.name] < level[rule] or ref.name == rule)
            if back and depth == MAX_DEPTH:
                return None
            return Ref(named(ref.name, depth + 1 if back else depth))

        return _mapped(node, reference, lambda rep: rep.high if not rep.chain else
                       min(rep.high, MOST_IN_A_CHAIN - 1 - depth))

    copied: dict[str, Node] = {}
    for depth in range(MAX_DEPTH + 1):
        for rule in (r for r in rules if r in wanted):
            copied[named(rule, depth)] = edit(rules[rule], rule, depth)
    for rule, seen in names.items():
        if seen:
            copied[f"{rule}_{suffix}"] = alt(*(Lit(n) for n in sorted(seen, key=lambda n: (-len(n), n))))
    return _without_unwritable(copied)


_NOTHING = Lit("")  # what is left of an optional part that cannot be written at a depth (never emitted)


def _mapped(node: Node, reference: Callable[[Ref], Node | None],
            most: Callable[[Rep], int | None] = lambda rep: rep.high) -> Node | None:
    """``node`` with each reference replaced by what ``reference`` makes of it (None: it
    cannot be written) and each repetition bounded by ``most``; _NOTHING where nothing is
    left of an optional part, None where the node cannot be written: a choice loses the
    options that cannot, an optional part that cannot goes, anything else that cannot
    makes its whole node None."""
    if isinstance(node, Ref):
        return reference(node)
    if isinstance(node, Seq):
        items = []
        for item in node.items:
            mapped = _mapped(item, reference, most)
            if mapped is None:
                return None
            if mapped is not _NOTHING:
                items.append(mapped)
        return seq(*items) if items else _NOTHING
    if isinstance(node, Alt):
        options = [mapped for item in node.items if (mapped := _mapped(item, reference, most)) is not None]
        some = [o for o in options if o is not _NOTHING]
        if not some:
            return _NOTHING if options else None
        return alt(*some) if len(some) == len(options) else Rep(alt(*some), 0, 1)
    if isinstance(node, Rep):
        high = most(node)
        item = _mapped(node.item, reference, most) if high != 0 else _NOTHING
        if item is None or item is _NOTHING:
            return _NOTHING if node.low == 0 or item is _NOTHING else None
        return replace(node, item=item, high=high)
    return node


def _without_unwritable(rules: dict[str, Node | None]) -> dict[str, Node]:
    """``rules`` less those that cannot be written (None: a comparison at the deepest
    level, whose sums would go deeper), and the parts of others that need one, until every
    reference is to a rule that is written."""
    dead = {name for name, body in rules.items() if body is None}
    while dead:
        rules = {name: _mapped(body, lambda ref: None if ref.name in dead else ref)
                 for name, body in rules.items() if name not in dead}
        dead = {name for name, body in rules.items() if body is None}
    return rules


_FAMILY_TOPS = ("expr", "expr_unit", "expr_nonneg", "expr_int", "positive")


def _levels(rules: dict[str, Node], starts: tuple[str, ...], within: set[str]) -> dict[str, int]:
    """Each rule's distance from the nearest of ``starts`` through ``within``: its place in
    its chain."""
    level = {start: 0 for start in starts}
    frontier = list(starts)
    while frontier:
        following = []
        for rule in frontier:
            for name in _refs(rules.get(rule, Lit(""))):
                if name in within and name not in level:
                    level[name] = level[rule] + 1
                    following.append(name)
        frontier = following
    return level


def _argument(function: str, arity: int, index: int) -> Node:
    """What the ``index``-th of ``arity`` arguments of a call is: a condition first in
    where; a name of what a reduction reduces over (one argument of a form typed
    over_classes or over_ops, and sample_one's weights, per op); log's and sqrt's > 0; else
    a number."""
    if function == "where" and index == 0:
        return Ref("or_expr")
    if function in _DOMAINS:
        return Ref(_DOMAINS[function])
    form = FUNCTIONS[function].form_for(arity)
    if form.type_rule is typerules.over_classes:
        return Ref("class_value_name")
    if form.type_rule in (typerules.over_ops, typerules.sample_one):
        return Ref("op_value_name")
    return Ref("expr")


_DOMAINS = {"log": "positive", "sqrt": "positive"}  # R004 outside (sqrt's 0 too: one family fewer in expr)


def _assign(assignment: Node) -> Node:
    """The one assignment operator the decode grammar writes, `=`, from the parser's
    (``assignment``). `s += x`, `s *= x` take a state past its range unless x is bounded
    just so (R002: small models write `s1 *= 3`); every example writes `s = clip(...)`."""
    if Lit("=") not in _items_of(assignment):
        raise ValueError("decode grammar: policy.lark's assignment operators no longer include '='")
    return Lit("=")


def _items_of(node: Node) -> tuple[Node, ...]:
    """The options of a choice (a single node: itself)."""
    return node.items if isinstance(node, Alt) else (node,)


def _arities() -> list[tuple[str, int]]:
    """(function, number of arguments) for every form of every function: its signature's
    parameters, a variadic one (``min(a, b, ...)``) with two or three."""
    found = []
    for name in sorted(FUNCTIONS, key=lambda f: (-len(f), f)):
        for form in FUNCTIONS[name].forms:
            params = form.signature[form.signature.index("(") + 1:-1].split(",")
            params = [p.strip() for p in params if p.strip()]
            counts = [2, 3] if "..." in params else [len(params)]
            found += [(name, n) for n in counts if (name, n) not in found]
    return found


def _prune(rules: dict[str, Node], start: str) -> dict[str, Node]:
    """The rules reachable from ``start``, in their order (the parser's rules that the
    checker's replaced are left out)."""
    kept = reachable(rules, start)
    return {name: body for name, body in rules.items() if name in kept}


def _factor(node: Node) -> Node:
    """``node`` with the alternatives of every choice left-factored (``a b | a c`` becomes
    ``a (b | c)``, ``a b | a`` becomes ``a b?``): the parser's BNF spells out optional parts
    as alternatives that share a prefix, and a decoder that follows a grammar with stacks
    (llama.cpp's) keeps one stack per alternative still alive, so shared prefixes nested
    in expressions multiply its stacks at every level; factored, the same language keeps
    one."""
    if isinstance(node, Seq):
        return seq(*(_factor(item) for item in node.items))
    if isinstance(node, Rep):
        return replace(node, item=_factor(node.item))
    if isinstance(node, Alt):
        factored = _factored([_items(_factor(option)) for option in node.items])
        assert factored is not None, "a choice of nothing but empty alternatives"
        return factored
    return node


def _items(node: Node) -> tuple[Node, ...]:
    return node.items if isinstance(node, Seq) else (node,)


def _factored(options: list[tuple[Node, ...]]) -> Node | None:
    """One choice among sequences of items, their shared first items taken out; None for
    the empty sequence alone."""
    groups: dict[Node, list[tuple[Node, ...]]] = {}
    empty = False
    for items in options:
        if not items:
            empty = True
        else:
            groups.setdefault(items[0], []).append(items[1:])
    parts = []
    for first, tails in groups.items():
        rest = _factored(tails) if len(tails) > 1 else (seq(*tails[0]) if tails[0] else None)
        parts.append(first if rest is None else seq(first, *_items(rest)))
    if not parts:
        return None
    body = alt(*parts)
    return Rep(body, 0, 1) if empty else body


def _first_last(alternatives: dict, tokens: dict) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Each rule's possible first and last edges (_edges) over its tokens: no rule of the
    parser's grammar derives the empty string (Lark expands optional parts into
    alternatives), so a rule's first token is its first symbol's."""
    first: dict[str, set[str]] = {rule: set() for rule in alternatives}
    last: dict[str, set[str]] = {rule: set() for rule in alternatives}
    changed = True
    while changed:
        changed = False
        for rule, expansions in alternatives.items():
            for expansion in expansions:
                for table, (symbol, is_token), side in ((first, expansion[0], 0), (last, expansion[-1], 1)):
                    edge = _edges(tokens, symbol)[side] if is_token else table[symbol]
                    if not edge <= table[rule]:
                        table[rule] |= edge
                        changed = True
    return first, last


def _refuse_indirect_left_recursion(alternatives: dict) -> None:
    """Immediate left recursion (A -> A x) becomes repetition; a cycle through other rules
    would not, so it is refused here rather than written out as a grammar that loops."""
    corners = {rule: {e[0][0] for e in expansions if not e[0][1] and e[0][0] != rule}
               for rule, expansions in alternatives.items()}
    for rule in corners:
        seen, stack = set(), list(corners[rule])
        while stack:
            current = stack.pop()
            if current == rule:
                raise ValueError(f"decode grammar: {rule} is left-recursive through other rules")
            if current not in seen:
                seen.add(current)
                stack.extend(corners[current])


def reachable(rules: dict[str, Node], start: str, stop: frozenset[str] = frozenset()) -> set[str]:
    """The rules reachable from ``start``, not looking inside the rules in ``stop``."""
    seen, stack = set(), [start]
    while stack:
        rule = stack.pop()
        if rule in seen or rule not in rules:
            continue
        seen.add(rule)
        if rule not in stop:
            stack.extend(_refs(rules[rule]))
    return seen


def _refs(node: Node) -> list[str]:
    if isinstance(node, Ref):
        return [node.name]
    if isinstance(node, (Seq, Alt)):
        return [name for item in node.items for name in _refs(item)]
    return _refs(node.item) if isinstance(node, Rep) else []
