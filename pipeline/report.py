"""The build report: what was built, what was skipped and why, and how long each stage took."""
from __future__ import annotations

import errno
import os
import re
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import write_json
from .site import input_folder, split_images
from .terminal import plain

DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
DISK_TEXTS = ("No space left on device", "Disk quota exceeded", "File too large")


def disk_problem(e: BaseException) -> str | None:
    """A clear message when ``e`` is a full disk (or a quota or file-size limit), else None.

    Writes are atomic (temporary file, then rename), so the cache and the published site
    are still whole; libvips reports the same errors as text."""
    text = str(e).strip().splitlines()[-1][:200] if str(e).strip() else type(e).__name__
    if isinstance(e, OSError) and e.errno in DISK_ERRNOS or any(t in str(e) for t in DISK_TEXTS):
        what = ("a file grew past the file-size limit (ulimit -f)" if "too large" in text.lower()
                else "the disk is full")
        where = f" writing {e.filename}" if isinstance(e, OSError) and e.filename else ""
        return (f"{what}{where} ({text}). The previously published site is untouched and finished "
                f"work is cached: free some space and run the same command again.")
    return None


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


SUMMARY_SETTINGS = ["images", "metadata", "exclude", "model", "seed", "grid", "cell", "resize", "strict"]
PATH_SETTINGS = ["images", "metadata", "out", "cache", "exclude", "features", "weights", "labels"]
# an absolute path left in a message (a decoder's error, a temporary file): only its last part is kept
_ABSOLUTE = re.compile(r"(?<![\w.~:/\\-])(?:/[^/\s\"'<>|]+)+")


