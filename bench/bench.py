#!/usr/bin/env python3
"""Salon's benchmark: per-stage wall time, CPU time, throughput and peak memory of real builds.

  .venv/bin/python bench/bench.py --sizes 1000,10000
  nice .venv/bin/python bench/bench.py --sizes 100000 --skip features,rebuild

Every measurement runs in a fresh child process, so peak RSS belongs to what is measured:
per stage, the peak is read from the kernel (``VmHWM``, reset before each stage by writing 5
to ``/proc/self/clear_refs``). Collections are made by ``bench/sources.py`` (see there) and
cached in the work folder. Results print as a table and are written as JSON.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]
PY = sys.executable


# ---------------------------------------------------------------- measuring inside a child

def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    """CPU seconds of this process's threads and of its finished child processes (pools)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def _rss_mb(pid: int, field: str = "VmRSS:", status: str = "status") -> float:
    try:
        for line in Path(f"/proc/{pid}/{status}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _children_pss_mb(pid: int) -> float:
    """The proportional share (Pss) of a process's descendants, MB: Pss, not RSS, since a child
    that has just forked shares all of its parent's pages, and counting them twice would double
    the peak."""
    total = 0.0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _rss_mb(int(child), "Pss:", "smaps_rollup") + _children_pss_mb(int(child))
    except (OSError, ValueError):
        pass
    return total


class _Sampler(threading.Thread):
    """Samples the RSS of this process every 50 ms and its child processes' Pss every 0.5 s.

    A child's Pss walks its page tables: read every 50 ms, two Dask workers' cost 10 % of a core
    in this process (20 s of CPU in a 10,000-image --workers 2 thumbnail stage)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.stop = 0.0, threading.Event()

    def run(self) -> None:
        children, k = 0.0, 0
        while not self.stop.wait(0.05):
            if k % 10 == 0:
                children = _children_pss_mb(os.getpid())
            k += 1
            self.peak = max(self.peak, _rss_mb(os.getpid()) + children)


@contextmanager
def measured(into: dict, name: str, items: int | None = None):
    """Record wall, CPU (threads and child processes) and peak RSS of the block under ``into[name]``."""
    _reset_peak()
    sampler = _Sampler()
    sampler.start()
    t, c = time.perf_counter(), _cpu()
    yield
    wall = time.perf_counter() - t
    sampler.stop.set()
    sampler.join()
    # the kernel's exact peak for this process; the sampled one when child processes added more
    into[name] = {"wall_s": round(wall, 3), "cpu_s": round(_cpu() - c, 3),
                  "peak_rss_mb": round(max(_peak_mb(), sampler.peak))}
    if items:
        into[name]["per_s"] = round(items / wall, 1) if wall else None


def child_build(a: dict) -> dict:
    """One real build (pipeline.build.build) with every stage measured."""
    from pipeline import report
    from pipeline.build import Settings, build
    stages: dict = {}
    plain = report.Report.stage

    @contextmanager
    def stage(self, name):
        with measured(stages, name, a.get("n")), plain(self, name):
            yield
        print(json.dumps({"stage": name, **stages[name]}), file=sys.stderr, flush=True)  # kept if a later stage fails

    report.Report.stage = stage
    t = time.perf_counter()
    settings = Settings(images=a["images"], metadata=a["csv"], id="bench", out=Path(a["out"]),
                        cache=Path(a["cache"]), categories=["category", "subcategory"], **a.get("extra", {}))
    rep = build(settings)
    return {"stages": stages, "total_s": round(time.perf_counter() - t, 2), "items": rep.items,
            "skipped": len(rep.skipped), "peak_rss_mb": max(s["peak_rss_mb"] for s in stages.values())}


def child_mosaic(a: dict) -> dict:
    """Our mosaic stage (pipeline.mosaic) or the one-Pillow-canvas method, on the same cells."""
    from pipeline import grid
    cells = [Path(p) for p in json.loads(Path(a["cells"]).read_text())]
    cols, rows = grid.shape(len(cells))
    order = cells + [None] * (cols * rows - len(cells))
    out: dict = {}
    shutil.rmtree(a["out"], ignore_errors=True)
    with measured(out, a["method"], len(cells)):
        if a["method"] == "salon":
            from pipeline import mosaic
            mosaic.build(order, cols, rows, (128, 128), [255, 255, 255], mosaic.TileSpec(), Path(a["out"]))
        else:
            import baselines
            baselines.one_canvas(order, cols, rows, (128, 128), (255, 255, 255), Path(a["out"]))
    out["tiles"] = sum(1 for _ in Path(a["out"]).rglob("*.jpg"))
    return out


def child_features(a: dict) -> dict:
    """The feature stage on photos vs one predict per image, and pure batched inference."""
    from types import SimpleNamespace

    import baselines
    import numpy as np

    from pipeline import cache, features, model
    from pipeline.decode import decode, to_array
    from pipeline.parallel import parallel_map
    folder = Path(a["photos"])
    files = sorted(p.name for p in folder.glob("*.jpg"))
    items = [(f, cache.file_digest(folder / f)) for f in files]
    out: dict = {"images": len(files), "cores": len(os.sched_getaffinity(0))}
    with measured(out, "load_model"):
        mdl = model.resolve()
        ex = mdl.load()
        ex(np.zeros((2, 224, 224, 3), np.uint8))  # first call builds the graph
    loaded = SimpleNamespace(key=mdl.key, input_size=mdl.input_size, load=lambda: ex)  # loaded above, not timed twice
    shutil.rmtree(a["cache"], ignore_errors=True)
    with measured(out, "salon", len(files)):
        feats, failed = features.extract(folder, items, Path(a["cache"]), loaded, [255] * 3, 32)
    s = out["salon"]
    s["cpu_per_core_s"] = round(s["cpu_s"] / out["cores"], 3)
    s["wall_over_cpu_per_core"] = round(s["wall_s"] / s["cpu_per_core_s"], 3)
    with measured(out, "decode_only", len(files)):
        arrays = list(parallel_map(lambda f: to_array(decode(folder / f, 224, 224, "force", [255] * 3)), files))
    batch = np.stack((arrays * (64 // len(arrays) + 1))[:64])
    rates = []
    for _ in range(3):
        t = time.perf_counter()
        ex(batch[:32]), ex(batch[32:])
        rates.append(64 / (time.perf_counter() - t))
    out["pure_inference_per_s"] = round(max(rates), 1)
    n = min(len(files), a.get("baseline_n") or len(files))
    with measured(out, "one_predict_per_image", n):
        base = baselines.predict_each([folder / f for f in files[:n]])
    out["ratio"] = round(out["one_predict_per_image"]["wall_s"] / n / (s["wall_s"] / len(files)), 2)
    cos = np.sum(base * feats[:n], 1) / (np.linalg.norm(base, axis=1) * np.linalg.norm(feats[:n], axis=1))
    out["cosine_to_baseline_mean"] = round(float(cos.mean()), 3)  # same model; decoding differs slightly
    out["failed"] = len(failed)
    return out


CHILDREN = {"build": child_build, "mosaic": child_mosaic, "features": child_features}


def run_child(task: str, args: dict, log: Path) -> dict:
    """Run one measured task in a fresh process; its result is its last stdout line (JSON)."""
    cmd = [PY, str(Path(__file__).resolve()), "--child", task, json.dumps(args)]
    with open(log, "a") as err:
        err.write(f"\n$ {task} {json.dumps(args)}\n")
        err.flush()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT)
    if p.returncode:
        raise SystemExit(f"bench child {task} failed (exit {p.returncode}); see {log}")
    return json.loads(p.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the parent

def timed_cli(argv: list[str]) -> float:
    """Wall time of a whole `python run.py ...` process (imports included), as a user sees it."""
    t = time.perf_counter()
    p = subprocess.run([PY, str(ROOT / "run.py"), *argv], cwd=ROOT, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"run.py failed: {p.stderr[-2000:]}")
    return round(time.perf_counter() - t, 2)


def count_files(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.npy")) if folder.exists() else 0


def bench_size(n: int, o: argparse.Namespace, log: Path) -> dict:
    import sources
    work = Path(o.work)
    res: dict = {"n": n}
    t = time.perf_counter()
    images, csv_path = (linked_collection(work, n, o.distinct) if 0 < o.distinct < n
                        else sources.artworks(work, n))
    res["make_collection_s"] = round(time.perf_counter() - t, 1)
    byo = n > o.byo_above
    run = work / f"run-{n}"
    kept = work / f"thumbs-{n}"
    if o.reuse_thumbs and (run / "cache" / "thumbs").is_dir():
        shutil.rmtree(kept, ignore_errors=True)
        (run / "cache" / "thumbs").rename(kept)
    shutil.rmtree(run, ignore_errors=True)
    if o.reuse_thumbs and kept.is_dir():  # only the thumbnails stage starts warm
        (run / "cache").mkdir(parents=True)
        kept.rename(run / "cache" / "thumbs")
        res["thumbnails_reused"] = True
    extra = {} if o.full_res is None else {"full_res": o.full_res}
    if byo:
        extra["features"] = str(sources.given_features(work, n))
        res["features_given"] = extra["features"]
    args = {"images": str(images), "csv": str(csv_path), "out": str(run / "site"), "cache": str(run / "cache"),
            "n": n, "extra": extra}
    res["build"] = run_child("build", args, log)
    data = run / "site" / "data"
    res["site"] = {name: {"bytes": (data / name).stat().st_size,
                          "gzip_bytes": len(gzip.compress((data / name).read_bytes(), 6))}
                   for name in ("collection.json", "search.json")}
    res["neighbours_recall"] = neighbour_recall(run)
    cells = sorted(str(p) for p in (run / "cache" / "thumbs").rglob("*.cell.jpg"))
    if "mosaic" not in o.skip:
        cells_file = run / "cells.json"
        cells_file.write_text(json.dumps(cells))
        m = {"salon": run_child("mosaic", {"cells": str(cells_file), "method": "salon", "out": str(run / "m1")}, log)}
        if n <= o.baseline_max:
            m["one_canvas"] = run_child("mosaic", {"cells": str(cells_file), "method": "canvas",
                                                   "out": str(run / "m2")}, log)
            m["ratio"] = round(m["one_canvas"]["canvas"]["wall_s"] / m["salon"]["salon"]["wall_s"], 2)
        else:
            side = grid_side(n)
            m["one_canvas"] = {"skipped": f"canvas would be {side * 128}x{side * 128} px, "
                                          f"{(side * 128) ** 2 * 3 / 2**30:.1f} GiB as RGB"}
        shutil.rmtree(run / "m1", ignore_errors=True)
        shutil.rmtree(run / "m2", ignore_errors=True)
        res["mosaic"] = m
    if "rebuild" not in o.skip:
        res["rebuild"] = rebuilds(n, images, csv_path, run, extra, o)
    if not o.keep:
        shutil.rmtree(run, ignore_errors=True)
    return res


def linked_collection(work: Path, n: int, distinct: int) -> tuple[Path, Path]:
    """n items whose files are hard links to the first ``distinct`` varied artworks (item i to
    artwork i mod distinct), with the size-n CSV. Thumbnails and pyramids are cached by content,
    so a build makes only ``distinct`` of them: the stages after features can be measured at a
    million items without hours of decoding, and every later stage still sees n items."""
    import sources
    src, _ = sources.artworks(work, distinct)
    folder = work / f"linked-{n}-of-{distinct}"
    images = folder / "images"
    for i in range(n):
        path = images / sources.artwork_name(i)
        if i % sources.PER_FOLDER == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.link(src / sources.artwork_name(i % distinct), path)
    sources.write_csv(folder / "metadata.csv", sources._entries(), n)
    return images, folder / "metadata.csv"


def neighbour_recall(run: Path, sample: int = 300) -> float:
    """Share of the site's similar items that exact cosine search also finds, for sampled items."""
    import numpy as np
    reduced = next(np.load(p)["value"] for p in (run / "cache" / "memo").rglob("pca-*.npz"))
    unit = reduced / np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)
    data = run / "site" / "data"
    chunk = json.loads((data / "collection.json").read_text())["chunk_size"]
    rng = np.random.default_rng(0)
    hits = total = 0
    for i in rng.choice(len(unit), min(sample, len(unit)), replace=False):
        got = [j for j, _ in json.loads((data / "items" / f"{i // chunk}.json").read_text())["items"][i % chunk]["similar"]]
        sims = unit @ unit[i]
        sims[i] = -np.inf
        want = set(np.argsort(-sims)[:len(got)].tolist())
        hits, total = hits + len(want & set(got)), total + len(got)
    return round(hits / max(total, 1), 4)


