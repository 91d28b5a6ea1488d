"""What makes a real area's map recognisable: outlines, town names, practice and CCG names.

All of it is made from files shipped in ``gpsim/data`` (no map tiles, no internet): the outline of England and of
the area are drawn around the postcode-district centroids (the edges of a Delaunay triangulation that border only
one short-edged triangle), town names are the districts' main places weighted by patients, and practice names
come from the NHS practice register (``practice-names.csv.gz``).
"""

from __future__ import annotations

import functools
import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent.parent / "data"

#: CCG names for the codes of the named areas (January 2021 register); other CCGs are named after their
#: largest town.
CCG_NAMES = {
    "00L": "Northumberland",
    "99C": "North Tyneside",
    "13T": "Newcastle Gateshead",
    "00N": "South Tyneside",
    "00P": "Sunderland",
    "84H": "County Durham",
    "16C": "Tees Valley",
    "01H": "North Cumbria",
    "02T": "Calderdale",
    "03A": "Greater Huddersfield",
    "03J": "North Kirklees",
    "15F": "Leeds",
    "36J": "Bradford District and Craven",
    "03R": "Wakefield",
    "00T": "Bolton",
    "00V": "Bury",
    "01D": "Heywood, Middleton and Rochdale",
    "14L": "Manchester",
    "00Y": "Oldham",
    "01G": "Salford",
    "01W": "Stockport",
    "01Y": "Tameside and Glossop",
    "02A": "Trafford",
    "02H": "Wigan Borough",
    "93C": "North Central London",
    "72Q": "South East London",
    "36L": "South West London",
    "07L": "Barking and Dagenham",
    "07T": "City and Hackney",
    "08F": "Havering",
    "08M": "Newham",
    "08N": "Redbridge",
    "08V": "Tower Hamlets",
    "08W": "Waltham Forest",
    "07P": "Brent",
    "07W": "Ealing",
    "07Y": "Hounslow",
    "08C": "Hammersmith and Fulham",
    "08E": "Harrow",
    "08G": "Hillingdon",
    "08Y": "West London",
    "09A": "Central London (Westminster)",
}


@functools.lru_cache(maxsize=1)
def districts() -> pd.DataFrame:
    """England's postcode districts: x, y (km), place."""
    from gpsim.data.register import postcode_districts

    pc = postcode_districts()
    return pc[pc["country_code"] == "ENG"][["x", "y", "place"]].copy()


@functools.lru_cache(maxsize=1)
def practice_names() -> dict[str, str]:
    """Practice code -> name (title case) from the shipped register extract; empty if it is missing."""
    path = DATA / "practice-names.csv.gz"
    if not path.exists():
        return {}
    with gzip.open(path, "rb") as fh:
        table = pd.read_csv(io.BytesIO(fh.read()), dtype=str, keep_default_na=False)
    return dict(zip(table["code"], table["name"].map(_title), strict=True))


def _title(name: str) -> str:
    small = {"And", "Of", "The", "At", "In", "On"}
    words = [w.capitalize() if w.isalpha() else w.title() for w in name.split()]
    words = [w.lower() if w in small and k else w for k, w in enumerate(words)]
    return " ".join(words).replace("'S ", "'s ")


