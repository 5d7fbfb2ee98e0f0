"""Label-free model selection: noise, degenerate partitions, the shipped metric, the helpers."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.cluster import DBSCAN, KMeans
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV

from sklearn_tcm import (
    LearnedMetricClustering,
    WholeDataSplit,
    critic_scorer,
    pretrained_metric,
    rank_clusterings,
)


@pytest.fixture(scope="module")
def small_metric():
    """A small metric trained on blobs (its tasks include noise and degenerate negatives)."""
    X, y = make_blobs(n_samples=600, centers=8, n_features=3, cluster_std=0.6, random_state=0)
    return LearnedMetricClustering(n_tasks=16, synthetic_tasks=8, size_range=(10, 20),
                                   gae_epochs=2, critic_epochs=60, n_iter_no_change=60,
                                   adversarial_rounds=0,
                                   random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def blobs():
    return make_blobs(n_samples=240, centers=4, n_features=3, cluster_std=0.5,
                      center_box=(-12, 12), random_state=3)


def _degenerate(y, seed=0):
    rng = np.random.default_rng(seed)
    n = y.size
    mostly_noise = np.where(rng.random(n) < 0.8, -1, y)
    return {"all noise": np.full(n, -1), "one cluster": np.zeros(n, dtype=int),
            "mostly noise": mostly_noise}


def test_degenerate_labellings_score_below_the_truth(small_metric, blobs):
    X, y = blobs
    truth = small_metric.score_clustering(X, y)
    for name, labels in _degenerate(y).items():
        assert small_metric.score_clustering(X, labels) < truth, name


def test_all_noise_is_not_scored_as_one_cluster(small_metric, blobs):
    X, y = blobs
    scores = small_metric.score_clustering(X, np.stack([np.full(len(y), -1),
                                                        np.zeros(len(y), dtype=int)]))
    assert scores[0] != scores[1]
    # -1 is noise, whatever the other labels are called
    noisy = np.where(np.arange(len(y)) % 5 == 0, -1, y)
    renamed = np.where(noisy >= 0, noisy + 7, -1)
    assert small_metric.score_clustering(X, renamed) == pytest.approx(
        small_metric.score_clustering(X, noisy), abs=1e-5)


def test_whole_data_split():
    X = np.zeros((5, 2))
    splits = list(WholeDataSplit().split(X))
    assert len(splits) == 1 and WholeDataSplit().get_n_splits() == 1
    np.testing.assert_array_equal(splits[0][0], np.arange(5))
    np.testing.assert_array_equal(splits[0][1], np.arange(5))


@pytest.mark.parametrize("metric", ["small", "pretrained"])
def test_critic_scorer_in_grid_search_over_kmeans_and_dbscan(small_metric, blobs, metric):
    X, _ = blobs
    scorer = critic_scorer(small_metric) if metric == "small" else critic_scorer()
    kmeans = GridSearchCV(KMeans(n_init=3, random_state=0), {"n_clusters": [2, 3, 4, 5, 6]},
                          scoring=scorer, cv=WholeDataSplit()).fit(X)
    if metric == "pretrained":  # a tiny metric's choice of k is not reliable
        assert kmeans.best_params_ == {"n_clusters": 4}
    dbscan = GridSearchCV(DBSCAN(), {"eps": [0.05, 0.6, 1.2, 30.0]}, scoring=scorer,
                          cv=WholeDataSplit()).fit(X)
    # eps=0.05: every point noise; eps=30: one cluster; neither may win
    assert dbscan.best_params_["eps"] in (0.6, 1.2)
    labels = KMeans(kmeans.best_params_["n_clusters"], n_init=3, random_state=0).fit_predict(X)
    model = small_metric if metric == "small" else pretrained_metric()
    assert kmeans.best_score_ == pytest.approx(model.score_clustering(X, labels))


def test_rank_clusterings_prints_a_table(small_metric, blobs):
    X, y = blobs
    ranking = rank_clusterings(X, {"truth": y, "k-means k=2": KMeans(2, n_init=3,
                                                                   random_state=0),
                                   **_degenerate(y)})  # the shipped metric
    assert [row["name"] for row in ranking][0] == "truth"
    scores = [row["score"] for row in ranking]
    assert scores == sorted(scores, reverse=True)
    assert {"name", "score", "n_clusters", "noise_fraction"} <= set(ranking[0])
    table = str(ranking)
    assert table.splitlines()[0].split() == ["rank", "candidate", "score", "k", "noise"]
    assert "all noise" in table and "100.0%" in table
    assert len(rank_clusterings(X, {"truth": y}, metric=small_metric)) == 1
    with pytest.raises(ValueError, match="shape"):
        rank_clusterings(X, {"short": y[:5]}, metric=small_metric)
    with pytest.raises(ValueError, match="non-empty dict"):
        rank_clusterings(X, {}, metric=small_metric)


@pytest.mark.integration  # a subprocess: second tier
def test_pretrained_metric_loads_fast_and_scores_without_cuda(tmp_path):
    """In a fresh interpreter where CUDA is hidden: it loads and ranks the truth first.

    Its load time is measured by benchmarks/train_pretrained.py, not here."""
    code = textwrap.dedent("""
        import numpy as np
        import torch
        torch.cuda.is_available = lambda: False
        from sklearn.datasets import make_blobs
        from sklearn_tcm import pretrained_metric
        metric = pretrained_metric()
        X, y = make_blobs(300, centers=3, random_state=1)
        scores = metric.score_clustering(X, np.stack([y, np.zeros(300, int), np.full(300, -1)]))
        from sklearn_tcm.learned_metric.corpus import check_exclusions
        made = metric.training_data_
        fits = made["fits"] if "fits" in made else [made]  # a stack lists each fit's
        references = [name for fit in fits for name in fit["references"]]
        check_exclusions(references)  # never trained on a set kept for evaluation
        print(metric.device_, int(np.argmax(scores)), references[0],
              metric.get_params()["verbose"],
              metric.critic_.n_members == metric.n_critics * metric.n_fits_)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    _, best, first_reference, verbose, real_ensemble = result.stdout.split()
    assert best == "0" and first_reference.startswith("prior_")
    # the file stores its real parameters (#27.5)
    assert verbose == "0" and real_ensemble == "True"


def test_pretrained_file_is_a_small_safe_model_file():
    from importlib import resources

    from sklearn_tcm import load

    path = resources.files("sklearn_tcm.learned_metric.pretrained") / "default.tcm"
    assert path.stat().st_size < 5 * 2**20
    with resources.as_file(path) as file:
        assert isinstance(load(file), LearnedMetricClustering)
    # a fresh estimator on each call
    assert pretrained_metric() is not pretrained_metric()
