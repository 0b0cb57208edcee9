"""The build report: what was built, what was skipped and why, and how long each stage took."""
from __future__ import annotations

import errno
import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .cache import write_json


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

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        print(f"… {name}", file=sys.stderr, flush=True)
        try:
            yield
        finally:
            self.stages[name] = round(time.perf_counter() - t, 3)

    def save(self, path: Path) -> None:
        self.peak_rss_mb = round(peak_rss_mb(), 1)
        write_json(path, self.__dict__, compact=False)

    def skipped_lines(self, limit: int = 20) -> list[str]:
        lines = [f"  {k}: {v}" for k, v in list(self.skipped.items())[:limit]]
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
        shown = [f"{k} {v}" for k in SUMMARY_SETTINGS
                 if (v := self.settings.get(k)) is not None and v is not False and v != ""]
        lines.append("Settings: " + ", ".join(shown) + " (all of them in report.json)")
        for title, entries in self.sections():
            if entries:
                lines.append(f"{title}: {len(entries)}")
                lines += [f"  - {e}" for e in entries[:20]]
                if len(entries) > 20:
                    lines.append(f"  … and {len(entries) - 20} more (see report.json)")
        if self.ignored:
            lines.append(f"Ignored {self.ignored} non-image, hidden or system files.")
        return "\n".join(lines)
