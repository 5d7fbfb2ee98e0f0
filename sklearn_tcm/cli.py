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
    path = Path(path)
    if not path.is_file():
        raise CommandError(f"no such file: {str(path)!r}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                if key not in data:
                    raise CommandError(
                        f"{str(path)!r} has no array {key!r} (it has: {', '.join(data.files)})"
                    )
                return data[key]
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".csv":
            return _read_csv(path)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read {str(path)!r}: {exc}") from None
    raise CommandError(f"{str(path)!r}: unsupported file type (use .npz, .npy or .csv)")


def _read_csv(path):
    try:
        return np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError:
        return np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1)  # a header line


def read_data(path):
    """Samples of a data file as a 2-D float array (images are flattened)."""
    X = read_array(path)
    if X.ndim == 1:
        raise CommandError(f"{str(path)!r} holds a 1-D array; samples must be rows of a 2-D "
                           "array (or images)")
    if X.dtype.kind not in "biuf":
        raise CommandError(f"{str(path)!r} holds non-numeric data ({X.dtype})")
    return X.reshape(X.shape[0], -1).astype(np.float64)


def read_labels(path, n_samples, data_path=None):
    """Labels from a file (or the ``y`` of the data .npz when ``path`` is None)."""
    if path is None:
        if data_path is None or Path(data_path).suffix.lower() != ".npz":
            raise CommandError("labels are needed: pass --labels FILE (or a .npz with y)")
        labels = read_array(data_path, key="y")
    else:
        labels = read_array(path, key="y")
    labels = np.asarray(labels).reshape(-1) if np.ndim(labels) > 1 and min(
        np.shape(labels)) == 1 else np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != n_samples:
        raise CommandError(
            f"labels have shape {labels.shape}; expected ({n_samples},) to match the data"
        )
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

    try:
        return sklearn_tcm.load(path)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None


# ---------------------------------------------------------------- commands
def cmd_fit(args):
    import sklearn_tcm

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
    model = _load_model(args.model)
    labels = model.predict(read_data(args.data))
    write_labels(args.output, labels)
    print(f"{np.unique(labels).size} clusters; labels written to {args.output}")


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
    print(f"{model.score_clustering(X, labels):.6f}")


def cmd_demo(args):
    """Learn the metric on digits 0-4, cluster digits 5-9 with k unknown."""
    import matplotlib  # noqa: F401  (fail before the long fit, not after it)
    from sklearn.cluster import KMeans
    from sklearn.datasets import load_digits
    from sklearn.metrics import normalized_mutual_info_score, silhouette_score

    from . import LearnedMetricClustering, clustering_accuracy

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    reference, new = y < 5, y >= 5
    budget = dict(n_tasks=16,
                  synthetic_tasks=8, gae_epochs=2, critic_epochs=10, adversarial_rounds=1,
                  adversarial_tasks=4, validation_searches=2, n_generations=5) \
        if args.quick else dict(n_tasks=150,
                                synthetic_tasks=100, adversarial_rounds=1, adversarial_tasks=30,
                                validation_searches=10)
    print("Learning a clustering metric on digits 0-4 (labelled references)...")
    start = time.perf_counter()
    # five reference classes are too few to hold some out and still train on
    # tasks with up to five clusters: validation tasks come from the same classes
    model = LearnedMetricClustering(validation_fraction=0.0, k_range=(2, 5), max_clusters=10,
                                    random_state=args.seed, verbose=0 if args.quiet else 1,
                                    **budget).fit(X[reference], y[reference])
    fit_seconds = time.perf_counter() - start
    X_new, y_new = X[new], y[new]
    print("Clustering digits 5-9 (never seen, k unknown)...")
    start = time.perf_counter()
    labels, score = model.predict(X_new, return_score=True)
    predict_seconds = time.perf_counter() - start
    kmeans_true = KMeans(5, n_init=10, random_state=args.seed).fit_predict(X_new)
    by_k = {k: KMeans(k, n_init=10, random_state=args.seed).fit_predict(X_new)
            for k in range(2, 11)}
    silhouettes = {k: silhouette_score(X_new, lab) for k, lab in by_k.items()}
    k_sil = max(silhouettes, key=silhouettes.get)
    critic_by_k = model.score_clustering(X_new, np.stack(list(by_k.values())))
    rows = [("learned metric (k unknown)", labels),
            ("k-means, true k = 5", kmeans_true),
            (f"k-means, silhouette k = {k_sil}", by_k[k_sil])]
    print(f"\n{'method':<32}{'ACC':>7}{'NMI':>7}{'k':>4}")
    for name, lab in rows:
        print(f"{name:<32}{clustering_accuracy(y_new, lab):>7.3f}"
              f"{normalized_mutual_info_score(y_new, lab):>7.3f}{np.unique(lab).size:>4}")
    print(f"\nfit {fit_seconds:.0f} s, predict {predict_seconds:.1f} s; "
          f"critic score of the found clustering {score:.3f}")
    _demo_figure(args.figure, X_new, labels, by_k, critic_by_k, silhouettes)
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
def build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-tcm",
        description="Learned clustering: learn from labelled data, cluster new data.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="learn the metric on digits 0-4, cluster digits 5-9 with k unknown",
        description="Learn a clustering metric on sklearn's digits 0-4, cluster digits "
                    "5-9 with the number of clusters unknown, compare with k-means, and "
                    "write a figure.")
    demo.add_argument("--quick", action="store_true", help="tiny budget (seconds)")
    demo.add_argument("--figure", default="sklearn_tcm_demo.png", help="PNG to write")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=cmd_demo)

    fit = commands.add_parser("fit", help="train a model on a data file and save it",
                              description="Train a model and save it as a safe model file.")
    fit.add_argument("--method", choices=sorted(METHODS), required=True)
    fit.add_argument("data", help="samples (.npz with X [and y], .npy or .csv)")
    fit.add_argument("--labels", help="labels file (default: y of a .npz data file)")
    fit.add_argument("--groups", help="reference dataset / set of each sample (lmc, l2c)")
    fit.add_argument("--n-clusters", type=int, default=None)
    fit.add_argument("--set", action="append", metavar="PARAM=VALUE",
                     help="estimator parameter (JSON value), repeatable")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--quiet", action="store_true", help="no progress bars")
    fit.add_argument("-o", "--output", required=True, help="model file to write")
    fit.set_defaults(func=cmd_fit)

    cluster = commands.add_parser("cluster", help="cluster a data file with a saved model",
                                  description="Cluster data with a saved model.")
    cluster.add_argument("model")
    cluster.add_argument("data")
    cluster.add_argument("-o", "--output", required=True, help="labels file (.csv)")
    cluster.set_defaults(func=cmd_cluster)

    score = commands.add_parser("score", help="critic score of a labelling (lmc model)",
                                description="Label-free critic score of a labelling.")
    score.add_argument("model")
    score.add_argument("data")
    score.add_argument("labels")
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
