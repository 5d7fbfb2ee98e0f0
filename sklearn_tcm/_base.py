"""What every estimator's ``fit`` shares: all or nothing."""

import functools

__all__ = ["atomic_fit"]


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
