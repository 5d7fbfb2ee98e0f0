"""The critic: a learned clustering-quality score, and how it is trained.

Training material is a list of *tasks*: a labelled sub-problem (points and
their true clustering) with a set of competing candidate clusterings (the
seed negatives of :func:`seed_negatives`, later also the solutions of the
evolutionary search). Each candidate is embedded by the graph auto-encoder;
the critic, an MLP on that embedding, is trained so the truth scores above
its competitors:

* ``objective="rank"`` (default): per task, listwise softmax cross-entropy
  with the truth as the target among its candidates;
* ``objective="wgan"``: the Wasserstein critic of Alami et al. (2023), mean
  over negatives of ``D(neg) - D(truth)`` with negatives weighted by
  ``1 - ARI(neg, truth)``, plus a gradient penalty (lambda = 10) on
  interpolates between truth and negative embeddings.
"""

import warnings

import numpy as np
import torch
from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from torch import nn
from torch.nn import functional as F

from .graph import canonical_labels

__all__ = [
    "Critic",
    "preprocess_task",
    "seed_negatives",
    "deduplicate",
    "ranking_metrics",
]

_NEAR_TRUTH_ARI = 0.95
_DUPLICATE_ARI = 0.99


def preprocess_task(X, max_components=50, random_state=None):
    """Centre, project on at most 50 principal components, unit mean squared norm.

    Never standardises features one by one (per-pixel standardisation
    destroys the cluster structure of images).
    """
    X = np.asarray(X, dtype=np.float64)
    X = X - X.mean(axis=0)
    n_components = min(max_components, X.shape[0], X.shape[1])
    if n_components < X.shape[1]:
        X = PCA(n_components, random_state=random_state).fit_transform(X)
    norm = np.sqrt(np.mean(np.sum(X**2, axis=1)))
    return X / norm if norm > 0 else X


def _reassign(truth, fraction, rng):
    labels = truth.copy()
    k = truth.max() + 1
    chosen = rng.choice(truth.size, size=max(1, int(fraction * truth.size)), replace=False)
    labels[chosen] = (labels[chosen] + rng.integers(1, max(k, 2), size=chosen.size)) % max(k, 2)
    return labels


def seed_negatives(X, truth, random_state=None):
    """Competing clusterings of a labelled task (the seed-negative families).

    k-means with k* - 1 .. k* + 2 clusters and a second seed at k*; k-means
    started at the true centroids (the hardest competitor: the truth refined
    towards compact clusters); Ward, average and complete linkage, a
    Gaussian mixture and spectral clustering at k*; the truth with 5 %,
    15 % and 30 % of the labels reassigned; the truth with its two closest
    clusters merged; the truth with its largest cluster split in two; and
    random labels.

    Returns
    -------
    candidates : list of (family, labels)
    """
    rng = np.random.default_rng(random_state)
    truth = canonical_labels(truth)[0]
    k = int(truth.max()) + 1
    n = truth.size
    seed = int(rng.integers(2**31 - 1))
    candidates = []
    for kk in range(max(2, k - 1), min(k + 2, n - 1) + 1):
        candidates.append((f"kmeans_k{kk - k:+d}",
                           KMeans(kk, n_init=3, random_state=seed).fit_predict(X)))
    candidates.append(("kmeans_seed2", KMeans(k, n_init=1, random_state=seed + 1)
                       .fit_predict(X)))
    centroids = np.stack([X[truth == c].mean(axis=0) for c in range(k)])
    candidates.append(("kmeans_from_truth",
                       KMeans(k, init=centroids, n_init=1).fit_predict(X)))
    if k >= 2:
        for linkage in ("ward", "average", "complete"):
            candidates.append((linkage, AgglomerativeClustering(k, linkage=linkage)
                               .fit_predict(X)))
        candidates.append(("gmm", GaussianMixture(k, covariance_type="diag",
                                                  random_state=seed).fit(X).predict(X)))
        with warnings.catch_warnings():
            # a disconnected kNN graph is expected when clusters are far apart
            warnings.filterwarnings("ignore", "Graph is not fully connected")
            warnings.filterwarnings("ignore", "The spectral clustering API has changed")
            candidates.append(("spectral", SpectralClustering(
                k, affinity="nearest_neighbors", n_neighbors=min(10, n - 1),
                random_state=seed, assign_labels="cluster_qr").fit_predict(X)))
    for fraction in (0.05, 0.15, 0.30):
        candidates.append((f"reassign_{int(fraction * 100)}", _reassign(truth, fraction, rng)))
    if k >= 3:
        dist = np.linalg.norm(centroids[:, None] - centroids[None], axis=-1)
        dist[np.diag_indices(k)] = np.inf
        a, b = np.unravel_index(np.argmin(dist), dist.shape)
        candidates.append(("merge", np.where(truth == b, a, truth)))
    largest = np.argmax(np.bincount(truth))
    members = np.flatnonzero(truth == largest)
    if members.size >= 4:
        split = truth.copy()
        halves = KMeans(2, n_init=3, random_state=seed).fit_predict(X[members])
        split[members[halves == 1]] = k
        candidates.append(("split", split))
    candidates.append(("random", rng.integers(0, k, size=n)))
    return candidates


def deduplicate(truth, candidates):
    """Drop near-truth candidates (ARI > 0.95) and duplicates (ARI > 0.99)."""
    kept = []
    for family, labels in candidates:
        if np.unique(labels).size < 2 and np.unique(truth).size >= 2 and family != "random":
            continue
        if adjusted_rand_score(truth, labels) > _NEAR_TRUTH_ARI:
            continue
        if any(adjusted_rand_score(other, labels) > _DUPLICATE_ARI for _, other in kept):
            continue
        kept.append((family, labels))
    return kept


class Critic(nn.Module):
    """MLP scoring a graph embedding (LeakyReLU, no batch normalisation)."""

    def __init__(self, n_inputs, hidden=(64, 64)):
        super().__init__()
        layers, size = [], n_inputs
        for width in hidden:
            layers += [nn.Linear(size, width), nn.LeakyReLU(0.2)]
            size = width
        layers.append(nn.Linear(size, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, embeddings):
        return self.net(embeddings).squeeze(-1)


def rank_loss(scores):
    """Listwise softmax cross-entropy; the truth is candidate 0."""
    return -F.log_softmax(scores, dim=0)[0]


def wgan_loss(critic, embeddings, weights, penalty=10.0, generator=None):
    """Weighted Wasserstein critic loss with gradient penalty; truth is row 0."""
    scores = critic(embeddings)
    truth, negatives = scores[0], scores[1:]
    loss = torch.sum(weights * (negatives - truth)) / weights.sum().clamp(min=1e-12)
    alpha = torch.rand((negatives.shape[0], 1), generator=generator,
                       dtype=embeddings.dtype).to(embeddings.device)
    interpolates = (alpha * embeddings[:1] + (1 - alpha) * embeddings[1:]).requires_grad_(True)
    gradients = torch.autograd.grad(critic(interpolates).sum(), interpolates,
                                    create_graph=True)[0]
    return loss + penalty * (gradients.norm(dim=1) - 1).pow(2).mean()


def ranking_metrics(scores_per_task):
    """Best, Top-3 and MRR of the truth (index 0) over tasks' score vectors."""
    ranks = np.array([1 + int(np.sum(np.asarray(s)[1:] >= np.asarray(s)[0]))
                      for s in scores_per_task])
    return {
        "best": float(np.mean(ranks == 1)),
        "top3": float(np.mean(ranks <= 3)),
        "mrr": float(np.mean(1.0 / ranks)),
    }
