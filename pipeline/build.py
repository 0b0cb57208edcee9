"""The build: run every stage in order, reusing cached work, and publish the site.

``build()`` reads like the README's stage table: each stage is a short function of explicit
inputs, and every cached stage result goes through ``Memo.get`` (computed once per input key).
"""
from __future__ import annotations

import shutil
from collections.abc import Container
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from . import (
    UserError,
    compress,
    decode,
    distributed,
    exclude,
    features,
    iiif_in,
    iiif_out,
    image_search,
    intake,
    layouts,
    metadata,
    mosaic,
    neighbours,
    projection,
    pyramids,
    regions,
    site,
    textindex,
    thumbnails,
)
from .cache import Memo, key
from .model import GIVEN, Model, resolve
from .report import Report


@dataclass
class Settings:
    images: str
    metadata: str | None = None
    id: str = "collection"
    out: Path = Path("site")
    cache: Path = Path(".salon-cache")
    filename_column: str = "filename"
    title: str | None = None              # column or {Column} template
    url: str | None = None                # column or {Column} template
    categories: list[str] | None = None   # facet columns (None: detect)
    columns: list[str] | None = None      # CSV columns published as fields, names or patterns (None: all)
    private_columns: list[str] | None = None  # CSV columns published nowhere (names or patterns)
    encoding: str | None = None
    delimiter: str | None = None
    name: str | None = None               # the collection's display title
    description: str = ""
    credit: str = ""
    credit_url: str = ""
    model: str = features.DEFAULT_MODEL
    weights: str | None = None
    batch: int = 32
    pca: int = 256
    tsne: str = "opentsne"
    projection: str = "tsne"              # tsne | umap: the similarity map
    layouts: list[str] = field(default_factory=list)  # --layout NAME=XCOL,YCOL: positions from CSV columns
    relayout: bool = False                # recompute map and grid from scratch (else new items join the old)
    perplexity: float = 30.0
    seed: int = 0
    grid: str = "auto"
    cell: tuple[int, int] = (128, 128)
    resize: str = "contain"
    background: str = "#ffffff"
    preview: int = 256
    tiles: mosaic.TileSpec = field(default_factory=mosaic.TileSpec)
    neighbours: int = 12
    group_by: str | None = None
    features: str | None = None           # bring-your-own features file (.npz / .npy + ids): no CNN
    chunk: int = 100                      # items per data/items file: a first click fetches ~50 KB, not ~500
    max_megapixels: float = decode.DEFAULT_MAX_MEGAPIXELS  # larger images are refused (bombs)
    strict: bool = False                  # any skipped file fails the build (for CI)
    exclude: str | None = None            # folder of images to leave out (placeholders)
    image_search: bool = True             # export the model + vectors for search by image
    full_res: int | None = pyramids.DEFAULT_CAP  # per-item pyramid's longest side; 0 off, None original size
    base_url: str | None = None           # where the site is published (IIIF ids); None: the preview address
    iiif: list[str] | None = None         # IIIF Manifests/Collections (URLs or files) read instead of/beside --images
    beside: str | None = None             # set by iiif_in.localise: the IIIF items' folder, read as iiif/ in --images
    iiif_canvases: str = "first"          # first | all canvases of each manifest
    lang: str | None = None               # language picked from IIIF language maps, and of the IIIF written
    dask: str | None = None               # scheduler address: thumbnails and features as Dask tasks
    workers: int | None = None            # or a local Dask cluster of N processes (pipeline/distributed.py)
    labels: str | None = None             # --labels CSV (a member's file name, label): names regions


@dataclass
class Items:
    """The collection's usable images, in order: relative path and content digest of each.
    Stages that fail an image drop it here, and every later stage sees the same list."""
    ids: list[str]
    digests: dict[str, str]

    def __len__(self) -> int:
        return len(self.ids)

    def without(self, failed: Container[str]) -> tuple[Items, np.ndarray]:
        """The items not in ``failed``, and the boolean mask of kept rows."""
        keep = np.array([r not in failed for r in self.ids], dtype=bool)
        return Items([r for r in self.ids if r not in failed], self.digests), keep

    def hashes(self) -> list[str]:
        return [self.digests[r] for r in self.ids]


