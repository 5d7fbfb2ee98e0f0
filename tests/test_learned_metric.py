import pickle

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs, make_moons
from sklearn.metrics import adjusted_rand_score, silhouette_samples

from sklearn_tcm import LearnedMetricClustering
from sklearn_tcm.learned_metric.critic import ranking_metrics
from sklearn_tcm.learned_metric.graph import (
    GLOBAL_FEATURES,
    NODE_FEATURES,
    build_context,
    canonical_labels,
    clustering_graphs,
    to_networkx,
)
from sklearn_tcm.learned_metric.tasks import deduplicate, seed_negatives


@pytest.fixture(scope="module")
def references():
    X, y = make_blobs(n_samples=600, centers=8, n_features=4, cluster_std=0.7,
                      random_state=0)
    return X, y


@pytest.fixture(scope="module")
def fitted(references):
    X, y = references
    return LearnedMetricClustering(n_tasks=12, synthetic_tasks=3, size_range=(10, 20), gae_epochs=2,
                                   critic_epochs=40, n_iter_no_change=40, adversarial_rounds=1,
                                   adversarial_tasks=4,
                                   random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def new_dataset():
    X, y = make_blobs(n_samples=90, centers=3, n_features=6, cluster_std=0.8,
                      random_state=5)
    return X, y


def test_node_features_match_sklearn_silhouette():
    X, _ = make_blobs(n_samples=60, centers=3, random_state=0)
    labels = np.random.default_rng(0).integers(0, 3, size=(4, 60))
    features, adjacency, scalars = clustering_graphs(build_context(X), labels)
    assert features.shape == (4, 60, len(NODE_FEATURES))
    silhouette = features[..., NODE_FEATURES.index("silhouette")].numpy()
    for row in range(4):
        np.testing.assert_allclose(silhouette[row], silhouette_samples(X, labels[row]),
                                   atol=1e-9)
    A = adjacency.numpy()
    np.testing.assert_allclose(A, A.transpose(0, 2, 1))
    # edges only inside clusters
    same = labels[:, :, None] == labels[:, None, :]
    assert np.all(A[~same] == 0)
    assert scalars.shape == (4, len(GLOBAL_FEATURES))


def test_edges_are_each_points_nearest_in_its_cluster():
    # the edges' definition: each point to its 10 nearest other points of its
    # cluster (all of them in clusters of up to 11), symmetrised; random
    # labellings with many clusters make points scan past their first
    # neighbours, noise (-1) has none
    from sklearn_tcm.learned_metric.graph import _EDGE_NEIGHBOURS

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    labels = np.stack([rng.integers(0, 2, 120), rng.integers(0, 30, 120),
                       np.where(rng.uniform(size=120) < 0.3, -1, rng.integers(0, 4, 120)),
                       np.zeros(120, dtype=int)])
    context = build_context(X)
    _, adjacency, _ = clustering_graphs(context, labels)
    D = context.distances.numpy()
    for row, candidate in enumerate(labels):
        expected = np.zeros((120, 120), dtype=bool)
        for i in np.flatnonzero(candidate >= 0):
            mates = np.flatnonzero((candidate == candidate[i]) & (np.arange(120) != i))
            expected[i, mates[np.argsort(D[i, mates], kind="stable")[:_EDGE_NEIGHBOURS]]] = True
        np.testing.assert_array_equal(adjacency[row].numpy() > 0, expected | expected.T)


def test_nn_separation_is_its_definition():
    # per point: nearest point of another cluster (b) against nearest point of its
    # own (a), (b - a) / max(a, b), averaged over points that have both; noise is
    # in no cluster. Random labellings with many clusters reach past each point's
    # first neighbours.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 4))
    labels = np.stack([rng.integers(0, 3, 90), rng.integers(0, 25, 90),
                       np.where(rng.uniform(size=90) < 0.3, -1, rng.integers(0, 3, 90))])
    context = build_context(X)
    _, _, scalars = clustering_graphs(context, labels)
    D = context.distances.numpy()
    for row, candidate in enumerate(labels):
        values = []
        for i in np.flatnonzero(candidate >= 0):
            own = (candidate == candidate[i]) & (np.arange(90) != i)
            other = (candidate >= 0) & (candidate != candidate[i])
            if own.any() and other.any():
                a, b = D[i, own].min(), D[i, other].min()
                values.append((b - a) / max(a, b))
        assert float(scalars[row, GLOBAL_FEATURES.index("nn_separation")]) == pytest.approx(
            np.mean(values), abs=1e-9)


def test_dunn_index_is_its_definition():
    # log(smallest distance between points of different clusters / largest within a
    # cluster) on assigned points; 0 when fewer than two clusters or every point alone
    rng = np.random.default_rng(2)
    X = rng.normal(size=(70, 3))
    labels = np.stack([rng.integers(0, 3, 70), rng.integers(0, 20, 70),
                       np.where(rng.uniform(size=70) < 0.3, -1, rng.integers(0, 4, 70)),
                       np.r_[np.zeros(69, int), 1], np.zeros(70, int)])
    context = build_context(X)
    _, _, scalars = clustering_graphs(context, labels)
    D = context.distances.numpy()
    for row, candidate in enumerate(labels):
        kept = np.flatnonzero(candidate >= 0)
        same = candidate[kept, None] == candidate[None, kept]
        k = np.unique(candidate[kept]).size
        expected = 0.0
        if 2 <= k < kept.size:
            block = D[np.ix_(kept, kept)]
            gap = block[~same].min()
            diameter = block[same & ~np.eye(kept.size, dtype=bool)].max()
            expected = np.log(max(gap, 1e-6) / max(diameter, 1e-6))
        assert float(scalars[row, GLOBAL_FEATURES.index("log_dunn")]) == pytest.approx(
            expected, abs=1e-9)


def test_noise_is_unassigned_in_graph_and_features():
    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    noisy = y.copy()
    noisy[:20] = -1
    labels = np.stack([y, noisy, np.full(60, -1), np.zeros(60, dtype=int)])
    features, adjacency, scalars = clustering_graphs(build_context(X), labels)
    assert torch.isfinite(features).all() and torch.isfinite(scalars).all()
    is_noise = features[..., NODE_FEATURES.index("is_noise")].numpy()
    np.testing.assert_array_equal(is_noise[1], noisy < 0)
    # noise points have no edges and neutral cluster features
    assert float(adjacency[1, :20].abs().sum()) == 0 and float(adjacency[2].abs().sum()) == 0
    assert float(features[1, :20, NODE_FEATURES.index("silhouette")].abs().sum()) == 0
    noise_share = scalars[:, GLOBAL_FEATURES.index("noise_fraction")].numpy()
    np.testing.assert_allclose(noise_share, [0, 1 / 3, 1, 0])
    # "all noise" is not "one cluster"
    assert not torch.equal(scalars[2], scalars[3])
    # a noise point never counts as a same-cluster neighbour
    purity = features[1, 20:, NODE_FEATURES.index("knn_purity_10")].numpy()
    assert purity.max() <= 1 and (purity < features[0, 20:, 4].numpy() + 1e-12).all()


def test_density_validity_prefers_whole_manifolds_and_costs_nothing_unasked():
    X, y = make_moons(300, noise=0.05, random_state=0)
    merged = np.zeros(300, dtype=int)
    halves = np.where(X[:, 0] < 0.5, 0, 1)  # a straight cut: each cluster two moon pieces
    pieces = KMeans(8, n_init=2, random_state=0).fit_predict(X)
    noisy = y.copy()
    noisy[:60] = -1
    labels = np.stack([y, halves, pieces, merged, noisy, np.arange(300) % 2])
    context = build_context(X)
    _, _, scalars = clustering_graphs(context, labels)
    density = scalars[:, GLOBAL_FEATURES.index("density_validity")].numpy()
    assert density[0] > 0 and density[0] > density[1] + 0.3 and density[0] > density[2] + 0.3
    assert density[3] == 0  # one cluster: undefined, 0
    assert density[5] < -0.5  # a random labelling
    assert np.all(np.abs(density) <= 1)
    # models that read fewer scalars get exactly the columns they read
    for n_scalars in (5, 9):
        _, _, fewer = clustering_graphs(context, labels, n_scalars)
        torch.testing.assert_close(fewer, scalars[:, :n_scalars])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_context_orders_are_a_stable_sort_of_the_distances(dtype):
    # ties everywhere: repeated points, a coarse grid, too few points for 40 neighbours
    rng = np.random.default_rng(0)
    for X in (np.repeat(rng.normal(size=(30, 3)), 4, axis=0),
              np.round(rng.normal(size=(150, 2)), 1), rng.normal(size=(25, 4))):
        context = build_context(X, dtype=dtype)
        others = context.distances + torch.diag(torch.full((len(X),), torch.inf, dtype=dtype))
        expected = torch.argsort(others, dim=1, stable=True)[:, :-1]
        n_first = context.order.shape[1]
        assert n_first == min(len(X) - 1, 40)
        torch.testing.assert_close(context.order, expected[:, :n_first], rtol=0, atol=0)
        points = torch.tensor([0, 3, 3, len(X) - 1])
        torch.testing.assert_close(context.full_order(points), expected[points], rtol=0, atol=0)
        pairs = context.distances[~torch.eye(len(X), dtype=torch.bool)] * context.scale
        assert context.scale == pytest.approx(float(pairs.median()))


def test_canonical_labels_and_networkx_export():
    np.testing.assert_array_equal(canonical_labels([5, 5, 2, 9, 2]), [[0, 0, 1, 2, 1]])
    np.testing.assert_array_equal(canonical_labels([5, -1, 2, -1, 5]), [[0, -1, 1, -1, 0]])
    X, _ = make_blobs(n_samples=30, centers=2, random_state=0)
    graph = to_networkx(X, KMeans(2, n_init=2, random_state=0).fit_predict(X))
    assert isinstance(graph, nx.Graph) and graph.number_of_nodes() == 30
    assert {"cluster", "silhouette"} <= set(graph.nodes[0])
    assert all(0 < w <= 1 for _, _, w in graph.edges(data="weight"))


def test_seed_negatives_families_and_deduplication():
    X, y = make_blobs(n_samples=80, centers=4, random_state=1)
    candidates = seed_negatives(X, y, random_state=0)
    families = {family for family, _ in candidates}
    assert {"kmeans_from_truth", "ward", "gmm", "spectral", "merge", "split",
            "random", "single", "gmm_full", "dbscan_q50", "hdbscan_5", "one_cluster",
            "one_cluster_and_noise", "kmeans_x2", "kmeans_x3", "pieces",
            "mostly_noise", "giant_and_singletons", "k_near_n", "halves_absorbed"} <= families
    # one true cluster cut in two, each half in a different other true cluster
    absorbed, truth = dict(candidates)["halves_absorbed"], canonical_labels(y)[0]
    assert np.unique(absorbed).size == 3
    cut = [c for c in range(4) if np.unique(absorbed[truth == c]).size == 2]
    assert len(cut) == 1 and cut[0] not in absorbed
    assert all(np.unique(absorbed[truth == c]).tolist() == [c] for c in range(4) if c != cut[0])
    # the pieces respect the true boundaries: each piece inside one true cluster
    pieces = dict(candidates)["pieces"]
    assert np.unique(pieces).size > 4
    assert all(np.unique(y[pieces == p]).size == 1 for p in np.unique(pieces))
    kept, agreement = deduplicate(y, candidates)
    np.testing.assert_allclose(agreement, [adjusted_rand_score(y, lab) for _, lab in kept])
    # degenerate partitions are kept as negatives on purpose
    assert {"one_cluster", "mostly_noise", "giant_and_singletons"} <= {f for f, _ in kept}
    assert len(kept) < len(candidates)  # well separated blobs: many equal the truth
    assert ranking_metrics([[3, 1, 2], [0, 1, 2]]) == {
        "best": 0.5, "top3": 1.0, "mrr": pytest.approx((1 + 1 / 3) / 2)}
    # imperfect candidates: task 1 picks the 0.5 one of (0.5, 0.9), task 2 the best
    ordered = ranking_metrics([[3, 2, 1], [0, 1, 2, 3]],
                              [[1.0, 0.5, 0.9], [1.0, 0.1, 0.2, 0.3]])
    assert ordered["regret"] == pytest.approx(0.2)
    assert ordered["spearman"] == pytest.approx(1.0)  # only task 2 has > 2 negatives


def test_predict_gives_the_same_partition_of_permuted_points(fitted, new_dataset):
    # what holds of scikit-learn's sample-order check (skipped in test_common): the
    # partition of a permuted input is the same, only the cluster names may differ
    X, _ = new_dataset
    labels = fitted.predict(X)
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(X.shape[0])
        assert adjusted_rand_score(labels[perm], fitted.predict(X[perm])) == 1.0


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), scale=st.floats(0.1, 10), shift=st.floats(-5, 5))
def test_score_invariances(fitted, new_dataset, seed, scale, shift):
    X, y = new_dataset
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=X.shape[0])
    base = fitted.score_clustering(X, labels)
    rotation = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    perm = rng.permutation(X.shape[0])
    renamed = rng.permutation(3)[labels] + 10
    assert fitted.score_clustering(X, renamed) == pytest.approx(base, abs=1e-4)
    assert fitted.score_clustering(X[perm], labels[perm]) == pytest.approx(base, abs=1e-4)
    assert fitted.score_clustering(scale * X @ rotation + shift, labels) == pytest.approx(
        base, abs=1e-4)
    padded = np.c_[X, np.zeros((X.shape[0], 3))]
    assert fitted.score_clustering(padded, labels) == pytest.approx(base, abs=1e-4)


