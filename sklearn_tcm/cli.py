"""The ``sklearn-tcm`` command (also ``python -m sklearn_tcm``).

Sub-commands: ``demo`` (the main job on sklearn's digits), ``fit`` (train a
model on a data file and save it), ``cluster`` (cluster a data file with a
saved model), ``score`` (critic score of a labelling). Data and label files
are ``.npz`` (keys ``X`` and optionally ``y``), ``.npy`` or text tables read
with pandas (``.csv``, ``.tsv``, ``.txt``, ...: numbers, an optional header
line, pandas' row index skipped); ``cluster`` writes labels in a format
``score`` reads back. Errors are reported in one line with a non-zero exit
status.
"""

import argparse
import json
import re
import sys
import time
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
#: Text tables the command reads and writes, and their separators (None: sniffed)
_TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": None, ".dat": None,
                  ".out": None}
_TABLE_EXPECTED = "rows of numbers (comma-separated in .csv, tab-separated in .tsv), " \
                  "optionally under one header line"


def read_array(path, key="X", table=None):
    """Array stored in a .npz (under ``key``), .npy or text table file.

    ``table``: how a text table is read, ``{"sep": ..., "header": ...}``
    (see :func:`read_table`; from ``--sep`` / ``--header`` / ``--no-header``).
    """
    table = table or {}
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
    if suffix in _TEXT_SUFFIXES or table.get("sep") is not None:
        return read_table(path, **table)
    raise CommandError(f"{str(path)!r}: unsupported file type (use .npz, .npy, or a text "
                       f"table: {', '.join(_TEXT_SUFFIXES)}; --sep for another extension)")


def _guess_separator(path):
    """The separator of a text table without a telling extension, from its first line."""
    with open(path, encoding="utf-8", errors="replace") as file:
        first = next((line for line in file if line.strip()), "")
    return next((sep for sep in ("\t", ",", ";", "|") if sep in first), r"\s+")


def _raw_table(path, sep):
    """Every cell of a text table as a string (no header taken), with pandas."""
    import pandas as pd

    name = repr(str(path))
    sep = _guess_separator(path) if sep is None else sep
    try:
        return pd.read_csv(path, sep=sep, header=None, dtype=str, keep_default_na=False,
                           skipinitialspace=True, skip_blank_lines=True,
                           engine="python" if len(sep) > 1 else "c")
    except pd.errors.EmptyDataError:
        raise CommandError(f"{name} is empty; expected {_TABLE_EXPECTED}") from None
    except pd.errors.ParserError as exc:
        # "Expected 2 fields in line 3, saw 3": a row longer than the first
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            expected, row, seen = found.groups()
            raise CommandError(f"{name}, row {row}: {seen} values, expected {expected} like "
                               f"the rows above ({_TABLE_EXPECTED})") from None
        raise CommandError(f"{name} is not a readable table: {exc}") from None


def _looks_like_header(first, n_rows, expected_rows):
    """Whether a first row is column names: words, or pandas' integer names 0..m-1.

    One integer name (``0``) is also what a first label of 0 looks like: it
    is a header only when the rows under it are the ``expected_rows``.
    """
    cells = [cell.strip() for cell in first]
    if any(cell and not _is_number(cell) for cell in cells):
        return True
    names = cells[1:] if cells and cells[0] == "" else cells
    if not names or names != [str(i) for i in range(len(names))]:
        return False
    if expected_rows is not None:
        return n_rows == expected_rows + 1
    return len(cells) >= 2


def read_table(path, sep=None, header=None, expected_rows=None):
    """Numbers of a delimited text file as a 2-D float array (read with pandas).

    ``sep``: the separator (None: by extension, ``","`` for .csv, a tab for
    .tsv, guessed from the first line otherwise). ``header``: whether the
    first line holds column names (None: when one of its fields is not a
    number, or when it is pandas' integer column names ``0, 1, ...``; a lone
    ``0`` only when ``expected_rows`` rows follow it). A first column with an
    empty name holding ``0 .. n-1`` is the row index pandas' ``to_csv()``
    writes, and is skipped with a note. Every problem is one error naming
    the file, the row (counted from 1, header included) and the column.
    """
    path = Path(path)
    name = repr(str(path))
    sep = _TEXT_SUFFIXES.get(path.suffix.lower()) if sep is None else sep
    table = _raw_table(path, sep)
    if table.shape[1] == 1 and sep != "\t" and table.iloc[:, 0].str.contains("[;\t|]").any():
        row = int(np.argmax(table.iloc[:, 0].str.contains("[;\t|]").to_numpy())) + 1
        found = re.search("[;\t|]", table.iloc[row - 1, 0]).group()
        raise CommandError(f"{name}, row {row}: values separated by {found!r}; expected "
                           f"{_TABLE_EXPECTED} (or pass --sep)")
    first = table.iloc[0].fillna("").tolist()
    has_header = _looks_like_header(first, table.shape[0], expected_rows) if header is None \
        else header
    if has_header and header is None and all(_is_number(c) for c in first if c.strip()):
        print(f"note: {name}: first line {','.join(first)!r} read as column names (pandas "
              "writes them); --no-header reads it as data", file=sys.stderr)
    cells = table.iloc[int(has_header):]
    if cells.empty:
        raise CommandError(f"{name} has a header line but no data rows; expected "
                           f"{_TABLE_EXPECTED}")
    values = _numbers(cells, name, first_row=1 + int(has_header))
    if has_header and _is_pandas_index(first, values):
        print(f"note: {name}: first column (empty header, values 0..{len(values) - 1}) is a "
              "row index written by pandas; skipped", file=sys.stderr)
        values = values[:, 1:]
    return values