def build(s: Settings) -> Report:
    """Build the site described by ``s`` into ``s.out``; return the report (also in report.json)."""
    rep = Report(settings={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(s).items()})
    cache = Path(s.cache)
    if s.iiif:  # IIIF sources become an image folder and a CSV in the cache, read as or beside --images/--metadata
        with rep.stage("iiif-in"):
            s = iiif_in.localise(s, rep)
    # before any work: publishing replaces --out whole, so it must be a folder Salon may replace
    site.check_output(Path(s.out), s.images, cache, {"the metadata CSV": s.metadata, "the --exclude folder":
                      s.exclude, "the --features file": s.features, "the --weights file": s.weights,
                      "the --labels file": s.labels})
    bg = intake.parse_colour(s.background)
    # a bad --model or --weights fails now, not after intake
    model = resolve(s.model, s.weights, s.features)
    ex = distributed.executor(s.dask, s.workers)  # now: an unreachable scheduler fails in seconds, not after intake
    if s.exclude and not Path(s.exclude).is_dir():
        raise UserError(f"--exclude {s.exclude}: not a folder (give a folder of images to leave out)")
    spec = thumbnails.ThumbSpec((s.cell[0], s.cell[1]), s.resize, max(s.preview, *s.cell), (bg[0], bg[1], bg[2]),
                                model.input_size)

    with rep.stage("intake"):
        root, items = _intake(s, rep, cache)
    memo = Memo(cache / "memo" / key(s.id, str(root)))
    with rep.stage("metadata"):
        joined = _metadata(s, root, items)
        layouts.parse_layout_flags(s.layouts, joined.fields)  # a bad --layout fails before the heavy stages
    with rep.stage("thumbnails"):
        # the CNN runs on each new thumbnail's decode as it is made (the features stage then finds
        # the vectors cached); not for a --features file or images that --exclude may drop
        stream = model.backend != GIVEN and not s.exclude
        if ex.name == "dask":  # fill the cache from the cluster; the stage below then finds it made
            ex.check_inputs(root, items.ids, cache)
            distributed.thumbnails(ex, root, items.digests, cache, spec, s.max_megapixels, model if stream else None)
        with features.streaming(cache, model, s.batch) as cnn:
            made = thumbnails.make_thumbnails(root, items.digests, cache, spec, s.max_megapixels,
                                              cnn.feed if stream else None)
        rep.skipped.update(made.failed)
        rep.warnings += [f"{rel}: {why}" for rel, why in made.warnings.items()]
    if s.exclude:
        with rep.stage("exclude"):
            ok, _ = items.without(rep.skipped)
            rep.excluded = exclude.match({r: items.digests[r] for r in ok.ids},
                                         exclude.load_unwanted(s.exclude, spec, s.max_megapixels), cache, spec)
    items, _ = items.without(rep.skipped.keys() | rep.excluded.keys())
    with rep.stage("features"):
        if ex.name == "dask" and not s.features:
            distributed.features(ex, root, list(zip(items.ids, items.hashes())), cache, model, bg, s.batch)
        ex.close()
        items, feats, fkey = _features(s, rep, memo, root, items, cache, model, bg)
    if not items:
        raise UserError("\n".join([f"none of the {len(items.digests)} image files could be decoded:",
                                   *rep.skipped_lines()]))
    if s.strict and rep.skipped:
        raise UserError(rep.strict_failure())
    with rep.stage("pca"):
        pkey = key(fkey, len(items), s.pca, s.seed)
        pca = memo.get("pca", pkey, partial(_pca, feats, s.pca, s.seed))
    # later stages read the full vectors only to name regions with the default model's classes
    kept_feats = feats if model.browser else None
    del feats  # 5 GB at a million items
    with rep.stage("tsne"):  # the map and grid, kept stable as images are added (pipeline/layouts.py)
        placed = _map_and_grid(s, memo, cache / "layout" / f"{key(s.id, str(root))}.npz", pkey, pca["value"], items)
        xy, cells, cols, rows, rep.layout = placed.xy, placed.cells, placed.cols, placed.rows, placed.info
    with rep.stage("neighbours"):
        near = _neighbours(s, memo, pkey, pca["value"], items, joined)
    with rep.stage("regions"):
        named, rep.regions, notes = regions.make(
            xy, cells, cols, pca["value"], kept_feats, model,
            joined.fields, [joined.records[r] for r in items.ids], items.ids, s.labels, memo=memo)
        rep.warnings += notes
    thumbs = [thumbnails.thumbnail_paths(cache, spec, d) for d in items.hashes()]  # (cell, preview)
    with rep.stage("mosaic"):
        tiles_dir = _mosaic(s, cache, root, [t[0] for t in thumbs], cells, cols, rows, spec, bg)
    with rep.stage("pyramids"):
        pyr = pyramids.for_build(s.full_res, root, {r: items.digests[r] for r in items.ids}, cache, bg)
    with rep.stage("site"):
        collection = site.Collection(
            id=s.id, title=s.name or s.id, description=s.description, credit=s.credit,
            credit_url=metadata.safe_url(s.credit_url) or "", fields=joined.fields, ids=items.ids,
            records=[joined.records[r] for r in items.ids], previews=[t[1] for t in thumbs],
            cells=cells, xy=xy, similar=near["idx"], scores=near["score"], cols=cols, rows=rows,
            cell=spec.cell, fit=spec.fit, projection=s.projection, regions=named)
        collection.layouts, notes = layouts.extra_layouts(joined.fields, [r.values for r in collection.records],
                                                          xy, s.layouts)
        _fill_report(rep, items, joined)
        rep.warnings += notes
        iiif_out.attach(collection, items.digests, pyr, s.base_url)
        _publish(s, rep, collection, pca, tiles_dir, cache, root, bg, model)
    rep.save(Path(s.out) / "report.json")  # with the site stage's time
    return rep