def test_batch_and_single_scoring_agree(fitted, new_dataset):
    X, y = new_dataset
    candidates = np.stack([y, KMeans(2, n_init=2, random_state=0).fit_predict(X),
                           np.arange(X.shape[0]) % 3])
    batch = fitted.score_clustering(X, candidates)
    single = [fitted.score_clustering(X, labels) for labels in candidates]
    np.testing.assert_allclose(batch, single, atol=1e-5)


def test_critic_ranks_truth_above_random(fitted, new_dataset):
    X, y = new_dataset
    random_labels = np.random.default_rng(0).integers(0, 3, size=(5, X.shape[0]))
    assert fitted.score_clustering(X, y) > fitted.score_clustering(X, random_labels).max()
    assert fitted.validation_["class_disjoint"]
    assert fitted.history_ and {"best", "top3", "mrr"} <= set(fitted.history_[0])


def test_pickled_critic_scores_the_same(fitted, new_dataset):
    X, y = new_dataset
    restored = pickle.loads(pickle.dumps(fitted))
    assert restored.score_clustering(X, y) == fitted.score_clustering(X, y)


def test_several_references_of_different_dimensions(references):
    X, y = references
    X2, y2 = make_blobs(n_samples=300, centers=5, n_features=9, random_state=2)
    model = LearnedMetricClustering(n_tasks=4, synthetic_tasks=3, size_range=(10, 15), gae_epochs=1,
                                    critic_epochs=2, adversarial_rounds=0,
                                    random_state=0).fit([X, X2], [y, y2])
    assert model.n_references_ == 2
    # its own clustering of each reference, in each one's dimension
    assert [labels.shape for labels in model.labels_] == [(600,), (300,)]
    assert np.isfinite(model.score_clustering(X2, y2))
    # tasks come from both references: validation tasks alternate between them
    assert model.validation_["class_disjoint"]
    groups = np.repeat([0, 1], 300)
    grouped = LearnedMetricClustering(n_tasks=4, synthetic_tasks=3, size_range=(10, 15),
                                      gae_epochs=1, critic_epochs=2, adversarial_rounds=0,
                                      random_state=0).fit(X, y, groups=groups)
    assert grouped.n_references_ == 2 and grouped.labels_.shape == (600,)
    # within a group, classes are taken on their own: fitting the two halves as a
    # list gives the same metric as the groups
    halves = LearnedMetricClustering(**grouped.get_params()).fit([X[:300], X[300:]],
                                                                  [y[:300], y[300:]])
    np.testing.assert_allclose(halves.score_clustering(X2, y2),
                               grouped.score_clustering(X2, y2))


