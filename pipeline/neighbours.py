"""Neighbours: each item's k most similar items by cosine similarity, exact and in blocks."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .cache import write_bytes, write_json


def nearest(x: np.ndarray, k: int, groups: np.ndarray | None = None,
            block: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Indices (N, k) and cosine scores (N, k) of each row's k nearest other rows, best first.

    Memory is O(block * N), not O(N^2). With ``groups``, neighbours share the row's group.
    Missing neighbours (fewer than k candidates) are index -1, score 0.
    """
    n = len(x)
    k = max(0, min(k, n - 1))
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    unit = unit.astype(np.float32)
    idx = np.full((n, k), -1, dtype=np.int64)
    score = np.zeros((n, k), dtype=np.float32)
    if k == 0:
        return idx, score
    for start in tqdm(range(0, n, block), desc="neighbours", unit="block", leave=False):
        sims = unit[start:start + block] @ unit.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf  # not its own neighbour
        if groups is not None:
            sims[groups[start:start + block, None] != groups[None, :]] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < n else np.argsort(-sims, axis=1)[:, :k]
        top_s = np.take_along_axis(sims, top, axis=1)
        order = np.lexsort((top, -top_s), axis=1)  # by score, then index for ties: deterministic
        top, top_s = np.take_along_axis(top, order, 1), np.take_along_axis(top_s, order, 1)
        ok = np.isfinite(top_s)
        idx[start:start + block] = np.where(ok, top, -1)
        score[start:start + block] = np.where(ok, top_s, 0)
    return idx, score


def export(ids: list[str], idx: np.ndarray, score: np.ndarray, folder: Path) -> None:
    """Write ``neighbours.csv`` (id, rank, neighbour_id, score) and ``neighbours.json``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "rank", "neighbour_id", "score"])
    table: dict[str, list] = {}
    for i, name in enumerate(ids):
        pairs = [(ids[j], round(float(s), 4)) for j, s in zip(idx[i], score[i]) if j >= 0]
        table[name] = pairs
        w.writerows((name, r + 1, j, s) for r, (j, s) in enumerate(pairs))
    write_bytes(folder / "neighbours.csv", buf.getvalue().encode("utf-8"))
    write_json(folder / "neighbours.json", table)
