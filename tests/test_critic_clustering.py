"""CriticClustering: a plain scikit-learn clusterer under a fitted learned metric."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_tcm
from sklearn_tcm import (
    CriticClustering,
    LearnedMetricClustering,
    WholeDataSplit,
    critic_scorer,
    pretrained_metric,
)

X, Y = make_blobs(240, centers=3, cluster_std=0.6, random_state=0)
SMALL = dict(n_micro=40, max_clusters=6, random_state=0)


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


def test_predict_is_the_nearest_training_point_rule():
    model = CriticClustering(**SMALL).fit(X)
    X_new = X[:30] + 0.05
    nearest = NearestNeighbors(n_neighbors=1).fit(X).kneighbors(X_new)[1][:, 0]
    np.testing.assert_array_equal(model.predict(X_new), model.labels_[nearest])


def test_fixed_and_capped_number_of_clusters():
    assert CriticClustering(n_clusters=5, n_micro=40, random_state=0).fit(X).n_clusters_ == 5
    capped = CriticClustering(n_micro=40, max_clusters=2, random_state=0).fit(X)
    assert capped.n_clusters_ <= 2


def test_grid_search_over_its_own_parameters():
    search = GridSearchCV(CriticClustering(**SMALL),
                          {"search": ["select", "evolve"], "n_micro": [20, 40]},
                          scoring=critic_scorer(), cv=WholeDataSplit()).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert search.best_estimator_.n_clusters_ >= 2


def test_clone_keeps_a_frozen_metric_and_refuses_a_bare_fitted_one(metric):
    assert clone(CriticClustering(FrozenEstimator(metric), **SMALL)).fit(X).n_clusters_ >= 2
    with pytest.raises(ValueError, match="FrozenEstimator"):
        clone(CriticClustering(metric, **SMALL)).fit(X)
    with pytest.raises(TypeError, match="metric must be"):
        CriticClustering(metric=3).fit(X)


def test_metric_from_a_file_and_caution_override(metric, tmp_path):
    path = tmp_path / "metric.tcm"
    metric.save(path)
    model = CriticClustering(str(path), caution=0.5, **SMALL).fit(X)
    assert model.metric_.caution == 0.5
    assert metric.caution == 0.0  # the metric given is not changed
    assert model.metric_.n_micro == SMALL["n_micro"]


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
