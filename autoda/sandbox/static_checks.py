"""Static checks of a Python policy, in the parent and without running it: the file defines
`get_aug_type` with the paper's six parameters, imports only math, random and numpy,
names no forbidden builtin, defines no class, and compiles under RestrictedPython. Module
constants `OPS` (op names from the registry; DODA's ten by default) and `AUG_PROB` (the
chance a sample is augmented at all; 0.5 by default, as the paper's code has it) must be
literals, since the parent reads them without executing anything.

The result, a PythonPolicy, carries the source, those constants, a hash of its syntax tree
(comments and spacing do not change it) and the carrier policy: DSL text whose per-sample
stage applies each class's chosen ops at their chosen intensities, read from state that
the sandboxed function fills once per epoch. As the paper's host does, an op's intensity
is the function's divided by the number of ops chosen for the class.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import re
import warnings
from dataclasses import dataclass, field

from ..compiler.check import check_policy
from ..compiler.diagnostics import Diagnostic, PolicyError, sorted_capped
from ..compiler.source import Source
from ..ops import OPS as REGISTRY
from ..resources import resource_text
from .guards import FORBIDDEN_NAMES
from .restricted import compile_restricted
from .step import PythonStep
from .validate import WEIGHT_LIMIT

FUNCTION = "get_aug_type"
PARAMETERS = ("aug_weight", "ACCs", "History_ACCs", "lats_chose_matix", "lats_chose_exts", "epoch")


@functools.lru_cache(maxsize=None)
def default_ops() -> tuple[str, ...]:
    """The ops of the paper's search space: DODA's ten, as examples/policies/doda.dsl lists them."""
    return check_policy(resource_text("autoda.examples", "doda.dsl")).lower().ops

IMPORTABLE = ("math", "random", "numpy", "numpy.random")
DEFAULT_AUG_PROB = 0.5  # the paper's training scripts' --aug_prob
_LINE = re.compile(r"^Line (\d+): (.*)$")


@dataclass(frozen=True)
class PythonPolicy:
    source: Source
    name: str
    ops: tuple[str, ...]
    aug_prob: float
    hash: str
    isolation: tuple[str, ...] = field(default=(), compare=False)  # the OS layers its trial had (none yet)

    @property
    def text(self) -> str:
        return self.source.text

    def epoch_step(self) -> PythonStep:
        """A step running get_aug_type in a worker of its own: what the engine calls each
        epoch (the engine's EpochStepMaker, so no engine module imports the sandbox)."""
        return PythonStep(self)

    def carrier(self) -> str:
        """The DSL policy the engine compiles: the function's [C, K] choices and intensities
        come in as state, so the per-sample stage is the usual compiled graph. A sample of
        class c gets every op chosen for c, each at its intensity divided by how many
        there are (the paper's autolt), with probability AUG_PROB."""
        ops = ", ".join(self.ops)
        return (f'policy {self.name} "Python policy {self.name} ({self.hash[:12]}): get_aug_type, sandboxed"\n'
                f"state aug_weight: float per op in [{-WEIGHT_LIMIT:.0f}, {WEIGHT_LIMIT:.0f}] = 1\n"
                f"state history_acc: float per op in [0, {WEIGHT_LIMIT:.0f}] = 0\n"
                f"state chose: bool per op = false\n"
                f"state ext: float per op in [0, 1] = 0\n\n"
                f"per sample:\n"
                f"    apply {len(self.ops)} of [{ops}]\n"
                f"        magnitude ext / max(sum_ops(where(chose, 1, 0)), 1)\n"
                f"        weight where(chose, 1, 0)\n"
                f"        probability {self.aug_prob!r}\n")


def _diagnostic(source: Source, code: str, message: str, node: ast.AST | None = None, line: int = 1,
                column: int = 1, hint: str | None = None) -> Diagnostic:
    if node is not None:
        line, column = getattr(node, "lineno", line), getattr(node, "col_offset", column - 1) + 1
    return Diagnostic(code, message, line, column, hint=hint, file=source.file)


def _literal_ops(source: Source, node: ast.Assign, problems: list[Diagnostic]) -> tuple[str, ...] | None:
    try:
        value = ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        problems.append(_diagnostic(source, "P003", "OPS must be a literal list of op names", node))
        return None
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
        problems.append(_diagnostic(source, "P003", "OPS must be a non-empty list of op names", node))
        return None
    unknown = [v for v in value if v not in REGISTRY]
    if unknown:
        problems.append(_diagnostic(source, "P003", f"unknown op {unknown[0]!r} in OPS", node,
                                    hint=f"ops are: {', '.join(REGISTRY)}"))
        return None
    if len(set(value)) != len(value):
        problems.append(_diagnostic(source, "P003", "OPS lists an op twice", node))
        return None
    return tuple(value)


def _literal_probability(source: Source, node: ast.Assign, problems: list[Diagnostic]) -> float | None:
    try:
        value = ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        problems.append(_diagnostic(source, "P003", "AUG_PROB must be a number in [0, 1]", node))
        return None
    return float(value)


def _check_imports(source: Source, tree: ast.Module, problems: list[Diagnostic]) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else ["." * node.level + (node.module or "")]
            if any(alias.name == "*" for alias in node.names):
                problems.append(_diagnostic(source, "P004", "import * is not allowed", node))
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            problems.append(_diagnostic(source, "P004", f"{node.id!r} is not available to a policy", node,
                                        hint="a policy computes with numbers, arrays, math, random and numpy"))
            continue
        elif isinstance(node, ast.ClassDef):
            problems.append(_diagnostic(source, "P004", "a policy may not define classes", node))
            continue
        else:
            continue
        for name in names:
            if name not in IMPORTABLE:
                problems.append(_diagnostic(source, "P004", f"import of {name!r} is not allowed", node,
                                            hint="only math, random and numpy can be imported"))


def check_python_source(source: Source) -> PythonPolicy:
    """The static checks; PolicyError with P001-P004 diagnostics when any fails."""
    lines = source.lines
    try:
        with warnings.catch_warnings():  # SyntaxWarnings (1if x, "\d") would print the file's lines to stderr
            warnings.simplefilter("ignore")
            tree = ast.parse(source.text, filename=source.file)
    except SyntaxError as error:
        raise PolicyError([_diagnostic(source, "P001", f"Python syntax error: {error.msg}",
                                       line=error.lineno or 1, column=error.offset or 1)], lines) from None
    except (ValueError, MemoryError, RecursionError) as error:
        raise PolicyError([_diagnostic(source, "P001", f"the Python source cannot be parsed: "
                                                       f"{type(error).__name__}")], lines) from None
    problems: list[Diagnostic] = []
    ops, aug_prob, name, function = default_ops(), DEFAULT_AUG_PROB, "python", None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == FUNCTION:
            function = node
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target = node.targets[0].id
            if target == "OPS":
                value = _literal_ops(source, node, problems)
                ops = ops if value is None else value
            elif target == "AUG_PROB":
                value = _literal_probability(source, node, problems)
                aug_prob = aug_prob if value is None else value
            elif target == "NAME" and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str) \
                    and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", node.value.value):
                name = node.value.value
    if function is None:
        problems.append(_diagnostic(source, "P002", f"no top-level function {FUNCTION}",
                                    hint=f"define def {FUNCTION}({', '.join(PARAMETERS)}): ..."))
    else:
        args = function.args
        positional = len(args.posonlyargs) + len(args.args)
        if positional != len(PARAMETERS) or args.vararg or args.kwarg or args.kwonlyargs:
            problems.append(_diagnostic(source, "P002", f"{FUNCTION} must take exactly six parameters", function,
                                        hint=f"def {FUNCTION}({', '.join(PARAMETERS)})"))
    _check_imports(source, tree, problems)
    try:
        # hashed before RestrictedPython compiles the same tree (it rewrites the tree in place)
        digest = hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = compile_restricted(tree, source.file)
    except (RecursionError, MemoryError) as error:  # ast.parse takes nesting its tree walkers cannot
        raise PolicyError([_diagnostic(source, "P001", f"the Python source nests too deeply to check "
                                                       f"({type(error).__name__})")], lines) from None
    except SyntaxError as error:  # what parses but does not compile: 'return' outside function, ...
        raise PolicyError([_diagnostic(source, "P001", f"Python syntax error: {error.msg}",
                                       line=error.lineno or 1, column=error.offset or 1)], lines) from None
    for error in compiled.errors:
        match = _LINE.match(error)
        line, message = (int(match.group(1)), match.group(2)) if match else (1, error)
        problems.append(_diagnostic(source, "P001", f"refused by the sandbox compiler: {message}", line=line))
    if problems:
        raise PolicyError(sorted_capped(problems), lines, total=len(set(problems)))
    return PythonPolicy(source, name, tuple(ops), aug_prob, digest)
