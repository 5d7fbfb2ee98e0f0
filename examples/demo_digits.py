"""
=====================================================
Main job on the embedded default: clustering digits
=====================================================

Cluster scikit-learn's 1 797 handwritten digits (8x8 pixels) without their
labels, with DEC and IDEC (:class:`sklearn_tcm.DECClustering`), and compare
with k-means on the pixels. Both DEC variants start from one pretrained
autoencoder (``autoencoder=``), so the comparison is at the same budget. The
labels are only used to score the clusterings (accuracy under the best
matching of clusters to digits, and NMI).

Takes a few minutes on a laptop CPU; pass ``--quick`` for a short run.
"""

import sys
import time

from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import normalized_mutual_info_score

from sklearn_tcm import DECClustering, clustering_accuracy

quick = "--quick" in sys.argv
X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels to [0, 1]
budget = dict(pretrain_epochs=10 if quick else 100, max_iter=200 if quick else 20000)

rows = []
start = time.perf_counter()
kmeans_labels = KMeans(10, n_init=20, random_state=0).fit_predict(X)
rows.append(("k-means on pixels", kmeans_labels, time.perf_counter() - start))

start = time.perf_counter()
init = DECClustering(10, **{**budget, "max_iter": 0}, random_state=0, verbose=1).fit(X)
pretrain_seconds = time.perf_counter() - start
rows.append(("autoencoder + k-means", init.labels_, pretrain_seconds))
for variant in ("dec", "idec"):
    start = time.perf_counter()
    model = DECClustering(10, variant=variant, autoencoder=init.pretrained_autoencoder_,
                          **budget, random_state=0, verbose=1).fit(X)
    rows.append((variant.upper(), model.labels_, pretrain_seconds + time.perf_counter() - start))

print(f"\n{'method':<24}{'ACC':>8}{'NMI':>8}{'seconds':>10}")
for name, labels, seconds in rows:
    acc = clustering_accuracy(y, labels)
    nmi = normalized_mutual_info_score(y, labels)
    print(f"{name:<24}{acc:>8.3f}{nmi:>8.3f}{seconds:>10.1f}")
