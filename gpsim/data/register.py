"""Reading a GP practice register: NHS Digital's *Patients Registered at a GP Practice* CSV.

:func:`read_register` turns a file (the bundled January 2021 register, or a user's own, in the 2021 layout
with ``CCG_CODE`` or the post-2022 layout with ``SUB_ICB_LOCATION_CODE``) into a clean
:class:`RegisterTable`: one row per practice with its code, CCG, list size and position. Every problem in
the file is either kept and noted, dropped with a counted note, or refused with one
:class:`~gpsim.errors.DataError` line naming the file, the line and the problem (docs/DATA.md has the
table of cases).
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import itertools
import os
import re
import warnings
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gpsim.data.files import read_limited, size_text
from gpsim.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

#: The register bundled with gpsim: NHS Digital, Patients Registered at a GP Practice, January 2021.
BUNDLED_REGISTER = "gp-reg-pat-prac-all-2021-01.csv.gz"
#: Postcode district (outward code) centroids, OSGB eastings/northings in metres.
POSTCODE_DISTRICTS = "postcode-districts.csv.gz"

#: Practices sharing a postcode district are spread uniformly over a disc of this radius (km) around its
#: centroid, at a position fixed by a hash of the practice code.
JITTER_KM = 1.0

#: Accepted names for each column the loader needs (headers are compared stripped and upper-cased).
COLUMNS = {
    "code": ("CODE", "PRACTICE_CODE", "ORG_CODE"),
    "ccg": ("SUB_ICB_LOCATION_CODE", "CCG_CODE", "SUB_ICB_LOC_CODE"),
    "postcode": ("POSTCODE",),
    "patients": ("NUMBER_OF_PATIENTS",),
}
#: Breakdown columns: when present only rows with this value are read (the all-persons total per practice).
TOTAL_ROWS = {"SEX": "ALL", "AGE": "ALL"}

#: Largest register accepted, in bytes (after decompression). NHS Digital's all-persons file is under 1 MB and
#: its largest breakdown (single year of age) about 300 MB; anything bigger is refused before it is read,
#: rather than exhausting memory.
MAX_REGISTER_BYTES = 1 << 30

#: Largest list size believed (more than any English practice, or city, has): larger counts are refused as
#: corrupt rather than silently overflowing.
MAX_LIST_SIZE = 10_000_000

_LAYOUT = (
    "expected NHS Digital's 'Patients Registered at a GP Practice' CSV with columns CODE, CCG_CODE "
    "(or SUB_ICB_LOCATION_CODE), POSTCODE and NUMBER_OF_PATIENTS"
)


@dataclass(frozen=True, eq=False)
class RegisterTable:
    """One clean row per practice, in file order.

    Attributes:
        source: file name shown in messages.
        description: file name plus its extract date, when the file has one.
        code, ccg_code, district: practice code, CCG (sub-ICB location) code and postcode district, (N,).
        list_size: registered patients, int64, (N,).
        x, y: position in km (district centroid plus jitter), (N,).
        imputed: True where the district was not in the centroid table and the position was imputed, (N,).
        place: the district's town (or county when the table has no town), for naming hospitals, (N,).
        notes: file-level data-quality notes (duplicates dropped, encoding guessed...).
        layout: ``"CCG_CODE"`` or ``"SUB_ICB_LOCATION_CODE"``: which layout the file used.
    """

    source: str
    description: str
    code: np.ndarray
    ccg_code: np.ndarray
    district: np.ndarray
    list_size: np.ndarray
    x: np.ndarray
    y: np.ndarray
    imputed: np.ndarray
    place: np.ndarray
    notes: tuple[str, ...]
    layout: str

    def __len__(self) -> int:
        return len(self.code)


def _data_path(name: str) -> Path:
    return Path(str(resources.files("gpsim.data").joinpath(name)))


def _register_path(path: str | os.PathLike | None) -> Path:
    return _data_path(BUNDLED_REGISTER) if path is None else Path(path).expanduser()


def _register_bytes(path: str | os.PathLike | None) -> tuple[bytes, str]:
    """A register file's bytes and their SHA-256 (hex): regular files only, at most MAX_REGISTER_BYTES."""
    raw = read_limited(_register_path(path), MAX_REGISTER_BYTES, "register file", DataError)
    return raw, hashlib.sha256(raw).hexdigest()