def grid_side(n: int) -> int:
    import math
    return math.ceil(math.sqrt(n))


def rebuilds(n: int, images: Path, csv_path: Path, run: Path, extra: dict, o) -> dict:
    import sources
    argv = ["--images", str(images), "--metadata", str(csv_path), "--id", "bench", "--out", str(run / "site"),
            "--cache", str(run / "cache"), "--categories", "category,subcategory"]
    if extra.get("features"):
        argv += ["--features", extra["features"]]
    if "full_res" in extra:
        argv += ["--full-res", str(extra["full_res"])]
    out = {"nothing_changed_s": timed_cli(argv)}
    entries = sources._entries()
    sources.write_csv(csv_path, entries, n, edit=" (edited)")
    out["csv_edit_s"] = timed_cli(argv)
    sources.write_csv(csv_path, entries, n)
    if not extra.get("features") and n + 100 <= o.add_max:
        feats = run / "cache" / "features"
        before = count_files(feats)
        _add_images(images, n)
        sources.write_csv(csv_path, entries, n + 100)
        out["add_100_s"] = timed_cli(argv)
        out["add_100_features_computed"] = count_files(feats) - before
        for i in range(n, n + 100):
            (images / sources.artwork_name(i)).unlink()
        sources.write_csv(csv_path, entries, n)
    timed_cli(argv)  # leave the site as built from the collection
    return out


