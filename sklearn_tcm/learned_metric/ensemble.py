"""Learned metrics of independent fits combined into one metric.

Two fits of the same recipe on the same references differ (their tasks,
initialisations and adversarial rounds are drawn anew), and so do the
partitions they prefer. :func:`stack_metrics` combines fits into one
:class:`~sklearn_tcm.LearnedMetricClustering` whose score is the mean of
the fits' scores: each fit embeds a clustering's graph with its own graph
auto-encoder (:class:`StackedGAE`) and scores it with its own critics
(:class:`StackedCritic`) and regressor, if it has one, whose scores are
already standardised on their training candidates, so they average in the
same units. The combined metric is used, saved and loaded as any fitted
metric.
"""

import copy

import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .gae import normalised_adjacency

__all__ = ["StackedCritic", "StackedGAE", "stack_metrics"]

#: What the fits of one ensemble must share: the graphs they read and how they score.
_SHARED = ("graph_scalars_", "pooled_embedding_", "n_critics_", "critic_hidden", "max_points",
           "n_subsamples", "points_per_cluster", "caution", "regressor")


class StackedGAE(nn.Module):
    """The graph auto-encoders of several fits side by side: their embeddings concatenated.

    Parameters
    ----------
    members : list of GraphAutoEncoder
        The same node features and graph scalars in each.
    """

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.n_graph_scalars = members[0].n_graph_scalars
        self.pooled = members[0].pooled
        self.sizes = [member.embedding_size for member in members]
        self.embedding_size = sum(self.sizes)

    def embed(self, features, adjacency, graph_scalars, inplace=False):
        """Each member's embedding of the same graphs, concatenated: (B, embedding_size)."""
        propagation = normalised_adjacency(adjacency, inplace=inplace)
        return torch.cat([member.embed_propagated(features, propagation,
                                                  member.standardise(graph_scalars))
                          for member in self.members], dim=-1)


class StackedCritic(nn.Module):
    """The critic ensembles of several fits; the score is the mean of theirs.

    Parameters
    ----------
    members : list of CriticEnsemble
    sizes : list of int
        The embedding size each member reads, in the order of
        :class:`StackedGAE`'s concatenation.
    """

    def __init__(self, members, sizes):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.sizes = list(sizes)

    @property
    def n_members(self):
        return sum(member.n_members for member in self.members)

    def forward(self, embeddings, caution=0.0):
        parts = embeddings.split(self.sizes, dim=-1)
        return torch.stack([member(part, caution) for member, part
                            in zip(self.members, parts)], dim=-1).mean(dim=-1)


def stack_metrics(metrics):
    """One learned metric from independent fits: the mean of their scores.

    Parameters
    ----------
    metrics : list of LearnedMetricClustering
        Fitted metrics of one recipe (the same graph inputs, number of
        critics, ``max_points``, ``n_subsamples``, ``caution`` and
        ``regressor``); each may itself be a stack.

    Returns
    -------
    stacked : LearnedMetricClustering
        A fitted metric (a copy of the first, whose graph auto-encoder and
        critics are those of every fit, ``n_fits_`` of them);
        ``training_data_`` lists each fit's under ``"fits"``. The metrics
        given are not changed.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_tcm import LearnedMetricClustering
    >>> from sklearn_tcm.learned_metric import stack_metrics
    >>> X, y = make_blobs(200, centers=4, random_state=0)
    >>> fits = [LearnedMetricClustering(n_tasks=4, synthetic_tasks=2, gae_epochs=1,
    ...                                 critic_epochs=2, adversarial_rounds=0,
    ...                                 random_state=seed).fit(X, y) for seed in (0, 1)]
    >>> stack_metrics(fits).n_fits_
    2
    """
    from .estimator import LearnedMetricClustering

    if not metrics or not all(isinstance(m, LearnedMetricClustering) for m in metrics):
        raise TypeError("stack_metrics takes a non-empty list of LearnedMetricClustering.")
    for metric in metrics:
        check_is_fitted(metric, "critic_")
    for name in _SHARED:
        values = [getattr(metric, name) for metric in metrics]
        if any(value != values[0] for value in values[1:]):
            raise ValueError(f"The metrics differ in {name} ({values}); only fits of one "
                             "recipe can be stacked.")
    gaes, critics = [], []
    for metric in metrics:  # a stack's fits join as fits of their own
        gaes += list(getattr(metric.gae_, "members", [metric.gae_]))
        critics += list(metric.critic_.members if isinstance(metric.critic_, StackedCritic)
                        else [metric.critic_])
    stacked = copy.deepcopy(metrics[0])
    stacked.gae_ = StackedGAE(copy.deepcopy(gaes)).eval()
    stacked.critic_ = StackedCritic(copy.deepcopy(critics), stacked.gae_.sizes).eval()
    stacked.n_fits_ = len(gaes)
    stacked.training_data_ = {"fits": [getattr(metric, "training_data_", None)
                                       for metric in metrics]}
    # the first fit's own clustering of its references is not the stack's
    vars(stacked).pop("labels_", None)
    return stacked
