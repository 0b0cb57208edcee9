#!/usr/bin/env python3
"""Layout benchmarks: t-SNE against UMAP, and adding images to a built collection.

  .venv/bin/python bench/layouts.py projections --sizes 10000,100000 [--fashion DIR]
  .venv/bin/python bench/layouts.py incremental --fashion DIR --add DIR [--size 10000]

``projections``: time and neighbourhood preservation (share of each point's 10 nearest
neighbours in feature space that are among its 10 nearest on the map, over 2,000 sampled
points) of ``projection.embed`` with opentsne and umap, on clustered 256-d vectors (50
clusters, each spread along its own 8-d subspace, plus noise) and, with ``--fashion``, on
Fashion-MNIST pixels (PCA to 256 as the build does; also the share of map neighbours of the
same class).

``incremental``: a real ``run.py`` build of ``--size`` Fashion-MNIST images with their pixels
as a ``--features`` file, then the ``--add`` images copied in and the same command again (the
rebuild, into the same site folder as a curator would, is timed as a whole process), then
``--relayout`` for comparison: how many earlier items kept their cell and map position, and how
often the new items' grid neighbours share their class, incrementally and in the fresh layout.
DIR: folders made by
``/work/shared/collections/make_fashion_mnist.sh`` (images/ and metadata.csv).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from pipeline.columns import read_collection

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def clustered(n: int, d: int = 256, clusters: int = 50, intrinsic: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n points in d dimensions: 50 clusters, each a cloud along its own 8-d subspace (so that
    near neighbours mean something inside a cluster), plus isotropic noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(clusters, size=n)
    x = rng.normal(size=(n, d)).astype(np.float32) * 0.3
    for c in range(clusters):
        members = np.flatnonzero(labels == c)
        centre = rng.normal(size=d) * 6
        basis = rng.normal(size=(intrinsic, d)) / np.sqrt(intrinsic)
        x[members] += (centre + rng.normal(size=(len(members), intrinsic)) * 2 @ basis).astype(np.float32)
    return x, labels


def fashion(folder: Path, limit: int | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """File names, pixel vectors (784, 0..1) and class labels of a make_fashion_mnist.sh folder."""
    from PIL import Image
    rows = list(csv.DictReader(open(folder / "metadata.csv", encoding="utf-8")))[:limit]
    pixels = np.stack([np.asarray(Image.open(folder / "images" / r["filename"]), dtype=np.float32).reshape(-1) / 255
                       for r in rows])
    return [r["filename"] for r in rows], pixels, np.array([int(r["label"]) for r in rows])


def class_share(xy: np.ndarray, labels: np.ndarray, k: int = 10, sample: int = 2000) -> float:
    from sklearn.neighbors import NearestNeighbors
    rows = np.random.default_rng(0).choice(len(xy), min(sample, len(xy)), replace=False)
    idx = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy[rows], return_distance=False)[:, 1:]
    return float((labels[idx] == labels[rows, None]).mean())


def projections(args: argparse.Namespace) -> list[dict]:
    from pipeline import projection
    projection.embed(clustered(300)[0], "umap", seed=0)  # numba compiles UMAP once per process: not counted
    sets = []
    if args.fashion:
        names, pixels, labels = fashion(Path(args.fashion))
        sets.append((f"fashion-mnist {len(names)}", pixels, labels))
    for n in args.sizes:
        sets.append((f"clustered 256-d {n}", *clustered(n)))
    out = []
    for name, x, labels in sets:
        reduced = projection.pca(x, 256, 0)
        for method in ("opentsne", "umap"):
            t, load = time.perf_counter(), os.getloadavg()[0]
            xy = projection.embed(reduced, method, 30.0, 0)
            row = {"data": name, "n": len(x), "method": method, "seconds": round(time.perf_counter() - t, 1),
                   "load": round(load, 1), "kept_10nn": round(projection.neighbourhood_kept(reduced, xy, 10, 2000, 0), 4),
                   "same_class_10nn": round(class_share(xy, labels), 4)}
            print(json.dumps(row), flush=True)
            out.append(row)
    return out


def _site(out: Path) -> tuple[dict, dict[str, tuple[int, int]], dict[str, tuple[float, float]]]:
    data = read_collection(out)
    ids = [it["id"] for f in sorted((out / "data" / "items").glob("*.json"), key=lambda p: int(p.stem))
           for it in json.loads(f.read_text("utf-8"))["items"]]
    cols = data["grid"]["cols"]
    cells = {i: (c % cols, c // cols) for i, c in zip(ids, data["items"]["cell"])}
    xy = dict(zip(ids, map(tuple, np.array(data["items"]["xy"]).reshape(-1, 2).tolist())))
    return data, cells, xy


def grid_share(cells: dict, labels: dict, who: list[str]) -> float:
    """Mean share of each item's occupied 8 neighbouring cells that hold an item of its class."""
    at = {c: i for i, c in cells.items()}
    shares = []
    for i in who:
        x, y = cells[i]
        near = [at[p] for dx in (-1, 0, 1) for dy in (-1, 0, 1) if (dx or dy) and (p := (x + dx, y + dy)) in at]
        shares.append(np.mean([labels[j] == labels[i] for j in near]) if near else 0.0)
    return float(np.mean(shares))


