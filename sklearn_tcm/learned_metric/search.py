"""Evolutionary search for the clustering a critic scores highest.

The genome of a candidate clustering is the cluster id of each of at most
150 *micro-clusters* (k-means on the whole dataset), so that the cost of the
search does not grow with the number of points; candidate clusterings are
scored on a few fixed random subsamples of at most ``max_points`` points,
whose critic context (distances, neighbours, scale) is built once.

The initial population is a *pool* of classical clusterings of the
micro-clusters (k-means, Ward, average, complete and single linkage, a
Gaussian mixture and spectral clustering for every k in the range, DBSCAN
over an eps grid and HDBSCAN over ``min_cluster_size``) plus mutants of
them. Operators: move a boundary micro-cluster to a neighbouring cluster,
merge the two closest clusters, split a cluster by 2-means, a few Lloyd
steps, and cluster-injection crossover (a cluster of one parent is copied
into the other). Merge and split are what choose the number of clusters.
Offspring must stay within an ARI of ``trust_region`` of some member of
the pool (:func:`pool_similarity`), where the critic has been trained.
Selection is (mu + lambda) with elitism; the search stops when the best
score has not improved for ``patience`` generations, and the final labels
get a point-level k-means refinement, kept only if the critic prefers it.

``select`` scores the pool only and returns the critic's choice.
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.cluster import hierarchy
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import (
    DBSCAN,
    HDBSCAN,
    KMeans,
    MiniBatchKMeans,
)
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors, kneighbors_graph
from tqdm.auto import tqdm

from ..metrics import adjusted_rand_matrix
from ._spectral import cluster_qr, spectral_embedding
from .graph import canonical_labels

__all__ = ["SearchSpace", "SearchResult", "classical_pool", "pool_similarity", "evolve",
           "select"]

_MINIBATCH_ABOVE = 5000
_OPERATORS = ("move", "merge", "split", "lloyd", "crossover")
#: Families of the classical pool (``search="select"`` and the search's seeds):
#: what the metric can recognise, ``predict`` must be able to return (rings,
#: nested and elongated shapes need single linkage, spectral or density).
POOL_FAMILIES = ("kmeans", "ward", "average", "complete", "single", "gmm", "spectral",
                 "dbscan", "hdbscan")
_LINKAGES = ("ward", "average", "complete", "single")


def _canonical(genome):
    return canonical_labels(genome)[0]


class SearchSpace:
    """Micro-clusters and scoring subsamples of one dataset.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The (preprocessed) dataset.
    n_micro : int, default=150
        Maximum number of micro-clusters; datasets with fewer points use one
        micro-cluster per point.
    max_points : int, default=300
        Points per scoring subsample.
    n_subsamples : int, default=1
        Scoring subsamples (a single one, the whole dataset, when
        ``n_samples <= max_points``).
    random_state : int or None
        Seed of the micro-clustering and the subsamples.

    Attributes
    ----------
    micro_labels : ndarray of shape (n_samples,)
        Micro-cluster of every point.
    micro_centers : ndarray of shape (n_micro, n_features)
    micro_counts : ndarray of shape (n_micro,)
    micro_neighbours : ndarray of shape (n_micro, n_neighbours)
        Nearest other micro-clusters, the moves' destinations.
    subsets : list of ndarray
        Point indices of each scoring subsample.
    """

    def __init__(self, X, n_micro=150, max_points=300, n_subsamples=1, random_state=None):
        rng = np.random.default_rng(random_state)
        self.X = np.asarray(X, dtype=np.float64)
        n = self.X.shape[0]
        seed = int(rng.integers(2**31 - 1))
        if n <= n_micro:
            self.micro_labels = np.arange(n)
            self.micro_centers = self.X.copy()
        else:
            model_class = MiniBatchKMeans if n > _MINIBATCH_ABOVE else KMeans
            options = {"batch_size": 2048} if model_class is MiniBatchKMeans else {}
            model = model_class(n_micro, n_init=1, random_state=seed, **options).fit(self.X)
            # renumber so every micro-cluster is non-empty; centres = exact member means
            _, self.micro_labels = np.unique(model.labels_, return_inverse=True)
            membership = sp.csr_matrix((np.ones(n), (self.micro_labels, np.arange(n))))
            counts = np.asarray(membership.sum(axis=1))
            self.micro_centers = np.asarray(membership @ self.X) / counts
        self.micro_counts = np.bincount(self.micro_labels).astype(np.float64)
        n_neighbours = min(6, self.n_micro - 1)
        if n_neighbours >= 1:
            # kneighbors() without X leaves each point out of its own neighbours
            self.micro_neighbours = NearestNeighbors(n_neighbors=n_neighbours).fit(
                self.micro_centers).kneighbors(return_distance=False)
        else:
            self.micro_neighbours = np.zeros((self.n_micro, 0), dtype=np.int64)
        if n <= max_points:
            self.subsets = [np.arange(n)]
        else:
            self.subsets = [np.sort(rng.choice(n, size=max_points, replace=False))
                            for _ in range(n_subsamples)]

    @property
    def n_micro(self):
        return self.micro_centers.shape[0]

    def subset_labels(self, genomes):
        """Labels of each scoring subsample's points for genomes (B, n_micro)."""
        genomes = np.atleast_2d(genomes)
        return [genomes[:, self.micro_labels[subset]] for subset in self.subsets]

    def point_labels(self, genome):
        """Labels of all points for one genome."""
        return np.asarray(genome)[self.micro_labels]

    def centroids(self, genome):
        """Count-weighted centroids of the clusters of a canonical genome."""
        k = int(genome.max()) + 1
        weights = np.zeros((k, self.n_micro))
        weights[genome, np.arange(self.n_micro)] = self.micro_counts
        return (weights @ self.micro_centers) / weights.sum(axis=1, keepdims=True)


