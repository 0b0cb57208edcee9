#!/usr/bin/env python3
"""The cost of per-item pyramids (IIIF level-0 services): time and disk per 1,000 images.

  .venv/bin/python bench/pyramids.py                       # photos + the demo's SVGs, default cap
  .venv/bin/python bench/pyramids.py --photos 200 --svgs 0 --cap 2048
  .venv/bin/python bench/pyramids.py --vector-sweep 512,768,1024,1536 --svgs 200

Photos: bench/sources.py's JPEGs (long sides 640-6,000 px, cycling), so the cap matters for
the larger ones. SVGs: the demo's OpenMoji artworks (npm openmoji), drawn at --vector px by the
pipeline's decoder. Each measurement cuts the pyramids cold into a fresh cache with the build's
own function (``pipeline.pyramids.make_pyramids``, threads = CPU cores), then once warm.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from pipeline import pyramids  # noqa: E402
from pipeline.cache import file_digest  # noqa: E402


def measure(folder: Path, names: list[str], spec: pyramids.PyramidSpec) -> dict:
    digests = {n: file_digest(folder / n) for n in names}
    cache = Path(tempfile.mkdtemp(prefix="salon-pyr-"))
    try:
        t, cpu = time.perf_counter(), time.process_time()
        got = pyramids.make_pyramids(folder, digests, cache, spec)
        cold, cpu = time.perf_counter() - t, time.process_time() - cpu
        t = time.perf_counter()
        pyramids.make_pyramids(folder, digests, cache, spec)
        warm = time.perf_counter() - t
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    n = len(names)
    return {"images": n, "cap": spec.cap, "vector": spec.vector, "tile": spec.tile, "failed": len(got.failed),
            "cold_s": round(cold, 2), "cpu_s": round(cpu, 2), "warm_s": round(warm, 3),
            "mb": round(got.bytes / 1e6, 1), "files": got.files,
            "per_1000": {"s": round(cold * 1000 / n, 1), "mb": round(got.bytes / 1e6 * 1000 / n, 1),
                         "files": round(got.files * 1000 / n)}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", type=int, default=210, help="JPEG photos to measure (default: 210)")
    p.add_argument("--svgs", type=int, default=2465, help="OpenMoji SVGs to measure (default: 2465, the demo)")
    p.add_argument("--cap", type=pyramids.parse_cap, default=pyramids.DEFAULT_CAP)
    p.add_argument("--vector", type=int, default=pyramids.VECTOR_PX)
    p.add_argument("--vector-sweep", default="", help="comma-separated SVG sizes to compare")
    p.add_argument("--work", type=Path, default=Path("/tmp/salon-bench"))
    p.add_argument("--json", type=Path, help="write the results here")
    a = p.parse_args()
    results = {"cpus": os.cpu_count(), "load": os.getloadavg()[0], "runs": []}
    if a.photos:
        import sources
        folder = sources.photos(a.work, a.photos)
        res = measure(folder, sorted(os.listdir(folder)), pyramids.PyramidSpec(cap=a.cap))
        results["runs"].append({"what": "photos", **res})
        print("photos", json.dumps(res))
    if a.svgs:
        from pipeline import demo
        folder, _ = demo.prepare(a.work / "demo-openmoji")
        names = sorted(os.listdir(folder))[:a.svgs]
        for px in [int(v) for v in a.vector_sweep.split(",") if v] or [a.vector]:
            res = measure(folder, names, pyramids.PyramidSpec(cap=a.cap, vector=px))
            results["runs"].append({"what": "openmoji svg", **res})
            print("svg", json.dumps(res))
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
