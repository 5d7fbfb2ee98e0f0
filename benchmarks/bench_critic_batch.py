"""Minibatches of the critic and of the graph auto-encoder: time and quality over fits.

The fit of ``sklearn-tcm demo`` (learn on digits 0-4, full budget, one
job, one torch thread) with ``critic_batch_size`` 1 (one optimiser step per
training task, the training of metrics fitted before the default changed)
and 8 tasks per step (scored in one forward pass), at learning rate 1e-3 and
at 3e-3 (fewer steps are taken; 8 at 3e-3 is now the default); and, at the
default critic training, the graph auto-encoder's step on every labelling
of its task (``all``, as before) or on 8 of them drawn at random
(``labellings_per_step`` of ``train_gae``, now the default). Per
configuration and seed: fit seconds, seconds spent training the critics
(all rounds) and the auto-encoder, the critic's validation figures (Best,
MRR, regret among imperfect candidates), and ``predict`` on digits 5-9 with
k unknown (ACC, NMI, k). Spreads are over seeds (independent fits).

Run ``python benchmarks/bench_critic_batch.py --seeds 3`` (``--configs``
picks configurations by name; ``--jobs 2`` runs fits in parallel processes;
``--smoke``: the demo's quick budget, one seed).
"""

import functools
import time

import numpy as np
import torch
from _harness import Recorder, parse_args
from joblib import Parallel, delayed
from sklearn.datasets import load_digits
from sklearn.metrics import normalized_mutual_info_score

from sklearn_tcm import LearnedMetricClustering, clustering_accuracy
from sklearn_tcm.cli import DEMO_BUDGETS
from sklearn_tcm.learned_metric import training

#: name: (critic_batch_size, learning_rate, labellings per auto-encoder step).
CONFIGS = {
    "batch 1, lr 0.001": (1, 1e-3, None),
    "batch 8, lr 0.001": (8, 1e-3, None),
    "batch 8, lr 0.003": (8, 3e-3, None),
    "batch 8, lr 0.003, GAE 8 labellings": (8, 3e-3, 8),
}


def timed_fit(fit, labellings_per_step):
    """Run ``fit()``; return the seconds spent training the critics and the auto-encoder."""
    train_gae = functools.partial(training.train_gae, labellings_per_step=labellings_per_step)
    originals = {"train_ensemble": training.train_ensemble, "train_gae": training.train_gae}
    spent = dict.fromkeys(originals, 0.0)

    def timed(name, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return wrapper

    training.train_ensemble = timed("train_ensemble", originals["train_ensemble"])
    training.train_gae = timed("train_gae", train_gae)
    try:
        fit()
    finally:
        for name, function in originals.items():
            setattr(training, name, function)
    return spent["train_ensemble"], spent["train_gae"]


def run_one(seed, name, args, budget):
    """One fit of one configuration and its measurements (a Recorder)."""
    torch.set_num_threads(1)
    recorder = Recorder("bench_critic_batch", args, "")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    reference, new = y < 5, y >= 5
    batch, rate, labellings = CONFIGS[name]
    model = LearnedMetricClustering(
        validation_fraction=0.0, k_range=(2, 5), random_state=seed,
        n_jobs=1, critic_batch_size=batch, learning_rate=rate, compute_labels=False, **budget)
    start = time.perf_counter()
    critic_seconds, gae_seconds = timed_fit(
        lambda: model.fit(X[reference], y[reference]), labellings)
    fit_seconds = time.perf_counter() - start
    labels = model.predict(X[new])
    validation = model.validation_
    acc = clustering_accuracy(y[new], labels)
    recorder.add("digits_unseen", name, seconds=fit_seconds, fit_seconds=fit_seconds,
                 critic_seconds=critic_seconds, gae_seconds=gae_seconds, acc=acc,
                 nmi=normalized_mutual_info_score(y[new], labels),
                 n_clusters=float(np.unique(labels).size),
                 validation_best=validation["best"], validation_mrr=validation["mrr"],
                 validation_regret=validation["regret"])
    print(f"seed {seed} {name}: fit {fit_seconds:.0f} s (critics {critic_seconds:.0f} s, "
          f"auto-encoder {gae_seconds:.0f} s), ACC {acc:.3f}", flush=True)
    return recorder


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=3, extra=[
        ("--configs", dict(default=";".join(CONFIGS), type=lambda text: text.split(";"),
                           help="configuration names separated by ; (default: all)")),
        ("--jobs", dict(type=int, default=1, help="fits run in parallel processes")),
    ])
    unknown = set(args.configs) - set(CONFIGS)
    if unknown:
        raise SystemExit(f"unknown configurations {sorted(unknown)}; known: {list(CONFIGS)}")
    torch.set_num_threads(1)
    budget = DEMO_BUDGETS["quick" if args.smoke else "full"]
    recorder = Recorder("bench_critic_batch", args,
                        "smoke" if args.smoke else f"demo fit, {budget}; one job")
    if not args.smoke:  # a run of some configurations keeps the others' records
        recorder.keep_earlier({"digits_unseen"}, methods_rerun=args.configs)
    parts = Parallel(n_jobs=args.jobs)(
        delayed(run_one)(seed, name, args, budget)
        for seed in range(1 if args.smoke else args.seeds) for name in args.configs)
    for part in parts:
        recorder.merge(part)
    if args.jobs > 1:
        recorder.note(f"{args.jobs} fits ran at once in separate processes with one torch "
                      "thread each (times are those of one shared core).")
    recorder.write("Critic and auto-encoder training, minibatch per step: time and quality",
                   ["fit_seconds", "critic_seconds", "gae_seconds", "acc", "nmi", "n_clusters",
                    "validation_best", "validation_mrr", "validation_regret"],
                   preamble="Each row: mean ± std over independent fits (seeds).")
    return recorder


if __name__ == "__main__":
    main()