@dataclass
class SearchResult:
    """Outcome of a search on one dataset.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,)
        The best clustering found (canonical labels 0..k-1).
    score : float
        Its critic score.
    n_clusters : int
    pool_best_score : float
        Best score of the initial classical pool.
    n_evaluations : int
        Critic evaluations (distinct candidates scored).
    history : list of float
        Best score after each generation (empty for ``select``).
    elites : list of ndarray
        Point labels of the best distinct candidates, best first (the final
        population of ``evolve``, the top of the pool for ``select``), at
        most ``n_elites`` of them; what adversarial training adds as
        negatives.
    """

    labels: np.ndarray
    score: float
    n_clusters: int
    pool_best_score: float
    n_evaluations: int
    history: list = field(default_factory=list)
    elites: list = field(default_factory=list)


class _Scorer:
    """Memoised batch scoring of genomes."""

    def __init__(self, space, score_fn):
        self.space = space
        self.score_fn = score_fn
        self.cache = {}

    def __call__(self, genomes):
        keys = [g.tobytes() for g in genomes]
        todo = {key: g for key, g in zip(keys, genomes) if key not in self.cache}
        if todo:
            batch = np.stack(list(todo.values()))
            scores = np.asarray(self.score_fn(self.space.subset_labels(batch)), dtype=float)
            self.cache.update(zip(todo.keys(), scores))
        return np.array([self.cache[key] for key in keys])


def _without_noise(centers, labels):
    """Give noise micro-clusters (-1) the cluster of their nearest clustered one."""
    clustered = labels >= 0
    if clustered.all() or not clustered.any():
        return labels if clustered.all() else None
    nearest = NearestNeighbors(n_neighbors=1).fit(centers[clustered]).kneighbors(
        centers[~clustered], return_distance=False)[:, 0]
    labels = labels.copy()
    labels[~clustered] = labels[clustered][nearest]
    return labels


def _density_genomes(centers, families):
    """DBSCAN over an eps grid and HDBSCAN over min_cluster_size, on micro-centres."""
    genomes = []
    n = centers.shape[0]
    if "dbscan" in families and n > 3:
        distances = NearestNeighbors(n_neighbors=min(3, n - 1)).fit(centers).kneighbors()[0]
        for eps in np.quantile(distances[:, -1], [0.5, 0.75, 0.9, 0.97]):
            genomes.append(DBSCAN(eps=max(float(eps), 1e-12), min_samples=2)
                           .fit_predict(centers))
    if "hdbscan" in families:
        for size in (3, 6, 12):
            if n > size:
                genomes.append(HDBSCAN(min_cluster_size=size, copy=True).fit_predict(centers))
    return [g for g in (_without_noise(centers, g) for g in genomes) if g is not None]


