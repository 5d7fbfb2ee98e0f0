"""The one place where scikit-learn's private API is imported.

scikit-learn's parameter validation (``Interval``, ``StrOptions``,
``validate_params``), the ``_fit_context`` decorator and the fitted trees of
a ``HistGradientBoostingRegressor`` are not public; the package reaches them
from here only, so that a scikit-learn release that moves them needs one
change (as imbalanced-learn's ``sklearn_compat`` does).
"""

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = ["Interval", "StrOptions", "_fit_context", "hist_gradient_boosting_trees",
           "validate_params"]


def hist_gradient_boosting_trees(model):
    """The trees of a fitted single-output ``HistGradientBoostingRegressor`` as arrays.

    Reads the estimator's private ``_predictors`` and ``_baseline_prediction``
    (scikit-learn 1.0 - 1.9 keep them in this form).

    Returns
    -------
    trees : list of dict
        One per boosting iteration, the node arrays ``feature`` (int64),
        ``threshold`` (float64; a point goes left when its value is at most
        the threshold), ``missing_left`` (bool; where NaN goes), ``left``,
        ``right`` (int64, node indices within the tree), ``is_leaf`` (bool)
        and ``value`` (float64, the leaf's contribution).
    baseline : float
        The prediction before the first tree.
    """
    if getattr(model, "n_trees_per_iteration_", 1) != 1:
        raise ValueError("only single-output regressors can be converted.")
    trees = []
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        if np.any(nodes["is_categorical"]):
            raise ValueError("trees with categorical splits cannot be converted.")
        trees.append({"feature": nodes["feature_idx"].astype(np.int64),
                      "threshold": nodes["num_threshold"].astype(np.float64),
                      "missing_left": nodes["missing_go_to_left"].astype(bool),
                      "left": nodes["left"].astype(np.int64),
                      "right": nodes["right"].astype(np.int64),
                      "is_leaf": nodes["is_leaf"].astype(bool),
                      "value": nodes["value"].astype(np.float64)})
    return trees, float(np.ravel(model._baseline_prediction)[0])
