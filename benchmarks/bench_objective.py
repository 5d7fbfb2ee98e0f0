"""What the critic learns from: objective and inputs, measured by selection regret on unseen data.

Variants of :class:`~sklearn_tcm.LearnedMetricClustering`, each fitted
``--seeds`` times (independent fits) on the same references, then used to
pick one partition out of a pool of many clusterers' partitions
(``bench_selection.partition_pool``: k-means, four linkages, GMM, spectral
over k; DBSCAN over eps; HDBSCAN) on data none of them saw:

* ``images``: 12 tasks each of the unseen classes of digits (5-9), MNIST-test
  (5-9), USPS (5-9) and COIL-20 (15-19); 2-5 classes, 20-60 points per class;
* ``suite``: the 38 sets of ``clustbench_dev.npz`` (batteries fcps, graves,
  sipu; never in these metrics' training), subsampled to 1 000 points.

References: digits, MNIST-test and USPS classes 0-4, COIL-20 classes 0-14,
plus the package's synthetic tasks. Variants:

* ``rank_graph``: the listwise loss with the truth as target, graph
  embedding only (the package's metric before this benchmark);
* ``ari_graph``: soft listwise targets ``softmax(ARI / 0.1)``, graph only;
* ``ari_both``: soft targets, graph embedding and classical indices;
* ``ari_indices``: soft targets, graph summary and indices only (no GAE);
* ``untrained``: ``ari_both``'s metric with its critic re-initialised (the
  ablation: what the learning buys).

Baselines: silhouette, Calinski-Harabasz and Davies-Bouldin (scikit-learn,
noise as a cluster, as users call them), a random pick, and ``gbr_indices``:
a gradient-boosted regressor of each candidate's ARI on the graph scalars
and indices the metrics read (MetaIVM-style; ``bench_selection.gbr_baseline``),
trained on the candidates of tasks drawn like the metrics' own (same
references, same sampler; one per seed).

Regret = best ARI in the pool - ARI of the pick; ``regret_reduction`` is
against the best classical index of the group. Run
``python benchmarks/bench_objective.py`` (``--smoke``: tiny).
"""

import time

import numpy as np
from _harness import Recorder, load_dataset, parse_args
from bench_selection import (
    CLASSICAL,
    classical_scores,
    gbr_baseline,
    index_features,
    partition_pool,
    reference_ari,
)
from train_pretrained import load_clustbench

from sklearn_tcm import LearnedMetricClustering, sample_tasks
from sklearn_tcm.learned_metric import with_untrained_critic
from sklearn_tcm.learned_metric.tasks import preprocess_task

VARIANTS = {
    "rank_graph": dict(objective="rank", critic_inputs="graph"),
    "ari_graph": dict(objective="ari", critic_inputs="graph"),
    "ari_both": dict(objective="ari", critic_inputs="both"),
    "ari_indices": dict(objective="ari", critic_inputs="indices"),
}
BUDGET = dict(n_tasks=150, synthetic_tasks=100, gae_epochs=12, adversarial_rounds=0)
SMOKE_BUDGET = dict(n_tasks=6, synthetic_tasks=3, gae_epochs=1, critic_epochs=3,
                    adversarial_rounds=0)
IMAGES = {"digits": 5, "mnist_test": 5, "usps": 5, "coil20": 15}  # first unseen class
SUITE_POINTS = 1000


def references(smoke):
    """Seen classes of the image sets: lists of (X, y)."""
    X_ref, y_ref = [], []
    for name, first_unseen in IMAGES.items():
        data = load_dataset(name)
        if data is None or (smoke and name != "digits"):
            continue
        X, y = data
        seen = y < first_unseen
        X_ref.append(X[seen][:300] if smoke else X[seen])
        y_ref.append(y[seen][:300] if smoke else y[seen])
    return X_ref, y_ref


