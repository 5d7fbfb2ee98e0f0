import pickle

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from sklearn_tcm import L2CClustering, make_l2c_points
from sklearn_tcm._torch import seeded_torch
from sklearn_tcm.l2c import _same_cluster_probability, _SetNetwork, forward_orders, pair_weights

TINY = dict(architecture="small", batch_size=8, validation_interval=20, n_orders=2)


@pytest.fixture(scope="module")
def sets():
    return make_l2c_points(8, n_points=24, k_range=(1, 3), random_state=0)


@pytest.fixture(scope="module")
def overfitted(sets):
    X, y, groups = sets
    return L2CClustering(max_iter=300, validation_fraction=0.0, learning_rate=3e-3,
                         random_state=0, **TINY).fit(X, y, groups=groups)


@pytest.mark.parametrize("phi", [0.05, 0.3, 0.5, 0.9])
def test_pair_weights_closed_form(phi):
    w_same, w_different = pair_weights(phi)
    c = 2 / (np.sqrt(phi) + np.sqrt(1 - phi))
    assert w_same == pytest.approx(c * np.sqrt(1 - phi))
    assert w_different == pytest.approx(c * np.sqrt(phi))
    # the same-cluster weight grows as same-cluster pairs get rarer
    assert (w_same > w_different) == (phi < 0.5)
    with pytest.raises(ValueError):
        pair_weights(1.0)


def test_pairwise_probabilities_are_probabilities():
    with seeded_torch(0):  # local seeding: the global torch RNG is left alone
        network = _SetNetwork(3, 4, lstm_layers=2, lstm_units=8, count_units=8).eval()
        inputs = torch.randn(5, 11, 3)
    count_logits, log_assign, _ = network(inputs)
    p = _same_cluster_probability(count_logits, log_assign)
    assert p.shape == (5, 11, 11)
    assert torch.all(p >= 0) and torch.all(p <= 1 + 1e-6)
    torch.testing.assert_close(p, p.transpose(1, 2))
    assert [a.shape[-1] for a in log_assign] == [1, 2, 3, 4]


def test_tiny_model_overfits_a_handful_of_sets(overfitted, sets):
    X, y, groups = sets
    losses = [h["loss"] for h in overfitted.history_]
    assert losses[-1] < 0.5 * losses[0]
    aris = [adjusted_rand_score(y[groups == g], overfitted.predict(X[groups == g]))
            for g in np.unique(groups)]
    # most training sets recovered exactly (number of clusters included)
    assert np.mean(np.array(aris) > 0.95) >= 0.75


def test_predict_larger_sets_and_estimate_k(overfitted):
    X, y, _ = make_l2c_points(4, n_points=24, k_range=(2, 3), random_state=5)
    labels = overfitted.predict(X)  # 96 > 2 * 24: chunked and merged
    assert labels.shape == (96,) and labels.min() == 0
    k, proba = overfitted.estimate_n_clusters(X[:24])
    assert 1 <= k <= 5 and proba.shape == (5,) and proba.sum() == pytest.approx(1)
    assert k == np.argmax(proba) + 1


def test_large_inputs_are_clustered_in_sets_no_larger_than_a_chunk(overfitted, monkeypatch):
    # 3 000 points of a model trained on 24-point sets: every network pass,
    # the merge of the chunks' clusters included, sees at most 2 * 24 points
    X, _, _ = make_l2c_points(125, n_points=24, k_range=(2, 3), random_state=6)
    sizes = []
    original = L2CClustering._cluster_set

    def recording(self, network, X_set, rng, device):
        sizes.append(X_set.shape[0])
        return original(self, network, X_set, rng, device)

    monkeypatch.setattr(L2CClustering, "_cluster_set", recording)
    labels = overfitted.predict(X)
    assert labels.shape == (X.shape[0],) and set(np.unique(labels)) == set(range(labels.max() + 1))
    assert max(sizes) <= 2 * 24
    assert len(sizes) > X.shape[0] // 24  # the chunks, then the merges


def test_compute_labels_false_skips_the_training_labels(sets):
    X, y, groups = sets
    params = dict(max_iter=20, validation_fraction=0.0, random_state=0, **TINY)
    model = L2CClustering(compute_labels=False, **params).fit(X, y, groups=groups)
    assert not hasattr(model, "labels_")
    with_labels = L2CClustering(**params).fit(X, y, groups=groups)
    np.testing.assert_array_equal(model.predict(X), with_labels.labels_)
    np.testing.assert_array_equal(
        L2CClustering(compute_labels=False, **params).fit_predict(X, y, groups=groups),
        with_labels.labels_)


