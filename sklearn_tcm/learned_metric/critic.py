"""The critic: a learned clustering-quality score, and how it is trained.

Training material is a list of *tasks* (:mod:`.tasks`): a labelled
sub-problem (points and their true clustering) with a set of competing
candidate clusterings (its seed negatives, later also the solutions of the
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

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "Critic",
    "rank_loss",
    "wgan_loss",
    "ranking_metrics",
]


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
