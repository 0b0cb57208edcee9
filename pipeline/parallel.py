"""Thread pools for the stages that decode or hash many images."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def parallel_map(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> Iterable[R]:
    """Map on threads, in order; libvips, TensorFlow, SciPy's assignment and the compressors
    release the GIL, so threads scale."""
    with ThreadPoolExecutor(workers or os.cpu_count() or 2) as pool:
        yield from pool.map(fn, items)


class Turns:
    """Work that threads do together (``together()``), or one thread ``alone()``: that waits for
    the others' turns to end and keeps new ones out until it is done."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._together = 0
        self._alone = False
        self._waiting = 0  # threads waiting to be alone: they go before new ones together

    @contextmanager
    def together(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._alone and not self._waiting)
            self._together += 1
        try:
            yield
        finally:
            with self._cond:
                self._together -= 1
                self._cond.notify_all()

    @contextmanager
    def alone(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            self._cond.wait_for(lambda: not self._alone and not self._together)
            self._waiting -= 1
            self._alone = True
        try:
            yield
        finally:
            with self._cond:
                self._alone = False
                self._cond.notify_all()
