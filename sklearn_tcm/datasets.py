"""Datasets: 2-D shape sets, labelled sub-problems and ``.npz`` loading.

* :func:`make_l2c_points` generates the 2-D point sets of "Learning to
  Cluster" (Meier et al. 2018): rings, concentric rings, half-moons,
  interleaved moons and Gaussian blobs laid out on a grid in the unit square.
* :func:`sample_tasks` draws labelled clustering sub-problems from a labelled
  dataset (the training material of the learned estimators).
* :func:`make_synthetic_tasks` generates labelled clustering problems
  (Gaussian mixtures of random dimension, shape, balance and overlap, and
  2-D shape sets), synthetic references for the learned metric.
* :func:`load_npz` reads an ``.npz`` file with keys ``X`` and ``y``.
"""

import os
from collections import namedtuple
from numbers import Integral, Real

import numpy as np
from sklearn.datasets import make_circles, make_moons
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_X_y

from ._sklearn_compat import Interval, validate_params

__all__ = [
    "make_l2c_points",
    "make_dscl_toy",
    "sample_tasks",
    "make_synthetic_tasks",
    "load_npz",
    "read_npz",
    "Task",
]

# Shape families of make_l2c_points and how many clusters each one holds.
_SHAPE_CLUSTERS = {
    "ring": 1,
    "half_moon": 1,
    "blob": 1,
    "concentric_rings": 2,
    "interleaved_moons": 2,
}
_BLOB_STD = 0.05
_MIN_BLOB_DISTANCE = 0.2
_POINT_NOISE = 0.05  # noise of the ring / moon generators, in their own units