def test_compute_labels_false_skips_the_clustering_of_the_references(references):
    X, y = references
    params = dict(n_tasks=4, synthetic_tasks=3, size_range=(10, 15), gae_epochs=1,
                  critic_epochs=2, adversarial_rounds=0, random_state=0)
    quiet = LearnedMetricClustering(compute_labels=False, **params).fit(X, y)
    assert not hasattr(quiet, "labels_")
    full = LearnedMetricClustering(**params).fit(X, y)
    assert quiet.score_clustering(X, y) == full.score_clustering(X, y)
    # fit_predict returns the labels all the same
    again = LearnedMetricClustering(compute_labels=False, **params)
    np.testing.assert_array_equal(again.fit_predict(X, y), full.labels_)


def test_large_dataset_is_subsampled(fitted):
    X, y = make_blobs(n_samples=1000, centers=3, random_state=0)
    score = fitted.score_clustering(X, y)
    assert np.isfinite(score)
    assert fitted.score_clustering(X, y) == score  # deterministic


def test_errors(references, fitted, new_dataset):
    X, y = references
    with pytest.raises(ValueError, match="2 classes"):
        LearnedMetricClustering(n_tasks=2).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="objective"):
        LearnedMetricClustering(objective="hinge").fit(X, y)
    with pytest.raises(ValueError, match="list"):
        LearnedMetricClustering().fit([X], y)
    with pytest.raises(ValueError, match="critic_hidden"):
        LearnedMetricClustering(critic_hidden=(64, 0)).fit(X, y)
    X_new, y_new = new_dataset
    with pytest.raises(ValueError, match="labels must have shape"):
        fitted.score_clustering(X_new, y_new[:10])


