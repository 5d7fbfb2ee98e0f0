"""Work spread over a Dask cluster through joblib gives the same results."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV

from sklearn_tcm import SCORERS, DECClustering, LearnedMetricClustering

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def test_learned_metric_search_and_training_on_dask(client):
    X, y = make_blobs(n_samples=400, centers=6, n_features=4, random_state=0)
    params = dict(n_tasks=6, synthetic_tasks=3, size_range=(8, 12), gae_epochs=1,
                  critic_epochs=3, search="evolve", adversarial_rounds=1, adversarial_tasks=3,
                  validation_searches=2,
                  n_generations=2, population_size=4, n_restarts=3, random_state=0)
    local = LearnedMetricClustering(**params, n_jobs=1).fit(X[y < 5], y[y < 5])
    expected = local.predict(X[y == 5])
    with joblib.parallel_config(backend="dask"):
        remote = LearnedMetricClustering(**params, n_jobs=-1).fit(X[y < 5], y[y < 5])
        labels = remote.predict(X[y == 5])
    np.testing.assert_array_equal(labels, expected)
    def without_time(history):
        return [{k: v for k, v in record.items() if k != "seconds"} for record in history]

    assert without_time(remote.history_) == without_time(local.history_)


def test_grid_search_over_dec_on_dask(client):
    X, y = make_blobs(n_samples=90, centers=3, n_features=4, random_state=1)
    dec = DECClustering(hidden_dims=(8,), n_components=2, pretrain_epochs=2, max_iter=10,
                        n_init=2, random_state=0)
    grid = {"n_clusters": [2, 3, 4]}
    local = GridSearchCV(dec, grid, scoring=SCORERS["clustering_accuracy"], cv=2).fit(X, y)
    with joblib.parallel_config(backend="dask"):
        remote = GridSearchCV(dec, grid, scoring=SCORERS["clustering_accuracy"], cv=2,
                              n_jobs=-1).fit(X, y)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"])