def classical_pool(space, k_range, random_state=None, families=None):
    """Classical clusterings of the micro-clusters for each k in range.

    ``families`` (default :data:`POOL_FAMILIES`) among ``"kmeans"`` (weighted
    by the micro-cluster sizes), ``"ward"``, ``"average"``, ``"complete"``
    and ``"single"`` linkage, ``"gmm"`` (diagonal Gaussian mixture),
    ``"spectral"`` (spectral clustering of the micro-clusters' kNN graph;
    not for a k below the graph's number of connected components, where it
    would join components whatever their distance),
    ``"dbscan"`` (eps at the 50th-97th percentiles of the micro-clusters'
    3-NN distance) and ``"hdbscan"`` (``min_cluster_size`` 3, 6, 12); the
    density methods' noise joins the nearest cluster. Run on the
    micro-clusters, so the cost does not depend on the number of points.
    Returns canonical genomes with a number of clusters in ``k_range``,
    duplicates removed.
    """
    families = POOL_FAMILIES if families is None else tuple(families)
    unknown = set(families) - set(POOL_FAMILIES)
    if unknown or not families:
        raise ValueError(
            f"families must be a non-empty subset of {POOL_FAMILIES}; got {families!r}."
        )
    seed = int(np.random.default_rng(random_state).integers(2**31 - 1))
    centers, counts = space.micro_centers, space.micro_counts
    # one tree per linkage, cut at every k (the partitions AgglomerativeClustering
    # gives for each k, without building the tree again for each)
    trees = {method: hierarchy.linkage(centers, method=method)
             for method in _LINKAGES if method in families and space.n_micro >= 2}
    n_neighbours = min(8, space.n_micro - 1)
    embedding, spectral_ks = None, set()
    if "spectral" in families and n_neighbours >= 1:
        # the graph SpectralClustering builds (kNN connectivity, symmetrised), embedded
        # once for the largest k: each k reads its first k eigenvectors
        graph = kneighbors_graph(centers, n_neighbours, include_self=True)
        affinity = 0.5 * (graph + graph.T)
        n_components = connected_components(affinity, directed=False)[0]
        spectral_ks = {k for k in range(k_range[0], min(k_range[1], space.n_micro) + 1)
                       if space.n_micro > 2 * k and k >= n_components}
        if spectral_ks:
            embedding = spectral_embedding(affinity, max(spectral_ks), random_state=seed)
    genomes = []
    for k in range(k_range[0], min(k_range[1], space.n_micro) + 1):
        if "kmeans" in families:
            genomes.append(KMeans(k, n_init=3, random_state=seed).fit(
                centers, sample_weight=counts).labels_)
        for tree in trees.values():
            genomes.append(hierarchy.fcluster(tree, k, criterion="maxclust") - 1)
        if "gmm" in families and space.n_micro > 2 * k:
            gmm = GaussianMixture(k, covariance_type="diag", reg_covar=1e-4,
                                  random_state=seed).fit(centers)
            genomes.append(gmm.predict(centers))
        if k in spectral_ks:
            genomes.append(cluster_qr(embedding[:, :k]))
    genomes += _density_genomes(centers, families)
    unique = {}
    for genome in genomes:
        genome = _canonical(genome)
        if k_range[0] <= genome.max() + 1 <= k_range[1]:
            unique.setdefault(genome.tobytes(), genome)
    return list(unique.values())


# ------------------------------------------------------------------ operators
def _move(space, genome, rng):
    neighbour_clusters = genome[space.micro_neighbours]
    boundary = np.flatnonzero((neighbour_clusters != genome[:, None]).any(axis=1))
    if boundary.size == 0:
        return genome
    child = genome.copy()
    for m in rng.choice(boundary, size=min(boundary.size, int(rng.integers(1, 4))),
                        replace=False):
        options = neighbour_clusters[m][neighbour_clusters[m] != genome[m]]
        child[m] = rng.choice(options)
    return child


