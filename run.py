#!/usr/bin/env python3
"""Salon: turn a folder of images and a metadata CSV into a zoomable, searchable static site.

  python run.py --images photos/ --metadata photos.csv --id photos --out site
  python run.py -imagedir "photos/*.jpg" -metadata photos.csv -id photos      (same, short flags)
  python run.py demo                 build the built-in OpenMoji demo into site/
  python run.py search --site site/ query.jpg [--k 10]   the items most like an image
"""
from __future__ import annotations

import argparse
import re
import signal
import sys
from pathlib import Path

from pipeline import UserError
from pipeline.terminal import plain, plain_lines


def _size(text: str) -> tuple[int, int]:
    try:
        w, _, h = text.lower().partition("x")
        size = (int(w), int(h or w))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH such as 128x128, got {text!r}") from None
    if min(size) < 8 or max(size) > 1024:
        raise argparse.ArgumentTypeError("cell sides must be between 8 and 1024 px")
    return size


def _columns(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def parser() -> argparse.ArgumentParser:
    from pipeline.features import MODELS
    from pipeline.grid import GRID_METHODS
    from pipeline.projection import TSNE_METHODS
    p = argparse.ArgumentParser(
        prog="run.py", allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n")[0],
        epilog="Subcommands: `run.py demo [flags]` builds the OpenMoji demo; see README.md.")
    a = p.add_argument_group("input")
    a.add_argument("--images", "-imagedir", metavar="DIR|GLOB",
                   help="image folder (searched recursively) or a quoted glob such as 'photos/*.jpg' "
                        "(required unless --iiif)")
    a.add_argument("--metadata", "-metadata", metavar="CSV", help="metadata CSV, one row per image")
    a.add_argument("--filename-column", "-fn", default="filename", metavar="COLUMN",
                   help="CSV column holding the image file name (default: filename)")
    a.add_argument("--title", "-title", metavar="TEMPLATE",
                   help="title: a column name or a template such as '{Name} ({Year})' "
                        "(default: the title column, else the file name)")
    a.add_argument("--url", "-url", metavar="TEMPLATE",
                   help="record link: a column or template such as 'https://archive.example/{Id}/'; each value "
                        "put into a template is percent-encoded (all but letters, digits, - . _ ~ /), except a "
                        "full URL (https://...) that starts it; a column given whole is used as written")
    a.add_argument("--columns", type=_columns, metavar="COL,PATTERN",
                   help="publish only these CSV columns as fields (names or patterns such as 'date_*'; "
                        "default: all). -title and -url may still use the others")
    a.add_argument("--private-columns", type=_columns, metavar="COL,PATTERN",
                   help="CSV columns never published anywhere in the site (names or patterns such as "
                        "'internal_*,donor_email'); a title, link, facet or group naming one is refused")
    a.add_argument("--categories", type=_columns, metavar="COL,COL",
                   help="columns to offer as facets (default: detected, columns with few distinct values)")
    a.add_argument("--encoding", help="CSV encoding (default: detected: UTF-8, UTF-16 or Windows-1252)")
    a.add_argument("--delimiter", help="CSV delimiter (default: sniffed among , ; tab |)")
    a.add_argument("--exclude", metavar="DIR",
                   help="folder of images to leave out (e.g. 'image not available' placeholders), "
                        "matched by content, also when re-encoded or resized")
    a.add_argument("--max-megapixels", type=float, default=1000.0, metavar="N",
                   help="refuse images larger than N megapixels, as decompression bombs; for an SVG, "
                        "the images it embeds (default: 1000)")
    a.add_argument("--strict", action="store_true",
                   help="fail (exit status 2, site not published) if any image file is skipped")
    o = p.add_argument_group("output")
    o.add_argument("--id", "-id", default="collection", help="short name of the collection (default: collection)")
    o.add_argument("--out", "-out", type=Path, default=Path("site"), help="site folder to write (default: site)")
    o.add_argument("--cache", type=Path, default=Path(".salon-cache"),
                   help="cache folder, keyed by content, safe to share between collections (default: .salon-cache)")
    o.add_argument("--name", help="the collection's title shown on the site (default: the id)")
    o.add_argument("--description", default="", help="a sentence or two about the collection, for the About panel")
    o.add_argument("--credit", default="", help="attribution line shown on the site")
    o.add_argument("--credit-url", default="", help="link for the attribution (http or https)")
    o.add_argument("--labels", metavar="CSV",
                   help="names for regions of the map: rows of (file name of an item, label); each renames the "
                        "region holding that item, in every rebuild (default: names made from the text)")
    m = p.add_argument_group("similarity")
    m.add_argument("--model", default="mobilenetv2", choices=MODELS,
                   help="CNN for image features (default: mobilenetv2, torchvision ImageNet weights, works offline)")
    m.add_argument("--weights", metavar="imagenet|PATH",
                   help="'imagenet' downloads keras.applications weights (needs internet); or a weights file")
    m.add_argument("--features", metavar="FILE",
                   help="your own feature vectors instead of the CNN: FILE.npz with arrays 'ids' (image paths "
                        "relative to the image folder, or file names) and 'features' (N x D), or FILE.npy with "
                        "its ids in FILE.npy.ids.txt, one per line")
    m.add_argument("--batch", type=int, default=32, help="images per CNN batch (default: 32)")
    m.add_argument("--pca", type=int, default=256, help="PCA components before t-SNE and neighbours (default: 256)")
    m.add_argument("--tsne", default="opentsne", choices=TSNE_METHODS, help="t-SNE implementation (default: opentsne)")
    m.add_argument("--projection", default="tsne", choices=["tsne", "umap"],
                   help="the similarity map: t-SNE (default) or UMAP (umap-learn); both deterministic for a seed")
    m.add_argument("--layout", dest="layouts", action="append", default=[], metavar="NAME=XCOL,YCOL",
                   help="an extra layout from two numeric CSV columns (coordinates computed elsewhere); repeatable")
    m.add_argument("--relayout", action="store_true",
                   help="recompute the map and grid from scratch (by default images added since the last build "
                        "join the old map and grid, and every earlier image keeps its place)")
    m.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity (default: 30)")
    m.add_argument("--seed", type=int, default=0, help="random seed: same inputs and seed, same layout (default: 0)")
    m.add_argument("--grid", default="auto", choices=GRID_METHODS,
                   help="grid assignment: exact (best, up to ~3,000 items), split (fast, RasterFairy's method), "
                        "rasterfairy (the package; slow above ~30,000), auto (default: exact, else split)")
    m.add_argument("--neighbors", "--neighbours", dest="neighbours", type=int, default=12,
                   help="similar images listed per item (default: 12)")
    m.add_argument("--group-by", metavar="COLUMN", help="only list similar images with the same value of COLUMN")
    m.add_argument("--no-image-search", dest="image_search", action="store_false",
                   help="leave search by image out of the site (saves ~20 MB: the model, runtime and vectors)")
    t = p.add_argument_group("mosaic and tiles")
    t.add_argument("--tile", "-tile", dest="cell", type=_size, default=(128, 128), metavar="WxH",
                   help="size of each image's cell in the mosaic (default: 128x128)")
    t.add_argument("--resize", "-resize", choices=["contain", "fill"], default="contain",
                   help="contain: whole image, letterboxed; fill: cropped to fill the cell (default: contain)")
    t.add_argument("--background", default="#ffffff",
                   help="colour behind transparent images and letterboxes (default: #ffffff)")
    t.add_argument("--preview", type=int, default=256,
                   help="longest side of the preview shown in the record panel (default: 256)")
    t.add_argument("--dzi-tile-size", type=int, default=254, help="Deep Zoom tile size (default: 254)")
    t.add_argument("--dzi-overlap", type=int, default=1, help="Deep Zoom tile overlap (default: 1)")
    t.add_argument("--dzi-format", choices=["jpg", "png", "webp"], default="jpg", help="tile format (default: jpg)")
    t.add_argument("--dzi-quality", type=int, default=85, help="JPEG/WebP tile quality (default: 85)")
    _iiif_flags(p)
    c = p.add_argument_group("cluster (docs/scaling.md)")
    c.add_argument("--dask", metavar="ADDRESS",
                   help="run the image stages (thumbnails, features) as tasks on the Dask cluster whose "
                        "scheduler is at ADDRESS (tcp://HOST:PORT); workers must read the images at the same paths")
    c.add_argument("--workers", type=int, metavar="N",
                   help="run the image stages on a local Dask cluster of N processes (prints its dashboard)")
    return p


def _lang_tag(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z]{1,8})*", text):
        raise ValueError(f"--lang takes a language tag such as en or de-CH; got {text!r}")
    return text


