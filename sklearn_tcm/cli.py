"""The ``sklearn-tcm`` command (also ``python -m sklearn_tcm``).

Sub-commands: ``demo`` (the main job on sklearn's digits), ``fit`` (train a
model on a data file and save it), ``cluster`` (cluster a data file with a
saved model), ``score`` (critic score of a labelling). Data files are
``.npz`` (keys ``X`` and optionally ``y``), ``.npy`` or ``.csv`` (numbers
only, comma-separated, an optional header line). Errors are reported in one
line with a non-zero exit status.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["main"]

METHODS = {
    "lmc": "LearnedMetricClustering",
    "dec": "DECClustering",
    "l2c": "L2CClustering",
    "dscl": "DSCLClustering",
}


class CommandError(Exception):
    """A user error, reported in one line."""


# ------------------------------------------------------------------- files
def read_array(path, key="X"):
    """Array stored in a .npz (under ``key``), .npy or .csv file."""
    from .datasets import read_npz

    path = Path(path)
    if not path.is_file():
        raise CommandError(f"no such file: {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            return read_npz(path, (key,))[key]
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    if suffix == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except EOFError:
            raise CommandError(f"{str(path)!r} is empty; expected a NumPy .npy array") \
                from None
        except (OSError, ValueError) as exc:
            raise CommandError(f"{str(path)!r} is not a readable .npy array: {exc}") from None
    if suffix == ".csv":
        return read_csv(path)
    raise CommandError(f"{str(path)!r}: unsupported file type (use .npz, .npy or .csv)")


_OTHER_SEPARATORS = (";", "\t", "|")
_CSV_EXPECTED = "rows of comma-separated numbers, optionally under one header line"


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_csv(path):
    """Numbers of a comma-separated file, as a 2-D float array.

    An optional first line of column names is skipped when none of its
    fields is a number. Every problem is one error that names the file, the
    row (counted from 1, header included) and what was expected.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8", errors="replace") as file:
        first = file.readline()
    if not first.strip():
        raise CommandError(f"{str(path)!r} is empty; expected {_CSV_EXPECTED}")
    fields = [field.strip() for field in first.split(",")]
    if len(fields) == 1 and any(sep in first for sep in _OTHER_SEPARATORS):
        _diagnose_csv(path, has_header=False)  # another separator: say so at row 1
    has_header = not any(_is_number(field) for field in fields)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "input contains no data" -> ValueError
            values = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=int(has_header),
                                dtype=np.float64)
    except (ValueError, UserWarning):
        _diagnose_csv(path, has_header)
        raise  # _diagnose_csv always raises; kept for clarity
    if values.size == 0:
        raise CommandError(f"{str(path)!r} has a header line but no data rows; expected "
                           f"{_CSV_EXPECTED}")
    if _is_pandas_index(fields, values):
        # pandas' default to_csv() writes the row index as a first column with an
        # empty header cell: it numbers the rows and is not a feature
        print(f"note: {str(path)!r}: first column (empty header, values 0..{len(values) - 1}) "
              "is a row index written by pandas; skipped", file=sys.stderr)
        values = values[:, 1:]
    return values


def _is_pandas_index(header_fields, values):
    """Whether the first column is the row index pandas' ``to_csv()`` writes."""
    return (len(header_fields) > 1 and header_fields[0] == "" and values.shape[1] > 1
            and np.array_equal(values[:, 0], np.arange(values.shape[0])))


