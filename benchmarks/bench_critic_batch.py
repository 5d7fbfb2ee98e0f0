"""Critic training with several tasks per step: time and quality over independent fits.

The fit of ``sklearn-tcm demo`` (learn on digits 0-4, full budget, one
job, one torch thread) with ``critic_batch_size`` 1 (one optimiser step per
training task, the training of metrics fitted before the default changed)
and 8 tasks per step (scored in one forward pass), at learning rate 1e-3 and
at 3e-3 (fewer steps are taken; 8 at 3e-3 is now the default). Per
configuration and seed: fit seconds, seconds spent training the critics
(all rounds), the critic's validation figures (Best, MRR, regret among
imperfect candidates), and ``predict`` on digits 5-9 with k unknown (ACC,
NMI, k). Spreads are over seeds (independent fits).

Run ``python benchmarks/bench_critic_batch.py --seeds 3`` (``--smoke``: the
demo's quick budget, one seed).
"""

import time

import numpy as np
import torch
from _harness import Recorder, parse_args
from sklearn.datasets import load_digits
from sklearn.metrics import normalized_mutual_info_score

from sklearn_tcm import LearnedMetricClustering, clustering_accuracy
from sklearn_tcm.cli import DEMO_BUDGETS
from sklearn_tcm.learned_metric import estimator

#: (critic_batch_size, learning_rate) of each configuration.
CONFIGS = ((1, 1e-3), (8, 1e-3), (8, 3e-3))


def timed_critics(fit):
    """Run ``fit()`` and return the seconds spent in the critics' training."""
    original, spent = estimator.train_ensemble, [0.0]

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    estimator.train_ensemble = wrapper
    try:
        fit()
    finally:
        estimator.train_ensemble = original
    return spent[0]


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=3)
    torch.set_num_threads(1)
    budget = DEMO_BUDGETS["quick" if args.smoke else "full"]
    recorder = Recorder("bench_critic_batch", args,
                        "smoke" if args.smoke else f"demo fit, {budget}; one job")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    reference, new = y < 5, y >= 5
    for seed in range(1 if args.smoke else args.seeds):
        for batch, rate in CONFIGS:
            name = f"batch {batch}, lr {rate:g}"
            model = LearnedMetricClustering(
                validation_fraction=0.0, k_range=(2, 5), max_clusters=10, random_state=seed,
                n_jobs=1, critic_batch_size=batch, learning_rate=rate, compute_labels=False,
                **budget)
            start = time.perf_counter()
            critic_seconds = timed_critics(lambda model=model: model.fit(X[reference],
                                                                         y[reference]))
            fit_seconds = time.perf_counter() - start
            labels = model.predict(X[new])
            validation = model.validation_
            recorder.add("digits_unseen", name, seconds=fit_seconds, fit_seconds=fit_seconds,
                         critic_seconds=critic_seconds,
                         acc=clustering_accuracy(y[new], labels),
                         nmi=normalized_mutual_info_score(y[new], labels),
                         n_clusters=float(np.unique(labels).size),
                         validation_best=validation["best"], validation_mrr=validation["mrr"],
                         validation_regret=validation["regret"])
            print(f"seed {seed} {name}: fit {fit_seconds:.0f} s (critics {critic_seconds:.0f} s)"
                  f", ACC {recorder.values[('digits_unseen', name, 'acc')][-1]:.3f}",
                  flush=True)
    recorder.write("Critic training, tasks per step: time and quality",
                   ["fit_seconds", "critic_seconds", "acc", "nmi", "n_clusters",
                    "validation_best", "validation_mrr", "validation_regret"],
                   preamble="Each row: mean ± std over independent fits (seeds).")
    return recorder


if __name__ == "__main__":
    main()
