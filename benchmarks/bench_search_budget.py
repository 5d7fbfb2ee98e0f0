"""The evolutionary search's settings: trust region, caution and budget.

Each independent fit (``--seeds``, ``random_state`` 0, 1, ...) learns the
metric with default settings on classes 0-4 of sklearn's digits and of the
MNIST test set and on objects 0-14 of COIL-20, as in ``bench_lmc.py``
(``--fitted FILE ...`` loads such fits saved with ``save`` instead of
fitting again). Then ``predict`` runs on data unseen by the metric, under
settings changed one at a time around the fitted model's own:

* the search mode (``select``: the critic's pick of the classical pool, no
  search) and ``caution`` (0: the ensemble's mean score);
* ``trust_region``: the smallest ARI to a classical clustering that the
  evolutionary search's candidates must keep (0: none);
* the budget (on the image tasks only): ``n_generations``,
  ``population_size``, ``n_micro``, ``n_restarts``.

Families: ``unseen_images`` (``--tasks`` tasks each of digits 5-9, MNIST
5-9 and USPS; 2-10 classes, 20-60 points per class), ``coil20_unseen``
(objects 15-19), ``blobs``, ``moons`` and ``suite`` (the 38 sets of the
clustering benchmark suite, subsampled to 3 000 points), and ``whole``
(the whole MNIST test set and the whole of USPS, 10 classes). Reported per
family and setting: ACC, NMI, absolute k error, the beats-truth rate and
the seconds of one ``predict``: means over fits, ``std`` over fits (the
spread over tasks is in the JSON's ``task_std``).

Run ``python benchmarks/bench_search_budget.py --seeds 2 --jobs 2``
(``--smoke`` for a tiny run).
"""

import copy
import os
import time

import torch
from _harness import Recorder, load_dataset, parse_args, timer
from bench_lmc import SMOKE_FIT, quality, references, suite_sets, task_sets
from joblib import Parallel, delayed

from sklearn_tcm import LearnedMetricClustering, load
from sklearn_tcm.learned_metric.adversarial import beats_truth

BUDGET_GRID = {
    "n_generations": [10, 60],
    "population_size": [12, 48],
    "n_micro": [75, 300],
    "n_restarts": [3],
}
TRUST_REGIONS = (0.5, 0.7, 0.85)


def settings(model, smoke, budget):
    """(name, parameters) of every setting measured, around ``model``'s own."""
    caution = model.caution
    other = 0.0 if caution else 1.0
    out = [("select", {"search": "select"}),
           (f"select, caution={other:g}", {"search": "select", "caution": other}),
           ("evolve", {"search": "evolve", "trust_region": 0.0})]
    regions = TRUST_REGIONS[1:2] if smoke else TRUST_REGIONS
    out += [(f"evolve, trust_region={t}", {"search": "evolve", "trust_region": t})
            for t in regions]
    if not smoke:
        out += [(f"evolve, caution={other:g}",
                 {"search": "evolve", "trust_region": 0.0, "caution": other}),
                (f"evolve, caution={other:g}, trust_region=0.7",
                 {"search": "evolve", "trust_region": 0.7, "caution": other})]
    if budget:
        grid = {"n_generations": [2]} if smoke else BUDGET_GRID
        out += [(f"evolve, {name}={value}", {"search": "evolve", "trust_region": 0.0,
                                             name: value})
                for name, values in grid.items() for value in values]
    return out


def families(smoke, n_tasks, seed):
    """{family: [(X, y), ...]} of the test data."""
    data = {name: load_dataset(name) for name in ("digits", "mnist_test", "coil20", "usps")}
    out = {"unseen_images": []}
    for name, source in (("digits_unseen", "digits"), ("mnist_unseen", "mnist_test"),
                         ("usps", "usps")):
        if data[source] is not None and not (smoke and name != "digits_unseen"):
            out["unseen_images"] += task_sets(name, data[source], n_tasks, 100 + seed)
    if smoke:
        out["moons"] = task_sets("moons", None, n_tasks, 100 + seed)
        return out
    if data["coil20"] is not None:
        out["coil20_unseen"] = task_sets("coil20_unseen", data["coil20"], n_tasks, 100 + seed)
    out["blobs"] = task_sets("blobs", None, n_tasks, 100 + seed)
    out["moons"] = task_sets("moons", None, n_tasks, 100 + seed)
    out["suite"] = [(X, y) for _, X, y in suite_sets(seed)]
    out["whole"] = [data[name] for name in ("mnist_test", "usps") if data[name] is not None]
    return {name: tasks for name, tasks in out.items() if tasks}