def test_critic_scorer_in_grid_search(fitted, new_dataset):
    from sklearn.cluster import DBSCAN
    from sklearn.model_selection import GridSearchCV

    from sklearn_tcm import critic_scorer

    X, _ = new_dataset
    scorer = critic_scorer(fitted)
    whole = [(np.arange(len(X)), np.arange(len(X)))]
    search = GridSearchCV(KMeans(n_init=2, random_state=0), {"n_clusters": [2, 3, 4]},
                          scoring=scorer, cv=whole).fit(X)
    chosen = search.best_params_["n_clusters"]
    labels = KMeans(chosen, n_init=2, random_state=0).fit_predict(X)
    assert search.best_score_ == pytest.approx(fitted.score_clustering(X, labels))
    assert np.isfinite(scorer(DBSCAN(eps=2.0), X))  # transductive: fit_predict
    with pytest.raises(Exception, match="not fitted"):
        critic_scorer(LearnedMetricClustering())


def test_label_errors_speak_of_the_users_shape_and_values(fitted, new_dataset):
    X_new, y_new = new_dataset
    n = len(X_new)
    with pytest.raises(ValueError, match=rf"got shape \({n - 5},\)"):
        fitted.score_clustering(X_new, y_new[:-5])
    for bad in (-2, -0.5):
        labels = y_new.astype(float)
        labels[3] = bad
        with pytest.raises(ValueError, match=rf"or -1 for noise.*got {bad}"):
            fitted.score_clustering(X_new, labels)
    noisy = y_new.copy()
    noisy[:5] = -1  # -1 is noise, accepted
    assert np.isfinite(fitted.score_clustering(X_new, noisy))


