"""The policy-language front end: text -> checked program -> plan. No torch here.

Passes, each a module of its own: ``source`` (input checks), ``parser`` (the only Lark
importer), ``resolve`` (names), ``typecheck`` (dtypes and shapes), ``ranges`` (interval
proofs), ``cost`` (static budget), ``format`` (canonical text and hash), ``lower`` (plan);
``check`` runs the passes as one call.
"""
from .check import CheckedPolicy, check_policy
from .diagnostics import CODES, Diagnostic, PolicyError
from .format import canonical_hash, format_expr, format_policy
from .plan import Plan

__all__ = ["CODES", "CheckedPolicy", "Diagnostic", "Plan", "PolicyError", "canonical_hash",
           "check_policy", "format_expr", "format_policy"]
