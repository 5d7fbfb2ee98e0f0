"""Clustering -> graph with dimension-free node features.

A candidate clustering of a dataset becomes a graph whose nodes are the
points, whose edges join each point to its nearest neighbours *within its
own cluster* (self-tuning weights), and whose node features describe the
geometry of the point in its clustering without reference to the input
dimension, so that one critic can score clusterings of any dataset.

Everything that does not depend on the clustering (pairwise distances,
neighbours, the dataset scale) is computed once per dataset in a
:class:`DatasetContext`; the features of a batch of candidate labellings are
then computed together, vectorised over candidates.
"""

from dataclasses import dataclass

import numpy as np
import torch
from scipy.cluster import hierarchy

from .._torch import check_dense_size

__all__ = [
    "DatasetContext",
    "NODE_FEATURES",
    "GLOBAL_FEATURES",
    "build_context",
    "canonical_labels",
    "clustering_graphs",
    "density_validity",
    "graphs_per_batch",
    "to_networkx",
]

#: Names of the node features, in column order.
NODE_FEATURES = (
    "silhouette",
    "intra_distance",  # a(i) / s
    "nearest_other_distance",  # b(i) / s
    "knn_purity_5",
    "knn_purity_10",
    "centroid_distance",  # to own centroid / s
    "centroid_ratio",  # own / (own + nearest other) centroid distance, in [0, 1]
    "size_fraction",
    "cluster_radius",  # mean member-centroid distance / s
    "local_density",  # mean distance to 10 nearest neighbours / s
    "is_noise",  # 1 for a point labelled -1 (unassigned), else 0
)
#: Names of the per-graph scalars appended to the pooled embedding: the graph's
#: own summary, then classical validity indices of the partition (as a
#: meta-learned selector uses them; the critic learns when each is right).
GLOBAL_FEATURES = ("log_k", "size_entropy", "singleton_fraction", "mean_silhouette",
                   "noise_fraction", "log_calinski_harabasz", "log_davies_bouldin",
                   "log_dunn", "nn_separation", "density_validity")
#: The scalars of metrics fitted before the classical indices were added.
GRAPH_SUMMARY = GLOBAL_FEATURES[:5]
#: The scalars of metrics fitted before the density-based index was added.
CLASSICAL_INDICES = GLOBAL_FEATURES[:9]

_EDGE_NEIGHBOURS = 10
_SELF_TUNING_NEIGHBOUR = 7
# points of each point's distance order scanned for its cluster's nearest before
# falling back to the whole order (a speed setting: the edges do not depend on it)
_SCANNED_NEIGHBOURS = 40
# n x n arrays held at once by build_context / per candidate by clustering_graphs
_CONTEXT_SQUARES = 4
_GRAPH_SQUARES = 9
_SIZE_HINT = ("graphs are dense in the number of points: score fewer points "
              "(LearnedMetricClustering's max_points subsamples larger datasets).")


#: Memory the graphs of one batch of labellings may take (see :func:`graphs_per_batch`).
_BATCH_MEMORY = 2 * 2**30


