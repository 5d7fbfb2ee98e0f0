"""What every estimator shares: all-or-nothing fits and retry-safe parallel tasks."""

import functools

import numpy as np

__all__ = ["atomic_fit", "inline_task", "split_classes"]


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
