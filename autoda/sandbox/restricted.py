"""Compiling a strategy function under RestrictedPython, with one addition the paper's
functions need: augmented assignment to an item (`aug_weight[c][k] += 1`, `x[:, 0] *= 2`),
which RestrictedPython refuses outright. It becomes a call of the guarded in-place hook
``_inplace_item_(x, index, "+=", value)`` (guards.inplace_item), which reads the item
through the read guard, combines in place as Python does and writes the result back through
the write guard: no write goes anywhere a plain `x[i] = v` could not. Augmented assignment
to an attribute stays refused.
"""
from __future__ import annotations

import ast

from RestrictedPython import compile_restricted_exec
from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer, copy_locations

INPLACE_ITEM = "_inplace_item_"


def _index(node: ast.expr) -> ast.expr:
    """A subscript's index as an expression: slices as slice() calls, in tuples too."""
    if isinstance(node, ast.Slice):
        parts = [part if part is not None else ast.Constant(None) for part in (node.lower, node.upper, node.step)]
        return ast.Call(func=ast.Name("slice", ast.Load()), args=parts, keywords=[])
    if isinstance(node, ast.Tuple):
        return ast.Tuple(elts=[_index(element) for element in node.elts], ctx=ast.Load())
    return node


class _Transformer(RestrictingNodeTransformer):
    def visit_AugAssign(self, node: ast.AugAssign):
        if not isinstance(node.target, ast.Subscript):
            return super().visit_AugAssign(node)
        # the target's object, the index and the value are checked as any expression is; the
        # hook's own name is the transformer's, as _inplacevar_ is for `n += 1`
        arguments = [self.visit(node.target.value), self.visit(_index(node.target.slice)),
                     ast.Constant(IOPERATOR_TO_STR[type(node.op)]), self.visit(node.value)]
        call = ast.Expr(ast.Call(func=ast.Name(INPLACE_ITEM, ast.Load()), args=arguments, keywords=[]))
        copy_locations(call, node)  # and fills in the locations of the nodes made here
        return call


def compile_restricted(source: str | ast.Module, filename: str):
    """RestrictedPython's compile_restricted_exec with augmented item assignment allowed
    (its result: ``.code``, ``.errors``)."""
    return compile_restricted_exec(source, filename, policy=_Transformer)
