"""Is the search fooled on easy blobs? Adversarial rounds, caution and trust region.

The scenario of the slow test in ``tests/test_adversarial.py``, measured
over several seeds: a small metric is fitted (``n_tasks=20``,
``synthetic_tasks=80``, 8-D blobs as the reference) with 0 or 2
adversarial rounds and ``caution`` 0 or 1 (used in training's searches and
in ``predict``); then ``predict`` (``search="evolve"``, with no trust region
or with ``trust_region=0.85``) clusters 6 easy blob sets (3 to 8 clusters,
5-D) and a set counts as *fooled* when the search's labelling scores above
the truth. Reported per setting: the share of fooled sets
(``beats_truth_rate``) and the ACC of the search, means over seeds (fits).

Run ``python benchmarks/bench_fooled_blobs.py --seeds 3`` (``--smoke`` for a
tiny run).
"""

import numpy as np
import torch
from _harness import Recorder, parse_args
from bench_lmc import quality
from sklearn.datasets import make_blobs

from sklearn_tcm import CriticClustering, LearnedMetricClustering
from sklearn_tcm.learned_metric.adversarial import (
    beats_truth,
    search_dataset,
    training_search_options,
)

FIT = dict(n_tasks=20, synthetic_tasks=80, size_range=(15, 30), gae_epochs=3,
           critic_epochs=60, adversarial_tasks=10)
SMOKE_FIT = dict(n_tasks=4, synthetic_tasks=4, size_range=(10, 15), gae_epochs=1,
                 critic_epochs=2, adversarial_tasks=2)


def searched(metric, X, trust, seed):
    """Labels of the evolutionary search under the metric (``None``: CriticClustering)."""
    if trust is None:
        return CriticClustering(metric, random_state=seed).fit(X).labels_
    options = {**training_search_options(metric, 10), "search": "evolve",
               "trust_region": trust}
    return search_dataset(X, metric.gae_, metric.critic_, options, torch.device("cpu"),
                          seed).labels


def blob_sets(n_sets):
    return [make_blobs(150, centers=3 + i, n_features=5, cluster_std=0.5, random_state=20 + i)
            for i in range(n_sets)]


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=3)
    smoke = args.smoke
    recorder = Recorder("bench_fooled_blobs", args,
                        "smoke" if smoke else "small fit (see the script); 6 test sets")
    X, y = make_blobs(600, centers=8, n_features=4, cluster_std=0.6, random_state=0)
    sets = blob_sets(2 if smoke else 6)
    fit = SMOKE_FIT if smoke else FIT
    for seed in range(args.seeds):
        for caution in (0.0, 1.0):
            for rounds in ((1,) if smoke else (0, 2)):
                metric = LearnedMetricClustering(adversarial_rounds=rounds, caution=caution,
                                                 random_state=seed, device=args.device,
                                                 **fit).fit(X, y)
                for trust in (0.0, 0.85, None):
                    fooled, acc = [], []
                    for X_new, y_new in sets:
                        labels = searched(metric, X_new, trust, seed)
                        fooled.append(beats_truth(metric.score_clustering(X_new, labels),
                                                  metric.score_clustering(X_new, y_new),
                                                  labels, y_new))
                        acc.append(quality(y_new, labels)["acc"])
                    search = "CriticClustering" if trust is None else f"trust_region={trust:g}"
                    recorder.add("easy_blobs", f"caution={caution:g}, rounds={rounds}, {search}",
                                 beats_truth_rate=float(np.mean(fooled)),
                                 acc=float(np.mean(acc)),
                                 validation_rate_last=metric.history_[-1]["beats_truth_rate"])
        print(f"seed {seed} done", flush=True)
    recorder.write(
        "Is the search fooled on easy blobs? Adversarial rounds, caution and trust region",
        ["beats_truth_rate", "acc", "validation_rate_last"],
        preamble=(
            "A small metric fitted on 8-D blobs (the slow test's settings), 0 or 2 adversarial "
            "rounds, caution 0 or 1 in training and predict; the search (evolve) with or "
            "without a trust region, and CriticClustering (algorithms' partitions, "
            f"consensus), on {len(sets)} easy blob sets. `beats_truth_rate`: share "
            "of sets whose search result scores above the truth; `validation_rate_last`: the "
            "fit's validation beats-truth rate after its last round. Means over fits (seeds)."
        ),
    )
    return recorder


if __name__ == "__main__":
    main()
