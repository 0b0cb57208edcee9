"""Cold image stages (issue 16): thumbnails and features on an empty cache, per stage, against the
decode-once reference (one libvips thumbnail per image at 256 px, written as one JPEG, on 2 threads).

    .venv/bin/python bench/cold.py --large 200 --tiny 2000 [--skip features] [--json out.json]
    .venv/bin/python bench/cold.py --large 500 --tiny 2000 --artworks 10000 --json out.json

``--artworks N``: also a whole cold build (bench/bench.py's child, every stage measured) of N
artworks from bench/sources.py, once without per-item pyramids (``--full-res 0``, as builds were
before them) and once with them (the default); ``--whole-large``: the same for the large PNGs;
``--workers N``: each also on a local Dask cluster of N processes (``run.py --workers N``).

Collections (made once under --work, default /tmp/salon-cold): ``large``: 3000 x 2000 PNGs of the
two scikit-learn photos, mirrored, colour-shifted and with light noise so PNG cannot compress them
away; ``tiny``: 40 x 40 PNGs (the same photos, cropped). Each stage reports wall time, CPU time of
the whole process (all threads) and CPU / (wall x cores): 1.0 means no idle core.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyvips

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pipeline import cache as cache_mod  # noqa: E402
from pipeline import thumbnails  # noqa: E402


def make_collection(folder: Path, n: int, w: int, h: int) -> Path:
    from sklearn.datasets import load_sample_images
    folder.mkdir(parents=True, exist_ok=True)
    photos = [pyvips.Image.new_from_array(a) for a in load_sample_images().images]

    def one(i: int) -> None:
        out = folder / f"i{i:05d}.png"
        if out.exists():
            return
        rng = np.random.default_rng(i)
        im = photos[i % 2]
        if w < 100:  # a random crop, so tiny images differ
            x, y = int(rng.integers(0, im.width - 200)), int(rng.integers(0, im.height - 200))
            im = im.crop(x, y, 200, 200)
        im = im.thumbnail_image(w, height=h, size="force")
        if i % 3 == 0:
            im = im.fliphor()
        im = (im * list(rng.uniform(0.8, 1.2, 3))).cast("uchar")
        if w >= 100:
            noise = pyvips.Image.gaussnoise(w, h, sigma=4, mean=0)
            im = (im + noise).cast("uchar")
        im.pngsave(str(out) + ".tmp.png", compression=1)
        os.replace(str(out) + ".tmp.png", out)

    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(one, range(n)))
    return folder


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def timed(fn) -> dict:
    t, c = time.perf_counter(), cpu()
    fn()
    wall, used = time.perf_counter() - t, cpu() - c
    cores = len(os.sched_getaffinity(0))
    return {"wall_s": round(wall, 2), "cpu_s": round(used, 2), "busy": round(used / wall / cores, 2)}


def reference(files: list[Path], out: Path) -> None:
    """One libvips thumbnail per image at 256 px, one JPEG, 2 threads."""
    out.mkdir(parents=True, exist_ok=True)

    def one(p: Path) -> None:
        pyvips.Image.thumbnail(str(p), 256).jpegsave(str(out / (p.stem + ".jpg")), Q=85, strip=True)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, files))


def spec_for(cnn: int) -> thumbnails.ThumbSpec:
    try:
        return thumbnails.ThumbSpec((128, 128), "contain", 256, (255, 255, 255), cnn)  # type: ignore[call-arg]
    except TypeError:  # before issue 16: no CNN input in the spec
        return thumbnails.ThumbSpec((128, 128), "contain", 256, (255, 255, 255))


def bench(name: str, folder: Path, o: argparse.Namespace) -> dict:
    files = sorted(folder.glob("*.png"))
    for p in files:  # page cache warm for every contender
        p.read_bytes()
    digests = {p.name: cache_mod.file_digest(p) for p in files}
    res: dict = {"images": len(files), "megapixels_each": round(pyvips.Image.new_from_file(str(files[0])).width
                                                               * pyvips.Image.new_from_file(str(files[0])).height / 1e6, 3)}
    scratch = Path(tempfile.mkdtemp(prefix=f"cold-{name}-", dir=o.work))
    try:
        res["reference"] = timed(lambda: reference(files, scratch / "ref"))
        cache = scratch / "cache"
        spec = spec_for(224 if "features" not in o.skip else 0)
        res["thumbnails"] = timed(lambda: thumbnails.make_thumbnails(folder, digests, cache, spec))
        if "features" not in o.skip:
            from pipeline import features, model
            m = model.resolve()
            items = [(rel, d) for rel, d in digests.items()]
            res["features"] = timed(lambda: features.extract(folder, items, cache, m, [255] * 3, 32))
        for k in ("reference", "thumbnails", "features"):
            if k in res:
                res[k]["img_per_s"] = round(len(files) / res[k]["wall_s"], 1)
        res["thumbnails_vs_reference"] = round(res["thumbnails"]["wall_s"] / res["reference"]["wall_s"], 2)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return res


def whole_builds(name: str, images: Path, csv_path: Path | None, n: int, o: argparse.Namespace) -> dict:
    """Cold whole builds of one collection (a fresh cache each): without per-item pyramids
    (``--full-res 0``), with them (the default) and, with ``--workers N``, the default on a local
    Dask cluster of N processes."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench as whole
    res: dict = {"images": n}
    variants = {"full_res_0": {"full_res": 0}, "pyramids": {}}
    if o.workers:
        variants[f"workers_{o.workers}"] = {"workers": o.workers}
    for label, extra in variants.items():
        run = Path(o.work) / f"build-{name}-{n}-{label}"
        shutil.rmtree(run, ignore_errors=True)
        try:
            res[label] = whole.run_child("build", {"images": str(images), "csv": csv_path and str(csv_path),
                                                   "out": str(run / "site"), "cache": str(run / "cache"),
                                                   "n": n, "extra": extra}, Path(o.work) / "cold-build.log")
        finally:
            shutil.rmtree(run, ignore_errors=True)
    return res


