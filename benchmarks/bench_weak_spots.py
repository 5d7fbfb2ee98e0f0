"""Learned metrics on the kinds of data where users found the shipped one weak.

Datasets, drawn anew per seed, none of them from the training corpus's
generator (scikit-learn's cluster-comparison examples and a text generator
of this script's own):

* ``aniso``: scikit-learn's anisotropic blobs (``make_blobs(1500)`` times
  ``[[0.6, -0.6], [-0.4, 0.8]]``), standardised;
* ``varied``: blobs of standard deviations 1.0, 2.5 and 0.5
  (``make_blobs(1500, cluster_std=[1.0, 2.5, 0.5])``);
* ``uneven``: three blobs of 500, 100 and 10 points;
* ``overlap``: the README's blobs with ``cluster_std=1`` (three touching
  clusters), standardised;
* ``many``: 30 blobs in 5 dimensions (2 000 points);
* ``text_tfidf`` / ``text_lsa``: 480 documents of 6 topics over a
  Zipf-distributed vocabulary of 2 000 words (each topic raises 40 keywords
  twenty-fold), as TF-IDF rows and as their 50-component LSA;
* ``nothing_uniform`` / ``nothing_gaussian``: a uniform cube (3-D) and one
  correlated Gaussian (5-D), 500 points: no clusters.

Per dataset and metric (the shipped one, each ``--model``, and the shipped
one with an untrained critic, the ablation): the metric's pick from the
user grid of ``bench_user_grids.py`` (``picked_ari``, ``regret``, beside
silhouette, Calinski-Harabasz, Davies-Bouldin and the density index; only
where the truth has 2-10 clusters), and ``CriticClustering`` under it, k
unknown (``ari``, ``abs_k_error``; on the sets without clusters
``one_cluster`` = 1 when it answers one cluster). HDBSCAN with its
defaults and k-means with the silhouette k are the baselines of the
clusterer.

    OMP_NUM_THREADS=1 python benchmarks/bench_weak_spots.py --seeds 3 --jobs 2 --model a.tcm

``--keep-earlier`` keeps the committed record's rows of the metrics this run
does not measure (with their own commit), e.g. fits whose files are gone.
"""

import warnings
from pathlib import Path

import numpy as np
from _harness import Recorder, kmeans_silhouette, parse_args
from bench_selection import reference_ari
from bench_user_grids import evaluate_grid
from joblib import Parallel, delayed
from sklearn.cluster import HDBSCAN
from sklearn.datasets import make_blobs
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import Normalizer, StandardScaler

from sklearn_tcm import CriticClustering, load, pretrained_metric
from sklearn_tcm.learned_metric import with_untrained_critic

DATASETS = ("aniso", "varied", "uneven", "overlap", "many", "text_tfidf", "text_lsa",
            "nothing_uniform", "nothing_gaussian")


def _documents(seed, n_topics=6, per_topic=80, vocabulary=2000):
    """Word counts of documents of ``n_topics`` topics over a Zipfian vocabulary."""
    rng = np.random.default_rng(seed)
    base = 1.0 / np.arange(1, vocabulary + 1)
    counts, y = [], []
    for topic in range(n_topics):
        weights = base.copy()
        weights[rng.choice(vocabulary, 40, replace=False)] *= 20
        weights /= weights.sum()
        for _ in range(per_topic):
            counts.append(rng.multinomial(int(rng.integers(30, 151)), weights))
            y.append(topic)
    return np.array(counts), np.array(y)


