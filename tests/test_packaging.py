"""What a non-editable install needs: every package listed, every data file shipped."""
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
PYPROJECT = (ROOT / "pyproject.toml").read_text()


def listed_packages() -> set[str]:
    block = re.search(r"^packages = \[(.*?)\]", PYPROJECT, re.S | re.M).group(1)
    return set(re.findall(r'"([\w.]+)"', block))


def test_every_python_package_is_listed():
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "autoda").rglob("__init__.py")}
    assert found <= listed_packages(), found - listed_packages()


def test_data_folders_ship_inside_the_package():
    for package, folder in (("autoda.grammar", "grammar"), ("autoda.docs", "docs"),
                            ("autoda.examples", "examples/policies")):
        assert f'"{package}" = "{folder}"' in PYPROJECT
        assert package in listed_packages()
    assert '"autoda.search" = ["prompts/*.md", "prompts/python/*.md"]' in PYPROJECT
    assert (ROOT / "autoda" / "search" / "prompts" / "system.md").exists()
    assert (ROOT / "autoda" / "search" / "prompts" / "python" / "system.md").exists()
    assert '"autoda.examples" = ["*.dsl", "*.py"]' in PYPROJECT and (ROOT / "examples/policies/paper_doda.py").exists()
