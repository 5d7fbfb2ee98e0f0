"""Clustering metrics and scikit-learn scorers.

External metrics compare a clustering with reference labels up to a
relabelling of the clusters: :func:`clustering_accuracy` (ACC, optimal
one-to-one matching by the Hungarian algorithm) and
:func:`misclassification_rate` (MR = 1 - ACC, the metric of "Learning to
Cluster"). NMI and ARI are scikit-learn's own
(:func:`sklearn.metrics.normalized_mutual_info_score`,
:func:`sklearn.metrics.adjusted_rand_score`).

The scorers in :data:`SCORERS` work as ``scoring=`` in
:class:`~sklearn.model_selection.GridSearchCV` with clusterers: they call the
clusterer's ``predict`` on the test fold when it has one, and ``fit_predict``
otherwise (transductive clusterers such as DBSCAN).
"""

from numbers import Integral

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import (
    adjusted_rand_score,
    make_scorer,
    normalized_mutual_info_score,
)
from sklearn.metrics.cluster import contingency_matrix

from ._sklearn_compat import Interval, validate_params

__all__ = [
    "clustering_accuracy",
    "misclassification_rate",
    "accuracy_scorer",
    "misclassification_scorer",
    "nmi_scorer",
    "ari_scorer",
    "SCORERS",
    "critic_scorer",
    "WholeDataSplit",
    "rank_clusterings",
    "ClusteringRanking",
    "adjusted_rand_matrix",
    "density_validity_score",
]


def _one_hot_blocks(labellings, weights):
    """Sparse (n, sum of k) indicators of several labellings, and each column's block."""
    import scipy.sparse as sp

    n = labellings.shape[1]
    columns, blocks, offset = [], [], 0
    for index, labels in enumerate(labellings):
        # every distinct value is a cluster (-1 included), as in adjusted_rand_score
        _, inverse = np.unique(labels, return_inverse=True)
        k = int(inverse.max()) + 1
        columns.append(inverse.reshape(-1) + offset)
        blocks.append(np.full(k, index))
        offset += k
    rows = np.tile(np.arange(n), len(labellings))
    data = np.tile(weights, len(labellings))
    indicators = sp.csr_matrix((data, (rows, np.concatenate(columns))), shape=(n, offset))
    return indicators, np.concatenate(blocks)


def adjusted_rand_matrix(labellings, others=None, weights=None):
    """Adjusted Rand index of every labelling against every other one, in one pass.

    ``adjusted_rand_matrix(A, B)[i, j] == adjusted_rand_score(A[i], B[j])``
    (checked against scikit-learn in the tests), computed from one sparse
    product of cluster indicators instead of ``len(A) * len(B)`` calls: the
    learned metric compares every candidate partition of a task with every
    other one (deduplication, agreement with the truth), and scikit-learn's
    per-call input validation made that the largest cost of a fit.

    Parameters
    ----------
    labellings : array-like of shape (m, n_samples)
    others : array-like of shape (p, n_samples), default=None
        None compares ``labellings`` with themselves.
    weights : array-like of shape (n_samples,), default=None
        Points each sample stands for (e.g. micro-cluster sizes): the ARI of
        the labellings of the points.

    Returns
    -------
    ari : ndarray of shape (m, p)

    Examples
    --------
    >>> from sklearn_tcm.metrics import adjusted_rand_matrix
    >>> adjusted_rand_matrix([[0, 0, 1, 1], [0, 1, 0, 1]], [[1, 1, 0, 0]]).round(3).tolist()
    [[1.0], [-0.5]]
    """
    labellings = np.atleast_2d(np.asarray(labellings))
    others = labellings if others is None else np.atleast_2d(np.asarray(others))
    n = labellings.shape[1]
    if others.shape[1] != n:
        raise ValueError(f"labellings of {n} and {others.shape[1]} samples cannot be compared.")
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    left, left_block = _one_hot_blocks(labellings, weights)
    right, right_block = _one_hot_blocks(others, np.ones(n))
    table = (left.T @ right).tocoo()  # weighted contingency tables, side by side

    def pairs(counts):
        return counts * (counts - 1.0) / 2.0

    m, p = labellings.shape[0], others.shape[0]
    joint = np.bincount(left_block[table.row] * p + right_block[table.col],
                        weights=pairs(table.data), minlength=m * p).reshape(m, p)
    left_pairs = np.bincount(left_block, weights=pairs(np.asarray(left.sum(axis=0)).ravel()),
                             minlength=m)
    right_sizes = right.T @ weights
    right_pairs = np.bincount(right_block, weights=pairs(right_sizes), minlength=p)
    expected = np.outer(left_pairs, right_pairs) / max(pairs(weights.sum()), 1e-300)
    top = (left_pairs[:, None] + right_pairs[None, :]) / 2.0 - expected
    with np.errstate(divide="ignore", invalid="ignore"):
        # no pair to disagree on (both one cluster, or both all singletons): identical
        return np.where(np.abs(top) > 1e-12, (joint - expected) / np.where(
            np.abs(top) > 1e-12, top, 1.0), 1.0)


