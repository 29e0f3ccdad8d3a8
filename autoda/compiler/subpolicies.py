"""Which terms of a ``one of`` share a pipeline pass.

A sample runs one sub-policy, so terms of different sub-policies that are the same op can
run as one masked pass over the batch: each sample takes its own sub-policy's probability
and magnitude for it. The pipeline runs ops by kind (geometric, colour, filter, erase) and,
within a kind, in pass order, so the passes of a kind must keep every sub-policy's terms
of that kind in their written order: a common supersequence of the sub-policies' op
sequences. AutoAugment's CIFAR-10 policy has 50 terms in 19 passes: its 35 colour terms
run in 12 (equalize twice, not 9 times), which is most of its cost.

The supersequence is built greedily (a term takes the first later pass of its op, or a new
pass right after the previous term's): not always the shortest, always valid.
"""
from __future__ import annotations

from ..ops import OPS


def shared_columns(members: list[list[str]]) -> list[list[int]]:
    """For each sub-policy (a list of op names), the pass each of its terms runs in;
    passes are numbered in the order they run, kind by kind."""
    kinds: dict[str, list[list[object]]] = {}  # kind -> passes, each [op, identity token]
    placed: list[list[object]] = []  # per sub-policy, per term: its pass's token
    for ops in members:
        tokens: list[object] = []
        last: dict[str, int] = {}  # kind -> index of this sub-policy's previous pass
        for op in ops:
            passes = kinds.setdefault(OPS[op].kind, [])
            after = last.get(OPS[op].kind, -1)
            at = next((j for j in range(after + 1, len(passes)) if passes[j][0] == op), None)
            if at is None:  # a new pass right after the previous one keeps every earlier order
                at = after + 1
                passes.insert(at, [op, object()])
            last[OPS[op].kind] = at
            tokens.append(passes[at][1])
        placed.append(tokens)
    number: dict[int, int] = {}
    for passes in kinds.values():
        for _, token in passes:
            number[id(token)] = len(number)
    return [[number[id(token)] for token in tokens] for tokens in placed]


def pass_ops(members: list[list[str]]) -> list[str]:
    """The op of every pass, in pass order (what the per-batch cost counts)."""
    columns = shared_columns(members)
    ops: dict[int, str] = {}
    for names, numbers in zip(members, columns):
        ops.update(zip(numbers, names))
    return [ops[i] for i in sorted(ops)]