def run_seed(seed, args, n_tasks, smoke, fitted):
    recorder = Recorder("bench_search_budget", args, "")
    if fitted:
        model = load(fitted)
    else:
        X_train, y_train = references(smoke)
        with timer() as t:
            model = LearnedMetricClustering(random_state=seed, device=args.device,
                                            **(SMOKE_FIT if smoke else {})).fit(X_train,
                                                                                y_train)
        recorder.add("references", "fit", fit_seconds=t["seconds"])
    for family, tasks in families(smoke, n_tasks, seed).items():
        for name, params in settings(model, smoke, budget=family == "unseen_images"):
            metric = copy.deepcopy(model).set_params(**params)
            for X, y in tasks:
                with timer() as t:
                    labels, score = metric.predict(X, return_score=True)
                keep = y >= 0
                beats = beats_truth(score, metric.score_clustering(X[keep], y[keep]),
                                    labels[keep], y[keep])
                measured = quality(y, labels)
                recorder.add_task(family, name, seed, acc=measured["acc"],
                                  nmi=measured["nmi"], abs_k_error=measured["abs_k_error"],
                                  beats_truth_rate=float(beats),
                                  predict_seconds=t["seconds"])
        print(f"fit {seed}: {family} done", flush=True)
    return recorder


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=2, extra=[
        ("--tasks", dict(type=int, default=8, help="test tasks per dataset")),
        ("--jobs", dict(type=int, default=1, help="fits run in parallel processes")),
        ("--fitted", dict(nargs="*", default=None,
                          help="saved default fits to use instead of fitting (seed i "
                               "uses the i-th file)")),
    ])
    smoke = args.smoke
    n_tasks = 2 if smoke else args.tasks
    fitted = args.fitted or []
    if fitted:
        args.seeds = len(fitted)
    recorder = Recorder("bench_search_budget", args,
                        "smoke" if smoke else f"defaults fit; {n_tasks} tasks per dataset")
    started = time.perf_counter()
    if args.jobs > 1:
        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)
    parts = Parallel(n_jobs=args.jobs)(
        delayed(run_seed)(seed, args, n_tasks, smoke, fitted[seed] if fitted else None)
        for seed in range(args.seeds))
    for part in parts:
        recorder.merge(part)
    if fitted:
        recorder.note("Fits loaded from files saved by default fits "
                      "(`LearnedMetricClustering(random_state=i).fit(references)` as in "
                      f"bench_lmc): {', '.join(os.path.basename(f) for f in fitted)}.")
    if args.jobs > 1:
        recorder.note(f"{args.jobs} fits ran at once in separate processes with one torch "
                      "thread each (predict times are those of one shared core).")
    recorder.note(f"Whole benchmark: {time.perf_counter() - started:.0f} s.")
    recorder.write(
        "Evolutionary search settings: trust region, caution and budget",
        ["acc", "nmi", "abs_k_error", "beats_truth_rate", "predict_seconds", "fit_seconds"],
        preamble=(
            f"Test data unseen by the metric: {n_tasks} tasks each of digits 5-9, MNIST 5-9 "
            "and USPS pooled as `unseen_images`; COIL-20 objects 15-19; blobs; moons; the 38 "
            "suite sets (`suite`); `whole` = MNIST test set and USPS, whole. One setting "
            "changed per row around the fit's defaults; budget rows on `unseen_images` only."
        ),
    )
    return recorder


if __name__ == "__main__":
    main()
