"""
==============================================================
Choosing k on unlabelled data with GridSearchCV and the critic
==============================================================

:func:`sklearn_tcm.critic_scorer` turns a fitted
:class:`~sklearn_tcm.LearnedMetricClustering` into a label-free scorer, so
``GridSearchCV`` can choose the hyperparameters of *any* clusterer on data
without labels: here KMeans' ``n_clusters`` and DBSCAN's ``eps`` on a new
dataset. A clusterer is scored on the data it clustered, so the "cross
validation" is :class:`sklearn_tcm.WholeDataSplit`: a single split whose
train and test parts are the whole set. DBSCAN's noise (``-1``) counts as
unassigned points, so "everything is noise" (a tiny eps) or "one cluster"
(a huge eps) cannot win. Here the metric is learned on reference blobs; the
metric shipped with the package (``critic_scorer()`` with no argument) works
the same way without any fit.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import DBSCAN, KMeans
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV

from sklearn_tcm import (
    LearnedMetricClustering,
    WholeDataSplit,
    clustering_accuracy,
    critic_scorer,
)

X_ref, y_ref = make_blobs(n_samples=1500, centers=10, n_features=4, cluster_std=1.2,
                          random_state=1)
critic = LearnedMetricClustering(n_tasks=60, synthetic_tasks=40, gae_epochs=5, critic_epochs=60,
                                 adversarial_rounds=0, adversarial_tasks=20,
                                 compute_labels=False, random_state=0).fit(X_ref, y_ref)

X, y = make_blobs(n_samples=400, centers=5, n_features=2, cluster_std=0.9, random_state=7)
whole = WholeDataSplit()
scorer = critic_scorer(critic)
kmeans = GridSearchCV(KMeans(n_init=5, random_state=0), {"n_clusters": range(2, 11)},
                      scoring=scorer, cv=whole).fit(X)
eps_grid = np.r_[0.05, np.linspace(0.2, 1.6, 8), 20.0]
dbscan = GridSearchCV(DBSCAN(), {"eps": eps_grid}, scoring=scorer, cv=whole).fit(X)

fig, axes = plt.subplots(1, 3, figsize=(13, 4))
axes[0].plot(range(2, 11), kmeans.cv_results_["mean_test_score"], "o-")
axes[0].set(xlabel="n_clusters", ylabel="critic score",
            title=f"KMeans: chosen k = {kmeans.best_params_['n_clusters']} (truth 5)")
axes[1].semilogx(eps_grid, dbscan.cv_results_["mean_test_score"], "o-")
axes[1].set(xlabel="eps (0.05: all noise, 20: one cluster)",
            title=f"DBSCAN: chosen eps = {dbscan.best_params_['eps']:.2f}")
labels = KMeans(kmeans.best_params_["n_clusters"], n_init=5, random_state=0).fit_predict(X)
axes[2].scatter(X[:, 0], X[:, 1], c=labels, cmap="tab10", s=8)
axes[2].set_title(f"KMeans at the chosen k, ACC {clustering_accuracy(y, labels):.3f}")
fig.tight_layout()
plt.show()