def register_key(path: str | os.PathLike | None) -> tuple[str, str]:
    """What identifies a register: the SHA-256 of its content, and its resolved path (for reading it).

    The content, not the name or the file's times, is the identity, so an edited register is read again by the
    same process (a notebook, the UI server, a long-lived Dask worker) and two registers are never mixed.
    """
    _, digest = _register_bytes(path)
    return digest, str(_register_path(path).resolve())


def register_sha256(path: str | os.PathLike | None) -> str:
    """The SHA-256 (hex) of a register file's content (None: the bundled register)."""
    return _register_bytes(path)[1]


def _size(n: int) -> str:
    return size_text(n)


def _gunzip(raw: bytes, name: str) -> bytes:
    """Decompress gzip data, refusing damaged files and anything that expands beyond MAX_REGISTER_BYTES."""
    out = []
    size = 0
    data = raw
    try:
        while data:  # concatenated gzip members are one file
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while data:
                chunk = d.decompress(data, 1 << 24)
                size += len(chunk)
                if size > MAX_REGISTER_BYTES:
                    raise DataError(
                        f"register file {name}: expands to more than {_size(MAX_REGISTER_BYTES)} when decompressed"
                    )
                out.append(chunk)
                data = d.unconsumed_tail
                if d.eof:
                    break
            if not d.eof:
                raise DataError(f"register file {name}: damaged gzip file (truncated)")
            data = d.unused_data
            if data and data[:2] != b"\x1f\x8b":
                break  # trailing garbage after the last member is ignored, as gzip does
    except zlib.error as err:
        raise DataError(f"register file {name}: damaged gzip file ({err})") from None
    return b"".join(out)


def read_register(path: str | os.PathLike | None = None) -> RegisterTable:
    """Read and clean a register (the bundled January 2021 one by default). Cached per file content."""
    return _read_cached(register_key(path), display_name(path))


def display_name(path: str | os.PathLike | None) -> str:
    """How messages name a register: the bundled file by its published name, a user's file as given."""
    return BUNDLED_REGISTER.removesuffix(".gz") if path is None else str(path)


# --- decoding -------------------------------------------------------------------------------------


def _decode(raw: bytes, name: str) -> tuple[str, list[str]]:
    """Bytes to text: gzip, UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 with a note."""
    notes: list[str] = []
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip(raw, name)
    if raw[:4] == b"PK\x03\x04":
        raise DataError(f"register file {name}: is a zip or Excel workbook, not CSV text; save it as CSV first")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), notes
        except UnicodeDecodeError as err:
            raise DataError(f"register file {name}: unreadable UTF-16 text ({err.reason})") from None
    if b"\x00" in raw[:65536]:
        raise DataError(f"register file {name}: unreadable encoding (binary data, not CSV text)")
    try:
        return raw.decode("utf-8-sig"), notes
    except UnicodeDecodeError as err:
        bad = err.start
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        line = raw[:bad].count(b"\n") + 1
        raise DataError(
            f"register file {name}, line {line}: unreadable encoding (byte 0x{raw[bad]:02x} is neither UTF-8 "
            "nor Windows-1252)"
        ) from None
    line = raw[:bad].count(b"\n") + 1
    notes.append(f"{name}: not UTF-8 (first odd byte on line {line}); read as Windows-1252")
    return text, notes


# --- parsing ----------------------------------------------------------------------------------------


def _fmt_list(items, limit: int = 6) -> str:
    items = [str(i) for i in items]
    head = ", ".join(items[:limit])
    return head + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _pick(columns: list[str], names: tuple[str, ...]) -> str | None:
    for n in names:
        if n in columns:
            return n
    return None


_NUMBER = re.compile(r"^\s*\d{1,3}(,\d{3})+\s*$")


