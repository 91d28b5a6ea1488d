"""Citation and licence metadata agree with the package (LICENSE, CITATION.cff, CHANGELOG.md, pyproject.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

import gpsim

ROOT = Path(__file__).resolve().parents[1]


def test_licence_citation_changelog_and_version_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    version = project["version"]
    assert gpsim.__version__ == version
    assert project["license"]["text"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["license"] == "MIT"
    assert str(cff["version"]) == version and cff["title"] and cff["authors"]
    assert "docs/ODD.md" in cff["message"]
    assert f"## {version} " in (ROOT / "CHANGELOG.md").read_text()
    assert "Open Government Licence v3.0" in (ROOT / "gpsim" / "data" / "README.md").read_text()


def _imports(module: str) -> set[str]:
    """The gpsim modules a module imports, at its top or inside functions (not under ``if TYPE_CHECKING``)."""
    import ast

    path = ROOT / (module.replace(".", "/") + ".py")
    found: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node):  # noqa: N802 - ast's naming
            if getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
                for child in node.orelse:
                    self.visit(child)
                return
            self.generic_visit(node)

        def visit_Import(self, node):  # noqa: N802
            found.update(a.name for a in node.names if a.name.startswith("gpsim"))

        def visit_ImportFrom(self, node):  # noqa: N802
            if node.module and node.module.startswith("gpsim") and not node.level:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)

    Visitor().visit(ast.parse(path.read_text(), str(path)))
    return found


def test_the_sweep_engine_runs_experiments_without_importing_how_they_are_read():
    """The experiment reader imports the engine (Experiment.run); the engine must not import the reader back."""
    assert "gpsim.sweep.spec" not in _imports("gpsim.sweep.engine")
    assert "gpsim.sweep" not in _imports("gpsim.sweep.engine")  # the package's __init__ imports the reader
    assert "gpsim.sweep.engine" in _imports("gpsim.sweep.spec")


def test_one_default_scenario_for_every_face():
    # gpsim.run(), gpsim run, experiment files, the UI and the EMA model start from the same scenario; a face that
    # wrote its own literal would drift from the others when the default changes.
    import inspect

    import gpsim
    from gpsim import ema
    from gpsim.sweep.spec import Experiment
    from gpsim.ui.session import Session

    assert Experiment.__dataclass_fields__["scenario"].default == gpsim.DEFAULT_SCENARIO
    assert inspect.signature(ema.model).parameters["scenario"].default == gpsim.DEFAULT_SCENARIO
    assert inspect.signature(Session).parameters["scenario"].default == gpsim.DEFAULT_SCENARIO
    for module in ("ema", "sweep/spec", "ui/session", "__init__"):
        source = (ROOT / "gpsim" / f"{module}.py").read_text()
        assert 'scenario: str = "' not in source and 'get("scenario", "' not in source, module
