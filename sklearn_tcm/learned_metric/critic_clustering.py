"""CriticClustering: the clusterer under a learned metric, the number of clusters unknown."""

import os
import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.utils.validation import check_is_fitted, validate_data
from tqdm.auto import tqdm

from .._base import atomic_fit
from .._persistence import PersistenceMixin
from .._sklearn_compat import Interval, StrOptions, _fit_context
from .._torch import draw_seed
from .candidates import (
    AGREEMENT,
    FAMILIES,
    GAP_Z,
    absorb_noise,
    assign_to_cores,
    candidate_pool,
    cluster_cores,
    consensus_choice,
    far_outliers,
    score_candidates,
    small_clusters_as_noise,
    structure_test,
)
from .estimator import LearnedMetricClustering, _check_points
from .tasks import preprocess_task

__all__ = ["CriticClustering"]


def _resolve_metric(metric):
    """The fitted :class:`LearnedMetricClustering` that ``metric`` names."""
    from .._persistence import load
    from .pretrained import pretrained_metric

    if metric is None:
        return pretrained_metric()
    if isinstance(metric, str | os.PathLike):
        return load(metric)
    # sklearn.frozen.FrozenEstimator: clone() keeps the fitted metric it wraps
    inner = getattr(metric, "estimator", None) if type(metric).__name__ == "FrozenEstimator" \
        else metric
    if not isinstance(inner, LearnedMetricClustering):
        raise TypeError(
            "metric must be None (the shipped metric), a model file path, or a fitted "
            f"LearnedMetricClustering; got {type(metric).__name__}."
        )
    if not hasattr(inner, "critic_"):
        raise ValueError(
            "metric is a LearnedMetricClustering that is not fitted. clone() (which "
            "Pipeline, GridSearchCV and cross_validate call) drops a fitted metric's "
            "state: pass metric=sklearn.frozen.FrozenEstimator(fitted_metric), or the path "
            "of its saved model file."
        )
    return inner



