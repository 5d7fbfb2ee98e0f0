"""CriticClustering, k unknown, against what users would run instead.

Methods: ``critic`` (:class:`~sklearn_tcm.CriticClustering` with the shipped
metric and its defaults), ``critic_untrained`` (the same clusterer under the
shipped metric with an untrained critic: the ablation),
``critic_without_genie`` (its candidates without Genie's), ``grid_pick`` (the
shipped metric's pick from the user-style grid of ``bench_user_grids.py``:
KMeans k 2-10, DBSCAN over eps, four linkages x k 2-10, HDBSCAN), HDBSCAN
with scikit-learn's defaults, k-means with the silhouette k (2-10), and,
*given the true k*, k-means and Genie (``genieclust``, where installed).
Figures: ``ari`` (noise points of the reference left out), ``k_error``
(found - true), ``abs_k_error`` (mean over a row's sets or tasks) and
``median_abs_k_error`` (their median; both then averaged over seeds), and
``seconds`` of the fit.

Datasets (each drawn or subsampled anew per seed; every method sees the
same points):

* ``suite``: the 38 sets of ``clustbench_dev.npz`` (fcps, graves, sipu;
  at most 5 000 points drawn uniformly, standardised); rows per battery and
  ``suite`` over all sets. The shipped metric saw these sets in training;
* ``images``: tasks of 2-5 classes of digits, MNIST-test, USPS (classes
  5-9: ``unseen``; 0-4: ``seen``) and COIL-20 (10-19 / 0-9), and the whole
  10-class sets (``whole``, COIL-20's 20 classes), preprocessed as the
  metric's tasks are (centred, at most 50 principal components);
* ``cases``: what a user checks first: three blobs (also standardised),
  anisotropic blobs (scikit-learn's example), two moons, two circles, a
  uniform square and a 5-D Gaussian (one cluster), four blobs plus a far
  outlier, 40 separated blobs (20 000 x 10);
* ``seeds``: the README's blobs (``make_blobs(300, centers=3, cluster_std=0.6,
  random_state=0)``) and the same with ``cluster_std=1``, standardised, with
  ``random_state`` 0-9: ``same_k`` = share of seeds giving the most common k;
* ``grids``: the datasets of ``bench_user_grids.py``: ``above_grid`` = 1 when
  the clusterer's partition scores at least as high as the grid's best-scored;
* ``scale``: fit time and peak memory of ``critic`` at n = 2 000, 100 000 and
  1 000 000 (10-D blobs), and ``predict`` of 20 000 x 2 000, each in a fresh
  process, one torch thread.

    OMP_NUM_THREADS=1 python benchmarks/bench_clusterer.py --seeds 3 --jobs 2
"""

import json
import subprocess
import sys
import time
import warnings

import numpy as np
from _harness import Recorder, kmeans_silhouette, load_dataset, parse_args
from bench_selection import IMAGE_SETS, reference_ari
from bench_user_grids import DATASETS as GRID_DATASETS
from bench_user_grids import grid_partitions
from bench_user_grids import make_dataset as make_grid_dataset
from joblib import Parallel, delayed
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.datasets import make_blobs, make_circles, make_moons
from sklearn.preprocessing import StandardScaler
from train_pretrained import load_clustbench

from sklearn_tcm import CriticClustering, pretrained_metric, sample_tasks
from sklearn_tcm.learned_metric import with_untrained_critic
from sklearn_tcm.learned_metric.candidates import FAMILIES
from sklearn_tcm.learned_metric.tasks import preprocess_task

SUITE_POINTS = 5000
CASES = ("blobs3", "blobs3_std", "aniso", "moons", "circles", "uniform", "gaussian",
         "outlier", "blobs40")
SCALE_SIZES = (2000, 100_000, 1_000_000)


def _genie(X, k):
    try:
        import genieclust
    except ImportError:
        return None
    return genieclust.Genie(n_clusters=k, verbose=False).fit_predict(X)


