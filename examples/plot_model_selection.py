"""
=====================================================================
Which algorithm, which k, which eps? The learned metric vs silhouette
=====================================================================

Unlabelled data, many candidate clusterings: k-means and linkage methods for
several k, DBSCAN for several eps, HDBSCAN. A label-free index has to pick
one. Here the metric shipped with the package
(:func:`sklearn_tcm.pretrained_metric`, no training needed) and the
silhouette pick from the same pool on four 2-D datasets; the titles give each
pick's ARI against the true labels (which neither selector sees). DBSCAN's
noise label ``-1`` is noise for the learned metric, not a cluster.
:func:`sklearn_tcm.rank_clusterings` prints the ranking as a table.

Neither selector is always right: on these four sets the learned metric
finds the moons and the rings that silhouette cannot, and silhouette does
slightly better on the two sets of blobs. Over many such grids (blobs,
moons, circles, noisy blobs, digits raw and standardised, five draws each)
the learned metric's picks have a lower mean regret than silhouette's,
Calinski-Harabasz's and Davies-Bouldin's, yet are not always at least as
good as silhouette's pick: ``benchmarks/RESULTS.md``, section
*bench_user_grids*.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.datasets import make_blobs, make_circles, make_moons
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler

from sklearn_tcm import pretrained_metric, rank_clusterings


def datasets():
    rng = np.random.default_rng(0)
    moons, moons_y = make_moons(400, noise=0.07, random_state=0)
    rings, rings_y = make_circles(400, factor=0.45, noise=0.05, random_state=0)
    blobs, blobs_y = make_blobs(400, centers=4, cluster_std=[0.4, 0.8, 1.4, 0.5],
                                random_state=2)
    stretched = blobs @ np.array([[0.6, -0.6], [-0.4, 0.9]])
    noise = rng.uniform(stretched.min(0), stretched.max(0), size=(40, 2))
    return {"moons": (moons, moons_y), "rings": (rings, rings_y),
            "varied blobs": (blobs, blobs_y),
            "stretched blobs + noise": (np.r_[stretched, noise],
                                        np.r_[blobs_y, np.full(40, -1)])}


def pool(X):
    candidates = {}
    for k in range(2, 9):
        candidates[f"k-means k={k}"] = KMeans(k, n_init=5, random_state=0).fit_predict(X)
        for linkage in ("single", "average"):
            candidates[f"{linkage} k={k}"] = AgglomerativeClustering(
                k, linkage=linkage).fit_predict(X)
    for eps in (0.1, 0.2, 0.3, 0.5):
        candidates[f"DBSCAN eps={eps}"] = DBSCAN(eps=eps, min_samples=5).fit_predict(X)
    candidates["HDBSCAN"] = HDBSCAN(min_cluster_size=15, copy=True).fit_predict(X)
    return candidates


def silhouette_pick(X, candidates):
    # labels as users pass them to scikit-learn: DBSCAN's -1 is one more cluster
    def score(labels):
        if not 2 <= np.unique(labels).size < len(labels):
            return -np.inf
        return silhouette_score(X, labels)

    return max(candidates, key=lambda name: score(candidates[name]))


metric = pretrained_metric()
fig, axes = plt.subplots(2, 4, figsize=(15, 7.5))
for column, (title, (X, y)) in enumerate(datasets().items()):
    X = StandardScaler().fit_transform(X)
    candidates = pool(X)
    ranking = rank_clusterings(X, candidates, metric=metric)
    picks = {"silhouette": silhouette_pick(X, candidates),
             "learned metric": ranking[0]["name"]}
    if column == 0:
        print(f"{title}: the five best-scored candidates")
        print(type(ranking)(ranking[:5]))
    kept = y >= 0
    for row, (selector, name) in enumerate(picks.items()):
        labels = candidates[name]
        ari = adjusted_rand_score(y[kept], labels[kept])
        axis = axes[row, column]
        axis.scatter(X[:, 0], X[:, 1], c=np.where(labels < 0, -1, labels), cmap="tab10", s=6)
        axis.set_title(f"{title}\n{selector}: {name} (ARI {ari:.2f})", fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
fig.tight_layout()
plt.show()
