"""Benchmark of LearnedMetricClustering: clustering new data with k unknown.

The critic is learned with default settings on classes 0-4 of sklearn's
digits and of the MNIST test set, plus all 20 objects of COIL-20 (three
references of different dimensions: five classes alone are too few to learn
tasks with up to 10 clusters; files that are absent are left out). Test
tasks are never seen in training:

* ``digits_unseen`` / ``mnist_unseen``: tasks drawn from classes 5-9
  (k in [2, 5], 20-60 points per class, random balance);
* transfer sets: ``usps`` (when its file exists), Gaussian
  ``blobs`` (8-D, k in [2, 10]) and ``moons`` (2-D, two interleaved
  half-moons plus 0-3 blobs).

Methods, all with k unknown except ``kmeans_true_k``: the learned metric
with ``search="evolve"`` and ``search="select"``; k-means with the true k;
k-means with k in [2, 10] chosen by silhouette; HDBSCAN (min_cluster_size
= 5, noise as one more cluster). Reported: ACC, NMI, mean signed and
absolute k error, the rate at which the search's result scores above the
truth under the critic, and timings (fit with defaults; predict on 1 000
and 10 000 MNIST points, with peak memory).

Run ``python benchmarks/bench_lmc.py`` (``--smoke`` for a tiny run).
"""

import argparse

import numpy as np
from _harness import Recorder, kmeans_silhouette, load_dataset, parse_args, peak_rss_mb, timer
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.datasets import make_blobs, make_moons
from sklearn.metrics import normalized_mutual_info_score

from sklearn_tcm import LearnedMetricClustering, clustering_accuracy
from sklearn_tcm.datasets import sample_tasks
from sklearn_tcm.learned_metric.tasks import preprocess_task

NMI_AVERAGE = "arithmetic"


def quality(y, labels):
    k_error = np.unique(labels).size - np.unique(y).size
    return {
        "acc": clustering_accuracy(y, labels),
        "nmi": normalized_mutual_info_score(y, labels, average_method=NMI_AVERAGE),
        "k_error": k_error,
        "abs_k_error": abs(k_error),
    }


def moons_task(rng):
    X, y = make_moons(n_samples=int(rng.integers(80, 200)), noise=0.06,
                      random_state=int(rng.integers(2**31 - 1)))
    n_blobs = int(rng.integers(0, 4))
    if n_blobs:
        centers = rng.uniform(-1.5, 3.0, size=(n_blobs, 2)) + [0, 1.5]
        Xb, yb = make_blobs(n_samples=40 * n_blobs, centers=centers, cluster_std=0.12,
                            random_state=int(rng.integers(2**31 - 1)))
        X, y = np.r_[X, Xb], np.r_[y, yb + 2]
    return X, y


def test_sets(name, data, n_tasks, seed):
    """List of (X, y) test tasks of a setting."""
    rng = np.random.default_rng(seed)
    if name == "moons":
        return [moons_task(rng) for _ in range(n_tasks)]
    if name == "blobs":
        X, y = make_blobs(n_samples=4000, centers=10, n_features=8, cluster_std=1.5,
                          random_state=seed)
    else:
        X, y = data
    if name.endswith("_unseen"):
        X, y = X[y >= 5], y[y >= 5]
    k_high = min(10, np.unique(y).size)
    return [(task.X, task.y) for task in sample_tasks(
        X, y, n_tasks, k_range=(2, k_high), size_range=(20, 60), imbalance=0.5,
        random_state=seed)]


def evaluate(recorder, dataset, tasks, model, seed):
    for X, y in tasks:
        X_pre = preprocess_task(X)
        for search in ("evolve", "select"):
            with timer() as t:
                labels, score = model.set_params(search=search).predict(X, return_score=True)
            truth_score = model.score_clustering(X, y)
            recorder.add(dataset, search, seconds=t["seconds"], **quality(y, labels),
                         beats_truth_rate=float(score > truth_score),
                         predict_seconds=t["seconds"])
        k = np.unique(y).size
        recorder.add(dataset, "kmeans_true_k", **quality(
            y, KMeans(k, n_init=10, random_state=seed).fit_predict(X)))
        recorder.add(dataset, "kmeans_silhouette_k", **quality(y, kmeans_silhouette(X, seed)))
        recorder.add(dataset, "hdbscan", **quality(
            y, HDBSCAN(min_cluster_size=5, copy=True).fit_predict(X_pre)))
    model.set_params(search="evolve")