def _nearest(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    from scipy.spatial import cKDTree

    d = districts()
    tree = cKDTree(np.column_stack([d["x"].to_numpy(), d["y"].to_numpy()]))
    return tree.query(np.column_stack([px, py]))[1]


def ccg_names(reg) -> list[str]:
    """A name for each CCG: known names, else "CCG <code> (<largest town>)"; codes for a made-up area."""
    codes = [str(c) for c in reg.ccg_code]
    if reg.source == "synthetic":
        return [f"CCG {c}" for c in codes]
    cached = getattr(reg, "_ui_ccg_names", None)
    if cached is not None:
        return cached
    places = districts()["place"].to_numpy()[_nearest(reg.x, reg.y)]
    frame = pd.DataFrame({"ccg": reg.ccg, "place": places, "w": reg.list_size})
    top = frame.groupby(["ccg", "place"])["w"].sum().reset_index().sort_values("w", ascending=False)
    main = top.drop_duplicates("ccg").set_index("ccg")["place"]
    out = [CCG_NAMES.get(c) or f"CCG {c} ({main.get(k, '')})".replace(" ()", "") for k, c in enumerate(codes)]
    object.__setattr__(reg, "_ui_ccg_names", out)
    return out


def practice_labels(reg, ccg_name: list[str]) -> list[str]:
    """Hover text per practice: "Name (code), 7,300 patients, CCG"."""
    names = practice_names() if reg.source != "synthetic" else {}
    out = []
    for i, code in enumerate(reg.practice_code):
        who = names.get(str(code))
        head = f"{who} ({code})" if who else f"Practice {code}"
        out.append(f"{head}, {int(reg.list_size[i]):,} patients, {ccg_name[int(reg.ccg[i])]}")
    return out


def _boundary(points: np.ndarray, max_edge: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Edges on the outside of the points: the border of the Delaunay triangles whose edges are all short."""
    from scipy.spatial import Delaunay, QhullError

    if len(points) < 4:
        return []
    try:
        tri = Delaunay(points)
    except (QhullError, ValueError):
        return []
    s = tri.simplices
    a, b, c = points[s[:, 0]], points[s[:, 1]], points[s[:, 2]]
    longest = np.max(
        [np.hypot(*(a - b).T), np.hypot(*(b - c).T), np.hypot(*(c - a).T)],
        axis=0,
    )
    keep = s[longest <= max_edge]
    if not len(keep):
        return []
    edges = np.sort(np.concatenate([keep[:, [0, 1]], keep[:, [1, 2]], keep[:, [2, 0]]]), axis=1)
    uniq, count = np.unique(edges, axis=0, return_counts=True)
    border = uniq[count == 1]
    return [(points[i], points[j]) for i, j in border]


@functools.lru_cache(maxsize=1)
def england_outline() -> list[tuple[np.ndarray, np.ndarray]]:
    d = districts()
    return _boundary(np.column_stack([d["x"].to_numpy(), d["y"].to_numpy()]), max_edge=45.0)


def outline_segments(reg, *, aggregated: bool) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """[the area's outline, England's outline] (England alone for all England)."""
    eng = england_outline()
    if aggregated and reg.n_practices > 5000:
        return [eng]
    near = np.unique(_nearest(reg.x, reg.y))
    d = districts()
    pts = np.column_stack([d["x"].to_numpy()[near], d["y"].to_numpy()[near]])
    span = max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]), 1.0) if len(pts) else 1.0
    area = _boundary(pts, max_edge=max(12.0, span / 4))
    return [area, eng]


def towns(reg, box: tuple[float, float, float, float], *, aggregated: bool, limit: int = 12) -> list[tuple]:
    """(name, x, y) of the area's main places by patients, spaced so their labels do not pile up."""
    d = districts()
    idx = _nearest(reg.x, reg.y)
    frame = pd.DataFrame(
        {"place": d["place"].to_numpy()[idx], "x": d["x"].to_numpy()[idx], "y": d["y"].to_numpy()[idx]}
    )
    frame["w"] = reg.list_size
    g = frame.groupby("place").agg(w=("w", "sum"), x=("x", "mean"), y=("y", "mean")).sort_values("w", ascending=False)
    min_gap = (box[1] - box[0]) / 9
    chosen: list[tuple] = []
    for place, row in g.iterrows():
        if not place or place == "unknown":
            continue
        if all(np.hypot(row.x - x, row.y - y) >= min_gap for _p, x, y in chosen):
            chosen.append((str(place), float(row.x), float(row.y)))
        if len(chosen) >= (15 if aggregated else limit):
            break
    return chosen