def run_methods(X, y, seed, metric, untrained, with_grid=True):
    """``{method: (labels, seconds)}`` of every method on one dataset."""
    k_true = max(1, np.unique(y[y >= 0]).size)
    without_genie = [family for family in FAMILIES if family != "genie"]
    runs = {
        "critic": lambda: CriticClustering(metric, random_state=seed).fit(X).labels_,
        "critic_untrained": lambda: CriticClustering(untrained, random_state=seed)
        .fit(X).labels_,
        "critic_without_genie": lambda: CriticClustering(
            metric, families=without_genie, random_state=seed).fit(X).labels_,
        "hdbscan": lambda: HDBSCAN(copy=True).fit_predict(X),
        "kmeans_silhouette": lambda: kmeans_silhouette(X, seed) if X.shape[0] <= 20000
        else None,
        "kmeans_true_k": lambda: KMeans(k_true, n_init=10, random_state=seed).fit_predict(X),
        "genie_true_k": lambda: _genie(X, k_true),
    }
    if with_grid:
        def grid_pick():
            pool = grid_partitions(X, seed)
            labellings = np.stack([labels for _, labels in pool])
            return labellings[int(np.argmax(metric.score_clustering(X, labellings)))]
        runs["grid_pick"] = grid_pick
    out = {}
    for method, run in runs.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            labels = run()
        if labels is not None:
            out[method] = (np.asarray(labels), time.perf_counter() - start)
    return out


def figures(y, labels):
    k_true = max(1, np.unique(y[y >= 0]).size)
    k_found = max(1, np.unique(labels[labels >= 0]).size)
    return {"ari": reference_ari(y, labels), "k_error": k_found - k_true,
            "abs_k_error": abs(k_found - k_true)}


def suite_sets(seed, smoke):
    suite = load_clustbench()
    names = sorted(suite)[:2] if smoke else sorted(suite)
    rng = np.random.default_rng(seed)
    for name in names:
        X, y = suite[name]
        if X.shape[0] > SUITE_POINTS:
            keep = np.sort(rng.choice(X.shape[0], SUITE_POINTS, replace=False))
            X, y = X[keep], y[keep]
        yield name, StandardScaler().fit_transform(X), y


def image_sets(seed, n_tasks, smoke):
    for name, first_unseen in list(IMAGE_SETS.items())[:1 if smoke else None]:
        data = load_dataset(name)
        if data is None:
            continue
        X, y = data
        for part, mask in (("unseen", y >= first_unseen), ("seen", y < first_unseen)):
            for i, task in enumerate(sample_tasks(X[mask], y[mask], n_tasks, k_range=(2, 5),
                                                  size_range=(20, 60), imbalance=0.5,
                                                  random_state=seed)):
                yield (f"{name} {part}", preprocess_task(task.X, random_state=seed + i),
                       task.y)
        if not smoke:
            yield f"{name} whole", preprocess_task(X, random_state=seed), y


def make_case(name, seed):
    rng = np.random.default_rng(seed)
    if name.startswith("blobs3"):
        X, y = make_blobs(400, centers=3, cluster_std=0.6, random_state=seed)
        return (StandardScaler().fit_transform(X), y) if name.endswith("_std") else (X, y)
    if name == "aniso":
        X, y = make_blobs(1500, random_state=170 + seed)
        return StandardScaler().fit_transform(X @ np.array([[0.6, -0.6], [-0.4, 0.8]])), y
    if name == "moons":
        return make_moons(500, noise=0.05, random_state=seed)
    if name == "circles":
        return make_circles(500, factor=0.5, noise=0.05, random_state=seed)
    if name == "uniform":
        return rng.uniform(size=(500, 2)), np.zeros(500, dtype=int)
    if name == "gaussian":
        return rng.normal(size=(500, 5)), np.zeros(500, dtype=int)
    if name == "outlier":
        X, y = make_blobs(400, centers=4, cluster_std=0.5, random_state=seed)
        far = X.max(axis=0) + 20 * X.std(axis=0)
        return np.vstack([X, far]), np.append(y, -1)
    X, y = make_blobs(20000, centers=40, n_features=10, random_state=seed)
    return X, y


def one_seed(seed, args):
    recorder = Recorder("bench_clusterer", args, "")
    metric = pretrained_metric()
    untrained = with_untrained_critic(metric, random_state=seed)

    def evaluate(group, rows, name, X, y, with_grid=True):
        results = run_methods(X, y, seed, metric, untrained, with_grid)
        for method, (labels, seconds) in results.items():
            for row in rows:
                recorder.add_task(row, method, seed, **figures(y, labels))
            recorder.add(group, method, seconds=seconds)
        print(f"seed {seed} {name}: " + ", ".join(
            f"{m} {reference_ari(y, r[0]):.2f}" for m, r in results.items()), flush=True)

    for name, X, y in suite_sets(seed, args.smoke):
        evaluate("suite", ["suite", name.split("__")[0]], name, X, y)
    for name, X, y in image_sets(seed, 1 if args.smoke else args.image_tasks, args.smoke):
        evaluate("images", [name, "images " + name.split()[1]], name, X, y)
    for name in CASES[:3] if args.smoke else CASES:
        X, y = make_case(name, seed)
        evaluate("cases", [name], name, X, y, with_grid=name != "blobs40")
    for name in GRID_DATASETS[:2] if args.smoke else GRID_DATASETS:
        X, y = make_grid_dataset(name, seed)
        model = CriticClustering(metric, random_state=seed).fit(X)
        labellings = np.stack([labels for _, labels in grid_partitions(X, seed)])
        best_grid = float(np.max(metric.score_clustering(X, labellings)))
        recorder.add_task(f"grid {name}", "critic", seed,
                          above_grid=float(model.score_ >= best_grid - 1e-9),
                          score_minus_grid=model.score_ - best_grid)
        recorder.add_task("grids", "critic", seed,
                          above_grid=float(model.score_ >= best_grid - 1e-9))
    return recorder