def _iiif_flags(p: argparse.ArgumentParser) -> None:
    from pipeline.iiif_out import base_url
    from pipeline.pyramids import DEFAULT_CAP, VECTOR_PX, parse_cap

    def checked(fn):
        def parse(text: str):
            try:
                return fn(text)
            except (ValueError, UserError) as e:
                raise argparse.ArgumentTypeError(str(e)) from None
        return parse
    g = p.add_argument_group("full resolution and IIIF")
    g.add_argument("--full-res", type=checked(parse_cap), default=DEFAULT_CAP, metavar="PX|0|max",
                   help=f"each item's own zoomable pyramid (IIIF level-0 image service), longest side capped "
                        f"at PX (default: {DEFAULT_CAP}; 0: none; max: the original size; SVG drawn at "
                        f"{VECTOR_PX} px or PX if smaller)")
    g.add_argument("--base-url", type=checked(base_url), metavar="URL",
                   help="the address where the site will be published, for the IIIF ids "
                        "(default: http://127.0.0.1:8080/, the npm start address)")
    g.add_argument("--iiif", action="append", metavar="SOURCE",
                   help="read a IIIF Presentation 2/3 Manifest or Collection (http(s) URL or file) in place of "
                        "or beside --images: each canvas's image becomes an item (beside: named iiif/...), its "
                        "fields from the manifest; repeatable")
    g.add_argument("--iiif-canvases", choices=["first", "all"], default="first",
                   help="with --iiif: the first image canvas of each manifest, or all (default: first)")
    g.add_argument("--lang", metavar="TAG", type=checked(_lang_tag),
                   help="language to pick from IIIF language maps (default: 'none', else the first), and "
                        "the language tag of the IIIF written (default: none)")


