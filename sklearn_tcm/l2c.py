"""L2CClustering: learning to cluster sets, with the number of clusters.

Meier, Stadelmann & Dürr (2018): a network reads a whole *set* of examples
and outputs, for every possible number of clusters k <= k_max, a soft
assignment of each example to k clusters, plus a distribution P(k) over the
number of clusters. It is trained on labelled sets with a pairwise loss:
the probability that two examples share a cluster,
``P_ij = sum_k P(k) sum_l P(l | x_i, k) P(l | x_j, k)``, is fitted to the
truth with a weighted binary cross-entropy, and P(k) with a categorical
cross-entropy. Once trained on some classes, it clusters sets of examples
from classes it never saw.
"""

import copy
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClusterMixin
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import normalized_mutual_info_score
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn
from torch.nn import functional as F

from ._base import TorchEstimator, densify, split_classes
from ._sklearn_compat import Interval, StrOptions
from ._torch import inference_device, module_to_cpu, train_loop
from .metrics import misclassification_rate

__all__ = ["L2CClustering", "pair_weights"]

#: Architecture presets: set encoder, its layers and units (per direction for
#: the BiLSTM; half the model width for attention) and the count head's units.
ARCHITECTURES = {
    "small": {"encoder": "lstm", "lstm_layers": 4, "lstm_units": 64, "count_units": 64},
    "paper": {"encoder": "lstm", "lstm_layers": 14, "lstm_units": 144, "count_units": 128},
    "attention": {"encoder": "attention", "lstm_layers": 4, "lstm_units": 64,
                  "count_units": 64},
}


def pair_weights(phi):
    """Weights ``(w_same, w_different)`` of the pairwise loss.

    ``w1 = c sqrt(1 - phi)`` for pairs in the same cluster and
    ``w0 = c sqrt(phi)`` otherwise, with ``c = 2 / (sqrt(phi) + sqrt(1 - phi))``
    and ``phi`` the expected fraction of same-cluster pairs: the rarer kind of
    pair weighs more, and ``phi w1 + (1 - phi) w0`` stays close to 1.

    Examples
    --------
    >>> from sklearn_tcm.l2c import pair_weights
    >>> [round(w, 3) for w in pair_weights(0.25)]
    [1.268, 0.732]
    """
    if not 0 < phi < 1:
        raise ValueError(f"phi must be in (0, 1), got {phi}.")
    c = 2.0 / (math.sqrt(phi) + math.sqrt(1 - phi))
    return c * math.sqrt(1 - phi), c * math.sqrt(phi)


class _CNN(nn.Module):
    """Small image encoder: two conv-pool blocks and a dense layer."""

    def __init__(self, input_shape, n_outputs):
        super().__init__()
        self.input_shape = tuple(input_shape) if len(input_shape) == 3 else \
            (1, *input_shape)
        channels, height, width = self.input_shape
        self.net = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * (height // 4) * (width // 4), n_outputs), nn.ReLU(),
        )

    def forward(self, x):
        return self.net(x.reshape(-1, *self.input_shape))


class _BiLSTMSetEncoder(nn.Module):
    """The paper's set encoder: residual BiLSTMs, and a BiLSTM for the count.

    ``forward(h)`` maps ``(B, n, width)`` to the encoded points ``(B, n,
    width)`` and a pooled set summary ``(B, 2 * count_units)`` (the count
    BiLSTM's final states, run over the input of the last layer).
    """

    #: The output depends on the order of the points in the set.
    order_invariant = False

    def __init__(self, width, n_layers, count_units):
        super().__init__()
        self.layers = nn.ModuleList([
            nn.LSTM(width, width // 2, batch_first=True, bidirectional=True)
            for _ in range(n_layers)
        ])
        self.count = nn.LSTM(width, count_units, batch_first=True, bidirectional=True)

    def forward(self, h):
        before_last = h
        for index, layer in enumerate(self.layers):
            if index == len(self.layers) - 1:
                before_last = h
            h = h + layer(h)[0]
        _, (final, _) = self.count(before_last)
        return h, torch.cat([final[0], final[1]], dim=-1)


class _AttentionSetEncoder(nn.Module):
    """Pre-norm self-attention blocks without positions (permutation-equivariant).

    Same interface as :class:`_BiLSTMSetEncoder`; the set summary is an MLP
    of the mean and max over the points entering the last block, so the
    output does not depend on the input order.
    """

    #: The output does not depend on the order of the points: one pass suffices.
    order_invariant = True

    def __init__(self, width, n_layers, count_units):
        super().__init__()
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(width, nhead=4, dim_feedforward=2 * width,
                                       dropout=0.0, batch_first=True, norm_first=True)
            for _ in range(n_layers)
        ])
        self.count = nn.Sequential(nn.Linear(2 * width, 2 * count_units), nn.LeakyReLU(0.3))

    def forward(self, h):
        before_last = h
        for index, layer in enumerate(self.layers):
            if index == len(self.layers) - 1:
                before_last = h
            h = layer(h)  # the block holds its own residual connections
        return h, self.count(torch.cat([before_last.mean(1), before_last.amax(1)], dim=-1))


