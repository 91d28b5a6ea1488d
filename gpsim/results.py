"""Results of one run: ``steps``, ``orgs``, ``closures``, ``final``, ``params``, ``seed``; reading and writing them."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gpsim import metrics
from gpsim.errors import GpsimError
from gpsim.params import Params
from gpsim.state import DissolutionCause, LeadershipKind, OrgForm

if TYPE_CHECKING:
    from gpsim.plots import SummaryProcess

ORG_COLUMNS = [
    "org",
    "kind",
    "form",
    "leadership",
    "founded_step",
    "dissolved_step",
    "cause",
    "peak_members",
    "peak_population",
    "members",
    "population",
    "first_benefit_step",
    "months_external_funding",
    "last_external_step",
    "cohesion",
    "reserves",
    "leaders_burnt_out",
    "n_contracts",
    "founder",
    "subscription",
    "asks_taken",
    "asks_delivered",
    "commit_record",
    "can_commit_members",
    "ccg_relationship",
    "spans_ccgs",
    "ccg_grant_months",
]
CLOSURE_COLUMNS = ["step", "practice", "code", "list_size", "n_gps", "cause", "kind", "into"]


@dataclass
class Results:
    """What a run produced, and how it was made.

    Attributes:
        steps: one row per month (month 0 is the starting state); the README (Outputs) lists the columns.
        orgs: one row per organisation ever formed.
        closures: one row per practice closure or merger.
        final: end-of-run summary figures.
        params: the parameters of the run.
        seed: the seed (an int, or a dict describing a ``SeedSequence``).
        ledger: cumulative money flows by name (GBP).
        region_name: the name of the starting region.
        register_sha256: SHA-256 of the register file a real region was read from ("" for a synthetic region).
        org_money: each organisation's money in and out by flow, one row per organisation and month in which it
            moved any money (docs/OUTPUTS.md, ``org money``).
    """

    steps: pd.DataFrame
    orgs: pd.DataFrame
    closures: pd.DataFrame
    final: dict[str, Any]
    params: Params
    seed: Any
    ledger: dict[str, float] = field(default_factory=dict)
    region_name: str = ""
    register_sha256: str = ""
    org_money: pd.DataFrame = field(default_factory=lambda: _empty_org_money())

    @classmethod
    def from_model(cls, model, seed: Any) -> Results:
        p = model.p
        steps = pd.DataFrame.from_records(model.records)
        # the first of the month, ``step`` months after the start month
        start = np.datetime64(f"{p.start_year:04d}-{p.start_month:02d}", "M")
        steps.insert(1, "date", (start + steps["step"].to_numpy().astype("timedelta64[M]")).astype("datetime64[ns]"))
        return cls(
            steps=steps,
            orgs=org_table(model),
            closures=closure_table(model),
            final=final_summary(model, steps),
            params=p,
            seed=seed,
            ledger=dict(model.ledger.total),
            region_name=model.region.name,
            register_sha256=getattr(model.region, "register_sha256", ""),
            org_money=model.org_money(),
        )

    # --- human summary --------------------------------------------------------------------------
    def summary_table(self) -> pd.DataFrame:
        """Key figures at years 0, 2, 5 and the end (the rows ``gpsim run`` prints)."""
        last = int(self.steps["step"].iloc[-1])
        months = sorted({m for m in (0, 24, 60) if m < last} | {last})
        cols = {
            "n_practices_open": "practices open",
            "share_practices_in_org": "in an organisation",
            "n_orgs": "organisations",
            "n_orgs_failed_cum": "organisations failed",
            "org_size_mean": "mean org size",
            "relationships_per_hospital_mean": "relationships / hospital",
            "share_population_committable": "population committable",
            "mean_workload_pressure": "workload pressure",
        }
        rows = self.steps.set_index("step").loc[months, list(cols)]
        rows.index = [f"year {m / 12:g}" for m in months]
        return rows.rename(columns=cols)

    def format_summary(self) -> str:
        t = self.summary_table().copy()
        for c in ("in an organisation", "population committable"):
            t[c] = (t[c] * 100).map(lambda v: f"{v:.0f}%")
        t["mean org size"] = t["mean org size"].map(lambda v: f"{v:,.0f}")
        t["relationships / hospital"] = t["relationships / hospital"].map(lambda v: f"{v:.1f}")
        t["workload pressure"] = t["workload pressure"].map(lambda v: f"{v:.2f}")
        f = self.final
        lines = [
            f"gpsim: {self.region_name}, {self.params.n_months} months from "
            f"{self.params.start_year}-{self.params.start_month:02d}, seed {self.seed}",
            "",
            t.T.to_string(),
            "",
            f"organisations founded {f['orgs_founded']}, dissolved {f['orgs_dissolved']}; "
            f"practices closed {f['n_closures']} and merged {f['n_mergers']}; "
            f"leaders burnt out {f['leaders_burnt_out']}",
        ]
        if f.get("n_pcns"):
            lines.append(
                f"primary care networks {f['n_pcns']:,} at the end, with {f['share_practices_in_pcn']:.0%} of "
                f"practices ({f['share_practices_in_pcn_and_org']:.0%} also in an organisation)"
            )
        s36 = f.get("survival_36m_after_one_off")
        if f.get("survival_36m_after_one_off_n"):
            lines.append(
                f"organisations alive 36 months after their one-off money ended: {s36:.0%} "
                f"(of {f['survival_36m_after_one_off_n']})"
            )
        if f.get("median_delivery_delay_months") == f.get("median_delivery_delay_months"):
            lines.append(
                f"median months from founding to first delivered benefit: {f['median_delivery_delay_months']:.0f}"
            )
        return "\n".join(lines)

    # --- survival ---------------------------------------------------------------------------------
    def survival(self, since: str = "founding") -> pd.DataFrame:
        """Kaplan-Meier survival of this run's organisations (needs lifelines: ``pip install 'gpsim[sweep]'``).

        Args:
            since: ``founding`` (months since founding; every organisation) or ``one_off_end`` (months since
                its one-off money ended; organisations whose money ended before the end of the run).

        Returns:
            One row per month with a dissolution or a censoring: ``months``, ``at_risk``, ``dissolved``,
            ``censored``, ``survival`` and its 95% interval (``survival_low``, ``survival_high``). Organisations
            alive at the end of the run are censored there. See :mod:`gpsim.survival` for curves and Cox models.
        """
        from gpsim import survival

        return survival.survival_table(survival.durations(self.orgs, int(self.final["months"]), since))

    # --- files ------------------------------------------------------------------------------------
    def save(
        self,
        out_dir: str | os.PathLike,
        fmt: str = "parquet",
        *,
        plot: bool = False,
        drawing: SummaryProcess | None = None,
    ) -> list[Path]:
        """Write steps, orgs, closures, org_money (Parquet or CSV), final.json and (with ``plot``) summary.png to
        ``out_dir``.

        The whole result is written to a temporary folder beside ``out_dir`` and swapped in at the end, so
        ``out_dir`` holds either the complete earlier run, or the complete new one: never a mixture, never half.
        ``out_dir`` must be new, empty, or hold an earlier gpsim run (see :func:`check_run_folder`); links are
        never followed and no file gpsim did not write is touched.

        Args:
            out_dir: the folder to write.
            fmt: ``"parquet"`` or ``"csv"`` for the tables.
            plot: also write summary.png.
            drawing: with ``plot``, a started :class:`gpsim.plots.SummaryProcess` that draws summary.png while
                the tables are written (what ``gpsim run --out`` does); by default it is drawn in this process.
        """
        if fmt not in ("parquet", "csv"):
            raise GpsimError(f"unknown output format {fmt!r}; use parquet or csv")
        out = Path(out_dir)
        check_run_folder(out)

        def write(tmp: Path) -> None:
            if plot and drawing is not None:
                drawing.draw(self)  # drawn in the other process while the tables are written
            tables = (
                ("steps", self.steps),
                ("orgs", self.orgs),
                ("closures", self.closures),
                ("org_money", self.org_money),
            )
            for name, frame in tables:
                write_table(frame, tmp / f"{name}.{fmt}", fmt)
            text = json.dumps(_missing_as_null(self.metadata()), indent=2, default=_json_default, allow_nan=False)
            (tmp / "final.json").write_text(text)
            if plot and drawing is not None:
                _flush_to_disk(tmp)  # while the figure is drawn (the swap flushes every file it holds again)
                (tmp / "summary.png").write_bytes(drawing.png())
            elif plot:
                from gpsim import plots

                plots.save_summary(self, str(tmp / "summary.png"))

        written = write_folder_atomically(out, write)
        return [out / n for n in written]

    def metadata(self) -> dict[str, Any]:
        from gpsim import __version__

        return {
            "final": self.final,
            "params": self.params.to_dict(),
            "seed": self.seed,
            "region": self.region_name,
            # what identifies the register a real region was built from (its text alone does not: files change)
            "register_sha256": self.register_sha256 or None,
            "ledger": self.ledger,
            "gpsim_version": __version__,
            "versions": _versions(),
        }

    @classmethod
    def load(cls, out_dir: str | os.PathLike) -> Results:
        """Read results written by :meth:`save`."""
        out = Path(out_dir)
        meta = json.loads((out / "final.json").read_text())

        def read(name: str) -> pd.DataFrame:
            pq, csv = out / f"{name}.parquet", out / f"{name}.csv"
            if name == "org_money" and not (pq.exists() or csv.exists()):
                return _empty_org_money()  # written before the table existed
            return pd.read_parquet(pq) if pq.exists() else pd.read_csv(csv)

        final = {k: math.nan if v is None else v for k, v in meta["final"].items()}  # missing: NaN in memory
        return cls(
            steps=read("steps"),
            orgs=read("orgs"),
            closures=read("closures"),
            final=final,
            params=Params.from_mapping(meta["params"]),
            seed=meta["seed"],
            ledger=meta.get("ledger", {}),
            region_name=meta.get("region", ""),
            register_sha256=meta.get("register_sha256") or "",
            org_money=read("org_money"),
        )


def write_table(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    """Write one table as Parquet or CSV, without its index.

    Parquet columns of decimals are written without trying a dictionary of their values first: amounts of money
    and shares rarely repeat, so Arrow would build the dictionary and then give it up at its size limit (half
    the time of writing ``org_money``). The file holds the same table, with the same types.
    """
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False, use_dictionary=[c for c, t in frame.dtypes.items() if t.kind != "f"])


def _empty_org_money() -> pd.DataFrame:
    from gpsim.money import OrgMoneyLog

    return OrgMoneyLog().table()


def _missing_as_null(x: Any) -> Any:
    """Missing values (NaN) as JSON null, everywhere in a nested structure (JSON has no NaN)."""
    if isinstance(x, dict):
        return {k: _missing_as_null(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_missing_as_null(v) for v in x]
    if isinstance(x, (float, np.floating)) and not math.isfinite(float(x)):
        return None
    return x


#: The files ``gpsim run --out`` / :meth:`Results.save` write; a folder holding only these may be replaced.
RUN_OUTPUTS = frozenset(
    {f"{n}.{f}" for n in ("steps", "orgs", "closures", "org_money") for f in ("parquet", "csv")}
    | {"final.json", "summary.png"}
)
#: Prefix of the temporary folders a run is written to (beside its ``--out``) before it is swapped in.
TEMP_PREFIX = ".gpsim-"


@dataclass(frozen=True)
class OutputFolder:
    """What a command writes into its ``--out`` folder, so a folder of its earlier outputs may be replaced whole.

    Attributes:
        outputs: the names it writes (a folder holding anything else is refused).
        marker: the JSON file, written by gpsim with a ``gpsim_version`` key, that shows a folder is its own.
        what: how messages name such a folder ("a gpsim run").
    """

    outputs: frozenset[str]
    marker: str
    what: str


RUN_FOLDER = OutputFolder(RUN_OUTPUTS, "final.json", "a gpsim run")


def check_run_folder(out: str | os.PathLike, kind: OutputFolder = RUN_FOLDER) -> None:
    """Refuse an output folder that cannot hold a run's outputs, before anything runs or is written.

    Allowed: a folder that does not exist yet (under a writable folder), an empty folder, or the folder of an
    earlier gpsim run (it is replaced whole). Refused, with one line: an empty path; a symbolic link (followed
    by nobody: even a dangling one); a file; a folder holding anything gpsim did not write (your files, a
    sweep, a *folder* or a link named like an output); a place under a file or where folders cannot be made.
    """
    text = os.fspath(out)
    if not str(text).strip():
        raise GpsimError("--out '': an empty path; name the folder to write to")
    try:
        _check_run_folder(Path(text), text, kind)
    except OSError as err:  # a name too long, a loop of links, a vanished mount...
        raise GpsimError(f"cannot write to output folder {text}: {err.strerror or err}") from None


def _check_run_folder(path: Path, out: str, kind: OutputFolder) -> None:
    if path.is_symlink():
        target = "a missing place" if not path.exists() else os.readlink(path)
        raise GpsimError(f"--out {out}: is a symbolic link (to {target}); gpsim does not write through links")
    if path.exists() and not path.is_dir():
        raise GpsimError(f"--out {out}: is a file, not a folder")
    if path.is_dir():
        try:
            entries = list(os.scandir(path))
        except OSError as err:
            raise GpsimError(f"--out {out}: cannot be read ({err.strerror})") from None
        names = {e.name for e in entries}
        other = sorted(n for n in names - kind.outputs if not n.startswith(TEMP_PREFIX))
        if other:
            what = "a sweep" if "manifest.json" in names else f"other files ({', '.join(other[:3])})"
            raise GpsimError(f"--out {out}: already holds {what}, not {kind.what}; choose another --out")
        for e in entries:
            if e.name in kind.outputs and (e.is_symlink() or not e.is_file(follow_symlinks=False)):
                kind = "a symbolic link" if e.is_symlink() else "a folder" if e.is_dir() else "not a regular file"
                raise GpsimError(f"--out {out}: {e.name} is {kind}, not a file gpsim wrote; choose another --out")
        outputs = names & kind.outputs
        if outputs and not _written_by_gpsim(path / kind.marker):
            raise GpsimError(
                f"--out {out}: holds {', '.join(sorted(outputs)[:3])} but no {kind.marker} written by gpsim; "
                "choose another --out"
            )
        target = path
    else:
        target = path.parent
        while not target.exists() and target != target.parent:
            target = target.parent
        if not target.is_dir():
            raise GpsimError(f"cannot write to output folder {out}: {target} is a file, not a folder")
    if not os.access(target, os.W_OK | os.X_OK):
        raise GpsimError(f"cannot write to output folder {out}: {target} is not writable")


def _written_by_gpsim(marker: Path) -> bool:
    """Whether ``marker`` (``final.json``) is a regular file gpsim wrote (a JSON object carrying ``gpsim_version``)."""
    from gpsim.data.files import read_limited

    try:
        meta = json.loads(read_limited(marker, 64 << 20, marker.name, GpsimError))
    except (GpsimError, ValueError, RecursionError):
        return False
    return isinstance(meta, dict) and "gpsim_version" in meta


def write_folder_atomically(out: Path, write, kind: OutputFolder = RUN_FOLDER) -> list[str]:
    """Call ``write(tmp)`` on a new temporary folder beside ``out``, then swap it in as ``out`` whole.

    An existing ``out`` (already checked to hold only an earlier run) is exchanged with the new folder in one
    rename where the system allows it (Linux ``renameat2``), else by two renames; the old run is then deleted.
    On any failure or interruption the temporary folder, and any parent folder made for it, is removed.
    """
    made = _make_parents(out.parent)
    tmp = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{out.name[:40]}-", dir=out.parent))
        write(tmp)
        written = _flush_to_disk(tmp)
        with _signals_held():
            check_run_folder(out, kind)  # still only an earlier run? (something may have appeared while we wrote)
            old = _swap_in(tmp, out)
            tmp = None
        if old is not None:
            _remove_run_folder(old, kind)
        return written
    except OSError as err:
        raise GpsimError(f"cannot write to output folder {out}: {err.strerror or err}") from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
            for folder in reversed(made):
                with contextlib.suppress(OSError):
                    folder.rmdir()


def _flush_to_disk(folder: Path) -> list[str]:
    """Have the system write every file in ``folder`` to the disk (``fsync``); return their names, sorted."""
    names = sorted(p.name for p in folder.iterdir())
    for name in names:
        with open(folder / name, "rb") as fh:
            os.fsync(fh.fileno())
    return names


def _make_parents(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; return the ones made (outermost first)."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    made = []
    try:
        for f in reversed(missing):
            f.mkdir()
            made.append(f)
    except OSError as err:
        for f in reversed(made):
            with contextlib.suppress(OSError):
                f.rmdir()
        raise GpsimError(f"cannot write to output folder {f}: {err.strerror or err}") from None
    return made


def _swap_in(tmp: Path, out: Path) -> Path | None:
    """Put ``tmp`` at ``out``; return where the replaced folder now is (None when there was none)."""
    if not os.path.lexists(out):
        os.rename(tmp, out)
        return None
    if _exchange(tmp, out):
        return tmp  # tmp's name now holds the old run
    old = out.with_name(f"{TEMP_PREFIX}old-{out.name[:40]}-{os.getpid()}")
    os.rename(out, old)
    os.rename(tmp, out)
    return old


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where not available."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EPERM, errno.ENOTSUP):  # old kernel or file system: two renames
        return False
    raise OSError(err, os.strerror(err), str(b))


def _remove_run_folder(folder: Path, kind: OutputFolder) -> None:
    """Delete a replaced run: only the files gpsim writes (never following a link), then the folder."""
    for entry in os.scandir(folder):
        if entry.name in kind.outputs and not entry.is_dir(follow_symlinks=False):
            os.unlink(entry.path)
        elif entry.name.startswith(TEMP_PREFIX) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
    with contextlib.suppress(OSError):  # anything else (it appeared after the check) stays, and so does its folder
        folder.rmdir()


@contextlib.contextmanager
def _signals_held():
    """Hold Ctrl-C and SIGTERM for the instant of the swap (delivered right after it)."""
    import signal
    import threading

    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"cannot write {type(x).__name__} as JSON")


def org_table(model) -> pd.DataFrame:
    """One row per organisation ever formed, then one per primary care network (``kind``; docs/OUTPUTS.md,
    ``orgs``); what does not exist is missing (NA)."""
    o = model.orgs
    n = o.size
    v = o.view
    frame = pd.DataFrame(
        {
            "org": np.arange(n),
            "kind": ORG_KIND,
            "form": _labels(OrgForm, v("form")),
            "leadership": _labels(LeadershipKind, v("leadership")),
            **_life_columns(v),
            "first_benefit_step": _none_if_negative(v("first_benefit")),
            "months_external_funding": v("one_off_months"),
            "last_external_step": _none_if_negative(v("last_one_off")),
            "cohesion": v("cohesion"),
            "reserves": v("reserves"),
            "leaders_burnt_out": v("leaders_burnt_out"),
            "n_contracts": v("n_contracts"),
            "founder": np.asarray(model.region.practice_code).astype(object)[v("founder")],
            "subscription": v("subscription"),
            "asks_taken": v("asks_taken"),
            "asks_delivered": v("asks_delivered"),
            "commit_record": v("commit_record"),
            "can_commit_members": v("committable") & o.alive,
            "ccg_relationship": v("ccg_relationship"),
            "spans_ccgs": np.where(o.alive, v("spans_ccgs"), 0),
            "ccg_grant_months": v("ccg_grant_months"),
        },
        columns=ORG_COLUMNS,
    )
    return pd.concat([frame, pcn_table(model)], ignore_index=True) if model.pcns.size else frame


def _labels(kind, values: np.ndarray) -> np.ndarray:
    """Each value's label (``OrgForm``, ``LeadershipKind``), as plain strings in an object array."""
    table = np.empty(max(k.value for k in kind) + 1, dtype=object)
    for k in kind:
        table[k.value] = k.label
    return table[values]


