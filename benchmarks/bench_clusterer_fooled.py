"""Does CriticClustering find partitions its metric over-rates? Beats-truth rate of its finds.

On tasks of the kinds the shipped metric was trained on (fresh draws of the
synthetic prior, :func:`~sklearn_tcm.datasets.make_synthetic_tasks`, and
sub-problems of sklearn's digits, :func:`~sklearn_tcm.datasets.sample_tasks`),
``CriticClustering()`` clusters each task's points with k unknown and its
partition is scored against the truth by the same metric. A find *beats the
truth* when it is not the truth up to names and scores above it: the metric
is fooled by its own clusterer there. Reported per family: the share of
such tasks (``beats_truth_rate``, target at most 0.10), the ARI of the finds
and their mean absolute k error; the same under an untrained critic is the
ablation. ``silhouette_beats_truth_rate`` applies the same test to the same
finds under the silhouette (computed on the task's points as given): how
often geometry alone also rates the find above the truth. Seeds draw the
tasks and seed the clusterer.

Run ``python benchmarks/bench_clusterer_fooled.py --seeds 3 --tasks 20`` (``--smoke``
for a tiny run; ``--model FILE`` measures another saved metric beside the shipped one;
``--keep-earlier`` keeps the committed record's rows of the metrics not measured).
"""

import warnings
from pathlib import Path

import numpy as np
from _harness import Recorder, parse_args
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score, silhouette_score

from sklearn_tcm import CriticClustering, load, pretrained_metric
from sklearn_tcm.datasets import make_synthetic_tasks, sample_tasks
from sklearn_tcm.learned_metric import with_untrained_critic
from sklearn_tcm.learned_metric.adversarial import beats_truth


def tasks(family, n_tasks, seed):
    if family == "prior":
        return [(t.X, t.y) for t in make_synthetic_tasks(n_tasks, random_state=seed)]
    X, y = load_digits(return_X_y=True)
    return [(t.X, t.y) for t in sample_tasks(X / 16.0, y, n_tasks, random_state=seed)]


def measure(recorder, method, metric, family, data, seed):
    for X, truth in data:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a choice at the largest k
            found = CriticClustering(metric, random_state=seed).fit(X).labels_
        scores = metric.score_clustering(X, np.stack([truth, found]))
        recorder.add_task(family, method, seed,
                          beats_truth_rate=beats_truth(scores[1], scores[0], found, truth),
                          silhouette_beats_truth_rate=beats_truth(
                              _silhouette(X, found), _silhouette(X, truth), found, truth),
                          ari=adjusted_rand_score(truth, found),
                          abs_k_error=abs(np.unique(found[found >= 0]).size
                                          - np.unique(truth).size))


def _silhouette(X, labels):
    """Silhouette of a partition (noise as one more cluster); -1 for a single cluster."""
    if np.unique(labels).size < 2:
        return -1.0
    return float(silhouette_score(X, labels))


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=3, extra=[
        ("--tasks", dict(type=int, default=20, help="tasks per family and seed")),
        ("--model", dict(type=Path, action="append", default=[],
                         help="a saved learned metric to measure too (repeatable)")),
        ("--keep-earlier", dict(action="store_true",
                                help="keep the committed record's rows of metrics this run "
                                     "does not measure (e.g. files no longer at hand)"))])
    n_tasks = 1 if args.smoke else args.tasks
    recorder = Recorder("bench_clusterer_fooled", args,
                        "smoke" if args.smoke else f"{n_tasks} tasks per family and seed")
    metrics = {"shipped": pretrained_metric(), **{path.stem: load(path) for path in args.model}}
    for seed in range(args.seeds):
        untrained = with_untrained_critic(metrics["shipped"], random_state=seed)
        for family in ("prior", "digits"):
            data = tasks(family, n_tasks, 1000 + seed)
            for name, metric in {**metrics, "untrained": untrained}.items():
                measure(recorder, name, metric, family, data, seed)
            print(f"seed {seed} {family} done", flush=True)
    if args.keep_earlier:
        recorder.keep_earlier({"prior", "digits"}, {*metrics, "untrained"})
    recorder.write("CriticClustering's finds against the truth, under their own metric",
                   ["beats_truth_rate", "silhouette_beats_truth_rate", "ari", "abs_k_error"],
                   preamble=__doc__.split("\n\n")[1].replace("\n", " ")
                   + f" Mean ± std over {args.seeds} seeds (task draws and clusterer seeds; "
                     "each metric is one trained file).")
    return recorder


if __name__ == "__main__":
    main()