def _merge(space, genome, rng):
    k = int(genome.max()) + 1
    if k < 2:
        return genome
    centroids = space.centroids(genome)
    distance = np.linalg.norm(centroids[:, None] - centroids[None], axis=-1)
    distance[np.diag_indices(k)] = np.inf
    pairs = np.dstack(np.unravel_index(np.argsort(distance, axis=None), distance.shape))[0]
    pairs = pairs[pairs[:, 0] < pairs[:, 1]]
    a, b = pairs[min(int(rng.geometric(0.6)) - 1, len(pairs) - 1)]
    return np.where(genome == b, a, genome)


def _two_means(points, weights, rng, n_iter=10):
    """Weighted 2-means (k-means++ seeding, Lloyd steps): labels 0 / 1 of the points.

    The search splits clusters thousands of times; this is scikit-learn's
    ``KMeans(2, n_init=1)`` without its per-call validation overhead.
    """
    weights = np.asarray(weights, dtype=np.float64)
    first = points[rng.choice(points.shape[0], p=weights / weights.sum())]
    d2 = weights * np.sum((points - first) ** 2, axis=1)
    if d2.sum() <= 0:
        return np.zeros(points.shape[0], dtype=np.int64)
    centres = np.stack([first, points[rng.choice(points.shape[0], p=d2 / d2.sum())]])
    labels = None
    for _ in range(n_iter):
        distances = ((points[:, None] - centres[None]) ** 2).sum(axis=-1)
        new = distances.argmin(axis=1)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        for c in (0, 1):
            if (labels == c).any():
                centres[c] = np.average(points[labels == c], axis=0, weights=weights[labels == c])
    return labels


def _split(space, genome, rng):
    k = int(genome.max()) + 1
    members = [np.flatnonzero(genome == c) for c in range(k)]
    centroids = space.centroids(genome)
    spread = np.array([
        np.sum(space.micro_counts[idx] * np.sum((space.micro_centers[idx] - centroids[c]) ** 2,
                                                 axis=1)) if idx.size >= 2 else 0.0
        for c, idx in enumerate(members)
    ])
    if spread.sum() <= 0:
        return genome
    cluster = rng.choice(k, p=spread / spread.sum())
    idx = members[cluster]
    halves = _two_means(space.micro_centers[idx], space.micro_counts[idx], rng)
    child = genome.copy()
    child[idx[halves == 1]] = k
    return child


def _lloyd(space, genome, rng):
    child = genome
    for _ in range(int(rng.integers(1, 3))):
        centroids = space.centroids(_canonical(child))
        distance = ((space.micro_centers[:, None] - centroids[None]) ** 2).sum(axis=-1)
        child = distance.argmin(axis=1)
    return child


def _crossover(space, genome, other, rng):
    donor = rng.integers(int(other.max()) + 1)
    child = genome.copy()
    child[other == donor] = int(genome.max()) + 1
    return child


def _repair(space, genome, n_clusters, rng):
    """Merge or split until a genome has exactly n_clusters clusters."""
    genome = _canonical(genome)
    for _ in range(2 * space.n_micro):
        k = int(genome.max()) + 1
        if k == n_clusters:
            break
        operator = _merge if k > n_clusters else _split
        child = _canonical(operator(space, genome, rng))
        if np.array_equal(child, genome):
            break
        genome = child
    return genome


def _mutate(space, parent, other, k_range, n_clusters, rng):
    operator = _OPERATORS[rng.integers(len(_OPERATORS))]
    if operator == "crossover":
        child = _crossover(space, parent, other, rng)
    else:
        child = {"move": _move, "merge": _merge, "split": _split,
                 "lloyd": _lloyd}[operator](space, parent, rng)
    child = _canonical(child)
    if n_clusters is not None:
        return _repair(space, child, n_clusters, rng)
    k = int(child.max()) + 1
    if k < k_range[0] or k > k_range[1]:
        return parent
    return child