def _numbers(cells, name, first_row):
    """Cells (strings) as floats; one error for the first cell that is not a number."""
    import pandas as pd

    numbers = cells.apply(lambda column: pd.to_numeric(column, errors="coerce"))
    text = cells.fillna("").apply(lambda column: column.str.strip().str.lower())
    written_nan = text.isin(["nan", "+nan", "-nan"])
    bad = (numbers.isna() & ~written_nan).to_numpy()
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        cell = cells.iloc[row, column]
        if not isinstance(cell, str):  # NaN: the row is shorter than the first
            n_values = int(cells.iloc[row].notna().sum())
            raise CommandError(f"{name}, row {row + first_row}: {n_values} values, expected "
                               f"{cells.shape[1]} like the rows above ({_TABLE_EXPECTED})")
        what = "missing value" if not cell.strip() else f"{cell.strip()!r} is not a number"
        raise CommandError(f"{name}, row {row + first_row}, column {column + 1}: {what}; "
                           f"expected {_TABLE_EXPECTED}")
    return numbers.to_numpy(dtype=np.float64)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_pandas_index(header_fields, values):
    """Whether the first column is the row index pandas' ``to_csv()`` writes."""
    return (len(header_fields) > 1 and str(header_fields[0]).strip() in ("", "Unnamed: 0")
            and values.shape[1] > 1
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


def _first_bad_row(values):
    """1-based row of the first non-finite value of a 2-D array (None if all finite)."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    return int(np.argmax(bad.reshape(bad.shape[0], -1).any(axis=1))) + 1


def read_data(path, table=None):
    """Samples of a data file as a 2-D float array (images are flattened)."""
    X = read_array(path, table=table)
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


def read_labels(path, n_samples, data_path=None, table=None):
    """Labels from a file (or the ``y`` of the data .npz when ``path`` is None)."""
    if path is None:
        if data_path is None or Path(data_path).suffix.lower() != ".npz":
            raise CommandError("labels are needed: pass --labels FILE (or a .npz with y)")
        path = data_path
    labels = np.asarray(read_array(path, key="y",
                                   table={**(table or {}), "expected_rows": n_samples}))
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
    """Write the labels as the extension says (.npy, or one per line); atomically."""
    from ._persistence import atomic_write

    if Path(path).suffix.lower() == ".npy":
        with atomic_write(path, "wb") as file:
            np.save(file, np.asarray(labels))
        return
    with atomic_write(path, "w", encoding="utf-8") as file:
        np.savetxt(file, labels, fmt="%d")


def check_labels_output(path):
    """Refuse a labels file the command could not read back."""
    suffix = Path(path).suffix.lower()
    if suffix != ".npy" and suffix not in _TEXT_SUFFIXES:
        raise CommandError(f"output {str(path)!r}: write labels as .npy or a text table "
                           f"({', '.join(_TEXT_SUFFIXES)}), which 'score' reads back")


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


def _table(args):
    """How text tables are read, from --sep / --header / --no-header."""
    return {"sep": args.sep, "header": args.header}


def _add_table_options(parser):
    parser.add_argument("--sep", default=None,
                        help="separator of text tables (default: by extension: ',' for "
                             ".csv, tab for .tsv, detected otherwise)")
    header = parser.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_true", default=None,
                        help="the first line of text tables is column names")
    header.add_argument("--no-header", dest="header", action="store_false",
                        help="the first line of text tables is data (default: detected)")


# ---------------------------------------------------------------- commands
def cmd_fit(args):
    import sklearn_tcm

    check_output_path(args.output)
    X = read_data(args.data, _table(args))
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
        y = read_labels(args.labels, X.shape[0], args.data, _table(args))
        fit_params = {}
        if args.groups is not None:
            if args.method not in ("lmc", "l2c"):
                raise CommandError("--groups is only for lmc and l2c")
            fit_params["groups"] = read_labels(args.groups, X.shape[0], table=_table(args))
        model.fit(X, y, **fit_params)
    model.save(args.output)
    print(f"saved {cls.__name__} to {args.output}")


def cmd_cluster(args):
    from .learned_metric import CriticClustering, LearnedMetricClustering

    check_output_path(args.output)
    check_labels_output(args.output)
    from ._torch import limited_threads

    if args.n_jobs is not None and args.n_jobs < 1:
        raise CommandError(f"--n-jobs must be at least 1, got {args.n_jobs}")
    model = _load_model(args.model)
    X = read_data(args.data, _table(args))
    clusterer_options = {"random_state": args.seed, "max_clusters": args.max_clusters,
                         "search": args.search}
    if not isinstance(model, LearnedMetricClustering):
        given = [f"--{name.replace('_', '-')}" for name, value in clusterer_options.items()
                 if value != _CLUSTER_DEFAULTS[name]]
        if given:
            raise CommandError(
                f"{', '.join(given)} only apply to a learned metric (lmc or 'pretrained'); "
                f"{args.model} holds a {type(model).__name__}"
            )
    with limited_threads(args.n_jobs):
        if isinstance(model, LearnedMetricClustering):
            labels = CriticClustering(model, **clusterer_options).fit(X).labels_
        else:
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
    X = read_data(args.data, _table(args))
    labels = read_labels(args.labels, X.shape[0], table=_table(args))
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
                  adversarial_rounds=1, adversarial_tasks=4),
    "full": dict(n_tasks=150, synthetic_tasks=100, adversarial_rounds=1, adversarial_tasks=40),
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
    from ._torch import limited_threads

    with limited_threads(1 if quick else None):
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
              "a text table: .csv, .tsv, .txt (numbers, optional header line; pandas' row "
              "index skipped)")


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
    _add_table_options(fit)
    fit.set_defaults(func=cmd_fit)
    _add_cluster_and_score(commands)
    return parser


def _add_cluster_and_score(commands):
    """The ``cluster`` and ``score`` sub-commands."""
    cluster = _subcommand(
        commands, "cluster", "cluster a data file with a saved model",
        "Cluster data with a saved model (a learned metric clusters with "
        "CriticClustering, k unknown); writes one label per sample.",
        ["sklearn-tcm cluster metric.tcm new_data.npy -o labels.csv",
         "sklearn-tcm cluster pretrained new_data.npy -o labels.csv",
         "sklearn-tcm cluster pretrained table.tsv -o labels.csv --max-clusters 30 --seed 1",
         "sklearn-tcm cluster pretrained new_data.npy -o labels.npy --n-jobs 1"])
    cluster.add_argument("model", help="model file written by 'sklearn-tcm fit' or save(), "
                                       "or 'pretrained' for the shipped learned metric")
    cluster.add_argument("data", help=_DATA_HELP)
    cluster.add_argument("-o", "--output", required=True,
                         help="labels file to write: .npy, or one integer per line "
                              "(.csv, .tsv, .txt, ...); replaced atomically")
    cluster.add_argument("--seed", type=int, default=_CLUSTER_DEFAULTS["random_state"],
                         help="random_state of the clustering (default: 0)")
    cluster.add_argument("--max-clusters", type=int, default=None,
                         help="largest number of clusters tried (default: a tenth of the "
                              "points, 10 to 50); learned metrics only")
    cluster.add_argument("--search", choices=("select", "evolve"), default="select",
                         help="'evolve' adds the evolutionary search's find to the "
                              "candidates (default: select); learned metrics only")
    cluster.add_argument("--n-jobs", type=int, default=None,
                         help="threads of torch, BLAS and OpenMP (default: all cores)")
    _add_table_options(cluster)
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
    _add_table_options(score)
    score.set_defaults(func=cmd_score)


def main(argv=None):
    """Entry point of ``sklearn-tcm``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    # the user's mistakes (bad files, parameters, environment) in one line; anything
    # else (TypeError, KeyError, ...) is a bug of the package and keeps its traceback
    except (CommandError, ValueError, OSError, ImportError, MemoryError) as exc:
        print(f"sklearn-tcm: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sklearn-tcm: interrupted", file=sys.stderr)
        return 130
    return 0
