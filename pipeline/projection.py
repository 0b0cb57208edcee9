"""Projection: PCA of the CNN features, then t-SNE (or UMAP) of those to a 2-D map, and new points
added to an existing map without moving the old ones."""
from __future__ import annotations

import numpy as np

from . import UserError

TSNE_METHODS = ["opentsne", "multicore", "sklearn"]
PROJECTIONS = ["tsne", "umap"]
MULTICORE_HELP = ("MulticoreTSNE is not installed. Its PyPI build needs an old CMake: "
                  "pip install cmake==3.18.4.post1 setuptools wheel cffi numpy && "
                  "PATH=$VIRTUAL_ENV/bin:$PATH pip install --no-build-isolation MulticoreTSNE "
                  "(see the README), or use --tsne opentsne")


PCA_SAMPLE = 200_000  # above this many items PCA is fitted on this many (a million 1,280-d rows are 5 GB)


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
    if n <= PCA_SAMPLE:
        reduced = fit.fit_transform(features).astype(np.float32)
    else:  # fitted on a fixed sample, applied in slices: no centred copy of the whole matrix
        fit.fit(features[np.sort(np.random.default_rng(seed).choice(n, PCA_SAMPLE, replace=False))])
        reduced = np.empty((n, k), np.float32)
        for s in range(0, n, 65_536):
            reduced[s:s + 65_536] = fit.transform(features[s:s + 65_536])
    return reduced, fit.mean_.astype(np.float32), fit.components_.astype(np.float32)


def tsne(x: np.ndarray, method: str = "opentsne", perplexity: float = 30.0, seed: int = 0,
         threads: int = 2) -> np.ndarray:
    """2-D t-SNE embedding, rescaled to [0, 1] on both axes; deterministic for a seed."""
    return unit(embed(x, method, perplexity, seed, threads))


SHORT_TSNE_MAX = 20_000  # up to this many points openTSNE runs 300 iterations (bench/README.md)
FFT_BOX = 1.5            # openTSNE's ints_in_interval: grid boxes 1.5 map units wide, not 1 (bench/README.md)
EMBED_VERSION = 3        # in the cached map's key: raise it when embed() gives other maps


