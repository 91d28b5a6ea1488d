"""Storage of a sweep: Parquet datasets written as atomically renamed part files, and ``manifest.json``.

Layout of a sweep folder::

    manifest.json          the normalised experiment, its hash, provenance, sessions (start/end, counts)
    design.parquet         every design row: row, point_id, varied parameters (written once)
    runs/part-NNNNN-*.parquet      one row per run: run_key, point_id, replicate, seed, parameters, status, ...
    final/part-NNNNN-*.parquet     one row per successful run: run_key + the summary figures
    steps/part-NNNNN-*.parquet     (optional) monthly rows: run_key, step, date + the monthly columns
    orgs/part-NNNNN-*.parquet      (unless [outputs] orgs = false) one row per organisation: run_key, point_id,
                                   replicate, the varied parameters + the organisation's columns
    closures/part-NNNNN-*.parquet  likewise, one row per practice closure or merger
    retried/part-NNNNN-*.parquet   failed attempts that a --retry-failed attempt replaced in runs/

A batch is written as its ``final``, ``steps``, ``orgs`` and ``closures`` parts first, then the ``runs`` part with
the same name: the ``runs`` part is the commit record. Every part is written to a temporary name and renamed, so
a crash never leaves a half-written file; readers ignore parts whose ``runs`` part is missing. Every part of a
table has the same Arrow schema (declared in :mod:`gpsim.outputs`), so plain ``pandas.read_parquet`` and
DuckDB read the folders as they are.
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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gpsim import outputs
from gpsim.errors import ExperimentError

#: The per-run tables; ``runs`` is the commit record of a batch.
DATASETS = ("runs", "final", "steps", "orgs", "closures")
#: Failed attempts superseded by a later attempt (moved out of ``runs``; never read as results).
RETRIED = "retried"
PACKAGES = ("gpsim", "numpy", "pandas", "scipy", "mesa", "networkx", "pyarrow", "dask", "distributed", "SALib")
#: Packages whose versions must match between a sweep's client and its workers for bit-identical runs.
RESULT_PACKAGES = ("gpsim", "numpy", "scipy", "pandas", "mesa", "networkx")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_table_atomic(path: Path, frame: pd.DataFrame | pa.Table) -> None:
    """Write ``frame`` as Parquet to ``path`` via a temporary name in the same folder and a rename."""
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    try:
        pq.write_table(table, tmp)
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


def result_versions() -> dict[str, str | None]:
    """Python and the versions of the packages that bear on a run's numbers (compared between client and workers)."""
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in RESULT_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def parameter_types(names: list[str]) -> dict[str, pa.DataType]:
    """The Arrow type of each varied parameter column, from the parameter declaration."""
    from gpsim.params import SPECS_BY_NAME

    return {n: outputs.parameter_arrow_type(SPECS_BY_NAME[n].kind) for n in names if n in SPECS_BY_NAME}


def arrow_table(table: str, frame: pd.DataFrame, params: dict[str, pa.DataType]) -> pa.Table:
    """``frame`` as an Arrow table with the declared type of every column (:mod:`gpsim.outputs`).

    Varied parameters take their declared parameter type; a column declared nowhere (a new model output that
    docs/OUTPUTS.md does not describe yet) keeps the type Arrow infers, with all-missing columns as float64.
    """
    declared = outputs.by_name(table)
    columns: dict[str, Any] = {}
    fields = []
    for name in frame.columns:
        typ = params.get(name) or (declared[name].arrow_type if name in declared else None)
        values = frame[name]
        converted = None
        if typ is not None:
            try:
                converted = _convert(values, typ)
            except (TypeError, ValueError, pa.ArrowException):
                converted = None  # declared wrongly (tests/test_outputs.py catches that): keep what the data is
        if converted is None:
            typ = pa.array(values, from_pandas=True).type
            typ = pa.float64() if pa.types.is_null(typ) else typ
            converted = values
        columns[name] = converted
        fields.append(pa.field(name, typ))
    return pa.Table.from_pandas(
        pd.DataFrame(columns, index=frame.index), schema=pa.schema(fields), preserve_index=False
    )


