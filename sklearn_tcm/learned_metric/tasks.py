"""Tasks: the labelled sub-problems the critic learns from.

A task is a small labelled dataset (points and their true clustering), its
points preprocessed on their own (:func:`preprocess_task`), with competing
clusterings of the same points (:func:`seed_negatives`: classical
clusterers at and around the true k, perturbed truths, the outputs of the
clusterers people tune, with their noise, and degenerate partitions). The
critic is trained so that the truth scores above all of them.
"""

import numpy as np
from joblib import Parallel, delayed
from sklearn.cluster import (
    DBSCAN,
    HDBSCAN,
    AgglomerativeClustering,
    KMeans,
)
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from .._base import inline_task, split_classes
from ..datasets import make_synthetic_tasks, sample_tasks
from ..metrics import adjusted_rand_matrix
from ._spectral import spectral_clustering
from .graph import canonical_labels

__all__ = [
    "preprocess_task",
    "seed_negatives",
    "tuned_algorithm_negatives",
    "grid_negatives",
    "degenerate_negatives",
    "deduplicate",
    "uniform_subsets",
    "scoring_groups",
    "make_task",
    "split_classes",
    "draw_tasks",
]


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


def _knn_distance_quantiles(X, quantiles, n_neighbours=5):
    """Quantiles of the distance to the n-th nearest neighbour (DBSCAN's eps grid)."""
    n_neighbours = min(n_neighbours, X.shape[0] - 1)
    distances = NearestNeighbors(n_neighbors=n_neighbours).fit(X).kneighbors()[0][:, -1]
    return np.quantile(distances, quantiles)


