"""Benchmark of LearnedMetricClustering: clustering data never seen, with k unknown.

Each independent fit (``--seeds``, one ``random_state`` each) learns the
metric with default settings on classes 0-4 of sklearn's digits and of the
MNIST test set and on objects 0-14 of COIL-20 (references of three
dimensions; files that are absent are left out). Nothing evaluated was
seen in training:

* tasks (``--tasks`` per dataset and fit, 2-10 classes, 20-60 points per
  class, imbalance 0.5): ``digits_unseen`` / ``mnist_unseen`` (classes
  5-9), ``coil20_unseen`` (objects 15-19), ``usps`` (all classes; another
  dataset), Gaussian ``blobs`` (8-D) and ``moons`` (two half-moons plus 0-3
  blobs);
* every set of the clustering benchmark suite ``clustbench_dev.npz``
  (batteries fcps, graves, sipu; subsampled to 3 000 points): no battery
  was in training, which is stricter than leaving one battery out; scored
  on the points the reference does not call noise, rows per battery and
  ``suite`` for all 38;
* whole datasets: ``mnist_test_whole`` (10 000 images) and ``usps_whole``
  (9 298), 10 classes, k unknown.

Methods, all with k unknown except ``kmeans_true_k``: ``evolve`` (the
default search), ``select`` (the critic's pick of the classical pool),
``evolve_untrained`` (the same search under an untrained critic ensemble:
what the learning buys), ``evolve_caution<c>`` and ``select_caution<c>``
(the same fitted ensemble with the other ``caution``: ``CAUTION`` when the
model's is 0, else 0, the mean score), ``evolve_one_critic`` (only the
first critic: no ensemble) and ``evolve_trust<t>`` (the search with the
other trust region: ``TRUST_REGION`` when the model's is 0, else 0), k-means with
the true k, k-means with k in [2, 10] chosen by silhouette, and HDBSCAN
(min_cluster_size 5, on the preprocessed points; noise counted as one more
cluster). Reported: ACC, NMI, ARI, signed and absolute k error, the rate
at which the search's result scores above the truth under the same score
(``beats_truth_rate``), predict seconds, and fit seconds with peak memory.
Values are means over fits; ``std`` is the spread over fits (the spread over
tasks is in the JSON's ``task_std``).

Run ``python benchmarks/bench_lmc.py --seeds 3 --jobs 2`` (``--smoke`` for a
tiny run); ``--jobs`` runs fits in parallel processes with one torch thread
each.
"""

import copy
import os
import time

import numpy as np
import torch
from _harness import Recorder, kmeans_silhouette, load_dataset, parse_args, peak_rss_mb, timer
from joblib import Parallel, delayed
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.datasets import make_blobs, make_moons
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from train_pretrained import load_clustbench

from sklearn_tcm import CriticClustering, LearnedMetricClustering, clustering_accuracy
from sklearn_tcm.datasets import sample_tasks
from sklearn_tcm.learned_metric import with_untrained_critic
from sklearn_tcm.learned_metric.adversarial import beats_truth
from sklearn_tcm.learned_metric.critic import CriticEnsemble
from sklearn_tcm.learned_metric.tasks import preprocess_task

NMI_AVERAGE = "arithmetic"
SUITE_POINTS = 3000
#: The caution of the ``*_caution`` rows when the model's own is 0.
CAUTION = 1.0
SMOKE_FIT = dict(n_tasks=6, synthetic_tasks=3, gae_epochs=1, critic_epochs=3,
                 adversarial_rounds=1, adversarial_tasks=2)


