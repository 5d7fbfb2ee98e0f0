"""A gradient-boosted regressor of each partition's ARI, scored beside the critic.

MetaIVM (a meta-learned validity index) regresses each candidate
partition's agreement with the truth on per-partition features with
gradient-boosted trees. Here the features are what the critic itself
reads: the frozen graph embedding of the partition, with the graph summary
and the classical indices beside it. :func:`fit_regressor` trains scikit-learn's
``HistGradientBoostingRegressor`` on the metric's own training candidates
(those of the adversarial rounds included) once the critic is trained, and
converts its trees into a :class:`TreeRegressor`: a torch module whose
buffers hold the trees, so the regressor is saved in the safe model
format, moves to a device and scores batches as the critic does. Its
prediction is standardised over the training candidates, as each critic's
score is, and :class:`CriticWithRegressor` scores a partition by the mean
of the two.
"""

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingRegressor
from torch import nn

from .._sklearn_compat import hist_gradient_boosting_trees
from .critic import candidate_agreement, ranking_metrics

__all__ = ["CriticWithRegressor", "TreeRegressor", "fit_regressor"]

_NODE_BUFFERS = {"feature": torch.long, "threshold": torch.float64,
                 "missing_left": torch.bool, "left": torch.long, "right": torch.long,
                 "value": torch.float64, "roots": torch.long}


class TreeRegressor(nn.Module):
    """Regression trees held as tensors: the sum of their leaves, standardised.

    All trees' nodes are stored in flat buffers (``feature``,
    ``threshold``, ``missing_left``, ``left``, ``right``, ``value``);
    ``roots`` holds each tree's first node, and a leaf's ``left`` and
    ``right`` point to itself. The prediction is ``baseline`` plus the
    leaves' values, then ``(prediction - loc) / scale``. Built empty and
    filled by :meth:`from_trees` or by loading a state dict (the buffers
    take the loaded shapes).
    """

    def __init__(self):
        super().__init__()
        for name, dtype in _NODE_BUFFERS.items():
            self.register_buffer(name, torch.zeros(0, dtype=dtype))
        for name, value in (("baseline", 0.0), ("loc", 0.0), ("scale", 1.0)):
            self.register_buffer(name, torch.tensor(value, dtype=torch.float64))

    @classmethod
    def from_trees(cls, trees, baseline):
        """The module of fitted trees (``hist_gradient_boosting_trees``' output)."""
        module = cls()
        sizes = [len(tree["feature"]) for tree in trees]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        flat = {}
        for name in ("feature", "threshold", "missing_left", "value"):
            flat[name] = np.concatenate([tree[name] for tree in trees])
        for name in ("left", "right"):
            # a leaf points to itself, so that every tree can be walked the same number of steps
            flat[name] = np.concatenate([
                np.where(tree["is_leaf"], np.arange(len(tree["is_leaf"])), tree[name]) + offset
                for tree, offset in zip(trees, offsets)])
        flat["roots"] = offsets
        for name, dtype in _NODE_BUFFERS.items():
            setattr(module, name, torch.as_tensor(flat[name], dtype=dtype))
        module.baseline = torch.tensor(float(baseline), dtype=torch.float64)
        return module

    @property
    def n_trees(self):
        return int(self.roots.numel())

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in _NODE_BUFFERS:  # the trees' sizes are those of the file
            if prefix + name in state_dict:
                self._buffers[name] = torch.empty_like(state_dict[prefix + name],
                                                       device=self._buffers[name].device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def predict(self, features):
        """Raw predictions, float64, of features of shape (B, n_features)."""
        x = features.to(torch.float64)
        node = self.roots.expand(x.shape[0], -1)
        while True:  # one level of every tree per step, until all have reached a leaf
            values = x.gather(1, self.feature[node])
            left = torch.where(values.isnan(), self.missing_left[node],
                               values <= self.threshold[node])
            step = torch.where(left, self.left[node], self.right[node])
            if torch.equal(step, node):
                break
            node = step
        return self.baseline + self.value[node].sum(dim=1)

    def forward(self, features):
        """Standardised predictions, shape (B,), in the features' dtype."""
        return ((self.predict(features) - self.loc) / self.scale).to(features.dtype)

    @torch.no_grad()
    def standardise(self, features):
        """Set ``loc`` / ``scale`` from the predictions on candidate features (B, n_features)."""
        predictions = self.predict(features)
        self.loc.copy_(predictions.mean())
        self.scale.copy_(predictions.std().clamp(min=1e-6))


class CriticWithRegressor(nn.Module):
    """A critic ensemble and a tree regressor reading the same embedding: the mean of their scores.

    Parameters
    ----------
    critic : CriticEnsemble
    regressor : TreeRegressor
        Standardised on the critic's training candidates.
    """

    def __init__(self, critic, regressor):
        super().__init__()
        self.critic = critic
        self.regressor = regressor

    @property
    def n_members(self):
        return self.critic.n_members

    def forward(self, embeddings, caution=0.0):
        return 0.5 * (self.critic(embeddings, caution) + self.regressor(embeddings))


def fit_regressor(train_embeddings, train_tasks, *, seed=0):
    """A :class:`TreeRegressor` of each training candidate's ARI on its embedding.

    Parameters
    ----------
    train_embeddings : list of Tensor
        Per task, the embeddings of its candidates (truth first), shape
        (n_candidates, embedding_size).
    train_tasks : list of dict
        The tasks, in the same order (their candidates' ``weights``, one minus
        the ARI with the truth).
    seed : int, default=0
        ``random_state`` of the ``HistGradientBoostingRegressor`` (its
        early-stopping split).

    Returns
    -------
    regressor : TreeRegressor
        On the CPU, standardised over the training candidates.
    """
    features = torch.cat([e.detach().cpu() for e in train_embeddings])
    targets = np.concatenate([candidate_agreement(task) for task in train_tasks])
    model = HistGradientBoostingRegressor(random_state=seed)
    model.fit(features.numpy().astype(np.float64), targets)
    regressor = TreeRegressor.from_trees(*hist_gradient_boosting_trees(model))
    regressor.standardise(features)
    return regressor.eval()


@torch.no_grad()
def validation_regret(critic, combined, embeddings, tasks):
    """Validation regret (and MRR) of the critic alone and of the critic with its regressor."""
    agreements = [candidate_agreement(task) for task in tasks]
    result = {}
    for name, scorer in (("critic", critic), ("critic_and_regressor", combined)):
        scores = [scorer(e).cpu().numpy() for e in embeddings]
        figures = ranking_metrics(scores, agreements, spearman=False)
        result[name] = {"regret": figures["regret"], "mrr": figures["mrr"]}
    return result
