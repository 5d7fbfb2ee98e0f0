import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_tcm.dec as dec_module
from sklearn_tcm import SCORERS, DECClustering, clustering_accuracy

TINY = dict(hidden_dims=(16,), n_components=2, pretrain_epochs=15, batch_size=32,
            n_init=2, max_iter=60, random_state=0)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=150, centers=3, n_features=6, cluster_std=0.6,
                      random_state=0)
    return X, y


def test_fit_attributes_and_quality(blobs):
    X, y = blobs
    model = DECClustering(3, **TINY).fit(X)
    assert model.labels_.shape == (150,)
    assert model.cluster_centers_.shape == (3, 2)
    assert model.n_features_in_ == 6
    assert model.n_iter_ <= TINY["max_iter"]
    assert isinstance(model.converged_, bool)
    assert model.history_ and {"iteration", "changed", "loss"} <= set(model.history_[0])
    assert clustering_accuracy(y, model.labels_) > 0.9
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.transform(X).shape == (150, 2)
    assert model.score(X) <= 0.0
    assert list(model.get_feature_names_out()) == ["decclustering0", "decclustering1"]


def test_predict_on_new_data_agrees_with_labels(blobs):
    X, _ = blobs
    model = DECClustering(3, **TINY).fit(X[:120])
    np.testing.assert_array_equal(model.predict(X[:120]), model.labels_)
    # new points from the same blobs fall in the clusters of their neighbours
    from sklearn.neighbors import KNeighborsClassifier
    neighbours = KNeighborsClassifier(5).fit(X[:120], model.labels_).predict(X[120:])
    assert np.mean(model.predict(X[120:]) == neighbours) >= 0.9


def test_target_distribution_is_computed_on_the_whole_dataset(blobs, monkeypatch):
    """Catches the common bug of computing P from a mini-batch's Q."""
    X, _ = blobs
    seen_rows = []
    original = dec_module._target_distribution

    def recording(q):
        seen_rows.append(q.shape[0])
        return original(q)

    monkeypatch.setattr(dec_module, "_target_distribution", recording)
    DECClustering(3, **TINY).fit(X)
    assert seen_rows and set(seen_rows) == {X.shape[0]}


def test_target_distribution_formula():
    q = torch.tensor([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]], dtype=torch.float64)
    f = q.sum(dim=0)
    expected = q**2 / f
    expected = expected / expected.sum(dim=1, keepdim=True)
    torch.testing.assert_close(dec_module._target_distribution(q), expected)


def test_tol_stops_training(blobs):
    """Catches `tol` being ignored: a huge tol stops at the first update."""
    X, _ = blobs
    params = {**TINY, "max_iter": 200, "update_interval": 5}
    stopped = DECClustering(3, tol=1.1, **params).fit(X)
    assert stopped.converged_ and stopped.n_iter_ == 5
    never = DECClustering(3, tol=0.0, **params).fit(X)
    assert not never.converged_ and never.n_iter_ == 200
    assert len(never.history_) == 200 // 5  # one record per update interval, none before


def test_idec_gamma_weights_the_clustering_term(blobs):
    """Catches gamma on the reconstruction term: gamma=0 must leave the centres alone."""
    X, _ = blobs
    params = {**TINY, "variant": "idec", "tol": 0.0, "max_iter": 30}
    frozen = DECClustering(3, gamma=0.0, **params).fit(X)
    initial = DECClustering(3, **{**params, "max_iter": 0}).fit(X)
    np.testing.assert_allclose(frozen.cluster_centers_, initial.cluster_centers_, atol=1e-6)
    moved = DECClustering(3, gamma=1.0, **params).fit(X)
    assert np.abs(moved.cluster_centers_ - initial.cluster_centers_).max() > 1e-4
    record = moved.history_[-1]
    assert record["loss"] == pytest.approx(
        record["reconstruction_loss"] + 1.0 * record["clustering_loss"], rel=1e-4
    )