def test_sparse_input_in_grid_search_gives_finite_scores(fitted, new_dataset):
    import scipy.sparse as sp
    from sklearn.model_selection import GridSearchCV

    from sklearn_tcm import WholeDataSplit, critic_scorer

    X, _ = new_dataset
    sparse = sp.csr_matrix(X)
    search = GridSearchCV(KMeans(n_init=2, random_state=0), {"n_clusters": [2, 3, 4]},
                          scoring=critic_scorer(fitted), cv=WholeDataSplit(),
                          error_score="raise").fit(sparse)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    labels = KMeans(3, n_init=2, random_state=0).fit_predict(X)
    assert fitted.score_clustering(sparse, labels) == pytest.approx(
        fitted.score_clustering(X, labels))


def test_predict_returns_the_score_of_the_labels_it_returns(fitted, new_dataset):
    # 700 points: more than max_points, so the search scores its own subsamples
    # (its score differed from score_clustering's by ~3e-3 here before the fix)
    large, _ = make_blobs(n_samples=700, centers=3, n_features=6, cluster_std=0.8,
                          random_state=5)
    for X in (new_dataset[0], large):
        labels, score = fitted.predict(X, return_score=True)
        assert score == pytest.approx(fitted.score_clustering(X, labels), abs=1e-9)


