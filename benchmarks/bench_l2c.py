"""Benchmark of L2CClustering: clustering sets and counting their clusters.

* ``points2d``: trained on sets from ``make_l2c_points`` (72 points, k in
  1..5), tested on 300 fresh sets (fixed seed). The default ``"small"``
  architecture, the paper's (14 x 144 BiLSTM) and the self-attention set
  encoder are trained for the same wall-clock budget (``--minutes``,
  iterations set from a timing probe).
  Baselines on the same sets: k-means with the true k, k-means with k in
  2..5 by silhouette, DBSCAN with (eps, min_samples) grid-searched on 100
  separate validation sets, random assignment (k ~ U{1..5}).
* ``mnist_unseen``: CNN embedding trained on sets from MNIST test-set
  classes 0-5, tested on 200 sets of 20 images from classes 6-9;
  ``coil20_unseen``: objects 0-14 for training, sets of 20 images of
  objects 15-19 for testing. Baseline: k-means with the true k.

Reported: MR (misclassification rate) and NMI at the *predicted* k,
accuracy of the predicted k, training time and iterations. Each value is
the mean over seeds (``--seeds``, one fit per preset and seed) of the mean
over the test sets; the spread over seeds is ``std``, the spread over the
test sets ``task_std`` (``n_tasks`` sets).

Run ``python benchmarks/bench_l2c.py`` (``--smoke`` for a tiny run).
"""

import argparse
import time

import numpy as np
from _harness import Recorder, kmeans_silhouette, load_dataset, parse_args, timer
from sklearn.cluster import DBSCAN, KMeans
from sklearn.metrics import normalized_mutual_info_score

from sklearn_tcm import L2CClustering, make_l2c_points, misclassification_rate

NMI_AVERAGE = "arithmetic"


def quality(y, labels):
    return {
        "mr": misclassification_rate(y, labels),
        "nmi": normalized_mutual_info_score(y, labels, average_method=NMI_AVERAGE),
        "k_accuracy": float(np.unique(labels).size == np.unique(y).size),
    }


def split_sets(X, y, groups):
    return [(X[groups == g], y[groups == g]) for g in np.unique(groups)]


def tune_dbscan(validation_sets):
    grid = [(eps, m) for eps in (0.02, 0.03, 0.05, 0.07, 0.1, 0.15) for m in (2, 3, 5)]
    scores = [np.mean([normalized_mutual_info_score(
        y, DBSCAN(eps=eps, min_samples=m).fit_predict(X), average_method=NMI_AVERAGE)
        for X, y in validation_sets]) for eps, m in grid]
    return grid[int(np.argmax(scores))]


def fit_for_minutes(params, minutes, X, y, groups=None, probe_iter=50, smoke=False):
    """Fit with max_iter set so that training takes about ``minutes``.

    ``labels_`` of the training data (every training set as one set) is not
    computed: it is not measured, and it is not training time.
    """
    params = dict(params, compute_labels=False)
    if smoke:
        with timer() as t:
            model = L2CClustering(**dict(params, max_iter=2, validation_interval=1)).fit(
                X, y, groups=groups)
        return model, t["seconds"]
    probe = dict(params, max_iter=probe_iter, validation_interval=probe_iter)
    start = time.perf_counter()
    L2CClustering(**probe).fit(X, y, groups=groups)
    per_iter = (time.perf_counter() - start) / probe_iter
    max_iter = max(probe_iter, int(minutes * 60 / per_iter))
    with timer() as t:
        model = L2CClustering(**dict(params, max_iter=max_iter)).fit(X, y, groups=groups)
    return model, t["seconds"]


def run_points(recorder, args, seed):
    n_train = 50 if args.smoke else 20000
    X, y, groups = make_l2c_points(n_train, random_state=seed)
    test = split_sets(*make_l2c_points(4 if args.smoke else 300, random_state=10_000))
    validation = split_sets(*make_l2c_points(4 if args.smoke else 100, random_state=20_000))
    for index, architecture in enumerate(args.architectures):
        params = dict(architecture=architecture, random_state=seed, device=args.device,
                      validation_interval=250, n_iter_no_change=20)
        model, seconds = fit_for_minutes(params, args.minutes, X, y, groups,
                                         smoke=args.smoke)
        recorder.add("points2d", f"l2c_{architecture}", seconds=seconds,
                     fit_seconds=seconds, n_iter=model.n_iter_)
        for Xs, ys in test:
            recorder.add_task("points2d", f"l2c_{architecture}", seed,
                              **quality(ys, model.predict(Xs)))
        if index == 0:
            figure(model, test[:12], args.out / "results" / "l2c_points2d.png")
    eps, min_samples = tune_dbscan(validation)
    recorder.note(f"DBSCAN grid-searched on validation sets: eps={eps}, "
                  f"min_samples={min_samples}")
    rng = np.random.default_rng(seed)
    for Xs, ys in test:
        k = np.unique(ys).size
        kmeans = KMeans(k, n_init=10, random_state=seed).fit_predict(Xs)
        recorder.add_task("points2d", "kmeans_true_k", seed, **quality(ys, kmeans))
        recorder.add_task("points2d", "kmeans_silhouette_k", seed,
                          **quality(ys, kmeans_silhouette(Xs, seed, k_max=5)))
        recorder.add_task("points2d", "dbscan", seed, **quality(
            ys, DBSCAN(eps=eps, min_samples=min_samples).fit_predict(Xs)))
        recorder.add_task("points2d", "random", seed, **quality(
            ys, rng.integers(0, rng.integers(1, 6), size=ys.size)))


