"""Benchmark collections made from real images, repeated and varied to reach any size.

* ``artworks(n)``: OpenMoji's colour SVGs (npm ``openmoji``, installed with the project), each
  rendered once at 192 px. Item i uses artwork ``i % A``; every repeat after the first is varied
  deterministically (mirror, quarter turn, crop to 70-100 %, per-channel colour gain, a random
  background colour) and written as a JPEG of 160-320 px. A metadata CSV goes beside it.
* ``photos(n)``: JPEG photos of mixed sizes up to 6,000 px made from the two real photographs
  scikit-learn ships (``china.jpg``, ``flower.jpg``): random crops, mirrors and colour shifts,
  resized to a long side drawn from 640-6,000 px.

Everything is cached under the work folder; a second run reuses it.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OPENMOJI = ROOT / "node_modules" / "openmoji"
PER_FOLDER = 1000
PHOTO_SIDES = [640, 1024, 1600, 2400, 3200, 4000, 6000]


def _entries() -> list[dict]:
    data = json.loads((OPENMOJI / "data" / "openmoji.json").read_text("utf-8"))
    return [e for e in data if not e.get("skintone") and (OPENMOJI / "color" / "svg" / f"{e['hexcode']}.svg").is_file()]


_RENDER = r"""
import os, sys
from concurrent.futures import ThreadPoolExecutor
import pyvips
svgs, folder = sys.argv[1], sys.argv[2]
def one(hexcode):
    out = os.path.join(folder, hexcode + ".png")
    if not os.path.exists(out):
        im = pyvips.Image.thumbnail(os.path.join(svgs, hexcode + ".svg"), 192, height=192)
        im.pngsave(out + ".tmp.png", compression=1)
        os.replace(out + ".tmp.png", out)
with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
    list(pool.map(one, sys.stdin.read().split()))
"""


def _render_bases(work: Path, entries: list[dict]) -> Path:
    """Each artwork rendered once to a 192 px RGBA PNG by libvips' SVG loader, in a process of
    its own: importing the pipeline blocks libvips' file loaders for SVG (pipeline/decode.py)."""
    folder = work / "openmoji-192"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", _RENDER, str(OPENMOJI / "color" / "svg"), str(folder)], check=True,
                   input="\n".join(e["hexcode"] for e in entries), text=True)
    return folder