def evaluation_sets(smoke, seed=0):
    """``[(group, name, X, y)]`` of unseen image tasks and suite sets."""
    sets = []
    for name, first_unseen in IMAGES.items():
        data = load_dataset(name)
        if data is None:
            continue
        X, y = data
        unseen = y >= first_unseen
        for i, task in enumerate(sample_tasks(X[unseen], y[unseen], 2 if smoke else 12,
                                              k_range=(2, 5), size_range=(20, 60),
                                              imbalance=0.5, random_state=seed)):
            sets.append(("images", f"{name}_{i}", preprocess_task(task.X, random_state=i),
                         task.y))
    rng = np.random.default_rng(seed)
    suite = load_clustbench() or {}
    names = sorted(suite, key=lambda n: suite[n][0].shape[0])[:2] if smoke else sorted(suite)
    for name in names:
        X, y = suite[name]
        if X.shape[0] > SUITE_POINTS:
            keep = np.sort(rng.choice(X.shape[0], SUITE_POINTS, replace=False))
            X, y = X[keep], y[keep]
        sets.append(("suite", name, X, y))
    return sets


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=3)
    budget = SMOKE_BUDGET if args.smoke else BUDGET
    recorder = Recorder("bench_objective", args, "smoke" if args.smoke else
                        f"{budget}; references: digits/MNIST/USPS 0-4, COIL-20 0-14")
    X_ref, y_ref = references(args.smoke)
    sets = evaluation_sets(args.smoke)
    pools = []
    started = time.perf_counter()
    for group, name, X, y in sets:
        pool = np.stack([labels for _, labels in partition_pool(X, np.unique(y[y >= 0]).size,
                                                                seed=0)])
        aris = np.array([reference_ari(y, labels) for labels in pool])
        classical = [classical_scores(X, labels, 0) for labels in pool]
        pools.append((group, name, X, pool, aris, classical))
        for index in CLASSICAL:
            pick = int(np.argmax([scores[index] for scores in classical]))
            recorder.add_task(group, index, 0, regret=aris.max() - aris[pick],
                              picked_ari=aris[pick])
        recorder.add_task(group, "random", 0, regret=aris.max() - aris.mean(),
                          picked_ari=aris.mean())
    recorder.note(f"{len(pools)} pools ({sum(p[3].shape[0] for p in pools)} partitions) in "
                  f"{time.perf_counter() - started:.0f} s")
    for seed in range(args.seeds):
        selectors = {}
        for variant, params in VARIANTS.items():
            started = time.perf_counter()
            selectors[variant] = LearnedMetricClustering(
                random_state=seed, **params, **budget).fit(X_ref, y_ref)
            recorder.add("fit", variant, fit_seconds=time.perf_counter() - started)
            print(f"seed {seed}: {variant} fitted in {time.perf_counter() - started:.0f} s",
                  flush=True)
        selectors["untrained"] = with_untrained_critic(selectors["ari_both"], random_state=seed)
        # the regressor of ARI on the indices, on tasks drawn as the metrics' are
        gbr = gbr_baseline([("", X, y) for X, y in zip(X_ref, y_ref)], budget, seed)
        for group, _, X, pool, aris, _ in pools:
            picks = {variant: int(np.argmax(metric.score_clustering(X, pool)))
                     for variant, metric in selectors.items()}
            picks["gbr_indices"] = int(np.argmax(gbr.predict(
                index_features(X, pool, seed=0, max_points=300))))
            for selector, pick in picks.items():
                recorder.add_task(group, selector, seed, regret=aris.max() - aris[pick],
                                  picked_ari=aris[pick])
        print(f"seed {seed} evaluated", flush=True)
    summaries = recorder._task_summaries()
    for group in ("images", "suite"):
        regret = {method: float(np.mean(means)) for (g, method, metric), (means, _)
                  in summaries.items() if g == group and metric == "regret"}
        if not regret or not all(index in regret for index in CLASSICAL):
            continue
        best_index = min(CLASSICAL, key=regret.get)
        for selector in [*VARIANTS, "untrained", "gbr_indices"]:
            runs = summaries.get((group, selector, "regret"), ([], []))[0]
            for run, value in enumerate(runs):
                recorder.add_task(group, selector, run,
                                  regret_reduction=1 - value / max(regret[best_index], 1e-12))
        recorder.note(f"{group}: best classical index {best_index} "
                      f"(regret {regret[best_index]:.3f})")
    recorder.write(
        "What the critic learns from: objective and inputs (selection regret, unseen data)",
        ["regret", "regret_reduction", "picked_ari", "fit_seconds"],
        preamble="Regret = best ARI in the pool - ARI of the pick (lower is better), mean "
                 "over the tasks / sets of a group, then over independent fits (± spread over "
                 "fits); `regret_reduction` against the group's best classical index. "
                 "Classical indices and `random` do not depend on the fit.")
    return recorder


if __name__ == "__main__":
    main()