def _add_images(images: Path, n: int) -> None:
    """Write items n .. n+99 of the varied collection into the size-n folder."""
    import sources
    from PIL import Image
    entries = sources._entries()
    bases = sources._render_bases(images.parent.parent, entries)
    for i in range(n, n + 100):
        e = entries[i % len(entries)]
        with Image.open(bases / f"{e['hexcode']}.png") as base:
            im = sources._variant(base, i, 1 + i // len(entries))
        path = images / sources.artwork_name(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        im.save(path, "JPEG", quality=90)


def table(results: dict) -> str:
    lines = []
    f = results.get("features")
    if f:
        s, b = f["salon"], f["one_predict_per_image"]
        lines += [f"Features on {f['images']} JPEG photos, 640-6,000 px, {f['cores']} cores (model loaded "
                  f"beforehand: {f['load_model']['wall_s']} s, not counted)", "",
                  "| method | wall s | CPU s | img/s | peak RSS MB |", "|---|---|---|---|---|",
                  "| Salon (batched, decode overlapped) | "
                  f"{s['wall_s']} | {s['cpu_s']} | {s['per_s']} | {s['peak_rss_mb']} |",
                  "| one predict per image (Pillow decodes the whole photo) | "
                  f"{b['wall_s']} | {b['cpu_s']} | {b['per_s']} | {b['peak_rss_mb']} |",
                  f"| decode only (shrink-on-load, threads) | {f['decode_only']['wall_s']} | {f['decode_only']['cpu_s']} | "
                  f"{f['decode_only']['per_s']} | |",
                  f"| pure batched inference, pre-decoded (batch 32) | | | {f['pure_inference_per_s']} | |", "",
                  f"Salon vs one-predict-per-image: **{f['ratio']}x** faster. Stage wall / (CPU / cores) = "
                  f"**{s['wall_over_cpu_per_core']}** (target <= 1.15). Mean cosine between the two methods' "
                  f"features: {f['cosine_to_baseline_mean']}.", ""]
    sizes = results.get("sizes", [])
    if sizes:
        names = list(dict.fromkeys(k for r in sizes for k in r["build"]["stages"]))
        lines += ["Whole build, per stage: wall s / CPU s / peak RSS MB (fresh cache)", "",
                  "| stage | " + " | ".join(f"{r['n']:,} items" for r in sizes) + " |",
                  "|---|" + "---|" * len(sizes)]
        for name in names:
            cells = []
            for r in sizes:
                s = r["build"]["stages"].get(name)
                warm = " (warm: reused)" if name == "thumbnails" and r.get("thumbnails_reused") else ""
                cells.append(f"{s['wall_s']:.1f} / {s['cpu_s']:.1f} / {s['peak_rss_mb']:,}{warm}" if s else "")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("| **whole build** | " + " | ".join(
            f"**{r['build']['total_s']:.1f} s, peak {r['build']['peak_rss_mb']:,} MB**" for r in sizes) + " |")
        lines.append("| features from | " + " | ".join(
            "`--features` file" if r.get("features_given") else "CNN" for r in sizes) + " |")
        lines += ["", "| other | " + " | ".join(f"{r['n']:,}" for r in sizes) + " |", "|---|" + "---|" * len(sizes)]
        rows = [("mosaic: Salon wall s / peak MB", lambda r: _pair(r, "mosaic", "salon", "salon")),
                ("mosaic: one Pillow canvas wall s / peak MB", lambda r: _pair(r, "mosaic", "one_canvas", "canvas")),
                ("mosaic: canvas / Salon time", lambda r: r.get("mosaic", {}).get("ratio", "")),
                ("rebuild, nothing changed (whole process) s", lambda r: r.get("rebuild", {}).get("nothing_changed_s", "")),
                ("rebuild after a CSV edit s", lambda r: r.get("rebuild", {}).get("csv_edit_s", "")),
                ("rebuild after adding 100 images s", lambda r: r.get("rebuild", {}).get("add_100_s", "")),
                ("features computed after adding 100", lambda r: r.get("rebuild", {}).get("add_100_features_computed", "")),
                ("neighbours: recall of exact top-k (300 items)", lambda r: r.get("neighbours_recall", "")),
                ("collection.json bytes / gzip", lambda r: f"{r['site']['collection.json']['bytes']:,} / "
                                                          f"{r['site']['collection.json']['gzip_bytes']:,}"),
                ("search.json gzip (after first paint)", lambda r: f"{r['site']['search.json']['gzip_bytes']:,}")]
        for label, fn in rows:
            lines.append(f"| {label} | " + " | ".join(str(fn(r)) for r in sizes) + " |")
    return "\n".join(lines)


def _pair(r: dict, a: str, b: str, c: str) -> str:
    v = r.get(a, {}).get(b, {})
    if "skipped" in v:
        return "not run: " + v["skipped"]
    v = v.get(c)
    return f"{v['wall_s']} / {v['peak_rss_mb']:,}" if v else ""


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(CHILDREN[sys.argv[2]](json.loads(sys.argv[3]))))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000", help="collection sizes, comma-separated (default 1000,10000)")
    p.add_argument("--work", default="/tmp/salon-bench", help="folder for collections and builds")
    p.add_argument("--photos", type=int, default=210, help="photos for the feature benchmark (default 210)")
    p.add_argument("--baseline-n", type=int, default=0, help="run one-predict-per-image on the first N photos only")
    p.add_argument("--byo-above", type=int, default=20000,
                   help="above this size, builds use a --features file instead of the CNN (default 20000)")
    p.add_argument("--baseline-max", type=int, default=20000, help="largest size for the one-canvas mosaic (default 20000)")
    p.add_argument("--add-max", type=int, default=20100, help="largest size for the add-100-images rebuild")
    p.add_argument("--distinct", type=int, default=0,
                   help="sizes above N are hard links to N distinct images (thumbnails cost N; default: all distinct)")
    p.add_argument("--full-res", type=int, default=None,
                   help="the builds' --full-res (default: the build's own; 0 for no per-item pyramids)")
    p.add_argument("--skip", default="", help="comma-separated: features, mosaic, rebuild")
    p.add_argument("--keep", action="store_true", help="keep the built sites and caches")
    p.add_argument("--reuse-thumbs", action="store_true",
                   help="keep the thumbnails of the last run of a size (their stage is then warm)")
    p.add_argument("--json", default=str(HERE / "results.json"), help="where to write the results")
    p.add_argument("--table", metavar="JSON,JSON", help="only print one table merged from earlier results files")
    o = p.parse_args()
    if o.table:
        merged: dict = {"sizes": []}
        for f in o.table.split(","):
            r = json.loads(Path(f).read_text())
            merged["features"] = r.get("features") or merged.get("features")
            merged["sizes"] += r.get("sizes", [])
        merged["sizes"].sort(key=lambda r: r["n"])
        print(table(merged))
        return
    o.skip = set(filter(None, o.skip.split(",")))
    work = Path(o.work)
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    results: dict = {"command": " ".join(sys.argv), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                     "load_average_at_start": os.getloadavg(), "cores": len(os.sched_getaffinity(0))}
    if "features" not in o.skip:
        import sources
        folder = sources.photos(work, o.photos)
        results["features"] = run_child("features", {"photos": str(folder), "cache": str(work / "features-cache"),
                                                     "baseline_n": o.baseline_n}, log)
    results["sizes"] = []
    for n in [int(v) for v in o.sizes.split(",") if v]:
        results["sizes"].append(bench_size(n, o, log))
        Path(o.json).write_text(json.dumps(results, indent=1))
    results["load_average_at_end"] = os.getloadavg()
    Path(o.json).write_text(json.dumps(results, indent=1))
    print(table(results))
    print(f"\nJSON: {o.json}   log: {log}")


if __name__ == "__main__":
    main()