def _convert(values: pd.Series, typ: pa.DataType) -> pd.Series:
    """``values`` as the pandas dtype that round-trips to Arrow type ``typ`` (missing values kept missing)."""
    missing = values.isna() if values.dtype != object else values.map(lambda v: v is None or v is pd.NA or v != v)
    if pa.types.is_integer(typ):
        if values.dtype.kind == "f" and not np.all(np.equal(np.mod(values[~missing], 1), 0)):
            raise ValueError("not whole numbers")
        return values.astype("Int64") if missing.any() else values.astype("int64")
    if pa.types.is_floating(typ):
        return values.astype(float)
    if pa.types.is_boolean(typ):
        return values.astype("boolean") if missing.any() else values.astype(bool)
    if pa.types.is_string(typ):
        return values.astype(object).where(~missing, None).map(lambda v: v if v is None else str(v))
    if pa.types.is_timestamp(typ):
        out = pd.to_datetime(values, utc=typ.tz is not None)
        return out.astype(f"datetime64[ms, {typ.tz}]" if typ.tz else "datetime64[ms]")
    if pa.types.is_list(typ):
        return values.map(lambda v: None if v is None else [int(x) for x in v])
    raise TypeError(typ)


class SweepStore:
    """A sweep folder: reads what is there, writes batches of results.

    Args:
        root: the sweep folder.
        varied: names of the varied parameters (their columns are written with the declared parameter types);
            read from the manifest when not given.
    """

    def __init__(self, root: str | os.PathLike, varied: list[str] | None = None):
        self.root = Path(root)
        self._varied = varied

    @property
    def parameter_types(self) -> dict[str, pa.DataType]:
        if self._varied is None:
            vary = self.read_manifest().get("experiment", {}).get("vary", {}) if self.exists() else {}
            self._varied = list(vary)
        return parameter_types(self._varied)

    # --- manifest ------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def read_manifest(self) -> dict[str, Any]:
        from gpsim.data.files import read_limited
        from gpsim.sweep.manifest import MAX_MANIFEST_BYTES, check_manifest

        if not os.path.lexists(self.manifest_path):
            raise ExperimentError(f"{self.root}: no sweep here (manifest.json not found)")
        try:
            raw = read_limited(self.manifest_path, MAX_MANIFEST_BYTES, "sweep manifest", ExperimentError)
            return check_manifest(json.loads(raw), self.manifest_path)
        except (OSError, ValueError, RecursionError) as err:
            if isinstance(err, ExperimentError):
                raise
            raise ExperimentError(f"{self.manifest_path}: cannot read: {err}") from None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_atomic(self.manifest_path, (json.dumps(manifest, indent=2, default=str) + "\n").encode())

    def create(self, manifest: dict[str, Any], design: pd.DataFrame) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for name in (*DATASETS, RETRIED):
                (self.root / name).mkdir(exist_ok=True)
        except OSError as err:
            raise ExperimentError(f"cannot write to output folder {self.root}: {err.strerror}") from None
        write_table_atomic(self.root / "design.parquet", arrow_table("sweep design", design, self.parameter_types))
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
        """Remove temporary files and parts of batches that never committed (no ``runs`` part)."""
        committed = self.committed_parts()
        removed = 0
        for name in (*DATASETS, RETRIED):
            folder = self.root / name
            if not folder.exists():
                continue
            for p in folder.iterdir():
                if p.name.startswith(".tmp-") or (name not in ("runs", RETRIED) and p.name not in committed):
                    p.unlink()
                    removed += 1
        return removed

    def next_part_number(self) -> int:
        nums = [int(p.name.split("-")[1]) for p in self._parts("runs")]
        return max(nums, default=-1) + 1

    def write_batch(
        self,
        number: int,
        runs: list[dict],
        finals: list[dict],
        steps: list[pd.DataFrame],
        orgs: list[pd.DataFrame] = (),
        closures: list[pd.DataFrame] = (),
    ) -> str:
        """Write one batch: the ``final``, ``steps``, ``orgs`` and ``closures`` parts, then the ``runs`` part that
        commits them."""
        name = f"part-{number:05d}-{uuid.uuid4().hex[:8]}.parquet"
        types = self.parameter_types
        if finals:
            write_table_atomic(
                self.root / "final" / name, arrow_table("sweep final", pd.DataFrame.from_records(finals), types)
            )
        for folder, frames in (("steps", steps), ("orgs", orgs), ("closures", closures)):
            frames = [f for f in frames if f is not None]
            if frames:
                (self.root / folder).mkdir(exist_ok=True)  # a folder made before orgs were stored
                frame = pd.concat(frames, ignore_index=True)
                write_table_atomic(self.root / folder / name, arrow_table(f"sweep {folder}", frame, types))
        write_table_atomic(self.root / "runs" / name, self._runs_table(pd.DataFrame.from_records(runs)))
        return name

    def _runs_table(self, frame: pd.DataFrame) -> pa.Table:
        return arrow_table("sweep runs", frame, self.parameter_types)

    def supersede(self) -> int:
        """Keep one row per run in ``runs/``: move each failed row that a later attempt replaced to ``retried/``.

        A run stored as failed and then rerun with ``--retry-failed`` has its new row in a later ``runs`` part;
        the old row is appended to ``retried/`` under its part's name and the old part is rewritten without it
        (both atomically, in that order, so a crash in between only leaves a row in both places, which the next
        call tidies). Returns the number of rows moved.
        """
        parts = self._parts("runs")
        keys = [pq.read_table(p, columns=["run_key"]).column("run_key").to_pylist() for p in parts]
        latest = {key: (i, j) for i, ks in enumerate(keys) for j, key in enumerate(ks)}
        moved = 0
        for i, (p, ks) in enumerate(zip(parts, keys, strict=True)):
            old = [j for j, key in enumerate(ks) if latest[key] != (i, j)]
            if not old:
                continue
            table = self._read_part(p)
            superseded = table.iloc[old]
            if (superseded["status"] != "failed").any():
                continue  # only failed attempts are replaced; anything else is left for the reader to resolve
            dest = self.root / RETRIED / p.name
            dest.parent.mkdir(exist_ok=True)
            if dest.exists():
                superseded = pd.concat([self._read_part(dest), superseded], ignore_index=True)
                superseded = superseded.drop_duplicates(["run_key", "attempt"], keep="last")
            write_table_atomic(dest, self._runs_table(superseded.reset_index(drop=True)))
            write_table_atomic(p, self._runs_table(table.drop(index=table.index[old]).reset_index(drop=True)))
            moved += len(old)
        return moved

    # --- reading -------------------------------------------------------------------------------
    def _read_part(self, p: Path) -> pd.DataFrame:
        try:
            return pq.read_table(p).to_pandas()
        except (OSError, pa.ArrowException) as err:
            raise ExperimentError(
                f"{p}: damaged part file ({str(err).strip()}); move it away and resume to rerun its runs"
            ) from None

    def read(self, name: str) -> pd.DataFrame:
        """A dataset as one frame: only committed parts; for a run stored twice (a retried failure), the last."""
        committed = self.committed_parts()
        parts = [p for p in self._parts(name) if p.name in committed or name == RETRIED]
        frames = []
        for i, p in enumerate(parts):
            f = self._read_part(p)
            f["_part"] = i
            frames.append(f)
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame()
        frame = pd.concat(frames, ignore_index=True)
        if name in ("runs", "final"):
            frame = frame.drop_duplicates("run_key", keep="last")
        elif name != RETRIED:
            last = frame.groupby("run_key")["_part"].transform("max")
            frame = frame[frame["_part"] == last]
        return frame.drop(columns="_part").reset_index(drop=True)

    def runs(self) -> pd.DataFrame:
        return self.read("runs")

    def _of_ok_runs(self, name: str) -> pd.DataFrame:
        f = self.read(name)
        if f.empty:
            return f
        ok = self.runs()
        ok = ok.loc[ok["status"] == "ok", "run_key"]
        return f[f["run_key"].isin(ok)].reset_index(drop=True)

    def final(self) -> pd.DataFrame:
        """The ``final`` table of the latest successful attempt of each run."""
        return self._of_ok_runs("final")

    def steps(self) -> pd.DataFrame:
        return self.read("steps")

    def orgs(self) -> pd.DataFrame:
        """Every organisation of every successful run (empty when the sweep kept none)."""
        return self._of_ok_runs("orgs")

    def closures(self) -> pd.DataFrame:
        """Every practice closure or merger of every successful run (empty when the sweep kept none)."""
        return self._of_ok_runs("closures")

    def retried(self) -> pd.DataFrame:
        """Failed attempts replaced by a later attempt (see :meth:`supersede`)."""
        return self.read(RETRIED)

    def design(self) -> pd.DataFrame:
        return pq.read_table(self.root / "design.parquet").to_pandas()

    def stored_keys(self) -> tuple[set[str], set[str]]:
        """(run keys stored as ok, run keys whose latest attempt failed)."""
        runs = self.runs()
        if runs.empty:
            return set(), set()
        ok = set(runs.loc[runs["status"] == "ok", "run_key"])
        return ok, set(runs["run_key"]) - ok

    def attempts(self) -> dict[str, int]:
        """Run key -> attempts made so far (folders written before attempts were counted say 1)."""
        runs = self.runs()
        if runs.empty:
            return {}
        att = runs["attempt"] if "attempt" in runs else pd.Series(1, index=runs.index)
        return dict(zip(runs["run_key"], att.fillna(1).astype(int), strict=True))