def test_sampled_sets_from_classes_and_determinism():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=5, size=(8, 4))
    y = np.repeat(np.arange(8), 30)
    X = centers[y] + rng.normal(size=(240, 4))
    params = dict(set_size=20, k_max=3, max_iter=15, embedding="mlp", random_state=3, **TINY)
    a = L2CClustering(**params).fit(X, y)
    b = L2CClustering(**params).fit(X, y)
    np.testing.assert_array_equal(a.predict(X[:40]), b.predict(X[:40]))
    assert a.history_ and "validation_nmi" in a.history_[0]
    fixed = L2CClustering(n_clusters=3, **params).fit(X, y).predict(X[:40])
    assert np.unique(fixed).size <= 3


def test_cnn_embedding():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 64))
    y = np.repeat(np.arange(4), 15)
    model = L2CClustering(embedding="cnn", input_shape=(8, 8), set_size=10, k_max=2,
                          max_iter=3, random_state=0, **TINY).fit(X, y)
    assert model.predict(X[:10]).shape == (10,)
    with pytest.raises(ValueError, match="input_shape"):
        L2CClustering(embedding="cnn", input_shape=(7, 7)).fit(X, y)


def test_pickle_round_trip(overfitted, sets):
    X, _, groups = sets
    restored = pickle.loads(pickle.dumps(overfitted))
    np.testing.assert_array_equal(restored.predict(X[groups == 1]),
                                  overfitted.predict(X[groups == 1]))


def test_errors(overfitted, sets):
    X, y, groups = sets
    with pytest.raises(ValueError, match="k_max"):
        L2CClustering(n_clusters=6, k_max=5).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="k_max"):
        L2CClustering(k_max=1).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="at least 2"):
        L2CClustering().fit(X[:3], y[:3], groups=[0, 1, 1])
    with pytest.raises(ValueError):
        overfitted.predict(X[:1])  # a set of one point
    with pytest.raises(ValueError, match="features"):
        overfitted.predict(np.ones((10, 3)))
    with pytest.raises(ValueError, match="groups must have shape"):
        L2CClustering().fit(X, y, groups=groups[:5])


def test_attention_network_is_order_independent():
    with seeded_torch(0):
        network = _SetNetwork(2, 4, lstm_layers=2, lstm_units=8, count_units=8,
                              encoder="attention").eval()
        sets = torch.randn(3, 15, 2)
        order = torch.randperm(15)
    count, log_assign, _ = network(sets)
    count_perm, log_assign_perm, _ = network(sets[:, order])
    torch.testing.assert_close(count, count_perm, atol=1e-5, rtol=1e-5)
    for a, b in zip(log_assign, log_assign_perm):
        torch.testing.assert_close(a[:, order], b, atol=1e-5, rtol=1e-5)


def test_attention_model_overfits_and_predict_ignores_order(sets):
    X, y, groups = sets
    model = L2CClustering(architecture="attention", max_iter=300, validation_fraction=0.0,
                          learning_rate=3e-3, batch_size=8, validation_interval=20,
                          random_state=0).fit(X, y, groups=groups)
    losses = [h["loss"] for h in model.history_]
    assert losses[-1] < 0.5 * losses[0]
    Xs = X[groups == 0]
    order = np.random.default_rng(1).permutation(Xs.shape[0])
    labels = model.predict(Xs)
    assert adjusted_rand_score(labels[order], model.predict(Xs[order])) == 1.0


def test_attention_model_save_load_round_trip(sets, tmp_path):
    from sklearn_tcm import load

    X, y, groups = sets
    model = L2CClustering(architecture="attention", max_iter=5, batch_size=4,
                          validation_interval=5, random_state=0).fit(X, y, groups=groups)
    model.save(tmp_path / "l2c.pt")
    loaded = load(tmp_path / "l2c.pt")
    np.testing.assert_array_equal(loaded.predict(X[groups == 1]), model.predict(X[groups == 1]))
    # an attention model, fitted or loaded, makes one pass whatever n_orders says
    # (its output does not depend on the order), never n_orders passes + linkage
    rng = np.random.default_rng(0)
    for fitted in (model, loaded):
        network = fitted._network("cpu")
        orders, _, _ = forward_orders(network, X[groups == 1], fitted.n_orders, rng, "cpu")
        assert len(orders) == 1
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X[groups == 1]), model.predict(X[groups == 1]))
