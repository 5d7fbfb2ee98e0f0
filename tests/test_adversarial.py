"""Adversarial training and the conservative critic ensemble (learned_metric stages)."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from sklearn_tcm import LearnedMetricClustering
from sklearn_tcm._torch import seeded_torch
from sklearn_tcm.learned_metric import adversarial
from sklearn_tcm.learned_metric.adversarial import (
    add_search_negatives,
    beats_truth,
    run_rounds,
)
from sklearn_tcm.learned_metric.critic import CriticEnsemble
from sklearn_tcm.learned_metric.search import SearchResult
from sklearn_tcm.learned_metric.tasks import make_task


def _result(labels, elites):
    return SearchResult(labels=labels, score=0.0, n_clusters=int(labels.max()) + 1,
                        pool_best_score=0.0, n_evaluations=1, elites=elites)


class _CountingGAE:
    """Stands in for the graph auto-encoder: one embedding row per labelling."""

    n_graph_scalars = 5  # the graph summary only

    def embed(self, features, adjacency, scalars, inplace=False):
        return torch.zeros(features.shape[0], 3)


def test_every_distinct_elite_far_from_the_truth_becomes_a_negative():
    X, y = make_blobs(90, centers=3, random_state=0)
    task = make_task(X, y, seed=0)
    truth = task["labels"][0]
    n_before = task["labels"].shape[0]
    rng = np.random.default_rng(0)
    near = truth.copy()
    near[:2] = (near[:2] + 1) % 3                      # ARI > 0.9: not a negative
    far_a = rng.integers(0, 3, size=truth.size)        # distinct, far
    far_b = np.where(truth == 2, 1, truth)             # two classes merged: distinct, far
    already = task["labels"][1]                        # already a candidate
    tasks, embeddings = [task], [torch.zeros(n_before, 3)]
    n_new = add_search_negatives(tasks, embeddings,
                                 {0: _result(far_a, [far_a, near, far_b, already, far_b])},
                                 _CountingGAE(), "cpu")
    assert adjusted_rand_score(truth, near) >= adversarial.NEAR_TRUTH_ARI
    assert n_new == 2
    assert task["labels"].shape[0] == n_before + 2 == embeddings[0].shape[0]
    assert task["families"][-2:] == ["search", "search"]
    np.testing.assert_allclose(task["weights"][-1], 1 - adjusted_rand_score(truth, far_b))


def test_beats_truth_ignores_the_truth_itself_and_rounding():
    truth = np.array([0, 0, 1, 1])
    assert not beats_truth(5.0, 1.0, np.array([1, 1, 0, 0]), truth)   # the truth renamed
    assert not beats_truth(1.0 + 1e-9, 1.0, np.array([0, 1, 0, 1]), truth)
    assert beats_truth(1.1, 1.0, np.array([0, 1, 0, 1]), truth)


def _scripted_rounds(monkeypatch, rates, nmis, max_rounds=6, searched=None):
    # the scripted rate is the search's; the clusterer's pool is never fooled here
    records = iter([{"beats_truth_rate": r, "search_nmi": 0.0, "pool_nmi": n,
                     "pool_beats_truth_rate": 0.0, "mrr": 0.5} for r, n in zip(rates, nmis)])
    monkeypatch.setattr(adversarial, "validate_round", lambda *a, **k: dict(next(records)))

    def search_tasks(gae, critic, items, options, *args, **kwargs):
        if searched is not None:
            searched.append(options)
        return [SimpleNamespace(labels=np.zeros(3, dtype=int), elites=[])] * len(items)

    monkeypatch.setattr(adversarial, "search_tasks", search_tasks)
    monkeypatch.setattr(adversarial, "_pool_all", lambda gae, critic, items, *a: [
        (np.zeros((0, 3), dtype=int), np.zeros(0), 0.0)] * len(items))
    monkeypatch.setattr(adversarial, "add_negatives", lambda *a, **k: 5)
    critic = CriticEnsemble(4, (3,), 1)
    trained = []

    def train(critic, round_index):
        with torch.no_grad():  # make each round's weights recognisable
            critic.members[0].net[-1].bias.fill_(round_index)
        trained.append(round_index)
        return [{"unit": "epoch", "iteration": 1, "loss": 0.0, "skipped": 0, "validation": None}]

    tasks = {"train": [{}] * 10, "validation": [{}] * 4}
    history, critic_history, kept = run_rounds(
        None, critic, tasks, {"train": [], "validation": []}, train,
        options={"population_size": 4, "search": "select", "trust_region": 0.7,
                 "caution": 0.0},
        max_rounds=max_rounds, n_search_tasks=3,
        n_validation_searches=2, device="cpu", rng=np.random.default_rng(0))
    return history, critic_history, kept, critic, trained


def test_rounds_stop_when_the_beats_truth_rate_stops_falling(monkeypatch):
    history, critic_history, kept, critic, trained = _scripted_rounds(
        monkeypatch, rates=[0.9, 0.6, 0.4, 0.45, 0.4, 0.1],
        nmis=[0.5, 0.6, 0.8, 0.7, 0.7, 0.9])
    # two rounds without a new lowest rate end the rounds (the 0.1 is never reached)
    assert adversarial.ROUND_PATIENCE == 2
    assert trained == [0, 1, 2, 3, 4] and [h["round"] for h in history] == [0, 1, 2, 3, 4]
    assert history[-1]["stopped"] == "the beats-truth rate stopped falling"
    assert [h["n_new_negatives"] for h in history] == [0, 5, 5, 5, 5]
    assert {r["round"] for r in critic_history} == {0, 1, 2, 3, 4}
    # the kept round is the best pool NMI (round 2), and its weights are loaded
    assert kept["round"] == 2
    assert float(critic.members[0].net[-1].bias.detach()) == 2.0


def test_rounds_stop_at_the_cap(monkeypatch):
    searched = []
    history, *_ = _scripted_rounds(monkeypatch, rates=[0.9, 0.8, 0.7], nmis=[0.5] * 3,
                                   max_rounds=2, searched=searched)
    assert [h["round"] for h in history] == [0, 1, 2]
    assert history[-1]["stopped"] == "round cap reached"
    # the adversary evolves without predict's trust region and keeps its elites
    assert len(searched) == 2
    assert all(o["search"] == "evolve" and o["trust_region"] == 0.0 and o["n_elites"] == 4
               for o in searched)


def test_ensemble_penalises_disagreement():
    with seeded_torch(0):
        ensemble = CriticEnsemble(5, (8,), 3)
        embeddings = [torch.randn(20, 5) for _ in range(4)]
    ensemble.standardise(embeddings)
    member_scores = ensemble.member_scores(torch.cat(embeddings))
    torch.testing.assert_close(member_scores.mean(dim=0), torch.zeros(3), atol=1e-5,
                               rtol=0)
    torch.testing.assert_close(member_scores.std(dim=0), torch.ones(3), atol=1e-5, rtol=0)
    x = embeddings[0]
    spread = ensemble.member_scores(x).std(dim=-1)
    torch.testing.assert_close(ensemble(x, 0.0) - ensemble(x, 2.0), 2 * spread)
    # one member: the score is that member's standardised score, whatever the caution
    one = CriticEnsemble(5, (8,), 1)
    torch.testing.assert_close(one(x, 1.0), one(x, 0.0))


@pytest.mark.slow
def test_adversarial_rounds_stop_the_search_beating_the_truth_on_easy_blobs():
    """A critic trained on tiny tasks is fooled by its search on easy blob sets; after
    adversarial rounds (which add the search's elites) it is fooled on fewer of them.

    ``adversarial_tasks=40`` gives the rounds 10 validation searches: with 10 tasks
    (2 validation searches) none beat the truth, the rounds stopped after the warm start
    and the test measured nothing.
    """
    X, y = make_blobs(600, centers=8, n_features=4, cluster_std=0.6, random_state=0)
    params = dict(n_tasks=20, synthetic_tasks=80, size_range=(15, 30), gae_epochs=3,
                  critic_epochs=60, adversarial_tasks=40,
                  random_state=0,
                  # under the conservative score
                  caution=1.0)
    beaten = {}
    for rounds in (0, 2):
        metric = LearnedMetricClustering(adversarial_rounds=rounds, **params).fit(X, y)
        beaten[rounds] = 0
        for seed in range(6):
            X_new, y_new = make_blobs(150, centers=3 + seed, n_features=5, cluster_std=0.5,
                                      random_state=20 + seed)
            # the unbounded search the rounds must withstand
            options = {**adversarial.training_search_options(metric, 10),
                       "search": "evolve", "trust_region": 0.0}
            search_seed = int(np.random.default_rng(metric._seed).integers(2**31 - 1))
            found = adversarial.search_dataset(X_new, metric.gae_, metric.critic_, options,
                                               torch.device("cpu"), search_seed)
            beaten[rounds] += beats_truth(metric.score_clustering(X_new, found.labels),
                                          metric.score_clustering(X_new, y_new),
                                          found.labels, y_new)
    assert metric.history_[1]["n_new_negatives"] > 0
    assert metric.history_[1]["beats_truth_rate"] < metric.history_[0]["beats_truth_rate"]
    assert beaten[0] >= 1 and beaten[2] < beaten[0]


def test_pool_finds_are_the_partitions_scored_above_the_truth_best_first():
    truth = np.array([0, 0, 1, 1])
    labels = np.array([[1, 1, 0, 0],   # the truth renamed: never a find
                       [0, 1, 0, 1],
                       [0, 0, 0, 1],
                       [0, 1, 1, 1]])
    scores = np.array([9.0, 2.0, 3.0, 0.5])
    finds = adversarial.pool_finds(labels, scores, truth_score=1.0, truth=truth)
    np.testing.assert_array_equal(np.stack(finds), labels[[2, 1]])
    assert len(adversarial.pool_finds(labels, scores, 1.0, truth, max_finds=2)) == 1
