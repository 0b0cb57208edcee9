"""Where each item goes in every layout: the similarity map and grid (kept stable as the
collection grows), the timeline, the map of places and custom layouts from CSV columns.

The viewer draws each layout of ``collection.json``'s ``layouts`` the same way: item i is a
square of side ``item`` whose top-left corner is ``pos[2i], pos[2i+1]``, x to the right and y
down (docs/site-format.md).
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import UserError, grid, projection
from .cache import atomic_path
from .dates import describe_unreadable, year_range
from .parallel import parallel_map

RESERVED = {"grid", "map", "tsne", "umap", "groups", "timeline", "geo"}  # names the viewer uses
UNITS = [1, 10, 100, 1000]  # timeline columns: years, decades, centuries, millennia
MAX_COLUMNS = 40
ASPECT = 16 / 9  # the timeline's shape, about a screen's


# ------------------------------------------------------------------ the stable map and grid

@dataclass
class Placed:
    """The similarity map (``xy`` in [0, 1]) and grid of the current items, and how they came."""
    xy: np.ndarray
    cells: np.ndarray            # row * cols + col of each item
    cols: int
    rows: int
    raw: np.ndarray              # map in the projection's own units
    bounds: np.ndarray           # (2, 2): lo, hi of raw that maps to [0, 1]
    info: dict = field(default_factory=dict)   # for the report


def stable_map(state_file: Path, ids: list[str], digests: list[str], reduced: np.ndarray, setup: str,
               fresh_map: Callable[[], np.ndarray], grid_method: str, projection_method: str,
               perplexity: float, seed: int, relayout: bool = False) -> Placed:
    """The map and grid of the items: the previous build's (``state_file``) for the items it had,
    new items added into it (openTSNE's transform; a free grid cell near their neighbours),
    removed items' cells left empty. A full layout (``fresh_map()``, a fresh grid) when asked
    (``relayout``), when there is no previous layout, or when ``setup`` (projection, seed, model,
    ...) differs from the previous one's."""
    before = None if relayout else _load_state(state_file, setup)
    if before is not None:
        old, new, kept_from = _match(before, ids, digests)
        if len(old) == 0:
            before = None
    if before is None:
        placed = _fresh(reduced, fresh_map(), grid_method, seed)
        placed.info.update(full=True, reason="--relayout" if relayout else "no earlier layout of this "
                           "collection with these settings", added_since_full=0)
    else:
        placed = _extended(before, old, new, kept_from, reduced, projection_method, perplexity, seed)
    _save_state(state_file, setup, ids, digests, placed)
    return placed


def _fresh(reduced: np.ndarray, raw: np.ndarray, grid_method: str, seed: int) -> Placed:
    raw = np.asarray(raw, dtype=np.float64)
    bounds = np.array([raw.min(axis=0), raw.max(axis=0)]) if len(raw) else np.zeros((2, 2))
    xy = projection.unit(raw, (bounds[0], bounds[1]))
    cols, rows, usable = grid.with_room(len(raw))
    cells = grid.assign(xy, cols, rows, grid_method, usable)
    map_kept = projection.neighbourhood_kept(reduced, xy, sample=1000, seed=seed)
    grid_kept = projection.neighbourhood_kept(reduced, _cell_xy(cells, cols), sample=1000, seed=seed)
    return Placed(xy, cells, cols, rows, raw, bounds, {
        "items": len(raw), "added": 0, "removed": 0, "map_kept": round(map_kept, 4),
        "grid_kept": round(grid_kept, 4), "full_map_kept": round(map_kept, 4),
        "full_grid_kept": round(grid_kept, 4)})


def _extended(before: dict, old: np.ndarray, new: np.ndarray, kept_from: np.ndarray, reduced: np.ndarray,
              method: str, perplexity: float, seed: int) -> Placed:
    """Earlier items where they were; new items embedded into the map and the grid."""
    n = len(old) + len(new)
    raw = np.zeros((n, 2))
    raw[old] = before["raw"][kept_from]
    cols, rows = int(before["cols"]), int(before["rows"])
    col_row = np.zeros((n, 2), dtype=np.int64)
    col_row[old] = before["cells"][kept_from]
    if len(new):
        raw[new] = projection.extend(reduced[old], raw[old], reduced[new], method, perplexity, seed)
        targets = _grid_targets(reduced[old], col_row[old], reduced[new])
        col_row[new], cols, rows = grid.extend(col_row[old], cols, rows, targets,
                                               _unlikeness(reduced[np.concatenate([old, new])], len(old)))
    bounds = before["bounds"]
    xy = projection.unit(raw, (bounds[0], bounds[1]))
    cells = col_row[:, 1] * cols + col_row[:, 0]
    changed = len(new) or len(before["ids"]) != len(old)
    info = {k: float(before[k]) for k in ("map_kept", "grid_kept", "full_map_kept", "full_grid_kept")}
    if changed:  # how far the layout has drifted: measured now, against the last full layout's figure
        info["map_kept"] = round(projection.neighbourhood_kept(reduced, xy, sample=1000, seed=seed), 4)
        info["grid_kept"] = round(projection.neighbourhood_kept(reduced, _cell_xy(cells, cols), sample=1000,
                                                                seed=seed), 4)
    info.update(full=False, items=n, added=len(new), removed=len(before["ids"]) - len(old),
                added_since_full=int(before["added_since_full"]) + len(new))
    return Placed(xy, cells, cols, rows, raw, bounds, info)


def _grid_targets(old_x: np.ndarray, old_cells: np.ndarray, new_x: np.ndarray, k: int = 5) -> np.ndarray:
    """Where each new item would like to be: the median cell centre of its k nearest earlier items."""
    from sklearn.neighbors import NearestNeighbors
    k = min(k, len(old_x))
    near = NearestNeighbors(n_neighbors=k).fit(old_x).kneighbors(new_x, return_distance=False)
    return np.median(old_cells[near] + 0.5, axis=1)


def _unlikeness(features: np.ndarray, first_new: int) -> Callable[[int, list[np.ndarray]], np.ndarray]:
    """Cost of a free cell for new item i: the median feature distance to the items around it
    (infinite where none are). Measured on Fashion-MNIST (bench/README.md): new items' grid
    neighbours then share their class as often as in a fresh layout; the nearest free cell
    alone falls 8 points short."""
    def cost(i: int, around: list[np.ndarray]) -> np.ndarray:
        me = features[first_new + i]
        return np.array([np.median(np.linalg.norm(features[a] - me, axis=1)) if len(a) else np.inf
                         for a in around])
    return cost


def _cell_xy(cells: np.ndarray, cols: int) -> np.ndarray:
    return np.column_stack([cells % cols, cells // cols]).astype(np.float64)


def _match(before: dict, ids: list[str], digests: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which current items the earlier layout had: the same path with the same content, else
    the same content under another path (a renamed file). Returns the current indices of
    earlier items, of new items, and each earlier item's row in the saved layout."""
    by_path = {p: i for i, p in enumerate(before["ids"].tolist())}
    by_digest: dict[str, list[int]] = {}
    for i, d in enumerate(before["digests"].tolist()):
        by_digest.setdefault(d, []).append(i)
    used, old, kept_from, new = set(), [], [], []
    pending = []
    for i, (rel, d) in enumerate(zip(ids, digests)):
        j = by_path.get(rel)
        if j is not None and before["digests"][j] == d:
            used.add(j)
            old.append(i)
            kept_from.append(j)
        else:
            pending.append(i)
    for i in pending:
        j = next((j for j in by_digest.get(digests[i], []) if j not in used), None)
        if j is None:
            new.append(i)
        else:
            used.add(j)
            old.append(i)
            kept_from.append(j)
    order = np.argsort(old, kind="stable")
    return np.array(old, dtype=np.int64)[order], np.array(new, dtype=np.int64), \
        np.array(kept_from, dtype=np.int64)[order]


def _save_state(path: Path, setup: str, ids: list[str], digests: list[str], p: Placed) -> None:
    arrays: dict[str, Any] = {k: np.array(p.info[k]) for k in ("map_kept", "grid_kept", "full_map_kept",
                                                                 "full_grid_kept", "added_since_full")}
    arrays.update(setup=np.array(setup), ids=np.array(ids, dtype=str), digests=np.array(digests, dtype=str),
                  raw=p.raw, bounds=p.bounds, cells=np.column_stack([p.cells % p.cols, p.cells // p.cols]),
                  cols=np.array(p.cols), rows=np.array(p.rows))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def _load_state(path: Path, setup: str) -> dict | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            state = {k: z[k] for k in z.files}
    except (OSError, ValueError):
        return None
    if str(state.get("setup")) != setup or len(state.get("ids", [])) != len(state.get("raw", [])):
        return None
    return state


# ------------------------------------------------------------------ the timeline

def timeline(values: list[str], xy: np.ndarray, column: str) -> tuple[dict, list[str]]:
    """Items in time columns (years, decades, ... chosen from the span) by their date, stacked
    upwards from a common baseline; inside a column, similar items together (the column's
    own grid of their map positions). Undated items in the last column. Returns the layout
    and report lines (values that are no date)."""
    ranges = [year_range(v) for v in values]
    years = np.array([r.year if r else np.nan for r in ranges], dtype=np.float64)
    dated = ~np.isnan(years)
    unit, first, count = _time_axis(years[dated])
    col = np.full(len(values), count, dtype=np.int64)  # undated: the last column
    col[dated] = (np.floor(years[dated] / unit) - first // unit).astype(np.int64)
    columns = count + (not dated.all())
    sizes = np.bincount(col, minlength=columns)
    width = max(1, round(math.sqrt(ASPECT * sizes.max() / columns))) if len(values) else 1
    height = max(1, math.ceil(sizes.max() / width)) if len(values) else 1
    gap = 1
    pos = np.zeros((len(values), 2), dtype=np.int64)
    axis = []
    groups = [np.flatnonzero(col == c) for c in range(columns)]
    placed = parallel_map(lambda m: grid.assign(projection.unit(xy[m]), width, math.ceil(len(m) / width), "auto")
                          if len(m) else m, groups)  # columns on threads: the assignment releases the GIL
    for c, (members, cells) in enumerate(zip(groups, placed)):
        x0 = c * (width + gap)
        if len(members):
            pos[members, 0] = x0 + cells % width
            pos[members, 1] = height - 1 - cells // width  # first row at the bottom: stacks grow up
        start = first + c * unit
        axis.append({"label": _period_label(start, unit) if c < count else "undated",
                     "from": start if c < count else None, "to": start + unit - 1 if c < count else None,
                     "x": x0, "w": width, "count": int(len(members))})
    width_all = columns * (width + gap) - gap
    layout = {"kind": "timeline", "label": "Timeline", "field": column, "unit": unit, "item": 1,
              "bounds": [0, 0, width_all, height], "axis": axis, "pos": pos.reshape(-1).tolist()}
    warning = describe_unreadable(column, values)
    return layout, [warning] if warning else []


def _time_axis(years: np.ndarray) -> tuple[int, int, int]:
    """Column width in years (the narrowest of UNITS giving at most MAX_COLUMNS columns), the
    first column's start year and the number of columns."""
    if not len(years):
        return 1, 0, 0
    lo, hi = int(years.min()), int(years.max())
    for unit in UNITS:
        count = hi // unit - lo // unit + 1
        if count <= MAX_COLUMNS:
            break
    return unit, (lo // unit) * unit, count


def _period_label(start: int, unit: int) -> str:
    def year(y: int) -> str:
        return f"{-y} BCE" if y < 0 else str(y)
    if unit == 1:
        return year(start)
    if unit in (10, 100, 1000) and start >= 0:
        return f"{start}s"
    return f"{year(start)}–{year(start + unit - 1)}"


# ------------------------------------------------------------------ places

LAT_NAMES = {"lat", "latitude", "decimallatitude", "geolat", "ylat"}
LON_NAMES = {"lon", "lng", "long", "longitude", "decimallongitude", "geolon", "geolong", "xlon"}
PAIR_NAMES = {"latlon", "latlong", "latlng", "coordinates", "coords", "coordinate", "geo", "location",
              "position", "place", "point", "latitudelongitude", "geolocation"}
_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_PAIR = re.compile(rf"^\s*\(?\s*({_NUMBER})\s*[,; ]\s*({_NUMBER})\s*\)?\s*$")


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-.,/]", "", name.lower())


def place_columns(fields: list[dict], column_values: Callable[[str], list[str]]) -> tuple[str, ...] | None:
    """The CSV's place columns: (latitude, longitude) columns, or one column of "lat,lon" pairs
    (if most of its filled values are pairs); None when there are none."""
    keys = {_squash(f["key"]): f["key"] for f in fields}
    lat = next((keys[k] for k in keys if k in LAT_NAMES), None)
    lon = next((keys[k] for k in keys if k in LON_NAMES), None)
    if lat and lon:
        return lat, lon
    for k, name in keys.items():
        if k in PAIR_NAMES:
            filled = [v for v in column_values(name) if v.strip()]
            if filled and sum(bool(_PAIR.match(v)) for v in filled) >= 0.5 * len(filled):
                return (name,)
    return None


def read_places(lat: list[str], lon: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """(lat, lon) of each item (NaN where missing or not a place) and the values that are not."""
    out = np.full((len(lat), 2), np.nan)
    bad = []
    for i, a in enumerate(lat):
        text = a if lon is None else f"{a},{lon[i]}"
        if not text.strip(" ,"):
            continue
        m = _PAIR.match(text)
        la, lo = (float(m.group(1)), float(m.group(2))) if m else (np.nan, np.nan)
        if m and -90 <= la <= 90 and -180 <= lo <= 180:
            out[i] = la, lo
        else:
            bad.append(text.strip())
    return out, bad


def geo(places: np.ndarray, xy: np.ndarray, columns: tuple[str, ...], bad: list[str]) -> tuple[dict, list[str]]:
    """Items at their places on an equirectangular map, each in its own cell of a fine lattice
    of square cells ``cell_deg`` degrees wide: the cell of its place, else the nearest free one
    (so none hides another). Cell (i, j) spans longitudes i..i+1 and latitudes -j..-(j+1), in
    cells, so the viewer draws the world in the same units with d3-geo's
    ``geoEquirectangular().scale(180 / (Math.PI * cell_deg)).translate([0, 0])``.
    Items without a place go in a block under the map."""
    n = len(places)
    have = ~np.isnan(places[:, 0])
    s = _cell_degrees(places[have])
    pos = np.zeros((n, 2), dtype=np.int64)
    ideal = np.column_stack([np.floor(places[have, 1] / s), np.floor(-places[have, 0] / s)]).astype(np.int64)
    pos[have] = _spread(ideal, _similarity_order(xy[have]))
    x0, y0 = (pos[have].min(axis=0) if have.any() else (0, 0))
    x1, y1 = (pos[have].max(axis=0) + 1 if have.any() else (1, 0))
    label_y = None
    if (~have).any():
        width = max(int(x1 - x0), math.ceil(math.sqrt((~have).sum())))
        label_y = int(y1) + 2
        pos[~have] = _block(np.flatnonzero(~have), xy, int(x0), label_y + 1, width)
        x1, y1 = max(x1, x0 + width), pos[~have, 1].max() + 1
    layout = {"kind": "geo", "label": "Places", "fields": list(columns), "item": 1, "projection": "equirectangular",
              "cell_deg": s, "bounds": [int(x0), int(y0), int(x1), int(y1)], "pos": pos.reshape(-1).tolist(),
              "places": [[round(a, 5), round(b, 5)] if ok else None for (a, b), ok in zip(places.tolist(), have)],
              "unplaced": {"count": int((~have).sum()), "label": "no place", "x": int(x0), "y": label_y}}
    warnings = []
    if bad:
        warnings.append(f"column {'+'.join(repr(c) for c in columns)}: {len(bad)} value{'s' * (len(bad) != 1)} "
                        f"not a latitude/longitude, e.g. {', '.join(repr(b[:40]) for b in bad[:5])}; these items "
                        f"are under the map")
    return layout, warnings


def _cell_degrees(places: np.ndarray) -> float:
    """Cell side in degrees: about 2 sqrt(n) cells across the places' extent, rounded to 1, 2 or 5
    times a power of ten, between 0.0001 and 5 degrees."""
    if not len(places):
        return 1.0
    span = float(max(np.ptp(places[:, 0]), np.ptp(places[:, 1])))
    raw = min(5.0, max(1e-4, span / max(8.0, 2 * math.sqrt(len(places)))))
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw * 0.999))


def _spread(ideal: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Each item the free cell nearest its ideal cell. Items sharing an ideal cell fill a disc
    around it, in ``order`` (similar items together); larger crowds go first. Each crowd walks
    its own list of offsets (nearest first), so n items cost O(n + cells skipped)."""
    out = np.zeros_like(ideal)
    crowds: dict[tuple[int, int], list[int]] = {}
    for i in order:
        crowds.setdefault((int(ideal[i, 0]), int(ideal[i, 1])), []).append(int(i))
    taken: set[tuple[int, int]] = set()
    offsets = _offsets(8)
    for (cx, cy), members in sorted(crowds.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        k = 0
        for i in members:
            while True:
                if k == len(offsets):
                    offsets = _offsets(2 * int(math.isqrt(len(offsets))) + 8)
                dx, dy = offsets[k]
                k += 1
                if (cx + dx, cy + dy) not in taken:
                    break
            taken.add((cx + dx, cy + dy))
            out[i] = cx + dx, cy + dy
    return out


def _offsets(radius: int) -> list[tuple[int, int]]:
    """Cell offsets within ``radius``, nearest first (ties in a fixed angular order)."""
    r = np.arange(-radius, radius + 1)
    dx, dy = np.meshgrid(r, r)
    inside = dx * dx + dy * dy <= radius * radius  # a disc: a larger one starts with the same list
    dx, dy = dx[inside], dy[inside]
    order = np.lexsort((np.arctan2(dy, dx), dx * dx + dy * dy))
    return list(zip(dx[order].tolist(), dy[order].tolist()))


def _similarity_order(xy: np.ndarray) -> np.ndarray:
    """Items along a Hilbert curve over the similarity map: neighbours in the order are
    neighbours on the map."""
    side = 1 << 10
    q = np.clip((projection.unit(xy) * (side - 1)).astype(np.int64), 0, side - 1) if len(xy) else \
        np.zeros((0, 2), dtype=np.int64)
    x, y = q[:, 0].copy(), q[:, 1].copy()
    d = np.zeros(len(xy), dtype=np.int64)
    s = side // 2
    while s > 0:
        rx, ry = (x & s) > 0, (y & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        flip = ~ry
        swap_x = np.where(flip & rx, side - 1 - x, x)
        swap_y = np.where(flip & rx, side - 1 - y, y)
        x, y = np.where(flip, swap_y, swap_x), np.where(flip, swap_x, swap_y)
        s //= 2
    return np.argsort(d, kind="stable")


def _block(members: np.ndarray, xy: np.ndarray, x0: int, y0: int, width: int) -> np.ndarray:
    """Cells for items set aside (no place, no coordinates): rows of ``width`` from (x0, y0),
    in similarity order."""
    order = members[_similarity_order(xy[members])]
    k = np.empty(len(members), dtype=np.int64)
    k[np.searchsorted(members, order)] = np.arange(len(members))
    return np.column_stack([x0 + k % width, y0 + k // width])


# ------------------------------------------------------------------ custom layouts

def parse_layout_flags(flags: list[str], fields: list[dict]) -> list[tuple[str, str, str]]:
    """``NAME=XCOL,YCOL`` flags as (name, x column, y column), checked against the CSV's fields."""
    keys = [f["key"] for f in fields]
    out: list[tuple[str, str, str]] = []
    for flag in flags:
        name, eq, cols = flag.partition("=")
        x, comma, y = cols.partition(",")
        name, x, y = name.strip(), x.strip(), y.strip()
        if not (eq and comma and name and x and y):
            raise UserError(f"--layout {flag!r}: write NAME=XCOLUMN,YCOLUMN, e.g. --layout umap=umap_x,umap_y")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", name) or name.lower() in RESERVED:
            raise UserError(f"--layout {flag!r}: the name must be letters, digits, - or _ (up to 40) and "
                            f"not one of {', '.join(sorted(RESERVED))}")
        missing = [c for c in (x, y) if c not in keys]
        if missing:
            raise UserError(f"--layout {flag!r}: no published column {', '.join(map(repr, missing))}; "
                            f"the columns are: {', '.join(keys) or '(no CSV)'}")
        if name in [o[0] for o in out]:
            raise UserError(f"--layout {flag!r}: the name {name!r} is given twice")
        out.append((name, x, y))
    return out


def custom(name: str, xs: list[str], ys: list[str], xy: np.ndarray, columns: tuple[str, str]) -> tuple[dict, list[str]]:
    """Items at the coordinates of two CSV columns (y upwards, as in a scatter plot), scaled
    into [0, 1] keeping their aspect; rows whose values are not numbers go to an 'unplaced'
    block on the right, in similarity order."""
    n = len(xs)
    pts = np.array([[_number(a), _number(b)] for a, b in zip(xs, ys)], dtype=np.float64).reshape(n, 2)
    ok = np.asarray(~np.isnan(pts).any(axis=1), dtype=bool)
    size = 0.85 / math.sqrt(max(1, n))  # an item's side, as in the similarity map
    pos = np.zeros((n, 2))
    if ok.any():
        lo, hi = pts[ok].min(axis=0), pts[ok].max(axis=0)
        scale = float(max(hi - lo)) or 1.0
        pos[ok, 0] = (pts[ok, 0] - lo[0]) / scale * (1 - size)
        pos[ok, 1] = (hi[1] - pts[ok, 1]) / scale * (1 - size)
    right, bottom = (float(pos[ok, 0].max()) + size, float(pos[ok, 1].max()) + size) if ok.any() else (0.0, 0.0)
    unplaced = None
    if (~ok).any():
        width = math.ceil(math.sqrt((~ok).sum()))
        x0 = right + 4 * size if ok.any() else 0.0
        cells = _block(np.flatnonzero(~ok), xy, 0, 0, width)
        pos[~ok] = np.column_stack([x0 + cells[:, 0] * size, size + cells[:, 1] * size])
        unplaced = {"count": int((~ok).sum()), "label": "not placed", "x": round(x0, 4), "y": 0}
        right, bottom = max(right, x0 + width * size), max(bottom, size + (cells[:, 1].max() + 1) * size)
    layout = {"kind": "custom", "label": name, "fields": list(columns), "item": round(size, 6),
              "bounds": [0, 0, round(right, 4), round(bottom, 4)],
              "pos": [round(float(v), 4) for v in pos.reshape(-1)], "unplaced": unplaced}
    warnings = []
    bad = [f"{a!r},{b!r}" for a, b, good in zip(xs, ys, list(ok)) if not good]
    if bad:
        warnings.append(f"--layout {name}: {len(bad)} row{'s' * (len(bad) != 1)} without numbers in "
                        f"{columns[0]!r}/{columns[1]!r}, e.g. {'; '.join(b[:60] for b in bad[:5])}; these items "
                        f"are in the 'not placed' block")
    return layout, warnings


def _number(text: str) -> float:
    try:
        v = float(text.strip())
    except ValueError:
        return np.nan
    return v if math.isfinite(v) else np.nan


# ------------------------------------------------------------------ all of them

def extra_layouts(fields: list[dict], values: list[list[str]], xy: np.ndarray,
                  custom_flags: list[str]) -> tuple[dict, list[str]]:
    """Every layout the data allows besides grid, map and groups: the timeline (first year
    field), places (latitude/longitude columns) and the ``--layout`` ones. ``values[i]`` is item
    i's value of each field. Returns {name: layout} and report lines."""
    keys = [f["key"] for f in fields]

    def column(key: str) -> list[str]:
        k = keys.index(key)
        return [v[k] if k < len(v) else "" for v in values]

    out: dict[str, dict] = {}
    notes: list[str] = []
    year_field = next((f["key"] for f in fields if f["kind"] == "year"), None)
    if year_field:
        out["timeline"], more = timeline(column(year_field), xy, year_field)
        notes += more
    cols = place_columns(fields, column)
    if cols:
        places, bad = read_places(*(column(c) for c in cols))
        out["geo"], more = geo(places, xy, cols, bad)
        notes += more
    for name, x, y in parse_layout_flags(custom_flags, fields):
        out[name], more = custom(name, column(x), column(y), xy, (x, y))
        notes += more
    return out, notes



def summary_line(info: dict) -> str:
    """The report's line on the map and grid: full or incremental, and how far it has drifted."""
    kept = (f"10 nearest neighbours kept: map {info['map_kept']:.0%}, grid {info['grid_kept']:.0%}")
    if info.get("full"):
        return f"Layout: full ({info.get('reason')}); {kept}."
    return (f"Layout: incremental, {info['added']} added and {info['removed']} removed this build, "
            f"{info['added_since_full']} added since the last full layout, every earlier item in its place; "
            f"{kept} (full layout: map {info['full_map_kept']:.0%}, grid {info['full_grid_kept']:.0%}; "
            f"--relayout recomputes).")
