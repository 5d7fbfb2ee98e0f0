"""Deep Spectral Clustering Learning (DSCL)."""

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score
from sklearn.preprocessing import normalize
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._base import TorchEstimator, split_classes
from ._sklearn_compat import Interval, StrOptions
from ._torch import (
    check_layer_sizes,
    inference_device,
    mlp,
    module_to_cpu,
    predict_batches,
    to_tensor,
    train_loop,
)

__all__ = ["DSCLClustering"]

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def _pinv_factors(F, rcond=None):
    """Thin SVD of F restricted to its numerical rank.

    Singular values at or below ``eps(dtype) * max(n, d) * sigma_max`` (or
    ``rcond * sigma_max``) are treated as zero, as in ``numpy.linalg.pinv``.

    Returns
    -------
    U : tensor of shape (n, r), S : tensor of shape (r,), V : tensor of shape (d, r)
    full_rank : bool
        Whether r == min(n, d).
    """
    U, S, Vh = torch.linalg.svd(F, full_matrices=False)
    if rcond is None:
        rcond = torch.finfo(F.dtype).eps * max(F.shape)
    keep = S > rcond * S[0]
    return U[:, keep], S[keep], Vh[keep].T, bool(keep.all())


def spectral_loss_and_gradient(F, J, rcond=None):
    """DSCL loss ``k - tr(F F^+ J J^T)`` and its closed-form gradient in F.

    With the thin SVD F = U S V^T (numerical rank r), F F^+ = U U^T, so the
    loss is ``k - ||U^T J||_F^2`` and its gradient is
    ``-2 (I - U U^T) J J^T U S^-1 V^T`` (Law, Urtasun & Zemel 2017), computed
    in O(n d^2 + n d k) without forming any n x n matrix.

    Parameters
    ----------
    F : tensor of shape (n, d)
        Representations of a mini-batch.
    J : tensor of shape (n, k)
        Scaled class indicators ``Y diag(n_c^-1/2)``.
    rcond : float or None
        Relative cut-off of small singular values (None: dtype eps * max(n, d)).

    Returns
    -------
    loss : tensor of shape ()
    gradient : tensor of shape (n, d)
    full_rank : bool
    """
    U, S, V, full_rank = _pinv_factors(F, rcond)
    UtJ = U.T @ J
    loss = J.shape[1] - UtJ.pow(2).sum()
    CU = J @ UtJ.T  # C U with C = J J^T
    residual = CU - U @ (U.T @ CU)  # (I - U U^T) C U
    gradient = -2.0 * (residual / S) @ V.T
    return loss, gradient, full_rank


def _scaled_indicators(labels, n_classes):
    """J = Y diag(n_c^-1/2) for integer labels in 0..n_classes-1 (all present)."""
    Y = torch.nn.functional.one_hot(labels, n_classes).to(torch.float32)
    return Y / Y.sum(dim=0).sqrt()


def _MLP(n_features, hidden_layer_sizes, n_components, activation):
    """Fully connected network with a linear output layer."""
    return mlp([n_features, *hidden_layer_sizes, n_components], _ACTIVATIONS[activation])


def _class_batches(y_index, n_classes, classes_per_batch, samples_per_class, rng):
    """Indices of one batch: m random classes x up to p random samples each."""
    members = [np.flatnonzero(y_index == c) for c in range(n_classes)]
    chosen = rng.choice(n_classes, size=classes_per_batch, replace=False)
    idx, labels = [], []
    for label, c in enumerate(chosen):
        take = rng.choice(members[c], size=min(samples_per_class, members[c].size),
                          replace=False)
        idx.append(take)
        labels.append(np.full(take.size, label))
    return np.concatenate(idx), np.concatenate(labels)


def _eigengap_n_clusters(singular_values, max_clusters):
    """Number of clusters at the largest relative gap of the squared singular values.

    If ``F`` spans k cluster indicators, ``F F^T`` has k eigenvalues well
    above the rest; the gap is measured on a log scale (ratio of successive
    eigenvalues), so it does not depend on the scale of ``F``.
    """
    eigenvalues = np.asarray(singular_values, dtype=np.float64)[: max_clusters + 1] ** 2
    if eigenvalues.size < 2:
        return 1
    log_eigenvalues = np.log(np.maximum(eigenvalues, eigenvalues[0] * 1e-12))
    return int(np.argmax(log_eigenvalues[:-1] - log_eigenvalues[1:]) + 1)