def _variant(base: Image.Image, i: int, repeat: int) -> Image.Image:
    rng = np.random.default_rng(i)
    im = base.convert("RGBA")
    bg = (255, 255, 255)
    if repeat:
        if rng.random() < 0.5:
            im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        im = im.rotate(90 * int(rng.integers(4)))
        w, h = im.size
        f = rng.uniform(0.7, 1.0)
        cw, ch = int(w * f), int(h * f)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        im = im.crop((x, y, x + cw, y + ch))
        arr = np.asarray(im).astype(np.float32)
        arr[..., :3] *= rng.uniform(0.75, 1.25, 3)
        im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGBA")
        bg = tuple(int(v) for v in rng.integers(180, 256, 3))
    out = Image.new("RGB", im.size, bg)
    out.paste(im, mask=im.getchannel("A"))
    side = int(rng.integers(160, 321))
    return out.resize((side, side * out.height // out.width), Image.Resampling.BILINEAR)


def artwork_name(i: int) -> str:
    return f"d{i // PER_FOLDER:03d}/m{i:06d}.jpg"


def artworks(work: Path, n: int, start: int = 0) -> tuple[Path, Path]:
    """Images ``start .. n-1`` of the varied OpenMoji collection and its CSV (all n rows)."""
    entries = _entries()
    bases = _render_bases(work, entries)
    folder = work / f"artworks-{n}"
    images = folder / "images"

    def one(i: int) -> None:
        path = images / artwork_name(i)
        if path.exists():
            return
        e = entries[i % len(entries)]
        with Image.open(bases / f"{e['hexcode']}.png") as base:
            im = _variant(base, i, i // len(entries))
        path.parent.mkdir(parents=True, exist_ok=True)
        im.save(str(path) + ".tmp", "JPEG", quality=90)
        os.replace(str(path) + ".tmp", path)

    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(one, range(start, n), chunksize=256))
    csv_path = folder / "metadata.csv"
    write_csv(csv_path, entries, n)
    return images, csv_path


def write_csv(path: Path, entries: list[dict], n: int, edit: str = "") -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["filename", "title", "author", "date", "category", "subcategory", "hexcode"])
    for i in range(n):
        e, rep = entries[i % len(entries)], i // len(entries)
        title = e.get("annotation", "") + (f" (variant {rep})" if rep else "")
        w.writerow([artwork_name(i), title + (edit if i == 0 else ""), e.get("openmoji_author", ""),
                    e.get("openmoji_date", ""), e.get("group", ""), e.get("subgroups", ""), e["hexcode"]])
    tmp = path.with_suffix(".tmp")
    tmp.write_text(buf.getvalue(), "utf-8")
    os.replace(tmp, path)


def photos(work: Path, n: int, seed: int = 0) -> Path:
    """``n`` JPEG photos with long sides spread over 640-6,000 px."""
    from sklearn.datasets import load_sample_images
    sources = [Image.fromarray(a) for a in load_sample_images().images]
    folder = work / f"photos-{n}"
    folder.mkdir(parents=True, exist_ok=True)

    def one(i: int) -> None:
        path = folder / f"p{i:05d}.jpg"
        if path.exists():
            return
        rng = np.random.default_rng(seed * 1_000_003 + i)
        src = sources[i % len(sources)]
        w, h = src.size
        cw, ch = int(w * rng.uniform(0.4, 1.0)), int(h * rng.uniform(0.4, 1.0))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        im = src.crop((x, y, x + cw, y + ch))
        if rng.random() < 0.5:
            im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        arr = np.asarray(im).astype(np.float32) * rng.uniform(0.8, 1.2, 3)
        im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        side = PHOTO_SIDES[i % len(PHOTO_SIDES)]
        scale = side / max(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.BILINEAR)
        im.save(str(path) + ".tmp", "JPEG", quality=88)
        os.replace(str(path) + ".tmp", path)

    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(one, range(n)))
    return folder


def given_features(work: Path, n: int) -> Path:
    """A ``--features`` file for the size-n collection: real CNN features of each artwork,
    computed once, with a small multiplicative jitter per varied repeat (as its image is varied)."""
    out = work / f"artworks-{n}" / "features.npy"  # .npy, not .npz: the build maps it (5 GB at a million)
    if out.exists():
        return out
    base_file = work / "openmoji-192-features.npy"
    entries = _entries()
    if not base_file.exists():
        sys.path.insert(0, str(ROOT))
        from pipeline import cache, features, model
        bases = _render_bases(work, entries)
        items = [(f"{e['hexcode']}.png", cache.file_digest(bases / f"{e['hexcode']}.png")) for e in entries]
        feats, _ = features.extract(bases, items, work / "features-cache-bases", model.resolve(),
                                    [255, 255, 255])
        np.save(base_file, feats)
    base = np.load(base_file)
    a = len(base)
    rng = np.random.default_rng(n)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = str(out)[:-4] + ".tmp.npy"
    feats = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, base.shape[1]))
    for s in range(0, n, 10_000):
        i = np.arange(s, min(n, s + 10_000))
        jitter = np.where((i >= a)[:, None], rng.lognormal(0, 0.25, (len(i), base.shape[1])), 1)
        feats[i] = base[i % a] * jitter
    feats.flush()
    del feats
    Path(f"{out}.ids.txt").write_text("".join(f"{artwork_name(i)}\n" for i in range(n)), encoding="utf-8")
    os.replace(tmp, out)  # last: its presence says both files are whole
    return out
