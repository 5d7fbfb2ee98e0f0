"""Seconds of ``score_clustering``: the shipped metric against other saved metrics.

One call scores partitions of one dataset of ``make_blobs`` (5 centres, 10
features; drawn anew per seed) at n = 2 000 points (the shipped metric's
``max_points`` is below it, so each call builds its scoring graphs on
uniform subsamples) and n = 400 (one graph per partition): ``one``, the
k-means partition alone; ``batch``, 16 partitions at once (k-means for k =
2..17), as a grid search scores them. Every metric is timed in the same
process on one torch thread, the metrics taking turns within each repeat;
the figure is the median over ``--repeats`` calls after one warm-up call.
A stack of fits (:func:`~sklearn_tcm.learned_metric.stack_metrics`) builds
the graphs once and runs each fit's auto-encoder and critics on them.

    OMP_NUM_THREADS=1 python benchmarks/bench_score_speed.py --model old.tcm
"""

import time
from pathlib import Path

import numpy as np
import torch
from _harness import Recorder, parse_args
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from sklearn_tcm import load, pretrained_metric

SIZES = (400, 2000)
BATCH_KS = range(2, 18)


def partitions(X, seed):
    """The k-means partitions of X for k in :data:`BATCH_KS`, as rows."""
    return np.stack([KMeans(k, n_init=1, random_state=seed).fit_predict(X) for k in BATCH_KS])


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=3, extra=[
        ("--model", dict(type=Path, action="append", default=[],
                         help="a saved learned metric to time beside the shipped one")),
        ("--repeats", dict(type=int, default=15, help="timed calls per metric and case")),
    ])
    torch.set_num_threads(1)
    repeats = 2 if args.smoke else args.repeats
    recorder = Recorder("bench_score_speed", args, "smoke" if args.smoke else
                        f"median of {repeats} calls, one torch thread")
    metrics = {"shipped": pretrained_metric(), **{path.stem: load(path) for path in args.model}}
    for seed in range(args.seeds):
        for n in SIZES[:1] if args.smoke else SIZES:
            X, _ = make_blobs(n, centers=5, n_features=10, random_state=seed)
            batch = partitions(X, seed)
            cases = {"one": batch[3:4], "batch": batch}  # k = 5 alone, then all 16
            for case, labels in cases.items():
                dataset = f"n={n} {case}"
                times = {name: [] for name in metrics}
                for metric in metrics.values():
                    metric.score_clustering(X, labels)  # warm-up
                for _ in range(repeats):
                    for name, metric in metrics.items():
                        start = time.perf_counter()
                        metric.score_clustering(X, labels)
                        times[name].append(time.perf_counter() - start)
                for name, values in times.items():
                    recorder.add_task(dataset, name, seed, score_seconds=np.median(values))
                print(f"seed {seed} {dataset}: " + ", ".join(
                    f"{name} {np.median(v):.3f} s" for name, v in times.items()), flush=True)
    recorder.write("Seconds of score_clustering, shipped metric against others",
                   ["score_seconds"],
                   preamble=__doc__.split("\n\n")[1].replace("\n", " ")
                   + f" Mean ± std over {args.seeds} seeds (data draws).")
    return recorder


if __name__ == "__main__":
    main()
