"""CriticClustering: a plain scikit-learn clusterer under a fitted learned metric."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs, make_circles, make_moons
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_tcm
from sklearn_tcm import (
    CriticClustering,
    LearnedMetricClustering,
    pretrained_metric,
)

X, Y = make_blobs(240, centers=3, cluster_std=0.6, random_state=0)
SMALL = dict(max_clusters=6, random_state=0)


@pytest.fixture(scope="module")
def metric():
    return pretrained_metric()


def test_fit_clusters_x_as_the_last_step_of_a_pipeline():
    pipe = make_pipeline(StandardScaler(), CriticClustering(**SMALL)).fit(X)
    model = pipe[-1]
    assert model.n_clusters_ == 3
    assert np.unique(model.labels_).tolist() == [0, 1, 2]
    assert model.cluster_centers_.shape == (3, 2)
    np.testing.assert_array_equal(pipe.fit_predict(X), model.labels_)
    # predict on the training points gives back their clusters
    np.testing.assert_array_equal(pipe.predict(X), model.labels_)


def test_fit_predict_equals_labels_and_seed_reproduces(metric):
    frozen = FrozenEstimator(metric)
    first = CriticClustering(frozen, **SMALL).fit_predict(X)
    model = CriticClustering(frozen, **SMALL).fit(X)
    np.testing.assert_array_equal(first, model.labels_)


def test_score_is_the_metric_score_of_the_labels(metric):
    model = CriticClustering(FrozenEstimator(metric), **SMALL).fit(X)
    assert model.score_ == pytest.approx(metric.score_clustering(X, model.labels_), abs=1e-9)


def test_predict_gives_training_points_their_cluster_and_follows_curved_clusters():
    X_moons, y_moons = make_moons(300, noise=0.05, random_state=0)
    model = CriticClustering(random_state=0).fit(X_moons)
    assert model.n_clusters_ == 2
    clustered = model.labels_ >= 0
    np.testing.assert_array_equal(model.predict(X_moons)[clustered],
                                  model.labels_[clustered])
    X_new, y_new = make_moons(200, noise=0.05, random_state=1)
    assert adjusted_rand_score(y_new, model.predict(X_new)) > 0.95


def test_fixed_and_capped_number_of_clusters():
    assert CriticClustering(n_clusters=5, random_state=0).fit(X).n_clusters_ == 5
    capped = CriticClustering(max_clusters=2, random_state=0).fit(X)
    assert capped.n_clusters_ <= 2


def test_the_answer_does_not_depend_on_the_seed():
    X_std = StandardScaler().fit_transform(make_blobs(300, centers=3, cluster_std=0.6,
                                                      random_state=0)[0])
    ks = {CriticClustering(random_state=seed).fit(X_std).n_clusters_ for seed in range(4)}
    assert ks == {3}


@pytest.mark.parametrize("data", ["uniform", "gaussian"])
def test_no_structure_is_one_cluster(data):
    rng = np.random.default_rng(0)
    X_null = rng.uniform(size=(400, 2)) if data == "uniform" else rng.normal(size=(400, 5))
    model = CriticClustering(random_state=0).fit(X_null)
    assert model.n_clusters_ == 1 and model.selection_["candidate"] == "one cluster"
    # the answer the user can ask for instead
    assert CriticClustering(allow_single_cluster=False, random_state=0).fit(
        X_null).n_clusters_ >= 2


def test_moons_and_circles_are_two_clusters():
    for make, options in ((make_moons, {}), (make_circles, {"factor": 0.5})):
        X_shape, y_shape = make(500, noise=0.05, random_state=0, **options)
        model = CriticClustering(random_state=0).fit(X_shape)
        assert model.n_clusters_ == 2
        assert adjusted_rand_score(y_shape, model.labels_) > 0.95


def test_a_far_outlier_is_noise_not_a_cluster():
    X_out, _ = make_blobs(300, centers=4, cluster_std=0.5, random_state=1)
    X_out = np.vstack([X_out, [[60.0, 60.0]]])
    model = CriticClustering(random_state=0).fit(X_out)
    assert model.n_clusters_ == 4
    assert model.labels_[-1] == -1
    assert model.predict([[61.0, 61.0]])[0] == -1


def test_small_clusters_are_noise():
    from sklearn_tcm.learned_metric.candidates import small_clusters_as_noise

    labels = np.array([2, 2, 2, 0, 1, 1, 1, -1, 2])
    np.testing.assert_array_equal(small_clusters_as_noise(labels, 3),
                                  [0, 0, 0, -1, 1, 1, 1, -1, 0])


def test_a_choice_at_the_largest_k_tried_warns():
    with pytest.warns(UserWarning, match="largest number tried"):
        model = CriticClustering(max_clusters=3, random_state=0).fit(X)
    assert model.n_clusters_ == 3 and model.selection_["at_edge"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not CriticClustering(random_state=0).fit(X).selection_["at_edge"]


def test_large_data_is_clustered_on_a_subsample_and_extended():
    X_big, y_big = make_blobs(5000, centers=4, n_features=3, cluster_std=0.5,
                              random_state=0)
    model = CriticClustering(max_samples=500, random_state=0).fit(X_big)
    assert model.labels_.shape == (5000,)
    assert adjusted_rand_score(y_big, model.labels_) > 0.95


def test_consensus_prefers_the_partition_the_near_best_agree_with():
    from sklearn_tcm.learned_metric.candidates import consensus_choice

    a = np.repeat([0, 1, 2], 10)
    b = a.copy()
    b[0] = 1
    odd = np.tile([0, 1], 15)
    labels = np.stack([odd, a, b, a])
    chosen, agreement = consensus_choice(labels, np.array([3.0, 2.0, 1.9, 1.8]), 4)
    assert chosen == 1 and 0 < agreement < 1
    assert consensus_choice(labels, np.array([3.0, 2.0, 1.9, 1.8]), 1)[0] == 0


def test_evolve_adds_a_candidate_and_keeps_the_api():
    model = CriticClustering(search="evolve", **SMALL).fit(X)
    assert model.n_clusters_ == 3
    assert model.selection_["n_candidates"] > 1


def test_clone_keeps_a_frozen_metric_and_refuses_a_bare_fitted_one(metric):
    assert clone(CriticClustering(FrozenEstimator(metric), **SMALL)).fit(X).n_clusters_ >= 2
    with pytest.raises(ValueError, match="FrozenEstimator"):
        clone(CriticClustering(metric, **SMALL)).fit(X)
    with pytest.raises(TypeError, match="metric must be"):
        CriticClustering(metric=3).fit(X)


def test_metric_from_a_file(metric, tmp_path):
    path = tmp_path / "metric.tcm"
    metric.save(path)
    model = CriticClustering(str(path), **SMALL).fit(X)
    assert model.n_clusters_ == 3
    assert model.metric_.get_params() == metric.get_params()


@pytest.mark.parametrize("how", ["pickle", "save"])
def test_round_trips(how, tmp_path, metric):
    model = CriticClustering(FrozenEstimator(metric), **SMALL).fit(X)
    if how == "pickle":
        restored = pickle.loads(pickle.dumps(model))
    else:
        model.save(tmp_path / "clusterer.tcm")
        restored = sklearn_tcm.load(tmp_path / "clusterer.tcm")
        assert isinstance(restored.metric, FrozenEstimator)
        assert isinstance(restored.metric_, LearnedMetricClustering)
    np.testing.assert_array_equal(restored.predict(X[:50]), model.predict(X[:50]))
    assert restored.score_ == model.score_
    # a restored clusterer refits the same way
    np.testing.assert_array_equal(clone(restored).fit(X).labels_, model.labels_)


def test_all_identical_points_are_one_cluster_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = CriticClustering(**SMALL).fit(np.ones((50, 3)))
        labels, score = pretrained_metric().predict(np.ones((50, 3)), return_score=True)
    assert model.n_clusters_ == 1 and np.all(model.labels_ == 0)
    assert np.all(labels == 0) and np.isfinite(score)


def test_sparse_input_is_made_dense():
    import scipy.sparse as sp

    sparse = sp.csr_matrix(X)
    dense_labels = CriticClustering(**SMALL).fit(X).labels_
    np.testing.assert_array_equal(CriticClustering(**SMALL).fit(sparse).labels_, dense_labels)


@pytest.mark.parametrize("search", ["select", "evolve"])
def test_verbose_shows_progress_for_every_search(search, capsys):
    CriticClustering(**SMALL, search=search, verbose=1).fit(X[:80])
    assert "CriticClustering" in capsys.readouterr().err
    CriticClustering(**SMALL, search=search).fit(X[:80])
    assert capsys.readouterr().err == ""


def test_candidates_with_many_clusters_are_scored_on_more_points():
    # the clusterer's scoring follows the metric's points_per_cluster: a
    # 3-cluster candidate is scored on the same subsamples either way, a
    # 30-cluster one on 600 points instead of 400
    from sklearn.cluster import KMeans

    from sklearn_tcm import pretrained_metric
    from sklearn_tcm.learned_metric.candidates import score_candidates

    X, y = make_blobs(1000, centers=30, random_state=0)
    labels = np.stack([KMeans(3, n_init=2, random_state=0).fit_predict(X), y])
    scores = {}
    for points_per_cluster in (20, None):
        metric = pretrained_metric().set_params(points_per_cluster=points_per_cluster)
        scores[points_per_cluster] = score_candidates(
            metric, X, labels, max_points=metric.max_points, n_subsamples=2, n_finalists=2,
            rng=np.random.default_rng(0), points_per_cluster=points_per_cluster)
    assert scores[20][0] == pytest.approx(scores[None][0], abs=1e-6)
    assert abs(scores[20][1] - scores[None][1]) > 1e-3
