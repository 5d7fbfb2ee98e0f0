"""What every estimator shares: the torch estimators' frame, all-or-nothing
fits, input checks and retry-safe parallel tasks."""

import functools

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import validate_data

from ._persistence import PersistenceMixin
from ._sklearn_compat import _fit_context
from ._torch import check_dense_size, draw_seed, resolve_device, seeded_torch

__all__ = ["TorchEstimator", "atomic_fit", "densify", "inline_task", "split_classes"]


def split_classes(y, validation_fraction, rng, *, n_min=1, at_least=0):
    """Class-disjoint split of the distinct values of ``y`` (classes, or sets).

    A random ``validation_fraction`` of the values (rounded, and at least
    ``at_least``) is held out for validation. When either side would have
    fewer than ``n_min`` values, nothing is held out. Shared by DSCL's early
    stopping, L2C's validation sets and the learned metric's validation
    tasks.

    This is what :class:`sklearn.model_selection.GroupShuffleSplit` does with
    ``groups=y`` and ``test_size=n_val``, but it returns the held-out
    *values* rather than sample indices (the callers need the classes: to
    hold out a reference's classes before drawing tasks, or L2C's sets), it
    keeps ``n_min`` / ``at_least``, and it draws from the caller's
    :class:`numpy.random.Generator`, so that one ``random_state`` seeds one
    stream of draws through a fit.

    Parameters
    ----------
    y : array-like
    validation_fraction : float
    rng : numpy.random.Generator
    n_min : int, default=1
    at_least : int, default=0

    Returns
    -------
    train : ndarray
        Values to train on.
    validation : ndarray or None
        Values held out, or None.
    """
    values = rng.permutation(np.unique(y))
    n_val = max(at_least, int(round(validation_fraction * values.size)))
    if n_val < n_min or values.size - n_val < n_min:
        return values, None
    return values[n_val:], values[:n_val]


def inline_task(function, arguments):
    """``function(*arguments)``: a joblib task whose data travel with the task.

    Use as ``delayed(inline_task)(function, (X, y, ...))``. joblib's Dask
    backend scatters large weak-referenceable arguments (numpy arrays) to a
    single worker; when that worker is lost, so are the data, and the tasks
    that need them fail instead of being rerun. A tuple cannot be weakly
    referenced, so its contents are sent with the task itself, and the
    scheduler can rerun the task on another worker.
    """
    return function(*arguments)


def atomic_fit(fit):
    """Make ``fit`` all-or-nothing.

    If ``fit`` raises (a bad input found late, a numerical failure, or a
    ``KeyboardInterrupt``), the estimator's attributes are restored to what
    they were before the call: an earlier fit stays intact and an unfitted
    estimator stays unfitted (``validate_data`` sets ``n_features_in_``
    before training starts, which would otherwise look fitted).
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        before = dict(vars(self))
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

    return wrapper


def densify(X, hint="pass fewer samples or features (e.g. TruncatedSVD first)."):
    """``X`` as a dense array; a sparse matrix only after a check that it fits in memory.

    The one memory guard for sparse input: the estimators work on dense
    points, and a sparse matrix whose dense copy would not fit raises a
    :class:`MemoryError` that says what to change.
    """
    if not sp.issparse(X):
        return X
    check_dense_size(X.shape[0] * X.shape[1] * X.dtype.itemsize,
                     f"a dense copy of the sparse {X.shape[0]} x {X.shape[1]} input", hint)
    return X.toarray()


class TorchEstimator(PersistenceMixin, BaseEstimator):
    """Frame of the package's torch estimators (DEC, DSCL, L2C, the learned metric).

    ``fit`` is a template, all-or-nothing (:func:`atomic_fit`) and validated
    by scikit-learn's parameter constraints:

    1. ``_validate_fit_input(X, y, **fit_params)`` validates the data (and
       sets ``n_features_in_``);
    2. ``_check_params(X, y, **fit_params)`` checks the parameters against
       the data and returns the defaults it resolved (a dict), in one place;
    3. the device is resolved and a seed drawn from ``random_state``;
    4. ``_fit(X, y, device=..., seed=..., **resolved, **fit_params)`` trains
       inside :func:`~sklearn_tcm._torch.seeded_torch`, so that module
       initialisation and dropout are reproducible.

    ``device_`` is set before ``_fit``. Subclasses merge their parameter
    constraints with these (``{**TorchEstimator._parameter_constraints,
    ...}``, as scikit-learn's ``_BaseKMeans`` does) and set
    ``_requires_y``.
    """

    _parameter_constraints: dict = {
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }
    _requires_y = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self._requires_y
        tags.input_tags.sparse = True
        return tags

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, **fit_params):
        """Fit the estimator; see the class's ``_fit`` for what it learns.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; a sparse matrix is made dense (after a memory
            check).
        y : array-like of shape (n_samples,) or None
            Labels, for the estimators that learn from them.
        **fit_params : dict
            Further arguments of the estimator's fit (e.g. ``groups``).

        Returns
        -------
        self : estimator
            The fitted estimator.
        """
        X, y = self._validate_fit_input(X, y, **fit_params)
        resolved = self._check_params(X, y, **fit_params)
        device = resolve_device(self.device)
        seed = draw_seed(self.random_state)
        self.device_ = device
        with seeded_torch(seed, device):
            self._fit(X, y, device=device, seed=seed, **resolved, **fit_params)
        return self

    def _validate_fit_input(self, X, y, **fit_params):
        """Validated ``(X, y)``; dense float arrays, at least 2 samples."""
        if self._requires_y:
            X, y = validate_data(self, X, y, accept_sparse="csr",
                                 dtype=[np.float64, np.float32], ensure_min_samples=2)
        else:
            X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                              ensure_min_samples=2)
        return densify(X), y

    def _check_params(self, X, y, **fit_params):
        """Check parameters against the data; return the defaults resolved."""
        return {}

    def _fit(self, X, y, *, device, seed, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def _validate_points(self, X):
        """New points for ``predict`` / ``transform``: validated, dense, float."""
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                          reset=False)
        return densify(X)
