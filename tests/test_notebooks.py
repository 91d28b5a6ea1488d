"""The notebooks in notebooks/ are executed here, so they cannot rot.

Each notebook runs top to bottom in a fresh ``python3`` kernel (the interpreter running the tests, where gpsim is
installed) with ``notebooks/`` as its working directory and matplotlib's non-interactive Agg backend; any error
fails the test. The notebooks must also be committed without outputs, and their links into ``docs/`` must point
at headings that exist.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT = 240  # seconds for any one cell (the sensitivity sweep is the longest)
LINK = re.compile(r"\]\((\.\./docs/[^)#\s]+\.md)(?:#([^)\s]+))?\)")


def test_there_are_notebooks():
    assert len(PATHS) >= 4, f"expected the notebooks in {NOTEBOOKS}"


@pytest.fixture(params=PATHS, ids=[p.name for p in PATHS])
def notebook(request):
    return request.param


def test_committed_without_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.get("outputs") == [], f"{notebook.name} cell {i} has outputs: strip them before committing"
            assert cell.get("execution_count") is None, f"{notebook.name} cell {i} has an execution count"
    assert "widgets" not in nb.metadata, f"{notebook.name} carries widget state"


def _slug(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading (lower case, punctuation dropped, spaces to hyphens)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_into_docs_resolve(notebook):
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for target, anchor in LINK.findall(cell.source):
            doc = (NOTEBOOKS / target).resolve()
            assert doc.is_file(), f"{notebook.name} links to missing {target}"
            if anchor:
                headings = {_slug(h) for h in re.findall(r"^#+\s+(.*)$", doc.read_text(), flags=re.M)}
                assert anchor in headings, f"{notebook.name} links to {target}#{anchor}, which is not a heading"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_notebook_runs(notebook, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # inherited by the kernel: no windows, no inline images
    # look for the python3 kernel in this environment first (a user-wide one may point at another Python)
    monkeypatch.setenv("JUPYTER_PATH", str(Path(sys.prefix, "share", "jupyter")))
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable, end='')"))
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on the first error
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, f"{notebook.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    kernel_python = nb.cells[-1].outputs[0]["text"]
    assert Path(kernel_python).resolve() == Path(sys.executable).resolve(), "the kernel ran another Python"
