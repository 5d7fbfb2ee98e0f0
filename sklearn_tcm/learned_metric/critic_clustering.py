"""CriticClustering: cluster a dataset under a fitted learned metric, as any clusterer does."""

import os
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from .._base import atomic_fit
from .._persistence import PersistenceMixin
from .estimator import LearnedMetricClustering, _check_points, search_labels

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


class CriticClustering(PersistenceMixin, ClusterMixin, BaseEstimator):
    """Clustering with the number of clusters unknown, under a learned metric.

    A scikit-learn clusterer: ``fit(X)`` clusters ``X`` by the search of a
    fitted :class:`LearnedMetricClustering` (by default the metric shipped
    with the package, :func:`~sklearn_tcm.pretrained_metric`: no labels and
    no training needed) and sets ``labels_`` and the critic score of that
    partition. It can be the last step of a :class:`~sklearn.pipeline.Pipeline`,
    its search settings can be tuned by
    :class:`~sklearn.model_selection.GridSearchCV` (with a label-free scorer
    such as :func:`~sklearn_tcm.critic_scorer` and
    :class:`~sklearn_tcm.WholeDataSplit`), and it can be cloned, pickled and
    saved with ``save``.

    ``LearnedMetricClustering`` itself *learns* a metric in ``fit(X, y)``
    from labelled references; this estimator *uses* one.

    Parameters
    ----------
    metric : None, str, path-like, LearnedMetricClustering or FrozenEstimator, default=None
        The learned metric. None: the shipped metric. A path: a model file
        written by ``LearnedMetricClustering.save``. A fitted
        ``LearnedMetricClustering``; since :func:`~sklearn.base.clone`
        (used by ``Pipeline``, ``GridSearchCV``, ``cross_validate``) drops
        the fitted state of an estimator parameter, wrap it as
        ``sklearn.frozen.FrozenEstimator(metric)`` or pass its file there.
    search : {"select", "evolve"}, default="select"
        ``"select"``: score a pool of classical clusterings (k-means, Ward,
        average, complete and single linkage, Gaussian mixture and spectral
        clustering over k, DBSCAN over eps, HDBSCAN) and keep the metric's
        pick. ``"evolve"``: evolutionary search seeded with that pool. See
        :class:`LearnedMetricClustering`.
    n_clusters : int or None, default=None
        Fixed number of clusters; None lets the metric choose it.
    max_clusters : int or None, default=None
        Largest number of clusters considered; None uses the metric's
        (the most classes it saw in one training task, or its own
        ``max_clusters``).
    n_micro : int, default=150
        Micro-clusters (k-means) the search assigns to clusters.
    population_size : int, default=24
        Survivors per generation of ``"evolve"``.
    n_generations : int, default=30
        Maximum generations of ``"evolve"``.
    n_restarts : int, default=1
        Independent searches; the best-scored result is kept.
    trust_region : float, default=0.85
        Smallest ARI to a classical clustering that ``"evolve"``'s
        candidates must keep.
    caution : float or None, default=None
        Weight of the critics' disagreement subtracted from their mean
        score; None keeps the metric's.
    n_jobs : int or None, default=None
        Parallel restarts (joblib); None means 1 unless in a
        :func:`joblib.parallel_config` context.
    random_state : int, RandomState instance or None, default=None
        Seed of the micro-clusters, the scoring subsamples and the search.
    verbose : int, default=0
        Progress bar of ``"evolve"``'s generations when > 0.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training point, 0 .. k-1.
    n_clusters_ : int
        Number of clusters found.
    score_ : float
        The metric's score of ``labels_``: exactly
        ``metric_.score_clustering(X, labels_)`` (only differences between
        partitions of the same data compare; see
        :meth:`LearnedMetricClustering.score_clustering`).
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Mean of each cluster's points.
    metric_ : LearnedMetricClustering
        The fitted metric used (a copy, with this estimator's search settings).
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    LearnedMetricClustering : learns the metric from labelled references.
    sklearn_tcm.critic_scorer : the metric as a label-free ``scoring=``.

    Notes
    -----
    :meth:`predict` assigns each new point the cluster of its nearest
    training point (a 1-nearest-neighbour rule, which follows non-convex
    clusters such as moons, unlike a nearest-centre rule); it does not
    search again. To cluster a new dataset on its own, call
    :meth:`fit_predict` on it.

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
        "search": [StrOptions({"select", "evolve"})],
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "max_clusters": [Interval(Integral, 2, None, closed="left"), None],
        "n_micro": [Interval(Integral, 2, None, closed="left")],
        "population_size": [Interval(Integral, 2, None, closed="left")],
        "n_generations": [Interval(Integral, 0, None, closed="left")],
        "n_restarts": [Interval(Integral, 1, None, closed="left")],
        "trust_region": [Interval(Real, 0, 1, closed="both")],
        "caution": [Interval(Real, 0, None, closed="left"), None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        metric=None,
        *,
        search="select",
        n_clusters=None,
        max_clusters=None,
        n_micro=150,
        population_size=24,
        n_generations=30,
        n_restarts=1,
        trust_region=0.85,
        caution=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.metric = metric
        self.search = search
        self.n_clusters = n_clusters
        self.max_clusters = max_clusters
        self.n_micro = n_micro
        self.population_size = population_size
        self.n_generations = n_generations
        self.n_restarts = n_restarts
        self.trust_region = trust_region
        self.caution = caution
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _empty_modules(self):
        return {}  # the networks live in metric_, saved with it

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Cluster ``X`` under the metric; the number of clusters is found unless fixed.

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
        metric = _resolve_metric(self.metric)
        settings = {name: getattr(self, name) for name in (
            "search", "n_clusters", "n_micro", "population_size", "n_generations",
            "n_restarts", "trust_region")}
        for name in ("max_clusters", "caution"):  # None keeps the metric's own
            if getattr(self, name) is not None:
                settings[name] = getattr(self, name)
        metric = _copy_with(metric, settings)
        seeds = check_random_state(self.random_state).randint(
            2**31 - 1, size=self.n_restarts)
        labels = search_labels(metric, X, metric._search_options(self.n_clusters), seeds,
                               n_jobs=self.n_jobs, verbose=self.verbose)
        n_clusters = int(labels.max()) + 1
        self.metric_ = metric
        self.labels_ = labels
        self.n_clusters_ = n_clusters
        self.score_ = float(metric.score_clustering(X, labels))
        self.cluster_centers_ = np.stack([X[labels == c].mean(axis=0)
                                          for c in range(n_clusters)])
        self._fit_X = X
        return self

    def predict(self, X):
        """Cluster of each new point: that of its nearest training point.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        nearest = NearestNeighbors(n_neighbors=1).fit(self._fit_X).kneighbors(
            X, return_distance=False)[:, 0]
        return self.labels_[nearest]


def _copy_with(metric, settings):
    """A copy of a fitted metric with other search settings (the metric is not changed)."""
    import copy

    copied = copy.copy(metric)  # networks are shared, never modified by a search
    copied.set_params(**settings)
    return copied