def make_dataset(name, seed):
    """``(X, y)`` of one dataset; y = 0 everywhere on the sets without clusters."""
    rng = np.random.default_rng(seed)
    if name == "aniso":
        X, y = make_blobs(1500, random_state=170 + seed)
        return StandardScaler().fit_transform(X @ np.array([[0.6, -0.6], [-0.4, 0.8]])), y
    if name == "varied":
        return make_blobs(1500, cluster_std=[1.0, 2.5, 0.5], random_state=170 + seed)
    if name == "uneven":
        X, y = make_blobs(1500, random_state=170 + seed)
        keep = np.concatenate([np.flatnonzero(y == c)[:size]
                               for c, size in enumerate((500, 100, 10))])
        return X[keep], y[keep]
    if name == "overlap":
        X, y = make_blobs(300, centers=3, random_state=seed)
        return StandardScaler().fit_transform(X), y
    if name == "many":
        return make_blobs(2000, centers=30, n_features=5, center_box=(-20, 20),
                          random_state=seed)
    if name.startswith("text"):
        counts, y = _documents(seed)
        X = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
        if name == "text_lsa":
            X = Normalizer().fit_transform(TruncatedSVD(50, random_state=seed).fit_transform(X))
            return X, y
        return X.toarray(), y
    if name == "nothing_uniform":
        return rng.uniform(size=(500, 3)), np.zeros(500, dtype=int)
    mixing = rng.normal(size=(5, 5))
    return rng.normal(size=(500, 5)) @ mixing, np.zeros(500, dtype=int)


def one_seed(seed, args):
    recorder = Recorder("bench_weak_spots", args, "")
    learned = {"shipped": pretrained_metric()}
    for path in args.model:
        learned[path.stem] = load(path)
    selectors = {**learned, "shipped_untrained": with_untrained_critic(learned["shipped"],
                                                                       random_state=seed)}
    datasets = DATASETS[:2] + DATASETS[-1:] if args.smoke else DATASETS
    for dataset in datasets:
        X, y = make_dataset(dataset, seed)
        k_true = np.unique(y[y >= 0]).size
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if 2 <= k_true <= 10:
                evaluate_grid(recorder, dataset, X, y, selectors, seed)
            found = {name: CriticClustering(metric, random_state=seed).fit(X).labels_
                     for name, metric in selectors.items()}
            found["hdbscan"] = HDBSCAN(copy=True).fit_predict(X)
            found["kmeans_silhouette"] = kmeans_silhouette(X, seed)
        for method, labels in found.items():
            k_found = np.unique(labels[labels >= 0]).size
            figures = {"abs_k_error": abs(k_found - k_true)}
            if k_true == 1:
                figures["one_cluster"] = float(k_found <= 1)
            else:
                figures["ari"] = reference_ari(y, labels)
            recorder.add(dataset, method, **figures)
            group = "no structure" if k_true == 1 else "with clusters"
            recorder.add_task(group, method, seed, **figures)
        print(f"seed {seed} {dataset}: " + ", ".join(
            f"{m} k={np.unique(lab[lab >= 0]).size}" for m, lab in found.items()), flush=True)
    return recorder


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=3, extra=[
        ("--model", dict(type=Path, action="append", default=[],
                         help="a saved learned metric to compare (repeatable)")),
        ("--jobs", dict(type=int, default=1, help="seeds run in parallel processes")),
        ("--keep-earlier", dict(action="store_true",
                                help="keep the committed record's rows of metrics this run "
                                     "does not measure (e.g. fits no longer at hand)")),
    ])
    recorder = Recorder("bench_weak_spots", args, "smoke" if args.smoke else
                        "grids of 57 partitions; CriticClustering defaults")
    # joblib's worker processes are started afresh (never forked from a process
    # whose torch / OpenMP threads are running, which can deadlock)
    for part in Parallel(n_jobs=args.jobs)(delayed(one_seed)(seed, args)
                                           for seed in range(args.seeds)):
        recorder.merge(part)
    if args.keep_earlier:
        measured = {key[1] for key in [*recorder.values, *recorder.task_values]}
        recorder.keep_earlier(set(DATASETS) | {"with clusters", "no structure"}, measured)
    recorder.write("Learned metrics where users found them weak",
                   ["ari", "abs_k_error", "one_cluster", "picked_ari", "regret"],
                   preamble=__doc__.split("\n\n")[1].replace("\n", " ")
                   + f" Mean ± std over {args.seeds} seeds (data draws and clusterer seeds; "
                     "each metric is one trained file).")
    return recorder


if __name__ == "__main__":
    main()
