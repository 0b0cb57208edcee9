"""Search by image: scores of true matches against unrelated images, to choose the "no close match" rule.

  .venv/bin/python bench/search_libs/image_calibration.py SITE [--sample 120] [--json FILE]

SITE: a demo site built with search by image, e.g. `run.py demo --limit 600 --out /tmp/d/site`.
Queries go through pipeline/image_search.py (load_index, pixels, embed, rank): the CLI's own path.

* true matches: a sample of the collection's artworks (the demo's SVGs) rendered and changed as a
  visitor's copy would be: cropped to 75 % (centre) or 60 % (a corner), shrunk to 96 px, re-encoded
  as JPEG quality 40, colours shifted, on a grey background; each should find its own item;
* unrelated (held out, none in the collection): OpenMoji artworks left out of the site (the same
  style, other subjects: the hardest case), crops of the two photographs scikit-learn ships (a
  building, a flower), and generated pictures (seascapes: sky, sea and horizon; noise; stripes;
  flat colours).

For each query it records the top score, the margin over the second score, and the top score
relative to the collection's typical nearest-neighbour score (the median of each item's best
neighbour, over the vectors the site ships). Prints the distributions and, for candidate rules,
how many true matches are kept and how many unrelated images are wrongly called a match.
"""
from __future__ import annotations

import argparse
import io
import json
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipeline import image_search  # noqa: E402
from pipeline.decode import decode  # noqa: E402

SVG = ROOT / "node_modules" / "openmoji" / "color" / "svg"


def _png(im: Image.Image, path: Path) -> Path:
    im.convert("RGB").save(path)
    return path


def render(svg: Path, px: int = 320) -> Image.Image:
    v = decode(svg, px, px, "contain", [255, 255, 255])
    return Image.frombytes("RGB", (v.width, v.height), v.write_to_memory())