def _check_label_pair(labels_true, labels_pred):
    """Validate two 1-D label vectors of the same non-zero length."""
    labels_true = np.asarray(labels_true)
    labels_pred = np.asarray(labels_pred)
    for name, labels in (("labels_true", labels_true), ("labels_pred", labels_pred)):
        if labels.ndim != 1:
            raise ValueError(
                f"{name} must be 1-dimensional, got an array of shape {labels.shape}."
            )
    if labels_true.shape[0] != labels_pred.shape[0]:
        raise ValueError(
            "labels_true and labels_pred must have the same length, got "
            f"{labels_true.shape[0]} and {labels_pred.shape[0]}."
        )
    if labels_true.shape[0] == 0:
        raise ValueError("labels_true and labels_pred are empty.")
    for name, labels in (("labels_true", labels_true), ("labels_pred", labels_pred)):
        if labels.dtype.kind in "fc" and not np.all(np.isfinite(labels)):
            raise ValueError(f"{name} contains NaN or infinity; labels must be finite.")
        if labels.dtype.kind == "O" and any(
                isinstance(v, float) and not np.isfinite(v) for v in labels):
            raise ValueError(f"{name} contains NaN or infinity; labels must be finite.")
    return labels_true, labels_pred


@validate_params(
    {"labels_true": ["array-like"], "labels_pred": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def clustering_accuracy(labels_true, labels_pred):
    """Clustering accuracy under the optimal one-to-one matching of clusters.

    Each predicted cluster is matched to at most one true class so that the
    number of points in matched pairs is maximal (Hungarian algorithm on the
    contingency matrix, :func:`scipy.optimize.linear_sum_assignment`). When
    the numbers of clusters differ, the matrix is rectangular: the points of
    clusters (or classes) left unmatched all count as errors.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        Reference labels; any hashable values (integers, strings).
    labels_pred : array-like of shape (n_samples,)
        Cluster labels to evaluate; any hashable values.

    Returns
    -------
    accuracy : float
        Fraction of points in matched (class, cluster) pairs, in [0, 1]; 1
        exactly when the two partitions agree up to a relabelling.

    See Also
    --------
    misclassification_rate : ``1 - clustering_accuracy``.
    sklearn.metrics.normalized_mutual_info_score : NMI.

    Examples
    --------
    >>> from sklearn_tcm.metrics import clustering_accuracy
    >>> clustering_accuracy([0, 0, 1, 1, 2], ["b", "b", "a", "a", "a"])
    0.8
    """
    labels_true, labels_pred = _check_label_pair(labels_true, labels_pred)
    contingency = contingency_matrix(labels_true, labels_pred)
    rows, cols = linear_sum_assignment(contingency, maximize=True)
    return float(contingency[rows, cols].sum() / labels_true.shape[0])


@validate_params(
    {"labels_true": ["array-like"], "labels_pred": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def misclassification_rate(labels_true, labels_pred):
    """Misclassification rate under the optimal matching of clusters.

    MR = 1 - :func:`clustering_accuracy` (Liu & Kubala; the metric reported by
    "Learning to Cluster", Meier et al. 2018). The reference code of that
    paper matches clusters to classes greedily; a greedy matching is never
    better than the optimal one, so it can only report an MR equal to or
    higher than this function.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        Reference labels; any hashable values.
    labels_pred : array-like of shape (n_samples,)
        Cluster labels to evaluate; any hashable values.

    Returns
    -------
    rate : float
        Fraction of misassigned points, in [0, 1]; lower is better.

    Examples
    --------
    >>> from sklearn_tcm.metrics import misclassification_rate
    >>> misclassification_rate([0, 0, 1, 1], [1, 1, 0, 0])
    0.0
    """
    return 1.0 - clustering_accuracy(labels_true, labels_pred)


# Clusterers that can label unseen points expose ``predict``; transductive ones
# (DBSCAN, AgglomerativeClustering) only ``fit_predict``, which then clusters
# the test fold on its own.
_CLUSTER_RESPONSE = ("predict", "fit_predict")

accuracy_scorer = make_scorer(clustering_accuracy, response_method=_CLUSTER_RESPONSE)
misclassification_scorer = make_scorer(
    misclassification_rate,
    response_method=_CLUSTER_RESPONSE,
    greater_is_better=False,
)
nmi_scorer = make_scorer(
    normalized_mutual_info_score, response_method=_CLUSTER_RESPONSE
)
ari_scorer = make_scorer(adjusted_rand_score, response_method=_CLUSTER_RESPONSE)

#: Scorers by name, for ``scoring=`` in model selection with labels:
#: ``"clustering_accuracy"``, ``"neg_misclassification_rate"`` (scikit-learn's
#: sign convention for losses: it returns ``-MR`` so that greater is better),
#: ``"normalized_mutual_info"`` and ``"adjusted_rand"``. Each calls the
#: clusterer's ``predict`` on the test fold when it has one, else
#: ``fit_predict``. Example:
#: ``GridSearchCV(KMeans(), {"n_clusters": [2, 3]}, scoring=SCORERS["adjusted_rand"])``.
SCORERS = {
    "clustering_accuracy": accuracy_scorer,
    "neg_misclassification_rate": misclassification_scorer,
    "normalized_mutual_info": nmi_scorer,
    "adjusted_rand": ari_scorer,
}


def _labels_of(estimator, X):
    """Labels an estimator gives to ``X``: ``predict`` when it has one, else ``fit_predict``.

    With :class:`WholeDataSplit`, an estimator with ``predict`` (KMeans) was
    fitted on ``X`` itself, and one without (DBSCAN, HDBSCAN,
    AgglomerativeClustering) clusters ``X`` here: either way the labels are
    its clustering of the data being scored.
    """
    if hasattr(estimator, "predict"):
        return estimator.predict(X)
    return estimator.fit_predict(X)


def critic_scorer(model=None):
    """A label-free scorer from a fitted :class:`~sklearn_tcm.LearnedMetricClustering`.

    The returned callable ``scorer(estimator, X, y=None)`` takes the labels
    ``estimator`` gives to ``X`` (``predict`` when it has one, else
    ``fit_predict``: DBSCAN, HDBSCAN, AgglomerativeClustering) and returns
    the learned critic's score of that clustering of ``X``; ``y`` is
    ignored. Noise labels (-1) count as unassigned points, not as a
    cluster. Use it as ``scoring=`` to choose a clusterer's hyperparameters
    (KMeans' ``n_clusters``, DBSCAN's ``eps``, ...) on unlabelled data, with
    ``cv=WholeDataSplit()``: a clustering is judged on the data it clusters,
    so train and test must both be the whole dataset (k-fold splits score
    clusterings of different subsets, and the choice then changes with the
    split).

    Do not use it to tune :class:`~sklearn_tcm.CriticClustering` itself
    (``search``, ``min_cluster_size``, ...): that clusterer already searches
    under the same metric, and a search that maximises the score finds
    partitions the metric over-rates; its defaults guard against that.

    Parameters
    ----------
    model : LearnedMetricClustering or None, default=None
        A fitted learned metric; None uses the metric shipped with the
        package (:func:`~sklearn_tcm.pretrained_metric`).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``, higher is better.

    See Also
    --------
    WholeDataSplit : the cross-validation "split" label-free selection needs.
    rank_clusterings : rank candidate clusterings of one dataset.

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_tcm import WholeDataSplit, critic_scorer
    >>> X, _ = make_blobs(240, centers=4, n_features=3, cluster_std=0.5,
    ...                   center_box=(-12, 12), random_state=3)
    >>> search = GridSearchCV(KMeans(n_init=5, random_state=0),
    ...                       {"n_clusters": [2, 3, 4, 5, 6]},
    ...                       scoring=critic_scorer(), cv=WholeDataSplit()).fit(X)
    >>> search.best_params_
    {'n_clusters': 4}
    """
    from sklearn.utils.validation import check_is_fitted

    if model is None:
        from .learned_metric.pretrained import pretrained_metric

        model = pretrained_metric()
    check_is_fitted(model, "critic_")

    def scorer(estimator, X, y=None):
        return float(model.score_clustering(X, _labels_of(estimator, X)))

    return scorer


class WholeDataSplit:
    """A single "split" whose train and test parts are both the whole dataset.

    Label-free model selection (:func:`critic_scorer`) judges a clustering on
    the data it clusters: pass ``cv=WholeDataSplit()`` to
    :class:`~sklearn.model_selection.GridSearchCV` so each candidate is
    fitted on all of ``X`` and scored on all of ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_tcm import WholeDataSplit
    >>> splits = WholeDataSplit().split(np.zeros((3, 2)))
    >>> [(train.tolist(), test.tolist()) for train, test in splits]
    [([0, 1, 2], [0, 1, 2])]
    """

    def split(self, X, y=None, groups=None):
        """Yield ``(all indices, all indices)`` once."""
        from sklearn.utils import indexable
        from sklearn.utils.validation import _num_samples

        X, = indexable(X)
        indices = np.arange(_num_samples(X))
        yield indices, indices

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits: 1."""
        return 1

    def __repr__(self):
        return "WholeDataSplit()"


class ClusteringRanking(list):
    """Rows ``{"name", "score", "n_clusters", "noise_fraction"}``, best first.

    A list of dicts that prints as a table.
    """

    def __str__(self):
        width = max([len("candidate")] + [len(str(row["name"])) for row in self])
        lines = [f"{'rank':>4}  {'candidate':<{width}}  {'score':>9}  {'k':>4}  {'noise':>6}"]
        for rank, row in enumerate(self, start=1):
            lines.append(f"{rank:>4}  {str(row['name']):<{width}}  {row['score']:>9.3f}  "
                         f"{row['n_clusters']:>4}  {row['noise_fraction']:>6.1%}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))


@validate_params(
    {"X": ["array-like"], "labels": ["array-like"],
     "sample_size": [Interval(Integral, 3, None, closed="left"), None],
     "random_state": ["random_state"]},
    prefer_skip_nested_validation=True,
)
def density_validity_score(X, labels, *, sample_size=None, random_state=None):
    """A label-free, density-based validity index of one clustering, in [-1, 1].

    After DBCV (Moulavi et al., SDM 2014), on mutual reachability distances
    (core distance: the distance to the 7th nearest neighbour): each
    cluster's validity compares its separation (shortest distance to another
    cluster) with its sparseness (longest edge of its minimum spanning tree);
    the index is their size-weighted mean over all points, so noise points
    (label -1) count as unexplained. Unlike silhouette it prefers whole
    manifolds (two moons, rings) to their pieces. It is one of the classical
    indices the learned metric reads (``critic_inputs="both"``). Higher is
    better; fewer than two clusters give 0.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Cluster labels, -1 for noise.
    sample_size : int or None, default=None
        Score a random subsample of this many points (the index needs the
        n x n distances), as :func:`sklearn.metrics.silhouette_score` does.
    random_state : int, RandomState instance or None, default=None
        Draws the subsample.

    Returns
    -------
    score : float

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.datasets import make_moons
    >>> from sklearn_tcm.metrics import density_validity_score
    >>> X, y = make_moons(300, noise=0.05, random_state=0)
    >>> pieces = KMeans(6, n_init=3, random_state=0).fit_predict(X)
    >>> density_validity_score(X, y) > density_validity_score(X, pieces)
    True
    """
    import torch
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import check_array

    from .learned_metric.graph import build_context, canonical_labels, density_validity

    X = check_array(X, ensure_min_samples=3)
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],):
        raise ValueError(f"labels has shape {labels.shape}; expected ({X.shape[0]},).")
    if sample_size is not None and sample_size < X.shape[0]:
        keep = check_random_state(random_state).choice(X.shape[0], sample_size, replace=False)
        X, labels = X[keep], labels[keep]
    labels = torch.as_tensor(canonical_labels(labels))
    return float(density_validity(build_context(X), labels)[0, 0])


def rank_clusterings(X, candidates, metric=None):
    """Rank candidate clusterings of one dataset by the learned metric.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The dataset.
    candidates : dict
        Name -> labels of ``X`` (array of shape (n_samples,), -1 for noise)
        or a clusterer, which is run on ``X`` (``fit_predict``).
    metric : LearnedMetricClustering or None, default=None
        A fitted learned metric; None uses :func:`~sklearn_tcm.pretrained_metric`.

    Returns
    -------
    ranking : ClusteringRanking
        One row per candidate, highest score first; ``print(ranking)``
        shows a table.

    Examples
    --------
    >>> from sklearn.cluster import DBSCAN, KMeans
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_tcm import rank_clusterings
    >>> X, _ = make_blobs(300, centers=3, random_state=0)
    >>> ranking = rank_clusterings(X, {"k-means k=3": KMeans(3, n_init=5, random_state=0),
    ...                                "k-means k=8": KMeans(8, n_init=5, random_state=0),
    ...                                "all noise": [-1] * 300})
    >>> ranking[0]["name"]
    'k-means k=3'
    """
    from sklearn.utils.validation import check_array

    if metric is None:
        from .learned_metric.pretrained import pretrained_metric

        metric = pretrained_metric()
    X = check_array(X, accept_sparse="csr", ensure_min_samples=3)
    if not isinstance(candidates, dict) or not candidates:
        raise ValueError("candidates must be a non-empty dict of name -> labels or clusterer.")
    names, labellings = [], []
    for name, candidate in candidates.items():
        labels = candidate.fit_predict(X) if hasattr(candidate, "fit_predict") else candidate
        labels = np.asarray(labels)
        if labels.shape != (X.shape[0],):
            raise ValueError(f"candidate {name!r} has labels of shape {labels.shape}; "
                             f"expected ({X.shape[0]},).")
        names.append(name)
        labellings.append(labels)
    scores = np.atleast_1d(metric.score_clustering(X, np.stack(labellings)))
    rows = [{"name": name, "score": float(score),
             "n_clusters": int(np.unique(labels[labels >= 0]).size),
             "noise_fraction": float(np.mean(labels < 0))}
            for name, score, labels in zip(names, scores, labellings)]
    return ClusteringRanking(sorted(rows, key=lambda row: -row["score"]))
