"""Scores at dataset scale: the learned metric's score against k on whole image sets.

A partition of more points than the metric's graphs take (``max_points``)
is scored as the mean over ``n_subsamples`` subsamples stratified by its
clusters. This benchmark scores k-means partitions of whole datasets (MNIST
test set, 10 000 images; USPS; scikit-learn's digits) for k = 2..20 with the
shipped metric and with silhouette (on a fixed sample of 2 000 points) and
Calinski-Harabasz, and records the k each picks, the ARI of that pick, and
the best ARI over k (the regret of a pick is their difference). The curves
themselves are in the notes.

    python benchmarks/bench_score_curve.py
"""

import time

import numpy as np
from _harness import Recorder, parse_args
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, silhouette_score

from sklearn_tcm import pretrained_metric

DATASETS = ("digits", "mnist_test", "usps")
K_RANGE = range(2, 21)


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=1)
    recorder = Recorder("bench_score_curve", args, "smoke" if args.smoke else
                        f"k-means (n_init=2) for k in {K_RANGE.start}..{K_RANGE.stop - 1}")
    metric = pretrained_metric()
    ks = range(2, 5) if args.smoke else K_RANGE
    for name in DATASETS[:1] if args.smoke else DATASETS:
        data = recorder.load(name)
        if data is None:
            continue
        X, y = data
        if args.smoke:
            X, y = X[:300], y[:300]
        for seed in range(args.seeds):
            labellings = np.stack([KMeans(k, n_init=2, random_state=seed).fit_predict(X)
                                   for k in ks])
            aris = np.array([adjusted_rand_score(y, labels) for labels in labellings])
            sample = np.random.default_rng(seed).choice(X.shape[0], min(2000, X.shape[0]),
                                                        replace=False)
            start = time.perf_counter()
            curves = {"shipped metric": metric.score_clustering(X, labellings)}
            seconds = time.perf_counter() - start
            curves["silhouette"] = np.array([silhouette_score(X[sample], labels[sample])
                                             for labels in labellings])
            curves["calinski_harabasz"] = np.array([calinski_harabasz_score(X, labels)
                                                    for labels in labellings])
            for selector, scores in curves.items():
                pick = int(np.argmax(scores))
                recorder.add(name, selector,
                             seconds=seconds if selector == "shipped metric" else None,
                             picked_k=ks[pick], picked_ari=aris[pick],
                             regret=aris.max() - aris[pick])
                recorder.note(f"{name} (n = {X.shape[0]}), seed {seed}, {selector} by k: "
                              + ", ".join(f"{k}: {s:.3g}" for k, s in zip(ks, scores)))
            recorder.note(f"{name}, seed {seed}, ARI by k: "
                          + ", ".join(f"{k}: {a:.3f}" for k, a in zip(ks, aris))
                          + f" (true k = {np.unique(y).size})")
    recorder.write("Scores at dataset scale: picking k on whole image sets",
                   ["picked_k", "picked_ari", "regret"],
                   preamble="`seconds`: the shipped metric scoring all partitions of the "
                            "dataset at once (stratified subsamples).")
    return recorder


if __name__ == "__main__":
    main()
