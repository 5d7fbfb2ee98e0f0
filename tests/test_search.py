import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from sklearn_tcm import CriticClustering, LearnedMetricClustering
from sklearn_tcm.learned_metric.graph import canonical_labels
from sklearn_tcm.learned_metric.search import (
    SearchSpace,
    _canonical,
    _crossover,
    _lloyd,
    _merge,
    _move,
    _mutate,
    _split,
    classical_pool,
    evolve,
    pool_similarity,
    select,
)


@pytest.fixture(scope="module")
def blobs():
    return make_blobs(n_samples=240, centers=4, n_features=5, cluster_std=1.0, random_state=3)


@pytest.fixture(scope="module")
def space(blobs):
    return SearchSpace(blobs[0], n_micro=40, random_state=0)


@pytest.fixture(scope="module")
def fitted():
    X, y = make_blobs(n_samples=600, centers=8, n_features=4, cluster_std=0.7, random_state=0)
    return LearnedMetricClustering(n_tasks=10, synthetic_tasks=3, size_range=(10, 20),
                                   gae_epochs=1, critic_epochs=20,
                                   adversarial_rounds=1, adversarial_tasks=3,
                                   random_state=0).fit(X, y)


def _is_canonical(genome):
    return np.array_equal(canonical_labels(genome)[0], genome)


def test_space_micro_clusters(space, blobs):
    assert space.n_micro == 40
    assert space.micro_labels.shape == (240,)
    assert np.all(space.micro_counts > 0)
    assert len(space.subsets) == 1 and space.subsets[0].size == 240
    genome = classical_pool(space, (4, 4), random_state=0)[0]
    assert adjusted_rand_score(blobs[1], space.point_labels(genome)) > 0.9


@pytest.mark.parametrize("family", ["kmeans", "ward", "gmm", "average", "complete", "single",
                                    "spectral", "dbscan", "hdbscan"])
def test_classical_pool_families(space, family):
    pool = classical_pool(space, (2, 5), random_state=0, families=(family,))
    assert pool
    for genome in pool:
        assert _is_canonical(genome) and 2 <= genome.max() + 1 <= 5
        assert genome.shape == (space.n_micro,)
    with pytest.raises(ValueError, match="families"):
        classical_pool(space, (2, 5), families=("optics",))
    with pytest.raises(ValueError, match="families"):
        classical_pool(space, (2, 5), families=())


def test_pool_holds_the_shapes_kmeans_cannot_return():
    """Two concentric rings: single linkage / density find them, k-means cannot."""
    from sklearn.datasets import make_circles

    X, y = make_circles(400, factor=0.4, noise=0.03, random_state=0)
    rings = SearchSpace(X, n_micro=120, random_state=0)
    best = {family: max(adjusted_rand_score(y, rings.point_labels(g)) for g in
                        classical_pool(rings, (2, 6), random_state=0, families=(family,)))
            for family in ("kmeans", "single", "dbscan")}
    assert best["kmeans"] < 0.5
    assert best["single"] > 0.95 and best["dbscan"] > 0.95


def test_spectral_pool_never_joins_far_components():
    """Three separate blobs, two of them close: a 2-cluster spectral clustering of a
    kNN graph with three components would join two components whatever their
    distance (it did join the two far ones); the pool leaves it out, and every
    2-cluster partition it holds joins the two close blobs."""
    centers = np.array([[0.0, 0.0], [6.0, 0.0], [40.0, 0.0]])
    X, y = make_blobs(300, centers=centers, cluster_std=0.5, random_state=0)
    blobs = SearchSpace(X, n_micro=60, random_state=0)
    spectral = classical_pool(blobs, (2, 5), random_state=0, families=("spectral",))
    assert spectral and min(genome.max() + 1 for genome in spectral) == 3
    close = np.isin(y, (0, 1)).astype(int)
    for genome in classical_pool(blobs, (2, 2), random_state=0):
        assert adjusted_rand_score(close, blobs.point_labels(genome)) > 0.95


