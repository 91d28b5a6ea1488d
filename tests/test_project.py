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
