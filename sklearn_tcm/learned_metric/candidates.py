"""What :class:`~sklearn_tcm.CriticClustering` chooses from, and how it chooses.

The candidates are the partitions classical algorithms produce **on the
points** (at most ``max_samples`` of them; a larger dataset is clustered on
a uniform subsample and the choice is extended to every point by its
nearest cluster core): k-means, Gaussian mixtures (full and diagonal
covariances), Ward / average / complete / single linkage (one tree each,
cut at every k), DBSCAN over eps from k-nearest-neighbour distance
quantiles and two ``min_samples``, HDBSCAN over ``min_cluster_size``,
spectral clustering of a kNN graph (one embedding, k-means at every k) and,
when the optional ``genieclust`` package is installed, Genie. Points far
from all others are noise (``-1``) and take no part; in every candidate,
clusters smaller than ``min_cluster_size`` are noise, as the density
algorithms' noise is. Once the choice is made, its noise joins the cluster
of the nearest clustered point (the far outliers stay noise).

The choice is made in three steps:

1. :func:`score_candidates` scores every candidate with the metric on one
   subsample of the points, then the best ``n_finalists`` on the other
   subsamples as well; all candidates share the same subsamples, drawn
   independently of their labels, so differences between candidates are
   not differences between draws;
2. :func:`consensus_choice` takes, among the ``n_consensus`` best by mean
   score, the partition that agrees most (mean ARI) with the others
   (stability-based selection, Ben-Hur et al. 2002; Lange et al. 2004):
   a partition that only one algorithm produces and that the metric
   over-rates is not followed;
3. :func:`structure_test` decides whether there are clusters at all: the
   gap statistic (Tibshirani, Walther & Hastie 2001) of k-means against
   reference data drawn uniformly in the box of the data's principal axes,
   at several k; where no k shows more structure than the reference data,
   and the near-best candidates do not agree either, the answer is one
   cluster. The metric's own scores cannot make this decision: it was
   trained to compare partitions of data that have clusters.
"""

from dataclasses import dataclass

import numpy as np
import torch
from scipy.cluster import hierarchy
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
from sklearn.metrics import pairwise_distances_argmin
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors, kneighbors_graph

from ..metrics import adjusted_rand_matrix
from ._spectral import spectral_embedding
from .graph import build_context
from .tasks import preprocess_task, scoring_groups, uniform_subsets

__all__ = [
    "FAMILIES",
    "CandidatePool",
    "k_grid",
    "candidate_pool",
    "far_outliers",
    "score_candidates",
    "consensus_choice",
    "small_clusters_as_noise",
    "assign_to_cores",
    "absorb_noise",
    "structure_test",
    "cluster_cores",
]

#: Algorithm families of the candidate pool. ``"genie"`` needs the optional
#: ``genieclust`` package and is left out when it is not installed.
FAMILIES = ("kmeans", "gmm", "ward", "average", "complete", "single", "dbscan", "hdbscan",
            "spectral", "genie")
_LINKAGES = ("ward", "average", "complete", "single")
#: every k up to this one, then steps of about 25 % (k-means, mixtures, spectral);
#: the linkage trees and Genie are cut at every k of the range
_EVERY_K_UP_TO = 12
_DBSCAN_QUANTILES = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
_DBSCAN_MIN_SAMPLES = (5, 10)
_HDBSCAN_SIZES = (5, 10, 20, 40, 80)
_SPECTRAL_MAX_POINTS = 3000
_SPECTRAL_MAX_K = 20
_GMM_MAX_K = 12
#: k of the structure test (those within the range searched)
_GAP_K = (2, 3, 5, 8, 12, 20, 30, 50)
_GAP_MAX_POINTS = 1000
#: structure is present when some k's gap exceeds the reference data's by this
#: many of their standard deviations, or when the near-best candidates agree
#: at least this much (two moons: k-means sees no gap, every algorithm that
#: finds the moons agrees on them)
GAP_Z = 4.0
AGREEMENT = 0.7
#: a far outlier is farther from its min_cluster_size-th neighbour than this
#: many times the 99th percentile of those distances
OUTLIER_FACTOR = 5.0


def k_grid(k_low, k_high):
    """Numbers of clusters tried by the per-k families: every k up to 12, then ~25 % steps."""
    grid = [k for k in range(k_low, min(k_high, _EVERY_K_UP_TO) + 1)]
    k = max(k_low, _EVERY_K_UP_TO + 1)
    while k <= k_high:
        grid.append(k)
        k = max(k + 1, int(round(k * 1.25)))
    if grid and grid[-1] != k_high and k_high > _EVERY_K_UP_TO:
        grid.append(k_high)
    return grid


