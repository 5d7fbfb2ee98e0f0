"""Model selection as users do it: a learned metric against silhouette on clusterer grids.

Each grid is one dataset and the partitions a user compares when tuning
clusterers on it: KMeans with k = 2..10, DBSCAN over eight eps (quantiles
of the 5-th neighbour distance), AgglomerativeClustering with four linkages
x k = 2..10 and HDBSCAN over four ``min_cluster_size``. A selector picks
the partition it scores highest; its pick is judged by its ARI with the
truth (noise points of the truth left out). Datasets, each drawn anew per
seed: three blobs (``make_blobs(400, centers=3, cluster_std=0.6)``), two
moons, two circles, three blobs (one elongated) with 5 % uniform noise,
600 digits scaled to [0, 1]; the blobs, the moons and the digits also after
``StandardScaler`` (names ending in ``_std``: what users do first must not
change the answer).

Selectors: each learned metric given (the shipped one by default, and any
``--model`` files), the same metric with an untrained critic (the
ablation), silhouette, Calinski-Harabasz, Davies-Bouldin (as users
compute them, noise as one more cluster) and a DBCV-like density index
(noise as noise). Per dataset and selector:
``picked_ari``, ``regret`` (best ARI in the grid - the pick's),
``not_worse`` (1 when the pick's ARI is at least silhouette's),
``degenerate`` (1 when the pick is one cluster or all noise although the
grid holds a partition with ARI >= 0.5). Each learned metric also
clusters the dataset itself (``predict``, k unknown): ``predict_ari`` and
``k_error`` (found k - true k). ``--members`` adds each fit of a stacked
metric as a selector of its own (``shipped_fit0`` ...): single fits against
their stack; with two stacks or more (``--model``), rows ``stacks`` and
``fits alone`` give the spread of the regret between independent stacks and
between their fits (:func:`fit_spread`).

Rows ``images <set>`` (not with ``--smoke``): selection among the ~90
partitions of ``bench_selection.py``'s pools on its image tasks (2-5
classes of digits / MNIST-test / USPS 5-9, COIL-20 10-19; ``--image-tasks``
per set and seed), mean over the tasks of a seed. The shipped metrics were
trained on every class of MNIST's training subset, USPS and COIL-20 and on
digits, so these rows measure seen classes (unseen images for MNIST-test).

    python benchmarks/bench_user_grids.py --seeds 4 --model /path/new.tcm
"""

import copy
import time
import warnings
from pathlib import Path

import numpy as np
from _harness import Recorder, parse_args
from bench_selection import (
    CLASSICAL,
    classical_scores,
    degenerate,
    evaluate_dataset,
    image_tasks,
    reference_ari,
)
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.datasets import load_digits, make_blobs, make_circles, make_moons
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from sklearn_tcm import load, pretrained_metric
from sklearn_tcm.learned_metric import with_untrained_critic

DATASETS = ("blobs3", "blobs3_std", "moons", "moons_std", "circles", "noisy_blobs", "digits01",
            "digits_std")
LINKAGES = ("ward", "average", "complete", "single")


def make_dataset(name, seed):
    """``(X, y)`` of one grid's dataset; y = -1 marks noise."""
    if name.endswith("_std"):
        X, y = make_dataset(name[:-len("_std")], seed)
        return StandardScaler().fit_transform(X), y
    rng = np.random.default_rng(seed)
    if name == "blobs3":
        return make_blobs(400, centers=3, cluster_std=0.6, random_state=seed)
    if name == "moons":
        return make_moons(400, noise=0.07, random_state=seed)
    if name == "circles":
        return make_circles(400, factor=0.5, noise=0.05, random_state=seed)
    if name == "noisy_blobs":
        X, y = make_blobs(380, centers=3, cluster_std=0.6, random_state=seed)
        stretched = y == 0
        X[stretched] = (X[stretched] - X[stretched].mean(0)) @ np.array([[3.0, 0], [0, 0.5]]) \
            + X[stretched].mean(0)
        noise = rng.uniform(X.min(0), X.max(0), size=(20, 2))
        return np.vstack([X, noise]), np.concatenate([y, np.full(20, -1)])
    X, y = load_digits(return_X_y=True)
    keep = rng.choice(y.size, 600, replace=False)
    return X[keep] / 16.0, y[keep]