def artworks(n: int, o: argparse.Namespace) -> dict:
    """Cold whole builds of n artworks from bench/sources.py."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import sources
    images, csv_path = sources.artworks(Path(o.artwork_work), n)
    return whole_builds("artworks", images, csv_path, n, o)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="/tmp/salon-cold")
    p.add_argument("--large", type=int, default=200)
    p.add_argument("--tiny", type=int, default=2000)
    p.add_argument("--artworks", type=int, default=0, help="also cold whole builds of N artworks")
    p.add_argument("--artwork-work", default="/tmp/salon-bench", help="where bench/sources.py keeps artworks")
    p.add_argument("--whole-large", action="store_true", help="also cold whole builds of the large PNGs")
    p.add_argument("--workers", type=int, default=0, help="also each whole build on a local Dask cluster of N")
    p.add_argument("--skip", default="")
    p.add_argument("--only", default="large,tiny")
    p.add_argument("--json", default="")
    o = p.parse_args()
    work = Path(o.work)
    work.mkdir(parents=True, exist_ok=True)
    out = {"load_average": os.getloadavg(), "cores": len(os.sched_getaffinity(0))}
    if "large" in o.only and o.large:
        large = make_collection(work / f"large-{o.large}", o.large, 3000, 2000)
        out["large"] = bench("large", large, o)
        if o.whole_large:
            out["large"]["whole"] = whole_builds("large", large, None, o.large, o)
    if "tiny" in o.only and o.tiny:
        out["tiny"] = bench("tiny", make_collection(work / f"tiny-{o.tiny}", o.tiny, 40, 40), o)
    if o.artworks:
        out["artworks"] = artworks(o.artworks, o)
    out["load_average_after"] = os.getloadavg()
    text = json.dumps(out, indent=1)
    print(text)
    if o.json:
        Path(o.json).write_text(text)


if __name__ == "__main__":
    main()
