"""
==============================================
Learning to Cluster 2-D sets: a short training
==============================================

:class:`sklearn_tcm.L2CClustering` reads a whole set of points and returns
its clustering *and* its number of clusters. It is trained on labelled sets
(``groups`` says which set each point belongs to) and then clusters sets it
has never seen. This example trains the default network for only a few
hundred iterations (about a minute on a CPU; the benchmark trains for much
longer), then shows the validation curves and the predictions on fresh sets.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_tcm import L2CClustering, make_l2c_points, misclassification_rate

X, y, groups = make_l2c_points(2000, random_state=0)
model = L2CClustering(max_iter=250, validation_interval=50, random_state=0).fit(
    X, y, groups=groups)

X_test, y_test, test_groups = make_l2c_points(8, random_state=1)
fig = plt.figure(figsize=(12, 6))
curve = fig.add_subplot(2, 5, (1, 6))
iterations = [h["iteration"] for h in model.history_]
curve.plot(iterations, [h["validation_mr"] for h in model.history_], "o-",
           label="misclassification rate")
curve.plot(iterations, [h["validation_k_accuracy"] for h in model.history_], "s-",
           label="k found exactly")
curve.set(xlabel="iteration", title="validation sets")
curve.legend()
for index, position in enumerate([2, 3, 4, 5, 7, 8, 9, 10]):
    ax = fig.add_subplot(2, 5, position)
    in_set = test_groups == index
    labels = model.predict(X_test[in_set])
    ax.scatter(*X_test[in_set].T, c=labels, cmap="tab10", vmin=0, vmax=9, s=10)
    ax.set(xlim=(0, 1), ylim=(0, 1), xticks=[], yticks=[], aspect="equal")
    ax.set_title(f"k {np.unique(y_test[in_set]).size} -> {np.unique(labels).size}, "
                 f"MR {misclassification_rate(y_test[in_set], labels):.2f}", fontsize=8)
fig.tight_layout()
plt.show()