# Shrinkage of the within-class covariance towards its mean eigenvalue (x 0.1):
# whitening by the raw covariance amplifies directions that happen to vary
# little within the training classes and hurt unseen classes (digits 5-9).
_WHITENING_SHRINKAGE = 0.1


def _within_class_whitening(F, y_index):
    """Matrix W whitening the (shrunk) within-class covariance of ``F``.

    The DSCL loss only constrains the column space of ``F``: any ``F A`` with
    ``A`` invertible has the same loss, so a network with ``d`` much larger
    than the number of classes may fill the extra directions with
    within-class variation that drowns the class directions. Right-multiplying
    by ``W`` (free under the loss) makes within-class variation isotropic, so
    the directions that separate classes stand out.
    """
    centred = np.concatenate([F[y_index == c] - F[y_index == c].mean(axis=0)
                              for c in np.unique(y_index)])
    covariance = centred.T @ centred / F.shape[0]
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    eigenvalues = np.maximum(eigenvalues, 1e-3 * max(eigenvalues.max(), 1e-12))
    eigenvalues = eigenvalues + _WHITENING_SHRINKAGE * eigenvalues.mean()
    return eigenvectors / np.sqrt(eigenvalues)


def _span_embedding(F, rcond=None):
    """Row-normalised left singular vectors of ``F`` (its numerical rank)."""
    U, S, _ = np.linalg.svd(F, full_matrices=False)
    rcond = rcond or np.finfo(np.float32).eps * max(F.shape)
    rank = max(int(np.sum(S > rcond * S[0])), 1)
    return normalize(U[:, :rank])


# "auto" keeps "span" unless "whitened" clusters held-out training points better by a
# clear margin. Whitening is fitted to the training classes, so it always looks
# somewhat better on them; in bench_dscl only a large gain on them transferred to
# unseen classes (MNIST 0-4 -> 5-9), while on classes made of separated blobs
# whitening wins clearly on new points too.
_WHITENING_MARGIN = 0.2
# ... or when "span" fails outright (held-out NMI below 0.5) and whitening does better.
_SPAN_FAILS_BELOW_NMI = 0.5


def _hold_out_classes(X, y_index, n_classes, validation_fraction, seed):
    """Training part and class-disjoint ``(X_val, y_val, n_val)`` for early stopping."""
    _, held_out = split_classes(np.arange(n_classes), validation_fraction,
                                np.random.default_rng(seed), n_min=2, at_least=2)
    if held_out is None:
        n_val = max(2, int(round(validation_fraction * n_classes)))
        raise ValueError(
            f"early_stopping holds out {n_val} of the {n_classes} classes for "
            "validation and needs 2 left to train on; y has too few classes."
        )
    n_val = held_out.size
    in_val = np.isin(y_index, held_out)
    validation = (X[in_val], y_index[in_val], n_val)
    return X[~in_val], np.unique(y_index[~in_val], return_inverse=True)[1], validation


def _spectral_setup(F, y_index, spectral_space, rcond, n_init, seed):
    """Within-class whitening of the training representation, and the space to cluster."""
    whitening = _within_class_whitening(F, y_index)
    if spectral_space == "auto":
        spectral_space = _choose_space(F, y_index, rcond, n_init, seed)
    return whitening, spectral_space