def _split_sizes(n_points, k):
    """Sizes of k equal-sized clusters that add up to n_points."""
    sizes = np.full(k, n_points // k)
    sizes[: n_points % k] += 1
    return sizes


def _fit_unit_box(points):
    """Centre points on their bounding box and scale them into [-1, 1]^2."""
    low, high = points.min(axis=0), points.max(axis=0)
    centred = points - (low + high) / 2
    return centred / max(np.abs(centred).max(), 1e-12)


def _shape_points(shape, sizes, rng):
    """Points (in [-1, 1]^2, randomly rotated) and labels of one shape group."""
    seed = int(rng.integers(np.iinfo(np.int32).max))
    if shape == "ring":
        points, labels = make_circles(
            n_samples=(sizes[0], sizes[0]), factor=0.5, noise=_POINT_NOISE / 2,
            random_state=seed,
        )
        points, labels = points[labels == 1], np.zeros(sizes[0], dtype=int)
    elif shape == "concentric_rings":
        points, labels = make_circles(
            n_samples=(sizes[0], sizes[1]), factor=rng.uniform(0.35, 0.55),
            noise=_POINT_NOISE / 2, random_state=seed,
        )
    elif shape == "half_moon":
        points, labels = make_moons(
            n_samples=(sizes[0], sizes[0]), noise=_POINT_NOISE, random_state=seed
        )
        points, labels = points[labels == 0], np.zeros(sizes[0], dtype=int)
    elif shape == "interleaved_moons":
        points, labels = make_moons(
            n_samples=(sizes[0], sizes[1]), noise=_POINT_NOISE, random_state=seed
        )
    else:  # pragma: no cover - the caller only passes known shapes
        raise ValueError(f"unknown shape {shape!r}")
    angle = rng.uniform(0, 2 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return _fit_unit_box(points @ rotation.T), labels


def _one_l2c_set(n_points, k, rng):
    """Points in [0, 1]^2 and labels 0..k-1 of one generated set."""
    sizes = _split_sizes(n_points, k)
    # Group the k clusters into shapes: two-cluster shapes only while two
    # clusters remain to be placed.
    groups, cluster = [], 0
    while cluster < k:
        remaining = k - cluster
        choices = [s for s, c in _SHAPE_CLUSTERS.items() if c <= remaining]
        shape = choices[rng.integers(len(choices))]
        n_clusters = _SHAPE_CLUSTERS[shape]
        groups.append((shape, np.arange(cluster, cluster + n_clusters)))
        cluster += n_clusters

    grid = int(np.ceil(np.sqrt(len(groups))))
    cell = 1.0 / grid
    cells = rng.permutation(grid * grid)[: len(groups)]
    X = np.empty((n_points, 2))
    y = np.empty(n_points, dtype=np.intp)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    for (shape, clusters), cell_index in zip(groups, cells):
        cell_low = np.array([cell_index % grid, cell_index // grid]) * cell
        centre = cell_low + cell / 2
        rows = np.arange(offsets[clusters[0]], offsets[clusters[-1] + 1])
        if shape == "blob":
            # Gaussian blob of std 0.05 near the cell centre, truncated to its
            # cell; cells are >= 1/3 wide so blob centres stay >= 0.2 apart.
            jitter = rng.uniform(-1, 1, size=2) * max(0.0, (cell - _MIN_BLOB_DISTANCE) / 2)
            mean = centre + jitter
            points = rng.normal(mean, _BLOB_STD, size=(rows.size, 2))
            outside = np.any((points < cell_low) | (points > cell_low + cell), axis=1)
            while outside.any():
                points[outside] = rng.normal(mean, _BLOB_STD, size=(outside.sum(), 2))
                outside = np.any((points < cell_low) | (points > cell_low + cell), axis=1)
            X[rows] = points
            y[rows] = clusters[0]
        else:
            points, labels = _shape_points(shape, sizes[clusters], rng)
            scale = rng.uniform(0.6, 0.9) * cell / 2
            X[rows] = centre + scale * points
            y[rows] = clusters[labels]
    order = rng.permutation(n_points)
    return X[order], y[order]


@validate_params(
    {
        "n_sets": [Interval(Integral, 1, None, closed="left")],
        "n_points": [Interval(Integral, 2, None, closed="left")],
        "k_range": [tuple, list],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_l2c_points(n_sets, n_points=72, k_range=(1, 5), random_state=None):
    """Generate the 2-D shape sets of "Learning to Cluster".

    Every set holds ``n_points`` points in the unit square, split into ``k``
    equal-sized clusters (sizes differ by at most one), ``k`` drawn uniformly
    from ``k_range``. The clusters are grouped into shapes: single rings
    (the inner circle of :func:`~sklearn.datasets.make_circles`), two
    concentric rings, single half-moons, two interleaved moons
    (:func:`~sklearn.datasets.make_moons`) and Gaussian blobs (standard
    deviation 0.05). Each shape group is randomly rotated and rescaled and
    placed in its own cell of a grid laid over the unit square, so groups do
    not overlap and blob centres are at least 0.2 apart.

    Parameters
    ----------
    n_sets : int
        Number of sets to generate.
    n_points : int, default=72
        Number of points per set.
    k_range : tuple of two int, default=(1, 5)
        Inclusive range of the number of clusters per set; ``k_range[1]``
        may not exceed ``n_points``.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible sets.

    Returns
    -------
    X : ndarray of shape (n_sets * n_points, 2)
        Points, all in [0, 1]^2; set ``s`` is ``X[groups == s]``.
    y : ndarray of shape (n_sets * n_points,)
        Cluster label of each point within its set, in ``0 .. k - 1``.
    groups : ndarray of shape (n_sets * n_points,)
        Set index of each point, usable as ``groups=`` in
        :meth:`L2CClustering.fit` or with
        :class:`~sklearn.model_selection.GroupKFold`.

    Examples
    --------
    >>> from sklearn_tcm.datasets import make_l2c_points
    >>> X, y, groups = make_l2c_points(n_sets=3, random_state=0)
    >>> X.shape, groups.max()
    ((216, 2), np.int64(2))
    """
    low, high = _check_range(k_range, "k_range", minimum=1)
    if high > n_points:
        raise ValueError(
            f"k_range={tuple(k_range)} asks for more clusters than n_points={n_points}."
        )
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    X, y = [], []
    for _ in range(n_sets):
        k = int(rng.integers(low, high + 1))
        X_set, y_set = _one_l2c_set(n_points, k, rng)
        X.append(X_set)
        y.append(y_set)
    groups = np.repeat(np.arange(n_sets), n_points)
    return np.concatenate(X), np.concatenate(y), groups


def _scattered_centers(shape, min_distance, rng):
    """``shape = (n_classes, n_subclusters, n_features)`` centres drawn uniformly in
    ``[-1, 1]^n_features`` at least ``min_distance`` apart, assigned to classes at random."""
    n_classes, n_subclusters, n_features = shape
    n_centers = n_classes * n_subclusters
    found = np.empty((0, n_features))
    for _ in range(1000 * n_centers):
        candidate = rng.uniform(-1, 1, size=(1, n_features))
        if np.all(np.linalg.norm(found - candidate, axis=1) >= min_distance):
            found = np.vstack([found, candidate])
            if len(found) == n_centers:
                return rng.permutation(found).reshape(shape)
    raise ValueError(
        f"could not place {n_centers} sub-clusters {min_distance:.3g} apart "
        f"in [-1, 1]^{n_features}; lower cluster_std."
    )


@validate_params(
    {
        "base_size": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "n_subclusters": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "cluster_std": [Interval(Real, 0, None, closed="left")],
        "centers": ["array-like", None],
        "return_centers": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_dscl_toy(
    base_size=20,
    *,
    n_classes=3,
    n_subclusters=3,
    n_features=3,
    cluster_std=0.1,
    size_ratio=2,
    centers=None,
    return_centers=False,
    random_state=None,
):
    """Classes made of scattered Gaussian sub-clusters (the DSCL toy problem).

    Every class is a union of ``n_subclusters`` Gaussian sub-clusters of
    sizes ``base_size * size_ratio**s`` (T, 2T, 4T, ... by default), and the sub-clusters of all
    classes are interleaved at random positions in ``[-1, 1]^n_features``,
    so the classes are not compact: k-means on the input does not recover
    them, while a learned representation can (Law, Urtasun & Zemel 2017).

    Parameters
    ----------
    base_size : int, default=20
        Size T of the smallest sub-cluster.
    n_classes : int, default=3
        Number of classes.
    n_subclusters : int, default=3
        Sub-clusters per class.
    n_features : int, default=3
        Input dimension.
    cluster_std : float, default=0.1
        Standard deviation of each sub-cluster.
    size_ratio : int, default=2
        Size of each sub-cluster of a class over the previous one's.
    centers : array-like of shape (n_classes, n_subclusters, n_features), default=None
        Sub-cluster centres to sample from (e.g. those returned by an earlier
        call, to draw a test set from the same distribution). None draws new
        centres at least ``6 * cluster_std`` apart.
    return_centers : bool, default=False
        Also return the centres.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible data.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        ``n_classes * base_size * (1 + size_ratio + ... + size_ratio**(n_subclusters - 1))``
        samples.
    y : ndarray of shape (n_samples,)
        Class of each sample.
    centers : ndarray of shape (n_classes, n_subclusters, n_features)
        Only with ``return_centers=True``.

    Examples
    --------
    >>> from sklearn_tcm.datasets import make_dscl_toy
    >>> X, y = make_dscl_toy(base_size=10, random_state=0)
    >>> X.shape, np.bincount(y).tolist()
    ((210, 3), [70, 70, 70])
    """
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    shape = (n_classes, n_subclusters, n_features)
    if centers is None:
        centers = _scattered_centers(shape, 6 * cluster_std, rng)
    else:
        centers = np.asarray(centers, dtype=np.float64)
        if centers.shape != shape:
            raise ValueError(f"centers must have shape {shape}, got {centers.shape}.")
    X, y = [], []
    for label in range(n_classes):
        for sub in range(n_subclusters):
            size = base_size * size_ratio**sub
            X.append(rng.normal(centers[label, sub], cluster_std, size=(size, n_features)))
            y.append(np.full(size, label))
    order = rng.permutation(sum(len(part) for part in y))
    X, y = np.concatenate(X)[order], np.concatenate(y)[order]
    return (X, y, centers) if return_centers else (X, y)


def _check_range(value, name, minimum):
    """Validate an inclusive (low, high) pair of integers >= minimum."""
    try:
        low, high = (int(v) for v in value)
        valid = all(float(v) == int(v) for v in value)
    except (TypeError, ValueError):
        valid = False
    if not valid or low < minimum or high < low:
        raise ValueError(
            f"{name} must be a pair of integers (low, high) with "
            f"{minimum} <= low <= high, got {value!r}."
        )
    return low, high


Task = namedtuple("Task", ["X", "y", "indices"])
Task.__doc__ = """A labelled clustering sub-problem drawn by :func:`sample_tasks`.

Attributes
----------
X : ndarray of shape (n_task_samples, n_features)
    The task's samples (rows of the source ``X``, shuffled).
y : ndarray of shape (n_task_samples,)
    Cluster labels ``0 .. k - 1`` (classes renumbered in random order).
indices : ndarray of shape (n_task_samples,)
    Row indices into the source ``X`` (and ``y``).
"""


@validate_params(
    {
        "X": ["array-like"],
        "y": ["array-like"],
        "n_tasks": [Interval(Integral, 1, None, closed="left")],
        "k_range": [tuple, list],
        "size_range": [tuple, list],
        "imbalance": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def sample_tasks(
    X,
    y,
    n_tasks,
    *,
    k_range=(2, 10),
    size_range=(20, 60),
    imbalance=0.5,
    random_state=None,
):
    """Draw labelled clustering sub-problems from a labelled dataset.

    Each task picks ``k`` classes at random (``k`` uniform in ``k_range``,
    capped at the number of classes) and a number of points per class. With
    ``imbalance=0`` all classes of a task get the same size, drawn uniformly
    from ``size_range``; with ``imbalance=1`` every class draws its own size;
    values in between mix the two. A class with fewer points than its drawn
    size contributes all of them.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Samples of the labelled source dataset.
    y : array-like of shape (n_samples,)
        Class labels of the source dataset.
    n_tasks : int
        Number of tasks to draw.
    k_range : tuple of two int, default=(2, 10)
        Inclusive range of the number of classes per task. The upper end is
        capped at the number of classes in ``y``; the lower end may not
        exceed it.
    size_range : tuple of two int, default=(20, 60)
        Inclusive range of the number of points per class.
    imbalance : float in [0, 1], default=0.5
        How much class sizes within a task vary (see above).
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible tasks.

    Yields
    ------
    task : Task
        Named tuple ``(X, y, indices)``: the task's samples, its labels
        ``0 .. k - 1`` and the samples' row indices in ``X``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_tcm.datasets import sample_tasks
    >>> X, y = load_digits(return_X_y=True)
    >>> tasks = list(sample_tasks(X, y, 3, k_range=(2, 4), random_state=0))
    >>> [int(task.y.max()) + 1 for task in tasks]
    [3, 4, 3]
    """
    X, y = check_X_y(X, y, accept_sparse=False, dtype=None, ensure_min_samples=2)
    classes, y_index = np.unique(y, return_inverse=True)
    k_low, k_high = _check_range(k_range, "k_range", minimum=1)
    size_low, size_high = _check_range(size_range, "size_range", minimum=1)
    if k_low > classes.size:
        raise ValueError(
            f"k_range={tuple(k_range)} asks for at least {k_low} classes, but y has "
            f"only {classes.size}."
        )
    k_high = min(k_high, classes.size)
    members = [np.flatnonzero(y_index == c) for c in range(classes.size)]
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    for _ in range(n_tasks):
        k = int(rng.integers(k_low, k_high + 1))
        chosen = rng.choice(classes.size, size=k, replace=False)
        sizes = _task_sizes(k, (size_low, size_high), imbalance, rng, minimum=1)
        indices, labels = [], []
        for label, (c, size) in enumerate(zip(chosen, sizes)):
            size = min(size, members[c].size)
            indices.append(rng.choice(members[c], size=size, replace=False))
            labels.append(np.full(size, label))
        indices = np.concatenate(indices)
        labels = np.concatenate(labels)
        order = rng.permutation(indices.size)
        yield Task(X[indices[order]], labels[order], indices[order])


def _task_sizes(k, size_range, imbalance, rng, minimum=2):
    """Class sizes of one task: ``imbalance`` mixes one shared size with own sizes."""
    shared = rng.integers(size_range[0], size_range[1] + 1)
    own = rng.integers(size_range[0], size_range[1] + 1, size=k)
    sizes = np.rint((1 - imbalance) * shared + imbalance * own).astype(int)
    return np.maximum(sizes, minimum)


def gaussian_clusters(sizes, n_features, spread, width, rng):
    """Points of Gaussian clusters around centres drawn with scale ``spread``.

    Each cluster has its own random rotation, anisotropy (log axis scales
    within a shared random bound up to 1.5) and width (a log factor uniform
    in ``[-width, width]``). Shared by the synthetic tasks and the learned
    metric's training prior.
    """
    centres = rng.normal(scale=spread, size=(sizes.size, n_features))
    anisotropy = rng.uniform(0.0, 1.5)
    X = []
    for size in sizes:
        rotation, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
        scales = np.exp(rng.uniform(-anisotropy, anisotropy, size=n_features))
        scales *= np.exp(rng.uniform(-width, width))  # clusters of different widths
        X.append((rng.normal(size=(size, n_features)) * scales) @ rotation.T)
    return np.concatenate(X) + np.repeat(centres, sizes, axis=0)


def _gaussian_mixture_task(sizes, rng):
    """Points of a Gaussian mixture with random dimension, shapes and overlap."""
    n_features = int(rng.integers(2, 21))
    # centre spread relative to the unit cluster scale: from overlapping
    # (about 1.5 cluster widths between centres) to well separated (about 8)
    spread = np.exp(rng.uniform(np.log(1.0), np.log(6.0)))
    X = gaussian_clusters(sizes, n_features, spread, 0.5, rng)
    return X, np.repeat(np.arange(sizes.size), sizes)


@validate_params(
    {
        "n_tasks": [Interval(Integral, 1, None, closed="left")],
        "k_range": [tuple, list],
        "size_range": [tuple, list],
        "shape_fraction": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_synthetic_tasks(n_tasks, *, k_range=(2, 10), size_range=(20, 60),
                         shape_fraction=0.2, random_state=None):
    """Generate labelled clustering problems with a wide range of structure.

    Synthetic references for :class:`~sklearn_tcm.LearnedMetricClustering`:
    they show the critic many numbers of clusters, balances, degrees of
    overlap and cluster shapes that a few labelled reference classes cannot.
    Each task draws ``k`` uniformly from ``k_range`` and its class sizes from
    ``size_range`` with a random balance (as :func:`sample_tasks`). With
    probability ``1 - shape_fraction`` it is a Gaussian mixture in 2 to 20
    dimensions: centres drawn with a random spread (from overlapping to well
    separated clusters), each cluster with its own random rotation,
    anisotropy and width. Otherwise it is a 2-D shape set of
    :func:`make_l2c_points` (rings, moons, blobs), non-convex clusters.

    Parameters
    ----------
    n_tasks : int
        Number of tasks to generate.
    k_range : tuple of two int, default=(2, 10)
        Inclusive range of the number of clusters per task.
    size_range : tuple of two int, default=(20, 60)
        Inclusive range of the number of points per cluster (at least 2).
    shape_fraction : float in [0, 1], default=0.2
        Share of tasks that are 2-D shape sets.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible tasks.

    Yields
    ------
    task : Task
        Named tuple ``(X, y, indices)`` as in :func:`sample_tasks`;
        ``indices`` is ``None`` (the points are generated).

    Examples
    --------
    >>> from sklearn_tcm.datasets import make_synthetic_tasks
    >>> tasks = list(make_synthetic_tasks(3, k_range=(2, 6), random_state=0))
    >>> [int(task.y.max()) + 1 for task in tasks]
    [3, 5, 4]
    """
    k_low, k_high = _check_range(k_range, "k_range", minimum=1)
    size_range = _check_range(size_range, "size_range", minimum=2)
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    for _ in range(n_tasks):
        k = int(rng.integers(k_low, k_high + 1))
        sizes = _task_sizes(k, size_range, float(rng.uniform()), rng)
        if rng.uniform() < shape_fraction:
            # the shape sets have equal cluster sizes
            X, y = _one_l2c_set(int(sizes.sum()), k, rng)
        else:
            X, y = _gaussian_mixture_task(sizes, rng)
            order = rng.permutation(y.size)
            X, y = X[order], y[order]
        yield Task(X, y, None)


def read_npz(path, keys):
    """Arrays ``keys`` of an ``.npz`` archive, read without pickle support.

    The one ``.npz`` reader of the package (:func:`load_npz` and the
    ``sklearn-tcm`` command use it): a file with object arrays is refused
    rather than executed, and every failure is a one-line error naming the
    file.

    Parameters
    ----------
    path : str or path-like
    keys : sequence of str
        Arrays that must be present.

    Returns
    -------
    arrays : dict of str to ndarray

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a readable ``.npz`` archive or lacks a key.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such dataset file: {path!r}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{path!r} is not a readable .npz file: {exc or 'empty file'}") \
            from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path!r} is a .npy array, not an .npz archive with keys "
                         f"{list(keys)}.")
    with archive:
        missing = [key for key in keys if key not in archive.files]
        if missing:
            raise ValueError(
                f"{path!r} lacks the key(s) {missing}; expected arrays "
                f"{' and '.join(map(repr, keys))} (found {archive.files})."
            )
        try:
            return {key: archive[key] for key in keys}
        except ValueError as exc:  # object arrays need pickle: refused
            raise ValueError(f"{path!r}: {exc}") from None


def load_npz(path, *, flatten=True):
    """Load a labelled dataset from an ``.npz`` file with keys ``X`` and ``y``.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file. Files are read without pickle support, so a file
        with object arrays is refused rather than executed.
    flatten : bool, default=True
        Reshape samples with more than one axis (images) to rows of
        ``X``: ``(n_samples, h, w)`` becomes ``(n_samples, h * w)``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Samples, in the stored dtype (``flatten=False`` keeps their shape).
    y : ndarray of shape (n_samples,)
        Labels.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not an ``.npz`` archive, lacks ``X`` or ``y``, or
        their lengths differ.
    """
    arrays = read_npz(path, ("X", "y"))
    X, y = arrays["X"], arrays["y"]
    if y.ndim != 1 or X.ndim < 1 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{path!r}: X has shape {X.shape} and y shape {y.shape}; expected "
            "X with one row per label of a 1-D y."
        )
    if flatten and X.ndim != 2:
        X = X.reshape(X.shape[0], -1)
    return X, y
