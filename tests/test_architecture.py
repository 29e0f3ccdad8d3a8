"""The import graph of autoda: no cycle between packages, no upward import.

Every module under autoda/ is parsed (not imported) and every import it makes is counted,
at module level and inside functions alike (a lazy import hides a cycle from Python, not
from a reader), relative or absolute. Each module belongs to a unit (its subpackage, or the
top-level module itself) and each unit to a layer; a unit may import its own modules and
units of lower layers only. Units of one layer stand beside each other: the engine and the
sandbox never import each other, so the sandbox's Python-policy step reaches the engine
only as a value (autoda.engine.augment.epoch_step.EpochStep), injected by the front door.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "autoda"

# Lowest first. Where a new module goes: the lowest layer whose units give it what it imports.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),  # AutodaError and FailureKind: every layer raises and records them
    # names and helpers every layer above may use: no torch, no compiler
    ("ops", "class_stats", "files", "secrets", "resources", "catalog", "presets", "words", "stopping"),
    ("compiler",),  # policy text -> checked program -> plan
    ("engine", "sandbox"),  # the plan on the device; Python policies in a worker (beside, never importing each other)
    ("policies",),  # the one front door: a path, text or bytes of either language -> a checked policy
    ("autoda",),  # the package's public face (autoda/__init__.py): check_policy, compile_policy, __version__
    ("lightning",),  # PolicyCallback: a compiled policy and its statistics in a PyTorch Lightning run
    ("search",),  # proposers, the evolutionary loop, journal, executors
    ("experiment", "report"),  # grids of training runs; tables, HTML reports, plots
    ("verify",),  # `autoda verify`: a run's best retrained beside the hand-designed policies, and its verdict
    ("doctor",),  # `autoda doctor`: versions, the device, caches, the sandbox's isolation layers, the LLM endpoint
    ("cli",),  # the command line
    ("__main__",),  # python -m autoda
)
LAYER = {unit: depth for depth, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str:
    """The unit of a dotted module name: autoda.engine.augment.compiled -> engine."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "autoda"


def module_name(path: Path, root: Path) -> tuple[str, bool]:
    """(dotted name, whether it is a package's __init__) of a file under root."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def imported_modules(path: Path, root: Path) -> set[str]:
    """Every autoda module a file imports, wherever in the file the import stands."""
    name, is_package = module_name(path, root)
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from . import engine` imports a module; `from . import __version__` a name of one
            found.update(f"{target}.{alias.name}" for alias in node.names
                         if _is_module(root, f"{target}.{alias.name}"))
    return {m for m in found if m == root.name or m.startswith(root.name + ".")}


def _is_module(root: Path, dotted: str) -> bool:
    relative = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
    return (root / relative).with_suffix(".py").is_file() or (root / relative / "__init__.py").is_file()


def unit_graph(root: Path = PACKAGE) -> dict[str, dict[str, set[str]]]:
    """unit -> imported unit -> the modules that import it (self-imports left out)."""
    graph: dict[str, dict[str, set[str]]] = {}
    for path in sorted(root.rglob("*.py")):
        name, _ = module_name(path, root)
        source = unit_of(name)
        graph.setdefault(source, {})
        for target in imported_modules(path, root):
            if unit_of(target) != source:
                graph[source].setdefault(unit_of(target), set()).add(name)
    return graph


def upward_imports(graph: dict[str, dict[str, set[str]]]) -> list[str]:
    """Imports of a unit in the same or a higher layer, one line each."""
    bad = []
    for source, targets in sorted(graph.items()):
        for target, importers in sorted(targets.items()):
            if LAYER[target] >= LAYER[source]:
                where = "beside" if LAYER[target] == LAYER[source] else "above"
                bad.append(f"{source} imports {target} ({where} it): {', '.join(sorted(importers))}")
    return bad


def cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """The strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        for target in graph.get(unit, {}):
            if target not in index:
                visit(target)
                low[unit] = min(low[unit], low[target])
            elif target in stack:
                low[unit] = min(low[unit], index[target])
        if low[unit] == index[unit]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == unit:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for unit in sorted(graph):
        if unit not in index:
            visit(unit)
    return found


def test_every_unit_has_a_layer():
    units = {unit_of(module_name(path, PACKAGE)[0]) for path in PACKAGE.rglob("*.py")}
    assert units - set(LAYER) == set(), "give each new module or package a layer in LAYERS"


def test_no_cycle_between_packages():
    assert cycles(unit_graph()) == []


def test_no_upward_import():
    assert upward_imports(unit_graph()) == []


def test_the_checks_see_lazy_and_relative_imports(tmp_path):
    """A lazy, relative import from the compiler up into the sandbox (the cycle this test was
    written against) is both a cycle and an upward import."""
    root = tmp_path / "autoda"
    for folder in ("compiler", "sandbox"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "compiler" / "check.py").write_text("def check():\n    from ..sandbox import policy\n")
    (root / "sandbox" / "policy.py").write_text("from autoda.compiler.check import check\n")
    graph = unit_graph(root)
    assert cycles(graph) == [["compiler", "sandbox"]]
    assert upward_imports(graph) == ["compiler imports sandbox (above it): autoda.compiler.check"]
