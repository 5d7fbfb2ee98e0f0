"""Work spread over a Dask cluster through joblib gives the same results,
also when a worker is killed in the middle of the work.

The package's parallel tasks are pure functions of their arguments (seeds are
drawn in the parent process), so the Dask scheduler may run a task again on
another worker when the one running it, or holding its result, disappears.
"""

import os
import signal
import threading
import time

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV

from sklearn_tcm import SCORERS, DECClustering, LearnedMetricClustering

# second tier: CI runs it after the fast tests (-m 'integration and not slow')
pytestmark = pytest.mark.integration

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

LMC_PARAMS = dict(n_tasks=6, synthetic_tasks=3, size_range=(8, 12), gae_epochs=1,
                  critic_epochs=3, adversarial_rounds=1, adversarial_tasks=3, random_state=0)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def _without_time(history):
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def _run_killing_a_worker(client, work, scatter=None):
    """Run ``work()`` under the Dask backend; SIGKILL one worker while it runs.

    The worker killed is the first one seen processing a task. Returns the
    result of ``work`` and whether the kill happened before ``work`` ended.
    """
    outcome = {}

    def target():
        try:
            with joblib.parallel_config(backend="dask", scatter=scatter):
                outcome["result"] = work()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    pids = client.run(os.getpid)
    thread = threading.Thread(target=target)
    thread.start()
    killed_midway = False
    deadline = time.monotonic() + 120
    while thread.is_alive() and time.monotonic() < deadline:
        busy = [address for address, keys in client.processing().items() if keys]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed_midway = thread.is_alive()
            break
        time.sleep(0.005)
    thread.join(timeout=300)
    assert not thread.is_alive(), "the work did not finish after a worker was killed"
    if "error" in outcome:
        raise outcome["error"]
    client.wait_for_workers(3, timeout=60)  # the nanny restarts the killed worker
    return outcome["result"], killed_midway


def test_learned_metric_search_and_training_on_dask(client):
    X, y = make_blobs(n_samples=400, centers=6, n_features=4, random_state=0)
    local = LearnedMetricClustering(**LMC_PARAMS, n_jobs=1).fit(X[y < 5], y[y < 5])
    expected = local.predict(X[y == 5])
    with joblib.parallel_config(backend="dask"):
        remote = LearnedMetricClustering(**LMC_PARAMS, n_jobs=-1).fit(X[y < 5], y[y < 5])
        labels = remote.predict(X[y == 5])
    np.testing.assert_array_equal(labels, expected)
    assert _without_time(remote.history_) == _without_time(local.history_)


def test_learned_metric_fit_survives_a_lost_worker(client):
    """Fault: SIGKILL of a Dask worker (3-worker LocalCluster) in the middle of a
    LearnedMetricClustering fit with n_jobs=-1. Checked: the fit finishes with the single-
    process history and predictions."""
    X, y = make_blobs(n_samples=400, centers=6, n_features=4, random_state=0)
    local = LearnedMetricClustering(**LMC_PARAMS, n_jobs=1).fit(X[y < 5], y[y < 5])
    remote, killed_midway = _run_killing_a_worker(
        client, lambda: LearnedMetricClustering(**LMC_PARAMS, n_jobs=-1).fit(X[y < 5],
                                                                             y[y < 5]))
    assert killed_midway
    assert _without_time(remote.history_) == _without_time(local.history_)
    np.testing.assert_array_equal(remote.predict(X[y == 5]), local.predict(X[y == 5]))


X_GRID, Y_GRID = make_blobs(n_samples=90, centers=3, n_features=4, random_state=1)


def _dec_grid_search(n_jobs, X=X_GRID, y=Y_GRID):
    dec = DECClustering(hidden_dims=(8,), n_components=2, pretrain_epochs=2, max_iter=10,
                        n_init=2, random_state=0)
    return GridSearchCV(dec, {"n_clusters": [2, 3, 4]}, scoring=SCORERS["clustering_accuracy"],
                        cv=2, n_jobs=n_jobs).fit(X, y)


def test_grid_search_over_dec_on_dask(client):
    local = _dec_grid_search(None)
    with joblib.parallel_config(backend="dask"):
        remote = _dec_grid_search(-1)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"])


def test_grid_search_survives_a_lost_worker(client):
    """Fault: SIGKILL of a Dask worker in the middle of a GridSearchCV over DECClustering (X, y
    broadcast with scatter). Checked: the same best parameters and scores as in one process."""
    local = _dec_grid_search(None)
    # X and y broadcast to every worker: joblib would otherwise scatter them to
    # one worker, and the data would be lost with it
    remote, killed_midway = _run_killing_a_worker(client, lambda: _dec_grid_search(-1),
                                                  scatter=[X_GRID, Y_GRID])
    assert killed_midway
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"])
