"""Train the learned metric shipped with the package (``pretrained_metric()``).

Command that made the shipped file (seed 0, one torch thread; the time it
took is in RESULTS.md, section ``train_pretrained``)::

    python benchmarks/train_pretrained.py --wide

``--wide`` trains on tasks with up to 30 clusters and 400 points per graph
(:data:`WIDE`); without it, tasks have at most 10 clusters. On the
clustering benchmark suite the wide recipe cut the selection regret more
(``benchmarks/bench_selection.py``; sections bench_selection and
bench_selection_narrow of RESULTS.md).

It writes ``sklearn_tcm/learned_metric/pretrained/default.tcm`` (atomically)
and a record of what it trained on. References, all available to anyone:

* the package's generated tasks (``synthetic_tasks``: Gaussian mixtures of
  random dimension, shape, balance and overlap; 2-D rings, moons and blobs);
* scikit-learn's bundled datasets: digits (pixels / 16), iris, wine and
  breast cancer (features standardised, as tabular data should be);
* the project's shared data when present: MNIST (the 5 000-image training
  subset), USPS (training split), COIL-20, and every set of the clustering
  benchmark suite ``clustbench_dev.npz`` (noise points left out of the truth,
  at most 3 000 points per set).

:func:`references` is also what ``benchmarks/bench_selection.py`` trains its
leave-one-battery-out metrics on (with a battery and the image classes 5-9
held out). ``--smoke`` trains a tiny metric into a temporary directory.
"""

import time
from pathlib import Path

import numpy as np
from _harness import DATA_DIR, REPO_DIR, Recorder, load_dataset, parse_args
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.preprocessing import StandardScaler

from sklearn_tcm import LearnedMetricClustering

OUTPUT = REPO_DIR / "sklearn_tcm" / "learned_metric" / "pretrained" / "default.tcm"
MAX_POINTS_PER_SET = 3000
BUDGET = dict(n_tasks=300, synthetic_tasks=200, gae_epochs=12, adversarial_rounds=1,
              adversarial_tasks=20, validation_searches=10)
# tasks with up to 30 clusters (the suite has sets of 15-100), more points per graph
WIDE = dict(k_range=(2, 30), size_range=(10, 40), max_points=400)
SMOKE_BUDGET = dict(n_tasks=8, synthetic_tasks=4, gae_epochs=1, critic_epochs=3,
                    adversarial_rounds=0, validation_searches=1, n_generations=2)
IMAGE_SETS = ("mnist_train_5k", "usps", "coil20")


def load_clustbench(path=None):
    """``{name: (X, y)}`` of the benchmark suite; y = -1 marks noise (0 in the file)."""
    path = Path(path or DATA_DIR / "clustbench_dev.npz")
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as data:
        return {str(name): (data[f"{name}__X"].astype(np.float64),
                            data[f"{name}__y"].astype(np.int64) - 1)
                for name in data["names"]}


def references(exclude_battery=None, image_classes=None, seed=0):
    """Reference datasets ``[(name, X, y)]`` for training a learned metric.

    Parameters
    ----------
    exclude_battery : str or None
        A battery of the clustering benchmark suite (``fcps``, ``graves``,
        ``sipu``) to leave out.
    image_classes : callable or None
        ``image_classes(y) -> mask`` of the image samples to keep (e.g. classes
        0-4); None keeps all.
    """
    rng = np.random.default_rng(seed)
    found = []
    X, y = load_digits(return_X_y=True)
    found.append(("digits", X / 16.0, y))
    for name, loader in (("iris", load_iris), ("wine", load_wine),
                         ("breast_cancer", load_breast_cancer)):
        X, y = loader(return_X_y=True)
        found.append((name, StandardScaler().fit_transform(X), y))
    for name in IMAGE_SETS:
        data = load_dataset(name)
        if data is not None:
            found.append((name, *data))
    if image_classes is not None:
        found = [(name, X, y) if name in ("iris", "wine", "breast_cancer")
                 else (name, X[image_classes(y)], y[image_classes(y)]) for name, X, y in found]
    for name, (X, y) in load_clustbench().items():
        if exclude_battery is not None and name.startswith(exclude_battery + "__"):
            continue
        keep = np.flatnonzero(y >= 0)  # noise is not a class of the truth
        if keep.size > MAX_POINTS_PER_SET:
            keep = np.sort(rng.choice(keep, MAX_POINTS_PER_SET, replace=False))
        found.append((name, X[keep], y[keep]))
    return found


def train(reference_sets, budget, seed=0, n_jobs=1, verbose=1):
    """A LearnedMetricClustering fitted on the references, with ``training_data_`` set."""
    metric = LearnedMetricClustering(random_state=seed, n_jobs=n_jobs, verbose=verbose,
                                     **budget)
    metric.fit([X for _, X, _ in reference_sets], [y for _, _, y in reference_sets])
    metric.training_data_ = {
        "references": [name for name, _, _ in reference_sets],
        "synthetic_tasks": int(metric.synthetic_tasks),
        "n_tasks": int(metric.n_tasks),
    }
    return metric


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=1,
                      extra=[("--wide", dict(action="store_true",
                                             help="tasks with up to 30 clusters (WIDE)"))])
    budget = SMOKE_BUDGET if args.smoke else {**BUDGET, **(WIDE if args.wide else {})}
    recorder = Recorder("train_pretrained", args, "smoke" if args.smoke else str(budget))
    reference_sets = references()
    if args.smoke:
        reference_sets = [(n, X[:200], y[:200]) for n, X, y in reference_sets[:3]]
    start = time.perf_counter()
    metric = train(reference_sets, budget, seed=0, verbose=0 if args.smoke else 1)
    seconds = time.perf_counter() - start
    output = Path(args.out) / "default.tcm" if args.smoke else OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    metric.save(output)
    load_start = time.perf_counter()
    from sklearn_tcm import load

    load(output)
    validation = metric.validation_
    recorder.add("references", "pretrained", seconds=seconds, fit_seconds=seconds,
                 load_seconds=time.perf_counter() - load_start,
                 file_mb=output.stat().st_size / 2**20, best=validation["best"],
                 top3=validation["top3"], mrr=validation["mrr"],
                 beats_truth_rate=validation["beats_truth_rate"])
    recorder.note("References: " + ", ".join(metric.training_data_["references"])
                  + f"; plus {metric.synthetic_tasks} generated tasks.")
    recorder.write("The shipped pretrained metric: how it was made",
                   ["fit_seconds", "load_seconds", "file_mb", "best", "top3", "mrr",
                    "beats_truth_rate"],
                   preamble="Validation figures are on held-out classes of the references "
                            "(class-disjoint where a reference has enough classes).")
    print(f"wrote {output} ({output.stat().st_size / 2**20:.2f} MB) in {seconds:.0f} s")
    return recorder


if __name__ == "__main__":
    main()