def check_output_path(path):
    """Refuse, before any work, an output path whose directory is missing or not writable."""
    import os

    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CommandError(f"output {str(path)!r} is a directory; give a file name")
    if not directory.is_dir():
        raise CommandError(f"output {str(path)!r}: directory {str(directory)!r} does not "
                           "exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise CommandError(f"output {str(path)!r}: directory {str(directory)!r} is not "
                           "writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise CommandError(f"output {str(path)!r} exists and is not writable")


def _diagnose_csv(path, has_header):
    """Raise a one-line CommandError for the first bad row of a CSV file."""
    name = repr(str(path))
    n_columns = None
    with open(path, newline="", encoding="utf-8", errors="replace") as file:
        for row_number, line in enumerate(file, start=1):
            if row_number == 1 and has_header or not line.strip():
                continue
            fields = [field.strip() for field in line.rstrip("\r\n").split(",")]
            if len(fields) == 1 and any(sep in line for sep in _OTHER_SEPARATORS):
                separator = next(sep for sep in _OTHER_SEPARATORS if sep in line)
                raise CommandError(
                    f"{name}, row {row_number}: values separated by {separator!r}; "
                    f"expected {_CSV_EXPECTED}")
            for column, field in enumerate(fields, start=1):
                if not _is_number(field):
                    raise CommandError(
                        f"{name}, row {row_number}, column {column}: {field!r} is not a "
                        f"number; expected {_CSV_EXPECTED}")
            if n_columns is None:
                n_columns = len(fields)
            elif len(fields) != n_columns:
                raise CommandError(
                    f"{name}, row {row_number}: {len(fields)} values, expected {n_columns} "
                    f"like the rows above ({_CSV_EXPECTED})")
    raise CommandError(f"{name} has a header line but no data rows; expected "
                       f"{_CSV_EXPECTED}")


def _first_bad_row(values):
    """1-based row of the first non-finite value of a 2-D array (None if all finite)."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    return int(np.argmax(bad.reshape(bad.shape[0], -1).any(axis=1))) + 1


def read_data(path):
    """Samples of a data file as a 2-D float array (images are flattened)."""
    X = read_array(path)
    if X.ndim < 2:
        raise CommandError(f"{str(path)!r} holds a {X.ndim}-D array; samples must be rows of "
                           "a 2-D array (or images)")
    if X.dtype.kind not in "biuf":
        raise CommandError(f"{str(path)!r} holds non-numeric data ({X.dtype})")
    if X.shape[0] == 0:
        raise CommandError(f"{str(path)!r} holds no samples (0 rows)")
    X = X.reshape(X.shape[0], -1).astype(np.float64)
    row = _first_bad_row(X)
    if row is not None:
        raise CommandError(f"{str(path)!r}, sample {row}: NaN or infinite value; samples must "
                           "be finite numbers")
    return X


def read_labels(path, n_samples, data_path=None):
    """Labels from a file (or the ``y`` of the data .npz when ``path`` is None)."""
    if path is None:
        if data_path is None or Path(data_path).suffix.lower() != ".npz":
            raise CommandError("labels are needed: pass --labels FILE (or a .npz with y)")
        path = data_path
    labels = np.asarray(read_array(path, key="y"))
    if labels.ndim > 1 and min(labels.shape) == 1:
        labels = labels.reshape(-1)
    if labels.ndim != 1 or labels.shape[0] != n_samples:
        raise CommandError(
            f"{str(path)!r}: labels have shape {labels.shape}; expected ({n_samples},) to "
            "match the data"
        )
    if labels.dtype.kind in "fc":
        row = _first_bad_row(labels[:, None])
        if row is not None:
            raise CommandError(f"{str(path)!r}, label {row}: NaN or infinite; labels must be "
                               "finite")
    return labels


def write_labels(path, labels):
    """Write one label per line; an interrupted write leaves no partial file."""
    from ._persistence import atomic_write

    with atomic_write(path, "w", encoding="utf-8") as file:
        np.savetxt(file, labels, fmt="%d")


def _parse_value(text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return tuple(value) if isinstance(value, list) else value


def _load_model(path):
    import sklearn_tcm

    if str(path) == "pretrained" and not Path(path).exists():
        return sklearn_tcm.pretrained_metric()  # the metric shipped with the package
    try:
        return sklearn_tcm.load(path)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None


# ---------------------------------------------------------------- commands
def cmd_fit(args):
    import sklearn_tcm

    check_output_path(args.output)
    X = read_data(args.data)
    params = {"random_state": args.seed, "verbose": 0 if args.quiet else 1}
    if args.n_clusters is not None:
        params["n_clusters"] = args.n_clusters
    for item in args.set or []:
        if "=" not in item:
            raise CommandError(f"--set expects PARAM=VALUE, got {item!r}")
        name, value = item.split("=", 1)
        params[name] = _parse_value(value)
    cls = getattr(sklearn_tcm, METHODS[args.method])
    unknown = set(params) - set(cls().get_params())
    if unknown:
        raise CommandError(f"{cls.__name__} has no parameter {sorted(unknown)[0]!r}")
    model = cls(**params)
    if args.method == "dec":
        model.fit(X)
    else:
        y = read_labels(args.labels, X.shape[0], args.data)
        fit_params = {}
        if args.groups is not None:
            if args.method not in ("lmc", "l2c"):
                raise CommandError("--groups is only for lmc and l2c")
            fit_params["groups"] = read_labels(args.groups, X.shape[0])
        model.fit(X, y, **fit_params)
    model.save(args.output)
    print(f"saved {cls.__name__} to {args.output}")


def cmd_cluster(args):
    from .learned_metric import CriticClustering, LearnedMetricClustering

    check_output_path(args.output)
    model = _load_model(args.model)
    X = read_data(args.data)
    clusterer_options = {"random_state": args.seed, "max_clusters": args.max_clusters,
                         "search": args.search}
    if isinstance(model, LearnedMetricClustering):
        labels = CriticClustering(model, **clusterer_options).fit(X).labels_
    else:
        given = [f"--{name.replace('_', '-')}" for name, value in clusterer_options.items()
                 if value != _CLUSTER_DEFAULTS[name]]
        if given:
            raise CommandError(
                f"{', '.join(given)} only apply to a learned metric (lmc or 'pretrained'); "
                f"{args.model} holds a {type(model).__name__}"
            )
        labels = model.predict(X)
    write_labels(args.output, labels)
    n_noise = int(np.sum(labels < 0))
    n_clusters = np.unique(labels[labels >= 0]).size
    print(f"{n_clusters} cluster{'' if n_clusters == 1 else 's'}"
          f"{f' and {n_noise} noise points (-1)' if n_noise else ''}; "
          f"labels written to {args.output}")


def cmd_score(args):
    from .learned_metric import LearnedMetricClustering

    model = _load_model(args.model)
    if not isinstance(model, LearnedMetricClustering):
        raise CommandError(
            f"score needs a LearnedMetricClustering model (fit --method lmc); "
            f"{args.model} holds a {type(model).__name__}"
        )
    X = read_data(args.data)
    labels = read_labels(args.labels, X.shape[0])
    score = model.score_clustering(X, labels)
    if args.quiet:
        print(f"{score:.6f}")
    else:
        print(f"score {score:.6f} (higher is better; it compares only with other "
              "labellings of the same data, preprocessed the same way)")


#: CriticClustering settings of ``cluster`` (its options' defaults)
_CLUSTER_DEFAULTS = {"random_state": 0, "max_clusters": None, "search": "select"}

DEMO_BUDGETS = {
    "quick": dict(n_tasks=16, synthetic_tasks=8, gae_epochs=2, critic_epochs=10,
                  adversarial_rounds=1, adversarial_tasks=4, validation_searches=2),
    "full": dict(n_tasks=150, synthetic_tasks=100, adversarial_rounds=1, adversarial_tasks=30,
                 validation_searches=10),
}


def run_demo(quick=False, seed=0, verbose=0, n_jobs=None):
    """The demo's work: learn on digits 0-4, cluster digits 5-9 with k unknown.

    ``n_jobs`` is the model's; None: all cores for the full budget, one
    process for the quick one (its few tasks are built sooner in one process
    than by worker processes that must first import torch), which also runs
    on one thread (torch, BLAS and OpenMP; restored after): its tensors are
    small enough that a second thread costs more than it gives (the record
    of ``benchmarks/bench_demo.py`` has its time). Returns a dict with the
    fitted ``model``, the unseen data ``X_new`` /
    ``y_new``, the ``rows`` of the result table (name, labels), the k-means
    labels and silhouettes by k, and the timings. ``benchmarks/bench_demo.py``
    records what it returns.
    """
    if quick:
        import torch
        from threadpoolctl import threadpool_limits

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with threadpool_limits(1):
                return _run_demo(quick, seed, verbose, n_jobs)
        finally:
            torch.set_num_threads(threads)
    return _run_demo(quick, seed, verbose, n_jobs)


def _run_demo(quick, seed, verbose, n_jobs):
    from sklearn.cluster import KMeans
    from sklearn.datasets import load_digits
    from sklearn.metrics import silhouette_score

    from . import LearnedMetricClustering
    from .learned_metric import with_untrained_critic

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    reference, new = y < 5, y >= 5
    start = time.perf_counter()
    # five reference classes are too few to hold some out and still train on
    # tasks with up to five clusters: validation tasks come from the same classes
    # tasks and searches on every core (the results do not depend on n_jobs)
    if n_jobs is None:
        n_jobs = 1 if quick else -1
    # compute_labels=False: the demo clusters new digits, not its references
    model = LearnedMetricClustering(validation_fraction=0.0, k_range=(2, 5),
                                    compute_labels=False,
                                    random_state=seed, verbose=verbose, n_jobs=n_jobs,
                                    **DEMO_BUDGETS["quick" if quick else "full"])
    model.fit(X[reference], y[reference])
    fit_seconds = time.perf_counter() - start
    X_new, y_new = X[new], y[new]
    start = time.perf_counter()
    labels, score = model.predict(X_new, return_score=True)
    predict_seconds = time.perf_counter() - start
    untrained = with_untrained_critic(model, random_state=seed).predict(X_new)
    kmeans_true = KMeans(5, n_init=10, random_state=seed).fit_predict(X_new)
    by_k = {k: KMeans(k, n_init=10, random_state=seed).fit_predict(X_new)
            for k in range(2, 11)}
    silhouettes = {k: silhouette_score(X_new, lab) for k, lab in by_k.items()}
    k_sil = max(silhouettes, key=silhouettes.get)
    rows = [("learned metric (CriticClustering)", labels),
            ("same clusterer, untrained critic", untrained),
            ("k-means, true k = 5", kmeans_true),
            (f"k-means, silhouette k = {k_sil}", by_k[k_sil])]
    return {"model": model, "X_new": X_new, "y_new": y_new, "rows": rows, "score": score,
            "by_k": by_k, "silhouettes": silhouettes, "fit_seconds": fit_seconds,
            "predict_seconds": predict_seconds}


def cmd_demo(args):
    """Learn the metric on digits 0-4, cluster digits 5-9 with k unknown."""
    import matplotlib  # noqa: F401  (fail before the long fit, not after it)
    from sklearn.metrics import normalized_mutual_info_score

    from . import clustering_accuracy

    check_output_path(args.figure)

    # durations measured by benchmarks/bench_demo.py (RESULTS.md, section bench_demo)
    budget = "quick budget (seconds)" if args.quick else "full budget (minutes)"
    print(f"Learning a clustering metric on digits 0-4 (labelled references), {budget}...",
          flush=True)
    result = run_demo(args.quick, args.seed, verbose=0 if args.quiet else 1)
    model, X_new, y_new = result["model"], result["X_new"], result["y_new"]
    print(f"\n{'digits 5-9, never seen, k unknown':<36}{'ACC':>7}{'NMI':>7}{'k':>4}")
    for name, lab in result["rows"]:
        print(f"{name:<36}{clustering_accuracy(y_new, lab):>7.3f}"
              f"{normalized_mutual_info_score(y_new, lab):>7.3f}{np.unique(lab).size:>4}")
    validation = model.validation_
    print(f"\nThe critic on its validation tasks (digits 0-4): the true clustering scored "
          f"highest in {validation['best']:.0%} of them, in the top 3 in "
          f"{validation['top3']:.0%}.")
    print("predict (CriticClustering) chooses among the partitions classical algorithms "
          "produce on the points (k-means, mixtures, linkages, spectral, DBSCAN, HDBSCAN): "
          "of the five the critic rates best, the one the others agree with.")
    print(f"fit {result['fit_seconds']:.0f} s, predict {result['predict_seconds']:.1f} s; "
          f"critic score of the found clustering {result['score']:.3f}")
    critic_by_k = model.score_clustering(X_new, np.stack(list(result["by_k"].values())))
    _demo_figure(args.figure, X_new, result["rows"][0][1], result["by_k"], critic_by_k,
                 result["silhouettes"])
    print(f"figure written to {args.figure}")


def _demo_figure(path, X, labels, by_k, critic_by_k, silhouettes):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    projected = PCA(2, random_state=0).fit_transform(X)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.scatter(projected[:, 0], projected[:, 1], c=labels, cmap="tab10", s=8)
    left.set_title(f"digits 5-9, {np.unique(labels).size} clusters found (PCA projection)")
    ks = list(by_k)
    right.plot(ks, critic_by_k, "o-", label="learned critic")
    right.set_xlabel("k of k-means")
    right.set_ylabel("critic score")
    twin = right.twinx()
    twin.plot(ks, [silhouettes[k] for k in ks], "s--", color="gray", label="silhouette")
    twin.set_ylabel("silhouette")
    right.set_title("Scores of k-means clusterings over k")
    right.legend(loc="upper left")
    twin.legend(loc="upper right")
    fig.tight_layout()
    from ._persistence import atomic_write

    with atomic_write(path) as file:
        fig.savefig(file, dpi=100, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(fig)


# -------------------------------------------------------------------- main
_DATA_HELP = ("data file: .npz (array X, and y for labels), .npy (2-D array or images) or "
              ".csv (comma-separated numbers, optional header line)")


def _subcommand(commands, name, summary, description, examples):
    return commands.add_parser(
        name, help=summary, description=description,
        epilog="examples:\n" + "\n".join(f"  {line}" for line in examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="sklearn-tcm",
        description="Learned clustering: learn from labelled data, cluster new data.",
        epilog="Run 'sklearn-tcm COMMAND --help' for a command's arguments and examples.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = _subcommand(
        commands, "demo", "learn the metric on digits 0-4, cluster digits 5-9 with k unknown",
        "Learn a clustering metric on sklearn's digits 0-4, cluster digits 5-9 (never "
        "seen) with the number of clusters unknown, compare with the same search under an "
        "untrained metric and with k-means, and write a figure.",
        ["sklearn-tcm demo", "sklearn-tcm demo --quick --figure quick.png"])
    demo.add_argument("--quick", action="store_true",
                      help="a tiny training budget (seconds instead of minutes): shows "
                           "the workflow, not the quality")
    demo.add_argument("--figure", default="sklearn_tcm_demo.png",
                      help="PNG file to write (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=cmd_demo)

    fit = _subcommand(
        commands, "fit", "train a model on a data file and save it",
        "Train a model and save it as a safe model file (no pickle).",
        ["sklearn-tcm fit --method lmc references.npz -o metric.tcm",
         "sklearn-tcm fit --method dec X.csv --n-clusters 10 -o dec.tcm",
         "sklearn-tcm fit --method dscl X.npy --labels y.csv --set max_iter=500 -o dscl.tcm"])
    fit.add_argument("--method", choices=sorted(METHODS), required=True,
                     help="lmc: LearnedMetricClustering, dec: DECClustering, l2c: "
                          "L2CClustering, dscl: DSCLClustering")
    fit.add_argument("data", help=_DATA_HELP)
    fit.add_argument("--labels", help="labels file, one label per sample (.npz with y, .npy "
                                      "or .csv; default: y of a .npz data file); not for dec")
    fit.add_argument("--groups", help="file giving the reference dataset (lmc) or the set "
                                      "(l2c) of each sample")
    fit.add_argument("--n-clusters", type=int, default=None,
                     help="number of clusters (required by dec; optional for the others)")
    fit.add_argument("--set", action="append", metavar="PARAM=VALUE",
                     help="any estimator parameter, VALUE as JSON (e.g. --set "
                          "hidden_dims=[500,500]); repeatable")
    fit.add_argument("--seed", type=int, default=0, help="random_state (default: 0)")
    fit.add_argument("--quiet", action="store_true", help="no progress bars")
    fit.add_argument("-o", "--output", required=True,
                     help="model file to write (replaced atomically)")
    fit.set_defaults(func=cmd_fit)

    cluster = _subcommand(
        commands, "cluster", "cluster a data file with a saved model",
        "Cluster data with a saved model; writes one label per line.",
        ["sklearn-tcm cluster metric.tcm new_data.npy -o labels.csv",
         "sklearn-tcm cluster pretrained new_data.npy -o labels.csv"])
    cluster.add_argument("model", help="model file written by 'sklearn-tcm fit' or save(), "
                                       "or 'pretrained' for the shipped learned metric")
    cluster.add_argument("data", help=_DATA_HELP)
    cluster.add_argument("-o", "--output", required=True,
                         help="labels file to write, one integer per line (replaced "
                              "atomically)")
    cluster.add_argument("--seed", type=int, default=_CLUSTER_DEFAULTS["random_state"],
                         help="random_state of the clustering (default: 0)")
    cluster.add_argument("--max-clusters", type=int, default=None,
                         help="largest number of clusters tried (default: a tenth of the "
                              "points, 10 to 50); learned metrics only")
    cluster.add_argument("--search", choices=("select", "evolve"), default="select",
                         help="'evolve' adds the evolutionary search's find to the "
                              "candidates (default: select); learned metrics only")
    cluster.set_defaults(func=cmd_cluster)

    score = _subcommand(
        commands, "score", "critic score of a labelling (lmc model)",
        "Label-free critic score of a labelling (higher is better); needs a "
        "LearnedMetricClustering model.",
        ["sklearn-tcm score pretrained data.npy labels.csv",
         "sklearn-tcm score metric.tcm data.npy labels.csv"])
    score.add_argument("model", help="LearnedMetricClustering model file, or 'pretrained' for "
                                     "the metric shipped with the package")
    score.add_argument("data", help=_DATA_HELP)
    score.add_argument("labels", help="labels to score, one per sample (.csv, .npy or .npz "
                                      "with y; -1 marks noise)")
    score.add_argument("--quiet", action="store_true", help="print the bare number")
    score.set_defaults(func=cmd_score)
    return parser


def main(argv=None):
    """Entry point of ``sklearn-tcm``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (CommandError, ValueError, TypeError, OSError, KeyError, ImportError,
            MemoryError) as exc:
        print(f"sklearn-tcm: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sklearn-tcm: interrupted", file=sys.stderr)
        return 130
    return 0
