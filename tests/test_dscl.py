import pickle

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans

from sklearn_tcm import DSCLClustering, clustering_accuracy
from sklearn_tcm.datasets import make_dscl_toy
from sklearn_tcm.dscl import spectral_loss_and_gradient

TINY = dict(hidden_layer_sizes=(30, 30), n_components=3, max_iter=300, random_state=0)


def _indicators(labels, k):
    Y = torch.nn.functional.one_hot(torch.as_tensor(labels), k).double()
    return Y / Y.sum(dim=0).sqrt()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_gradient_matches_autograd(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=40)
    labels[:3] = [0, 1, 2]
    J = _indicators(labels, 3)
    F = torch.tensor(rng.normal(size=(40, 5)), requires_grad=True)
    autograd_loss = 3 - torch.trace(F @ torch.linalg.pinv(F) @ J @ J.T)
    autograd_loss.backward()
    loss, gradient, full_rank = spectral_loss_and_gradient(F.detach(), J)
    assert full_rank
    torch.testing.assert_close(loss, autograd_loss.detach())
    torch.testing.assert_close(gradient, F.grad)


def test_loss_is_zero_when_columns_span_the_indicators():
    labels = np.repeat([0, 1, 2], [5, 7, 9])
    J = _indicators(labels, 3)
    mixing = torch.tensor(np.random.default_rng(0).normal(size=(3, 3)))
    loss, gradient, _ = spectral_loss_and_gradient(J @ mixing, J)
    assert abs(float(loss)) < 1e-10
    assert float(gradient.abs().max()) < 1e-8
    # a representation that ignores the classes has the maximal loss k - 1
    loss, _, _ = spectral_loss_and_gradient(torch.ones(21, 1, dtype=torch.float64), J)
    assert float(loss) == pytest.approx(2.0)


def test_rank_deficient_batches_are_counted():
    labels = np.repeat([0, 1], 4)
    F = torch.tensor(np.c_[np.ones(8), np.ones(8)])  # rank 1 of 2 columns
    _, gradient, full_rank = spectral_loss_and_gradient(F, _indicators(labels, 2))
    assert not full_rank and torch.isfinite(gradient).all()


def test_toy_is_separated_where_kmeans_fails():
    X, y, centers = make_dscl_toy(20, return_centers=True, random_state=0)
    X_test, y_test = make_dscl_toy(20, centers=centers, random_state=1)
    kmeans_acc = clustering_accuracy(
        y_test, KMeans(3, n_init=10, random_state=0).fit_predict(X_test)
    )
    model = DSCLClustering(3, **{**TINY, "max_iter": 1000}).fit(X, y)
    assert clustering_accuracy(y_test, model.predict(X_test)) >= 0.95
    assert kmeans_acc < 0.8
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]
    assert sum(record["skipped"] for record in model.history_) == 0


def test_transform_embedding_and_estimated_k():
    X, y = make_dscl_toy(10, random_state=0)
    model = DSCLClustering(None, spectral_space="span", **TINY).fit(X, y)
    assert model.transform(X).shape == (210, 3)
    embedding = model.spectral_embedding(X)
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=1), 1.0)
    k = model.estimate_n_clusters(X)
    assert k == 3  # the centred 3-d representation has 2 large singular values
    assert np.unique(model.predict(X)).size == k
    assert np.unique(model.labels_).size == k


def test_fit_predict_is_the_models_clustering():
    X, y = make_dscl_toy(10, random_state=0)
    model = DSCLClustering(3, **TINY)
    labels = model.fit_predict(X, y)
    assert clustering_accuracy(y, labels) > 0.8
    # labels_ is the model's clustering of X: what predict gives, cluster ids
    # chosen by k-means rather than copied from y
    np.testing.assert_array_equal(labels, model.predict(X))


def test_custom_module_and_determinism():
    X, y = make_dscl_toy(10, random_state=0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 4))
    a = DSCLClustering(3, module=net, max_iter=50, random_state=0).fit(X, y)
    b = DSCLClustering(3, module=net, max_iter=50, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.transform(X).shape == (210, 4)
    # the user's module is copied, never trained in place
    assert a.module_ is not net


def test_pickle_round_trip():
    X, y = make_dscl_toy(10, random_state=0)
    model = DSCLClustering(3, **TINY).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_errors():
    X, y = make_dscl_toy(10, random_state=0)
    with pytest.raises(ValueError, match="at least 2 classes"):
        DSCLClustering(3, **TINY).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="output dimension"):
        DSCLClustering(3, classes_per_batch=3, **{**TINY, "n_components": 2}).fit(X, y)
    with pytest.raises(ValueError, match="classes_per_batch"):
        DSCLClustering(3, classes_per_batch=5, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="n_clusters"):
        DSCLClustering(0, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="y"):
        DSCLClustering(3, **TINY).fit(X, None)
    model = DSCLClustering(3, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])


