"""predict never allocates an n x n array (checked where one would be obvious).

Memory is measured as the growth of the peak resident set size of a fresh
Python process, so it sees every allocation (numpy, torch, BLAS) and does
not depend on what other tests ran before.
"""

import json
import subprocess
import sys

import pytest

# second tier: CI runs it after the fast tests (-m 'integration and not slow')
pytestmark = pytest.mark.integration

N = 30000  # an n x n float32 array would take 3.6 GB

_SCRIPT = """
import json, resource, sys
import numpy as np
from sklearn.datasets import make_blobs
from sklearn_tcm import CriticClustering, DECClustering, LearnedMetricClustering

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

N = int(sys.argv[1])
X, y = make_blobs(n_samples=N, centers=5, n_features=20, random_state=0)
dec = DECClustering(5, hidden_dims=(16,), n_components=3, pretrain_epochs=1,
                    max_iter=5, n_init=1, random_state=0).fit(X[:500])
lmc = LearnedMetricClustering(n_tasks=3, synthetic_tasks=3, size_range=(5, 8), gae_epochs=1,
                              n_critics=1, critic_epochs=2, adversarial_rounds=0,
                              random_state=0).fit(X[:600], y[:600])
X = X.astype(np.float32)
growth = {}
for name, predict in (("dec", dec.predict),
                      ("select", lmc.predict),
                      ("evolve", CriticClustering(lmc, search="evolve").fit_predict)):
    start = peak_mb()
    labels = predict(X)
    assert labels.shape == (N,)
    growth[name] = peak_mb() - start
print(json.dumps(growth))
"""


def _peak_growth_mb(n):
    result = subprocess.run([sys.executable, "-c", _SCRIPT, str(n)], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_predict_memory_is_linear_in_a_fresh_process():
    growth = _peak_growth_mb(N)
    # 30 000 points: an n x n array would add 3 600 MB at least
    assert all(value < 1000 for value in growth.values()), growth
