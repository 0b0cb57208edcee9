"""The build report: what was built, what was skipped and why, and how long each stage took."""
from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .cache import write_json


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Report:
    settings: dict[str, Any]
    items: int = 0
    skipped: dict[str, str] = field(default_factory=dict)     # file -> reason
    ignored: int = 0                                           # junk / hidden / not images
    duplicates: list[list[str]] = field(default_factory=list)  # byte-identical files, all kept
    rows_without_image: list[str] = field(default_factory=list)
    images_without_row: list[str] = field(default_factory=list)
    duplicate_rows: list[str] = field(default_factory=list)
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

    def summary(self, out: Path) -> str:
        lines = [f"Built {out}/ with {self.items} items "
                 f"({sum(self.stages.values()):.1f} s, peak memory {peak_rss_mb():.0f} MB)."]
        lines.append("Time per stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.stages.items()))
        for title, entries in (("Skipped files", [f"{k}: {v}" for k, v in self.skipped.items()]),
                               ("Identical files (all kept)", [" = ".join(d) for d in self.duplicates]),
                               ("CSV rows without an image", self.rows_without_image),
                               ("Images without a CSV row (titled by file name)", self.images_without_row),
                               ("Repeated CSV rows (first kept)", self.duplicate_rows),
                               ("Warnings", self.warnings)):
            if entries:
                lines.append(f"{title}: {len(entries)}")
                lines += [f"  - {e}" for e in entries[:20]]
                if len(entries) > 20:
                    lines.append(f"  … and {len(entries) - 20} more (see report.json)")
        if self.ignored:
            lines.append(f"Ignored {self.ignored} non-image, hidden or system files.")
        return "\n".join(lines)