def _pca(feats: np.ndarray, components: int, seed: int) -> dict[str, np.ndarray]:
    return dict(zip(("value", "mean", "components"), projection.pca_fit(feats, components, seed)))


def _map_and_grid(s: Settings, memo: Memo, state: Path, pkey: str, reduced: np.ndarray,
                  items: Items) -> layouts.Placed:
    """The similarity map (t-SNE or UMAP) and grid: the last build's, with new items added, or fresh."""
    method = "umap" if s.projection == "umap" else s.tsne
    tkey = key(pkey, method, s.perplexity, s.seed, "raw", projection.EMBED_VERSION)
    setup = key(method, s.perplexity, s.seed, s.pca, s.grid, s.model, s.weights, bool(s.features))
    return layouts.stable_map(state, items.ids, items.hashes(), reduced, setup, lambda: memo.get(
        "tsne", tkey, lambda: {"value": projection.embed(reduced, method, s.perplexity, s.seed)})["value"],
        s.grid, method, s.perplexity, s.seed, s.relayout)


def _intake(s: Settings, rep: Report, cache: Path) -> tuple[Path, Items]:
    """Find the image files and hash their content; unreadable files are skipped."""
    found = intake.find_sources(s.images, s.beside, cache)
    rep.ignored = len(found.ignored)
    rep.skipped.update(found.refused)
    digests = intake.hash_files(found.root, found.files, cache / "index" / f"{key(str(found.root))}.json")
    rep.skipped.update({rel: "cannot read the file" for rel in found.files if rel not in digests})
    if not digests:
        raise UserError(f"no images found in {s.images!r} (looked for: "
                        f"{', '.join(sorted(intake.IMAGE_SUFFIXES))})")
    return found.root, Items(list(digests), digests)


def _metadata(s: Settings, root: Path, items: Items) -> metadata.Joined:
    """Read the CSV and join its rows to the images."""
    table = (metadata.read_table(Path(s.metadata), s.encoding, s.delimiter) if s.metadata
             else metadata.Table([], []))
    if s.beside:
        table = iiif_in.rows_beside(table, s.beside, s.filename_column, s.title, s.url)
    joined = metadata.join(table, items.ids, s.filename_column, s.title, s.url, s.categories, root=root,
                           columns=s.columns, private=s.private_columns)
    if s.group_by and s.group_by not in [f["key"] for f in joined.fields]:
        raise UserError(f"--group-by {s.group_by!r} is not a CSV column; the columns are: "
                        f"{', '.join(table.columns) or '(no CSV)'}")
    return joined