# -------------------------------------------------------------- trust region
def pool_similarity(space, genomes, pool):
    """Largest ARI of each genome to a member of the pool, over the points.

    The adjusted Rand index of two genomes is computed on the contingency
    table of their micro-clusters weighted by the micro-clusters' sizes,
    i.e. it is the ARI of the two point labellings.

    Parameters
    ----------
    space : SearchSpace
    genomes : ndarray of shape (B, n_micro)
        Canonical genomes.
    pool : ndarray of shape (P, n_micro)
        Canonical genomes of the pool.

    Returns
    -------
    similarity : ndarray of shape (B,)
    """
    return adjusted_rand_matrix(genomes, pool, weights=space.micro_counts).max(axis=1)


class _TrustRegion:
    """Keeps the genomes within ARI ``threshold`` of some pool member (memoised)."""

    def __init__(self, space, pool, threshold):
        self.space = space
        self.pool = np.stack(pool)
        self.threshold = threshold
        self.inside = {genome.tobytes(): True for genome in pool}

    def __call__(self, genomes):
        if self.threshold <= 0:
            return genomes
        new = [g for g in genomes if g.tobytes() not in self.inside]
        if new:
            ok = pool_similarity(self.space, np.stack(new), self.pool) >= self.threshold
            self.inside.update((g.tobytes(), bool(o)) for g, o in zip(new, ok))
        return [g for g in genomes if self.inside[g.tobytes()]]


# ----------------------------------------------------------------- searches
def _refine(space, labels, score_fn):
    """Point-level k-means refinement of the best labels, if the critic agrees."""
    k = int(labels.max()) + 1
    if k < 2:
        return labels, None
    centroids = np.stack([space.X[labels == c].mean(axis=0) for c in range(k)])
    refined = KMeans(k, init=centroids, n_init=1, max_iter=20).fit_predict(space.X)
    refined = _canonical(refined)
    if refined.max() + 1 != k:
        return labels, None
    batch = np.stack([labels, refined])
    scores = np.asarray(score_fn([batch[:, subset] for subset in space.subsets]))
    return (refined, float(scores[1])) if scores[1] > scores[0] else (labels, float(scores[0]))


def _initial(space, k_range, n_clusters, random_state):
    k_range = (n_clusters, n_clusters) if n_clusters is not None else k_range
    k_range = (max(1, k_range[0]), min(k_range[1], space.n_micro))
    pool = classical_pool(space, k_range, random_state)
    if not pool:
        raise ValueError(
            f"No clustering with k in {k_range} exists for {space.n_micro} micro-clusters."
        )
    return pool, k_range


def select(space, score_fn, *, k_range=(2, 10), n_clusters=None, refine=True,
           random_state=None, n_elites=0):
    """Score the classical pool and return the critic's pick.

    Parameters
    ----------
    space : SearchSpace
    score_fn : callable
        ``score_fn(list of (B, n_j) label arrays, one per scoring subsample)``
        returns the B scores (higher is better).
    k_range : tuple of int, default=(2, 10)
        Numbers of clusters considered when ``n_clusters`` is None.
    n_clusters : int or None, default=None
        Fixed number of clusters.
    refine : bool, default=True
        Point-level k-means refinement of the winner, kept if it scores higher.
    random_state : int or None
    n_elites : int, default=0
        Point labels of this many best pool members to return as ``elites``.

    Returns
    -------
    SearchResult
    """
    pool, _ = _initial(space, k_range, n_clusters, random_state)
    scorer = _Scorer(space, score_fn)
    scores = scorer(np.stack(pool))
    order = np.argsort(-scores, kind="stable")
    best = int(order[0])
    result = _finish(space, score_fn, pool[best], float(scores[best]), float(scores[best]),
                     len(scorer.cache), [], refine)
    result.elites = [space.point_labels(pool[i]) for i in order[:n_elites]]
    return result


def _finish(space, score_fn, genome, score, pool_best, n_evaluations, history, refine):
    labels = space.point_labels(genome)
    if refine:
        labels, refined_score = _refine(space, labels, score_fn)
        score = refined_score if refined_score is not None else score
    return SearchResult(labels=labels, score=score, n_clusters=int(labels.max()) + 1,
                        pool_best_score=pool_best, n_evaluations=n_evaluations,
                        history=history)


