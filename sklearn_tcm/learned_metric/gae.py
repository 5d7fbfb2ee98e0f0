"""Graph auto-encoder (Kipf & Welling 2016) and pooling to a graph embedding.

A two-layer GCN encodes each node of a clustering graph into a Gaussian
``(mu, log sigma)``; an inner-product decoder reconstructs the edges and a
linear head the node features. The graph embedding pools the node means
(mean, max and standard deviation over nodes) and appends the graph scalars
of :func:`~sklearn_tcm.learned_metric.graph.clustering_graphs`, so it has a
fixed size whatever the number of points or the input dimension.
"""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .._torch import make_generator, train_loop
from .graph import (
    GLOBAL_FEATURES,
    NODE_FEATURES,
    build_context,
    clustering_graphs,
)

__all__ = ["GraphAutoEncoder", "normalised_adjacency", "task_graphs", "embed_task",
           "train_gae"]


def normalised_adjacency(adjacency, inplace=False):
    """GCN propagation matrix ``D^-1/2 (A + I) D^-1/2`` for a batch of graphs.

    ``inplace=True`` overwrites ``adjacency`` with it: the same values
    without a second batch of dense matrices in memory.
    """
    with_loops = adjacency if inplace else adjacency.clone()
    with_loops.diagonal(dim1=-2, dim2=-1).add_(1)
    inv_sqrt = with_loops.sum(dim=-1).rsqrt()
    return with_loops.mul_(inv_sqrt.unsqueeze(-1)).mul_(inv_sqrt.unsqueeze(-2))


class GraphAutoEncoder(nn.Module):
    """Variational graph auto-encoder with a node-feature reconstruction head.

    Parameters
    ----------
    n_node_features : int
        Node features per node.
    n_graph_scalars : int
        Graph scalars appended to the pooled embedding: the first
        ``n_graph_scalars`` columns of the scalars it is given (metrics
        fitted before the classical indices use the first 5).
    hidden : int, default=32
        Width of the first GCN layer.
    latent : int, default=16
        Dimension of the node embeddings ``mu``.
    pooled : bool, default=True
        Whether the embedding holds the pooled node embeddings; False keeps
        the graph scalars only (the ablation "indices only").
    """

    def __init__(self, n_node_features, n_graph_scalars, hidden=32, latent=16, pooled=True):
        super().__init__()
        self.n_graph_scalars = n_graph_scalars
        self.pooled = pooled
        self.gcn_hidden = nn.Linear(n_node_features, hidden)
        self.gcn_mu = nn.Linear(hidden, latent)
        self.gcn_log_sigma = nn.Linear(hidden, latent)
        self.feature_head = nn.Linear(latent, n_node_features)
        # standardisation of the inputs, fitted on training graphs
        self.register_buffer("feature_mean", torch.zeros(n_node_features))
        self.register_buffer("feature_std", torch.ones(n_node_features))
        self.register_buffer("scalar_mean", torch.zeros(n_graph_scalars))
        self.register_buffer("scalar_std", torch.ones(n_graph_scalars))
        self.embedding_size = 3 * latent * pooled + n_graph_scalars

    def fit_scaling(self, features, graph_scalars):
        """Set the input standardisation from training node features and scalars."""
        flat = features.reshape(-1, features.shape[-1])
        self.feature_mean.copy_(flat.mean(dim=0))
        self.feature_std.copy_(flat.std(dim=0).clamp(min=1e-6))
        graph_scalars = graph_scalars[..., :self.n_graph_scalars]
        self.scalar_mean.copy_(graph_scalars.mean(dim=0))
        self.scalar_std.copy_(graph_scalars.std(dim=0).clamp(min=1e-6))

    def standardise(self, graph_scalars):
        """The graph scalars this encoder reads, standardised."""
        return (graph_scalars[..., :self.n_graph_scalars] - self.scalar_mean) / self.scalar_std

    def encode(self, features, propagation, mean_only=False):
        """Node means and log standard deviations, shape (B, n, latent) each.

        ``mean_only=True`` returns the means alone (what the embedding reads).
        """
        x = (features - self.feature_mean) / self.feature_std
        hidden = F.relu(propagation @ self.gcn_hidden(x))
        if mean_only:
            return propagation @ self.gcn_mu(hidden)
        # both heads propagated in one product (one pass over the dense propagation)
        weight = torch.cat([self.gcn_mu.weight, self.gcn_log_sigma.weight])
        bias = torch.cat([self.gcn_mu.bias, self.gcn_log_sigma.bias])
        return (propagation @ F.linear(hidden, weight, bias)).chunk(2, dim=-1)

    def embed(self, features, adjacency, graph_scalars, inplace=False):
        """Fixed-size graph embeddings, shape (B, embedding_size).

        ``inplace=True`` overwrites ``adjacency`` with its propagation
        matrices (see :func:`normalised_adjacency`).
        """
        scalars = self.standardise(graph_scalars)
        if not self.pooled:
            return scalars
        return self.embed_propagated(
            features, normalised_adjacency(adjacency, inplace=inplace), scalars)

    def embed_propagated(self, features, propagation, scalars):
        """:meth:`embed` from the propagation matrices and standardised scalars."""
        if not self.pooled:
            return scalars
        mu = self.encode(features, propagation, mean_only=True)
        return torch.cat(
            [mu.mean(dim=1), mu.max(dim=1).values, mu.std(dim=1, unbiased=False), scalars],
            dim=-1,
        )

    def loss(self, features, adjacency, generator=None):
        """Edge BCE (positive-weighted) + KL + node-feature reconstruction (MSE)."""
        return self.prepared_loss(self.loss_inputs(features, adjacency), generator)

    @staticmethod
    def loss_inputs(features, adjacency, inplace=False):
        """What :meth:`prepared_loss` needs of a batch of graphs, constant over epochs
        (training computes it once per task, in place of the adjacency): the
        features, the propagation matrix, the edge targets (an edge wherever
        ``A + I > 0`` off the diagonal) and the weight of an edge against a non-edge
        in each graph (non-edges / edges). ``inplace=True`` overwrites
        ``adjacency`` with the propagation matrix."""
        propagation = normalised_adjacency(adjacency, inplace=inplace)
        n = propagation.shape[-1]
        off_diagonal = ~torch.eye(n, dtype=torch.bool, device=propagation.device)
        edges = (propagation > 0) & off_diagonal  # kept as bool: a quarter of the memory
        n_edges = edges.sum(dim=(1, 2), keepdim=True).clamp(min=1).to(features.dtype)
        return features, propagation, edges, (n * n - n_edges) / n_edges

    def prepared_loss(self, inputs, generator=None):
        """The loss of :meth:`loss` from :meth:`loss_inputs`."""
        features, propagation, edges, pos_weight = inputs
        target = edges.to(features.dtype)
        mu, log_sigma = self.encode(features, propagation)
        noise = torch.randn(mu.shape, generator=generator, dtype=mu.dtype).to(mu.device)
        z = mu + noise * log_sigma.exp()
        logits = z @ z.transpose(1, 2)
        edge_loss = F.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight)
        kl = -0.5 * torch.mean(
            torch.sum(1 + 2 * log_sigma - mu.pow(2) - (2 * log_sigma).exp(), dim=-1)
        ) / target.shape[1]
        standardised = (features - self.feature_mean) / self.feature_std
        feature_loss = F.mse_loss(self.feature_head(z), standardised)
        return edge_loss + kl + feature_loss