def small_clusters_as_noise(labels, min_cluster_size):
    """Clusters below ``min_cluster_size`` become noise (-1); ids renumbered by first point."""
    labels = np.asarray(labels)
    clustered = labels >= 0
    values, first, inverse, counts = np.unique(labels[clustered], return_index=True,
                                               return_inverse=True, return_counts=True)
    keep = counts >= min_cluster_size
    rank = np.full(values.size, -1)
    kept = np.flatnonzero(keep)
    rank[kept[np.argsort(first[kept], kind="stable")]] = np.arange(kept.size)
    out = np.full(labels.shape, -1, dtype=np.int64)
    out[clustered] = rank[inverse]
    return out


def absorb_noise(X, labels):
    """Noise points (-1) take the cluster of their nearest clustered point."""
    noise = labels < 0
    if not noise.any() or noise.all():
        return labels
    nearest = NearestNeighbors(n_neighbors=1).fit(X[~noise]).kneighbors(
        X[noise], return_distance=False)[:, 0]
    labels = labels.copy()
    labels[noise] = labels[~noise][nearest]
    return labels


def _n_clusters(labels):
    return int(labels.max()) + 1


@dataclass
class CandidatePool:
    """Candidate partitions of the points, one row each (noise ``-1``).

    Attributes
    ----------
    labels : ndarray of shape (n_candidates, n_samples)
        Clusters numbered ``0 .. k-1`` by first point; distinct rows.
    names : list of str
        The algorithm and parameter that made each row, e.g. ``"ward k=3"``.
    """

    labels: np.ndarray
    names: list

    def __len__(self):
        return len(self.names)


def _per_k_partitions(X, ks, families, seed):
    """k-means, mixtures and spectral clustering at every k of ``ks``."""
    n = X.shape[0]
    embedding = None
    if "spectral" in families and n <= _SPECTRAL_MAX_POINTS and n > 20:
        graph = kneighbors_graph(X, min(10, n - 1), include_self=False)
        affinity = 0.5 * (graph + graph.T)
        n_components = min(_SPECTRAL_MAX_K, max(ks), n - 2)
        embedding = spectral_embedding(affinity, n_components, random_state=seed)
    for k in ks:
        if "kmeans" in families:
            yield f"kmeans k={k}", KMeans(k, n_init=3, random_state=seed).fit_predict(X)
        if "gmm" in families and n > 5 * k and k <= _GMM_MAX_K:
            for covariance in ("full", "diag"):
                if covariance == "full" and X.shape[1] * (X.shape[1] + 1) // 2 * k > n:
                    continue  # more covariance parameters than points
                gmm = GaussianMixture(k, covariance_type=covariance, reg_covar=1e-4,
                                      random_state=seed).fit(X)
                yield f"gmm-{covariance} k={k}", gmm.predict(X)
        if embedding is not None and k <= embedding.shape[1]:
            rows = embedding[:, :k]
            rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
            yield f"spectral k={k}", KMeans(k, n_init=3, random_state=seed).fit_predict(rows)


def _tree_partitions(X, k_range, families):
    """Linkage trees (and Genie's) cut at every k of the range."""
    for method in _LINKAGES:
        if method in families:
            tree = hierarchy.linkage(X, method=method)
            for k in range(k_range[0], k_range[1] + 1):
                yield f"{method} k={k}", hierarchy.fcluster(tree, k, criterion="maxclust") - 1
    if "genie" in families and X.shape[1] >= 2:  # its spanning-tree code needs d >= 2
        try:
            import genieclust
        except ImportError:
            return
        genie = genieclust.Genie(verbose=False)
        for k in range(k_range[0], k_range[1] + 1):
            # refitting one Genie on the same X reuses its minimum spanning tree
            yield f"genie k={k}", genie.set_params(n_clusters=k).fit_predict(X)


def _density_partitions(X, families):
    """DBSCAN over eps from kNN-distance quantiles; HDBSCAN over min_cluster_size."""
    n = X.shape[0]
    if "dbscan" in families:
        for min_samples in _DBSCAN_MIN_SAMPLES:
            if n <= min_samples:
                continue
            distances = NearestNeighbors(n_neighbors=min_samples).fit(X).kneighbors()[0][:, -1]
            for q in _DBSCAN_QUANTILES:
                eps = float(np.quantile(distances, q))
                if eps > 0:
                    yield (f"dbscan min_samples={min_samples} eps=q{q:g}",
                           DBSCAN(eps=eps, min_samples=min_samples).fit_predict(X))
    if "hdbscan" in families:
        for size in _HDBSCAN_SIZES:
            if n > 2 * size:
                yield (f"hdbscan min_cluster_size={size}",
                       HDBSCAN(min_cluster_size=size, copy=True).fit_predict(X))