def grid_partitions(X, seed):
    """``[(name, labels)]``: the partitions of the user grid."""
    ks = range(2, 11)
    pool = [(f"kmeans_k{k}", KMeans(k, n_init=3, random_state=seed).fit_predict(X)) for k in ks]
    distances = NearestNeighbors(n_neighbors=5).fit(X).kneighbors()[0][:, -1]
    for q in (0.1, 0.25, 0.4, 0.55, 0.7, 0.8, 0.9, 0.97):
        eps = max(float(np.quantile(distances, q)), 1e-12)
        pool.append((f"dbscan_q{int(q * 100)}", DBSCAN(eps=eps, min_samples=5).fit_predict(X)))
    for linkage in LINKAGES:
        for k in ks:
            pool.append((f"{linkage}_k{k}",
                         AgglomerativeClustering(k, linkage=linkage).fit_predict(X)))
    for size in (5, 10, 20, 40):
        pool.append((f"hdbscan_{size}", HDBSCAN(min_cluster_size=size, copy=True).fit_predict(X)))
    return pool


def evaluate_grid(recorder, dataset, X, y, metrics, seed):
    pool = grid_partitions(X, seed)
    labellings = np.stack([labels for _, labels in pool])
    aris = np.array([reference_ari(y, labels) for labels in labellings])
    classical = [classical_scores(X, labels, seed) for labels in labellings]
    picks = {name: int(np.argmax([s[name] for s in classical])) for name in CLASSICAL}
    for name, metric in metrics.items():
        picks[name] = int(np.argmax(metric.score_clustering(X, labellings)))
    sensible = aris.max() >= 0.5
    figures = {}
    for selector, index in picks.items():
        figures[selector] = dict(
            picked_ari=aris[index], regret=aris.max() - aris[index],
            not_worse=float(aris[index] >= aris[picks["silhouette"]] - 1e-9),
            degenerate=float(sensible and degenerate(labellings[index])))
        recorder.add(dataset, selector, **figures[selector])
        print(f"  {dataset} seed {seed} {selector}: {pool[index][0]} ARI {aris[index]:.3f}"
              f" (best {aris.max():.3f})", flush=True)
    return figures


def image_rows(recorder, metrics, n_seeds, n_tasks):
    """Selection on image tasks (bench_selection's pools): regret per image set and seed."""
    for seed in range(n_seeds):
        found = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, X, y in image_tasks(n_tasks, seed):
                results, _, _ = evaluate_dataset(X, y, metrics, seed)
                for selector, figures in results.items():
                    found.setdefault((name, selector), []).append(figures)
        for (name, selector), rows in found.items():
            recorder.add(f"images {name}", selector,
                         regret=np.mean([r["regret"] for r in rows]),
                         picked_ari=np.mean([r["picked_ari"] for r in rows]),
                         not_worse=np.mean([r["picked_ari"] >= s["picked_ari"] - 1e-9
                                            for r, s in zip(rows, found[(name, "silhouette")])]))
        print(f"image tasks of seed {seed} done", flush=True)


def stack_members(metric):
    """Each fit of a stacked metric (:func:`~sklearn_tcm.learned_metric.stack_metrics`) alone.

    A copy of the stack whose graph auto-encoder and critics are one fit's:
    it scores as that fit did before the fits were stacked.
    """
    members = []
    for i, (gae, critic) in enumerate(zip(metric.gae_.members, metric.critic_.members)):
        single = copy.deepcopy(metric)
        single.gae_, single.critic_ = copy.deepcopy(gae), copy.deepcopy(critic)
        single.n_fits_ = 1
        single.training_data_ = metric.training_data_["fits"][i]
        members.append(single)
    return members