def test_operators_keep_labels_canonical_and_clusters_non_empty(space):
    rng = np.random.default_rng(0)
    pool = classical_pool(space, (2, 6), random_state=0)
    for genome in pool:
        k = genome.max() + 1
        merged = _canonical(_merge(space, genome, rng))
        assert merged.max() + 1 == k - 1
        if k < space.n_micro:
            split = _canonical(_split(space, genome, rng))
            assert split.max() + 1 == k + 1
        for operator in (_move, _lloyd):
            child = operator(space, genome, rng)
            assert child.shape == genome.shape and child.min() >= 0
        moved = _move(space, genome, rng)
        # a move reassigns at most 3 micro-clusters, each to a neighbouring cluster
        assert 0 < np.sum(moved != genome) <= 3 or not np.any(
            genome[space.micro_neighbours] != genome[:, None])
        donor = _crossover(space, genome, pool[0], rng)
        new_cluster = donor == genome.max() + 1
        assert new_cluster.any() and np.unique(pool[0][new_cluster]).size == 1
        for _ in range(20):
            child = _mutate(space, genome, pool[-1], (2, 6), None, rng)
            assert _is_canonical(child) and 2 <= child.max() + 1 <= 6
            assert np.all(np.bincount(child) > 0)
            fixed = _mutate(space, genome, pool[-1], (2, 6), 3, rng)
            assert fixed.max() + 1 == 3 and np.all(np.bincount(fixed) > 0)


def _neg_inertia(space):
    def score(subset_labels):
        (labels,) = subset_labels
        X = space.X[space.subsets[0]]
        out = []
        for row in labels:
            centroids = np.stack([X[row == c].mean(axis=0) for c in np.unique(row)])
            _, inverse = np.unique(row, return_inverse=True)
            out.append(-np.sum((X - centroids[inverse]) ** 2))
        return np.array(out)
    return score


def test_evolve_with_a_known_objective(space):
    """Negative k-means inertia at fixed k: the search ends at least as good as its pool."""
    score = _neg_inertia(space)
    result = evolve(space, score, n_clusters=4, population_size=8, n_offspring=16,
                    n_generations=10, random_state=0)
    assert result.n_clusters == 4 and result.score >= result.pool_best_score
    assert result.history == sorted(result.history)  # elitism: best never gets worse
    chosen = select(space, score, n_clusters=4, random_state=0)
    assert result.score >= chosen.score - 1e-9
    reference = -KMeans(4, n_init=10, random_state=0).fit(space.X).inertia_
    assert result.score >= reference * 1.001  # within 0.1 % of k-means' optimum


def test_pool_similarity_is_the_ari_of_the_points(space):
    pool = np.stack(classical_pool(space, (2, 6), random_state=0))
    rng = np.random.default_rng(0)
    genomes = np.stack([_canonical(rng.integers(0, k, space.n_micro)) for k in (2, 4, 7)]
                       + [pool[2], _move(space, pool[5], rng)])
    expected = [max(adjusted_rand_score(space.point_labels(g), space.point_labels(p))
                    for p in pool) for g in genomes]
    np.testing.assert_allclose(pool_similarity(space, genomes, pool), expected, atol=1e-12)
    assert pool_similarity(space, genomes[3], pool)[0] == 1.0


def _towards(space, target):
    """A score that rewards agreement with ``target``, far from every classical clustering."""
    def score(subset_labels):
        (labels,) = subset_labels
        truth = space.point_labels(target)[space.subsets[0]]
        return np.array([adjusted_rand_score(truth, row) for row in labels])
    return score


def test_trust_region_keeps_the_search_near_the_pool(space):
    # the search's own pool: evolve seeds it with the first draw of its generator
    pool_seed = int(np.random.default_rng(0).integers(2**31 - 1))
    pool = np.stack(classical_pool(space, (2, 6), random_state=pool_seed))
    rng = np.random.default_rng(1)
    target = pool[-1].copy()  # a classical clustering, a third of it scrambled
    scrambled = rng.random(space.n_micro) < 0.35
    target[scrambled] = rng.integers(0, target.max() + 1, scrambled.sum())
    target = _canonical(target)
    score = _towards(space, target)
    assert pool_similarity(space, target, pool)[0] < 0.6
    options = dict(k_range=(2, 6), population_size=8, n_offspring=16, n_generations=30,
                   patience=30, refine=False, random_state=0, n_elites=8)
    first = np.unique(space.micro_labels, return_index=True)[1]  # a point of each

    def genomes(labellings):
        return np.stack([_canonical(labels[first]) for labels in labellings])

    free = evolve(space, score, **options)
    free_similarity = pool_similarity(space, genomes([free.labels]), pool)[0]
    assert free_similarity < 1.0  # the free search left the pool
    for trust_region in ((1.0 + free_similarity) / 2, 1.0):
        bound = evolve(space, score, trust_region=trust_region, **options)
        assert bound.score < free.score
        assert np.all(pool_similarity(space, genomes(bound.elites), pool) >= trust_region)
    assert any(np.array_equal(genomes([bound.labels])[0], member) for member in pool)


