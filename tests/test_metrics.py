import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import DBSCAN, KMeans
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV, cross_val_score

from sklearn_tcm import SCORERS, clustering_accuracy, misclassification_rate

label_vectors = st.lists(st.integers(0, 4), min_size=1, max_size=12)


def _brute_force_accuracy(labels_true, labels_pred):
    """Best matched count over all injective class -> cluster maps."""
    classes, clusters = np.unique(labels_true), np.unique(labels_pred)
    best = 0
    small, large = (classes, clusters) if classes.size <= clusters.size else (clusters, classes)
    small_side = labels_true if small is classes else labels_pred
    large_side = labels_pred if small is classes else labels_true
    for image in itertools.permutations(large, small.size):
        matched = sum(
            np.sum((small_side == a) & (large_side == b)) for a, b in zip(small, image)
        )
        best = max(best, matched)
    return best / len(labels_true)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_accuracy_matches_brute_force(data):
    labels_true = np.array(data.draw(label_vectors))
    labels_pred = np.array(
        data.draw(st.lists(st.integers(0, 4), min_size=len(labels_true),
                           max_size=len(labels_true)))
    )
    assert clustering_accuracy(labels_true, labels_pred) == pytest.approx(
        _brute_force_accuracy(labels_true, labels_pred)
    )


@settings(max_examples=60, deadline=None)
@given(label_vectors, st.permutations(range(5)), st.permutations(range(5)))
def test_accuracy_invariant_to_relabelling(labels, perm_a, perm_b):
    labels = np.array(labels)
    other = np.roll(labels, 1)
    base = clustering_accuracy(labels, other)
    relabelled_true = np.array(perm_a)[labels]
    relabelled_pred = np.array(perm_b)[other]
    assert clustering_accuracy(relabelled_true, other) == pytest.approx(base)
    assert clustering_accuracy(labels, relabelled_pred) == pytest.approx(base)
    assert 0.0 <= base <= 1.0
    assert misclassification_rate(labels, other) == pytest.approx(1.0 - base)


@settings(max_examples=60, deadline=None)
@given(label_vectors, label_vectors)
def test_accuracy_is_one_exactly_for_equal_partitions(a, b):
    a, b = np.array(a), np.array(b[: len(a)] + a[len(b):])
    # partitions agree up to relabelling iff the label pairs form a bijection
    pairs = {(x, y) for x, y in zip(a, b)}
    agree = len(pairs) == np.unique(a).size == np.unique(b).size
    assert (clustering_accuracy(a, b) == 1.0) == agree
    assert clustering_accuracy(a, np.array([7, 3, 9, 1, 5])[a]) == 1.0


def test_accuracy_accepts_string_labels_and_unequal_cluster_counts():
    # "a" matches class 1 (2 points) or 2 (1 point): 2 + 2 matched of 5
    assert clustering_accuracy([0, 0, 1, 1, 2], ["b", "b", "a", "a", "a"]) == 0.8
    # more clusters than classes: unmatched clusters are errors
    assert clustering_accuracy([0, 0, 0, 0], [0, 1, 2, 3]) == 0.25


@pytest.mark.parametrize(
    "labels_true, labels_pred, message",
    [
        ([0, 1], [0], "same length"),
        ([], [], "empty"),
        ([[0, 1]], [[0, 1]], "1-dimensional"),
    ],
)
def test_accuracy_bad_input(labels_true, labels_pred, message):
    with pytest.raises(ValueError, match=message):
        clustering_accuracy(labels_true, labels_pred)
    with pytest.raises(ValueError, match=message):
        misclassification_rate(labels_true, labels_pred)


def test_grid_search_with_accuracy_scorer_picks_true_k():
    X, y = make_blobs(n_samples=200, centers=4, cluster_std=0.5, random_state=0)
    search = GridSearchCV(
        KMeans(n_init=5, random_state=0),
        {"n_clusters": [2, 3, 4, 5, 6]},
        scoring=SCORERS["clustering_accuracy"],
    ).fit(X, y)
    assert search.best_params_ == {"n_clusters": 4}


def test_scorers_signs_and_transductive_clusterers():
    X, y = make_blobs(n_samples=120, centers=3, cluster_std=0.4, random_state=1)
    kmeans = KMeans(3, n_init=5, random_state=0).fit(X)
    assert SCORERS["clustering_accuracy"](kmeans, X, y) == pytest.approx(1.0)
    assert SCORERS["neg_misclassification_rate"](kmeans, X, y) == pytest.approx(0.0)
    assert SCORERS["normalized_mutual_info"](kmeans, X, y) == pytest.approx(1.0)
    assert SCORERS["adjusted_rand"](kmeans, X, y) == pytest.approx(1.0)
    # DBSCAN has no predict: the scorer clusters the test fold with fit_predict
    scores = cross_val_score(DBSCAN(eps=1.0), X, y, scoring=SCORERS["clustering_accuracy"])
    assert np.all(scores > 0.9)


