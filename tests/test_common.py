"""scikit-learn's estimator checks on small-budget instances of every estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_tcm import DECClustering, DSCLClustering, L2CClustering, LearnedMetricClustering

INIT_PARAMS = {
    DECClustering: dict(n_clusters=3, hidden_dims=(8,), n_components=2, pretrain_epochs=2,
                        max_iter=20, n_init=2, random_state=0),
    DSCLClustering: dict(n_clusters=3, hidden_layer_sizes=(8,), n_components=3, max_iter=5,
                         random_state=0),
    L2CClustering: dict(k_max=3, set_size=8, max_iter=3, batch_size=4, validation_interval=2,
                        n_orders=2, random_state=0),
    LearnedMetricClustering: dict(n_tasks=3, synthetic_tasks=3, size_range=(3, 6),
                                  gae_epochs=1, critic_epochs=2,
                                  adversarial_rounds=0, validation_searches=1,
                                  n_generations=1, population_size=2, random_state=0),
}

_NEEDS_Y = ("fit needs labelled data y (the estimator learns from labels); the check "
             "calls fit(X) alone")
_SET_LEVEL = ("predict clusters the whole input as one set: cluster names are arbitrary per "
              "call, so labels of a subset or a permutation are not the same names")
_DIMENSION_FREE = ("dimension-free by design: fit takes references of any dimensions and "
                   "predict / score_clustering accept any number of features")

# estimators whose predict clusters its input as a whole (spectral embedding of the
# input, a set network, a search): their cluster names are arbitrary per call
SET_LEVEL_PREDICT = (DSCLClustering, L2CClustering, LearnedMetricClustering)
SET_LEVEL_CHECKS = ("check_methods_subset_invariance", "check_methods_sample_order_invariance")

PER_ESTIMATOR_XFAIL_CHECKS = {
    DSCLClustering: {
        "check_clustering": _NEEDS_Y,
        "check_clustering(readonly_memmap=True)": _NEEDS_Y,
    },
    L2CClustering: {
        "check_clustering": _NEEDS_Y,
        "check_clustering(readonly_memmap=True)": _NEEDS_Y,
    },
    LearnedMetricClustering: {
        "check_clustering": _NEEDS_Y,
        "check_clustering(readonly_memmap=True)": _NEEDS_Y,
        "check_n_features_in": _DIMENSION_FREE,
        "check_n_features_in_after_fitting": _DIMENSION_FREE,
    },
}


def _expected_failed_checks(estimator):
    return PER_ESTIMATOR_XFAIL_CHECKS.get(type(estimator), {})


@parametrize_with_checks([cls(**params) for cls, params in INIT_PARAMS.items()],
                         expected_failed_checks=_expected_failed_checks, xfail_strict=True)
def test_sklearn_compatible_estimator(estimator, check):
    name = getattr(check, "func", check).__name__
    if isinstance(estimator, SET_LEVEL_PREDICT) and name in SET_LEVEL_CHECKS:
        # may pass by chance (same cluster names), so not a strict expected failure;
        # a single-sample subset is not a set the set-level estimators can cluster
        try:
            check(estimator)
        except (AssertionError, ValueError):
            pytest.xfail(_SET_LEVEL)
        return
    check(estimator)
