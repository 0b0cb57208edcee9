"""Thumbnails: each image's mosaic cell and preview, decoded once and cached by content."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .cache import atomic_path
from .intake import cell_image, decode, parallel_map


@dataclass(frozen=True)
class ThumbSpec:
    cell: tuple[int, int]      # mosaic cell size in px
    fit: str                   # 'contain' or 'fill'
    preview: int               # longest side of the preview, px
    background: tuple[int, int, int]

    @property
    def folder(self) -> str:
        return f"{self.cell[0]}x{self.cell[1]}-{self.fit}-{self.preview}-" + "".join(f"{c:02x}" for c in self.background)


def thumbnail_paths(cache: Path, spec: ThumbSpec, digest: str) -> tuple[Path, Path]:
    base = cache / "thumbs" / spec.folder / digest[:2]
    return base / f"{digest}.cell.jpg", base / f"{digest}.jpg"


def _make(root: Path, cache: Path, spec: ThumbSpec, rel: str, digest: str) -> str | None:
    """Write one image's cell and preview; return the reason it failed, or None."""
    cell_path, preview_path = thumbnail_paths(cache, spec, digest)
    if cell_path.exists() and preview_path.exists():
        return None
    bg = list(spec.background)
    try:
        cell = cell_image(root / rel, spec.cell, spec.fit, bg)
        preview = decode(root / rel, spec.preview, spec.preview, "contain", bg)
        for im, path, q in ((preview, preview_path, 85), (cell, cell_path, 95)):
            with atomic_path(path) as tmp:
                im.jpegsave(str(tmp), Q=q, strip=True)
    except Exception as e:  # any decoder failure skips this one file
        return _reason(e)
    return None


def _reason(e: Exception) -> str:
    text = str(e).strip().splitlines()
    detail = next((line for line in text if line and not line.startswith("VipsForeign")), text[0] if text else "")
    return f"cannot decode: {detail or type(e).__name__}"[:300]


def make_thumbnails(root: Path, digests: dict[str, str], cache: Path, spec: ThumbSpec) -> dict[str, str]:
    """Make missing thumbnails for ``{relpath: digest}``; return ``{relpath: reason}`` of failures."""
    rels = list(digests)
    failed: dict[str, str] = {}
    results = parallel_map(lambda rel: _make(root, cache, spec, rel, digests[rel]), rels)
    for rel, reason in tqdm(zip(rels, results), total=len(rels), desc="thumbnails", unit="img", leave=False):
        if reason:
            failed[rel] = reason
    return failed
