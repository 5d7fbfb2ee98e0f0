"""The reproducible spectral embedding and clustering behind the candidates."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_moons
from sklearn.manifold import spectral_embedding as sklearn_spectral_embedding
from sklearn.neighbors import kneighbors_graph

from sklearn_tcm.learned_metric._spectral import (
    cluster_qr,
    spectral_clustering,
    spectral_embedding,
)


def _duplicated_points():
    # 26 distinct points, two of them repeated over 20 times: a kNN graph of
    # duplicate cliques, whose repeated eigenvalues ARPACK resolves differently
    # from call to call (scikit-learn's SpectralClustering gives several answers
    # on these points at k = 28)
    counts = [1] * 10 + [2] * 6 + [3] * 5 + [4, 4, 7, 23, 24]
    return np.repeat(np.random.default_rng(1).normal(size=(26, 7)), counts, axis=0)


def test_spectral_clustering_is_the_same_on_every_call():
    X = _duplicated_points()
    answers = {spectral_clustering(X, 28, n_neighbors=8, random_state=0).tobytes()
               for _ in range(5)}
    assert len(answers) == 1


def test_embedding_is_sklearns_on_a_connected_graph():
    X, _ = make_moons(300, noise=0.08, random_state=0)
    graph = kneighbors_graph(X, 10)
    affinity = 0.5 * (graph + graph.T)
    ours = spectral_embedding(affinity, 5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sklearn_spectral_embedding(affinity, n_components=5, random_state=0,
                                            drop_first=False)
    for j in range(5):  # equal up to each vector's sign
        assert min(np.abs(ours[:, j] - theirs[:, j]).max(),
                   np.abs(ours[:, j] + theirs[:, j]).max()) < 1e-6


def test_components_are_solved_apart():
    # two far groups: the zero eigenvalue's vectors are the groups' indicators
    X = np.vstack([np.random.default_rng(0).normal(size=(30, 2)),
                   np.random.default_rng(1).normal(size=(30, 2)) + 100])
    graph = kneighbors_graph(X, 5, include_self=True)
    embedding = spectral_embedding(0.5 * (graph + graph.T), 2)
    support = embedding != 0
    assert support[:30, 0].all() and not support[30:, 0].any()
    assert support[30:, 1].all() and not support[:30, 1].any()
    assert np.array_equal(cluster_qr(embedding), np.repeat([0, 1], 30))


def test_spectral_embedding_checks_n_components():
    with pytest.raises(ValueError, match="n_components"):
        spectral_embedding(np.ones((3, 3)), 4)