def candidate_pool(X, k_range, *, families=FAMILIES, min_cluster_size=5, random_state=None):
    """The partitions the families produce on the points ``X``, small clusters as noise.

    Clusters smaller than ``min_cluster_size`` become noise (-1), as the
    density algorithms' noise is: the metric scores the share of noise.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Preprocessed points (see :func:`~.tasks.preprocess_task`).
    k_range : tuple of int
        Smallest and largest number of clusters (a candidate whose number
        of clusters, after small clusters became noise, falls outside is
        dropped).
    families : sequence of str, default=FAMILIES
    min_cluster_size : int, default=5
    random_state : int or None

    Returns
    -------
    CandidatePool
    """
    seed = int(np.random.default_rng(random_state).integers(2**31 - 1))
    n = X.shape[0]
    k_high = min(k_range[1], n // max(min_cluster_size, 1))
    k_low = min(k_range[0], k_high)
    ks = k_grid(max(k_low, 2), k_high) if k_high >= 2 else []
    produced = []
    if ks:
        produced += list(_per_k_partitions(X, ks, families, seed))
        produced += list(_tree_partitions(X, (max(k_low, 2), k_high), families))
    produced += list(_density_partitions(X, families))
    unique = {}
    for name, labels in produced:
        labels = small_clusters_as_noise(labels, min_cluster_size)
        if labels.max() < 0 or not k_range[0] <= _n_clusters(labels) <= k_range[1]:
            continue
        unique.setdefault(labels.tobytes(), (name, labels))
    if not unique:
        return CandidatePool(np.zeros((0, n), dtype=np.int64), [])
    names, labels = zip(*unique.values())
    return CandidatePool(np.stack(labels), list(names))


def far_outliers(X, n_neighbors=5):
    """Points far from all others: the preprocessing's scale would be theirs.

    A point is a far outlier when its distance to its ``n_neighbors``-th
    nearest neighbour exceeds :data:`OUTLIER_FACTOR` times the 99th
    percentile of those distances.
    """
    n = X.shape[0]
    if n <= n_neighbors + 1:
        return np.zeros(n, dtype=bool)
    distances = NearestNeighbors(n_neighbors=n_neighbors).fit(X).kneighbors()[0][:, -1]
    return distances > OUTLIER_FACTOR * np.quantile(distances, 0.99)


def _subset_scores(metric, X, labels, subset, seed):
    """(B,) scores of the candidates restricted to one subsample of the points."""
    from .adversarial import CriticObjective

    context = build_context(preprocess_task(X[subset], random_state=seed),
                            dtype=torch.float32)
    objective = CriticObjective(metric.gae_, metric.critic_, [context], torch.device("cpu"),
                                caution=metric.caution)
    return objective([labels[:, subset]])


def score_candidates(metric, X, labels, *, max_points, n_subsamples, n_finalists, rng,
                     points_per_cluster=None):
    """Mean score of each candidate over shared subsamples of the points.

    Every candidate is scored on the first subsample of its size
    (:func:`.tasks.scoring_groups`: ``max_points`` points, more for
    candidates with many clusters); the ``n_finalists`` best are also scored
    on the others (a dataset of at most that many points has one
    subsample: itself). The subsamples are uniform draws of the points, the
    same for every candidate of one size and independent of the labels.

    Returns
    -------
    scores : ndarray of shape (n_candidates,)
        The mean score of each finalist; ``-inf`` for the others.
    """
    n_samples = X.shape[0]
    subsets = {min(n_samples, max_points): uniform_subsets(n_samples, max_points,
                                                           n_subsamples, rng)}
    seed = int(rng.integers(2**31 - 1))
    groups = scoring_groups(labels, max_points, points_per_cluster)
    first = np.empty(labels.shape[0])
    for size, members in groups.items():
        if size not in subsets:
            subsets[size] = uniform_subsets(n_samples, size, n_subsamples,
                                            np.random.default_rng(seed))
        first[members] = _subset_scores(metric, X, labels[members], subsets[size][0], seed)
    finalists = np.argsort(-first, kind="stable")[:n_finalists]
    scores = np.full(labels.shape[0], -np.inf)
    for size, members in groups.items():
        chosen = np.intersect1d(finalists, members)
        total = first[chosen].copy()
        for subset in subsets[size][1:] if chosen.size else ():
            total += _subset_scores(metric, X, labels[chosen], subset, seed)
        scores[chosen] = total / len(subsets[size])
    return scores


def consensus_choice(labels, scores, n_consensus=5):
    """Among the ``n_consensus`` best-scored, the candidate the others agree with most.

    Returns the index of the chosen candidate and the mean ARI between the
    near-best candidates (1: they are one partition; near 0: unrelated
    partitions). Ties go to the better-scored candidate.
    """
    order = np.argsort(-scores, kind="stable")[:min(n_consensus, np.isfinite(scores).sum())]
    if order.size == 1:
        return int(order[0]), 1.0
    agreement = adjusted_rand_matrix(labels[order])
    mean_to_others = (agreement.sum(axis=1) - 1.0) / (order.size - 1)
    best = int(np.argmax(mean_to_others))  # first maximum: the better score wins ties
    return int(order[best]), float(mean_to_others.mean())


def _log_dispersion_ratio(X, k, seed):
    """log(W_k / W_1): k-means' within-cluster dispersion against one cluster's."""
    total = np.sum((X - X.mean(axis=0)) ** 2)
    return np.log(KMeans(k, n_init=2, random_state=seed).fit(X).inertia_ / total)


def structure_test(X, k_high, *, n_references=5, random_state=None):
    """Largest gap z-score over k: how much more clustered X is than structureless data.

    For each k of ``(2, 3, 5, 8, 12, 20, 30, 50)`` up to ``k_high``, the
    gap ``E*[log(W_k / W_1)] - log(W_k / W_1)`` of k-means, where ``E*`` is
    the mean over ``n_references`` datasets drawn uniformly in the box of
    X's principal axes, divided by the reference draws' standard deviation
    (times ``sqrt(1 + 1 / n_references)``, as Tibshirani et al. do).
    Uniform data scores about 0, a single Gaussian below 0, separated
    clusters tens.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Preprocessed points (at most 1 000 are used).
    k_high : int
    n_references : int, default=5
    random_state : int or None

    Returns
    -------
    z : float
        ``-inf`` when no k applies.
    """
    rng = np.random.default_rng(random_state)
    if X.shape[0] > _GAP_MAX_POINTS:
        X = X[rng.choice(X.shape[0], size=_GAP_MAX_POINTS, replace=False)]
    X = X - X.mean(axis=0)
    rotated = X @ np.linalg.svd(X, full_matrices=False)[2].T
    low, high = rotated.min(axis=0), rotated.max(axis=0)
    references = [rng.uniform(low, high, size=rotated.shape) for _ in range(n_references)]
    seed = int(rng.integers(2**31 - 1))
    best = -np.inf
    for k in _GAP_K:
        if k > k_high or k >= X.shape[0] // 2:
            break
        expected = np.array([_log_dispersion_ratio(R, k, seed) for R in references])
        spread = max(expected.std() * np.sqrt(1 + 1 / n_references), 1e-3)
        best = max(best, (expected.mean() - _log_dispersion_ratio(rotated, k, seed)) / spread)
    return float(best)


def cluster_cores(X, labels, max_cores=512, random_state=None):
    """Representative points of each cluster (and of the noise) for assigning new points.

    Each cluster gets up to ``max(4, max_cores // k)`` k-means centres of
    its points (all its points when it has fewer); noise gets up to as many
    of its own points. A new point takes the label of its nearest core
    (:func:`assign_to_cores`), which follows curved clusters as well as a
    nearest-neighbour rule at a fraction of its cost.

    Returns
    -------
    cores : ndarray of shape (n_cores, n_features)
    core_labels : ndarray of shape (n_cores,)
    """
    rng = np.random.default_rng(random_state)
    values = np.unique(labels)
    per_cluster = max(4, max_cores // max(1, values.size))
    cores, core_labels = [], []
    for value in values:
        members = X[labels == value]
        if members.shape[0] <= per_cluster:
            chosen = members
        elif value < 0:
            chosen = members[rng.choice(members.shape[0], size=per_cluster, replace=False)]
        else:
            chosen = KMeans(per_cluster, n_init=1, random_state=int(rng.integers(2**31 - 1)))\
                .fit(members).cluster_centers_
        cores.append(chosen)
        core_labels.append(np.full(chosen.shape[0], value, dtype=np.int64))
    return np.concatenate(cores), np.concatenate(core_labels)


def assign_to_cores(X, cores, core_labels):
    """Label of each point's nearest core (chunked: memory does not grow as n x cores)."""
    return core_labels[pairwise_distances_argmin(X, cores)]