def quality(y, labels):
    """ACC, NMI, ARI and k error on the points the reference does not call noise."""
    keep = y >= 0
    y, labels = y[keep], labels[keep]
    k_error = np.unique(labels).size - np.unique(y).size
    return {
        "acc": clustering_accuracy(y, labels),
        "nmi": normalized_mutual_info_score(y, labels, average_method=NMI_AVERAGE),
        "ari": adjusted_rand_score(y, labels),
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


def task_sets(name, data, n_tasks, seed):
    """List of (X, y) test tasks of a setting."""
    rng = np.random.default_rng(seed)
    if name == "moons":
        return [moons_task(rng) for _ in range(n_tasks)]
    if name == "blobs":
        X, y = make_blobs(n_samples=4000, centers=10, n_features=8, cluster_std=1.5,
                          random_state=seed)
    else:
        X, y = data
    if name in ("digits_unseen", "mnist_unseen"):
        X, y = X[y >= 5], y[y >= 5]
    if name == "coil20_unseen":
        X, y = X[y >= 15], y[y >= 15]
    k_high = min(10, np.unique(y).size)
    return [(task.X, task.y) for task in sample_tasks(
        X, y, n_tasks, k_range=(2, k_high), size_range=(20, 60), imbalance=0.5,
        random_state=seed)]


def suite_sets(seed, smoke=False):
    """``[(name, X, y)]`` of the benchmark suite's sets, subsampled to ``SUITE_POINTS``."""
    suite = load_clustbench()
    names = sorted(suite)[:2] if smoke else sorted(suite)
    rng = np.random.default_rng(seed)
    out = []
    for name in names:
        X, y = suite[name]
        if X.shape[0] > SUITE_POINTS:
            keep = np.sort(rng.choice(X.shape[0], SUITE_POINTS, replace=False))
            X, y = X[keep], y[keep]
        out.append((name, X, y))
    return out


def one_critic(model):
    """A copy of a fitted metric that keeps only the first critic of its ensemble."""
    single = copy.deepcopy(model)
    ensemble = CriticEnsemble(model.gae_.embedding_size, tuple(model.critic_hidden), 1)
    ensemble.members[0].load_state_dict(model.critic_.members[0].state_dict())
    single.critic_ = ensemble.eval()
    return single


def variants(model, seed):
    """The searches compared: name -> (fitted metric, CriticClustering's search)."""
    caution = CAUTION if model.caution == 0 else 0.0
    untrained = with_untrained_critic(model, random_state=seed)
    return {
        "evolve": (model, "evolve"),
        "select": (model, "select"),
        "select_untrained": (untrained, "select"),
        "evolve_untrained": (untrained, "evolve"),
        f"evolve_caution{caution:g}": (copy.deepcopy(model).set_params(caution=caution),
                                       "evolve"),
        f"select_caution{caution:g}": (copy.deepcopy(model).set_params(caution=caution),
                                       "select"),
        "evolve_one_critic": (one_critic(model), "evolve"),
    }


def evaluate(recorder, datasets, X, y, searches, seed, run, whole=False):
    """Every method on one dataset, recorded under each name of ``datasets``.

    ``whole`` records one value per fit.
    """
    datasets = (datasets,) if isinstance(datasets, str) else datasets

    def add(method, **metrics):
        for dataset in datasets:
            if whole:
                recorder.add(dataset, method, **metrics)
            else:
                recorder.add_task(dataset, method, run, **metrics)

    for method, (metric, mode) in searches.items():
        with timer() as t:
            clusterer = CriticClustering(metric, search=mode, random_state=seed).fit(X)
        labels, score = clusterer.labels_, clusterer.score_
        truth_score = metric.score_clustering(X, y)
        keep = y >= 0
        beats = beats_truth(score, truth_score, labels[keep], y[keep])
        add(method, **quality(y, labels), beats_truth_rate=float(beats),
            predict_seconds=t["seconds"])
    k = np.unique(y[y >= 0]).size
    X_pre = preprocess_task(X, random_state=seed)
    add("kmeans_true_k", **quality(y, KMeans(k, n_init=10, random_state=seed).fit_predict(X)))
    add("kmeans_silhouette_k", **quality(y, kmeans_silhouette(X_pre if whole else X, seed)))
    add("hdbscan", **quality(y, HDBSCAN(min_cluster_size=5, copy=True).fit_predict(X_pre)))


def references(smoke):
    digits = load_dataset("digits")
    found = [digits] + ([] if smoke else [load_dataset("mnist_test")])
    X_train = [X[y < 5] for X, y in found if X is not None]
    y_train = [y[y < 5] for X, y in found if X is not None]
    coil = None if smoke else load_dataset("coil20")
    if coil is not None:
        X_train.append(coil[0][coil[1] < 15])
        y_train.append(coil[1][coil[1] < 15])
    if smoke:
        X_train, y_train = [X_train[0][:300]], [y_train[0][:300]]
    return X_train, y_train


def run_seed(seed, args, n_tasks, smoke):
    """One independent fit and everything measured with it (a Recorder)."""
    recorder = Recorder("bench_lmc", args, "")
    X_train, y_train = references(smoke)
    with timer() as t:
        model = LearnedMetricClustering(random_state=seed, device=args.device,
                                        **(SMOKE_FIT if smoke else {})).fit(X_train, y_train)
    # the fit's row is labelled with what the model is: its defaults' search mode
    recorder.add("references", "fit", fit_seconds=t["seconds"],
                 peak_rss_mb=peak_rss_mb(), rounds=len(model.history_) - 1)
    for record in model.history_:
        print(f"seed {seed}", {key: round(value, 3) if isinstance(value, float) else value
                               for key, value in record.items()}, flush=True)
        for metric in ("beats_truth_rate", "search_nmi", "mrr"):
            recorder.add(f"validation_round_{record['round']}", "fit",
                         **{metric: record[metric]})
    searches = variants(model, seed)
    settings = ["digits_unseen", "mnist_unseen", "coil20_unseen", "usps", "blobs", "moons"]
    data = {name: load_dataset(name) for name in ("digits", "mnist_test", "coil20", "usps")}
    sources = {"digits_unseen": "digits", "mnist_unseen": "mnist_test",
               "coil20_unseen": "coil20", "usps": "usps"}
    for dataset in settings[:1] if smoke else settings:
        source = data.get(sources.get(dataset))
        if dataset in sources and source is None:
            recorder.note(f"{dataset}: data file not found, skipped")
            continue
        for X, y in task_sets(dataset, source, n_tasks, 100 + seed):
            evaluate(recorder, dataset, X, y, searches, seed, run=seed)
        print(f"seed {seed}: {dataset} done", flush=True)
    names = []
    for name, X, y in suite_sets(seed, smoke):
        names.append(name)  # evaluated once, recorded under its battery and the suite
        evaluate(recorder, (name.split("__")[0], "suite"), X, y, searches, seed, run=seed)
    if names:
        print(f"seed {seed}: suite done", flush=True)
    if not smoke:
        for dataset, source in (("mnist_test_whole", "mnist_test"), ("usps_whole", "usps")):
            if data[source] is not None:
                evaluate(recorder, dataset, *data[source], searches, seed, run=seed,
                         whole=True)
                print(f"seed {seed}: {dataset} done", flush=True)
    return recorder


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=3, extra=[
        ("--tasks", dict(type=int, default=12, help="test tasks per dataset and fit")),
        ("--jobs", dict(type=int, default=1, help="fits run in parallel processes")),
    ])
    smoke = args.smoke
    n_tasks = 2 if smoke else args.tasks
    budget = "smoke" if smoke else f"defaults; {n_tasks} test tasks per dataset and fit"
    recorder = Recorder("bench_lmc", args, budget)
    started = time.perf_counter()
    if args.jobs > 1:
        os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the worker processes
        torch.set_num_threads(1)  # and recorded as the threads of every record
    parts = Parallel(n_jobs=args.jobs)(
        delayed(run_seed)(seed, args, n_tasks, smoke) for seed in range(args.seeds))
    for part in parts:
        recorder.merge(part)
    if args.jobs > 1:
        recorder.note(f"{args.jobs} fits ran at once in separate processes with one torch "
                      "thread each (fit and predict times are those of one shared core).")
    recorder.note(f"Whole benchmark: {time.perf_counter() - started:.0f} s.")
    recorder.write(
        "LearnedMetricClustering: clustering unseen data with k unknown",
        ["acc", "nmi", "ari", "k_error", "abs_k_error", "beats_truth_rate", "fit_seconds",
         "predict_seconds", "peak_rss_mb", "rounds", "search_nmi", "mrr"],
        preamble=(
            "Metric learned with default settings on digits + MNIST-test classes 0-4 and "
            "COIL-20 objects 0-14. Tasks: k in [2, min(10, classes)], 20-60 points per class, "
            "imbalance 0.5. Suite sets (fcps, graves, sipu, and `suite` = all 38) were not "
            f"in training (subsampled to {SUITE_POINTS} points; noise points of the reference "
            "left out of the scores). `*_whole`: the whole dataset, one value per fit. "
            f"NMI average_method={NMI_AVERAGE!r}. `beats_truth_rate`: share of searches whose "
            "labelling scores above the truth under the same metric. "
            "`validation_round_r`: the fit's validation figures after round r (0 = warm start)."
        ),
    )
    return recorder


if __name__ == "__main__":
    main()
