"""Intake: find the collection's image files and hash them (decoding is in decode.py)."""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import UserError
from .cache import file_digest, key, read_json, write_json
from .parallel import parallel_map
from .site import input_folder, is_salon_site

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".webp", ".gif",
                  ".svg", ".svgz", ".heic", ".heif", ".avif", ".bmp", ".jp2", ".mpo"}
BESIDE = "iiif/"  # the folder name, in item ids, of the IIIF items read beside --images
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


def find_sources(images: str, beside: str | None, cache: Path) -> Found:
    """The image files of ``images`` and, when given, of the folder ``beside`` (the IIIF items
    fetched into the cache) under ``iiif/``. Two folders are seen through one folder of symbolic
    links in the cache, so that every stage reads ``root / rel`` as for one folder; only files
    that ``find_images`` accepted in their own folder are linked (nothing outside either)."""
    found = find_images(images)
    if not beside:
        return found
    other = find_images(beside)
    targets = {rel: found.root / rel for rel in found.files}
    for rel in other.files:
        if BESIDE + rel in targets:  # the local folder has an iiif/ folder with this very name
            found.refused[f"IIIF {rel}"] = f"the local file {BESIDE + rel} has the same name (it is kept)"
        else:
            targets[BESIDE + rel] = other.root / rel
    view = cache / "views" / key(str(found.root), str(other.root))
    _link_view(view, targets)
    return Found(view, sorted(targets), found.ignored, found.refused)


def _link_view(view: Path, targets: dict[str, Path]) -> None:
    """Make ``view`` hold exactly a link rel -> target for each of ``targets``; links already
    right are left alone (a rerun changes nothing)."""
    for rel, target in targets.items():
        link = view / rel
        if os.path.islink(link) and os.readlink(link) == str(target):
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        os.symlink(target, tmp)
        os.replace(tmp, link)  # atomic: a link is never missing or half made
    for d, _, names in os.walk(view, topdown=False):  # files gone from either folder since the last run
        for n in names:
            if Path(d, n).relative_to(view).as_posix() not in targets:
                os.unlink(Path(d, n))
        if d != str(view) and not os.listdir(d):
            os.rmdir(d)


def _site_of(path: Path, base: Path) -> Path | None:
    """The folder below ``base`` holding ``path`` that is a site Salon built, if any."""
    folder = Path(os.path.realpath(path.parent))
    return next((d for d in [folder, *folder.parents]
                 if d != base and d.is_relative_to(base) and is_salon_site(d)), None)


def hash_files(root: Path, files: list[str], index_path: Path) -> dict[str, str]:
    """Content hash of each file; files whose size and mtime are unchanged reuse the last hash.
    The others are hashed on threads (BLAKE2b releases the GIL: large files hash on every core)."""
    index: dict[str, list] = read_json(index_path, {}) or {}
    found: dict[str, str] = {}
    todo: list[tuple[str, os.stat_result]] = []
    for rel in files:
        try:
            st = os.stat(root / rel)
        except OSError:
            continue  # unreadable or gone: the build reports it as skipped
        old = index.get(rel)
        if old and old[0] == st.st_size and old[1] == st.st_mtime_ns:
            found[rel] = old[2]
        else:
            todo.append((rel, st))
    changed = False
    for (rel, st), digest in zip(todo, parallel_map(lambda t: _digest(root / t[0]), todo)):
        if digest:
            found[rel] = digest
            index[rel] = [st.st_size, st.st_mtime_ns, digest]
            changed = True
    out = {rel: found[rel] for rel in files if rel in found}  # in the order of ``files``
    if changed or len(index) != len(out):
        write_json(index_path, {k: index[k] for k in out})
    return out


def _digest(path: Path) -> str | None:
    try:
        return file_digest(path)
    except OSError:
        return None


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