@pytest.mark.parametrize("objective", ["rank", "ari"])
def test_batched_critic_loss_is_the_mean_of_task_losses_and_trains(objective):
    from sklearn_tcm.learned_metric.critic import (
        Critic,
        ari_loss,
        batch_loss,
        rank_loss,
        train_critic,
    )

    generator = torch.Generator().manual_seed(0)
    critic = Critic(6)

    def task(n):  # the truth (row 0) lies along +x, the others are random
        embeddings = torch.randn(n, 6, generator=generator)
        embeddings[0, 0] += 3.0
        return embeddings

    tasks = [task(n) for n in (3, 7, 2, 5) * 6]
    agreements = [torch.cat([torch.ones(1), torch.rand(e.shape[0] - 1, generator=generator) / 2])
                  for e in tasks]
    loss = batch_loss(critic, tasks[:4], objective, agreements[:4])
    single = [rank_loss(critic(e)) if objective == "rank" else ari_loss(critic(e), a)
              for e, a in zip(tasks[:4], agreements[:4])]
    torch.testing.assert_close(loss, torch.stack(single).mean())
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in critic.parameters())
    history = train_critic(critic, tasks[:16], tasks[16:], objective=objective,
                           agreements=agreements[:16], validation_agreements=agreements[16:],
                           n_epochs=20, n_iter_no_change=20, learning_rate=1e-2, batch_size=4,
                           seed=0)
    assert max(h["best"] for h in history) >= 7 / 8 and history[-1]["loss"] < history[0]["loss"]


def test_ari_temperature_reaches_both_loss_paths():
    from sklearn_tcm._torch import seeded_torch
    from sklearn_tcm.learned_metric.critic import Critic, train_critic

    generator = torch.Generator().manual_seed(1)
    tasks = [torch.randn(n, 4, generator=generator) for n in (4, 6, 5) * 4]
    agreements = [torch.cat([torch.ones(1), torch.rand(e.shape[0] - 1, generator=generator)
                             * 0.9]) for e in tasks]

    def first_loss(batch_size, **objective):
        with seeded_torch(0):
            critic = Critic(4)
        history = train_critic(critic, tasks[:8], tasks[8:], agreements=agreements[:8],
                               validation_agreements=agreements[8:], n_epochs=1,
                               batch_size=batch_size, seed=0, **objective)
        return history[0]["loss"]

    for batch_size in (1, 4):
        rank = first_loss(batch_size, objective="rank")
        # a near-zero temperature puts the whole target on the truth: "rank"'s loss
        assert first_loss(batch_size, objective="ari", temperature=1e-4) == pytest.approx(rank)
        assert first_loss(batch_size, objective="ari") != pytest.approx(rank, rel=1e-3)
    with pytest.raises(ValueError, match="ari_temperature"):
        LearnedMetricClustering(objective="ari", ari_temperature=0.0).fit(
            np.zeros((20, 2)), np.repeat([0, 1], 10))


