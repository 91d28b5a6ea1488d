"""What makes a real area's map recognisable: outlines, town names, practice and CCG names.

All of it is made from files shipped in ``gpsim/data`` (no map tiles, no internet): the outline of England and of
the area are drawn around the postcode-district centroids (everywhere within a few km of one, gaps filled),
town names are the districts' main places weighted by patients, and practice names
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


def outline(points: np.ndarray, reach: float, close: float, cell: float) -> list[np.ndarray]:
    """Closed lines (each (k, 2), km) around ``points``: everywhere within ``reach`` km of a point, with gaps and
    bays narrower than twice ``close`` km filled (a morphological closing on a ``cell``-km grid), so sparse
    districts (the Lake District, the Pennines) leave no holes and no long straight edges."""
    import contourpy
    from scipy import ndimage
    from scipy.spatial import cKDTree

    if len(points) == 0:
        return []
    pad = reach + close + 3 * cell
    lo, hi = points.min(axis=0) - pad, points.max(axis=0) + pad
    xs, ys = np.arange(lo[0], hi[0] + cell, cell), np.arange(lo[1], hi[1] + cell, cell)
    gx, gy = np.meshgrid(xs, ys)
    dist, _ = cKDTree(points).query(np.column_stack([gx.ravel(), gy.ravel()]))
    grown = (dist <= reach + close).reshape(gx.shape)
    depth = ndimage.distance_transform_edt(grown) * cell  # how far inside the grown shape: > close once shrunk
    lines = contourpy.contour_generator(xs, ys, depth - close, line_type=contourpy.LineType.Separate).lines(0.0)
    return [np.round(line, 1) for line in lines if len(line) >= 8]


@functools.lru_cache(maxsize=1)
def england_outline() -> list[np.ndarray]:
    """England's outline around its postcode districts (about 1,400 points, a few km outside the coast)."""
    d = districts()
    return outline(np.column_stack([d["x"].to_numpy(), d["y"].to_numpy()]), reach=6.0, close=24.0, cell=2.0)


def outlines(reg, *, aggregated: bool) -> list[list[np.ndarray]]:
    """[the area's outline, England's outline] as closed lines (England alone for all England). The area's is
    drawn around its practices and their postcode districts, with gaps up to 15% of its width filled."""
    eng = england_outline()
    if aggregated and reg.n_practices > 5000:
        return [eng]
    cached = getattr(reg, "_ui_outline", None)
    if cached is None:
        near = np.unique(_nearest(reg.x, reg.y))
        d = districts()
        pts = np.vstack(
            [np.column_stack([d["x"].to_numpy()[near], d["y"].to_numpy()[near]]), np.column_stack([reg.x, reg.y])]
        )
        span = max(float(np.ptp(pts, axis=0).max()), 1.0)
        cached = outline(pts, reach=5.0, close=max(8.0, 0.15 * span), cell=max(span / 250, 0.25))
        object.__setattr__(reg, "_ui_outline", cached)
    return [cached, eng]


#: The map's width on a laptop, in pixels: label sizes in km are worked out from it (wider screens only add room).
MAP_PX = 480.0


def label_box(x: float, y: float, text: str, km_per_px: float, *, where: str, size: float = 11.0) -> tuple:
    """(left, right, bottom, top) in km of a label drawn at (x, y): above it (``top``) or to its right."""
    w, h = (0.6 * size * len(text) + 4) * km_per_px, (size + 4) * km_per_px
    if where == "top":
        return (x - w / 2, x + w / 2, y + 4 * km_per_px, y + 4 * km_per_px + h)
    return (x + 8 * km_per_px, x + 8 * km_per_px + w, y - h / 2, y + h / 2)


def overlaps(a: tuple, b: tuple) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def towns(
    reg, box: tuple[float, float, float, float], *, aggregated: bool, limit: int = 12, avoid: list[tuple] = ()
) -> list[tuple]:
    """(name, x, y) of the area's main places by patients, whose labels (drawn above the place) overlap neither
    each other nor the boxes in ``avoid`` (other labels and markers, in km) on a laptop-sized map."""
    d = districts()
    idx = _nearest(reg.x, reg.y)
    frame = pd.DataFrame(
        {"place": d["place"].to_numpy()[idx], "x": d["x"].to_numpy()[idx], "y": d["y"].to_numpy()[idx]}
    )
    frame["w"] = reg.list_size
    g = frame.groupby("place").agg(w=("w", "sum"), x=("x", "mean"), y=("y", "mean")).sort_values("w", ascending=False)
    km_per_px = (box[1] - box[0]) / MAP_PX
    taken = list(avoid)
    chosen: list[tuple] = []
    for place, row in g.iterrows():
        if not place or place == "unknown":
            continue
        name = str(place).replace(" Upon ", " upon ").replace(" On ", " on ")
        label = label_box(row.x, row.y, name, km_per_px, where="top")
        inside = box[0] <= label[0] and label[1] <= box[1] and label[3] <= box[3]
        if inside and not any(overlaps(label, t) for t in taken):
            chosen.append((name, float(row.x), float(row.y)))
            taken.append(label)
        if len(chosen) >= (15 if aggregated else limit):
            break
    return chosen
