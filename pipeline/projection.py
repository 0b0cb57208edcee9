"""Projection: PCA of the CNN features, then t-SNE of those to a 2-D map."""
from __future__ import annotations

import numpy as np

from . import UserError

TSNE_METHODS = ["opentsne", "multicore", "sklearn"]
MULTICORE_HELP = ("MulticoreTSNE is not installed. Its PyPI build needs an old CMake: "
                  "pip install cmake==3.18.4.post1 setuptools wheel cffi numpy && "
                  "PATH=$VIRTUAL_ENV/bin:$PATH pip install --no-build-isolation MulticoreTSNE "
                  "(see the README), or use --tsne opentsne")


def pca(features: np.ndarray, components: int, seed: int) -> np.ndarray:
    """Project to at most ``components`` principal components (clipped to what the data allows)."""
    return pca_fit(features, components, seed)[0]


def pca_fit(features: np.ndarray, components: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like ``pca``, also returning the fitted mean (D,) and components (k, D), so that any
    new vector f projects as ``(f - mean) @ components.T`` (image search does so)."""
    from sklearn.decomposition import PCA
    n, d = features.shape
    k = max(1, min(components, n, d))
    if n < 2:
        mean = features.mean(axis=0) if n else np.zeros(d)
        return (np.zeros((n, k), dtype=np.float32), mean.astype(np.float32),
                np.zeros((k, d), dtype=np.float32))
    fit = PCA(n_components=k, random_state=seed)
    reduced = fit.fit_transform(features).astype(np.float32)
    return reduced, fit.mean_.astype(np.float32), fit.components_.astype(np.float32)


def tsne(x: np.ndarray, method: str = "opentsne", perplexity: float = 30.0, seed: int = 0,
         threads: int = 2) -> np.ndarray:
    """2-D t-SNE embedding, rescaled to [0, 1] on both axes; deterministic for a seed."""
    n = len(x)
    if n < 4:  # too few points for t-SNE: lay them out in a row
        xy = np.column_stack([np.arange(n, dtype=np.float64), np.zeros(n)])
        return _unit(xy)
    perplexity = float(min(perplexity, (n - 1) / 3))
    x = np.ascontiguousarray(x, dtype=np.float64)
    if method == "opentsne":
        from openTSNE import TSNE
        # Barnes-Hut is faster below ~10k points, the FFT method above
        xy = np.asarray(TSNE(perplexity=perplexity, random_state=seed, n_jobs=threads, verbose=False,
                             negative_gradient_method="bh" if n < 10_000 else "fft").fit(x))
    elif method == "multicore":
        try:
            from MulticoreTSNE import MulticoreTSNE
        except ImportError as e:
            raise UserError(MULTICORE_HELP) from e
        xy = MulticoreTSNE(n_components=2, perplexity=perplexity, random_state=seed,
                           n_jobs=threads).fit_transform(x)
    elif method == "sklearn":
        from sklearn.manifold import TSNE as SkTSNE
        xy = SkTSNE(perplexity=perplexity, random_state=seed, init="pca",
                    n_jobs=threads).fit_transform(x)
    else:
        raise UserError(f"unknown --tsne {method!r}; choose one of: {', '.join(TSNE_METHODS)}")
    return _unit(xy)


def _unit(xy: np.ndarray) -> np.ndarray:
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    return ((xy - lo) / np.where(hi > lo, hi - lo, 1)).astype(np.float32)