#: ``kind`` of an organisation's row in the ``orgs`` table, and of a primary care network's.
ORG_KIND, PCN_KIND = "organisation", "pcn"


def pcn_table(model) -> pd.DataFrame:
    """The ``orgs`` rows of primary care networks (kind ``pcn``): their own ids, no form, leadership, money or
    contracts of an organisation's kind (missing or zero); founder is the first clinical director's practice."""
    c = model.pcns
    n = c.size
    v = c.view
    none = pd.array([None] * n, dtype=object)
    zeros, nothing = np.zeros(n, dtype=np.int64), _none_if_negative(np.full(n, -1, dtype=np.int64))
    return pd.DataFrame(
        {
            "org": np.arange(n),
            "kind": PCN_KIND,
            "form": none,
            "leadership": none,
            **_life_columns(v),
            "first_benefit_step": nothing,
            "months_external_funding": zeros,
            "last_external_step": nothing,
            "cohesion": v("cohesion"),
            "reserves": np.zeros(n),
            "leaders_burnt_out": zeros,
            "n_contracts": zeros,
            "founder": np.asarray(model.region.practice_code).astype(object)[v("founder")],
            "subscription": np.zeros(n),
            "asks_taken": v("asks_taken"),
            "asks_delivered": v("asks_delivered"),
            "commit_record": v("commit_record"),
            "can_commit_members": v("committable") & c.alive,
            "ccg_relationship": np.full(n, np.nan),  # CCGs hold relationships with organisations, not networks
            "spans_ccgs": zeros,
            "ccg_grant_months": zeros,
        },
        columns=ORG_COLUMNS,
    )


