"""The build: run every stage in order, reusing cached work, and publish the site."""
from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import (UserError, exclude, features, grid, image_search, intake, metadata, mosaic, neighbours,
               projection, site, thumbnails)
from .cache import Memo, key
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
    chunk: int = 1000
    max_megapixels: float = thumbnails.DEFAULT_MAX_MEGAPIXELS  # larger images are refused (bombs)
    strict: bool = False                  # any skipped file fails the build (for CI)
    exclude: str | None = None            # folder of images to leave out (placeholders)
    image_search: bool = True             # export the model + vectors for search by image


def build(s: Settings) -> Report:
    """Build the site described by ``s`` into ``s.out``; return the report (also in report.json)."""
    rep = Report(settings={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(s).items()})
    cache = Path(s.cache)
    bg = intake.parse_colour(s.background)
    # a bad --model or --weights fails now, not after intake
    model_key = features.given_key(Path(s.features)) if s.features else features.model_key(s.model, s.weights)
    if s.exclude and not Path(s.exclude).is_dir():
        raise UserError(f"--exclude {s.exclude}: not a folder (give a folder of images to leave out)")

    with rep.stage("intake"):
        found = intake.find_images(s.images)
        rep.ignored = len(found.ignored)
        rep.skipped.update(found.refused)
        digests = intake.hash_files(found.root, found.files, cache / "index" / f"{key(str(found.root))}.json")
        rep.skipped.update({rel: "cannot read the file" for rel in found.files if rel not in digests})
    if not digests:
        raise UserError(f"no images found in {s.images!r} (looked for: "
                        f"{', '.join(sorted(intake.IMAGE_SUFFIXES))})")

    with rep.stage("metadata"):
        table = (metadata.read_table(Path(s.metadata), s.encoding, s.delimiter) if s.metadata
                 else metadata.Table([], []))
        joined = metadata.join(table, list(digests), s.filename_column, s.title, s.url, s.categories,
                               root=found.root)
        if s.group_by and s.group_by not in [f["key"] for f in joined.fields]:
            raise UserError(f"--group-by {s.group_by!r} is not a CSV column; the columns are: "
                            f"{', '.join(table.columns) or '(no CSV)'}")

    spec = thumbnails.ThumbSpec(tuple(s.cell), s.resize, max(s.preview, *s.cell), tuple(bg))
    with rep.stage("thumbnails"):
        made = thumbnails.make_thumbnails(found.root, digests, cache, spec, s.max_megapixels)
        rep.skipped.update(made.failed)
        rep.warnings += [f"{rel}: {why}" for rel, why in made.warnings.items()]

    if s.exclude:
        with rep.stage("exclude"):
            unwanted = exclude.load_unwanted(s.exclude, spec)
            rep.excluded = exclude.match({r: d for r, d in digests.items() if r not in rep.skipped},
                                         unwanted, cache, spec)
    ids = [rel for rel in digests if rel not in rep.skipped and rel not in rep.excluded]
    with rep.stage("features"):
        # --features FILE: the user's own vectors replace the CNN (rows matched by id)
        memo = Memo(cache / "memo" / key(s.id, str(found.root)))
        fkey = key(model_key, [digests[r] for r in ids], ids if s.features else None)
        got = memo.arrays("features", fkey)
        if got is None and s.features:
            feats, failed = features.load_given(Path(s.features), ids)
        elif got is None:
            feats, failed = features.extract(
                found.root, [(r, digests[r]) for r in ids], cache, model_key,
                lambda: features.load_extractor(s.model, s.weights), bg, s.batch)
        if got is None:
            rep.skipped.update(failed)
            keep = [i for i, r in enumerate(ids) if r not in failed]
            ids, feats = [ids[i] for i in keep], feats[keep]
            if not failed:
                memo.save_arrays("features", fkey, features=feats)
        else:
            feats = got["features"]
    if not ids:
        raise UserError("\n".join([f"none of the {len(digests)} image files could be decoded:",
                                   *rep.skipped_lines()]))
    if s.strict and rep.skipped:
        raise UserError(rep.strict_failure())

    with rep.stage("pca"):
        pkey = key(fkey, len(ids), s.pca, s.seed)
        got = memo.arrays("pca", pkey)
        if got is None or "components" not in got:
            reduced, pca_mean, pca_matrix = projection.pca_fit(feats, s.pca, s.seed)
            memo.save_arrays("pca", pkey, value=reduced, mean=pca_mean, components=pca_matrix)
        else:
            reduced, pca_mean, pca_matrix = got["value"], got["mean"], got["components"]
    with rep.stage("tsne"):
        tkey = key(pkey, s.tsne, s.perplexity, s.seed)
        xy = _memo(memo, "tsne", tkey, lambda: projection.tsne(reduced, s.tsne, s.perplexity, s.seed))
    cols, rows = grid.shape(len(ids))
    with rep.stage("grid"):
        gkey = key(tkey, cols, rows, s.grid)
        cells = _memo(memo, "grid", gkey, lambda: grid.assign(xy, cols, rows, s.grid))
    with rep.stage("neighbours"):
        groups = None
        if s.group_by:
            col = [f["key"] for f in joined.fields].index(s.group_by)
            groups = np.array([joined.records[r].values[col] for r in ids])
        nkey = key(pkey, s.neighbours, None if groups is None else groups.tolist())
        got = memo.arrays("neighbours", nkey)
        if got is None:
            idx, score = neighbours.nearest(reduced, s.neighbours, groups, seed=s.seed)
            memo.save_arrays("neighbours", nkey, idx=idx, score=score)
        else:
            idx, score = got["idx"], got["score"]

    thumbs = [thumbnails.thumbnail_paths(cache, spec, digests[r]) for r in ids]  # (cell, preview) files
    with rep.stage("mosaic"):
        order: list[Path | None] = [None] * (cols * rows)
        for i, t in enumerate(thumbs):
            order[cells[i]] = t[0]
        mkey = key([str(p) for p in order], cols, rows, asdict(spec), asdict(s.tiles))
        tiles_dir = cache / "tiles" / key(s.id, str(found.root)) / mkey
        if not (tiles_dir / "mosaic.dzi").exists():
            for old in tiles_dir.parent.glob("*"):
                shutil.rmtree(old, ignore_errors=True)
            mosaic.build(order, cols, rows, spec.cell, bg, s.tiles, tiles_dir)

    with rep.stage("site"):
        collection = site.Collection(
            id=s.id, title=s.name or s.id, description=s.description, credit=s.credit,
            credit_url=metadata.safe_url(s.credit_url) or "", fields=joined.fields, ids=ids,
            records=[joined.records[r] for r in ids],
            previews=[t[1] for t in thumbs],
            cells=cells, xy=xy, similar=idx, scores=score, cols=cols, rows=rows, cell=spec.cell)
        out = Path(s.out)
        with site.staging_dir(out) as staging:
            if s.image_search and not s.features and image_search.supported(s.model):
                collection.image_search = image_search.export(staging, reduced, pca_mean, pca_matrix, s.model,
                                                              s.weights, bg, cache)
            elif s.image_search:
                rep.warnings.append("image search left out: --features vectors come from no model the browser can run"
                                    if s.features else f"image search left out: only the default model "
                                    f"({features.DEFAULT_MODEL}) has a browser export, not --model {s.model}")
            site.write(collection, tiles_dir, staging, s.chunk)
            neighbours.export(ids, idx, score, staging / "data", cache / "exports" / key(s.id, str(found.root)))
            _fill_report(rep, ids, digests, joined)
            rep.save(staging / "report.json")
            site.publish(staging, out)
    rep.save(out / "report.json")  # with the site stage's time
    return rep


def _memo(memo: Memo, stage: str, k: str, compute) -> np.ndarray:
    got = memo.arrays(stage, k)
    if got is not None:
        return got["value"]
    value = compute()
    memo.save_arrays(stage, k, value=value)
    return value


def _fill_report(rep: Report, ids: list[str], digests: dict[str, str], joined: metadata.Joined) -> None:
    rep.items = len(ids)
    included = set(ids)
    by_digest: dict[str, list[str]] = {}
    for rel in ids:
        by_digest.setdefault(digests[rel], []).append(rel)
    rep.duplicates = [group for group in by_digest.values() if len(group) > 1]
    rep.rows_without_image = joined.rows_without_image
    rep.images_without_row = [r for r in joined.images_without_row if r in included]
    rep.duplicate_rows = joined.duplicate_rows
    rep.rows_refused = joined.refused_rows
    rep.warnings = joined.warnings + rep.warnings