@pytest.mark.parametrize("pooled", [True, False])
def test_gae_minibatch_of_labellings_and_its_training_embeddings(pooled):
    from sklearn_tcm.learned_metric.gae import embed_task, train_gae

    rng = np.random.default_rng(0)
    tasks = []
    for seed in range(3):
        X, y = make_blobs(40, centers=3, random_state=seed)
        labels = np.stack([y] + [rng.integers(0, 4, y.size) for _ in range(11)])
        tasks.append({"X": X, "labels": labels})
    cpu = torch.device("cpu")
    gae, history, embeddings = train_gae(tasks, cpu, n_epochs=2, seed=0, pooled=pooled,
                                         labellings_per_step=4)
    assert len(history) == 2
    # the embeddings fit() uses for training tasks are those of embed_task
    for task, embedding in zip(tasks, embeddings):
        assert embedding.shape == (12, gae.embedding_size)
        torch.testing.assert_close(embedding, embed_task(gae, task, cpu))
    if pooled:  # a minibatch of 4 labellings per step trains another encoder than all 12
        whole, _, _ = train_gae(tasks, cpu, n_epochs=2, seed=0, labellings_per_step=None)
        assert not torch.equal(whole.gcn_hidden.weight, gae.gcn_hidden.weight)


def test_propagation_in_place_and_the_mean_only_encoder():
    from sklearn_tcm.learned_metric.gae import GraphAutoEncoder, normalised_adjacency

    X, y = make_blobs(60, centers=3, random_state=0)
    context = build_context(X, dtype=torch.float32)
    labels = np.stack([y, KMeans(4, n_init=1, random_state=0).fit_predict(X)])
    features, adjacency, scalars = clustering_graphs(context, labels)
    kept = adjacency.clone()
    propagation = normalised_adjacency(adjacency)
    assert torch.equal(adjacency, kept)  # not touched without inplace
    # D^-1/2 (A + I) D^-1/2 from its definition
    with_loops = kept + torch.eye(60)
    degree = with_loops.sum(dim=-1)
    torch.testing.assert_close(propagation,
                               with_loops / torch.sqrt(degree[:, :, None] * degree[:, None, :]))
    in_place = normalised_adjacency(adjacency, inplace=True)
    assert in_place.data_ptr() == adjacency.data_ptr() and torch.equal(in_place, propagation)
    torch.manual_seed(0)
    gae = GraphAutoEncoder(features.shape[-1], scalars.shape[-1]).eval()
    with torch.no_grad():
        mu, _ = gae.encode(features, propagation)
        assert torch.equal(gae.encode(features, propagation, mean_only=True), mu)
        graphs = clustering_graphs(context, labels)
        assert torch.equal(gae.embed(*graphs), gae.embed(*graphs, inplace=True))


def test_scores_above_max_points_ignore_names_and_batch():
    # above max_points every labelling is scored on the same uniform subsamples
    from sklearn_tcm import pretrained_metric

    metric = pretrained_metric()
    X, y = make_blobs(3 * metric.max_points, centers=3, random_state=0)
    six = KMeans(6, n_init=2, random_state=0).fit_predict(X)
    renamed = np.array([5, 9, 2])[y]
    scores = metric.score_clustering(X, np.stack([y, y, renamed, six]))
    assert scores[0] == scores[1] == scores[2]
    assert metric.score_clustering(X, y) == pytest.approx(scores[0], abs=1e-6)
    assert metric.score_clustering(X, six) == pytest.approx(scores[3], abs=1e-6)


def test_scoring_groups_give_many_clusters_more_points():
    from sklearn_tcm.learned_metric.tasks import MAX_SCORING_POINTS, scoring_groups

    n = 3000
    rng = np.random.default_rng(0)
    labels = np.stack([rng.integers(0, k, n) for k in (3, 20, 21, 50, 400)])
    labels[0, :100] = -1  # noise is not a cluster
    groups = scoring_groups(labels, 400, 20)
    assert {size: list(members) for size, members in groups.items()} == {
        400: [0, 1], 420: [2], 1000: [3], MAX_SCORING_POINTS: [4]}
    assert list(scoring_groups(labels, 400, None)) == [400]
    assert list(scoring_groups(labels, 2500, 20)) == [2500]  # max_points above the cap
    assert list(scoring_groups(labels[:, :700], 400, 20)) == [400, 420, 700]  # all points