def full_report_path(settings: dict[str, Any]) -> Path:
    """Where the full report (with this machine's paths) is kept: beside the cache, per --id."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", str(settings.get("id") or "collection"))
    return Path(settings.get("cache") or ".salon-cache") / "reports" / f"{name}.json"


def _path_name(setting: str, value: str) -> str:
    """A path setting reduced to its name (a glob keeps its pattern below the folder's name)."""
    if setting == "images":
        folder, pattern = split_images(value)
        return "/".join(part for part in (folder.name, pattern) if part)
    return Path(os.path.abspath(value)).name or value


def _local_folders(settings: dict[str, Any]) -> dict[str, str]:
    """Folders of this machine the report may name, each with what it becomes in the published
    copy: the image folder disappears (paths become relative to it), the others keep their name."""
    pairs = [(str(input_folder(settings["images"])), "")] if settings.get("images") else []
    pairs += [(os.path.dirname(os.path.abspath(v)), "") for k in PATH_SETTINGS
              if k != "images" and isinstance(v := settings.get(k), str) and v]
    pairs += [(os.getcwd(), ""), (str(Path.home()), "~/")]
    variants = {form(folder).rstrip("/") + "/": to for folder, to in reversed(pairs)
                for form in (os.path.abspath, os.path.realpath)}
    return {folder: to for folder, to in variants.items() if folder != "/"}


def _map_strings(obj: Any, value: Any, key: Any) -> Any:
    if isinstance(obj, str):
        return value(obj)
    if isinstance(obj, dict):
        return {key(k) if isinstance(k, str) else k: _map_strings(v, value, key) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_map_strings(v, value, key) for v in obj]
    return obj


_interrupted = False


def on_interrupt(signum: int, frame: Any) -> None:
    """SIGINT (run.py installs it): a KeyboardInterrupt where Python is, and remembered, because one
    raised inside a C library's callback (ctypes) is printed and dropped: each stage's start and
    end raise it again, so Ctrl-C always stops the build."""
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def _check_interrupt() -> None:
    if _interrupted:
        raise KeyboardInterrupt


@dataclass
class Report:
    settings: dict[str, Any]
    items: int = 0
    skipped: dict[str, str] = field(default_factory=dict)     # file -> reason
    ignored: int = 0                                           # junk / hidden / not images
    excluded: dict[str, str] = field(default_factory=dict)    # file -> the --exclude image it matches
    duplicates: list[list[str]] = field(default_factory=list)  # byte-identical files, all kept
    rows_without_image: list[str] = field(default_factory=list)
    images_without_row: list[str] = field(default_factory=list)
    duplicate_rows: list[str] = field(default_factory=list)
    rows_refused: dict[str, str] = field(default_factory=dict)  # CSV file-name value -> why refused
    warnings: list[str] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)    # seconds
    peak_rss_mb: float = 0.0
    iiif: dict[str, Any] = field(default_factory=dict)       # pyramids and manifests (pipeline/iiif_out.py)
    layout: dict[str, Any] = field(default_factory=dict)     # how the map and grid were made (pipeline/layouts.py)
    regions: dict[str, Any] = field(default_factory=dict)    # named regions, agreement with categories (pipeline/regions.py)
    compressed: dict[str, Any] = field(default_factory=dict)  # .br/.gz copies of large files (pipeline/compress.py)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        _check_interrupt()
        print(f"… {name}", file=sys.stderr, flush=True)
        try:
            yield
        finally:
            self.stages[name] = round(time.perf_counter() - t, 3)
        _check_interrupt()

    def save(self, path: Path) -> None:
        """Write the public report to ``path`` (into the site) and the full one beside the cache."""
        self.peak_rss_mb = round(peak_rss_mb(), 1)
        write_json(path, self.public(), compact=False)
        write_json(full_report_path(self.settings), self.__dict__, compact=False)

    def public(self) -> dict[str, Any]:
        """The report as published: no absolute path of this machine. Path settings become names,
        paths under the image folder become relative (as file names already are), other absolute
        paths in messages keep only their last part."""
        folders = _local_folders(self.settings)
        longest_first = sorted(folders, key=len, reverse=True)
        prefixes = re.compile(r"(?<![\w.~/\\-])(" + "|".join(map(re.escape, longest_first)) + ")")

        def local(text: str) -> str:
            return prefixes.sub(lambda m: folders[m[1]], text) if folders else text

        def message(text: str) -> str:
            return _ABSOLUTE.sub(lambda m: m[0].rsplit("/", 1)[-1], local(text))

        report = _map_strings(self.__dict__, message, local)
        report["settings"].update({k: _path_name(k, v) for k in PATH_SETTINGS
                                   if isinstance(v := self.settings.get(k), str) and v})
        return report

    def skipped_lines(self, limit: int = 20) -> list[str]:
        lines = [f"  {plain(k)}: {plain(v)}" for k, v in list(self.skipped.items())[:limit]]
        return lines + ([f"  … and {len(self.skipped) - limit} more"] if len(self.skipped) > limit else [])

    def strict_failure(self) -> str:
        """The error --strict gives when files were skipped."""
        return "\n".join([f"--strict: {len(self.skipped)} image file(s) could not be used, so the site "
                          f"was not published. Fix or remove them, or build without --strict:",
                          *self.skipped_lines()])

    def sections(self) -> list[tuple[str, list[str]]]:
        pairs = lambda d: [f"{k}: {v}" for k, v in d.items()]  # noqa: E731
        return [("Skipped files", pairs(self.skipped)),
                ("Left out by --exclude", pairs(self.excluded)),
                ("Identical files (all kept)", [" = ".join(d) for d in self.duplicates]),
                ("CSV rows without an image", self.rows_without_image),
                ("Images without a CSV row (titled by file name)", self.images_without_row),
                ("Repeated CSV rows (first kept)", self.duplicate_rows),
                ("CSV file names refused", pairs(self.rows_refused)),
                ("Warnings", self.warnings)]

    def summary(self, out: Path) -> str:
        lines = [f"Built {out}/ with {self.items} items "
                 f"({sum(self.stages.values()):.1f} s, peak memory {peak_rss_mb():.0f} MB)."]
        lines.append("Time per stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.stages.items()))
        shown = [f"{k} {plain(v)}" for k in SUMMARY_SETTINGS
                 if (v := self.settings.get(k)) is not None and v is not False and v != ""]
        lines.append("Settings: " + ", ".join(shown) + " (all of them in report.json)")
        for title, entries in self.sections():
            if entries:
                lines.append(f"{title}: {len(entries)}")
                lines += [f"  - {plain(e)}" for e in entries[:20]]  # names are untrusted
                if len(entries) > 20:
                    lines.append(f"  … and {len(entries) - 20} more (see report.json)")
        lines += self.iiif.get("summary", [])
        if self.layout:
            from .layouts import summary_line
            lines.append(summary_line(self.layout))
        if self.regions:
            from .regions import summary_line as regions_line
            lines.append(regions_line(self.regions))
        if self.ignored:
            lines.append(f"Ignored {self.ignored} non-image, hidden or system files "
                         f"(and any site Salon built inside the image folder).")
        lines.append(f"Full report, with this machine's paths: {full_report_path(self.settings)}")
        return "\n".join(lines)
