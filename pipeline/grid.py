"""Grid: give every item its own cell of a cols x rows grid, keeping t-SNE neighbours close."""
from __future__ import annotations

import math

import numpy as np

from . import UserError

GRID_METHODS = ["auto", "split", "rasterfairy", "exact"]
EXACT_LIMIT = 3000   # linear assignment is O(N^3): ~0.2 s at 1k, ~10 s at 3k, minutes beyond


def shape(n: int, aspect: float = 1.0) -> tuple[int, int]:
    """Columns and rows of the smallest near-square grid (cols/rows ~ aspect) holding n cells."""
    cols = max(1, math.ceil(math.sqrt(n * aspect)))
    return cols, max(1, math.ceil(n / cols))


def assign(xy: np.ndarray, cols: int, rows: int, method: str = "auto") -> np.ndarray:
    """Cell index (row * cols + col) of each point; unused cells are the last ones."""
    n = len(xy)
    if cols * rows < n:
        raise ValueError("grid too small")
    if method == "auto":
        method = "exact" if n <= EXACT_LIMIT else "split"
    if n <= 1:
        return np.arange(n)
    if method == "exact":
        return _exact(xy, cols, rows)
    if method == "split":
        return _split(xy, cols, rows)
    if method == "rasterfairy":
        return _rasterfairy(xy, cols, rows)
    raise UserError(f"unknown --grid {method!r}; choose one of: {', '.join(GRID_METHODS)}")


def _cell_centres(cols: int, rows: int, n: int) -> np.ndarray:
    c = np.arange(n)
    return np.column_stack([(c % cols + 0.5) / cols, (c // cols + 0.5) / rows])


def _exact(xy: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """Minimise the summed squared displacement exactly (Hungarian method on N x cells)."""
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist
    centres = _cell_centres(cols, rows, len(xy))  # the first n cells: the grid fills row by row
    cost = cdist(_fit(xy, cols, rows), centres, "sqeuclidean")
    point, cell = linear_sum_assignment(cost)
    out = np.empty(len(xy), dtype=np.int64)
    out[point] = cell
    return out


def _fit(xy: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """Scale [0,1]^2 points onto the filled part of the grid (the last row may be partial)."""
    n = len(xy)
    full_rows = n / cols
    return np.column_stack([xy[:, 0], xy[:, 1] * full_rows / rows])


def _rasterfairy(xy: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """RasterFairy's recursive split (PyPI yale-dhlab-rasterfairy)."""
    import contextlib
    import io
    if not hasattr(np, "float"):
        np.float = float  # rasterfairy 1.0.3 still uses the alias numpy 1.24 removed
    import rasterfairy
    mask = np.zeros((rows, cols), dtype=int)
    mask.flat[len(xy):] = 1  # blocked cells: the tail of the last row
    target = {"width": cols, "height": rows, "mask": mask, "count": len(xy), "hex": False}
    with contextlib.redirect_stdout(io.StringIO()):  # it prints warnings of its own
        # it orders points by their coordinates cast to int: spread [0, 1] over a wide range
        grid, _ = rasterfairy.transformPointCloud2D(np.asarray(xy, dtype=np.float64) * 1e6, target=target)
    cells = np.rint(grid[:, 1]).astype(np.int64) * cols + np.rint(grid[:, 0]).astype(np.int64)
    if len(np.unique(cells)) != len(cells):
        raise RuntimeError("rasterfairy assigned two points to one cell")
    return cells


def _split(xy: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """Recursive proportional bisection, RasterFairy's idea in O(N log^2 N).

    Halve the grid region across its longer side; order the region's points along that axis
    and give each half as many of them as it has cells. (The rasterfairy package rescans its
    list of parts after every cut: O(N^2), minutes at 40,000 points, hours at 100,000.)
    """
    n = len(xy)
    pts = _fit(xy, cols, rows)
    free = np.zeros((rows + 1, cols + 1), dtype=np.int64)  # summed-area table of usable cells
    usable = np.zeros(rows * cols, dtype=np.int64)
    usable[:n] = 1  # the grid fills row by row; the tail of the last row stays empty
    free[1:, 1:] = usable.reshape(rows, cols).cumsum(0).cumsum(1)

    def cells(x0: int, y0: int, x1: int, y1: int) -> int:
        return int(free[y1, x1] - free[y0, x1] - free[y1, x0] + free[y0, x0])

    out = np.empty(n, dtype=np.int64)
    stack = [(np.arange(n), 0, 0, cols, rows)]
    while stack:
        idx, x0, y0, x1, y1 = stack.pop()
        if len(idx) == 0:
            continue
        if x1 - x0 == 1 and y1 - y0 == 1:
            out[idx[0]] = y0 * cols + x0
            continue
        across = x1 - x0 >= y1 - y0  # cut the longer side
        axis = 0 if across else 1
        order = idx[np.lexsort((idx, pts[idx, 1 - axis], pts[idx, axis]))]  # ties: deterministic
        if across:
            xm = (x0 + x1) // 2
            first = cells(x0, y0, xm, y1)
            stack += [(order[:first], x0, y0, xm, y1), (order[first:], xm, y0, x1, y1)]
        else:
            ym = (y0 + y1) // 2
            first = cells(x0, y0, x1, ym)
            stack += [(order[:first], x0, y0, x1, ym), (order[first:], x0, ym, x1, y1)]
    return out