def test_many_clusters_are_scored_on_more_points():
    # a labelling with k clusters is scored as if max_points were 20 k; few
    # clusters as before; None restores max_points for every labelling
    from sklearn_tcm import pretrained_metric

    metric = pretrained_metric()
    X, y = make_blobs(1500, centers=30, random_state=0)
    three = KMeans(3, n_init=2, random_state=0).fit_predict(X)
    scores = metric.score_clustering(X, np.stack([y, three]))
    wide = pretrained_metric().set_params(max_points=600, points_per_cluster=None)
    assert scores[0] == pytest.approx(wide.score_clustering(X, y), abs=1e-5)
    old = pretrained_metric().set_params(points_per_cluster=None)
    assert scores[1] == pytest.approx(old.score_clustering(X, three), abs=1e-5)
    assert scores[0] != pytest.approx(old.score_clustering(X, y), abs=1e-3)


def test_large_batches_of_large_graphs_are_scored_in_chunks(monkeypatch):
    from sklearn_tcm import pretrained_metric
    from sklearn_tcm.learned_metric import graph

    metric = pretrained_metric()
    X, y = make_blobs(300, centers=3, random_state=0)
    labellings = np.stack([y, KMeans(5, n_init=2, random_state=0).fit_predict(X), y % 2])
    whole = metric.score_clustering(X, labellings)
    # room for the graphs of one labelling at a time
    monkeypatch.setattr(graph, "_BATCH_MEMORY", graph._GRAPH_SQUARES * 300 * 300 * 4)
    assert graph.graphs_per_batch(300) == 1
    np.testing.assert_allclose(metric.score_clustering(X, labellings), whole, atol=1e-5)


def test_stacked_fits_score_the_mean_of_theirs_and_round_trip(tmp_path):
    from sklearn_tcm import load
    from sklearn_tcm.learned_metric import stack_metrics, with_untrained_critic

    X, y = make_blobs(n_samples=160, centers=4, n_features=3, random_state=2)
    params = dict(n_tasks=4, synthetic_tasks=2, size_range=(8, 12), gae_epochs=1,
                  critic_epochs=2, adversarial_rounds=0, n_critics=2)
    fits = [LearnedMetricClustering(random_state=seed, **params).fit(X, y) for seed in (0, 1)]
    stacked = stack_metrics(fits)
    assert stacked.n_fits_ == 2 and fits[0].n_fits_ == 1
    labels = np.stack([y, (y + 1) % 4, y % 2, np.zeros_like(y)])
    expected = np.mean([fit.score_clustering(X, labels) for fit in fits], axis=0)
    np.testing.assert_allclose(stacked.score_clustering(X, labels), expected, rtol=1e-5)
    # a stack of a stack and a fit is a stack of the three fits
    assert stack_metrics([stacked, fits[0]]).n_fits_ == 3
    stacked.save(tmp_path / "stacked.tcm")
    again = load(tmp_path / "stacked.tcm")
    np.testing.assert_allclose(again.score_clustering(X, labels),
                               stacked.score_clustering(X, labels), rtol=1e-6)
    assert again.predict(X).shape == (160,)
    ablated = with_untrained_critic(again, random_state=0)
    assert np.isfinite(ablated.score_clustering(X, labels)).all()
    with pytest.raises(ValueError, match="max_points"):
        stack_metrics([fits[0], LearnedMetricClustering(max_points=50, random_state=0,
                                                        **params).fit(X, y)])


def test_a_one_class_reference_teaches_no_structure():
    from sklearn_tcm import LearnedMetricClustering

    rng = np.random.default_rng(0)
    X_blobs, y_blobs = make_blobs(120, centers=3, random_state=0)
    X_none = rng.normal(size=(120, 2))
    metric = LearnedMetricClustering(n_tasks=6, synthetic_tasks=0, gae_epochs=1,
                                     critic_epochs=2, adversarial_rounds=0,
                                     compute_labels=False, random_state=0)
    metric.fit([X_blobs, X_none], [y_blobs, np.zeros(120, dtype=int)])
    assert np.isfinite(metric.score_clustering(X_none, np.zeros(120, dtype=int)))
    with pytest.raises(ValueError, match="at least one class"):
        metric.fit([X_blobs, X_none], [y_blobs, np.full(120, -1)])
