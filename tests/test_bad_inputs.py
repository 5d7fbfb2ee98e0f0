"""Bad inputs give clear errors, and a failed fit never leaves a half-fitted estimator."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from sklearn_tcm import (
    CriticClustering,
    DECClustering,
    DSCLClustering,
    L2CClustering,
    LearnedMetricClustering,
)

X, Y = make_blobs(n_samples=60, centers=3, n_features=4, random_state=0)

FACTORIES = {
    "dec": lambda **kw: DECClustering(**{**dict(n_clusters=3, hidden_dims=(8,),
                                                 n_components=2, pretrain_epochs=2,
                                                 max_iter=10, n_init=2, random_state=0), **kw}),
    "dscl": lambda **kw: DSCLClustering(**{**dict(n_clusters=3, hidden_layer_sizes=(8,),
                                                   n_components=3, max_iter=3,
                                                   random_state=0), **kw}),
    "l2c": lambda **kw: L2CClustering(**{**dict(k_max=3, set_size=8, max_iter=2,
                                                 batch_size=4, validation_interval=1,
                                                 random_state=0), **kw}),
    "lmc": lambda **kw: LearnedMetricClustering(**{**dict(
        n_tasks=3, synthetic_tasks=3, size_range=(4, 6), gae_epochs=1, critic_epochs=2,
        adversarial_rounds=0, random_state=0), **kw}),
}
SUPERVISED = ("dscl", "l2c", "lmc")


def fit(kind, X, y=Y, **params):
    model = FACTORIES[kind](**params)
    return model.fit(X, y) if kind in SUPERVISED else model.fit(X)


def with_nan():
    bad = X.copy()
    bad[3, 1] = np.nan
    return bad


def with_inf():
    bad = X.copy()
    bad[5, 0] = np.inf
    return bad


BAD_X = {
    "nan": (with_nan, ValueError, "NaN"),
    "inf": (with_inf, ValueError, "infinity"),
    "empty": (lambda: np.empty((0, 4)), ValueError, "0 sample"),
    "one_sample": (lambda: X[:1], ValueError, "sample"),
    "strings": (lambda: np.array([["a", "b"]] * 60), ValueError, None),
    "object": (lambda: np.array([[object(), 1.0]] * 60, dtype=object), (TypeError, ValueError),
               None),
    "three_d": (lambda: X.reshape(60, 2, 2), ValueError, "dim 3"),
}


@pytest.mark.parametrize("kind", FACTORIES)
@pytest.mark.parametrize("case", BAD_X)
def test_bad_X_is_refused_clearly(kind, case):
    make, error, match = BAD_X[case]
    bad = make()
    y = Y[: bad.shape[0]] if bad.shape[0] <= len(Y) else Y
    with pytest.raises(error, match=match):
        fit(kind, bad, y)


@pytest.mark.parametrize("kind", FACTORIES)
def test_sparse_input_gives_the_dense_answer(kind):
    # every public entry point takes a sparse matrix and answers as for its dense copy
    sparse = sp.csr_matrix(X)
    dense_model, sparse_model = fit(kind, X), fit(kind, sparse)
    np.testing.assert_array_equal(sparse_model.predict(sparse), dense_model.predict(X))
    if kind == "lmc":
        from sklearn_tcm import rank_clusterings

        labels = np.stack([Y, (Y + 1) % 3, np.zeros_like(Y)])
        np.testing.assert_allclose(sparse_model.score_clustering(sparse, labels),
                                   dense_model.score_clustering(X, labels), rtol=1e-6)
        candidates = {"truth": Y, "one": np.zeros_like(Y)}
        assert ([row["name"] for row in rank_clusterings(sparse, candidates, sparse_model)]
                == [row["name"] for row in rank_clusterings(X, candidates, dense_model)])


@pytest.mark.parametrize("kind", FACTORIES)
def test_one_feature_and_constant_features_work(kind):
    model = fit(kind, X[:, :1])
    assert model.predict(X[:20, :1]).shape == (20,)


@pytest.mark.parametrize("kind", ["dec", "dscl", "l2c"])
def test_wrong_number_of_features_at_predict(kind):
    model = fit(kind, X)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :3])


@pytest.mark.parametrize("kind", ["dec", "dscl", "lmc"])
def test_more_clusters_than_samples(kind):
    if kind == "lmc":
        model = CriticClustering(fit(kind, X), n_clusters=30)
        with pytest.raises(ValueError, match="larger than the number of samples"):
            model.fit(X[:10])
        return
    with pytest.raises(ValueError, match="n_clusters|n_samples"):
        fit(kind, X[:5], Y[:5], n_clusters=10)


@pytest.mark.parametrize("kind", SUPERVISED)
def test_y_missing_or_single_class(kind):
    with pytest.raises(TypeError):
        FACTORIES[kind]().fit(X)
    if kind != "l2c":  # one class is a valid L2C training set (k = 1)
        with pytest.raises(ValueError, match="2 classes|at least 2"):
            fit(kind, X, np.zeros(60, dtype=int))
    with pytest.raises(ValueError):
        fit(kind, X, Y[:10])


@pytest.mark.parametrize("kind,param,value", [
    ("dec", "n_clusters", 0), ("dec", "n_clusters", 2.5), ("dec", "max_iter", -1),
    ("dec", "batch_size", 0), ("dscl", "max_iter", -3), ("dscl", "learning_rate", -1.0),
    ("l2c", "k_max", 0), ("l2c", "set_size", 1.5), ("l2c", "batch_size", -2),
    ("lmc", "n_tasks", 0), ("lmc", "max_points", 2), ("lmc", "caution", -1.0),
])
def test_bad_parameters(kind, param, value):
    with pytest.raises(ValueError, match=param):
        fit(kind, X, **{param: value})


@pytest.mark.parametrize("kind", FACTORIES)
def test_failed_refit_keeps_the_earlier_fit(kind):
    model = fit(kind, X)
    before = pickle.dumps(model)
    with pytest.raises(ValueError):
        model.fit(with_nan(), Y) if kind in SUPERVISED else model.fit(with_nan())
    check_is_fitted(model)
    assert pickle.dumps(model) == before


@pytest.mark.parametrize("kind", FACTORIES)
def test_keyboard_interrupt_leaves_the_estimator_unfitted(kind, monkeypatch):
    def interrupt(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch.optim.Adam, "step", interrupt)
    model = FACTORIES[kind]()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y) if kind in SUPERVISED else model.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


# ----------------------------------------------------------- pandas and small inputs
@pytest.mark.parametrize("kind", FACTORIES)
def test_dataframe_input_raises_no_feature_name_warning(kind):
    import warnings

    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*feature names.*")
        model = fit(kind, frame)
        model.predict(frame)


@pytest.mark.parametrize("kind", ["dec", "dscl"])
def test_pandas_output_config(kind):
    import sklearn

    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    with sklearn.config_context(transform_output="pandas"):
        model = fit(kind, frame)
        Z = model.transform(frame)
        assert isinstance(Z, pd.DataFrame)
        assert list(Z.columns) == list(model.get_feature_names_out())
        assert model.predict(frame).shape == (len(X),)
        if kind == "dec":
            np.testing.assert_allclose(model.predict_proba(frame).sum(axis=1), 1.0)


@pytest.mark.parametrize("kind", ["dec", "dscl"])
def test_transform_keeps_float32(kind):
    model = fit(kind, X.astype(np.float32))
    assert model.transform(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("n_points", [3, 4, 7])
def test_learned_metric_predicts_on_tiny_datasets(n_points):
    model = fit("lmc", X)
    labels = model.predict(X[:n_points])
    assert labels.shape == (n_points,)
    assert np.isfinite(model.score_clustering(X[:n_points], labels))
    with pytest.raises(ValueError, match="3"):
        model.predict(X[:2])


def test_l2c_refuses_a_single_class():
    with pytest.raises(ValueError, match="at least 2 classes"):
        fit("l2c", X, y=np.zeros(len(X)))