def median_k_errors(recorder):
    """Per seed, the median absolute k error over a row's sets or tasks (the record keeps means)."""
    for (dataset, method, metric), runs in list(recorder.task_values.items()):
        if metric == "abs_k_error":
            for values in runs.values():
                recorder.add(dataset, method, median_abs_k_error=float(np.median(values)))


def seed_stability(recorder, smoke):
    """Same data, random_state 0-9: the share of seeds giving the most common k."""
    for std in (0.6, 1.0):
        X, y = make_blobs(300, centers=3, cluster_std=std, random_state=0)
        X = StandardScaler().fit_transform(X)
        ks, aris = [], []
        for random_state in range(2 if smoke else 10):
            labels = CriticClustering(random_state=random_state).fit(X).labels_
            ks.append(np.unique(labels[labels >= 0]).size)
            aris.append(reference_ari(y, labels))
        values, counts = np.unique(ks, return_counts=True)
        dataset = f"blobs300 std {std} standardised"
        recorder.add(dataset, "critic", same_k=counts.max() / len(ks),
                     modal_k=values[np.argmax(counts)], ari=np.mean(aris))
        recorder.note(f"{dataset}: k per random_state {ks}")


_SCALE_SCRIPT = """
import json, resource, sys, time
import numpy as np
from sklearn.datasets import make_blobs
from sklearn_tcm import CriticClustering
n, d, predict_rows = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
X, y = make_blobs(n, centers=5, n_features=d, random_state=0)
start = time.perf_counter()
model = CriticClustering(random_state=0).fit(X)
fit = time.perf_counter() - start
out = {"fit_seconds": fit, "n_clusters": model.n_clusters_}
if predict_rows:
    X_new = make_blobs(predict_rows, centers=5, n_features=d, random_state=1)[0]
    start = time.perf_counter()
    model.predict(X_new)
    out["predict_seconds"] = time.perf_counter() - start
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def scale_rows(recorder, smoke):
    cases = [(2000, 10, 0)] if smoke else \
        [(n, 10, 0) for n in SCALE_SIZES] + [(20000, 2000, 20000)]
    for n, d, predict_rows in cases:
        result = subprocess.run([sys.executable, "-c", _SCALE_SCRIPT, str(n), str(d),
                                 str(predict_rows)], capture_output=True, text=True,
                                check=True, env={"OMP_NUM_THREADS": "1",
                                                 **_environment()})
        measured = json.loads(result.stdout.strip().splitlines()[-1])
        recorder.add(f"scale n={n} d={d}", "critic", **measured)


def _environment():
    import os

    return {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=3, extra=[
        ("--jobs", dict(type=int, default=1, help="seeds run in parallel processes")),
        ("--image-tasks", dict(type=int, default=4, help="tasks per image set, part, seed")),
    ])
    recorder = Recorder("bench_clusterer", args, "smoke" if args.smoke else
                        f"suite sets <= {SUITE_POINTS} points; {args.image_tasks} image "
                        "tasks per set, part and seed; defaults of every method")
    # joblib's worker processes are started afresh (never forked from a process
    # whose torch / OpenMP threads are running, which can deadlock)
    for part in Parallel(n_jobs=args.jobs)(delayed(one_seed)(seed, args)
                                           for seed in range(args.seeds)):
        recorder.merge(part)
    median_k_errors(recorder)
    seed_stability(recorder, args.smoke)
    scale_rows(recorder, args.smoke)
    recorder.write("CriticClustering against what users would run instead",
                   ["ari", "abs_k_error", "median_abs_k_error", "k_error", "same_k", "modal_k",
                    "above_grid", "score_minus_grid", "fit_seconds", "predict_seconds",
                    "peak_rss_mb"],
                   preamble=__doc__.split("\n\n")[1].replace("\n", " ")
                   + f" Mean ± std over {args.seeds} seeds (data draws and clusterer seeds;"
                     " the shipped metric is one trained file).")
    return recorder


if __name__ == "__main__":
    main()
