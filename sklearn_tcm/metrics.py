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

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import (
    adjusted_rand_score,
    make_scorer,
    normalized_mutual_info_score,
)
from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils._param_validation import validate_params

__all__ = [
    "clustering_accuracy",
    "misclassification_rate",
    "accuracy_scorer",
    "misclassification_scorer",
    "nmi_scorer",
    "ari_scorer",
    "SCORERS",
    "critic_scorer",
]


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


def critic_scorer(model):
    """A label-free scorer from a fitted :class:`~sklearn_tcm.LearnedMetricClustering`.

    The returned callable ``scorer(estimator, X, y=None)`` clusters ``X``
    with ``estimator`` (``predict`` when it has one, else ``fit_predict``)
    and returns the learned critic's score of that clustering; ``y`` is
    ignored. Use it as ``scoring=`` to select a clusterer's hyperparameters
    (KMeans' ``n_clusters``, DBSCAN's ``eps``, ...) on unlabelled data.

    Parameters
    ----------
    model : LearnedMetricClustering
        A fitted learned metric.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``, higher is better.

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_tcm.metrics import critic_scorer
    >>> search = GridSearchCV(KMeans(n_init=5), {"n_clusters": [2, 3, 4, 5]},
    ...                       scoring=critic_scorer(lmc))  # doctest: +SKIP
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "critic_")

    def scorer(estimator, X, y=None):
        if hasattr(estimator, "predict"):
            labels = estimator.predict(X)
        else:
            labels = estimator.fit_predict(X)
        return float(model.score_clustering(X, labels))

    return scorer