def test_early_stopping_on_held_out_classes():
    X, y = make_dscl_toy(10, n_classes=6, random_state=0)
    model = DSCLClustering(3, hidden_layer_sizes=(30,), n_components=6, max_iter=400,
                           early_stopping=True, validation_fraction=0.34,
                           validation_interval=20, n_iter_no_change=2,
                           random_state=0).fit(X, y)
    checks = [record["validation"] for record in model.history_]
    assert checks and all(0 <= nmi <= 1 for nmi in checks)
    iterations = [record["iteration"] for record in model.history_]
    assert iterations == list(range(20, 20 * len(iterations) + 1, 20))
    assert model.n_iter_ == iterations[-1] <= 400
    assert {"loss", "rank_deficient", "skipped"} <= set(model.history_[0])
    assert model.labels_.shape == y.shape
    with pytest.raises(ValueError, match="early_stopping"):
        DSCLClustering(3, early_stopping=True, **TINY).fit(*make_dscl_toy(5))


@pytest.mark.slow
def test_transfer_to_unseen_digit_classes():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    model = DSCLClustering(5, learning_rate=1e-4, max_iter=1000, random_state=0)
    model.fit(X[y < 5], y[y < 5])
    # measured over 5 seeds in benchmarks/bench_dscl.py: ACC 0.895 +- 0.029
    assert clustering_accuracy(y[y >= 5], model.predict(X[y >= 5])) > 0.8


def _blobs9(seed):
    """Three classes, each the union of three separated blobs (see bench_dscl.py)."""
    from sklearn.datasets import make_blobs

    centers = np.random.default_rng(7).uniform(-8, 8, size=(9, 3))
    X, blob = make_blobs(n_samples=[20, 40, 80] * 3, centers=centers, cluster_std=1.0,
                         random_state=seed)
    return X / 5.0, blob % 3


def test_classes_made_of_several_blobs_with_many_components():
    X, y = _blobs9(0)
    X_test, y_test = _blobs9(1)
    kmeans_acc = clustering_accuracy(
        y_test, KMeans(3, n_init=10, random_state=0).fit_predict(X_test))
    # the default n_components=32 is much larger than k = 3
    auto = DSCLClustering(3, max_iter=1000, random_state=0).fit(X, y)
    span = DSCLClustering(3, max_iter=1000, spectral_space="span", random_state=0).fit(X, y)
    assert auto.spectral_space_ == "whitened"
    assert clustering_accuracy(y_test, auto.predict(X_test)) >= 0.9
    assert clustering_accuracy(y_test, span.predict(X_test)) < 0.75
    assert kmeans_acc < 0.75


def test_auto_whitens_classes_of_two_blobs_and_keeps_span_for_digits():
    from sklearn_tcm.datasets import make_dscl_toy

    # 4 classes, each two Gaussian blobs in 5-D, one three times the other
    toy = dict(n_classes=4, n_subclusters=2, n_features=5, size_ratio=3)
    X, y, centers = make_dscl_toy(40, **toy, return_centers=True, random_state=0)
    X_new, y_new = make_dscl_toy(40, **toy, centers=centers, random_state=1)
    accs = {}
    for space in ("auto", "span", "whitened"):
        model = DSCLClustering(4, max_iter=1500, spectral_space=space, random_state=0)
        model.fit(X, y)
        accs[space] = clustering_accuracy(y_new, model.predict(X_new))
        if space == "auto":
            assert model.spectral_space_ == "whitened"
    assert accs["auto"] == accs["whitened"] >= 0.95 > accs["span"]


def test_transform_keeps_float32_and_names_its_features():
    X, y = make_dscl_toy(10, random_state=0)
    model = DSCLClustering(3, **TINY).fit(X.astype(np.float32), y)
    assert model.transform(X.astype(np.float32)).dtype == np.float32
    assert model.transform(X).dtype == np.float64
    np.testing.assert_array_equal(model.get_feature_names_out(),
                                  ["dsclclustering0", "dsclclustering1", "dsclclustering2"])


def test_estimated_k_is_bounded_by_max_clusters():
    X, y = make_dscl_toy(10, random_state=0)
    model = DSCLClustering(None, max_clusters=2, **TINY).fit(X, y)
    assert model.estimate_n_clusters(X) <= 2
    assert model.estimate_n_clusters(X, max_clusters=3) <= 3