def test_evolve_is_reproducible(space):
    score = _neg_inertia(space)
    runs = [evolve(space, score, k_range=(2, 6), population_size=6, n_offspring=12,
                   n_generations=4, random_state=7) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].labels, runs[1].labels)


def test_predict_finds_k_and_does_not_change_the_model(fitted):
    X, y = make_blobs(n_samples=150, centers=3, n_features=7, cluster_std=0.6,
                      random_state=11)
    weights = {name: {k: v.clone() for k, v in getattr(fitted, name).state_dict().items()}
               for name in ("gae_", "critic_")}
    state = {key: value for key, value in vars(fitted).items()}
    labels, score = fitted.predict(X, return_score=True)
    assert labels.shape == (150,) and np.isfinite(score)
    assert np.unique(labels).size == 3 and adjusted_rand_score(y, labels) == 1.0
    assert vars(fitted).keys() == state.keys()
    assert all(vars(fitted)[key] is value for key, value in state.items())
    for name, before in weights.items():
        for key, value in getattr(fitted, name).state_dict().items():
            assert torch.equal(value, before[key])
    np.testing.assert_array_equal(fitted.predict(X), labels)  # deterministic
    # predict is CriticClustering under the metric, with the metric's seed
    np.testing.assert_array_equal(
        CriticClustering(fitted, random_state=fitted._seed).fit(X).labels_, labels)
    fixed = CriticClustering(fitted, n_clusters=5, random_state=0).fit(X).labels_
    assert np.unique(fixed).size == 5


def test_history_records_rounds(fitted):
    rounds = [h["round"] for h in fitted.history_]
    assert rounds == list(range(len(rounds))) and len(rounds) <= 2  # adversarial_rounds=1
    assert {"search_nmi", "search_k_error", "beats_truth_rate", "best", "top3",
            "pool_nmi", "pool_beats_truth_rate", "n_new_negatives"} <= set(fitted.history_[0])
    assert all(r["validation"] == r["pool_nmi"] for r in fitted.history_)
    assert "stopped" in fitted.history_[-1]
    assert {r["round"] for r in fitted.critic_history_} == set(rounds)
    assert {r["member"] for r in fitted.critic_history_} == set(range(fitted.n_critics_))


def test_same_seed_same_fit():
    X, y = make_blobs(n_samples=300, centers=6, n_features=3, random_state=4)
    params = dict(n_tasks=4, synthetic_tasks=3, size_range=(10, 15), gae_epochs=1,
                  critic_epochs=3, adversarial_rounds=1, adversarial_tasks=2, random_state=5)
    a = LearnedMetricClustering(**params).fit_predict(X, y)
    b = LearnedMetricClustering(**params).fit_predict(X, y)
    np.testing.assert_array_equal(a, b)


def test_predict_errors(fitted):
    with pytest.raises(ValueError, match="larger than the number of samples"):
        CriticClustering(fitted, n_clusters=50).fit(
            np.random.default_rng(0).normal(size=(20, 2)))
    with pytest.raises(ValueError):
        fitted.predict(np.full((10, 2), np.nan))


def test_linkage_pool_equals_agglomerative_clustering_at_every_k():
    from sklearn.cluster import AgglomerativeClustering

    from sklearn_tcm.learned_metric.graph import canonical_labels

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5))
    X[:100] += 4
    space = SearchSpace(X, n_micro=80, random_state=0)
    linkages = ("ward", "average", "complete", "single")
    pool = classical_pool(space, (2, 9), random_state=0, families=linkages)
    expected = {}
    for k in range(2, 10):
        for method in linkages:
            genome = canonical_labels(AgglomerativeClustering(k, linkage=method)
                                      .fit_predict(space.micro_centers))[0]
            expected.setdefault(genome.tobytes(), genome)
    assert [g.tobytes() for g in pool] == list(expected)


def test_two_means_splits_two_groups_as_kmeans_does():
    from sklearn_tcm.learned_metric.search import _two_means

    rng = np.random.default_rng(0)
    points = np.vstack([rng.normal(0, 0.3, (20, 3)), rng.normal(4, 0.3, (30, 3))])
    weights = rng.integers(1, 5, size=50)
    halves = _two_means(points, weights, rng)
    reference = KMeans(2, n_init=1, random_state=0).fit(points, sample_weight=weights).labels_
    assert adjusted_rand_score(reference, halves) == 1.0
    assert not _two_means(np.ones((5, 2)), np.ones(5), rng).any()  # nothing to split