def _parse_counts(values: pd.Series, lines: np.ndarray, codes: pd.Series, name: str) -> np.ndarray:
    """Patient counts as int64; thousands separators and integral decimals accepted, anything else refused."""
    import pandas as pd

    text = values.str.strip()
    grouped = text.str.match(_NUMBER)
    text = text.where(~grouped, text.str.replace(",", "", regex=False))
    num = pd.to_numeric(text, errors="coerce")
    bad = num.isna().to_numpy() | ~np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        shown = values.iloc[i]
        what = "is empty" if not str(shown).strip() else f"is not a number: {shown!r}"
        raise DataError(
            f"register file {name}, line {lines[i]}: NUMBER_OF_PATIENTS {what} (practice {codes.iloc[i] or '?'})"
            + (f"; {int(bad.sum())} such rows in all" if bad.sum() > 1 else "")
        )
    arr = num.to_numpy(dtype=float)
    frac = arr != np.floor(arr)
    neg = arr < 0
    huge = arr > MAX_LIST_SIZE
    for mask, what in (
        (neg, "is negative"),
        (frac, "is not a whole number"),
        (huge, f"is implausibly large (over {MAX_LIST_SIZE:,})"),
    ):
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            raise DataError(
                f"register file {name}, line {lines[i]}: NUMBER_OF_PATIENTS {what}: {values.iloc[i]!r} "
                f"(practice {codes.iloc[i]})"
            )
    return arr.astype(np.int64)