def degenerate_negatives(X, truth, rng):
    """Degenerate partitions a metric must never prefer to a sensible one.

    One cluster; one cluster whose 10 % outermost points are noise (what
    DBSCAN gives with a large eps); most points (80 %) noise, the rest
    keeping their true labels; one giant cluster plus 10 % singletons; about
    n / 2 clusters of one or two points (k near n).
    """
    n = truth.size
    candidates = [("one_cluster", np.zeros(n, dtype=np.int64))]
    outlying = np.linalg.norm(X - X.mean(axis=0), axis=1)
    one_with_noise = np.zeros(n, dtype=np.int64)
    one_with_noise[outlying >= np.quantile(outlying, 0.9)] = -1
    candidates.append(("one_cluster_and_noise", one_with_noise))
    mostly_noise = truth.copy()
    mostly_noise[rng.random(n) < 0.8] = -1
    if (mostly_noise >= 0).any():
        candidates.append(("mostly_noise", mostly_noise))
    giant = np.zeros(n, dtype=np.int64)
    singles = rng.choice(n, size=max(1, n // 10), replace=False)
    giant[singles] = np.arange(1, singles.size + 1)
    candidates.append(("giant_and_singletons", giant))
    candidates.append(("k_near_n", rng.permutation(n) // 2))
    return candidates


def tuned_algorithm_negatives(X, k, seed):
    """Outputs of the clusterers people tune, as a metric would be asked to rank them.

    DBSCAN with eps at the 10th, 50th and 90th percentile of the 5-NN
    distance (noise kept as -1), HDBSCAN with ``min_cluster_size`` 5 and 15
    (noise kept), single linkage and a full-covariance Gaussian mixture at
    the true k.
    """
    candidates = []
    for quantile, eps in zip((10, 50, 90), _knn_distance_quantiles(X, [0.1, 0.5, 0.9])):
        candidates.append((f"dbscan_q{quantile}", DBSCAN(eps=max(eps, 1e-12), min_samples=5)
                           .fit_predict(X)))
    for size in (5, 15):
        if X.shape[0] > size:
            candidates.append((f"hdbscan_{size}", HDBSCAN(min_cluster_size=size,
                                                          copy=True).fit_predict(X)))
    if k >= 2:
        candidates.append(("single", AgglomerativeClustering(k, linkage="single")
                           .fit_predict(X)))
        if X.shape[0] > 2 * k:
            candidates.append(("gmm_full", GaussianMixture(
                k, covariance_type="full", reg_covar=1e-4, random_state=seed)
                .fit(X).predict(X)))
    return candidates


#: Clusterers of :func:`grid_negatives`, one drawn per negative.
GRID_CLUSTERERS = ("kmeans", "ward", "average", "gmm", "spectral")


def _grid_clustering(X, k, clusterer, seed):
    if clusterer == "kmeans":
        return KMeans(k, n_init=1, random_state=seed).fit_predict(X)
    if clusterer in ("ward", "average"):
        return AgglomerativeClustering(k, linkage=clusterer).fit_predict(X)
    if clusterer == "gmm":  # full covariances where they can be estimated, as users run it
        covariance = "full" if X.shape[1] <= 10 else "diag"
        return GaussianMixture(k, covariance_type=covariance, reg_covar=1e-4,
                               random_state=seed).fit(X).predict(X)
    return spectral_clustering(X, k, min(10, X.shape[0] - 1), random_state=seed)


def grid_negatives(X, k, n_negatives, rng, seed):
    """Partitions from the grid of k users search, away from the true k.

    A user who does not know k runs a clusterer over k = 2 .. 10 or so and
    asks the metric to pick; the metric must rank the partitions far from
    the true k* as they deserve, not only those next to it (k-means at
    k* - 1 .. k* + 2 in :func:`seed_negatives`). Each negative is a
    clusterer drawn from :data:`GRID_CLUSTERERS` (k-means, Ward, average
    linkage, a Gaussian mixture with full covariances in at most 10
    dimensions, spectral clustering) at a k drawn from 2 .. max(10, 2 k*)
    without k* - 1 .. k* + 2 and with at least 5 points per cluster on
    average, as many below k* as above where both sides have values.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    k : int
        The true number of clusters.
    n_negatives : int
    rng : numpy.random.Generator
    seed : int

    Returns
    -------
    candidates : list of (family, labels)
        Families ``grid_<clusterer>_k<k>``.
    """
    if n_negatives <= 0:
        return []
    n = X.shape[0]
    grid = [kk for kk in range(2, max(10, 2 * k) + 1)
            if not k - 1 <= kk <= k + 2 and kk <= n // 5]
    if not grid:
        return []
    below = [kk for kk in grid if kk < k]
    above = [kk for kk in grid if kk > k]
    n_below = min(len(below), n_negatives // 2 if above else n_negatives)
    chosen = list(rng.choice(below, size=n_below, replace=False)) if n_below else []
    n_above = min(len(above), n_negatives - n_below)
    chosen += list(rng.choice(above, size=n_above, replace=False)) if n_above else []
    candidates = []
    for kk in sorted(int(kk) for kk in chosen):
        clusterer = str(rng.choice(GRID_CLUSTERERS))
        candidates.append((f"grid_{clusterer}_k{kk}", _grid_clustering(X, kk, clusterer, seed)))
    return candidates


def _halves_absorbed(X, truth, centroids, rng, seed):
    """One true cluster cut in two, each half joined to a different neighbouring cluster.

    What k-means with k* - 1 clusters, or a search that merges and splits,
    offers when clusters lie side by side: k* - 1 clusters, all but two of
    them true ones, and a cut through a true cluster. The cluster (of at
    least 4 points) is drawn at random; its halves (2-means) go to the two
    distinct other clusters whose centroids are closest to theirs (the
    pairing of least total distance).
    """
    k = centroids.shape[0]
    sizes = np.bincount(truth[truth >= 0], minlength=k)
    eligible = np.flatnonzero(sizes >= 4)
    if k < 3 or eligible.size == 0:
        return []
    cut = int(rng.choice(eligible))
    members = np.flatnonzero(truth == cut)
    halves = KMeans(2, n_init=3, random_state=seed).fit_predict(X[members])
    if halves.min() == halves.max():  # duplicate points: no cut
        return []
    others = np.delete(np.arange(k), cut)
    half_centres = np.stack([X[members[halves == h]].mean(axis=0) for h in (0, 1)])
    distance = np.linalg.norm(half_centres[:, None] - centroids[others][None], axis=-1)
    total = distance[0][:, None] + distance[1][None, :]
    total[np.diag_indices(others.size)] = np.inf  # two different clusters
    first, second = np.unravel_index(np.argmin(total), total.shape)
    labels = truth.copy()
    labels[members[halves == 0]] = others[first]
    labels[members[halves == 1]] = others[second]
    return [("halves_absorbed", labels)]


def _fragmentations(X, truth, k, seed):
    """Over-segmentations: k-means with 2k and 3k clusters, each true cluster cut in pieces.

    What a search or a grid over k offers on a manifold or an elongated
    cluster; the pieces respect the true boundaries, so only their number
    tells them from the truth.
    """
    n = truth.size
    candidates = []
    for factor in (2, 3):
        if factor * k < n // 3:
            candidates.append((f"kmeans_x{factor}", KMeans(factor * k, n_init=1,
                                                           random_state=seed).fit_predict(X)))
    pieces = np.full(n, -1, dtype=np.int64)
    for c in range(k):
        members = np.flatnonzero(truth == c)
        parts = min(3, members.size // 4)
        start = pieces.max() + 1
        if parts >= 2:
            pieces[members] = start + KMeans(parts, n_init=1, random_state=seed).fit_predict(
                X[members])
        else:
            pieces[members] = start
    if pieces.max() + 1 > k:
        candidates.append(("pieces", pieces))
    return candidates


def seed_negatives(X, truth, random_state=None, n_grid=0):
    """Competing clusterings of a labelled task (the seed-negative families).

    k-means with k* - 1 .. k* + 2 clusters and a second seed at k*; k-means
    started at the true centroids (the hardest competitor: the truth refined
    towards compact clusters); Ward, average and complete linkage, a
    Gaussian mixture and spectral clustering at k*; the truth with 5 %,
    15 % and 30 % of the labels reassigned; the truth with its two closest
    clusters merged; the truth with its largest cluster split in two;
    over-segmentations (:func:`_fragmentations`); random labels; the outputs
    of the clusterers people tune (:func:`tuned_algorithm_negatives`, noise
    kept as -1), degenerate
    partitions (:func:`degenerate_negatives`) and, with ``n_grid``, that
    many partitions from the grid of k users search (:func:`grid_negatives`).

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
        candidates.append(("spectral", spectral_clustering(X, k, min(10, n - 1),
                                                           random_state=seed)))
    for fraction in (0.05, 0.15, 0.30):
        candidates.append((f"reassign_{int(fraction * 100)}", _reassign(truth, fraction, rng)))
    if k >= 3:
        dist = np.linalg.norm(centroids[:, None] - centroids[None], axis=-1)
        dist[np.diag_indices(k)] = np.inf
        a, b = np.unravel_index(np.argmin(dist), dist.shape)
        candidates.append(("merge", np.where(truth == b, a, truth)))
    noise = truth < 0
    if noise.any():
        # the noise absorbed by the nearest true cluster (what k-means would do)
        nearest = np.argmin(np.linalg.norm(X[noise][:, None] - centroids[None], axis=-1), 1)
        absorbed = truth.copy()
        absorbed[noise] = nearest
        candidates.append(("noise_absorbed", absorbed))
    candidates += _fragmentations(X, truth, k, seed)
    largest = np.argmax(np.bincount(truth[~noise]))
    members = np.flatnonzero(truth == largest)
    if members.size >= 4:
        split = truth.copy()
        halves = KMeans(2, n_init=3, random_state=seed).fit_predict(X[members])
        split[members[halves == 1]] = k
        candidates.append(("split", split))
    if k >= 3:
        candidates += _halves_absorbed(X, truth, centroids, rng, seed)
    candidates.append(("random", rng.integers(0, k, size=n)))
    candidates += tuned_algorithm_negatives(X, k, seed)
    candidates += degenerate_negatives(X, truth, rng)
    candidates += grid_negatives(X, k, n_grid, rng, seed)
    return candidates


#: Seed negatives closer than this to the truth (ARI) are dropped: they are
#: near-copies of it, not competitors.
NEAR_TRUTH_ARI = 0.95
#: A candidate this close (ARI) to one already kept is a duplicate.
DUPLICATE_ARI = 0.99
_DEGENERATE = ("one_cluster", "one_cluster_and_noise", "mostly_noise", "giant_and_singletons",
               "k_near_n", "random")


def deduplicate(truth, candidates, existing=None, near_truth=NEAR_TRUTH_ARI):
    """Drop near-truth candidates and duplicates; also return each kept one's ARI to the truth.

    A candidate is dropped when its ARI to the truth is above ``near_truth``,
    when its ARI to a candidate kept before it (or to one of ``existing``)
    is above :data:`DUPLICATE_ARI`, and when it has fewer than two clusters
    (except the degenerate families, kept on purpose). One function for the
    seed negatives and the adversarial rounds' finds; only ``near_truth``
    differs (:data:`~.adversarial.NEAR_TRUTH_ARI` for the finds, see there).
    All ARIs come from one :func:`~sklearn_tcm.metrics.adjusted_rand_matrix`.

    Parameters
    ----------
    truth : ndarray of shape (n,)
    candidates : list of (family, labels)
    existing : ndarray of shape (m, n) or None
        Labellings already in the task (the truth excluded).
    near_truth : float, default=NEAR_TRUTH_ARI

    Returns
    -------
    kept : list of (family, labels)
    agreement : ndarray of shape (len(kept),)
        ARI of each kept candidate with the truth.
    """
    if not candidates:
        return [], np.empty(0)
    labels = np.stack([lab for _, lab in candidates])
    existing = np.empty((0, truth.size), dtype=labels.dtype) if existing is None \
        else np.atleast_2d(existing)
    ari = adjusted_rand_matrix(labels, np.vstack([truth[None], existing, labels]))
    to_truth, to_existing = ari[:, 0], ari[:, 1:1 + existing.shape[0]]
    among = ari[:, 1 + existing.shape[0]:]
    several_truth_clusters = np.unique(truth).size >= 2
    kept = []
    for index, (family, row) in enumerate(candidates):
        n_clusters = np.unique(row[row >= 0]).size
        if n_clusters < 2 and several_truth_clusters and family not in _DEGENERATE:
            continue
        if to_truth[index] > near_truth:
            continue
        if (to_existing[index] > DUPLICATE_ARI).any() or \
                any(among[index, other] > DUPLICATE_ARI for other in kept):
            continue
        kept.append(index)
    return [candidates[i] for i in kept], to_truth[kept]


def subsample(X, labels, max_points, rng):
    """At most max_points rows (uniformly at random), with their labels."""
    if X.shape[0] <= max_points:
        return X, labels
    keep = np.sort(rng.choice(X.shape[0], size=max_points, replace=False))
    return X[keep], labels[..., keep]


def uniform_subsets(n_samples, max_points, n_subsets, rng):
    """Sorted row indices of ``n_subsets`` uniform draws of ``max_points`` rows.

    The draws depend on ``n_samples`` and ``rng`` only, never on labels, so
    that every partition of a dataset is scored on the same points: scores
    are then invariant to renaming clusters and to which other partitions
    are scored alongside. A dataset of at most ``max_points`` rows gives one
    subset, all of its rows.
    """
    if n_samples <= max_points:
        return [np.arange(n_samples)]
    return [np.sort(rng.choice(n_samples, size=max_points, replace=False))
            for _ in range(n_subsets)]


#: Most points of one scoring graph, however many clusters a labelling has
#: (graphs are dense: their memory and time grow with the square of the points).
MAX_SCORING_POINTS = 2000


def scoring_groups(labels, max_points, points_per_cluster):
    """Labellings grouped by the number of points each is scored on.

    A labelling with ``k`` clusters (noise ``-1`` is not one) is scored on
    subsamples of ``max(max_points, points_per_cluster * k)`` points, at most
    :data:`MAX_SCORING_POINTS` (unless ``max_points`` is larger) and at most
    all of them, so that each of its clusters keeps about as many points as
    the critic's training tasks give a cluster. ``points_per_cluster=None``
    scores every labelling on ``max_points`` points. The size depends on the
    labelling alone, never on the others scored alongside.

    Parameters
    ----------
    labels : ndarray of shape (n_labellings, n_samples)
    max_points : int
    points_per_cluster : int or None

    Returns
    -------
    groups : dict
        ``{size: indices of the labellings scored on subsamples of size
        points}``, sizes in increasing order.
    """
    n_samples = labels.shape[1]
    sizes = np.full(labels.shape[0], min(n_samples, max_points))
    if points_per_cluster is not None:
        n_clusters = np.array([np.unique(row[row >= 0]).size for row in labels])
        wanted = np.minimum(points_per_cluster * n_clusters,
                            max(max_points, MAX_SCORING_POINTS))
        sizes = np.minimum(n_samples, np.maximum(max_points, wanted))
    return {int(size): np.flatnonzero(sizes == size) for size in np.unique(sizes)}


def make_task(X, truth, max_points=300, seed=0, grid_negatives=0):
    """One training task: preprocessed points, truth first, then its negatives.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    truth : ndarray of shape (n_samples,)
        True labels; ``-1`` marks noise points (not a cluster).
    max_points : int, default=300
        Larger tasks are subsampled uniformly at random.
    seed : int, default=0
    grid_negatives : int, default=0
        Negatives from the grid of k users search (:func:`grid_negatives`).

    Returns
    -------
    task : dict
        ``X`` (preprocessed points), ``labels`` (``[truth, negatives...]``,
        one row each), ``families`` (the name of each row) and ``weights``
        (1 for the truth, ``1 - ARI`` to the truth for negatives).
    """
    rng = np.random.default_rng(seed)
    X, truth = subsample(X, truth, max_points, rng)
    X = preprocess_task(X, random_state=seed)
    negatives, agreement = deduplicate(truth, seed_negatives(
        X, truth, random_state=seed, n_grid=grid_negatives))
    labels = np.stack([canonical_labels(truth)[0]] + [labels for _, labels in negatives])
    families = ["truth"] + [family for family, _ in negatives]
    weights = np.concatenate([[1.0], 1.0 - agreement])
    return {"X": X, "labels": labels, "families": families, "weights": weights}


def _reference_task_specs(references, n_total, split, k_range, size_range, rng):
    specs, class_disjoint = [], True
    for i in range(n_total):
        Xr, yr, train_classes, val_classes = references[i % len(references)]
        if split == "validation" and val_classes is None:
            class_disjoint = False
        classes = train_classes if split == "train" or val_classes is None else val_classes
        mask = np.isin(yr, classes)
        k_high = min(k_range[1], classes.size)
        task = next(sample_tasks(
            Xr[mask], yr[mask], 1, k_range=(min(k_range[0], k_high), k_high),
            size_range=size_range, imbalance=float(rng.uniform()),
            random_state=int(rng.integers(2**31 - 1)),
        ))
        X, y = task.X, task.y
        noise = np.flatnonzero(yr < 0)
        if noise.size:  # the reference's noise, in the same share, stays noise
            share = noise.size / yr.size
            n_noise = min(noise.size, int(round(share / (1 - share) * y.size)))
            chosen = rng.choice(noise, size=n_noise, replace=False)
            X, y = np.vstack([X, Xr[chosen]]), np.concatenate([y, np.full(n_noise, -1)])
        specs.append((X, y, int(rng.integers(2**31 - 1))))
    return specs, class_disjoint


def draw_tasks(references, n_tasks, synthetic_tasks, *, k_range, size_range, max_points,
               rng, grid_negatives=0, n_jobs=None, verbose=0):
    """Training and class-disjoint validation tasks, built in parallel.

    Parameters
    ----------
    references : list of tuple
        ``(X, y, train_classes, validation_classes)`` per reference dataset
        (see :func:`split_classes`).
    n_tasks : int
        Training tasks drawn from the references (a third as many, at least
        one, validation tasks from the held-out classes).
    synthetic_tasks : int
        Generated training tasks (:func:`~sklearn_tcm.datasets.make_synthetic_tasks`);
        a third as many join the validation tasks, after the reference ones.
    k_range, size_range : tuple of int
        Classes per task and points per class.
    max_points : int
        Larger tasks are subsampled.
    rng : numpy.random.Generator
    grid_negatives : int, default=0
        Negatives per task from the grid of k users search (:func:`grid_negatives`).
    n_jobs : int or None
    verbose : int

    Returns
    -------
    tasks : dict
        ``"train"`` and ``"validation"`` lists of :func:`make_task` dicts.
    class_disjoint : bool
        Whether every validation task came from held-out classes.
    """
    from tqdm.auto import tqdm

    specs, class_disjoint = {}, True
    for split, n_total in (("train", n_tasks), ("validation", max(1, n_tasks // 3))):
        specs[split], disjoint = _reference_task_specs(references, n_total, split, k_range,
                                                       size_range, rng)
        class_disjoint &= disjoint
    if synthetic_tasks:
        # validation also gets synthetic tasks (after the reference ones, which the
        # validation searches use first): held-out classes alone may allow only k = 2
        for split, n_synthetic in (("train", synthetic_tasks),
                                   ("validation", max(1, synthetic_tasks // 3))):
            synthetic = make_synthetic_tasks(n_synthetic, k_range=k_range,
                                             size_range=size_range,
                                             random_state=int(rng.integers(2**31 - 1)))
            specs[split] += [(task.X, task.y, int(rng.integers(2**31 - 1)))
                             for task in synthetic]
    tasks = {}
    for split, items in specs.items():
        tasks[split] = Parallel(n_jobs=n_jobs)(
            delayed(inline_task)(make_task, (X, y, max_points, seed, grid_negatives))
            for X, y, seed in tqdm(items, desc=f"{split} tasks", disable=not verbose)
        )
    return tasks, class_disjoint
