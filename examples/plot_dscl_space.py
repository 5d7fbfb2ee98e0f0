"""
==================================================
DSCL: a learned space where scattered classes meet
==================================================

Each of the three classes below is a union of three Gaussian sub-clusters of
sizes T, 2T and 4T, scattered among the sub-clusters of the other classes
(:func:`sklearn_tcm.datasets.make_dscl_toy`). k-means on the input cannot
recover the classes. :class:`sklearn_tcm.DSCLClustering` learns, from a
labelled sample, a representation in which every class spans one direction,
and clusters a *fresh* sample spectrally in it.
"""

import matplotlib.pyplot as plt
from sklearn.cluster import KMeans

from sklearn_tcm import DSCLClustering, clustering_accuracy
from sklearn_tcm.datasets import make_dscl_toy

X, y, centers = make_dscl_toy(20, return_centers=True, random_state=0)
X_new, y_new = make_dscl_toy(20, centers=centers, random_state=1)

model = DSCLClustering(3, hidden_layer_sizes=(30, 30), n_components=3, max_iter=1000,
                       random_state=0).fit(X, y)
labels = model.predict(X_new)
kmeans_labels = KMeans(3, n_init=10, random_state=0).fit_predict(X_new)
embedding = model.spectral_embedding(X_new)

fig = plt.figure(figsize=(12, 4))
ax = fig.add_subplot(1, 3, 1, projection="3d")
ax.scatter(*X_new.T, c=y_new, cmap="tab10", vmin=0, vmax=9, s=8)
ax.set_title("input space, true classes")
ax = fig.add_subplot(1, 3, 2, projection="3d")
ax.scatter(*X_new.T, c=kmeans_labels, cmap="tab10", vmin=0, vmax=9, s=8)
ax.set_title(f"k-means on the input: ACC {clustering_accuracy(y_new, kmeans_labels):.2f}")
ax = fig.add_subplot(1, 3, 3, projection="3d")
ax.scatter(*embedding.T, c=labels, cmap="tab10", vmin=0, vmax=9, s=8)
ax.set_title(f"DSCL spectral embedding: ACC {clustering_accuracy(y_new, labels):.2f}")
fig.tight_layout()
plt.show()