def image_sets(X, y, n_sets, set_size, rng):
    classes = np.unique(y)
    out = []
    for _ in range(n_sets):
        k = int(rng.integers(1, min(5, classes.size) + 1))
        chosen = rng.choice(classes, size=k, replace=False)
        counts = 2 + rng.multinomial(set_size - 2 * k, np.full(k, 1 / k))
        index = np.concatenate([rng.choice(np.flatnonzero(y == c), size=n, replace=False)
                                for c, n in zip(chosen, counts)])
        out.append((X[index], y[index]))
    return out


def run_images(recorder, args, seed, name, data, n_train_classes, shape):
    X, y = data
    train = y < n_train_classes
    params = dict(embedding="cnn", input_shape=shape, set_size=20, k_max=5,
                  random_state=seed, device=args.device, validation_interval=100)
    model, seconds = fit_for_minutes(params, args.image_minutes, X[train], y[train],
                                     smoke=args.smoke)
    dataset = f"{name}_unseen"
    recorder.add(dataset, "l2c_small", seconds=seconds, fit_seconds=seconds,
                 n_iter=model.n_iter_)
    rng = np.random.default_rng(seed)
    for Xs, ys in image_sets(X[~train], y[~train], 10 if args.smoke else 200, 20, rng):
        recorder.add_task(dataset, "l2c_small", seed, **quality(ys, model.predict(Xs)))
        recorder.add_task(dataset, "kmeans_true_k", seed, **quality(
            ys, KMeans(np.unique(ys).size, n_init=10, random_state=seed).fit_predict(Xs)))


def figure(model, sets, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 4, figsize=(10, 7.5))
    for ax, (Xs, ys) in zip(axes.ravel(), sets):
        labels = model.predict(Xs)
        ax.scatter(Xs[:, 0], Xs[:, 1], c=labels, cmap="tab10", s=12, vmin=0, vmax=9)
        ax.set_title(f"k true {np.unique(ys).size}, found {np.unique(labels).size}, "
                     f"MR {misclassification_rate(ys, labels):.2f}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--minutes", type=float, default=15.0,
                       help="training budget per 2-D model (default 15)")
    extra.add_argument("--image-minutes", type=float, default=4.0,
                       help="training budget per image model (default 4)")
    extra.add_argument("--architectures", default="small,paper,attention",
                       help="comma-separated 2-D architectures; the figure shows the first")
    known, rest = extra.parse_known_args(argv)
    args = parse_args(__doc__.splitlines()[0], rest, default_seeds=1)
    args.minutes, args.image_minutes = known.minutes, known.image_minutes
    args.architectures = known.architectures.split(",")
    (args.out / "results").mkdir(parents=True, exist_ok=True)
    budget = "smoke" if args.smoke else (
        f"{args.minutes:g} min per 2-D model, {args.image_minutes:g} min per image model")
    recorder = Recorder("bench_l2c", args, budget)
    for seed in range(args.seeds):
        run_points(recorder, args, seed)
        print(f"points2d seed {seed} done", flush=True)
        mnist = None if args.smoke else load_dataset("mnist_test")
        if mnist is None:
            digits = load_dataset("digits")
            run_images(recorder, args, seed, "digits", digits, 6, (8, 8))
        else:
            run_images(recorder, args, seed, "mnist", mnist, 6, (28, 28))
        coil = load_dataset("coil20")
        if coil is not None and not args.smoke:
            run_images(recorder, args, seed, "coil20", coil, 15, (32, 32))
        print(f"images seed {seed} done", flush=True)
    recorder.write(
        "L2CClustering: clustering sets with the number of clusters",
        ["mr", "nmi", "k_accuracy", "fit_seconds", "n_iter"],
        preamble=(
            "MR and NMI at the predicted k (NMI average_method='arithmetic'); "
            "k_accuracy: share of sets whose number of clusters is found exactly. "
            "Paper (2-D, 300 sets): MR 0.004 / NMI 0.993; k-means 0.178 / 0.796; "
            "DBSCAN 0.265 / 0.676; random 0.485 / 0.232. Figure of 12 test sets: "
            "`benchmarks/results/l2c_points2d.png`."
        ),
    )
    return recorder


if __name__ == "__main__":
    main()
