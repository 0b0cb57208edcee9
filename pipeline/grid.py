"""Grid: give every item its own cell of a cols x rows grid, keeping t-SNE neighbours close.

A fresh grid keeps some room: besides the tail of its last row, ``room(n)`` cells spread evenly
over it stay empty, so that images added later find a free cell near their neighbours
(``extend``) while every earlier image keeps its cell."""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from . import UserError

GRID_METHODS = ["auto", "split", "rasterfairy", "exact"]
EXACT_LIMIT = 3000   # linear assignment is O(N^3): ~0.2 s at 1k, ~10 s at 3k, minutes beyond
ROOM = 0.02          # share of a fresh grid's cells kept free, spread out, for images added later
_GOLDEN = (5 ** 0.5 - 1) / 2


def shape(n: int, aspect: float = 1.0) -> tuple[int, int]:
    """Columns and rows of the smallest near-square grid (cols/rows ~ aspect) holding n cells."""
    cols = max(1, math.ceil(math.sqrt(n * aspect)))
    return cols, max(1, math.ceil(n / cols))


def room(n: int) -> int:
    """Free cells a fresh grid of n items keeps spread over it: 2 %, at least a row's worth (sqrt n)."""
    return math.ceil(max(ROOM * n, math.sqrt(n))) if n > 1 else 0


def with_room(n: int) -> tuple[int, int, np.ndarray]:
    """Shape of a fresh grid for n items and its usable cells (boolean, cols * rows): all but
    ``room(n)`` cells spread evenly (a Kronecker sequence: no rows or columns of holes) and
    the tail of the last row."""
    free = room(n)
    cols, rows = shape(n + free)
    usable = np.zeros(cols * rows, dtype=bool)
    usable[:n + free] = True
    for j in range(free):
        x = int((j * _GOLDEN) % 1 * cols)
        y = int((j + 0.5) / free * (n + free) / cols)
        c = min(y * cols + x, n + free - 1)
        while not usable[c]:  # taken by an earlier hole: the next usable cell
            c = (c + 1) % (n + free)
        usable[c] = False
    return cols, rows, usable


def assign(xy: np.ndarray, cols: int, rows: int, method: str = "auto",
           usable: np.ndarray | None = None) -> np.ndarray:
    """Cell index (row * cols + col) of each point, among the ``usable`` cells (boolean,
    cols * rows; default: the first n, so the unused cells are the last ones)."""
    n = len(xy)
    if usable is None:
        usable = np.arange(cols * rows) < n
    if cols * rows < n or usable.sum() != n:
        raise ValueError("grid too small" if cols * rows < n else "usable cells must number the points")
    if method == "auto":
        method = "exact" if n <= EXACT_LIMIT else "split"
    if n <= 1:
        return np.flatnonzero(usable)[:n]
    if method == "exact":
        return _exact(xy, cols, rows, usable)
    if method == "split":
        return _split(xy, cols, rows, usable)
    if method == "rasterfairy":
        return _rasterfairy(xy, cols, rows, usable)
    raise UserError(f"unknown --grid {method!r}; choose one of: {', '.join(GRID_METHODS)}")


