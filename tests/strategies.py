"""Hypothesis strategies for random well-typed policies, shared by every test that needs
programs (the compiler's properties, the compiled graph's differential tests, the search).

They drive autoda.search.programs, the same generator the offline search grows programs
with, through a chooser that draws from hypothesis, so shrinking works on every choice.
"""
from __future__ import annotations

from hypothesis import strategies as st

from autoda.search.programs import random_policy

_DESCRIPTIONS = st.none() | st.text(st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters='"'),
                                    max_size=30)


class HypothesisChooser:
    def __init__(self, draw) -> None:
        self.draw = draw

    def choice(self, options):
        return self.draw(st.sampled_from(list(options)))

    def integer(self, lo, hi):
        return self.draw(st.integers(lo, hi))

    def real(self, lo, hi):
        return self.draw(st.floats(lo, hi))

    def boolean(self):
        return self.draw(st.booleans())

    def sample(self, options, k):
        return self.draw(st.lists(st.sampled_from(list(options)), min_size=k, max_size=k, unique=True))

    def description(self):
        return self.draw(_DESCRIPTIONS)


@st.composite
def policies(draw, max_depth: int = 3):
    """A random policy (syntax tree) that passes every check of the compiler."""
    return random_policy(HypothesisChooser(draw), max_depth)


_UNIT = st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def terms(draw):
    """A sub-policy's term: an op, its magnitude where it takes one, maybe a probability."""
    from autoda.compiler import ast
    from autoda.ops import OPS
    from autoda.search.programs import ALL_OP_NAMES
    op = draw(st.sampled_from(ALL_OP_NAMES))
    magnitude = ast.Num(draw(_UNIT)) if OPS[op].has_magnitude else None
    probability = draw(st.none() | _UNIT.map(ast.Num))
    return ast.Fixed(ast.OpRef(op), magnitude, probability)


@st.composite
def policies_with_sub_policies(draw, max_depth: int = 2):
    """A random policy with a ``one of`` stage of 1-4 sub-policies of 1-3 terms each, put
    among its stages at a random place."""
    import dataclasses
    from autoda.compiler import ast
    policy = draw(policies(max_depth))
    members = draw(st.lists(st.lists(terms(), min_size=1, max_size=3).map(tuple), min_size=1, max_size=4))
    stages = list(policy.stages)
    stages.insert(draw(st.integers(0, len(stages))), ast.OneOf(tuple(members)))
    return dataclasses.replace(policy, stages=tuple(stages))
