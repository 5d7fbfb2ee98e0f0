"""What every estimator shares: all-or-nothing fits and retry-safe parallel tasks."""

import functools

__all__ = ["atomic_fit", "inline_task"]


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