def fit_spread(recorder, stacks):
    """Independent stacks against their fits alone: the fit-to-fit spread of the regret.

    Rows ``stacks`` and ``fits alone`` of ``all grids`` and ``images, all
    sets`` (the mean over the image sets): ``value`` is the mean over the
    stacks (or over all their fits) of each one's mean regret over the seeds,
    ``std`` the spread between them; ``stacks``: ``{name: n_fits}``.
    """
    def mean_regret(dataset, method):
        if dataset == "all grids":
            return float(np.mean(recorder.values[(dataset, method, "regret")]))
        return float(np.mean([np.mean(values) for (name, selector, metric), values
                              in recorder.values.items()
                              if name.startswith("images ") and selector == method
                              and metric == "regret"]))

    datasets = ["all grids"] + (["images, all sets"] if any(
        key[0].startswith("images ") for key in recorder.values) else [])
    for dataset in datasets:
        spreads = {}
        for name, n_fits in stacks.items():
            recorder.add_task(dataset, "stacks", name, regret=mean_regret(dataset, name))
            for i in range(n_fits):
                recorder.add_task(dataset, "fits alone", f"{name}_fit{i}",
                                  regret=mean_regret(dataset, f"{name}_fit{i}"))
        for method in ("stacks", "fits alone"):
            spreads[method] = float(np.std(
                recorder._task_summaries()[(dataset, method, "regret")][0]))
        recorder.note(f"{dataset}: regret spread between independent fits "
                      f"{spreads['fits alone']:.3f}, between stacks {spreads['stacks']:.3f} "
                      f"({len(stacks)} stacks, {sum(stacks.values())} fits).")


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=4, extra=[
        ("--model", dict(type=Path, action="append", default=[],
                         help="a saved learned metric to compare (repeatable)")),
        ("--no-shipped", dict(action="store_true", help="leave the shipped metric out")),
        ("--members", dict(action="store_true",
                           help="also select with each fit of a stacked metric alone "
                                "(<name>_fit<i>; grids and image rows, no predict)")),
        ("--image-tasks", dict(type=int, default=4,
                               help="tasks per image set and seed (bench_selection's "
                                    "image tasks: classes 5-9, COIL-20 10-19)")),
    ])
    learned = {} if args.no_shipped else {"shipped": pretrained_metric()}
    for path in args.model:
        learned[path.stem if path.stem not in learned else str(path)] = load(path)
    metrics = dict(learned)
    for name, metric in learned.items():
        metrics[f"{name}_untrained"] = with_untrained_critic(metric, random_state=0)
        if args.members and getattr(metric, "n_fits_", 1) > 1:
            for i, member in enumerate(stack_members(metric)):
                metrics[f"{name}_fit{i}"] = member
    datasets = DATASETS[:2] if args.smoke else DATASETS
    recorder = Recorder("bench_user_grids", args, "smoke" if args.smoke else
                        f"grids of 57 partitions; {args.image_tasks} image tasks per set "
                        "and seed; predict with each metric's own parameters")
    for seed in range(args.seeds):
        per_grid = []
        for dataset in datasets:
            X, y = make_dataset(dataset, seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                per_grid.append(evaluate_grid(recorder, dataset, X, y, metrics, seed))
            k_true = np.unique(y[y >= 0]).size
            for name, metric in learned.items():
                start = time.perf_counter()
                labels = metric.predict(X)
                recorder.add(dataset, name, seconds=time.perf_counter() - start,
                             predict_ari=reference_ari(y, labels),
                             k_error=np.unique(labels[labels >= 0]).size - k_true)
        for selector in per_grid[0]:  # this seed's grids together
            recorder.add("all grids", selector, **{
                metric: np.mean([grid[selector][metric] for grid in per_grid])
                for metric in per_grid[0][selector]})
    if not args.smoke:
        image_rows(recorder, metrics, args.seeds, args.image_tasks)
    stacks = {name: metric.n_fits_ for name, metric in learned.items()
              if getattr(metric, "n_fits_", 1) > 1}
    if args.members and len(stacks) > 1:
        fit_spread(recorder, stacks)
    recorder.write(
        "Model selection on user grids: learned metric vs silhouette",
        ["picked_ari", "regret", "not_worse", "degenerate", "predict_ari", "k_error"],
        preamble=__doc__.split("\n\n")[1].replace("\n", " ")
        + f" Mean ± std over {args.seeds} seeds (one grid per seed and dataset; the metrics are "
          "fitted once, so the spread is over data draws, not over fits).")
    return recorder


if __name__ == "__main__":
    main()