def _choose_space(F, y_index, rcond, n_init, seed, margin=_WHITENING_MARGIN):
    """``"whitened"`` when it clusters held-out training points better by ``margin`` (NMI),
    or better at all where ``"span"`` fails (NMI below 0.5).

    The training points are split in two halves, stratified by class: the
    whitening is estimated on one half, and both spaces cluster the other
    half (k-means with its number of classes, as at prediction), and the
    other way round.
    """
    rng = np.random.default_rng(seed)
    half = np.zeros(y_index.size, dtype=bool)
    for c in np.unique(y_index):
        members = rng.permutation(np.flatnonzero(y_index == c))
        half[members[: members.size // 2]] = True
    scores = {"span": [], "whitened": []}
    for fit_part, held_out in ((half, ~half), (~half, half)):
        classes, y_held = np.unique(y_index[held_out], return_inverse=True)
        if classes.size < 2 or np.unique(y_index[fit_part]).size < 2:
            continue
        whitening = _within_class_whitening(
            F[fit_part], np.unique(y_index[fit_part], return_inverse=True)[1])
        embeddings = {"span": _span_embedding(F[held_out], rcond),
                      "whitened": (F[held_out] - F[fit_part].mean(axis=0)) @ whitening}
        for space, embedding in embeddings.items():
            labels = KMeans(classes.size, n_init=n_init, random_state=seed).fit_predict(
                embedding)
            scores[space].append(normalized_mutual_info_score(y_held, labels))
    if not scores["span"]:
        return "span"
    span, whitened = np.mean(scores["span"]), np.mean(scores["whitened"])
    if whitened > span + margin or (span < _SPAN_FAILS_BELOW_NMI and whitened > span + 0.02):
        return "whitened"
    return "span"


def _validation_nmi(module, validation, device, seed):
    """NMI of the spectral clustering of the held-out classes."""
    X_val, y_val, n_val = validation
    module.eval()
    F = predict_batches(module, X_val, device=device, float64=False)
    module.train()
    U = np.linalg.svd(F, full_matrices=False)[0]
    labels = KMeans(n_val, n_init=3, random_state=seed).fit_predict(normalize(U))
    return normalized_mutual_info_score(y_val, labels)


def train_dscl(module, X, y_index, *, n_classes, classes_per_batch, samples_per_class,
               max_iter, learning_rate, weight_decay, validation_interval, n_iter_no_change,
               rcond, device, seed, validation=None, verbose=0):
    """Train ``module`` (in place) on DSCL's spectral loss over class-balanced batches.

    Each batch holds ``samples_per_class`` samples of ``classes_per_batch``
    classes drawn among ``n_classes``; the step follows the closed-form
    gradient of :func:`spectral_loss_and_gradient`. With ``validation``
    (``(X_val, y_val, n_val)``, classes held out), the spectral clustering
    NMI of the held-out classes is checked every ``validation_interval``
    updates and the best network is kept.

    Returns
    -------
    history : list of dict
        One record per validation interval (the schema of ``train_loop``),
        with ``rank_deficient``: batches whose ``F`` was not of full rank.
    """
    rng = np.random.default_rng(seed)
    X_tensor = to_tensor(X, device)
    optimizer = torch.optim.Adam(module.parameters(), lr=learning_rate,
                                 weight_decay=weight_decay)
    interval = validation_interval
    n_intervals = -(-max_iter // interval)
    rank_deficient = np.zeros(n_intervals, dtype=int)

    def iterations(index):
        return range(index * interval, min((index + 1) * interval, max_iter))

    def step(iteration):
        idx, labels = _class_batches(y_index, n_classes, classes_per_batch, samples_per_class,
                                     rng)
        F = module(X_tensor[torch.as_tensor(idx, device=device)])
        J = _scaled_indicators(torch.as_tensor(labels, device=device), classes_per_batch)
        with torch.no_grad():
            loss, gradient, full_rank = spectral_loss_and_gradient(F, J, rcond)
        rank_deficient[iteration // interval] += int(not full_rank)
        # follow the closed-form dL/dF; no autograd through the SVD
        return (F * gradient).sum(), float(loss)

    def validate(index):
        score = _validation_nmi(module, validation, device, seed)
        return {"validation": score}, score

    history = train_loop(
        module, optimizer, n_intervals, iterations, step, unit="validation interval",
        validate=validate if validation is not None else None,
        n_iter_no_change=n_iter_no_change if validation is not None else None,
        desc="DSCL", verbose=verbose,
        postfix=lambda record: {"loss": f"{record['loss']:.4f}"})
    for index, record in enumerate(history):
        record["rank_deficient"] = int(rank_deficient[index])
    return history


def _resolve_classes_per_batch(module, X, n_train_classes, classes_per_batch, device):
    """Classes per batch: the parameter, or as many as the output can separate."""
    with torch.no_grad():
        d = module(to_tensor(X[:2], device)).shape[1]
    if classes_per_batch is None:
        return min(n_train_classes, max(d, 2))
    if classes_per_batch > d:
        raise ValueError(
            f"The network's output dimension ({d}) must be at least the number "
            f"of classes per batch (classes_per_batch={classes_per_batch}); "
            "raise n_components or lower classes_per_batch."
        )
    return min(classes_per_batch, n_train_classes)


class DSCLClustering(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin,
                     TorchEstimator):
    """Deep Spectral Clustering Learning: supervised metric learning, clustered spectrally.

    A network ``f`` is trained on labelled data so that, for every
    mini-batch, the column space of ``F = f(X_B)`` contains the (scaled)
    class indicators: the loss is ``k_B - tr(F F^+ C)`` with ``C = J J^T``
    and ``J`` the class indicators scaled by ``n_c^(-1/2)`` (Law, Urtasun &
    Zemel, 2017). Its gradient has a closed form from one thin SVD of ``F``,
    back-propagated into the network without differentiating through the SVD.
    New data, possibly of classes never seen in training, is clustered by
    k-means in a space derived from the learned representation (see
    ``spectral_space``).

    Parameters
    ----------
    n_clusters : int or None, default=None
        Number of clusters at prediction. None estimates it from the largest
        gap of the squared singular values of the whitened representation
        (see :meth:`estimate_n_clusters`), at most ``max_clusters``.
    hidden_layer_sizes : tuple of int, default=(256, 128)
        Hidden layers of the default MLP.
    n_components : int, default=32
        Output dimension ``d`` of the default MLP; at least the number of
        classes in a batch (``classes_per_batch``).
    activation : {"tanh", "relu"}, default="tanh"
        Activation of the default MLP.
    module : torch.nn.Module or None, default=None
        A network to train instead of the default MLP (copied at ``fit``); it
        maps a float tensor ``(n, n_features)`` to ``(n, d)``.
    classes_per_batch : int or None, default=None
        Classes ``m`` per mini-batch, at most the output dimension ``d``;
        None uses every class of ``y``, or ``d`` random classes per batch
        when there are more classes than ``d``.
    samples_per_class : int, default=32
        Examples ``p`` drawn per class and mini-batch (fewer when a class is
        smaller).
    max_iter : int, default=2000
        Number of mini-batch updates.
    learning_rate : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=0.0
        Adam weight decay.
    early_stopping : bool, default=False
        Hold out a fraction of the *classes* (class-disjoint validation),
        cluster them every ``validation_interval`` iterations, and keep the
        network with the best validation NMI; stop after
        ``n_iter_no_change`` checks without improvement. This measures and
        protects transfer to unseen classes, which longer training on the
        seen classes can lose.
    validation_fraction : float, default=0.2
        Fraction of the classes held out with ``early_stopping`` (at least
        2, leaving at least 2 to train on).
    validation_interval : int, default=50
        Iterations between validation checks.
    n_iter_no_change : int, default=5
        Checks without improvement before stopping.
    rcond : float or None, default=None
        Relative cut-off for the pseudo-inverse; None uses
        ``eps(float32) * max(n, d)``.
    n_init : int, default=10
        k-means runs of the spectral step.
    spectral_space : {"auto", "span", "whitened"}, default="auto"
        Space that k-means clusters at prediction. ``"span"``: the paper's
        spectral step, the row-normalised left singular vectors of ``F``.
        ``"whitened"``: ``F`` centred and whitened by the within-class
        covariance of the training representation, which helps when
        ``n_components`` is much larger than the number of classes but does
        not always transfer to unseen classes. ``"auto"`` compares both on
        held-out halves of the training classes and keeps ``"whitened"`` only
        on a clear gain (see the guide's DSCL section); the choice is in
        ``spectral_space_``.
    max_clusters : int, default=10
        Largest number of clusters :meth:`estimate_n_clusters` considers
        when ``n_clusters`` is None (at most ``n_components``).
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    random_state : int, RandomState instance or None, default=None
        Seed of initialisation, batch sampling and k-means.
    verbose : int, default=0
        Show a progress bar over iterations when > 0.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Clustering of the training data by the fitted model (not ``y``):
        ``predict(X)`` with the same ``n_clusters`` (None: estimated).
    module_ : torch.nn.Module
        The trained network, on the CPU.
    n_iter_ : int
        Mini-batch updates run (fewer than ``max_iter`` when early stopping
        stopped training).
    history_ : list of dict
        One record per validation interval (``validation_interval``
        mini-batch updates), in the schema of every estimator's history
        (see the guide's "Training history"): ``unit``, ``iteration``,
        ``loss``, ``skipped``, ``validation`` (with ``early_stopping``, the
        NMI of the spectral clustering of the held-out classes; the network
        kept is that of the highest), plus ``rank_deficient`` (batches whose
        ``F`` was not of full rank: their pseudo-inverse dropped directions).
    classes_ : ndarray
        Classes seen in ``y``.
    spectral_space_ : {"span", "whitened"}
        Space :meth:`predict` clusters (``spectral_space``, with ``"auto"``
        resolved on the training data).
    whitening_ : ndarray of shape (d, d)
        Within-class whitening of the representation, from the training data.
    device_ : torch.device
        Device training ran on.
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    sklearn.cluster.SpectralClustering : spectral clustering of a fixed affinity.

    References
    ----------
    .. [1] M. T. Law, R. Urtasun, R. S. Zemel. "Deep Spectral Clustering
       Learning". ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_tcm import DSCLClustering
    >>> from sklearn_tcm.datasets import make_dscl_toy
    >>> X, y = make_dscl_toy(base_size=10, random_state=0)
    >>> model = DSCLClustering(n_clusters=3, hidden_layer_sizes=(30, 30),
    ...                        n_components=3, max_iter=200, random_state=0)
    >>> model.fit(X, y).transform(X).shape
    (210, 3)
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "hidden_layer_sizes": ["array-like"],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        "module": [nn.Module, None],
        "classes_per_batch": [Interval(Integral, 1, None, closed="left"), None],
        "samples_per_class": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "validation_interval": [Interval(Integral, 1, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "rcond": [Interval(Real, 0, 1, closed="neither"), None],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "spectral_space": [StrOptions({"auto", "span", "whitened"})],
        "max_clusters": [Interval(Integral, 2, None, closed="left")],
    }
    _requires_y = True

    def __init__(
        self,
        n_clusters=None,
        *,
        hidden_layer_sizes=(256, 128),
        n_components=32,
        activation="tanh",
        module=None,
        classes_per_batch=None,
        samples_per_class=32,
        max_iter=2000,
        learning_rate=1e-3,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.2,
        validation_interval=50,
        n_iter_no_change=5,
        rcond=None,
        n_init=10,
        spectral_space="auto",
        max_clusters=10,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_components = n_components
        self.activation = activation
        self.module = module
        self.classes_per_batch = classes_per_batch
        self.samples_per_class = samples_per_class
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_interval = validation_interval
        self.n_iter_no_change = n_iter_no_change
        self.rcond = rcond
        self.n_init = n_init
        self.spectral_space = spectral_space
        self.max_clusters = max_clusters
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _build_module(self, n_features):
        if self.module is not None:
            return copy.deepcopy(self.module)
        sizes = check_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        return _MLP(n_features, sizes, self.n_components, self.activation)

    def _empty_modules(self):
        return {"module_": self._build_module(self.n_features_in_)}

    def fit(self, X, y):
        """Learn the representation from labelled data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training samples.
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).

        Returns
        -------
        self : DSCLClustering
            The fitted estimator.
        """
        return super().fit(X, y)

    def _check_params(self, X, y):
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                "DSCLClustering needs at least 2 classes in y to learn from; got 1."
            )
        if self.classes_per_batch is not None and self.classes_per_batch > classes.size:
            raise ValueError(
                f"classes_per_batch={self.classes_per_batch} exceeds the {classes.size} "
                "classes in y."
            )
        if self.n_clusters is not None and self.n_clusters > X.shape[0]:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}."
            )
        return {"classes": classes, "y_index": y_index}

    def _fit(self, X, y, *, device, seed, classes, y_index):
        X_train, y_train, validation = X, y_index, None
        n_train_classes = classes.size
        if self.early_stopping:
            X_train, y_train, validation = _hold_out_classes(
                X, y_index, classes.size, self.validation_fraction, seed)
            n_train_classes = classes.size - validation[2]
        module = self._build_module(X.shape[1]).to(device)
        history = train_dscl(
            module, X_train, y_train, n_classes=n_train_classes,
            classes_per_batch=_resolve_classes_per_batch(
                module, X_train, n_train_classes, self.classes_per_batch, device),
            samples_per_class=self.samples_per_class, max_iter=self.max_iter,
            learning_rate=self.learning_rate, weight_decay=self.weight_decay,
            validation_interval=self.validation_interval,
            n_iter_no_change=self.n_iter_no_change, rcond=self.rcond, device=device,
            seed=seed, validation=validation, verbose=self.verbose)
        self.module_ = module_to_cpu(module)
        F = predict_batches(self.module_, X, device=inference_device(device))
        self.whitening_, self.spectral_space_ = _spectral_setup(
            F, y_index, self.spectral_space, self.rcond, self.n_init, seed)
        self.classes_ = classes
        self.n_iter_ = history[-1]["iteration"] if history else 0
        self.history_ = history
        self._seed = seed
        self._n_features_out = int(F.shape[1])
        # the model's own clustering of the training data (not y)
        self.labels_ = self._cluster(F)

    def _features(self, X):
        """Validated ``X`` and its representation ``F`` (float64, plain array)."""
        check_is_fitted(self)
        X = self._validate_points(X)
        return X, predict_batches(self.module_, X, device=inference_device(self.device_))

    def transform(self, X):
        """The learned representation ``F = f(X)``.

        Row by row: a sample's representation does not depend on the other
        samples of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        F : ndarray of shape (n_samples, d)
            In the floating dtype of ``X`` (float32 or float64).
        """
        X, F = self._features(X)
        return F.astype(X.dtype, copy=False)

    def _whitened(self, F):
        return (F - F.mean(axis=0)) @ self.whitening_

    def _estimate_k(self, F, max_clusters=None):
        max_clusters = min(max_clusters or self.max_clusters, F.shape[1], F.shape[0])
        S = np.linalg.svd(self._whitened(F), compute_uv=False)
        return 1 + _eigengap_n_clusters(S, max(max_clusters - 1, 1))

    def estimate_n_clusters(self, X, max_clusters=None):
        """Estimate the number of clusters of ``X`` from a singular-value gap.

        ``F = f(X)`` is centred and whitened by the within-class covariance
        of the training representation, where the directions that separate
        clusters have the largest variance; k clusters span k - 1 centred
        directions, so ``k - 1`` is where the squared singular values drop
        the most (log scale). Reliable when the learned space separates the
        clusters of ``X``; a heuristic otherwise (its error on unseen classes
        is measured by ``benchmarks/bench_dscl.py``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        max_clusters : int or None, default=None
            Largest ``k`` considered; None uses the ``max_clusters``
            parameter (at most ``d``).

        Returns
        -------
        n_clusters : int
        """
        return self._estimate_k(self._features(X)[1], max_clusters)

    def _embedding(self, F):
        if self.spectral_space_ == "whitened":
            return self._whitened(F)
        return _span_embedding(F, self.rcond)

    def spectral_embedding(self, X):
        """The points :meth:`predict` clusters with k-means.

        In the ``"span"`` space: the row-normalised left singular vectors
        ``U`` of the thin SVD ``F = U S V^T`` (numerical rank ``r``); ``U U^T =
        F F^+`` is the learned affinity that training pushes towards the
        block-diagonal ``C``. In the ``"whitened"`` space: ``F`` centred and
        whitened by the within-class covariance of the training data. Either
        depends on the whole of ``X`` (not row by row), unlike
        :meth:`transform`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        embedding : ndarray of shape (n_samples, r)
        """
        return self._embedding(self._features(X)[1])

    def _cluster(self, F):
        k = self.n_clusters or self._estimate_k(F)
        if k > F.shape[0]:
            raise ValueError(f"n_samples={F.shape[0]} should be >= n_clusters={k}.")
        kmeans = KMeans(k, n_init=self.n_init, random_state=self._seed)
        labels = kmeans.fit_predict(self._embedding(F))
        # name clusters by the lexicographic order of their centres, so that the
        # same partition of a reordered input gets the same cluster names
        order = np.lexsort(kmeans.cluster_centers_.T[::-1])
        return np.argsort(order)[labels]

    def predict(self, X):
        """Cluster ``X`` in the learned space.

        The samples of ``X`` are clustered together (this is transductive:
        a sample's label depends on the others in ``X``), with
        ``n_clusters`` clusters, or the estimated number when it is None.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self._cluster(self._features(X)[1])

    def fit_predict(self, X, y, **kwargs):
        """Fit on labelled ``X`` and return the model's own clustering of it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.fit(X, y, **kwargs).labels_

