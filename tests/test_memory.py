"""predict never allocates an n x n array (checked where one would be obvious)."""

import resource

import numpy as np
from sklearn.datasets import make_blobs

from sklearn_tcm import DECClustering, LearnedMetricClustering

N = 30000  # an n x n float32 array would take 3.6 GB


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_dec_and_learned_metric_predict_memory_is_linear():
    X, y = make_blobs(n_samples=N, centers=5, n_features=20, random_state=0)
    dec = DECClustering(5, hidden_dims=(16,), n_components=3, pretrain_epochs=1,
                        max_iter=5, n_init=1, random_state=0).fit(X[:500])
    lmc = LearnedMetricClustering(n_tasks=3, synthetic_tasks=3, size_range=(5, 8), gae_epochs=1,
                                  critic_epochs=2, adversarial_rounds=0,
                                  validation_searches=1, n_generations=1, population_size=4,
                                  random_state=0).fit(X[:600], y[:600])
    X = X.astype(np.float32)
    start = _peak_mb()
    assert dec.predict(X).shape == (N,)
    assert lmc.predict(X).shape == (N,)
    assert _peak_mb() - start < 1000