def graphs_per_batch(n_points, element_size=4):
    """How many labellings of ``n_points`` points to turn into graphs at once.

    As many as fit in 2 GiB (at least one): a batch's graphs are dense, of
    memory proportional to its size times the square of the points.
    """
    return max(1, _BATCH_MEMORY // (_GRAPH_SQUARES * n_points * n_points * element_size))


@dataclass
class DatasetContext:
    """Clustering-independent quantities of one dataset (points ``X``).

    Attributes
    ----------
    X : tensor of shape (n, d)
        The points, scaled by the dataset scale ``s``.
    distances : tensor of shape (n, n)
        Euclidean distances divided by ``s``.
    knn : tensor of shape (n, 10)
        Indices of each point's 10 nearest other points.
    order : tensor of shape (n, min(n - 1, 40))
        Each point's nearest other points, nearest first (ties by index):
        the first columns of its whole distance order (:meth:`full_order`).
    sigma : tensor of shape (n,)
        Self-tuning bandwidth: distance to the 7th nearest neighbour.
    scale : float
        ``s``: the median pairwise distance of the original points.
    """

    X: torch.Tensor
    distances: torch.Tensor
    knn: torch.Tensor
    sigma: torch.Tensor
    scale: float
    order: torch.Tensor

    def full_order(self, points):
        """The other points of each of ``points``, nearest first (ties by index).

        Each distinct point's row is sorted once, however often it is asked for.
        """
        distinct, inverse = torch.unique(points, return_inverse=True)
        rows = self.distances[distinct]
        rows[torch.arange(distinct.shape[0]), distinct] = torch.inf
        return torch.argsort(rows, dim=1, stable=True)[inverse, :-1]


def _nearest_first(others, n_first):
    """The first ``n_first`` columns of ``argsort(others, dim=1, stable=True)``.

    The same indices without sorting whole rows: the ``n_first`` smallest of
    each row (ties at the threshold by index, as a stable sort keeps them)
    are found by ``topk`` and only they are sorted.
    """
    n_rows, n_columns = others.shape
    if n_first >= n_columns:
        return torch.argsort(others, dim=1, stable=True)
    threshold = torch.topk(others, n_first, dim=1, largest=False).values[:, -1:]
    keep = others <= threshold
    if bool((keep.sum(dim=1) > n_first).any()):  # ties at the threshold: lowest indices
        below, tied = others < threshold, others == threshold
        room = n_first - below.sum(dim=1, keepdim=True)
        keep = below | (tied & (tied.cumsum(dim=1) <= room))
    # nonzero lists each row's kept columns in increasing order, so the stable
    # sort of their values breaks ties by index
    columns = keep.nonzero(as_tuple=True)[1].reshape(n_rows, n_first)
    return columns.gather(1, torch.argsort(others.gather(1, columns), dim=1, stable=True))


def build_context(X, dtype=torch.float64):
    """Compute the :class:`DatasetContext` of points ``X`` (n >= 3).

    Distances are divided by the median pairwise distance, so the features
    are invariant to scaling, rotation and translation of ``X`` and do not
    change when constant (e.g. zero-padded) features are added.
    """
    X = torch.as_tensor(np.asarray(X, dtype=np.float64), dtype=dtype)
    n = X.shape[0]
    check_dense_size(_CONTEXT_SQUARES * n * n * X.element_size(),
                     f"the distances of {n} points", _SIZE_HINT)
    distances = torch.cdist(X, X)
    distances = (distances + distances.T) / 2  # exactly symmetric
    # the (lower) median of the pairs: that of the off-diagonal entries, each pair twice
    pairs = distances[torch.triu_indices(n, n, offset=1).unbind()]
    scale = float(pairs.median()) if pairs.numel() else 1.0
    scale = scale if scale > 0 else 1.0
    distances = distances / scale
    n_neighbours = min(10, n - 1)
    others = distances + torch.diag(torch.full((n,), torch.inf, dtype=dtype))
    neighbour_distances, knn = torch.topk(others, n_neighbours, dim=1, largest=False)
    sigma = neighbour_distances[:, min(_SELF_TUNING_NEIGHBOUR, n_neighbours) - 1]
    sigma = torch.clamp(sigma, min=1e-6)
    order = _nearest_first(others, min(n - 1, _SCANNED_NEIGHBOURS))
    return DatasetContext(X / scale, distances, knn, sigma, scale, order)


def canonical_labels(labels):
    """Relabel each row of ``labels`` as 0..k-1 in order of first appearance.

    Two labellings that differ only by the names of their clusters get the
    same canonical form. Negative labels (``-1``, the noise of DBSCAN,
    HDBSCAN and OPTICS) stay ``-1``: noise is not a cluster.
    """
    labels = np.atleast_2d(np.asarray(labels))
    out = np.empty(labels.shape, dtype=np.int64)
    for row, values in enumerate(labels):
        noise = values < 0 if values.dtype.kind in "iuf" else np.zeros(values.shape, bool)
        _, first, inverse = np.unique(values[~noise], return_index=True,
                                      return_inverse=True)
        rank = np.empty(first.size, dtype=np.int64)
        rank[np.argsort(first)] = np.arange(first.size)
        out[row, ~noise] = rank[inverse.reshape(-1)]
        out[row, noise] = -1
    return out


def _one_hot(labels, n_clusters, dtype):
    return torch.nn.functional.one_hot(labels, n_clusters).to(dtype)


def clustering_graphs(context, labels, n_scalars=None):
    """Node features, within-cluster adjacency and graph scalars of candidates.

    Parameters
    ----------
    context : DatasetContext
    labels : array-like of shape (n_candidates, n) or (n,)
        Candidate labellings of the context's points (any integer labels).
    n_scalars : int, default=None
        How many of :data:`GLOBAL_FEATURES` the caller reads (``None``: all).
        The classical indices are computed only when it asks for more than
        :data:`GRAPH_SUMMARY`, the density-based index only when it asks for
        more than :data:`CLASSICAL_INDICES`: a model fitted before either
        existed is spared its cost.

    Returns
    -------
    features : tensor of shape (n_candidates, n, len(NODE_FEATURES))
    adjacency : tensor of shape (n_candidates, n, n)
        Symmetric weights ``exp(-d_ij^2 / (sigma_i sigma_j))`` on edges from
        each point to its 10 nearest neighbours in its cluster (clusters of
        up to 11 points are cliques); no self-loops.
    graph_scalars : tensor of shape (n_candidates, n_columns)
        The first ``n_columns >= min(n_scalars, len(GLOBAL_FEATURES))`` of
        :data:`GLOBAL_FEATURES`.
    """
    labels = torch.as_tensor(canonical_labels(labels))
    dtype = context.distances.dtype
    n_candidates, n = labels.shape
    check_dense_size(_GRAPH_SQUARES * n_candidates * n * n * context.distances.element_size(),
                     f"the graphs of {n_candidates} clusterings of {n} points", _SIZE_HINT)
    # noise (-1) is unassigned: it belongs to no cluster (a zero one-hot row),
    # has no edges and neutral cluster features; the noise share is a feature
    noise = labels < 0
    assigned = (~noise).to(dtype)
    n_clusters = max(int(labels.max()) + 1, 1)
    labels = labels.clamp(min=0)  # a valid index; noise rows are masked below
    D = context.distances
    onehot = _one_hot(labels, n_clusters, dtype) * assigned.unsqueeze(-1)  # (B, n, K)
    sizes = onehot.sum(dim=1)  # (B, K)
    present = sizes > 0
    own = labels.unsqueeze(-1)  # (B, n, 1)

    own_size = torch.gather(sizes, 1, labels)  # (B, n)
    intra, nearest_other, silhouette = _silhouettes(D, onehot, sizes, present, labels,
                                                    own_size, noise)

    # Neighbourhood purity: share of the k nearest points in the same cluster
    # (a noise neighbour is never in the same cluster).
    neighbour_labels = labels[:, context.knn]  # (B, n, 10)
    same = ((neighbour_labels == own) & ~noise[:, context.knn]).to(dtype)
    k_small = min(5, same.shape[2])
    purity_5 = same[:, :, :k_small].mean(dim=2)
    purity_10 = same.mean(dim=2)

    own_centroid, centroid_ratio, own_radius = _centroid_features(
        context, onehot, sizes, present, labels)
    size_fraction = own_size / n
    density = D.gather(1, context.knn).mean(dim=1).expand(n_candidates, -1)

    cluster_features = torch.stack([
        silhouette, intra, nearest_other, purity_5, purity_10, own_centroid,
        centroid_ratio, size_fraction, own_radius,
    ], dim=-1) * assigned.unsqueeze(-1)
    features = torch.cat([cluster_features, density.unsqueeze(-1),
                          noise.to(dtype).unsqueeze(-1)], dim=-1)

    adjacency, nearest_own = _within_cluster_edges(context, labels, noise, own_size)
    n_scalars = len(GLOBAL_FEATURES) if n_scalars is None else n_scalars
    graph_scalars = [_graph_scalars(sizes, present, silhouette, noise)]
    if n_scalars > len(GRAPH_SUMMARY):
        graph_scalars.append(_classical_indices(
            context, onehot, sizes, present, own_centroid, labels, nearest_own, noise))
    if n_scalars > len(CLASSICAL_INDICES):
        graph_scalars.append(density_validity(context, labels.masked_fill(noise, -1)))
    return features, adjacency, torch.cat(graph_scalars, dim=-1)


def _silhouettes(D, onehot, sizes, present, labels, own_size, noise):
    """a(i), b(i) and the silhouette of each point, from per-cluster sums of distances."""
    own = labels.unsqueeze(-1)
    cluster_sums = D.unsqueeze(0) @ onehot  # (B, n, K)
    own_sum = torch.gather(cluster_sums, 2, own).squeeze(-1)
    intra = own_sum / torch.clamp(own_size - 1, min=1)
    other_means = cluster_sums / torch.clamp(sizes, min=1).unsqueeze(1)
    other_means = other_means.masked_fill(~present.unsqueeze(1), torch.inf)
    other_means = other_means.scatter(2, own, torch.inf)
    nearest_other = other_means.min(dim=2).values
    single_cluster = ~torch.isfinite(nearest_other)
    nearest_other = torch.where(single_cluster, intra, nearest_other)
    denominator = torch.clamp(torch.maximum(intra, nearest_other), min=1e-12)
    silhouette = (nearest_other - intra) / denominator
    silhouette = torch.where((own_size <= 1) | single_cluster | noise,
                             torch.zeros_like(silhouette), silhouette)
    return intra, nearest_other, silhouette


def _centroid_features(context, onehot, sizes, present, labels):
    """Distance to the own centroid, own / (own + nearest other), own cluster radius."""
    own = labels.unsqueeze(-1)
    n_candidates = labels.shape[0]
    centroids = onehot.transpose(1, 2) @ context.X / torch.clamp(sizes, min=1).unsqueeze(-1)
    to_centroids = torch.cdist(context.X.unsqueeze(0).expand(n_candidates, -1, -1), centroids)
    own_centroid = torch.gather(to_centroids, 2, own).squeeze(-1)
    other_centroids = to_centroids.masked_fill(~present.unsqueeze(1), torch.inf)
    other_centroids = other_centroids.scatter(2, own, torch.inf).min(dim=2).values
    # bounded: a point next to another cluster's centroid must not give an
    # unbounded ratio (rings around a blob, random labellings)
    centroid_ratio = torch.where(
        torch.isfinite(other_centroids),
        own_centroid / torch.clamp(own_centroid + other_centroids, min=1e-12),
        torch.full_like(own_centroid, 0.5),
    )
    radius = (onehot * own_centroid.unsqueeze(-1)).sum(dim=1) / torch.clamp(sizes, min=1)
    own_radius = torch.gather(radius, 1, labels)
    return own_centroid, centroid_ratio, own_radius


def _within_cluster_edges(context, labels, noise, own_size):
    """Self-tuning weights on each point's kNN within its cluster; noise has no edges.

    Each point's neighbours in its cluster are the first ``_EDGE_NEIGHBOURS``
    points of its cluster in its distance order (``context.order``); most
    are among its first ``_SCANNED_NEIGHBOURS`` points overall, so only the
    points that find fewer there scan their whole order. Also returns each
    point's distance to its nearest point of its cluster (inf for noise and
    single points).
    """
    D = context.distances
    n_candidates, n = labels.shape
    wanted = torch.clamp(own_size - 1, max=_EDGE_NEIGHBOURS).masked_fill(noise, 0)
    weights = torch.exp(-D.pow(2) / (context.sigma[:, None] * context.sigma[None, :]))
    # the weights written straight into the adjacency, both ways (symmetric edges)
    adjacency = torch.zeros((n_candidates, n, n), dtype=D.dtype)

    def connect(rows, points, neighbour):
        # flat indices: one index_put per direction instead of three-index ones
        flat, start = adjacency.view(-1), rows * (n * n)
        for pair in (points * n + neighbour, neighbour * n + points):
            flat.index_put_((start + pair,), weights.view(-1).take(pair))

    def scan(same, order):
        # the first _EDGE_NEIGHBOURS points of the point's cluster in `order`
        rank = same.cumsum(dim=-1, dtype=torch.int16)
        found = rank[..., -1]
        nearest = order.gather(-1, same.to(torch.uint8).argmax(dim=-1, keepdim=True))
        index, position = torch.nonzero(same & (rank <= _EDGE_NEIGHBOURS), as_tuple=True)
        return found, nearest.squeeze(-1), index, order[index, position]

    # every point's first _SCANNED_NEIGHBOURS points (noise has no cluster)
    assigned = ~noise
    order = context.order
    same = (labels[:, order] == labels.unsqueeze(-1)) & assigned[:, order] & assigned.unsqueeze(-1)
    found, nearest, index, neighbour = scan(same.reshape(n_candidates * n, -1),
                                            order.repeat(n_candidates, 1))
    connect(index // n, index % n, neighbour)
    first = torch.where(found > 0, nearest, -1).reshape(n_candidates, n)
    short = (found.reshape(n_candidates, n) < wanted).nonzero(as_tuple=True)
    if short[0].numel() and n - 1 > _SCANNED_NEIGHBOURS:
        # the points that found fewer there scan their whole order
        rows, points = short
        order = context.full_order(points)
        same = ((labels[rows.unsqueeze(-1), order] == labels[rows, points].unsqueeze(-1))
                & assigned[rows.unsqueeze(-1), order])
        found, nearest, index, neighbour = scan(same, order)
        connect(rows[index], points[index], neighbour)
        first[rows, points] = torch.where(found > 0, nearest, -1)
    nearest_own = torch.where(first >= 0, D[torch.arange(n).unsqueeze(0), first.clamp(min=0)],
                              torch.full((), torch.inf, dtype=D.dtype))
    return adjacency, nearest_own


def _graph_scalars(sizes, present, silhouette, noise):
    """log k, size entropy, singleton share, mean silhouette and noise share per candidate."""
    n = noise.shape[1]
    dtype = silhouette.dtype
    fractions = sizes / n
    entropy = -(fractions * torch.log(torch.clamp(fractions, min=1e-12))).sum(dim=1)
    k = present.sum(dim=1).to(dtype)
    singletons = ((sizes == 1).to(dtype) * sizes).sum(dim=1) / n
    return torch.stack([torch.log(k.clamp(min=1)), entropy, singletons, silhouette.mean(dim=1),
                        noise.to(dtype).mean(dim=1)], dim=-1)


def _classical_indices(context, onehot, sizes, present, own_centroid, labels,
                       nearest_own, noise):
    """Classical internal validity indices of each candidate, on its assigned points.

    ``log_calinski_harabasz`` (log of between / within dispersion, each per
    degree of freedom), ``log_davies_bouldin`` (log1p of the mean over
    clusters of the worst (s_i + s_j) / d(c_i, c_j)), ``log_dunn`` (log of
    the smallest distance between points of different clusters over the
    largest within a cluster) and ``nn_separation`` (a density-based
    silhouette: per point, distance to the nearest point of another cluster
    against the distance to its nearest point in its own cluster, as
    ``(b - a) / max(a, b)``, averaged; high for well separated clusters of
    any shape, e.g. rings and moons, where centroid indices fail). Indices
    undefined for fewer than two clusters are 0 (``log_k`` tells that case).
    """
    D = context.distances
    dtype = D.dtype
    assigned = (~noise).to(dtype)
    n_assigned = assigned.sum(dim=1).clamp(min=1)
    k = present.sum(dim=1).to(dtype)
    defined = (k >= 2) & (k < n_assigned)
    # Calinski-Harabasz from the centroid distances already computed
    within = (own_centroid.pow(2) * assigned).sum(dim=1)
    centroids = onehot.transpose(1, 2) @ context.X / torch.clamp(sizes, min=1).unsqueeze(-1)
    grand = (assigned.unsqueeze(-1) * context.X).sum(dim=1) / n_assigned.unsqueeze(-1)
    between = (sizes * (centroids - grand.unsqueeze(1)).pow(2).sum(dim=-1)).sum(dim=1)
    ratio = (between / (k - 1).clamp(min=1)) / (within / (n_assigned - k).clamp(min=1)
                                                 ).clamp(min=1e-12)
    log_ch = torch.where(defined, torch.log(ratio.clamp(min=1e-12)), torch.zeros_like(k))
    # Davies-Bouldin from the cluster radii (mean member-centroid distance)
    radius = (onehot * own_centroid.unsqueeze(-1)).sum(dim=1) / torch.clamp(sizes, min=1)
    separation = torch.cdist(centroids, centroids)
    pair = present.unsqueeze(1) & present.unsqueeze(2)
    pair &= ~torch.eye(pair.shape[-1], dtype=torch.bool)
    similarity = (radius.unsqueeze(1) + radius.unsqueeze(2)) / separation.clamp(min=1e-12)
    worst = similarity.masked_fill(~pair, -torch.inf).amax(dim=2)
    worst = torch.where(present, worst, torch.zeros_like(worst))
    db = worst.clamp(min=0).sum(dim=1) / k.clamp(min=1)
    log_db = torch.where(defined, torch.log1p(db), torch.zeros_like(k))
    # Dunn and the nearest-neighbour (density-based) separation, from point distances
    # (minima and maxima: exact whatever the order of the passes over the pairs)
    assigned_j = ~noise.unsqueeze(1)
    other = (labels.unsqueeze(-1) != labels.unsqueeze(1)) & assigned_j  # j in another cluster
    infinite = torch.full((), torch.inf, dtype=dtype)
    nearest_other = torch.where(other, D, infinite).amin(dim=2).masked_fill(noise, torch.inf)
    # j in i's cluster (not i itself): neither in another cluster nor noise
    outside = other.logical_or_(noise.unsqueeze(1)).logical_or_(
        torch.eye(D.shape[0], dtype=torch.bool))
    diameter = torch.where(outside, torch.zeros((), dtype=dtype), D).amax(dim=2)
    diameter = diameter.masked_fill(noise, 0).amax(dim=1)
    gap = nearest_other.amin(dim=1)
    log_dunn = torch.where(defined & torch.isfinite(gap) & (diameter > 0),
                           torch.log(gap.clamp(min=1e-6) / diameter.clamp(min=1e-6)),
                           torch.zeros_like(k))
    usable = torch.isfinite(nearest_own) & torch.isfinite(nearest_other)
    point_separation = (nearest_other - nearest_own) / torch.maximum(
        nearest_own, nearest_other).clamp(min=1e-12)
    point_separation = torch.where(usable, point_separation, torch.zeros_like(point_separation))
    nn_separation = point_separation.sum(dim=1) / usable.sum(dim=1).clamp(min=1)
    return torch.stack([log_ch, log_db, log_dunn, nn_separation], dim=-1)


def to_networkx(X, labels):
    """The graph of one clustering as a :class:`networkx.Graph`.

    Nodes carry their ``cluster`` and the node features of
    :data:`NODE_FEATURES`; edges carry their ``weight``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)

    Returns
    -------
    graph : networkx.Graph

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_tcm.learned_metric.graph import to_networkx
    >>> X = np.r_[np.zeros((5, 2)), np.ones((5, 2))] + np.arange(10)[:, None] * 0.01
    >>> graph = to_networkx(X, [0] * 5 + [1] * 5)
    >>> graph.number_of_nodes(), graph.number_of_edges()
    (10, 20)
    """
    import networkx as nx

    context = build_context(X)
    features, adjacency, _ = clustering_graphs(context, np.asarray(labels)[None])
    labels = canonical_labels(labels)[0]
    graph = nx.Graph()
    for i in range(labels.size):
        graph.add_node(i, cluster=int(labels[i]),
                       **{name: float(v) for name, v in zip(NODE_FEATURES, features[0, i])})
    rows, cols = torch.nonzero(torch.triu(adjacency[0]), as_tuple=True)
    graph.add_weighted_edges_from(
        (int(i), int(j), float(adjacency[0, i, j])) for i, j in zip(rows, cols)
    )
    return graph


def density_validity(context, labels):
    """A density-based validity index (after DBCV, Moulavi et al., SDM 2014).

    Distances are mutual reachability distances ``max(d_ij, core_i, core_j)``
    with the self-tuning bandwidth as core distance. A cluster's *sparseness*
    is the longest edge of its minimum spanning tree (a cluster made of two
    groups has a long one), its *separation* the shortest distance to a point
    of another cluster (a manifold cut in pieces has a short one); its
    validity is ``(separation - sparseness) / max(separation, sparseness)``
    in [-1, 1]. The index is the mean validity weighted by cluster size over
    all points, so that noise counts as unexplained; single-point clusters
    count 0; fewer than two clusters give 0 (``log_k`` tells that case).

    Parameters
    ----------
    context : DatasetContext
    labels : tensor of shape (n_candidates, n)
        Canonical labels (:func:`canonical_labels`), -1 for noise.

    Returns
    -------
    index : tensor of shape (n_candidates, 1)
    """
    labels = torch.as_tensor(labels)
    D = context.distances
    core = context.sigma
    # the mutual reachability distances, once for every candidate
    reach = torch.maximum(D, torch.maximum(core[:, None], core[None, :])).double().numpy()
    upper = np.triu_indices(reach.shape[0], 1)
    index = np.zeros((labels.shape[0], 1))
    for row, candidate in enumerate(labels.numpy()):
        index[row, 0] = _density_validity_one(reach, candidate, upper)
    return torch.as_tensor(index, dtype=D.dtype)


def _density_validity_one(reach, labels, upper):
    """:func:`density_validity` of one labelling (``upper``: the triangle's indices).

    Every cluster's minimum spanning tree comes from one single-linkage tree
    of the points in which pairs of different clusters (and noise) are
    farther apart than any pair of the same cluster: its merges below that
    distance are the edges of the clusters' trees, in increasing order.
    """
    assigned = labels >= 0
    clusters, sizes = np.unique(labels[assigned], return_counts=True)
    if clusters.size < 2:
        return 0.0
    same = (labels[:, None] == labels[None, :]) & assigned[:, None]
    other = assigned[:, None] & assigned[None, :] & ~same
    nearest = np.where(other, reach, np.inf).min(axis=1)
    separation = np.full(clusters.size, np.inf)
    np.minimum.at(separation, np.searchsorted(clusters, labels[assigned]), nearest[assigned])
    apart = 2.0 * float(reach.max()) + 1.0
    merges = hierarchy.linkage(np.where(same, reach, apart)[upper], method="single")
    within = int(np.searchsorted(merges[:, 2], apart))  # the clusters' tree edges come first
    n = labels.size
    # a leaf under each merge (its cluster is the merge's): follow the first
    # children down, by pointer jumping (each pass halves the remaining depth)
    leaf = merges[:within, 0].astype(np.intp)
    deep = leaf >= n
    while deep.any():
        leaf[deep] = leaf[leaf[deep] - n]
        deep = leaf >= n
    sparseness = np.zeros(clusters.size)
    np.maximum.at(sparseness, np.searchsorted(clusters, labels[leaf]), merges[:within, 2])
    counted = sizes > 1  # a single point counts 0
    validity = (separation - sparseness) / np.maximum(np.maximum(separation, sparseness), 1e-12)
    return float((sizes * np.where(counted, validity, 0.0)).sum() / n)
