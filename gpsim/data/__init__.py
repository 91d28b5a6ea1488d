"""Real starting regions from NHS Digital's *Patients Registered at a GP Practice* register.

The region text (``Params.region``) chooses the area and, optionally, the file::

    england                 every practice in the register
    north-east-workshop     a named region (see NAMED_REGIONS or 'gpsim regions')
    00L  /  00L,00N         CCG (sub-ICB location) codes, comma-separated
    00L@path/to/file.csv    any of the above, read from a user's register instead of the bundled one

The ``@PATH`` suffix keeps the whole choice in the one text parameter, so a region is still a deterministic
function of the parameters (and of the file's content); ``gpsim run --register PATH`` adds it for you.

:func:`load_region` builds a :class:`~gpsim.region.Region`: practices with their real list sizes and CCGs,
positions at their postcode district centroid plus a fixed jitter, peer edges by proximity within and across
CCGs, and hospitals as population-weighted catchments of about ``catchment`` patients. docs/DATA.md describes
each step and every messy-data case.
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gpsim.data.balance import balanced_catchments
from gpsim.data.register import (
    BUNDLED_REGISTER,
    RegisterTable,
    _read_cached,
    display_name,
    read_register,
    register_key,
    register_sha256,
)
from gpsim.errors import DataError

if TYPE_CHECKING:
    import pandas as pd
from gpsim.geography import Region, peer_edges

__all__ = [
    "BUNDLED_REGISTER",
    "MIN_LIST_SIZE",
    "NAMED_REGIONS",
    "DataWarning",
    "NamedRegion",
    "ccgs_table",
    "check_region_text",
    "load_region",
    "region_register_sha256",
    "read_register",
    "region_listing",
    "regions_table",
    "split_region",
]

#: Practices with fewer registered patients than this are dropped (with a counted warning): they are closing
#: or just opening, not working practices, and the model would give each a whole GP and close it at once.
MIN_LIST_SIZE = 100


class DataWarning(UserWarning):
    """A data-quality note about a register: rows dropped, positions imputed, encoding guessed."""


@dataclass(frozen=True)
class NamedRegion:
    """A named group of CCGs (codes as in the January 2021 register)."""

    ccgs: tuple[str, ...]
    description: str


#: Areas that can be chosen by name. CCG codes are those of the bundled January 2021 register.
NAMED_REGIONS: dict[str, NamedRegion] = {
    "north-east-workshop": NamedRegion(
        ("00L", "99C", "13T", "00N"),
        "Workshop-sized: four neighbouring Tyneside and Northumberland CCGs (Northumberland, North Tyneside, "
        "Newcastle Gateshead, South Tyneside)",
    ),
    "north-east-and-north-cumbria": NamedRegion(
        ("00L", "99C", "13T", "00N", "00P", "84H", "16C", "01H"),
        "The North East and North Cumbria: Northumberland, Tyneside, Sunderland, County Durham, Tees Valley, "
        "North Cumbria",
    ),
    "west-yorkshire": NamedRegion(
        ("02T", "03A", "03J", "15F", "36J", "03R"),
        "West Yorkshire: Calderdale, Greater Huddersfield, North Kirklees, Leeds, Bradford District and "
        "Craven, Wakefield",
    ),
    "greater-manchester": NamedRegion(
        ("00T", "00V", "01D", "14L", "00Y", "01G", "01W", "01Y", "02A", "02H"),
        "Greater Manchester: the ten borough CCGs",
    ),
    "london": NamedRegion(
        ("93C", "72Q", "36L", "07L", "07T", "08F", "08M", "08N", "08V", "08W")
        + ("07P", "07W", "07Y", "08C", "08E", "08G", "08Y", "09A"),
        "London: North Central, South East and South West London plus the seven north east and eight north "
        "west London CCGs",
    ),
}


def split_region(text: str, register: str | os.PathLike | None = None) -> tuple[str, str | os.PathLike | None]:
    """Split ``SELECTION[@PATH]`` into the selection and the register path (None: the bundled register)."""
    selection, at, path = str(text).partition("@")
    if at:
        if register is not None:
            raise DataError(f"region {text!r} names a register file and a register was also given; give one")
        if not path.strip():
            raise DataError(f"region {text!r}: nothing after '@' (expected a register file path)")
        register = path.strip()
    return selection.strip() or "england", register


def region_beside(text: str, folder: str | os.PathLike) -> str:
    """Region text with a relative ``@PATH`` read from ``folder`` (a file's own folder), not the current one.

    Experiment, parameter and targets files all name registers relative to themselves, so a file means the same
    wherever it is run from. Text without ``@``, or with an absolute or ``~`` path, is returned as it is.
    """
    selection, at, path = str(text).partition("@")
    if not at or not path.strip() or os.path.isabs(os.path.expanduser(path.strip())):
        return text
    return f"{selection}@{os.path.join(folder, path.strip())}"


def _select(table: RegisterTable, selection: str) -> tuple[str, np.ndarray]:
    """A human name and the boolean row mask for a selection."""
    key = selection.strip().lower()
    if key == "england":
        return "England", np.ones(len(table), dtype=bool)
    if key in NAMED_REGIONS:
        codes = list(NAMED_REGIONS[key].ccgs)
        label = key
    else:
        codes = [c.strip().upper() for c in selection.split(",") if c.strip()]
        label = None
        if not codes:
            raise DataError(f"region {selection!r}: no CCG codes given")
    known = set(np.unique(table.ccg_code).tolist())
    unknown = [c for c in codes if c not in known]
    if unknown:
        if label is not None:
            raise DataError(
                f"region {label!r} needs CCG{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}, not in register "
                f"{table.source} (named regions use January 2021 CCG codes)"
            )
        hint = "" if len(codes) > 1 or "," in selection else " and is not 'england' or a named region"
        verb = "is not a CCG code" if len(unknown) == 1 else "are not CCG codes"
        raise DataError(
            f"region {selection!r}: {', '.join(unknown)} {verb} in register {table.source}{hint} "
            "(see 'gpsim regions --ccgs')"
        )
    name = label or ("CCG " if len(codes) == 1 else "CCGs ") + ", ".join(codes)
    return name, np.isin(table.ccg_code, codes)


def _hospital_names(place: np.ndarray, weight: np.ndarray, hospital: np.ndarray, n: int) -> np.ndarray:
    """'Hospital near <town>': the town with most patients in each catchment; repeats numbered (2), (3)..."""
    import pandas as pd

    df = pd.DataFrame({"h": hospital, "place": place, "w": weight})
    df["place"] = df["place"].where(df["place"] != "", "unknown")
    top = df.groupby(["h", "place"], sort=True)["w"].sum().reset_index()
    top = top.sort_values(["h", "w", "place"], ascending=[True, False, True]).drop_duplicates("h")
    towns = top.set_index("h")["place"].reindex(np.arange(n)).fillna("unknown")
    names = []
    seen: dict[str, int] = {}
    for t in towns:
        seen[t] = seen.get(t, 0) + 1
        names.append(f"Hospital near {t}" + (f" ({seen[t]})" if seen[t] > 1 else ""))
    return np.array(names)


def _readonly(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.setflags(write=False)


#: The modules whose code decides a built region (their source is part of the disk-cache key).
BUILDER_MODULES = ("gpsim.data", "gpsim.data.register", "gpsim.data.balance", "gpsim.geography")
#: Region fields stored as arrays in a disk-cache entry (the rest are text, stored as 0-d or 1-d text arrays).
_ARRAY_FIELDS = (
    "practice_code",
    "list_size",
    "x",
    "y",
    "ccg",
    "hospital",
    "ccg_code",
    "hospital_name",
    "hospital_xy",
    "peer_edges",
)


@functools.lru_cache(maxsize=16)
def _build(
    key: tuple, source: str, selection: str, catchment: float, peer_degree: int, seed: int, min_list_size: int
) -> Region:
    """The region, from the disk cache when an entry for this register content, selection and code exists."""
    from gpsim import cache

    disk_key = (key[0], source, selection, catchment, peer_degree, seed, min_list_size)
    disk_key += (cache.code_fingerprint(BUILDER_MODULES),)
    stored = cache.load("region", disk_key)
    if stored is not None:
        region = _region_from_arrays(stored, key[0])
        if region is not None:
            return region
    region = _construct(key, source, selection, catchment, peer_degree, seed, min_list_size)
    cache.save("region", disk_key, _region_to_arrays(region))
    return region


def _region_to_arrays(region: Region) -> dict[str, np.ndarray]:
    arrays = {name: np.asarray(getattr(region, name)) for name in _ARRAY_FIELDS}
    arrays["name"] = np.array(region.name)
    arrays["source"] = np.array(region.source)
    arrays["warnings"] = np.array(region.warnings, dtype=str)
    return arrays


def _region_from_arrays(arrays: dict[str, np.ndarray], register_sha256: str) -> Region | None:
    """A Region from a disk-cache entry; None if the entry does not have the expected fields and shapes."""
    try:
        fields = {name: arrays[name] for name in _ARRAY_FIELDS}
        n = len(fields["list_size"])
        if any(len(fields[f]) != n for f in ("practice_code", "x", "y", "ccg", "hospital")):
            return None
        _readonly(*fields.values())
        return Region(
            name=str(arrays["name"]),
            source=str(arrays["source"]),
            warnings=tuple(str(w) for w in arrays["warnings"]),
            register_sha256=register_sha256,
            **fields,
        )
    except (KeyError, TypeError, ValueError):
        return None


def _construct(
    key: tuple, source: str, selection: str, catchment: float, peer_degree: int, seed: int, min_list_size: int
) -> Region:
    table = _read_cached(key, source)
    name, mask = _select(table, selection)
    notes = list(table.notes)
    tiny = mask & (table.list_size < min_list_size)
    if tiny.any():
        notes.append(
            f"{table.source}: dropped {int(tiny.sum())} practice{'s' if tiny.sum() > 1 else ''} with fewer than "
            f"{min_list_size} registered patients ({int(table.list_size[tiny].sum()):,} patients): "
            f"{', '.join(table.code[tiny][:8])}{' ...' if tiny.sum() > 8 else ''}"
        )
    keep = mask & ~tiny
    if not keep.any():
        raise DataError(f"region {selection!r}: no practice with at least {min_list_size} patients in {table.source}")
    imp = keep & table.imputed
    if imp.any():
        notes.append(
            f"{table.source}: {int(imp.sum())} practice{'s' if imp.sum() > 1 else ''} with a postcode district not "
            f"in the centroid table ({', '.join(sorted(set(table.district[imp])))}) placed at the centre of their CCG: "
            f"{', '.join(table.code[imp][:8])}{' ...' if imp.sum() > 8 else ''}"
        )
    idx = np.flatnonzero(keep)
    x, y = table.x[idx].copy(), table.y[idx].copy()
    list_size = table.list_size[idx].copy()
    ccg_code, ccg = np.unique(table.ccg_code[idx], return_inverse=True)
    ccg = ccg.astype(np.int64)
    hospital, hxy = balanced_catchments(x, y, list_size, catchment, np.random.default_rng(seed))
    hospital_name = _hospital_names(table.place[idx], list_size, hospital, len(hxy))
    edges = peer_edges(x, y, ccg, peer_degree)
    code = table.code[idx].copy()
    _readonly(code, list_size, x, y, ccg, hospital, ccg_code, hospital_name, hxy, edges)
    return Region(
        name=name,
        practice_code=code,
        list_size=list_size,
        x=x,
        y=y,
        ccg=ccg,
        hospital=hospital,
        ccg_code=ccg_code,
        hospital_name=hospital_name,
        hospital_xy=hxy,
        peer_edges=edges,
        source=table.description,
        warnings=tuple(notes),
        register_sha256=key[0],
    )


def load_region(
    name: str,
    catchment: float = 300_000.0,
    peer_degree: int = 6,
    seed: int = 0,
    register: str | os.PathLike | None = None,
    min_list_size: int = MIN_LIST_SIZE,
) -> Region:
    """Build a starting :class:`~gpsim.region.Region` from a GP practice register.

    Args:
        name: ``england``, a key of :data:`NAMED_REGIONS`, or CCG codes separated by commas (``00L,00N``),
            optionally followed by ``@PATH`` to read that register file instead of the bundled one.
        catchment: patients per hospital catchment (population-weighted k-means with round(total / catchment)
            centres).
        peer_degree: each practice's nearest practices in its CCG (``peer_degree - 1``) plus its nearest anywhere.
        seed: seeds the catchment clustering; same file and seed give identical regions.
        register: a register CSV (2021 ``CCG_CODE`` or post-2022 ``SUB_ICB_LOCATION_CODE`` layout, optionally
            gzipped); None for the bundled January 2021 register.
        min_list_size: practices with fewer patients are dropped (counted in ``Region.warnings``).

    Data-quality notes are kept in ``Region.warnings`` and issued as :class:`DataWarning`. Unusable input
    raises :class:`~gpsim.errors.DataError` with a one-line message naming the file, line and problem.
    """
    selection, register = split_region(name, register)
    region = _build(
        register_key(register),
        display_name(register),
        selection,
        float(catchment),
        int(peer_degree),
        int(seed),
        int(min_list_size),
    )
    for note in region.warnings:
        warnings.warn(note, DataWarning, stacklevel=2)
    return region


def region_register_sha256(text: str) -> str:
    """The SHA-256 of the register a region text reads (its ``@PATH``, else the bundled register)."""
    _, register = split_region(text)
    return register_sha256(register)


def check_region_text(text: str) -> None:
    """Refuse region text naming a missing or unusable register file or an unknown CCG or named region.

    Cheap (the register is read once and cached; no catchments are built), so experiments check every
    region they will use before any run starts.
    """
    selection, register = split_region(text)
    _select(read_register(register), selection)


def ccgs_table(register: str | os.PathLike | None = None, min_list_size: int = MIN_LIST_SIZE) -> pd.DataFrame:
    """Every CCG in a register: code, practices, population (after dropping tiny lists) and main county."""
    import pandas as pd

    from gpsim.data.register import postcode_districts

    t = read_register(register)
    keep = t.list_size >= min_list_size
    county = postcode_districts()["county"].reindex(t.district).fillna("").to_numpy()
    df = pd.DataFrame({"ccg": t.ccg_code, "w": np.where(keep, t.list_size, 0), "keep": keep, "county": county})
    out = df.groupby("ccg").agg(practices=("keep", "sum"), population=("w", "sum"))
    counties = df[df["county"] != ""].groupby(["ccg", "county"])["w"].sum().reset_index()
    counties = counties.sort_values(["ccg", "w", "county"], ascending=[True, False, True]).drop_duplicates("ccg")
    out["area"] = counties.set_index("ccg")["county"].reindex(out.index).fillna("")
    return out.reset_index().astype({"practices": "int64", "population": "int64"})


def region_listing(register: str | os.PathLike | None = None, min_list_size: int = MIN_LIST_SIZE) -> dict:
    """What ``gpsim regions`` shows, as plain data: the register's description and layout, the rows of
    :func:`regions_table` and of :func:`ccgs_table`. Kept in the disk cache (keyed by the register's content),
    so listing the regions does not read the register and load pandas every time."""
    import json

    from gpsim import cache

    key = (register_sha256(register), display_name(register), int(min_list_size))
    key += (cache.code_fingerprint(BUILDER_MODULES),)
    stored = cache.load("listing", key)
    if stored is not None and "json" in stored:
        try:
            listing = json.loads(str(stored["json"]))
        except ValueError:
            listing = None
        if isinstance(listing, dict) and {"description", "layout", "regions", "ccgs"} <= listing.keys():
            return listing
    table = read_register(register)
    listing = {
        "description": table.description,
        "layout": table.layout,
        "regions": regions_table(register, min_list_size).to_dict("records"),
        "ccgs": ccgs_table(register, min_list_size).to_dict("records"),
    }
    listing = json.loads(json.dumps(listing, default=lambda v: v.item()))  # numpy scalars to plain numbers
    cache.save("listing", key, {"json": np.array(json.dumps(listing))})
    return listing


def regions_table(register: str | os.PathLike | None = None, min_list_size: int = MIN_LIST_SIZE) -> pd.DataFrame:
    """What can be chosen by name: england and each named region, with CCGs, practices and population."""
    import pandas as pd

    ccgs = ccgs_table(register, min_list_size).set_index("ccg")
    rows = [
        dict(
            name="england",
            kind="all",
            ccgs=len(ccgs),
            practices=int(ccgs["practices"].sum()),
            population=int(ccgs["population"].sum()),
            description="Every practice in the register",
        )
    ]
    for key, reg in NAMED_REGIONS.items():
        have = ccgs.reindex(list(reg.ccgs))
        if have["practices"].isna().any():
            continue  # a user's register without these CCGs
        rows.append(
            dict(
                name=key,
                kind="named",
                ccgs=len(reg.ccgs),
                practices=int(have["practices"].sum()),
                population=int(have["population"].sum()),
                description=reg.description + " (" + ",".join(reg.ccgs) + ")",
            )
        )
    return pd.DataFrame(rows)