def _first_population(space, pool, admissible, population_size, k_range, n_clusters, rng):
    """The classical pool, topped up with admissible mutants of it to ``population_size``."""
    population = list(pool)
    for _ in range(4 * population_size):
        if len(population) >= population_size:
            break
        parent = pool[rng.integers(len(pool))]
        population += admissible([_mutate(space, parent, pool[rng.integers(len(pool))],
                                          k_range, n_clusters, rng)])
    return population


def _offspring(space, population, scores, n_offspring, k_range, n_clusters, rng):
    """Children of a generation: binary tournaments for the parent, a random partner."""
    children = []
    for _ in range(n_offspring):
        a, b = rng.integers(len(population), size=2)
        parent = population[a] if scores[a] >= scores[b] else population[b]
        other = population[rng.integers(len(population))]
        children.append(_mutate(space, parent, other, k_range, n_clusters, rng))
    return children


def evolve(space, score_fn, *, k_range=(2, 10), n_clusters=None, population_size=24,
           n_offspring=48, n_generations=30, patience=6, refine=True, random_state=None,
           verbose=0, n_elites=0, trust_region=0.0):
    """(mu + lambda) evolutionary search seeded with the classical pool.

    Parameters
    ----------
    space : SearchSpace
    score_fn : callable
        See :func:`select`.
    k_range : tuple of int, default=(2, 10)
        Allowed numbers of clusters when ``n_clusters`` is None.
    n_clusters : int or None, default=None
        Fixed number of clusters (offspring are repaired by merge / split).
    population_size : int, default=24
        Survivors per generation (mu).
    n_offspring : int, default=48
        Children per generation (lambda).
    n_generations : int, default=30
        Maximum generations.
    patience : int, default=6
        Stop after this many generations without a better best score.
    refine : bool, default=True
        Point-level k-means refinement of the winner, kept if it scores higher.
    random_state : int or None
    verbose : int, default=0
        Show a progress bar over generations when > 0.
    n_elites : int, default=0
        Point labels of this many best members of the final population to
        return as ``elites``.
    trust_region : float, default=0.0
        Smallest ARI (over the points) to its closest member of the
        classical pool that a candidate must keep: offspring further from
        every classical clustering are discarded unscored. The critic was
        trained on classical clusterings and on what earlier searches found;
        far from them it extrapolates, and that is where a search climbs
        into its errors. 0 lets the search go anywhere; 1 keeps it to the
        pool itself. The final point-level refinement (``refine``) is not
        bound by it.

    Returns
    -------
    SearchResult
    """
    rng = np.random.default_rng(random_state)
    pool, k_range = _initial(space, k_range, n_clusters, int(rng.integers(2**31 - 1)))
    scorer = _Scorer(space, score_fn)
    admissible = _TrustRegion(space, pool, trust_region)
    population = _first_population(space, pool, admissible, population_size, k_range,
                                   n_clusters, rng)
    scores = scorer(np.stack(population))
    pool_best = float(scores[: len(pool)].max())
    history, best, stale = [], scores.max(), 0
    bar = tqdm(range(n_generations), desc="search", disable=not verbose, leave=False)
    for _ in bar:
        children = _offspring(space, population, scores, n_offspring, k_range, n_clusters,
                              rng)
        merged = {g.tobytes(): g for g in population + admissible(children)}
        candidates = list(merged.values())
        candidate_scores = scorer(np.stack(candidates))
        # stable sort so ties keep the earlier (parent) candidate: reproducible
        order = np.argsort(-candidate_scores, kind="stable")[:population_size]
        population = [candidates[i] for i in order]
        scores = candidate_scores[order]
        history.append(float(scores[0]))
        bar.set_postfix(score=f"{scores[0]:.3f}", k=int(population[0].max()) + 1)
        if scores[0] > best + 1e-9:
            best, stale = scores[0], 0
        else:
            stale += 1
            if stale >= patience:
                break
    result = _finish(space, score_fn, population[0], float(scores[0]), pool_best,
                     len(scorer.cache), history, refine)
    result.elites = [space.point_labels(genome) for genome in population[:n_elites]]
    return result
