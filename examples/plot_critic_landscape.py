"""
==========================================
The learned critic's score landscape
==========================================

:class:`sklearn_tcm.LearnedMetricClustering` learns a score of whole
clusterings from labelled references. Here it learns from Gaussian blobs in
5 dimensions and scores clusterings of a new blob dataset (7 dimensions,
other centres) it has never seen: k-means with every k (left), and the truth
with a growing share of labels reassigned at random (right). The silhouette
is drawn for comparison. A small training budget keeps this under a minute.
Far from the truth (half of the labels random) the critic's curve need not
be monotone: it is trained to rank the truth above its competitors, not to
order bad clusterings among themselves.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_score

from sklearn_tcm import LearnedMetricClustering

X_ref, y_ref = make_blobs(n_samples=1500, centers=10, n_features=5, cluster_std=1.5,
                          random_state=0)
critic = LearnedMetricClustering(n_tasks=60, synthetic_tasks=40, gae_epochs=5, critic_epochs=60,
                                 adversarial_rounds=0, adversarial_tasks=20,
                                 compute_labels=False, random_state=0).fit(X_ref, y_ref)

X, y = make_blobs(n_samples=300, centers=4, n_features=7, cluster_std=2.0, random_state=3)
ks = np.arange(2, 11)
by_k = np.stack([KMeans(k, n_init=5, random_state=0).fit_predict(X) for k in ks])
rng = np.random.default_rng(0)
fractions = np.linspace(0, 0.6, 7)
noisy = []
for fraction in fractions:
    labels = y.copy()
    chosen = rng.random(y.size) < fraction
    labels[chosen] = rng.integers(0, 4, size=chosen.sum())
    noisy.append(labels)
noisy = np.stack(noisy)

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, candidates, xs, xlabel in ((axes[0], by_k, ks, "k of k-means (truth: 4)"),
                                   (axes[1], noisy, fractions, "share of labels reassigned")):
    ax.plot(xs, critic.score_clustering(X, candidates), "o-", label="learned critic")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("critic score")
    twin = ax.twinx()
    twin.plot(xs, [silhouette_score(X, c) for c in candidates], "s--", color="gray",
              label="silhouette")
    twin.set_ylabel("silhouette")
    ax.legend(loc="upper left")
    twin.legend(loc="upper right")
fig.tight_layout()
plt.show()