def _features(s: Settings, rep: Report, memo: Memo, root: Path, items: Items, cache: Path,
              model: Model, bg: list[int]) -> tuple[Items, np.ndarray, str]:
    """One vector per item: the CNN's (cached per image) or the user's --features file.
    Items whose features fail are dropped; the failures are cached with the result."""
    fkey = key(model.key, thumbnails.CNN_INPUT_VERSION, items.hashes(), items.ids if s.features else None)

    def compute() -> dict[str, np.ndarray]:
        if s.features:
            feats, failed = features.load_given(Path(s.features), items.ids)
        else:
            feats, failed = features.extract(root, list(zip(items.ids, items.hashes())), cache, model, bg, s.batch)
        return {"features": feats, "failed": np.array(sorted(failed)),
                "reasons": np.array([failed[r] for r in sorted(failed)])}

    # a --features file is read again (mapped: seconds), not copied into the cache (5 GB at a million)
    got = compute() if s.features else memo.get("features", fkey, compute)
    failed = dict(zip(got["failed"].tolist(), got["reasons"].tolist()))
    rep.skipped.update(failed)
    kept, mask = items.without(failed)
    return kept, got["features"] if mask.all() else got["features"][mask], fkey


def _neighbours(s: Settings, memo: Memo, pkey: str, reduced: np.ndarray, items: Items,
                joined: metadata.Joined) -> dict[str, np.ndarray]:
    """Each item's most similar items (only within its --group-by value, if given)."""
    groups = None
    if s.group_by:
        col = [f["key"] for f in joined.fields].index(s.group_by)
        groups = np.array([joined.records[r].values[col] for r in items.ids])
    nkey = key(pkey, s.neighbours, None if groups is None else groups.tolist())
    return memo.get("neighbours", nkey, lambda: dict(zip(
        ("idx", "score"), neighbours.nearest(reduced, s.neighbours, groups, seed=s.seed))))


def _mosaic(s: Settings, cache: Path, root: Path, cell_files: list[Path], cells: np.ndarray,
            cols: int, rows: int, spec: thumbnails.ThumbSpec, bg: list[int]) -> Path:
    """The Deep Zoom pyramid of the grid, cached under a key of its cells; returns its folder."""
    order: list[Path | None] = [None] * (cols * rows)
    for i, f in enumerate(cell_files):
        order[cells[i]] = f
    mkey = key([str(p) for p in order], cols, rows, asdict(spec), asdict(s.tiles))
    tiles_dir = cache / "tiles" / key(s.id, str(root)) / mkey
    if not (tiles_dir / "mosaic.dzi").exists():
        for old in tiles_dir.parent.glob("*"):  # one pyramid per collection: drop the last one
            shutil.rmtree(old, ignore_errors=True)
        mosaic.build(order, cols, rows, spec.cell, bg, s.tiles, tiles_dir)
    return tiles_dir


def _publish(s: Settings, rep: Report, collection: site.Collection, pca: dict[str, np.ndarray],
             tiles_dir: Path, cache: Path, root: Path, bg: list[int], model: Model) -> None:
    """Write the whole site beside the old one, then swap it in."""
    out = Path(s.out)
    with site.staging_dir(out) as staging:
        if s.image_search and model.browser:
            collection.image_search = image_search.export(staging, pca["value"], pca["mean"], pca["components"],
                                                          model, bg, cache)
        elif s.image_search:
            rep.warnings.append("image search left out: --features vectors come from no model the browser can run"
                                if s.features else f"image search left out: only the default model "
                                f"({features.DEFAULT_MODEL}) has a browser export, not --model {s.model}")
        site.write(collection, tiles_dir, staging, s.chunk)
        if note := textindex.write(staging, collection.fields, collection.records, cache):  # prebuilt index
            rep.warnings.append(note)
        with compress.ahead(staging, cache):  # the large files compressed meanwhile, on the other cores
            rep.iiif = iiif_out.write(staging, collection, s.lang, cache)
            neighbours.export(collection.ids, collection.similar, collection.scores, staging / "data",
                              cache / "exports" / key(s.id, str(root)))
        rep.compressed = compress.precompress(staging, cache)
        rep.save(staging / "report.json")
        site.publish(staging, out)


def _fill_report(rep: Report, items: Items, joined: metadata.Joined) -> None:
    rep.items = len(items)
    by_digest: dict[str, list[str]] = {}
    for rel in items.ids:
        by_digest.setdefault(items.digests[rel], []).append(rel)
    rep.duplicates = [group for group in by_digest.values() if len(group) > 1]
    rep.rows_without_image = joined.rows_without_image
    included = set(items.ids)
    rep.images_without_row = [r for r in joined.images_without_row if r in included]
    rep.duplicate_rows = joined.duplicate_rows
    rep.rows_refused = joined.refused_rows
    rep.warnings = joined.warnings + rep.warnings
