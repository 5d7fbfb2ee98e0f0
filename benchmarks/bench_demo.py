"""The ``sklearn-tcm demo`` as a benchmark: its table and its timings, recorded.

Runs the demo's work (:func:`sklearn_tcm.cli.run_demo`: learn the metric on
sklearn's digits 0-4, cluster digits 5-9 with k unknown) at the quick and
the full budget, and records for each row of the demo's table ACC, NMI and
the number of clusters, with the fit and predict seconds and the critic's
validation Best / Top-3, and the wall time of the command itself
(``python -m sklearn_tcm demo [--quick]`` in a fresh process: imports, the
work, the printed table and the figure), once per budget. The README's demo
figures and timings cite this record.

Run ``python benchmarks/bench_demo.py`` (``--smoke`` runs the quick budget only).
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import Recorder, parse_args
from sklearn.metrics import normalized_mutual_info_score

from sklearn_tcm import clustering_accuracy
from sklearn_tcm.cli import DEMO_BUDGETS, run_demo


def command_seconds(quick, seed=0):
    """Wall seconds of ``python -m sklearn_tcm demo`` in a fresh process, as users run it."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "sklearn_tcm", "demo", "--quiet", "--seed", str(seed),
                   "--figure", str(Path(folder) / "demo.png")] + ["--quick"] * quick
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=1)
    budgets = ["quick"] if args.smoke else ["quick", "full"]
    recorder = Recorder("bench_demo", args, "smoke" if args.smoke else
                        "; ".join(f"{b}: {DEMO_BUDGETS[b]}" for b in budgets))
    for seed in range(args.seeds):
        for budget in budgets:
            started = time.perf_counter()
            result = run_demo(quick=budget == "quick", seed=seed)
            demo_seconds = time.perf_counter() - started
            y_new = result["y_new"]
            for row, (name, labels) in enumerate(result["rows"]):
                figures = {"acc": clustering_accuracy(y_new, labels),
                           "nmi": normalized_mutual_info_score(y_new, labels),
                           "n_clusters": float(np.unique(labels).size)}
                if row == 0:
                    if seed == 0:
                        figures["command_seconds"] = command_seconds(budget == "quick")
                    figures.update(demo_seconds=demo_seconds,
                                   fit_seconds=result["fit_seconds"],
                                   predict_seconds=result["predict_seconds"],
                                   validation_best=result["model"].validation_["best"],
                                   validation_top3=result["model"].validation_["top3"])
                search = "select"  # CriticClustering's default
                method = {0: f"{budget}: learned metric ({search})",
                          1: f"{budget}: untrained critic ({search})"}.get(row, name)
                recorder.add("digits_unseen", method, **figures)
            print(f"seed {seed} {budget} done", flush=True)
    recorder.write("`sklearn-tcm demo`: learned metric on digits 0-4, digits 5-9 clustered",
                   ["acc", "nmi", "n_clusters", "command_seconds", "demo_seconds", "fit_seconds",
                    "predict_seconds",
                    "validation_best", "validation_top3"],
                   preamble="The demo's table at both budgets (`sklearn-tcm demo --quick` and "
                            "`sklearn-tcm demo`). Rows `untrained critic` run the same search "
                            "under the same metric with its critic re-initialised "
                            "(`with_untrained_critic`). k-means rows do not depend on the "
                            "budget. NMI arithmetic. `command_seconds`: "
                            "`python -m sklearn_tcm demo [--quick]` in a fresh process (seed 0), "
                            "from start to exit. "
                            "`demo_seconds`: the demo's work (fit, predict, the untrained critic, "
                            "k-means over k) as `sklearn-tcm demo` runs it (all cores for the "
                            "full budget, one process for the quick one), without imports and "
                            "the figure.")
    return recorder


if __name__ == "__main__":
    main()
