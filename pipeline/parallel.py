"""Thread pools for the stages that decode or hash many images."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def parallel_map(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> Iterable[R]:
    """Map on threads, in order; libvips, TensorFlow, SciPy's assignment and the compressors
    release the GIL, so threads scale."""
    with ThreadPoolExecutor(workers or os.cpu_count() or 2) as pool:
        yield from pool.map(fn, items)
