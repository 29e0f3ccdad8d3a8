"""Files that live at the top of the repository and ship inside the package (see
pyproject.toml): read from the source tree when running from it, else from the package."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
_PLACES = {"autoda.grammar": "grammar", "autoda.docs": "docs", "autoda.examples": "examples/policies"}


def resource_text(package: str, name: str) -> str:
    here = _REPO / _PLACES[package] / name
    if here.is_file():
        return here.read_text(encoding="utf-8")
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def resource_names(package: str, suffix: str) -> list[str]:
    here = _REPO / _PLACES[package]
    if here.is_dir():
        return sorted(p.name for p in here.iterdir() if p.name.endswith(suffix))
    return sorted(p.name for p in resources.files(package).iterdir() if p.name.endswith(suffix))