_SET_ENCODERS = {"lstm": _BiLSTMSetEncoder, "attention": _AttentionSetEncoder}


class _SetNetwork(nn.Module):
    """Embedding -> FC + LeakyReLU(0.3) -> set encoder -> per-k heads and count head.

    The set encoder is the paper's stack of residual BiLSTMs
    (``encoder="lstm"``, :class:`_BiLSTMSetEncoder`) or a stack of
    self-attention blocks (``encoder="attention"``,
    :class:`_AttentionSetEncoder`).
    """

    def __init__(self, n_features, k_max, lstm_layers, lstm_units, count_units,
                 embedding="identity", input_shape=None, embedding_size=128,
                 encoder="lstm"):
        super().__init__()
        if embedding == "identity":
            self.embedding, size = nn.Identity(), n_features
        elif embedding == "mlp":
            self.embedding = nn.Sequential(nn.Linear(n_features, embedding_size), nn.ReLU(),
                                           nn.Linear(embedding_size, embedding_size), nn.ReLU())
            size = embedding_size
        else:
            self.embedding, size = _CNN(input_shape, embedding_size), embedding_size
        width = 2 * lstm_units
        self.input_layer = nn.Sequential(nn.Linear(size, width), nn.LeakyReLU(0.3))
        self.set_encoder = _SET_ENCODERS[encoder](width, lstm_layers, count_units)
        self.k_max = k_max
        self.assignment = nn.Linear(width, k_max * (k_max + 1) // 2)
        self.count_head = nn.Sequential(
            nn.BatchNorm1d(2 * count_units), nn.Linear(2 * count_units, 256),
            nn.LeakyReLU(0.3), nn.BatchNorm1d(256), nn.Dropout(0.5), nn.Linear(256, k_max),
        )

    def forward(self, sets):
        """Count logits (B, k_max) and per-k log assignments [(B, n, k) for k = 1..k_max]."""
        batch, n = sets.shape[:2]
        h = self.embedding(sets.reshape(batch * n, *sets.shape[2:]))
        h, pooled = self.set_encoder(self.input_layer(h.reshape(batch, n, -1)))
        count_logits = self.count_head(pooled)
        logits = self.assignment(h)
        sizes = list(range(1, self.k_max + 1))
        log_assign = [F.log_softmax(part, dim=-1) for part in torch.split(logits, sizes, -1)]
        return count_logits, log_assign, h


def _same_cluster_probability(count_logits, log_assign):
    """P_ij of every pair, shape (B, n, n)."""
    p_k = F.softmax(count_logits, dim=-1)
    total = 0.0
    for k, log_a in enumerate(log_assign):
        a = log_a.exp()
        total = total + p_k[:, k, None, None] * (a @ a.transpose(1, 2))
    return total


def _set_loss(network, sets, labels, n_clusters, weights, count_weight, center_weight):
    return _outputs_loss(network(sets), labels, n_clusters, weights, count_weight,
                         center_weight)


def _outputs_loss(outputs, labels, n_clusters, weights, count_weight, center_weight):
    """Pairwise + count (+ centre) loss of the network's outputs on labelled sets."""
    count_logits, log_assign, h = outputs
    p = _same_cluster_probability(count_logits, log_assign).clamp(1e-7, 1 - 1e-7)
    same = (labels[:, :, None] == labels[:, None, :]).to(p.dtype)
    n = labels.shape[1]
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=p.device), diagonal=1)
    w_same, w_different = weights
    pair_weight = same * w_same + (1 - same) * w_different
    bce = F.binary_cross_entropy(p, same, reduction="none")
    pair_loss = (pair_weight * bce)[:, upper].mean()
    count_loss = F.cross_entropy(count_logits, n_clusters - 1)
    loss = pair_loss + count_weight * count_loss
    if center_weight > 0:
        onehot = F.one_hot(labels).to(h.dtype)  # (B, n, K)
        centres = onehot.transpose(1, 2) @ h / onehot.sum(1).clamp(min=1).unsqueeze(-1)
        loss = loss + center_weight * (h - onehot @ centres).pow(2).sum(-1).mean()
    return loss