def time_predict(recorder, model, mnist, sizes):
    X, y = mnist
    for n in sizes:
        rng = np.random.default_rng(n)
        index = rng.choice(X.shape[0], size=min(n, X.shape[0]), replace=False)
        with timer() as t:
            labels = model.predict(X[index])
        recorder.add(f"mnist_{n}", "evolve", seconds=t["seconds"],
                     predict_seconds=t["seconds"], peak_rss_mb=peak_rss_mb(),
                     **quality(y[index], labels))


def main(argv=None):
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--save-model", default=None,
                       help="save the fitted model (sklearn_tcm.load reads it back)")
    known, rest = extra.parse_known_args(argv)
    args = parse_args(__doc__.splitlines()[0], rest, default_seeds=1)
    smoke = args.smoke
    fit_params = dict(n_tasks=6,
                      synthetic_tasks=3, gae_epochs=1, critic_epochs=3, adversarial_tasks=2,
                      validation_searches=1, n_generations=2) if smoke else {}
    n_test = 2 if smoke else 20
    budget = "smoke" if smoke else "defaults; 20 test tasks per dataset"
    recorder = Recorder("bench_lmc", args, budget)
    digits = load_dataset("digits")
    mnist = None if smoke else load_dataset("mnist_test")
    for seed in range(args.seeds):
        references = [digits] + ([mnist] if mnist is not None else [])
        X_train = [X[y < 5] for X, y in references]
        y_train = [y[y < 5] for _, y in references]
        coil = None if smoke else load_dataset("coil20")
        if coil is not None:
            X_train.append(coil[0])
            y_train.append(coil[1])
        if smoke:
            X_train, y_train = [X_train[0][:300]], [y_train[0][:300]]
        with timer() as t:
            model = LearnedMetricClustering(random_state=seed, device=args.device,
                                            verbose=0, **fit_params).fit(X_train, y_train)
        recorder.add("references", "evolve", fit_seconds=t["seconds"],
                     peak_rss_mb=peak_rss_mb())
        if known.save_model:
            model.save(known.save_model)
        for record in model.history_:
            print({key: round(value, 3) for key, value in record.items()}, flush=True)
        settings = [("digits_unseen", digits)]
        if mnist is not None:
            settings.append(("mnist_unseen", mnist))
        if not smoke:
            settings += [("usps", load_dataset("usps"))]
            settings += [("blobs", None), ("moons", None)]
        for dataset, data in settings:
            if data is None and dataset not in ("blobs", "moons"):
                recorder.note(f"{dataset}: data file not found, skipped")
                continue
            evaluate(recorder, dataset, test_sets(dataset, data, n_test, 100 + seed),
                     model, seed)
            print(f"{dataset} seed {seed} done", flush=True)
        if mnist is not None:
            time_predict(recorder, model, mnist, (1000, 10000))
    recorder.write(
        "LearnedMetricClustering: clustering unseen data with k unknown",
        ["acc", "nmi", "k_error", "abs_k_error", "beats_truth_rate", "fit_seconds",
         "predict_seconds", "peak_rss_mb"],
        preamble=(
            "Critic learned with default settings on digits + MNIST-test classes 0-4 and "
            "all of COIL-20 (so COIL-20 is not a test set here). "
            "Test tasks: k in [2, min(10, classes)], 20-60 points per class, imbalance 0.5. "
            f"NMI average_method={NMI_AVERAGE!r}. `beats_truth_rate`: share of searches whose "
            "labelling the critic scores above the truth."
        ),
    )
    return recorder


if __name__ == "__main__":
    main()