def default_max_clusters(n_samples):
    """Largest number of clusters tried when ``max_clusters`` is None: n / 10, in [10, 50]."""
    return int(min(50, max(10, n_samples // 10)))


class CriticClustering(PersistenceMixin, ClusterMixin, BaseEstimator):
    """Clustering with the number of clusters unknown, chosen by a learned metric.

    A scikit-learn clusterer: ``fit(X)`` runs classical algorithms on the
    points (k-means, Gaussian mixtures, Ward / average / complete / single
    linkage, DBSCAN, HDBSCAN, spectral clustering and, when installed,
    Genie, over their number of clusters or density parameter), scores
    every partition they produce with a fitted
    :class:`LearnedMetricClustering` (by default the metric shipped with the
    package, :func:`~sklearn_tcm.pretrained_metric`: no labels and no
    training needed) and keeps the partition that the metric rates among
    the best and that the other best-rated partitions agree with. When the
    data show no cluster structure it says so: one cluster. See the user
    guide, *Clustering with the learned metric*, for how the choice is made
    and what it was measured against.

    ``LearnedMetricClustering`` *learns* a metric in ``fit(X, y)`` from
    labelled references; this estimator *uses* one. It can be the last
    step of a :class:`~sklearn.pipeline.Pipeline`, cloned, pickled and
    saved with ``save``.

    Parameters
    ----------
    metric : None, str, path-like, LearnedMetricClustering or FrozenEstimator, default=None
        The learned metric. None: the shipped metric. A path: a model file
        written by ``LearnedMetricClustering.save``. A fitted
        ``LearnedMetricClustering``; since :func:`~sklearn.base.clone`
        (used by ``Pipeline``, ``GridSearchCV``, ``cross_validate``) drops
        the fitted state of an estimator parameter, wrap it as
        ``sklearn.frozen.FrozenEstimator(metric)`` or pass its file there.
    n_clusters : int or None, default=None
        Fixed number of clusters: only partitions with that many clusters
        compete, and the structure test is skipped. None lets the metric
        choose.
    max_clusters : int or None, default=None
        Largest number of clusters tried. None: a tenth of the number of
        points the algorithms run on, at least 10 and at most 50. A
        warning says when the choice lies at this edge (the data may have
        more clusters: raise it).
    min_cluster_size : int, default=5
        Smallest cluster (in points the algorithms run on): smaller
        clusters, and the noise of DBSCAN and HDBSCAN, join the cluster of
        their nearest clustered point. Points far from all others (farther
        from their ``min_cluster_size``-th neighbour than five times the
        99th percentile of that distance) are noise, label -1, as in
        HDBSCAN: a far outlier is not a cluster.
    allow_single_cluster : bool, default=True
        Whether "no cluster structure" is an answer: when neither the gap
        statistic of k-means against structureless reference data, at any
        k, nor the agreement of the best-rated partitions shows clusters,
        every point is in one cluster (``n_clusters_ == 1``). False always
        returns the best partition with at least two clusters.
    search : {"select", "evolve"}, default="select"
        ``"select"``: choose among the algorithms' partitions.
        ``"evolve"``: also run the evolutionary search of
        :mod:`~sklearn_tcm.learned_metric.search` under the metric and add
        its find to the candidates; it is chosen only if the algorithms'
        best-rated partitions agree with it (the metric over-rates some
        partitions that no algorithm makes; this rule does not follow them).
    max_samples : int, default=2000
        Points the algorithms run on. A larger dataset is clustered on a
        uniform random subsample of this many points, and every other
        point takes the cluster of its nearest cluster core (as
        :meth:`predict` does); clusters much smaller than
        ``n_samples / max_samples * min_cluster_size`` points may be missed.
    n_subsamples : int, default=5
        Subsamples of the metric's ``max_points`` points (more for
        partitions with many clusters: the metric's ``points_per_cluster``)
        on which the best-rated partitions are scored (a dataset of at most
        that many points is scored whole, once).
    n_consensus : int, default=5
        How many of the best-rated partitions vote on the choice; 1 keeps
        the best-rated one.
    families : sequence of str or None, default=None
        Algorithm families of the candidates (see
        :data:`~sklearn_tcm.learned_metric.candidates.FAMILIES`); None:
        all (``"genie"`` only where ``genieclust`` is installed).
    random_state : int, RandomState instance or None, default=None
        Seed of the subsamples and of the randomised algorithms (k-means,
        mixtures, spectral). Where the data support one answer, the answer
        does not depend on it.
    verbose : int, default=0
        Progress of the steps (candidates, scoring, structure test) when > 0.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training point, ``0 .. n_clusters_ - 1``; -1 marks
        the far outliers (see ``min_cluster_size``).
    n_clusters_ : int
        Number of clusters found (noise is not a cluster).
    score_ : float
        The metric's score of ``labels_``: exactly
        ``metric_.score_clustering(X, labels_)`` (only differences between
        partitions of the same data compare; see
        :meth:`LearnedMetricClustering.score_clustering`).
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Mean of each cluster's points.
    selection_ : dict
        How the choice was made: ``candidate`` (the algorithm and
        parameter that produced it, or ``"one cluster"``),
        ``n_candidates``, ``agreement`` (mean ARI among the best-rated
        partitions), ``gap_z`` (the structure test's statistic; None when
        skipped) and ``at_edge`` (whether the number of clusters is the
        largest tried).
    metric_ : LearnedMetricClustering
        The fitted metric used.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    LearnedMetricClustering : learns the metric from labelled references.
    sklearn_tcm.critic_scorer : the metric as a label-free ``scoring=``.
    sklearn.cluster.HDBSCAN : density-based clustering, k unknown.

    Notes
    -----
    :meth:`predict` assigns each new point the label of its nearest
    *cluster core*: up to 512 representative points in all (k-means
    centres within each cluster, and noise points), which follows curved
    clusters such as moons at a small fraction of the cost of comparing
    with every training point. It does not cluster again; to cluster a new
    dataset on its own, call :meth:`fit_predict` on it.

    A dataset whose points are all identical is one cluster.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_tcm import CriticClustering
    >>> X, _ = make_blobs(300, centers=3, cluster_std=0.6, random_state=0)
    >>> pipe = make_pipeline(StandardScaler(), CriticClustering(random_state=0)).fit(X)
    >>> pipe[-1].n_clusters_
    3
    >>> pipe.predict(X[:4]).shape
    (4,)
    """

    _parameter_constraints = {
        "metric": "no_validation",  # checked in fit: None, path, fitted metric
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "max_clusters": [Interval(Integral, 2, None, closed="left"), None],
        "min_cluster_size": [Interval(Integral, 1, None, closed="left")],
        "allow_single_cluster": ["boolean"],
        "search": [StrOptions({"select", "evolve"})],
        "max_samples": [Interval(Integral, 20, None, closed="left")],
        "n_subsamples": [Interval(Integral, 1, None, closed="left")],
        "n_consensus": [Interval(Integral, 1, None, closed="left")],
        "families": ["array-like", None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        metric=None,
        *,
        n_clusters=None,
        max_clusters=None,
        min_cluster_size=5,
        allow_single_cluster=True,
        search="select",
        max_samples=2000,
        n_subsamples=5,
        n_consensus=5,
        families=None,
        random_state=None,
        verbose=0,
    ):
        self.metric = metric
        self.n_clusters = n_clusters
        self.max_clusters = max_clusters
        self.min_cluster_size = min_cluster_size
        self.allow_single_cluster = allow_single_cluster
        self.search = search
        self.max_samples = max_samples
        self.n_subsamples = n_subsamples
        self.n_consensus = n_consensus
        self.families = families
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _empty_modules(self):
        return {}  # the networks live in metric_, saved with it

    def _check_families(self):
        families = FAMILIES if self.families is None else tuple(self.families)
        unknown = set(families) - set(FAMILIES)
        if unknown or not families:
            raise ValueError(
                f"families must be a non-empty subset of {FAMILIES}; got {self.families!r}."
            )
        return families

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Cluster ``X``; the number of clusters is found unless fixed.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            At least 3 samples. A sparse matrix is made dense (after a check
            that it fits in memory).
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : CriticClustering
            The fitted estimator.
        """
        X = validate_data(self, X, accept_sparse="csr", ensure_min_samples=3)
        X = _check_points(X)
        if self.n_clusters is not None and self.n_clusters > X.shape[0]:
            raise ValueError(
                f"n_clusters={self.n_clusters} is larger than the number of samples "
                f"({X.shape[0]})."
            )
        families = self._check_families()
        metric = _resolve_metric(self.metric)
        rng = np.random.default_rng(draw_seed(self.random_state))
        n = X.shape[0]
        sample = np.arange(n) if n <= self.max_samples else np.sort(
            rng.choice(n, size=self.max_samples, replace=False))
        with tqdm(total=4, desc="CriticClustering", disable=not self.verbose,
                  leave=False) as progress:
            sample_labels, selection = self._choose(metric, X[sample], families, rng,
                                                    progress)
        cores, core_labels = cluster_cores(X[sample], sample_labels,
                                           random_state=int(rng.integers(2**31 - 1)))
        labels = np.empty(n, dtype=np.int64)
        labels[sample] = sample_labels
        rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
        if rest.size:
            labels[rest] = assign_to_cores(X[rest], cores, core_labels)
        n_clusters = int(labels.max()) + 1
        if selection["at_edge"]:
            warnings.warn(
                f"CriticClustering chose {n_clusters} clusters, the largest number tried: "
                "the data may have more. Raise max_clusters to try more.", UserWarning,
                stacklevel=2)
        self.metric_ = metric
        self.labels_ = labels
        self.n_clusters_ = n_clusters
        self.score_ = float(metric.score_clustering(X, labels))
        self.cluster_centers_ = np.stack([X[labels == c].mean(axis=0)
                                          for c in range(n_clusters)])
        self.selection_ = selection
        self._cores, self._core_labels = cores, core_labels
        return self

    def _choose(self, metric, X, families, rng, progress):
        """Labels of the points ``X`` the algorithms run on, and how they were chosen."""
        n = X.shape[0]
        one_cluster = {"candidate": "one cluster", "n_candidates": 0, "agreement": None,
                       "gap_z": None, "at_edge": False}
        if not np.ptp(X, axis=0).any():
            return np.zeros(n, dtype=np.int64), one_cluster
        seed = int(rng.integers(2**31 - 1))
        points = preprocess_task(X, random_state=seed)
        inliers = ~far_outliers(points, self.min_cluster_size)
        points = preprocess_task(X[inliers], random_state=seed)
        k_high = (self.n_clusters if self.n_clusters is not None else
                  self.max_clusters or default_max_clusters(int(inliers.sum())))
        k_range = (self.n_clusters, self.n_clusters) if self.n_clusters is not None \
            else (2, k_high)
        progress.set_postfix_str("candidates")
        pool = candidate_pool(points, k_range, families=families,
                              min_cluster_size=self.min_cluster_size, random_state=seed)
        labels, names = pool.labels, pool.names
        if self.search == "evolve" and k_range[1] >= 2:
            found = _evolved(metric, X[inliers], k_range, self.min_cluster_size, seed)
            labels, names = np.vstack([labels, found[None]]), names + ["evolve"]
        progress.update()
        if len(names) == 0:
            if self.n_clusters is None:
                return _with_inliers(np.zeros(int(inliers.sum()), dtype=np.int64),
                                     inliers), one_cluster
            # no algorithm gives exactly n_clusters clusters of min_cluster_size points
            labels = KMeans(self.n_clusters, n_init=10, random_state=seed) \
                .fit_predict(points)[None]
            names = [f"kmeans k={self.n_clusters}"]
        progress.set_postfix_str(f"scoring {len(names)} candidates")
        scores = score_candidates(metric, X[inliers], labels, max_points=metric.max_points,
                                  n_subsamples=self.n_subsamples,
                                  n_finalists=max(20, 4 * self.n_consensus), rng=rng,
                                  points_per_cluster=metric.points_per_cluster)
        chosen, agreement = consensus_choice(labels, scores, self.n_consensus)
        progress.update()
        selection = {"candidate": names[chosen], "n_candidates": len(names),
                     "agreement": agreement, "gap_z": None,
                     "at_edge": self.n_clusters is None and k_high > 2
                     and int(labels[chosen].max()) + 1 >= k_high}
        progress.set_postfix_str("structure test")
        if self.n_clusters is None and self.allow_single_cluster:
            selection["gap_z"] = structure_test(points, k_high, random_state=seed)
            if selection["gap_z"] <= GAP_Z and agreement < AGREEMENT:
                progress.update(2)
                return (_with_inliers(np.zeros(int(inliers.sum()), dtype=np.int64), inliers),
                        {**selection, "candidate": "one cluster", "at_edge": False})
        progress.update(2)
        return _with_inliers(absorb_noise(points, labels[chosen]), inliers), selection

    def predict(self, X):
        """Cluster of each new point: that of its nearest cluster core (-1: noise).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        return assign_to_cores(X, self._cores, self._core_labels)


def _with_inliers(inlier_labels, inliers):
    """Labels of all points: the inliers' labels, noise (-1) for the far outliers."""
    labels = np.full(inliers.shape[0], -1, dtype=np.int64)
    labels[inliers] = inlier_labels
    return labels


def _evolved(metric, X, k_range, min_cluster_size, seed):
    """The evolutionary search's find under the metric, small clusters as noise."""
    from .adversarial import search_dataset, training_search_options

    options = {**training_search_options(metric, k_range[1]), "search": "evolve",
               "k_range": k_range}
    result = search_dataset(X, metric.gae_, metric.critic_, options, torch.device("cpu"),
                            seed)
    return small_clusters_as_noise(result.labels, min_cluster_size)