def _group_indices(groups, index):
    """Indices (among ``index``) of each group, in linear-logarithmic time."""
    order = index[np.argsort(groups[index], kind="stable")]
    sorted_groups = groups[order]
    boundaries = np.flatnonzero(sorted_groups[1:] != sorted_groups[:-1]) + 1
    return np.split(order, boundaries)


class _SetSampler:
    """Labelled training sets drawn from classes, or taken from ready-made sets."""

    def __init__(self, X, y, set_size, k_max, sets=None):
        self.X, self.y, self.set_size, self.k_max = X, y, set_size, k_max
        self.sets = sets  # list of index arrays (ready-made sets), or None
        if sets is None:
            self.classes = np.unique(y)
            self.members = {c: np.flatnonzero(y == c) for c in self.classes}
            self.k_high = min(k_max, self.classes.size, set_size // 2)
        else:
            by_size = {}
            for index in sets:
                by_size.setdefault(index.size, []).append(index)
            self.by_size = list(by_size.values())

    def draw(self, batch_size, rng):
        """Index arrays (batch_size, n) and their labels 0..k-1."""
        if self.sets is not None:
            bucket = self.by_size[rng.integers(len(self.by_size))]
            chosen = [bucket[i] for i in rng.integers(len(bucket), size=batch_size)]
            index = np.stack(chosen)
            labels = np.stack([np.unique(self.y[i], return_inverse=True)[1] for i in chosen])
            return index, labels
        index = np.empty((batch_size, self.set_size), dtype=np.int64)
        labels = np.empty((batch_size, self.set_size), dtype=np.int64)
        for row in range(batch_size):
            k = int(rng.integers(1, self.k_high + 1))
            classes = rng.choice(self.classes, size=k, replace=False)
            counts = 2 + rng.multinomial(self.set_size - 2 * k, np.full(k, 1 / k))
            parts = []
            for c, count in zip(classes, counts):
                pool = self.members[c]
                parts.append(rng.choice(pool, size=count, replace=count > pool.size))
            set_labels = np.repeat(np.arange(k), counts)
            order = rng.permutation(self.set_size)
            index[row] = np.concatenate(parts)[order]
            labels[row] = set_labels[order]
        return index, labels

    def phi(self, rng, n_draws=500):
        """Expected fraction of same-cluster pairs, estimated by sampling."""
        index, labels = self.draw(n_draws, rng)
        same = labels[:, :, None] == labels[:, None, :]
        n = labels.shape[1]
        return float((same.sum(axis=(1, 2)) - n).mean() / (n * (n - 1)))


def _draw_batch(X, sampler, batch_size, rng, device):
    """A batch of training sets: (sets, labels, n_clusters) tensors."""
    index, labels = sampler.draw(batch_size, rng)
    sets = torch.as_tensor(X[index], dtype=torch.float32, device=device)
    labels = torch.as_tensor(labels, device=device)
    return sets, labels, labels.max(dim=1).values + 1


@torch.no_grad()
def _validation_metrics(network, validation, weights, count_weight, center_weight):
    """Loss, misclassification rate, NMI and k accuracy on the validation batches."""
    network.eval()
    losses, mr, nmi, k_hits = [], [], [], []
    for sets, labels, n_clusters in validation:
        outputs = network(sets)
        losses.append(_outputs_loss(outputs, labels, n_clusters, weights,
                                    count_weight, center_weight).item())
        count_logits, log_assign, _ = outputs
        k_hat = count_logits.argmax(dim=1)
        predicted = [a.argmax(dim=2).cpu().numpy() for a in log_assign]
        k_rows, truths = k_hat.cpu().numpy(), labels.cpu().numpy()
        for row, (k, truth) in enumerate(zip(k_rows, truths)):
            mr.append(misclassification_rate(truth, predicted[k][row]))
            nmi.append(normalized_mutual_info_score(truth, predicted[k][row]))
        k_hits.append((k_hat + 1 == n_clusters).float().mean().item())
    return {"validation": float(np.mean(losses)), "validation_mr": float(np.mean(mr)),
            "validation_nmi": float(np.mean(nmi)),
            "validation_k_accuracy": float(np.mean(k_hits))}


def train_l2c(network, X, train_sampler, val_sampler, *, phi, optimizer, learning_rate,
              batch_size, max_iter, validation_interval, n_iter_no_change, count_weight,
              center_weight, device, seed, verbose=0):
    """Train the set network (in place) on batches of sets drawn by the samplers.

    The parameters are those of :class:`L2CClustering` (``learning_rate``
    resolved); ``phi`` is the share of same-cluster pairs, which weighs the
    pairwise loss (:func:`pair_weights`). With a validation sampler, four
    fixed validation batches are scored every ``validation_interval``
    updates and the network with the lowest validation loss is kept.

    Returns
    -------
    history : list of dict
        One record per validation interval (the schema of ``train_loop``);
        ``validation`` is the validation loss.
    """
    if optimizer == "adam":
        optim = torch.optim.Adam(network.parameters(), lr=learning_rate)
    else:
        optim = torch.optim.Adadelta(network.parameters(), lr=learning_rate, rho=0.95,
                                     eps=1e-7)
    weights = pair_weights(phi)
    rng = np.random.default_rng(seed + 2)
    validation = None
    if val_sampler is not None:
        val_rng = np.random.default_rng(seed + 3)
        validation = [_draw_batch(X, val_sampler, batch_size, val_rng, device)
                      for _ in range(4)]
    interval = validation_interval

    def iterations(index):
        return range(index * interval, min((index + 1) * interval, max_iter))

    def step(_):
        sets, labels, n_clusters = _draw_batch(X, train_sampler, batch_size, rng, device)
        return _set_loss(network, sets, labels, n_clusters, weights, count_weight,
                         center_weight)

    def validate(index):
        metrics = _validation_metrics(network, validation, weights, count_weight,
                                      center_weight)
        return metrics, -metrics["validation"]

    return train_loop(
        network, optim, -(-max_iter // interval), iterations, step,
        unit="validation interval", validate=validate if validation is not None else None,
        n_iter_no_change=n_iter_no_change if validation is not None else None,
        desc="L2C training", verbose=verbose,
        postfix=lambda r: {"loss": f"{r['loss']:.3f}",
                           **({"val": f"{r['validation']:.3f}"}
                              if r["validation"] is not None else {})})


@torch.no_grad()
def forward_orders(network, X, n_orders, rng, device):
    """Input orders, P(k) averaged over them, and per-k assignments per order."""
    n = X.shape[0]
    # self-attention is order-independent: one order gives the same output
    n_orders = 1 if network.set_encoder.order_invariant else n_orders
    orders = [np.arange(n)] + [rng.permutation(n) for _ in range(n_orders - 1)]
    batch = torch.as_tensor(np.stack([X[o] for o in orders]), dtype=torch.float64,
                            device=device)
    count_logits, log_assign, _ = network(batch)
    p_k = F.softmax(count_logits, dim=-1).mean(dim=0).cpu().numpy()
    return orders, p_k, log_assign


@torch.no_grad()
def cluster_set(network, X, *, n_clusters, n_orders, rng, device):
    """(labels, P(k)) of one set, averaged over random input orders.

    ``n_clusters`` None: the most probable k (and no more clusters than the
    network's head fills, median over orders).
    """
    n = X.shape[0]
    orders, p_k, log_assign = forward_orders(network, X, n_orders, rng, device)
    k = n_clusters if n_clusters is not None else int(np.argmax(p_k)) + 1
    k = min(k, n)
    if k == 1:
        return np.zeros(n, dtype=np.int64), p_k
    assign = log_assign[k - 1].exp().cpu().numpy()
    if len(orders) == 1:
        # one order: each example to its most probable cluster
        return np.unique(assign[0].argmax(axis=1), return_inverse=True)[1], p_k
    similarity = np.zeros((n, n))
    n_used = []
    for order, a in zip(orders, assign):
        restored = np.empty_like(a)
        restored[order] = a
        similarity += restored @ restored.T
        n_used.append(np.unique(restored.argmax(axis=1)).size)
    similarity /= len(orders)
    # cut into as many clusters as the head actually fills (median over
    # orders): forcing k when the head leaves a cluster empty would split
    # off stray singletons
    k_used = k if n_clusters is not None else max(1, min(k, int(np.median(n_used))))
    if k_used == 1:
        return np.zeros(n, dtype=np.int64), p_k
    labels = AgglomerativeClustering(k_used, metric="precomputed", linkage="average") \
        .fit_predict(1 - similarity)
    return labels, p_k


def cluster_points(network, X, *, chunk_size, rng, device, cluster=None):
    """Labels of ``X``: one set, or chunks merged when it exceeds ``chunk_size``.

    ``cluster(network, X_set, rng, device)`` clusters one set (by default
    :func:`cluster_set` with the most probable k). A larger ``X`` is cut
    into random chunks of half ``chunk_size``, each clustered as a set;
    representatives of every chunk cluster are then clustered as one more
    set (in chunks again when they are many), and each chunk cluster joins
    the merged cluster most of its representatives fall in.
    """
    if cluster is None:
        def cluster(network, X_set, rng, device):
            return cluster_set(network, X_set, n_clusters=None, n_orders=4, rng=rng,
                               device=device)
    if X.shape[0] <= chunk_size:
        return cluster(network, X, rng, device)[0]
    n = X.shape[0]
    set_size = chunk_size // 2  # the training sets' size (ready-made sets: largest)
    n_chunks = math.ceil(n / set_size)
    order = rng.permutation(n)
    chunk_labels = np.empty(n, dtype=np.int64)
    offset = 0
    for chunk in np.array_split(order, n_chunks):
        labels, _ = cluster(network, X[chunk], rng, device)
        chunk_labels[chunk] = labels + offset
        offset += labels.max() + 1
    if offset == n:  # every chunk cluster a single example: nothing to merge by
        return chunk_labels
    # representatives of every chunk cluster, clustered as one more set
    # (in chunks again when they are many: they are fewer than n, so this ends)
    per_cluster = max(2, set_size // offset)
    by_cluster = np.argsort(chunk_labels, kind="stable")
    members = np.split(by_cluster, np.cumsum(np.bincount(chunk_labels, minlength=offset))[:-1])
    if sum(min(per_cluster, m.size) for m in members) >= n:
        per_cluster = 1
    representatives, owners = [], []
    for cluster_index, cluster_members in enumerate(members):
        picked = rng.choice(cluster_members, size=min(per_cluster, cluster_members.size),
                            replace=False)
        representatives.append(picked)
        owners.append(np.full(picked.size, cluster_index))
    representatives, owners = np.concatenate(representatives), np.concatenate(owners)
    merged = cluster_points(network, X[representatives], chunk_size=chunk_size, rng=rng,
                            device=device, cluster=cluster)
    votes = np.zeros((offset, merged.max() + 1))
    np.add.at(votes, (owners, merged), 1)
    mapping = votes.argmax(axis=1)
    return np.unique(mapping[chunk_labels], return_inverse=True)[1]


class L2CClustering(ClusterMixin, TorchEstimator):
    """Learning to Cluster: a network that clusters a set and counts its clusters.

    Trained on labelled sets (sampled from the classes of ``y``, or given as
    ready-made sets with ``groups``), the network reads a new set of
    examples and returns its clustering and the number of clusters
    (Meier, Stadelmann & Dürr 2018). Classes seen at prediction time need
    not appear in training.

    Architecture: an embedding network (identity, MLP, or a small CNN for
    images), FC ``2 * lstm_units`` + LeakyReLU(0.3), a stack of residual
    bidirectional LSTMs, softmax heads giving ``P(l | x_i, k)`` for every k,
    and a count head (BiLSTM final states -> BN -> FC 256 -> LeakyReLU ->
    BN -> Dropout 0.5) giving ``P(k)``. Loss: weighted pairwise binary
    cross-entropy on ``P_ij`` (see :func:`pair_weights`) plus
    ``count_weight`` times the cross-entropy of ``P(k)``.

    Parameters
    ----------
    n_clusters : int or None, default=None
        None: the network's estimate ``argmax P(k)``; an int <= ``k_max``
        uses the head of that k.
    k_max : int, default=5
        Largest number of clusters; a hard limit of the network.
    set_size : int, default=72
        Examples per training set (sampled mode).
    architecture : {"small", "paper", "attention"}, default="small"
        ``"paper"``: 14 residual BiLSTM layers of 144 units per direction,
        count BiLSTM of 128 (the published network). ``"small"``: 4 layers
        of 64 units, count BiLSTM of 64 — about 14 times fewer
        parameters, several times faster per iteration on a CPU, and better
        in the same CPU budget (see the user guide's figures).
        ``"attention"``: 4 pre-norm self-attention blocks (width 128, 4
        heads, no positional encoding) in place of the BiLSTMs and mean/max
        pooling for the count head: order-independent, so ``n_orders`` is
        not needed.
    embedding : {"identity", "mlp", "cnn"}, default="identity"
        Per-example embedding network; ``"cnn"`` needs ``input_shape``.
    input_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(channels, height, width)`` of images for
        ``embedding="cnn"``.
    count_weight : float, default=5.0
        Weight lambda of the cluster-count loss.
    center_weight : float, default=0.0
        Weight of an optional centre loss pulling the last representation of
        each example to its cluster mean (off by default).
    optimizer : {"adam", "adadelta"}, default="adam"
        ``"adadelta"`` with ``learning_rate=5.0`` is the paper's setting.
    learning_rate : float or None, default=None
        None: 1e-3 for Adam, 5.0 for Adadelta.
    batch_size : int, default=32
        Sets per iteration.
    max_iter : int, default=20000
        Maximum training iterations.
    validation_fraction : float, default=0.2
        Share of classes (or of ready-made sets) held out for validation.
    validation_interval : int, default=250
        Iterations between validations.
    n_iter_no_change : int, default=10
        Stop after this many validations without a lower validation loss;
        the best checkpoint is kept.
    n_orders : int, default=4
        Random input orders averaged at prediction (the BiLSTM is
        order-dependent): the co-assignment probabilities of the orders are
        averaged and cut by average linkage into as many clusters as the
        k-head fills (median over the orders). With one order
        (and always with ``architecture="attention"``, which does not
        depend on the order) each example goes to its most probable
        cluster.
    compute_labels : bool, default=True
        Whether ``fit`` sets ``labels_`` (the clustering of the training
        ``X`` as one set). ``False`` skips that pass, which costs as much as
        a ``predict`` of the whole training data.
    device : str or torch.device, default="auto"
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    network_ : torch.nn.Module
        The trained network (CPU), best validation checkpoint.
    phi_ : float
        Expected fraction of same-cluster pairs of the training sets.
    n_iter_ : int
        Training iterations run.
    history_ : list of dict
        One record per validation interval, in the schema of every
        estimator's history (see the guide's "Training history"): ``unit``,
        ``iteration``, ``loss`` (training, mean over the interval),
        ``skipped``, ``validation`` (the validation loss, None without
        validation sets; the network kept is that of the lowest), plus
        ``validation_mr``, ``validation_nmi`` and ``validation_k_accuracy``.
    labels_ : ndarray of shape (n_samples,)
        The network's clustering of the training ``X`` as one set (what
        :meth:`predict` returns for it), ignoring ``y``. Only with
        ``compute_labels=True``.
    n_features_in_ : int
    device_ : torch.device

    Notes
    -----
    Sets larger than ``chunk_size = 2 * set_size`` (or the largest
    ready-made set) are clustered in chunks; the clusters of all chunks are
    then merged by clustering a set of representatives (at least two
    examples drawn from each chunk cluster, one where two would not make the
    set smaller): each chunk cluster joins the cluster most of its
    representatives get. That pass decides the final number of clusters;
    when the representatives are themselves more than ``chunk_size``, they
    are clustered in chunks the same way, so memory stays bounded by the
    chunk size whatever the number of examples.

    References
    ----------
    .. [1] B. B. Meier, T. Stadelmann, O. Dürr. "Learning to Cluster",
       2018 (arXiv:1812.00151).

    Examples
    --------
    >>> from sklearn_tcm import L2CClustering
    >>> from sklearn_tcm.datasets import make_l2c_points
    >>> X, y, groups = make_l2c_points(20, random_state=0)
    >>> model = L2CClustering(max_iter=2, random_state=0).fit(X, y, groups=groups)
    >>> model.predict(X[groups == 0]).shape
    (72,)
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "k_max": [Interval(Integral, 1, None, closed="left")],
        "set_size": [Interval(Integral, 2, None, closed="left")],
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "embedding": [StrOptions({"identity", "mlp", "cnn"})],
        "input_shape": [tuple, list, None],
        "count_weight": [Interval(Real, 0, None, closed="left")],
        "center_weight": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions({"adam", "adadelta"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "validation_interval": [Interval(Integral, 1, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "n_orders": [Interval(Integral, 1, None, closed="left")],
        "compute_labels": ["boolean"],
    }
    _requires_y = True

    def __init__(
        self,
        n_clusters=None,
        *,
        k_max=5,
        set_size=72,
        architecture="small",
        embedding="identity",
        input_shape=None,
        count_weight=5.0,
        center_weight=0.0,
        optimizer="adam",
        learning_rate=None,
        batch_size=32,
        max_iter=20000,
        validation_fraction=0.2,
        validation_interval=250,
        n_iter_no_change=10,
        n_orders=4,
        compute_labels=True,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.k_max = k_max
        self.set_size = set_size
        self.architecture = architecture
        self.embedding = embedding
        self.input_shape = input_shape
        self.count_weight = count_weight
        self.center_weight = center_weight
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.validation_fraction = validation_fraction
        self.validation_interval = validation_interval
        self.n_iter_no_change = n_iter_no_change
        self.n_orders = n_orders
        self.compute_labels = compute_labels
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _empty_modules(self):
        return {"network_": _SetNetwork(self.n_features_in_, self.k_max,
                                        embedding=self.embedding, input_shape=self.input_shape,
                                        **ARCHITECTURES[self.architecture])}

    # ------------------------------------------------------------ checking
    def _check_params(self, X, y, groups=None):
        check_classification_targets(y)
        if np.unique(y).size < 2:
            # every training set would hold one cluster: nothing to learn to separate
            raise ValueError(
                "L2CClustering needs at least 2 classes in y to learn from; got 1."
            )
        if self.n_clusters is not None and self.n_clusters > self.k_max:
            raise ValueError(
                f"n_clusters={self.n_clusters} exceeds k_max={self.k_max}, the most "
                "clusters the network can output."
            )
        n_features = X.shape[1]
        if self.embedding == "cnn":
            shape = self.input_shape
            if shape is None or len(shape) not in (2, 3) or \
                    int(np.prod(shape)) != n_features:
                raise ValueError(
                    "embedding='cnn' needs input_shape=(height, width) or (channels, "
                    f"height, width) whose product is n_features={n_features}; got "
                    f"{shape!r}."
                )
        largest_set = self.set_size
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (X.shape[0],):
                raise ValueError(f"groups must have shape ({X.shape[0]},), got {groups.shape}.")
            sizes = np.unique(groups, return_counts=True)[1]
            if sizes.min() < 2:
                raise ValueError("Every set in groups needs at least 2 examples.")
            n_per_set = np.array([np.unique(y[members]).size
                                  for members in _group_indices(groups, np.arange(len(y)))])
            if n_per_set.max() > self.k_max:
                raise ValueError(
                    f"A training set has {n_per_set.max()} clusters, more than "
                    f"k_max={self.k_max}."
                )
            largest_set = int(sizes.max())
        return {"largest_set": largest_set,
                "learning_rate": self.learning_rate
                or (1e-3 if self.optimizer == "adam" else 5.0)}

    # ----------------------------------------------------------- training
    def fit(self, X, y, groups=None):
        """Train the network on labelled sets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Examples.
        y : array-like of shape (n_samples,)
            Their classes (sampled mode) or cluster labels within each set.
        groups : array-like of shape (n_samples,), default=None
            Ready-made sets: each value of ``groups`` is one set and ``y``
            its clustering. Without ``groups``, training sets of
            ``set_size`` examples are sampled from the classes of ``y``
            (k ~ U{1..k_max}, at least 2 examples per cluster).

        Returns
        -------
        self : L2CClustering
        """
        return super().fit(X, y, groups=groups)

    def _fit(self, X, y, *, device, seed, largest_set, learning_rate, groups=None):
        groups = None if groups is None else np.asarray(groups)
        rng = np.random.default_rng(seed)
        # training and validation sets: class- or set-disjoint
        values = y if groups is None else groups
        train, validation = split_classes(values, self.validation_fraction, rng)
        samplers = []
        for kept in (train, validation):
            if kept is None:
                samplers.append(None)
                continue
            idx = np.flatnonzero(np.isin(values, kept))
            sets = None if groups is None else _group_indices(groups, idx)
            samplers.append(_SetSampler(X, y, self.set_size, self.k_max, sets))
        train_sampler, val_sampler = samplers
        phi = min(max(train_sampler.phi(np.random.default_rng(seed + 1)), 1e-3), 1 - 1e-3)
        network = _SetNetwork(X.shape[1], self.k_max, embedding=self.embedding,
                              input_shape=self.input_shape,
                              **ARCHITECTURES[self.architecture]).to(device)
        history = train_l2c(
            network, X, train_sampler, val_sampler, phi=phi, optimizer=self.optimizer,
            learning_rate=learning_rate, batch_size=self.batch_size, max_iter=self.max_iter,
            validation_interval=self.validation_interval,
            n_iter_no_change=self.n_iter_no_change, count_weight=self.count_weight,
            center_weight=self.center_weight, device=device, seed=seed, verbose=self.verbose)
        self.network_ = module_to_cpu(network)
        self.phi_ = phi
        self.n_iter_ = history[-1]["iteration"] if history else 0
        self.history_ = history
        self._chunk_size = 2 * largest_set
        self._seed = seed
        if self.compute_labels:
            self.labels_ = self._predict(X)

    # ---------------------------------------------------------- prediction
    def _cluster_set(self, network, X, rng, device):
        """(labels, P(k)) of one set under this model's ``n_clusters`` and ``n_orders``."""
        return cluster_set(network, X, n_clusters=self.n_clusters, n_orders=self.n_orders,
                           rng=rng, device=device)

    def _network(self, device):
        return copy.deepcopy(self.network_).to(device=device, dtype=torch.float64).eval()

    def _check_predict_input(self, X):
        check_is_fitted(self)
        X = densify(validate_data(self, X, accept_sparse="csr",
                                  dtype=[np.float64, np.float32], reset=False,
                                  ensure_min_samples=2))
        if self.n_clusters is not None and self.n_clusters > X.shape[0]:
            raise ValueError(
                f"n_clusters={self.n_clusters} is larger than the set ({X.shape[0]} examples)."
            )
        return X

    def predict(self, X):
        """Cluster ``X`` as one set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One set of examples (at least 2). Sets larger than twice the
            training set size are clustered in chunks and merged (see Notes).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self._predict(self._check_predict_input(X))

    def _predict(self, X):
        """``predict`` on an already validated array."""
        device = inference_device(self.device_)
        network = self._network(device)
        return cluster_points(network, X, chunk_size=self._chunk_size,
                              rng=np.random.default_rng(self._seed), device=device,
                              cluster=self._cluster_set)

    def estimate_n_clusters(self, X):
        """Estimated number of clusters of the set ``X`` and P(k).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One set (at most twice the training set size; larger sets are
            estimated on a random subset of that size).

        Returns
        -------
        n_clusters : int
            ``argmax_k P(k)``.
        probabilities : ndarray of shape (k_max,)
            ``P(k)`` for k = 1..k_max, averaged over input orders.
        """
        X = self._check_predict_input(X)
        device = inference_device(self.device_)
        rng = np.random.default_rng(self._seed)
        if X.shape[0] > self._chunk_size:
            X = X[rng.choice(X.shape[0], size=self._chunk_size, replace=False)]
        _, p_k, _ = forward_orders(self._network(device), X, self.n_orders, rng, device)
        return int(np.argmax(p_k)) + 1, p_k

    def fit_predict(self, X, y, groups=None):
        """Train on ``(X, y)``, then cluster ``X`` as one set.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        self.fit(X, y, groups=groups)
        return self.labels_ if self.compute_labels else self.predict(X)