def variants(im: Image.Image, rnd: random.Random) -> dict[str, Image.Image]:
    w, h = im.size
    jpeg = io.BytesIO()
    im.save(jpeg, "JPEG", quality=40)
    grey = Image.new("RGB", (w + 80, h + 80), (128, 128, 128))
    grey.paste(im, (40, 40))
    r, g, b = im.split()
    return {
        "crop 75%": im.crop((w // 8, h // 8, w - w // 8, h - h // 8)),
        "corner 60%": im.crop((0, 0, int(w * 0.6), int(h * 0.6))),
        "96 px": im.resize((96, 96), Image.Resampling.BILINEAR),
        "jpeg q40": Image.open(io.BytesIO(jpeg.getvalue())),
        "colour shift": Image.merge("RGB", (r.point(lambda v: min(255, int(v * 1.2))), g, b.point(lambda v: int(v * 0.8)))),
        "grey border": grey,
        "mirrored": ImageOps.mirror(im),
    }


def unrelated(rnd: random.Random, held_out: list[Path], out: Path) -> list[tuple[str, Path]]:
    from sklearn.datasets import load_sample_images
    found = [("held-out artwork", _png(render(p), out / f"held-{p.stem}.png")) for p in held_out]
    for k, photo in enumerate(load_sample_images().images):
        im = Image.fromarray(photo)
        for j in range(15):
            s = rnd.uniform(0.3, 0.9)
            w, h = int(im.width * s), int(im.height * s)
            x, y = rnd.randint(0, im.width - w), rnd.randint(0, im.height - h)
            found.append(("photo crop", _png(im.crop((x, y, x + w, y + h)), out / f"photo-{k}-{j}.png")))
    for j in range(20):  # seascapes: sky gradient, sea, a horizon, a sun or a boat
        im = Image.new("RGB", (480, 320))
        d = ImageDraw.Draw(im)
        horizon = rnd.randint(120, 220)
        for y in range(320):
            t = y / 320
            d.line([(0, y), (480, y)], fill=(int(120 + 100 * t), int(170 + 60 * t), 255) if y < horizon
                   else (10, int(60 + 80 * t), int(120 + 60 * t)))
        x = rnd.randint(40, 380)
        d.ellipse([x, 40, x + 50, 90], fill=(255, 230, 120))
        hull = [(x, horizon + 20), (x + 60, horizon + 20), (x + 45, horizon + 35), (x + 10, horizon + 35)]
        d.polygon(hull, fill=(90, 50, 20))
        found.append(("seascape", _png(im, out / f"sea-{j}.png")))
    for j in range(20):
        arr = np.random.default_rng(j).integers(0, 256, (224, 224, 3), dtype=np.uint8)
        found.append(("noise", _png(Image.fromarray(arr), out / f"noise-{j}.png")))
        im = Image.new("RGB", (300, 300), tuple(rnd.randint(0, 255) for _ in range(3)))
        if j % 2:
            d = ImageDraw.Draw(im)
            for x in range(0, 300, rnd.randint(10, 40)):
                d.rectangle([x, 0, x + 5, 300], fill=tuple(rnd.randint(0, 255) for _ in range(3)))
        found.append(("stripes" if j % 2 else "flat colour", _png(im, out / f"flat-{j}.png")))
    return found


def typical_neighbour(index: image_search.Index) -> float:
    """Median over items of the best cosine to another item, from the vectors the site ships."""
    v = index.scales[:, None] * index.codes.astype(np.float32)
    sims = v @ v.T
    np.fill_diagonal(sims, -1)
    return float(np.median(sims.max(axis=1)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("site", type=Path)
    ap.add_argument("--sample", type=int, default=120)
    ap.add_argument("--work", type=Path, default=Path("/tmp/salon-image-calibration"))
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(0)
    index = image_search.load_index(a.site)
    chunks = sorted((a.site / "data" / "items").glob("*.json"), key=lambda p: int(p.stem))
    ids = [it["id"] for c in chunks for it in json.loads(c.read_text())["items"]]
    sample = rnd.sample(range(len(ids)), min(a.sample, len(ids)))
    queries: list[tuple[str, Path, int]] = []
    for i in sample:
        for kind, im in variants(render(SVG / ids[i]), rnd).items():
            queries.append((kind, _png(im, a.work / f"true-{i}-{kind.replace(' ', '_').replace('%', '')}.png"), i))
    others = sorted(set(p.name for p in SVG.glob("*.svg")) - set(ids) - {n.upper() for n in ids})
    held = [SVG / n for n in rnd.sample(others, 80) if "-" not in n]  # skin-tone variants look like collection items
    queries += [(kind, p, -1) for kind, p in unrelated(rnd, held, a.work)]
    typical = typical_neighbour(index)
    rows = []
    for start in range(0, len(queries), 32):
        batch = queries[start:start + 32]
        _, vecs = image_search.embed(index, np.stack([image_search.pixels(index, p) for _, p, _ in batch]))
        for (kind, _, want), v in zip(batch, vecs):
            (i1, s1), (_, s2) = image_search.rank(index, v, 2)
            rows.append({"kind": kind, "true": want >= 0, "found": want == i1, "top": s1, "margin": s1 - s2,
                         "rel": s1 / typical})
    report(rows, typical, len(ids))
    if a.json:
        a.json.write_text(json.dumps({"typical": typical, "items": len(ids), "rows": rows}, indent=0))


def report(rows: list[dict], typical: float, n: int) -> None:
    print(f"collection: {n} items; typical nearest-neighbour score {typical:.3f}")
    print("| queries | n | found own item | top score: min / 5 % / median / 95 % / max | margin median |")
    print("|---|---:|---:|---|---:|")
    for kind in dict.fromkeys(r["kind"] for r in rows):
        rs = [r for r in rows if r["kind"] == kind]
        top = np.array([r["top"] for r in rs])
        q = np.quantile(top, [0, 0.05, 0.5, 0.95, 1])
        found = f"{np.mean([r['found'] for r in rs]):.0%}" if rs[0]["true"] else "-"
        print(f"| {kind} | {len(rs)} | {found} | " + " / ".join(f"{v:.2f}" for v in q)
              + f" | {np.median([r['margin'] for r in rs]):.3f} |")
    true = [r for r in rows if r["true"] and r["found"]]
    false = [r for r in rows if not r["true"]]
    print("\n| rule | true matches kept | unrelated called a match |\n|---|---:|---:|")
    for t in (0.5, 0.55, 0.6, 0.65, 0.7, 0.75):
        for rel in (0.0, 1.0, 1.1):
            def keep(r: dict, t: float = t, rel: float = rel) -> bool:
                return r["top"] >= t and r["rel"] >= rel
            print(f"| top >= {t:.2f}" + (f" and top >= {rel:.1f} x typical" if rel else "")
                  + f" | {np.mean([keep(r) for r in true]):.1%} | {np.mean([keep(r) for r in false]):.1%} |")


if __name__ == "__main__":
    main()