def settings(args: argparse.Namespace):
    from pipeline.build import Settings
    from pipeline.mosaic import TileSpec
    v = vars(args)
    tiles = TileSpec(v.pop("dzi_tile_size"), v.pop("dzi_overlap"), v.pop("dzi_format"), v.pop("dzi_quality"))
    return Settings(tiles=tiles, **v)


def search_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run.py search", allow_abbrev=False,
                                description="Print the items of a built site most like an image (id, title, score).")
    p.add_argument("--site", type=Path, default=Path("site"), help="the built site folder (default: site)")
    p.add_argument("query", type=Path, help="image file to search with")
    p.add_argument("--k", type=int, default=10, help="how many matches to print (default: 10)")
    return p


def search(argv: list[str]) -> int:
    from pipeline.image_search import search as find
    args = search_parser().parse_args(argv)
    if not args.query.is_file():
        raise UserError(f"query image not found: {args.query}")
    for hit in find(args.site, args.query, max(1, args.k)):
        print(f"{plain(hit['id'])}\t{plain(hit['title'])}\t{hit['score']:.4f}")
    return 0


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["search"]:
            return search(argv[1:])
        if argv[:1] == ["demo"]:
            from pipeline import demo
            rest = argv[1:]
            limit = None
            if "--limit" in rest:  # demo only: build from the first N artworks
                i = rest.index("--limit")
                limit, rest = int(rest[i + 1]), rest[:i] + rest[i + 2:]
            cache = Path(rest[rest.index("--cache") + 1]) if "--cache" in rest else Path(".salon-cache")
            images, csv_path = demo.prepare(cache / "demo-openmoji", limit)
            argv = ["--images", str(images), "--metadata", str(csv_path), *demo.DEMO_FLAGS, *rest]
        args = parser().parse_args(argv)
        if not args.images and not args.iiif:
            parser().error("give --images DIR (or a glob), or --iiif SOURCE")
        from pipeline.build import build
        from pipeline.report import on_interrupt
        signal.signal(signal.SIGINT, on_interrupt)
        rep = build(settings(args))
        print(rep.summary(args.out))
        print(f"Preview it: npm start   (serves {args.out}/ at http://127.0.0.1:8080)")
        return 0
    except UserError as e:
        print(f"error: {plain_lines(e)}", file=sys.stderr)  # quotes names and CSV values
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished work is cached; run the same command again to resume.", file=sys.stderr)
        return 130
    except Exception as e:
        from pipeline.report import disk_problem
        if not disk_problem(e):
            raise
        print(f"error: {plain_lines(disk_problem(e))}", file=sys.stderr)
        return 2


def cli() -> None:
    """The `salon` console command (pyproject.toml): the same as `python run.py`."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    cli()