@pytest.mark.parametrize("labels", [[0, 1, np.nan, 1], [0.0, 1.0, np.inf, 1.0],
                                    np.array([0, 1, float("nan"), 1], dtype=object)])
def test_non_finite_labels_are_refused(labels):
    from sklearn_tcm import clustering_accuracy

    with pytest.raises(ValueError, match="NaN or infinity"):
        clustering_accuracy(labels, [0, 1, 1, 1])
    with pytest.raises(ValueError, match="NaN or infinity"):
        clustering_accuracy([0, 1, 1, 1], labels)


def test_adjusted_rand_matrix_equals_sklearn_pairwise():
    from sklearn.metrics import adjusted_rand_score

    from sklearn_tcm.metrics import adjusted_rand_matrix

    rng = np.random.default_rng(0)
    n = 60
    labellings = np.array([rng.integers(0, k, n) for k in (1, 2, 3, 7, 30)]
                          + [np.arange(n), np.zeros(n, int),
                             np.where(rng.random(n) < 0.3, -1, rng.integers(0, 4, n))])
    expected = [[adjusted_rand_score(a, b) for b in labellings] for a in labellings]
    np.testing.assert_allclose(adjusted_rand_matrix(labellings), expected, atol=1e-12)
    # weights: each sample stands for that many points
    weights = rng.integers(1, 5, n)
    points = np.repeat(np.arange(n), weights)
    expected = [[adjusted_rand_score(a[points], b[points]) for b in labellings[4:]]
                for a in labellings[:4]]
    np.testing.assert_allclose(
        adjusted_rand_matrix(labellings[:4], labellings[4:], weights=weights), expected,
        atol=1e-12)


def test_density_validity_score_prefers_whole_moons_and_subsamples():
    from sklearn.datasets import make_moons

    from sklearn_tcm.metrics import density_validity_score

    X, y = make_moons(300, noise=0.05, random_state=0)
    pieces = KMeans(6, n_init=3, random_state=0).fit_predict(X)
    whole = density_validity_score(X, y)
    assert -1 <= density_validity_score(X, pieces) < whole - 0.3 <= 1
    assert density_validity_score(X, np.zeros(300, dtype=int)) == 0
    # invariant to how the clusters are named and to the units of X
    assert np.isclose(density_validity_score(1000 * X, 7 - y), whole)
    sampled = density_validity_score(X, y, sample_size=200, random_state=0)
    assert sampled == density_validity_score(X, y, sample_size=200, random_state=0)
    with pytest.raises(ValueError, match="shape"):
        density_validity_score(X, y[:10])
    with pytest.raises(ValueError, match="sample_size"):
        density_validity_score(X, y, sample_size=0)


def _density_validity_by_definition(X, labels):
    """DBCV-like index from per-cluster minimum spanning trees (the docstring's definition)."""
    import torch
    from scipy.sparse.csgraph import minimum_spanning_tree

    from sklearn_tcm.learned_metric.graph import build_context

    context = build_context(X, dtype=torch.float64)
    core = context.sigma.numpy()
    reach = np.maximum(context.distances.numpy(), np.maximum(core[:, None], core[None, :]))
    clusters = np.unique(labels[labels >= 0])
    if clusters.size < 2:
        return 0.0
    total = 0.0
    for cluster in clusters:
        inside = np.flatnonzero(labels == cluster)
        if inside.size < 2:
            continue
        others = np.flatnonzero((labels >= 0) & (labels != cluster))
        separation = reach[np.ix_(inside, others)].min()
        sparseness = minimum_spanning_tree(reach[np.ix_(inside, inside)]).data.max()
        total += inside.size * (separation - sparseness) / max(separation, sparseness)
    return total / labels.size


@pytest.mark.parametrize("seed", range(4))
def test_density_validity_is_its_definition(seed):
    # the index is computed from one single-linkage tree per labelling; the
    # definition builds one minimum spanning tree per cluster
    from sklearn_tcm.metrics import density_validity_score

    rng = np.random.default_rng(seed)
    X, y = make_blobs(int(rng.integers(40, 200)), centers=int(rng.integers(2, 6)),
                      random_state=seed)
    for labels in (y, rng.integers(0, 7, y.size), np.where(rng.uniform(size=y.size) < 0.2, -1, y),
                   np.r_[0, np.ones(y.size - 1, dtype=int)]):
        assert density_validity_score(X, labels) == pytest.approx(
            _density_validity_by_definition(X, labels), abs=1e-5)
