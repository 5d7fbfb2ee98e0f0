"""Budget of the evolutionary search: quality and time against its settings.

One metric is fitted with default settings (seed 0) on classes 0-4 of
sklearn's digits and of the MNIST test set and on objects 0-14 of COIL-20,
as in ``bench_lmc.py``. Then ``predict`` (``search="evolve"``) runs on the
same test tasks of unseen data (``--tasks`` each of digits 5-9, MNIST 5-9,
USPS; 2-10 classes, 20-60 points per class) under settings varied one at a
time around the defaults: ``n_generations``, ``population_size``,
``n_micro``, ``n_restarts``; ``select`` (no search) is the zero-budget row.
Reported per setting: ACC, NMI, absolute k error, the beats-truth rate and
the seconds of one ``predict``, as means over the tasks of all three
datasets (one fit, so ``std`` is empty and the spread over tasks is in the
JSON's ``task_std``).

Run ``python benchmarks/bench_search_budget.py`` (``--smoke`` for a tiny run).
"""

import copy
import time

from _harness import Recorder, load_dataset, parse_args, timer
from bench_lmc import SMOKE_FIT, quality, references, task_sets

from sklearn_tcm import LearnedMetricClustering
from sklearn_tcm.learned_metric.adversarial import beats_truth

DEFAULTS = {"n_generations": 30, "population_size": 24, "n_micro": 150, "n_restarts": 1}
GRID = {
    "n_generations": [10, 60],
    "population_size": [12, 48],
    "n_micro": [75, 300],
    "n_restarts": [3],
}


def settings(smoke):
    """(name, search mode, parameters) of every setting measured."""
    out = [("select", "select", {}), ("evolve (defaults)", "evolve", {}),
           ("select, caution=0", "select", {"caution": 0.0}),
           ("evolve, caution=0", "evolve", {"caution": 0.0})]
    if smoke:
        return out + [("n_generations=2", "evolve", {"n_generations": 2})]
    for name, values in GRID.items():
        out += [(f"{name}={value}", "evolve", {name: value}) for value in values]
    return out


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=1, extra=[
        ("--tasks", dict(type=int, default=10, help="test tasks per dataset")),
    ])
    smoke = args.smoke
    n_tasks = 2 if smoke else args.tasks
    recorder = Recorder("bench_search_budget", args,
                        "smoke" if smoke else f"defaults fit; {n_tasks} tasks per dataset")
    X_train, y_train = references(smoke)
    started = time.perf_counter()
    model = LearnedMetricClustering(random_state=0, device=args.device,
                                    **(SMOKE_FIT if smoke else {})).fit(X_train, y_train)
    recorder.note(f"Metric fitted in {time.perf_counter() - started:.0f} s.")
    data = {"digits_unseen": load_dataset("digits")}
    if not smoke:
        data.update(mnist_unseen=load_dataset("mnist_test"), usps=load_dataset("usps"))
    tasks = [(X, y) for name, source in data.items() if source is not None
             for X, y in task_sets(name, source, n_tasks, 100)]
    for name, mode, params in settings(smoke):
        metric = copy.deepcopy(model).set_params(search=mode, **params)
        for X, y in tasks:
            with timer() as t:
                labels, score = metric.predict(X, return_score=True)
            beats = beats_truth(score, metric.score_clustering(X, y), labels, y)
            measured = quality(y, labels)
            recorder.add_task("unseen_images", name, 0, acc=measured["acc"],
                              nmi=measured["nmi"], abs_k_error=measured["abs_k_error"],
                              beats_truth_rate=float(beats), predict_seconds=t["seconds"])
        print(f"{name} done", flush=True)
    recorder.write(
        "Evolutionary search budget: quality and time against its settings",
        ["acc", "nmi", "abs_k_error", "beats_truth_rate", "predict_seconds"],
        preamble=(
            f"Defaults: {DEFAULTS}. Test tasks: {n_tasks} each of digits 5-9, MNIST 5-9 and "
            "USPS (all unseen by the metric), pooled as `unseen_images`. One setting changed "
            "per row."
        ),
    )
    return recorder


if __name__ == "__main__":
    main()
