"""scikit-learn's estimator checks on small-budget instances of every estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_tcm import (
    CriticClustering,
    DECClustering,
    DSCLClustering,
    L2CClustering,
    LearnedMetricClustering,
)

INIT_PARAMS = {
    DECClustering: dict(n_clusters=3, hidden_dims=(8,), n_components=2, pretrain_epochs=2,
                        max_iter=20, n_init=2, random_state=0),
    DSCLClustering: dict(n_clusters=3, hidden_layer_sizes=(8,), n_components=3, max_iter=5,
                         random_state=0),
    L2CClustering: dict(k_max=3, set_size=8, max_iter=3, batch_size=4, validation_interval=2,
                        n_orders=2, random_state=0),
    LearnedMetricClustering: dict(n_tasks=3, synthetic_tasks=3, size_range=(3, 6),
                                  gae_epochs=1, critic_epochs=2,
                                  adversarial_rounds=0,
                                  random_state=0),
    # the shipped metric, a small search
    CriticClustering: dict(max_clusters=5, n_subsamples=2, random_state=0),
}

_NEEDS_Y = ("fit needs labelled data y (the estimator learns from labels); the check "
             "calls fit(X) alone")
_ONE_SAMPLE_SET = ("predict clusters its input as one set, and the check predicts on "
                   "one-sample batches: a set of one sample cannot be clustered")
_ORDER_NAMES = ("predict clusters its input as one set and names the clusters in order of "
                "appearance, so a permutation of the input renames them (the partition is "
                "the same up to names: tests/test_search.py and tests/test_l2c.py)")
_DIMENSION_FREE = ("dimension-free by design: fit takes references of any dimensions and "
                   "predict / score_clustering accept any number of features")

_PROBA_TAGS = ("scikit-learn's sparse check reads classifier tags of any estimator with "
               "predict_proba (DEC's soft assignments) and fails on a clusterer's None; "
               "sparse input is tested in tests/test_bad_inputs.py")

# Every expected failure is listed with its reason and is strict: a check listed here
# that starts passing fails the suite (the checks are deterministic at these seeds).
PER_ESTIMATOR_XFAIL_CHECKS = {
    DECClustering: {
        "check_estimator_sparse_array": _PROBA_TAGS,
        "check_estimator_sparse_matrix": _PROBA_TAGS,
    },
    DSCLClustering: {
        "check_clustering": _NEEDS_Y,
        "check_clustering(readonly_memmap=True)": _NEEDS_Y,
    },
    L2CClustering: {
        "check_clustering": _NEEDS_Y,
        "check_clustering(readonly_memmap=True)": _NEEDS_Y,
        "check_methods_subset_invariance": _ONE_SAMPLE_SET,
        # run because the estimator has compute_labels; it fits without y (what it
        # checks holds: tests/test_l2c.py::test_compute_labels_false_skips_the_training_labels)
        "check_clusterer_compute_labels_predict": _NEEDS_Y,
    },
    LearnedMetricClustering: {
        "check_clustering": _NEEDS_Y,
        "check_clustering(readonly_memmap=True)": _NEEDS_Y,
        "check_methods_subset_invariance": _ONE_SAMPLE_SET,
        "check_n_features_in": _DIMENSION_FREE,
        "check_n_features_in_after_fitting": _DIMENSION_FREE,
        # run because the estimator has compute_labels; it fits without y
        "check_clusterer_compute_labels_predict": _NEEDS_Y,
    },
}

# Checks that assert more than holds, replaced by a test of what does hold.
NARROWED = {
    (L2CClustering, "check_methods_sample_order_invariance"): (
        "the default BiLSTM set encoder reads a set in order (n_orders averages random "
        "orders), so a permuted input may be clustered differently, and whether it is "
        "depends on float rounding (torch threads): the check passes or fails by chance. "
        "The attention encoder is order-independent: tests/test_l2c.py::"
        "test_attention_network_is_order_independent"),
    (LearnedMetricClustering, "check_methods_sample_order_invariance"): (
        _ORDER_NAMES + "; whether the names agree depends on float rounding (torch "
        "threads), so the check passes or fails by chance: "
        "tests/test_learned_metric.py::test_predict_gives_the_same_partition_of_permuted_points "
        "asserts the partition"),
}


def _expected_failed_checks(estimator):
    return PER_ESTIMATOR_XFAIL_CHECKS.get(type(estimator), {})


@parametrize_with_checks([cls(**params) for cls, params in INIT_PARAMS.items()],
                         expected_failed_checks=_expected_failed_checks, xfail_strict=True)
def test_sklearn_compatible_estimator(estimator, check):
    # every other check is deterministic at these seeds: it passes, or it is a strict
    # expected failure above
    reason = NARROWED.get((type(estimator), getattr(check, "func", check).__name__))
    if reason is not None:
        pytest.skip(reason)
    check(estimator)
