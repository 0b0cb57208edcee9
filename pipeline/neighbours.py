"""Neighbours: each item's k most similar items by cosine similarity: exact in blocks, or Annoy at scale."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .cache import atomic_path, link_or_copy

EXACT_LIMIT = 20_000  # above this, exact search costs minutes (O(N^2) dot products); use Annoy
ANNOY_TREES = 25      # searching 4 * (k + 1) * trees nodes: recall@12 ~0.97 of exact (bench/README.md)


def nearest(x: np.ndarray, k: int, groups: np.ndarray | None = None, block: int = 512,
            method: str = "auto", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (N, k) and cosine scores (N, k) of each row's k nearest other rows, best first.

    method: 'exact' (blocked: memory O(block * N), not O(N^2)), 'annoy' (approximate, Annoy's
    random projection forest as shipped inside openTSNE) or 'auto' (exact up to EXACT_LIMIT rows).
    With ``groups``, neighbours share the row's group. Missing neighbours are index -1, score 0.
    """
    n = len(x)
    idx = np.full((n, max(0, min(k, n - 1))), -1, dtype=np.int64)
    score = np.zeros(idx.shape, dtype=np.float32)
    if groups is not None:  # each group on its own: smaller searches, no masking
        for g in np.unique(groups):
            members = np.flatnonzero(groups == g)
            i, s = nearest(x[members], k, None, block, method, seed)
            idx[members, :i.shape[1]] = np.where(i >= 0, members[np.maximum(i, 0)], -1)
            score[members, :i.shape[1]] = s
        return idx, score
    k = idx.shape[1]
    if k == 0:
        return idx, score
    unit = (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    if method == "annoy" or (method == "auto" and n > EXACT_LIMIT):
        return _annoy(unit, k, seed)
    for start in tqdm(range(0, n, block), desc="neighbours", unit="block", leave=False):
        sims = unit[start:start + block] @ unit.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf  # not its own neighbour
        top, top_s = _top_k(sims, k)
        ok = np.isfinite(top_s)
        idx[start:start + block] = np.where(ok, top, -1)
        score[start:start + block] = np.where(ok, top_s, 0)
    return idx, score


def _top_k(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k largest entries (column, value), by value then column: exact and deterministic.

    Rather than a partition of every row (slow), the k-th largest of the rows' chunk maxima
    bounds the k-th largest entry from below; only entries above that bound are sorted.
    """
    b, n = sims.shape
    starts = np.arange(0, n, -(-n // (8 * k)))  # ~8k chunks: a bound close to the k-th largest
    if len(starts) < k:
        cand_r, cand_c = np.nonzero(np.ones_like(sims, dtype=bool))
    else:
        maxima = np.maximum.reduceat(sims, starts, axis=1)
        bound = np.partition(maxima, len(starts) - k, axis=1)[:, len(starts) - k]
        cand_r, cand_c = np.nonzero(sims >= bound[:, None])
    vals = sims[cand_r, cand_c]
    order = np.lexsort((cand_c, -vals, cand_r))
    cand_r, cand_c, vals = cand_r[order], cand_c[order], vals[order]
    first = np.searchsorted(cand_r, np.arange(b))
    pick = first[:, None] + np.arange(k)  # every row has at least k candidates
    return cand_c[pick], vals[pick]


def _annoy(unit: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Approximate cosine kNN with Annoy (angular distance d: cosine = 1 - d^2 / 2)."""
    from concurrent.futures import ThreadPoolExecutor

    from openTSNE.dependencies.annoy import AnnoyIndex
    n, dim = unit.shape
    index = AnnoyIndex(dim, "angular")
    index.set_seed(seed + 1)
    for i in range(n):
        index.add_item(i, unit[i])
    index.build(ANNOY_TREES, n_jobs=1)  # one thread: the same forest for a seed, run after run

    def query(i: int) -> tuple[list[int], list[float]]:
        got, dist = index.get_nns_by_item(i, k + 1, search_k=4 * (k + 1) * ANNOY_TREES,
                                          include_distances=True)
        keep = [(j, d) for j, d in zip(got, dist) if j != i][:k]
        return [j for j, _ in keep], [d for _, d in keep]

    idx = np.full((n, k), -1, dtype=np.int64)
    score = np.zeros((n, k), dtype=np.float32)
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:  # Annoy releases the GIL while searching
        for i, (js, ds) in enumerate(tqdm(pool.map(query, range(n), chunksize=512), total=n,
                                         desc="neighbours (annoy)", unit="item", leave=False)):
            idx[i, :len(js)] = js
            score[i, :len(ds)] = 1 - np.square(ds) / 2
    return idx, score


def export(ids: list[str], idx: np.ndarray, score: np.ndarray, folder: Path, cache: Path | None = None) -> None:
    """Write ``neighbours.csv`` (id, rank, neighbour_id, score) and ``neighbours.json``.

    With ``cache``, the files are made once per distinct input and hard-linked from there
    (at 100,000 items writing them takes seconds, which a rebuild after a CSV edit skips).
    """
    names = ("neighbours.csv", "neighbours.json")
    if cache is not None:
        digest = hashlib.blake2b(digest_size=10)
        for part in ("\0".join(ids).encode(), np.ascontiguousarray(idx).tobytes(),
                     np.ascontiguousarray(score).tobytes()):
            digest.update(part)
        made = cache / digest.hexdigest()
        if not all((made / n).is_file() for n in names):
            for old in cache.glob("*"):  # keep one version
                shutil.rmtree(old, ignore_errors=True)
            export(ids, idx, score, made)
        folder.mkdir(parents=True, exist_ok=True)
        for n in names:
            link_or_copy(made / n, folder / n)
        return
    folder.mkdir(parents=True, exist_ok=True)
    # streamed row by row: at 1,000,000 items a dict of every pair would take gigabytes
    with atomic_path(folder / "neighbours.csv") as csv_tmp, atomic_path(folder / "neighbours.json") as json_tmp, \
            open(csv_tmp, "w", encoding="utf-8", newline="") as fc, open(json_tmp, "w", encoding="utf-8") as fj:
        w = csv.writer(fc, lineterminator="\n")
        w.writerow(["id", "rank", "neighbour_id", "score"])
        fj.write("{")
        for i, name in enumerate(ids):
            pairs = [(ids[j], round(float(s), 4)) for j, s in zip(idx[i], score[i]) if j >= 0]
            w.writerows((name, r + 1, j, s) for r, (j, s) in enumerate(pairs))
            fj.write(("," if i else "") + json.dumps(name, ensure_ascii=False) + ":"
                     + json.dumps(pairs, ensure_ascii=False, separators=(",", ":")))
        fj.write("}")