def task_graphs(task, device, n_scalars=None):
    """Graphs of every labelling of a task: (features, adjacency, scalars) on ``device``."""
    context = build_context(task["X"], dtype=torch.float32)
    features, adjacency, scalars = clustering_graphs(context, task["labels"], n_scalars)
    return features.to(device), adjacency.to(device), scalars.to(device)


@torch.no_grad()
def embed_task(gae, task, device):
    """Graph embeddings of every labelling of a task, shape (n_labellings, size)."""
    return gae.embed(*task_graphs(task, device, gae.n_graph_scalars), inplace=True)


def train_gae(tasks, device, *, n_epochs=20, learning_rate=1e-2, seed=0, verbose=0,
              n_graph_scalars=None, pooled=True, labellings_per_step=8):
    """A :class:`GraphAutoEncoder` trained on the graphs of training tasks.

    The input standardisation is fitted on the tasks' graphs first; then
    each epoch takes one optimiser step per task, in a seeded random order,
    on at most ``labellings_per_step`` of its labellings' graphs drawn at
    random (``None``: all of them). A task's labellings share its points, so
    a few of them per step are a minibatch of the same graphs; the step's
    cost grows with their number. ``n_graph_scalars`` and ``pooled`` are
    those of :class:`GraphAutoEncoder` (None: every scalar of
    :data:`~.graph.GLOBAL_FEATURES`).

    Returns
    -------
    gae : GraphAutoEncoder
        In eval mode, on ``device``.
    history : list of dict
        Per epoch, the mean loss.
    embeddings : list of Tensor
        The trained encoder's embedding of every labelling of each task, as
        :func:`embed_task` gives it (from the graphs built here, not twice).
    """
    if n_graph_scalars is None:
        n_graph_scalars = len(GLOBAL_FEATURES)
    gae = GraphAutoEncoder(len(NODE_FEATURES), n_graph_scalars, pooled=pooled).to(device)
    graphs = [task_graphs(task, device, n_graph_scalars) for task in tasks]
    gae.fit_scaling(torch.cat([f.reshape(-1, f.shape[-1]) for f, _, _ in graphs]),
                    torch.cat([s for _, _, s in graphs]))
    optimizer = torch.optim.Adam(gae.parameters(), lr=learning_rate, foreach=True)
    generator = make_generator(seed)
    order_rng = np.random.default_rng(seed)
    # propagation matrices in place of the adjacencies (one task at a time, so the
    # memory does not double): computed once, not at every step
    inputs, scalars = [], []
    while graphs:
        features, adjacency, graph_scalars = graphs.pop(0)
        inputs.append(gae.loss_inputs(features, adjacency, inplace=True))
        scalars.append(graph_scalars)

    def step(index):
        chosen = order_rng.permutation(len(inputs[index][0]))[:labellings_per_step]
        chosen = torch.as_tensor(np.sort(chosen), device=inputs[index][0].device)
        return gae.prepared_loss([part[chosen] for part in inputs[index]],
                                 generator=generator)

    history = train_loop(
        gae, optimizer, n_epochs, lambda epoch: order_rng.permutation(len(inputs)), step,
        desc="graph auto-encoder", verbose=verbose,
    )
    gae.eval()
    with torch.no_grad():
        embeddings = [gae.embed_propagated(features, propagation, gae.standardise(raw))
                      for (features, propagation, _, _), raw in zip(inputs, scalars)]
    return gae, history, embeddings
