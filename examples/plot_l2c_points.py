"""
===========================================
The 2-D shape sets of "Learning to Cluster"
===========================================

:func:`sklearn_tcm.datasets.make_l2c_points` draws sets of 72 points in the
unit square, each split into 1 to 5 equal-sized clusters made of rings,
concentric rings, half-moons, interleaved moons and Gaussian blobs. These are
the training and test sets of :class:`sklearn_tcm.L2CClustering`. Each panel
below is one set, coloured by its true clusters.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_tcm.datasets import make_l2c_points

n_sets = 12
X, y, groups = make_l2c_points(n_sets=n_sets, random_state=0)

fig, axes = plt.subplots(3, 4, figsize=(10, 7.5))
for set_index, ax in enumerate(axes.ravel()):
    in_set = groups == set_index
    ax.scatter(*X[in_set].T, c=y[in_set], cmap="tab10", vmin=0, vmax=9, s=12)
    ax.set(xlim=(0, 1), ylim=(0, 1), xticks=[], yticks=[], aspect="equal")
    ax.set_title(f"k = {np.unique(y[in_set]).size}")
fig.suptitle("make_l2c_points: 12 sets of 72 points")
fig.tight_layout()
plt.show()