def incremental(args: argparse.Namespace) -> dict:
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    (work / "images").mkdir(parents=True)
    base, add = Path(args.fashion), Path(args.add)
    names, pixels, labels = fashion(base, args.size)
    new_names, new_pixels, new_labels = fashion(add)
    np.savez(work / "features.npz", ids=np.array(names + new_names),
             features=np.vstack([pixels, new_pixels]).astype(np.float32))
    for n in names:
        shutil.copy(base / "images" / n, work / "images" / n)
    label = dict(zip(names + new_names, np.concatenate([labels, new_labels]).tolist()))

    def build(out: str, *extra: str) -> float:
        t = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "run.py"), "--images", str(work / "images"), "--features",
                        str(work / "features.npz"), "--id", "fmnist", "--out", str(work / out), "--cache",
                        str(work / "cache"), "--no-image-search", "--tile", "32x32", *extra],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return round(time.perf_counter() - t, 1)

    result: dict = {"size": len(names), "added": len(new_names), "load_before": round(os.getloadavg()[0], 1)}
    result["first_build_s"] = build("site")
    shutil.copytree(work / "site", work / "site1", copy_function=os.link)  # kept to compare with
    for n in new_names:
        shutil.copy(add / "images" / n, work / "images" / n)
    result["load_add"] = round(os.getloadavg()[0], 1)
    result["add_rebuild_s"] = build("site")  # in place, as a curator rebuilds: the old site is replaced
    report = json.loads((work / "site" / "report.json").read_text("utf-8"))
    result["add_stages"] = report["stages"]
    result["report_layout"] = {k: v for k, v in report.get("layout", {}).items()}
    result["fresh_build_s"] = build("site3", "--relayout")
    _, c1, xy1 = _site(work / "site1")
    _, c2, xy2 = _site(work / "site")
    _, c3, _ = _site(work / "site3")
    result["kept_cell"] = round(np.mean([c2[i] == c1[i] for i in names]), 4)
    result["kept_xy"] = round(np.mean([xy2[i] == xy1[i] for i in names]), 4)
    result["new_grid_same_class_incremental"] = round(grid_share(c2, label, new_names), 4)
    result["new_grid_same_class_fresh"] = round(grid_share(c3, label, new_names), 4)
    result["all_grid_same_class_incremental"] = round(grid_share(c2, label, list(c2)), 4)
    result["all_grid_same_class_fresh"] = round(grid_share(c3, label, list(c3)), 4)
    print(json.dumps(result, indent=1), flush=True)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("projections")
    a.add_argument("--sizes", type=lambda t: [int(v) for v in t.split(",")], default=[10_000, 100_000])
    a.add_argument("--fashion", help="a make_fashion_mnist.sh folder (its images/ and metadata.csv)")
    b = sub.add_parser("incremental")
    b.add_argument("--fashion", required=True, help="the collection to build (make_fashion_mnist.sh folder)")
    b.add_argument("--add", required=True, help="the images to add (another make_fashion_mnist.sh folder)")
    b.add_argument("--size", type=int, default=10_000)
    b.add_argument("--work", default="/tmp/salon-bench-layouts/incremental")
    for s in (a, b):
        s.add_argument("--json", help="also write the results here")
    args = p.parse_args()
    result = projections(args) if args.what == "projections" else incremental(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
