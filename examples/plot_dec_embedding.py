"""
========================================
DEC: the embedding it clusters digits in
========================================

:class:`sklearn_tcm.DECClustering` pretrains an autoencoder, starts k-means
in its embedding, then sharpens the clusters by self-training (a KL
divergence to a target distribution computed on the whole dataset). Here a
small network on scikit-learn's digits; the embedding (10-D) is shown in its
first two principal components, before and after self-training, coloured by
the clusters found. The accuracies use the labels only to score.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from sklearn_tcm import DECClustering, clustering_accuracy

X, y = load_digits(return_X_y=True)
X = X / 16.0

dec = DECClustering(10, hidden_dims=(128, 64), n_components=10, pretrain_epochs=30,
                    learning_rate=1e-3, max_iter=3000, random_state=0).fit(X)
# k-means in the pretrained embedding: the starting point of self-training
start = DECClustering(10, autoencoder=dec.pretrained_autoencoder_, max_iter=0,
                      random_state=0).fit(X)

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
for ax, model, title in ((axes[0], start, "autoencoder + k-means"),
                         (axes[1], dec, "DEC after self-training")):
    Z = PCA(2, random_state=0).fit_transform(model.transform(X))
    ax.scatter(Z[:, 0], Z[:, 1], c=model.labels_, cmap="tab10", s=6)
    ax.set_title(f"{title}: ACC {clustering_accuracy(y, model.labels_):.3f}")
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()
