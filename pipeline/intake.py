"""Intake: find the collection's image files and hash them (decoding is in decode.py)."""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import UserError
from .cache import file_digest, read_json, write_json
from .site import input_folder, is_salon_site

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".webp", ".gif",
                  ".svg", ".svgz", ".heic", ".heif", ".avif", ".bmp", ".jp2", ".mpo"}
JUNK_NAMES = {"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store", "icon\r", "__macosx", "@eadir",
              "$recycle.bin", "system volume information"}


@dataclass
class Found:
    """The image files of a collection, relative to ``root``, sorted."""
    root: Path
    files: list[str]
    ignored: list[str] = field(default_factory=list)     # junk and hidden files, skipped quietly
    refused: dict[str, str] = field(default_factory=dict)  # path -> reason (e.g. symlink escapes)


def _is_junk(name: str) -> bool:
    return name.startswith(".") or name.lower() in JUNK_NAMES


def find_images(source: str | Path) -> Found:
    """List image files under a folder (recursively) or matching a glob pattern."""
    src = str(source)
    walked = os.path.isdir(src)  # a walk never enters linked folders: only linked files can escape
    if walked:
        root = base = Path(src).resolve()
        common = root
        candidates: list[Path] = []
        sites: list[Path] = []
        for d, dirs, names in os.walk(root, followlinks=False):
            here = [n for n in dirs if is_salon_site(Path(d) / n)]  # a site Salon built is never input
            sites += [Path(d) / n for n in here]
            dirs[:] = [n for n in dirs if n not in here]
            candidates += [Path(d) / n for n in names]
    else:
        base = input_folder(src)
        matched = [Path(p).absolute() for p in glob.glob(src, recursive=True) if os.path.isfile(p)]
        site_of = {p: _site_of(p, base) for p in matched}
        sites = sorted({site for site in site_of.values() if site})
        candidates = [p for p in matched if site_of[p] is None]
        if not candidates:
            raise UserError(f"no files match {src!r}: give an image folder or a glob such as 'photos/*.jpg'")
        # names are relative to the matches' common folder as given (it may pass through a link);
        # a match must resolve inside the glob's fixed leading folder, links resolved (``base``)
        common = Path(os.path.commonpath([p.parent for p in candidates]))
        root = common.resolve()
    found = Found(root, [])
    found.ignored += [os.path.relpath(site, root) + "/" for site in sites]  # e.g. --out photos/site
    for path in candidates:
        rel = path.relative_to(common)
        rel_s = rel.as_posix()
        if any(_is_junk(part) for part in rel.parts):
            found.ignored.append(rel_s)
        elif path.suffix.lower() not in IMAGE_SUFFIXES:
            found.ignored.append(rel_s)
        elif (path.is_symlink() or not walked) and not path.resolve().is_relative_to(base):
            found.refused[rel_s] = "symbolic link pointing outside the image folder (not followed)"
        elif not path.is_file():  # a FIFO or device named .jpg would block the reader; a dead link
            found.refused[rel_s] = "not a regular file (a broken link, a pipe or a device)"
        else:
            found.files.append(rel_s)
    found.files.sort()
    return found


def _site_of(path: Path, base: Path) -> Path | None:
    """The folder below ``base`` holding ``path`` that is a site Salon built, if any."""
    folder = Path(os.path.realpath(path.parent))
    return next((d for d in [folder, *folder.parents]
                 if d != base and d.is_relative_to(base) and is_salon_site(d)), None)


def hash_files(root: Path, files: list[str], index_path: Path) -> dict[str, str]:
    """Content hash of each file; files whose size and mtime are unchanged reuse the last hash."""
    index: dict[str, list] = read_json(index_path, {}) or {}
    out: dict[str, str] = {}
    changed = False
    for rel in files:
        try:
            st = os.stat(root / rel)
            old = index.get(rel)
            if old and old[0] == st.st_size and old[1] == st.st_mtime_ns:
                out[rel] = old[2]
                continue
            out[rel] = file_digest(root / rel)
        except OSError:
            continue  # unreadable or gone: the build reports it as skipped
        index[rel] = [st.st_size, st.st_mtime_ns, out[rel]]
        changed = True
    if changed or len(index) != len(out):
        write_json(index_path, {k: index[k] for k in out})
    return out


def colour_hex(rgb) -> str:
    """An RGB triple as 'rrggbb', for cache folder names."""
    return "".join(f"{c:02x}" for c in rgb)


def parse_colour(text: str) -> list[int]:
    """'#rrggbb', 'white', 'black' or 'r,g,b' to an RGB triple."""
    named = {"white": "#ffffff", "black": "#000000"}
    t = named.get(text.strip().lower(), text.strip())
    try:
        if t.startswith("#") and len(t) == 7:
            return [int(t[i:i + 2], 16) for i in (1, 3, 5)]
        rgb = [int(v) for v in t.split(",")]
        if len(rgb) == 3 and all(0 <= v <= 255 for v in rgb):
            return rgb
    except ValueError:
        pass
    raise UserError(f"cannot read colour {text!r}: use #rrggbb, r,g,b, white or black")