def extend(placed: np.ndarray, cols: int, rows: int, targets: np.ndarray,
           cost: Callable[[int, list[np.ndarray]], np.ndarray] | None = None,
           candidates: int = 8) -> tuple[np.ndarray, int, int]:
    """Cells for new items without moving the ``placed`` ones ((col, row) of each earlier item).
    New item i (taken in order) looks at the ``candidates`` free cells nearest its target
    (col, row) and takes the one of least ``cost(i, around)``, ``around`` holding for each
    candidate the items in its 8 neighbouring cells (earlier items numbered 0..P-1, new item j
    as P + j); without ``cost``, the nearest. When no cell is free the grid grows at its edge:
    a column on the right, or a row at the bottom, whichever keeps it nearer square.
    Returns the new items' (col, row) and the grid's cols and rows."""
    occupant = np.full((rows, cols), -1, dtype=np.int64)
    occupant[placed[:, 1], placed[:, 0]] = np.arange(len(placed))
    out = np.empty((len(targets), 2), dtype=np.int64)
    for i, (tx, ty) in enumerate(targets):
        free = np.argwhere(occupant < 0)  # (row, col)
        if not len(free):
            if cols <= rows:
                occupant, cols = np.hstack([occupant, np.full((rows, 1), -1, dtype=np.int64)]), cols + 1
            else:
                occupant, rows = np.vstack([occupant, np.full((1, cols), -1, dtype=np.int64)]), rows + 1
            free = np.argwhere(occupant < 0)
        d = (free[:, 1] + 0.5 - tx) ** 2 + (free[:, 0] + 0.5 - ty) ** 2
        near = free[np.argsort(d, kind="stable")[:candidates if cost else 1]]  # ties: row order
        pick = 0
        if cost is not None and len(near) > 1:
            around = [occupant[max(0, r - 1):r + 2, max(0, c - 1):c + 2].ravel() for r, c in near]
            pick = int(np.argmin(cost(i, [a[a >= 0] for a in around])))
        row, col = near[pick]
        occupant[row, col] = len(placed) + i
        out[i] = col, row
    return out, cols, rows


def _cell_centres(cols: int, rows: int, cells: np.ndarray) -> np.ndarray:
    return np.column_stack([(cells % cols + 0.5) / cols, (cells // cols + 0.5) / rows])


def _exact(xy: np.ndarray, cols: int, rows: int, usable: np.ndarray) -> np.ndarray:
    """Minimise the summed squared displacement exactly (Hungarian method on N x cells)."""
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist
    cells = np.flatnonzero(usable)
    cost = cdist(_fit(xy, cols, rows, usable), _cell_centres(cols, rows, cells), "sqeuclidean")
    point, cell = linear_sum_assignment(cost)
    out = np.empty(len(xy), dtype=np.int64)
    out[point] = cells[cell]
    return out


def _fit(xy: np.ndarray, cols: int, rows: int, usable: np.ndarray) -> np.ndarray:
    """Scale [0,1]^2 points onto the used part of the grid (the last rows may be partial)."""
    used_rows = (int(np.flatnonzero(usable).max()) + 1) / cols
    return np.column_stack([xy[:, 0], xy[:, 1] * used_rows / rows])


def _rasterfairy(xy: np.ndarray, cols: int, rows: int, usable: np.ndarray) -> np.ndarray:
    """RasterFairy's recursive split (PyPI yale-dhlab-rasterfairy)."""
    import contextlib
    import io
    if not hasattr(np, "float"):
        np.float = float  # type: ignore[attr-defined]  # rasterfairy 1.0.3 still uses the alias numpy 1.24 removed
    import rasterfairy
    mask = np.zeros((rows, cols), dtype=int)
    mask.flat[~usable] = 1  # blocked cells
    target = {"width": cols, "height": rows, "mask": mask, "count": len(xy), "hex": False}
    with contextlib.redirect_stdout(io.StringIO()):  # it prints warnings of its own
        # it orders points by their coordinates cast to int: spread [0, 1] over a wide range
        grid, _ = rasterfairy.transformPointCloud2D(np.asarray(xy, dtype=np.float64) * 1e6, target=target)
    cells = np.rint(grid[:, 1]).astype(np.int64) * cols + np.rint(grid[:, 0]).astype(np.int64)
    if len(np.unique(cells)) != len(cells):
        raise RuntimeError("rasterfairy assigned two points to one cell")
    return cells


def _split(xy: np.ndarray, cols: int, rows: int, usable: np.ndarray) -> np.ndarray:
    """Recursive proportional bisection, RasterFairy's idea in O(N log^2 N).

    Halve the grid region across its longer side; order the region's points along that axis
    and give each half as many of them as it has cells. (The rasterfairy package rescans its
    list of parts after every cut: O(N^2), minutes at 40,000 points, hours at 100,000.)
    """
    n = len(xy)
    pts = _fit(xy, cols, rows, usable)
    free = np.zeros((rows + 1, cols + 1), dtype=np.int64)  # summed-area table of usable cells
    free[1:, 1:] = usable.reshape(rows, cols).astype(np.int64).cumsum(0).cumsum(1)

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