def test_dec_loss_is_the_clustering_loss(blobs):
    X, _ = blobs
    model = DECClustering(3, **{**TINY, "tol": 0.0, "max_iter": 20}).fit(X)
    record = model.history_[-1]
    assert record["reconstruction_loss"] == 0.0
    assert record["loss"] == pytest.approx(record["clustering_loss"])


@pytest.mark.parametrize("kwargs", [
    {"pretrain": "layerwise", "hidden_dims": (16, 8)},
    {"optimizer": "sgd", "learning_rate": 0.01},
    {"balance": 1.0},
])
def test_options_run(blobs, kwargs):
    X, y = blobs
    model = DECClustering(3, **{**TINY, **kwargs}).fit(X)
    assert clustering_accuracy(y, model.labels_) > 0.6


def test_deterministic_with_random_state(blobs):
    X, _ = blobs
    a = DECClustering(3, **TINY).fit(X)
    b = DECClustering(3, **TINY).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_pipeline_and_grid_search(blobs):
    X, y = blobs
    pipe = make_pipeline(StandardScaler(), DECClustering(3, **TINY))
    assert pipe.fit_predict(X).shape == (150,)
    search = GridSearchCV(
        DECClustering(**TINY), {"n_clusters": [2, 3]}, cv=2,
        scoring=SCORERS["clustering_accuracy"],
    ).fit(X, y)
    assert search.best_params_ == {"n_clusters": 3}


def test_pickle_round_trip(blobs):
    X, _ = blobs
    model = DECClustering(3, **TINY).fit(X)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert all(p.device.type == "cpu" for p in restored.autoencoder_.parameters())


@pytest.mark.parametrize("params, match", [
    ({"n_clusters": 0}, "n_clusters"),
    ({"variant": "vae"}, "variant"),
    ({"hidden_dims": (16, -1)}, "hidden_dims"),
    ({"batch_size": 0}, "batch_size"),
    ({"tol": -1.0}, "tol"),
    ({"device": "nonsense"}, "device"),
])
def test_bad_parameters(blobs, params, match):
    X, _ = blobs
    with pytest.raises(ValueError, match=match):
        DECClustering(**{**TINY, "n_clusters": 3, **params}).fit(X)


def test_bad_input(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="n_clusters"):
        DECClustering(200, **TINY).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        DECClustering(3, **TINY).fit(np.full((10, 3), np.nan))
    model = DECClustering(3, **TINY).fit(X)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :4])


def test_reuse_of_a_pretrained_autoencoder(blobs):
    X, y = blobs
    first = DECClustering(3, **TINY).fit(X)
    pretrained = first.pretrained_autoencoder_
    # same pretraining and seed: the second fit reproduces the first
    second = DECClustering(3, **{**TINY, "pretrain_epochs": 0}, autoencoder=pretrained).fit(X)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    idec = DECClustering(3, variant="idec", autoencoder=pretrained,
                         **{k: v for k, v in TINY.items() if k != "pretrain_epochs"}).fit(X)
    assert clustering_accuracy(y, idec.labels_) > 0.9
    # the given module is copied, not trained in place
    assert all(not p.requires_grad for p in pretrained.parameters())
    with pytest.raises(ValueError, match="encoder"):
        DECClustering(3, autoencoder=torch.nn.Linear(6, 2)).fit(X)
    with pytest.raises(ValueError, match="features"):
        DECClustering(3, autoencoder=pretrained).fit(X[:, :4])


@pytest.mark.slow
def test_idec_on_digits_with_the_paper_network():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    model = DECClustering(10, variant="idec", pretrain_epochs=100, random_state=1).fit(X / 16)
    # measured over 5 seeds in benchmarks/bench_dec.py (200 epochs): ACC 0.819 +- 0.023
    assert clustering_accuracy(y, model.labels_) > 0.75
    assert model.converged_
