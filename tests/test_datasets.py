import numpy as np
import pytest

from sklearn_tcm import load_npz, make_l2c_points, make_synthetic_tasks, sample_tasks
from sklearn_tcm.datasets import make_dscl_toy


def test_make_l2c_points_shapes_ranges_and_clusters():
    X, y, groups = make_l2c_points(n_sets=40, n_points=72, k_range=(1, 5), random_state=0)
    assert X.shape == (40 * 72, 2) and y.shape == groups.shape == (40 * 72,)
    assert X.min() >= 0.0 and X.max() <= 1.0
    ks = []
    for s in range(40):
        labels = y[groups == s]
        k = np.unique(labels).size
        ks.append(k)
        assert np.array_equal(np.unique(labels), np.arange(k))  # no empty cluster
        sizes = np.bincount(labels)
        assert sizes.max() - sizes.min() <= 1  # equal-sized clusters
    assert min(ks) >= 1 and max(ks) <= 5 and len(set(ks)) >= 4


def test_make_l2c_points_reproducible():
    a = make_l2c_points(n_sets=5, random_state=3)
    b = make_l2c_points(n_sets=5, random_state=3)
    c = make_l2c_points(n_sets=5, random_state=4)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_make_l2c_points_fixed_k_and_bad_range():
    _, y, groups = make_l2c_points(n_sets=5, k_range=(3, 3), random_state=0)
    assert all(np.unique(y[groups == s]).size == 3 for s in range(5))
    with pytest.raises(ValueError, match="k_range"):
        make_l2c_points(n_sets=2, k_range=(3, 2))
    with pytest.raises(ValueError, match="n_points"):
        make_l2c_points(n_sets=2, n_points=4, k_range=(1, 5))


def test_sample_tasks_ranges():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = np.repeat(np.arange(6), 100)
    tasks = list(sample_tasks(X, y, 30, k_range=(2, 4), size_range=(10, 20),
                              imbalance=1.0, random_state=0))
    assert len(tasks) == 30
    for task in tasks:
        k = task.y.max() + 1
        assert 2 <= k <= 4
        sizes = np.bincount(task.y)
        assert sizes.min() >= 10 and sizes.max() <= 20
        np.testing.assert_array_equal(task.X, X[task.indices])
        # one source class per task label
        for label in range(k):
            assert np.unique(y[task.indices[task.y == label]]).size == 1


def test_sample_tasks_balanced_and_capped():
    X = np.zeros((30, 2))
    y = np.repeat(["a", "b", "c"], 10)
    tasks = list(sample_tasks(X, y, 5, k_range=(2, 9), size_range=(4, 50),
                              imbalance=0.0, random_state=1))
    for task in tasks:
        assert task.y.max() + 1 <= 3  # capped at the number of classes
        sizes = np.bincount(task.y)
        assert sizes.max() == sizes.min()  # balanced, at most all 10 of a class
    with pytest.raises(ValueError, match="at least 4 classes"):
        list(sample_tasks(X, y, 1, k_range=(4, 5)))


def test_load_npz(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.zeros((4, 2, 2)), y=np.arange(4))
    X, y = load_npz(path)
    assert X.shape == (4, 4) and y.shape == (4,)
    assert load_npz(path, flatten=False)[0].shape == (4, 2, 2)
    bad = tmp_path / "bad.npz"
    np.savez(bad, data=np.zeros(3))
    with pytest.raises(ValueError, match="'X' and 'y'"):
        load_npz(bad)
    with pytest.raises(FileNotFoundError):
        load_npz(tmp_path / "missing.npz")
    text = tmp_path / "text.npz"
    text.write_text("not an archive")
    with pytest.raises(ValueError, match="not a readable"):
        load_npz(text)


def test_make_synthetic_tasks_ranges_and_reproducibility():
    tasks = list(make_synthetic_tasks(30, k_range=(2, 8), size_range=(5, 15), random_state=0))
    assert len(tasks) == 30
    ks = []
    for task in tasks:
        k = np.unique(task.y).size
        ks.append(k)
        assert 2 <= k <= 8
        assert np.array_equal(np.unique(task.y), np.arange(k))
        assert task.X.shape[0] == task.y.size
        assert 2 <= task.X.shape[1] <= 20
        assert np.isfinite(task.X).all()
        # sizes from size_range (shape sets split the total evenly)
        assert np.bincount(task.y).min() >= 2
    assert len(set(ks)) > 3  # k varies
    again = list(make_synthetic_tasks(30, k_range=(2, 8), size_range=(5, 15), random_state=0))
    assert all(np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
               for a, b in zip(tasks, again))


def test_make_synthetic_tasks_shapes_only_are_2d():
    tasks = list(make_synthetic_tasks(5, shape_fraction=1.0, random_state=0))
    assert all(task.X.shape[1] == 2 for task in tasks)
    with pytest.raises(ValueError):
        list(make_synthetic_tasks(2, k_range=(5, 2)))


def test_make_dscl_toy_refuses_bad_parameters_by_name():
    with pytest.raises(ValueError, match="base_size"):
        make_dscl_toy(base_size=0)
    with pytest.raises(ValueError, match="cluster_std"):
        make_dscl_toy(cluster_std=-0.1)
    with pytest.raises(ValueError, match="centers must have shape"):
        make_dscl_toy(centers=[[0.0, 0.0]])
    with pytest.raises(ValueError, match="could not place"):
        make_dscl_toy(cluster_std=1.0, n_features=1)
