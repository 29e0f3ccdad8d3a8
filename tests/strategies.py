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
