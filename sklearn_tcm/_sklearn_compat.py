"""The one place where scikit-learn's private API is imported.

scikit-learn's parameter validation (``Interval``, ``StrOptions``,
``validate_params``) and the ``_fit_context`` decorator are not public; the
package imports them from here only, so that a scikit-learn release that
moves them needs one change (as imbalanced-learn's ``sklearn_compat`` does).
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = ["Interval", "StrOptions", "_fit_context", "validate_params"]
