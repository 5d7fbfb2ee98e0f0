"""Benchmark of the learned clustering metric (the critic) against classical indices.

Protocol (user guide, learned metric): on held-out tasks, the candidate set is the truth plus
the seed-negative families; *best* is the share of tasks where the truth
scores highest, *top3* where it is among the three highest, *mrr* the mean
reciprocal rank of the truth; ``beats_truth_rate`` per family is the share
of that family's candidates scored at least as high as the truth.

Settings:
(a) ``digits_unseen``: critic trained on digits classes 0-4, tested on tasks
    of classes 5-9;
(b) ``mnist_unseen``: the same with the MNIST test set;
(c) transfer: critic trained on digits + MNIST classes 0-4 (two references of
    different dimensions), tested on USPS, COIL-20 and synthetic blobs.
Scores compared: ``objective="rank"``, ``objective="wgan"``, silhouette,
Calinski-Harabasz and Davies-Bouldin (negated: lower is better).

Run ``python benchmarks/bench_critic.py`` (``--smoke`` for a tiny run).
"""

import numpy as np
from _harness import Recorder, load_dataset, parse_args, timer
from sklearn.datasets import make_blobs
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from sklearn_tcm import LearnedMetricClustering
from sklearn_tcm.datasets import sample_tasks
from sklearn_tcm.learned_metric.critic import ranking_metrics
from sklearn_tcm.learned_metric.tasks import make_task

INDICES = {
    "silhouette": silhouette_score,
    "calinski_harabasz": calinski_harabasz_score,
    "neg_davies_bouldin": lambda X, labels: -davies_bouldin_score(X, labels),
}


def _index_scores(index, X, candidates):
    return [index(X, labels) if np.unique(labels).size > 1 else -np.inf
            for labels in candidates]


def test_tasks(X, y, n_tasks, seed, max_points=300):
    k_high = min(10, np.unique(y).size)
    specs = sample_tasks(X, y, n_tasks, k_range=(2, k_high), size_range=(20, 60),
                         imbalance=0.5, random_state=seed)
    return [make_task(task.X, task.y, max_points, seed + i) for i, task in enumerate(specs)]


def evaluate(recorder, dataset, tasks, critics, seconds, suffix=""):
    """Ranking metrics of the critics and the classical indices on ``tasks``.

    Methods are recorded as the critic's / index's name plus ``suffix``.
    """
    scorers = {name: (lambda X, c, m=model: m.score_clustering(X, c))
               for name, model in critics.items()}
    scorers.update({name + suffix: (lambda X, c, f=index: _index_scores(f, X, c))
                    for name, index in INDICES.items()})
    for method, scorer in scorers.items():
        per_task = [np.asarray(scorer(task["X"], task["labels"])) for task in tasks]
        metrics = ranking_metrics(per_task)
        beats = {}
        for task, scores in zip(tasks, per_task):
            for family, score in zip(task["families"][1:], scores[1:]):
                beats.setdefault(family, []).append(score >= scores[0])
        recorder.add(dataset, method, seconds=seconds.get(method), **metrics,
                     beats_truth_rate=float(np.mean([b for v in beats.values() for b in v])))
        for family, values in sorted(beats.items()):
            recorder.add(dataset, method, **{f"beats_truth_rate_{family}": np.mean(values)})


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=1)
    smoke = args.smoke
    # the ranking protocol measures the warm-started critic (adversarial rounds
    # serve the search and are measured by bench_lmc.py)
    fit_params = dict(adversarial_rounds=0, adversarial_tasks=20)  # 5 validation searches
    if smoke:
        fit_params.update(n_tasks=6,
                          synthetic_tasks=3, gae_epochs=1, critic_epochs=3)
    n_test = 4 if smoke else 60
    budget = "smoke" if smoke else (
        "defaults (n_tasks=200, synthetic_tasks=200, gae_epochs=20, critic_epochs<=150), "
        "adversarial_rounds=0")
    recorder = Recorder("bench_critic", args, budget)
    digits = load_dataset("digits")
    mnist = None if smoke else load_dataset("mnist_test")
    for seed in range(args.seeds):
        settings = [("digits_unseen", [digits], digits)]
        if mnist is not None:
            settings.append(("mnist_unseen", [mnist], mnist))
        for dataset, train_sets, test_set in settings:
            X_train = [X[y < 5] for X, y in train_sets]
            y_train = [y[y < 5] for _, y in train_sets]
            X_test, y_test = test_set
            if smoke:
                X_train, y_train = [X_train[0][:400]], [y_train[0][:400]]
            critics, seconds = {}, {}
            for objective in ("rank", "wgan"):
                with timer() as t:
                    critics[objective] = LearnedMetricClustering(
                        objective=objective, random_state=seed, device=args.device,
                        **fit_params).fit(X_train, y_train)
                seconds[objective] = t["seconds"]
                recorder.add(dataset, objective, fit_seconds=t["seconds"],
                             validation_best=critics[objective].validation_["best"])
            tasks = test_tasks(X_test[y_test >= 5], y_test[y_test >= 5], n_test, 1000 + seed)
            evaluate(recorder, dataset, tasks, critics, seconds)
            print(f"{dataset} seed {seed} done", flush=True)
        if not smoke and mnist is not None:
            # (c) transfer: trained on digits and MNIST classes 0-4
            critics, seconds = {}, {}
            for objective in ("rank", "wgan"):
                with timer() as t:
                    critics[objective] = LearnedMetricClustering(
                        objective=objective, random_state=seed, device=args.device,
                        **fit_params,
                    ).fit([digits[0][digits[1] < 5], mnist[0][mnist[1] < 5]],
                          [digits[1][digits[1] < 5], mnist[1][mnist[1] < 5]])
                seconds[objective] = t["seconds"]
            for name in ("usps", "coil20"):
                data = recorder.load(name)
                if data is None:
                    continue
                evaluate(recorder, name, test_tasks(*data, n_test, 2000 + seed), critics,
                         seconds)
            Xb, yb = make_blobs(n_samples=3000, centers=10, n_features=8, cluster_std=1.5,
                                random_state=seed)
            evaluate(recorder, "blobs", test_tasks(Xb, yb, n_test, 3000 + seed), critics,
                     seconds)
    recorder.write(
        "Learned clustering metric: ranking the truth among competitors",
        ["best", "top3", "mrr", "beats_truth_rate", "fit_seconds", "validation_best"],
        preamble=(
            "Test tasks: k in [2, min(10, classes)], 20-60 points per class, imbalance 0.5, "
            "truth + seed negatives (near-truth ARI > 0.95 and duplicates removed). "
            "Per-family beat rates are in the JSON records (beats_truth_rate_<family>)."
        ),
    )
    return recorder


if __name__ == "__main__":
    main()