def _parse(text: str, name: str) -> tuple[pd.DataFrame, list[str], str, str]:
    """Text to a frame of code, ccg, postcode, patients plus a ``line`` column; raises DataError on bad files."""
    import pandas as pd

    notes: list[str] = []
    if not text.strip():
        raise DataError(f"register file {name}: empty file")
    try:
        with warnings.catch_warnings():
            # index_col=False: a first data row with more fields than the header must not silently become an
            # index (shifting every column by one); pandas warns instead, and that warning is a refusal
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(
                io.StringIO(text),
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                skipinitialspace=True,
                index_col=False,
            )
    except pd.errors.ParserWarning:
        try:
            rows = [r for r in itertools.islice(csv.reader(io.StringIO(text, newline="")), 50) if r][:2]
            header, first = (len(r) for r in rows)
            counted = f"{first} fields where the header has {header}"
        except (csv.Error, ValueError):
            counted = "more fields than the header"
        raise DataError(f"register file {name}, line 2: {counted}") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"register file {name}: empty file") from None
    except pd.errors.ParserError as err:
        msg = str(err).strip().splitlines()[-1]
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        eof = re.search(r"EOF inside string starting at row (\d+)", msg)
        if m:
            msg = f"line {m.group(2)}: {m.group(3)} fields where the header has {m.group(1)}"
        elif eof:  # pandas counts data rows from 0; the header is line 1
            msg = f"line {int(eof.group(1)) + 2}: a quoted field is never closed (was the file cut short?)"
        raise DataError(f"register file {name}, {msg}") from None
    df.columns = [str(c).strip().upper() for c in df.columns]
    cols = list(df.columns)
    picked = {key: _pick(cols, names) for key, names in COLUMNS.items()}
    missing = [names[0] if key != "ccg" else "CCG_CODE (or SUB_ICB_LOCATION_CODE)" for key, names in COLUMNS.items()
               if picked[key] is None]  # fmt: skip
    if missing:
        if len(missing) == len(COLUMNS):
            found = _fmt_list(cols, 5)
            raise DataError(f"register file {name}: wrong layout (header is {found}); {_LAYOUT}")
        raise DataError(f"register file {name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    df = df.fillna("")
    df["line"] = np.arange(len(df)) + 2  # the header is line 1
    # blank lines (every field empty) carry nothing: ignore them
    blank = (df[cols] == "").all(axis=1)
    df = df[~blank]
    if df.empty:
        raise DataError(f"register file {name}: no data rows (only a header)")
    # breakdown files: keep the all-persons total rows
    # (an empty SEX or AGE cell is read as a total; a short row is then caught by the checks below)
    skipped = 0
    for col, value in TOTAL_ROWS.items():
        if col in df.columns:
            cell = df[col].str.strip().str.upper()
            keep = (cell == value) | (cell == "")
            if not (cell == value).any():
                raise DataError(
                    f"register file {name}: no rows with {col}={value}; use the all-persons file "
                    "(gp-reg-pat-prac-all.csv), not an age or sex breakdown"
                )
            skipped += int((~keep).sum())
            df = df[keep]
    if skipped:
        notes.append(f"{name}: read only the SEX=ALL, AGE=ALL total rows ({skipped} breakdown rows skipped)")
    out = pd.DataFrame(
        {
            "code": df[picked["code"]].str.strip().str.upper(),
            "ccg": df[picked["ccg"]].str.strip().str.upper(),
            "postcode": df[picked["postcode"]].str.strip().str.upper(),
            "patients_text": df[picked["patients"]],
            "line": df["line"],
        }
    )
    for key, label in (("code", picked["code"]), ("ccg", picked["ccg"])):
        empty = (out[key] == "").to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise DataError(
                f"register file {name}, line {out['line'].iloc[i]}: {label} is empty"
                + (f"; {int(empty.sum())} such rows in all" if empty.sum() > 1 else "")
            )
    for key, label in (("code", picked["code"]), ("ccg", picked["ccg"]), ("postcode", picked["postcode"])):
        odd = out[key].str.contains(r"[\x00-\x1f\x7f]", regex=True).to_numpy()
        if odd.any():
            i = int(np.flatnonzero(odd)[0])
            raise DataError(
                f"register file {name}, line {out['line'].iloc[i]}: {label} holds a line break or control "
                f"character: {out[key].iloc[i][:40]!r}"
            )
    # exact duplicates are harmless: drop them, counted; a practice listed twice differently is refused
    dup = out.duplicated(["code", "ccg", "postcode", "patients_text"])
    if dup.any():
        notes.append(
            f"{name}: dropped {int(dup.sum())} exact duplicate row{'s' if dup.sum() > 1 else ''} "
            f"(lines {_fmt_list(out['line'][dup])})"
        )
        out = out[~dup]
    clash = out.duplicated("code", keep=False)
    if clash.any():
        first = out[clash].iloc[0]
        lines = out["line"][out["code"] == first["code"]].tolist()
        raise DataError(
            f"register file {name}, lines {_fmt_list(lines)}: practice {first['code']} appears "
            f"{len(lines)} times with different values"
        )
    out["patients"] = _parse_counts(out["patients_text"], out["line"].to_numpy(), out["code"], name)
    layout = "SUB_ICB_LOCATION_CODE" if picked["ccg"] != "CCG_CODE" else "CCG_CODE"
    date = ""
    if "EXTRACT_DATE" in df.columns:
        dates = df["EXTRACT_DATE"].str.strip().unique()
        if len(dates) == 1 and dates[0]:
            date = dates[0]
    return out.drop(columns="patients_text").reset_index(drop=True), notes, layout, date


# --- positions ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def postcode_districts() -> pd.DataFrame:
    """The bundled postcode district centroid table, indexed by district, with x, y in km and a place name."""
    import pandas as pd

    pc = pd.read_csv(_data_path(POSTCODE_DISTRICTS), dtype=str, keep_default_na=False)
    pc["district"] = pc["postcode"].str.strip().str.upper()
    pc["x"] = pd.to_numeric(pc["easting"]) / 1000.0
    pc["y"] = pd.to_numeric(pc["northing"]) / 1000.0
    city = pc["city"].str.strip()
    # a few 'city' cells hold an address or nothing: fall back to the county
    city = city.where((city != "") & ~city.str.match(r"^\d"), pc["county"].str.strip())
    pc["place"] = city
    pc["area"] = pc["district"].str.extract(r"^([A-Z]+)", expand=False)
    return pc.drop_duplicates("district").set_index("district")[["x", "y", "place", "area", "county", "country_code"]]


def outward_code(postcode: pd.Series) -> pd.Series:
    """The district (outward code) of each postcode: the part before the space, or all but the last 3."""
    pc = postcode.str.replace(r"\s+", " ", regex=True).str.strip()
    spaced = pc.str.contains(" ", regex=False)
    head = pc.str.split(" ", n=1).str[0]
    tail = pc.str[:-3].where(pc.str.len() >= 5, pc)
    return head.where(spaced, tail)


def jitter(codes: np.ndarray, radius: float = JITTER_KM) -> tuple[np.ndarray, np.ndarray]:
    """A fixed offset per practice code, uniform on a disc of ``radius`` km (independent of any seed)."""
    h = np.array(
        [int.from_bytes(hashlib.blake2b(c.encode(), digest_size=8).digest(), "little") for c in codes],
        dtype=np.uint64,
    )
    u = (h >> np.uint64(32)).astype(float) / 2**32
    v = (h & np.uint64(0xFFFFFFFF)).astype(float) / 2**32
    r = radius * np.sqrt(u)
    return r * np.cos(2 * np.pi * v), r * np.sin(2 * np.pi * v)


@functools.lru_cache(maxsize=8)
def _read_cached(key: tuple[str, str], name: str) -> RegisterTable:
    import pandas as pd

    digest, path = key
    raw, now = _register_bytes(path)
    if now != digest:
        raise DataError(f"register file {name}: changed while it was being read; try again")
    text, notes = _decode(raw, name)
    df, more, layout, date = _parse(text, name)
    tail = text.rstrip(" \t")
    if tail and not tail.endswith(("\n", "\r")):
        notes.append(
            f"{name}: the file does not end with a line break, so it may have been cut short; "
            f"check its last row (line {text.count(chr(10)) + 1}, practice {df['code'].iloc[-1]})"
        )
    notes += more

    pc = postcode_districts()
    district = outward_code(df["postcode"])
    found = district.isin(pc.index).to_numpy()
    x = np.full(len(df), np.nan)
    y = np.full(len(df), np.nan)
    place = np.full(len(df), "", dtype=object)
    loc = pc.reindex(district[found])
    x[found], y[found], place[found] = loc["x"].to_numpy(), loc["y"].to_numpy(), loc["place"].to_numpy()
    # districts missing from the table: the CCG's patient-weighted centre, else the postcode area's centre
    imputed = ~found
    if imputed.any():
        w = df["patients"].to_numpy(dtype=float)
        g = pd.DataFrame({"ccg": df["ccg"], "wx": w * x, "wy": w * y, "w": np.where(found, w, 0.0)})[found]
        cen = g.groupby("ccg")[["wx", "wy", "w"]].sum()
        cen = cen[cen["w"] > 0]
        cx = (cen["wx"] / cen["w"]).reindex(df["ccg"][imputed]).to_numpy()
        cy = (cen["wy"] / cen["w"]).reindex(df["ccg"][imputed]).to_numpy()
        area = district[imputed].str.extract(r"^([A-Z]+)", expand=False)
        acen = pc.groupby("area")[["x", "y"]].mean()
        ax = acen["x"].reindex(area).to_numpy()
        ay = acen["y"].reindex(area).to_numpy()
        x[imputed] = np.where(np.isnan(cx), ax, cx)
        y[imputed] = np.where(np.isnan(cy), ay, cy)
        # name the place after the CCG's most common town
        towns = pd.DataFrame({"ccg": df["ccg"][found], "place": place[found]})
        town = towns.groupby("ccg")["place"].agg(lambda s: s.mode().iloc[0] if len(s) else "")
        place[imputed] = town.reindex(df["ccg"][imputed]).fillna("").to_numpy()
    nowhere = np.isnan(x)
    if nowhere.any():
        i = int(np.flatnonzero(nowhere)[0])
        raise DataError(
            f"register file {name}, line {df['line'].iloc[i]}: cannot place practice {df['code'].iloc[i]}: "
            f"postcode {df['postcode'].iloc[i]!r} is not a known district and its CCG has no placed practice"
            + (f"; {int(nowhere.sum())} such rows in all" if nowhere.sum() > 1 else "")
        )
    code = df["code"].to_numpy(dtype=str)
    jx, jy = jitter(code)
    desc = name + (f" (extract date {date})" if date else "")
    return RegisterTable(
        source=name,
        description=desc,
        code=code,
        ccg_code=df["ccg"].to_numpy(dtype=str),
        district=district.to_numpy(dtype=str),
        list_size=df["patients"].to_numpy(dtype=np.int64),
        x=x + jx,
        y=y + jy,
        imputed=imputed,
        place=place.astype(str),
        notes=tuple(notes),
        layout=layout,
    )