def embed(x: np.ndarray, method: str = "opentsne", perplexity: float = 30.0, seed: int = 0,
          threads: int = 2) -> np.ndarray:
    """2-D map of ``x`` in the method's own units (``unit`` rescales it): t-SNE (``opentsne``,
    ``multicore``, ``sklearn``) or ``umap``; deterministic for a seed."""
    n = len(x)
    if n < 4:  # too few points for t-SNE: lay them out in a row
        return np.column_stack([np.arange(n, dtype=np.float64), np.zeros(n)])
    x = np.ascontiguousarray(x, dtype=np.float64)
    if method == "umap":
        return _umap(x, seed)
    perplexity = float(min(perplexity, (n - 1) / 3))
    if method == "opentsne":
        from openTSNE import TSNE
        # Barnes-Hut is faster below ~10k points, the FFT method above. Iterations after the early
        # exaggeration: 300 instead of 500 halve the time at 10k (Fashion-MNIST: 35 -> 17 s, 10-NN
        # kept 0.422 -> 0.419) but lose more as n grows (100k: 0.318 -> 0.279), so large sets keep 500.
        # The FFT method's grid grows with the map, and its FFTs run on one core: wider boxes (FFT_BOX)
        # take 10k points from 15-20 s to 10-12 s for 0.001-0.003 of 10-NN kept
        xy = np.asarray(TSNE(perplexity=perplexity, random_state=seed, n_jobs=threads, verbose=False,
                             n_iter=300 if n <= SHORT_TSNE_MAX else 500, ints_in_interval=FFT_BOX,
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
    return np.asarray(xy, dtype=np.float64)


def _umap(x: np.ndarray, seed: int) -> np.ndarray:
    """UMAP (umap-learn). A random_state makes it deterministic (and single-threaded); so does a
    PCA start: umap's default spectral start differs from run to run even with one."""
    import sys
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state": that is the point
        if "umap" not in sys.modules and "tensorflow" not in sys.modules:
            # umap's package imports its parametric variant, hence TensorFlow (15 s), if it can
            sys.modules["tensorflow"] = None  # type: ignore[assignment]
            try:
                import umap  # noqa: F401
            finally:
                del sys.modules["tensorflow"]
        from umap import UMAP
        xy = UMAP(n_components=2, n_neighbors=min(15, len(x) - 1), min_dist=0.1, random_state=seed,
                  init="pca").fit_transform(x)
    return np.asarray(xy, dtype=np.float64)


def extend(ref_x: np.ndarray, ref_xy: np.ndarray, new_x: np.ndarray, method: str = "opentsne",
           perplexity: float = 30.0, seed: int = 0, threads: int = 2) -> np.ndarray:
    """Positions for new points ``new_x`` in an existing map (``ref_xy``, the map's own units, of
    the points ``ref_x``), every existing point staying where it is.

    t-SNE: openTSNE's ``TSNEEmbedding.transform`` (each new point optimised against the fixed
    reference map, affinities from its exact nearest reference points). UMAP's own transform
    needs the fitted model, which is not kept (it would be a pickle in the cache): there each new
    point goes to the median of its 15 nearest reference points, openTSNE's initialisation."""
    if len(new_x) == 0:
        return np.zeros((0, 2))
    ref_x = np.ascontiguousarray(ref_x, dtype=np.float64)
    new_x = np.ascontiguousarray(new_x, dtype=np.float64)
    k = min(len(ref_x), 15)
    if method == "umap" or len(ref_x) < 10:
        near = _ExactIndex(ref_x).query(new_x, k)[0]
        return np.median(ref_xy[near], axis=1)
    from openTSNE import TSNEEmbedding
    perplexity = float(min(perplexity, (len(ref_x) - 1) / 3))
    ref = TSNEEmbedding(np.array(ref_xy, dtype=np.float64), _ReferenceAffinities(ref_x, perplexity, threads),
                        random_state=seed, negative_gradient_method="fft", n_jobs=threads)
    centre = (ref_xy.max(axis=0) + ref_xy.min(axis=0)) / 2  # transform centres the map first
    added = ref.transform(new_x, perplexity=min(5.0, perplexity), k=k)
    return np.asarray(added, dtype=np.float64) + centre


class _ExactIndex:
    """Exact nearest reference points (openTSNE's KNNIndex interface: query -> indices, distances)."""

    def __init__(self, data: np.ndarray):
        from sklearn.neighbors import NearestNeighbors
        self.index = NearestNeighbors(algorithm="brute").fit(data)
        self.n_samples = len(data)
        self.k = min(self.n_samples, 90)

    def query(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        distances, indices = self.index.kneighbors(query, n_neighbors=min(k, self.n_samples))
        return indices, distances


def _ReferenceAffinities(data: np.ndarray, perplexity: float, threads: int):
    """What ``TSNEEmbedding.transform`` needs of the reference points: their neighbour index
    (``to_new``), without the reference's own affinity matrix, which transform never reads."""
    from openTSNE.affinity import Affinities, PerplexityBasedNN
    from scipy.sparse import csr_matrix

    class ReferenceAffinities(PerplexityBasedNN):
        def __init__(self) -> None:
            Affinities.__init__(self, verbose=False)
            self.knn_index = _ExactIndex(data)
            self.perplexity, self.n_jobs = perplexity, threads
            self.P = csr_matrix((len(data), len(data)))

    return ReferenceAffinities()


def unit(xy: np.ndarray, bounds: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Rescale a map to [0, 1] on both axes, by its own extent or by given (lo, hi) ``bounds``
    (an extended map keeps its first extent, so old points keep their places; new points
    outside it are held at the edge)."""
    lo, hi = bounds if bounds is not None else (xy.min(axis=0), xy.max(axis=0))
    out = (xy - lo) / np.where(hi > lo, hi - lo, 1)
    return np.clip(out, 0, 1).astype(np.float32)


def neighbourhood_kept(features: np.ndarray, xy: np.ndarray, k: int = 10, sample: int = 2000,
                       seed: int = 0) -> float:
    """Fraction of each point's k nearest neighbours in feature space that are also among its k
    nearest on the map, averaged over a fixed sample of points (exact search)."""
    from sklearn.neighbors import NearestNeighbors
    n = len(features)
    if n <= k + 1:
        return 1.0
    rows = np.sort(np.random.default_rng(seed).choice(n, min(n, sample), replace=False))
    k = min(k, n - 1)

    def near(space: np.ndarray) -> np.ndarray:
        idx = NearestNeighbors(n_neighbors=k + 1).fit(space).kneighbors(space[rows], return_distance=False)
        return np.array([[j for j in r if j != i][:k] for i, r in zip(rows, idx)])

    a, b = near(np.asarray(features, dtype=np.float32)), near(np.asarray(xy, dtype=np.float64))
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b)]))
