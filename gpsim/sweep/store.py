"""Storage of a sweep: Parquet datasets written as atomically renamed part files, and ``manifest.json``.

Layout of a sweep folder::

    manifest.json          the normalised experiment, its hash, provenance, sessions (start/end, counts)
    design.parquet         every design row: row, point_id, varied parameters (written once)
    runs/part-NNNNN-*.parquet    one row per run: run_key, point_id, replicate, seed, parameters, status, ...
    final/part-NNNNN-*.parquet   one row per successful run: run_key + the summary figures
    steps/part-NNNNN-*.parquet   (optional) monthly rows: run_key, step + the monthly columns

A batch is written as ``final`` and ``steps`` parts first, then the ``runs`` part with the same name: the
``runs`` part is the commit record. Every part is written to a temporary name and renamed, so a crash never
leaves a half-written file; readers ignore ``final``/``steps`` parts whose ``runs`` part is missing.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import platform
import socket
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gpsim.errors import ExperimentError

DATASETS = ("runs", "final", "steps")
PACKAGES = ("gpsim", "numpy", "pandas", "scipy", "mesa", "networkx", "pyarrow", "dask", "distributed", "SALib")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_table_atomic(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` as Parquet to ``path`` via a temporary name in the same folder and a rename."""
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    try:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def provenance() -> dict[str, Any]:
    """Git commit and dirty flag of the gpsim source, package versions, Python and host."""
    import gpsim

    src = Path(gpsim.__file__).resolve().parent.parent
    git: dict[str, Any] = {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=src,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        git = {"commit": commit, "dirty": bool(status.strip())}
    except (OSError, subprocess.SubprocessError):
        pass  # not a git checkout (an installed wheel): the version says what ran
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = None
    return {
        "git": git,
        "packages": versions,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "user": user,
    }


class SweepStore:
    """A sweep folder: reads what is there, writes batches of results."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    # --- manifest ------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def read_manifest(self) -> dict[str, Any]:
        try:
            return json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            raise ExperimentError(f"{self.root}: no sweep here (manifest.json not found)") from None
        except (OSError, ValueError) as err:
            raise ExperimentError(f"{self.manifest_path}: cannot read: {err}") from None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_atomic(self.manifest_path, (json.dumps(manifest, indent=2, default=str) + "\n").encode())

    def create(self, manifest: dict[str, Any], design: pd.DataFrame) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for name in DATASETS:
                (self.root / name).mkdir(exist_ok=True)
        except OSError as err:
            raise ExperimentError(f"cannot write to output folder {self.root}: {err.strerror}") from None
        write_table_atomic(self.root / "design.parquet", _stringify_objects(design))
        self.write_manifest(manifest)

    # --- parts ---------------------------------------------------------------------------------
    def _parts(self, name: str) -> list[Path]:
        folder = self.root / name
        if not folder.exists():
            return []
        return sorted(p for p in folder.glob("part-*.parquet"))

    def committed_parts(self) -> set[str]:
        return {p.name for p in self._parts("runs")}

    def clean_orphans(self) -> int:
        """Remove temporary files and ``final``/``steps`` parts of batches that never committed."""
        committed = self.committed_parts()
        removed = 0
        for name in DATASETS:
            folder = self.root / name
            if not folder.exists():
                continue
            for p in folder.iterdir():
                if p.name.startswith(".tmp-") or (name != "runs" and p.name not in committed):
                    p.unlink()
                    removed += 1
        return removed

    def next_part_number(self) -> int:
        nums = [int(p.name.split("-")[1]) for p in self._parts("runs")]
        return max(nums, default=-1) + 1

    def write_batch(self, number: int, runs: list[dict], finals: list[dict], steps: list[pd.DataFrame]) -> str:
        """Write one batch: ``final`` and ``steps`` parts, then the ``runs`` part that commits them."""
        name = f"part-{number:05d}-{uuid.uuid4().hex[:8]}.parquet"
        if finals:
            write_table_atomic(self.root / "final" / name, pd.DataFrame.from_records(finals))
        if steps:
            write_table_atomic(self.root / "steps" / name, pd.concat(steps, ignore_index=True))
        write_table_atomic(self.root / "runs" / name, _stringify_objects(pd.DataFrame.from_records(runs)))
        return name

    # --- reading -------------------------------------------------------------------------------
    def read(self, name: str) -> pd.DataFrame:
        """A dataset as one frame: only committed parts; for a run stored twice (a retried failure), the last."""
        committed = self.committed_parts()
        parts = [p for p in self._parts(name) if p.name in committed]
        if not parts:
            return pd.DataFrame()
        frames = []
        for i, p in enumerate(parts):
            try:
                f = pq.read_table(p).to_pandas()
            except (OSError, pa.ArrowException) as err:
                raise ExperimentError(
                    f"{p}: damaged part file ({str(err).strip()}); move it away and resume to rerun its runs"
                ) from None
            f["_part"] = i
            frames.append(f)
        frame = pd.concat(frames, ignore_index=True)
        if name != "steps":
            frame = frame.drop_duplicates("run_key", keep="last")
        else:
            last = frame.groupby("run_key")["_part"].transform("max")
            frame = frame[frame["_part"] == last]
        return frame.drop(columns="_part").reset_index(drop=True)

    def runs(self) -> pd.DataFrame:
        return self.read("runs")

    def final(self) -> pd.DataFrame:
        """The ``final`` table of the latest successful attempt of each run."""
        f = self.read("final")
        if f.empty:
            return f
        ok = self.runs()
        ok = ok.loc[ok["status"] == "ok", "run_key"]
        return f[f["run_key"].isin(ok)].reset_index(drop=True)

    def steps(self) -> pd.DataFrame:
        return self.read("steps")

    def design(self) -> pd.DataFrame:
        return pq.read_table(self.root / "design.parquet").to_pandas()

    def stored_keys(self) -> tuple[set[str], set[str]]:
        """(run keys stored as ok, run keys whose latest attempt failed)."""
        runs = self.runs()
        if runs.empty:
            return set(), set()
        ok = set(runs.loc[runs["status"] == "ok", "run_key"])
        return ok, set(runs["run_key"]) - ok


def _stringify_objects(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns of mixed Python values (a varied str/bool/number parameter) stored with one Arrow type."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col] if v is not None}
            if len(kinds) == 1 and next(iter(kinds)) in (int, float, bool, str):
                out[col] = out[col].astype(next(iter(kinds)) if next(iter(kinds)) is not str else object)
            elif kinds == {int, float}:
                out[col] = out[col].astype(float)
    return out