def _life_columns(v) -> dict:
    """The ``orgs`` columns organisations and primary care networks share: founding, ending, size."""
    cause = _labels(DissolutionCause, v("cause"))
    cause[v("dissolved") < 0] = None  # no cause while it lasts
    return {
        "founded_step": v("founded"),
        "dissolved_step": _none_if_negative(v("dissolved")),
        "cause": pd.array(cause, dtype=object),
        "peak_members": v("peak_members"),
        "peak_population": v("peak_population"),
        "members": v("members"),
        "population": v("population"),
    }


def closure_table(model) -> pd.DataFrame:
    """One row per practice closure or merger; ``into`` is missing for a closure."""
    frame = pd.DataFrame.from_records(model.closures, columns=CLOSURE_COLUMNS)
    frame["into"] = _none_if_negative(frame["into"].to_numpy(dtype=np.int64))
    return frame


def _none_if_negative(x: np.ndarray) -> pd.Series:
    """Whole numbers where the model's state uses -1 for "none", as a nullable column with that value missing."""
    x = np.asarray(x)
    return pd.Series(pd.arrays.IntegerArray(x.astype(np.int64), x < 0))


def final_summary(model, steps: pd.DataFrame) -> dict[str, Any]:
    """End-of-run figures: the last month's values plus survival, leadership and delivery summaries."""
    o = model.orgs
    now = model.steps
    last = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in steps.iloc[-1].items() if k not in ("date",)}
    out: dict[str, Any] = dict(last)
    out["months"] = now
    out["mcp_contracts_awarded"] = len(model.commissioners.contracts.holder)
    out["mcp_procurements_failed"] = model.commissioners.contracts.failed
    dissolved = o.view("dissolved")
    founded = o.view("founded")
    out["orgs_founded"] = int(o.size)
    out["orgs_dissolved"] = int((dissolved >= 0).sum())
    for cause in DissolutionCause:
        if cause is not DissolutionCause.NONE:
            out[f"orgs_dissolved_{cause.name.lower()}"] = int((o.view("cause") == cause).sum())
    for months in (12, 24, 36):
        share, n = metrics.survival_after_funding(o.view("last_one_off"), dissolved, now, months)
        out[f"survival_{months}m_after_one_off"] = share
        out[f"survival_{months}m_after_one_off_n"] = n
    kind = o.view("leadership")
    for k in LeadershipKind:
        sel = kind == k
        exposure = np.where(dissolved[sel] >= 0, dissolved[sel], now) - founded[sel]
        out[f"orgs_{k.label}"] = int(sel.sum())
        out[f"dissolution_rate_{k.label}_per_year"] = (
            float((dissolved[sel] >= 0).sum() / exposure.sum() * 12) if exposure.sum() > 0 else math.nan
        )
        # past the fragile first two years: the hazard leadership itself carries
        late = np.maximum(exposure - 24, 0)
        out[f"dissolution_rate_{k.label}_after_24m_per_year"] = (
            float(((dissolved[sel] >= 0) & (exposure > 24)).sum() / late.sum() * 12) if late.sum() > 0 else math.nan
        )
    fb = o.view("first_benefit")
    delays = (fb - founded)[fb >= 0]
    out["median_delivery_delay_months"] = float(np.median(delays)) if len(delays) else math.nan
    out["n_closures"] = int(out.pop("n_closures_cum"))
    out["n_mergers"] = int(out.pop("n_mergers_cum"))
    out["leaders_burnt_out"] = int(out.pop("leaders_burnt_out_cum"))
    first = steps.iloc[0]
    years = now / 12
    out["relationships_per_hospital_start"] = float(first["relationships_per_hospital_mean"])
    out["practices_change_per_year"] = (
        float((last["n_practices_open"] / first["n_practices_open"]) ** (1 / years) - 1) if years > 0 else 0.0
    )
    out["population_start"] = float(first["population"])
    out["mean_list_size_start"] = float(first["mean_list_size"])
    return out


def _versions() -> dict[str, str]:
    """Python and the packages whose versions bear on bit-identical results (README: Reproducibility)."""
    import platform
    import sys
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "pandas", "mesa", "networkx"):
        loaded = getattr(sys.modules.get(name), "__version__", None)  # the one that ran, without a search
        try:
            out[name] = loaded if isinstance(loaded, str) else metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
