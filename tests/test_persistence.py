"""Pickle and safe save/load round trips, checked in a fresh interpreter."""

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

import sklearn_tcm
from sklearn_tcm import (
    DECClustering,
    DSCLClustering,
    L2CClustering,
    LearnedMetricClustering,
    make_l2c_points,
)


def _fitted_models():
    X, y = make_blobs(n_samples=120, centers=4, n_features=4, random_state=0)
    Xs, ys, groups = make_l2c_points(6, n_points=20, k_range=(1, 3), random_state=0)
    return {
        "dec": (DECClustering(3, hidden_dims=(8,), n_components=2, pretrain_epochs=2,
                              max_iter=10, n_init=2, random_state=0).fit(X), X),
        "dscl": (DSCLClustering(3, hidden_layer_sizes=(8,), n_components=3, max_iter=5,
                                random_state=0).fit(X, y), X),
        "l2c": (L2CClustering(max_iter=3, batch_size=4, validation_interval=2,
                              random_state=0).fit(Xs, ys, groups=groups), Xs[groups == 0]),
        "lmc": (LearnedMetricClustering(n_tasks=4,
                                        synthetic_tasks=3, size_range=(8, 12), gae_epochs=1,
                                        critic_epochs=2, adversarial_rounds=0, random_state=0)
                .fit(X, y), X[:60]),
    }


@pytest.fixture(scope="module")
def models():
    return _fitted_models()


@pytest.mark.integration  # a subprocess: second tier
@pytest.mark.parametrize("kind", ["dec", "dscl", "l2c", "lmc"])
def test_round_trips_in_a_fresh_process(models, kind, tmp_path):
    model, X = models[kind]
    expected = model.predict(X)
    np.save(tmp_path / "X.npy", X)
    model.save(tmp_path / "model.tcm")
    with open(tmp_path / "model.pkl", "wb") as handle:
        pickle.dump(model, handle)
    script = textwrap.dedent(f"""
        import pickle, sys
        import numpy as np
        import sklearn_tcm
        X = np.load({str(tmp_path / 'X.npy')!r})
        safe = sklearn_tcm.load({str(tmp_path / 'model.tcm')!r})
        with open({str(tmp_path / 'model.pkl')!r}, "rb") as handle:
            pickled = pickle.load(handle)
        np.save({str(tmp_path / 'safe.npy')!r}, safe.predict(X))
        np.save({str(tmp_path / 'pickled.npy')!r}, pickled.predict(X))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    np.testing.assert_array_equal(np.load(tmp_path / "safe.npy"), expected)
    np.testing.assert_array_equal(np.load(tmp_path / "pickled.npy"), expected)
    restored = sklearn_tcm.load(tmp_path / "model.tcm")
    assert type(restored) is type(model)
    assert restored.get_params() == model.get_params()


class _Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


def test_foreign_and_tampered_files_are_refused(models, tmp_path):
    model, _ = models["dec"]
    path = tmp_path / "evil.tcm"
    with open(path, "wb") as handle:
        pickle.dump(_Exploit(), handle)
    with pytest.raises(ValueError, match="not a sklearn_tcm model file"):
        sklearn_tcm.load(path)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a sklearn_tcm model file"):
        sklearn_tcm.load(tmp_path / "other.pt")
    (tmp_path / "text.tcm").write_text("hello")
    with pytest.raises(ValueError, match="not a sklearn_tcm model file"):
        sklearn_tcm.load(tmp_path / "text.tcm")
    model.save(tmp_path / "model.tcm")
    payload = torch.load(tmp_path / "model.tcm", weights_only=True)
    torch.save({**payload, "format_version": 99}, tmp_path / "future.tcm")
    with pytest.raises(ValueError, match="format version"):
        sklearn_tcm.load(tmp_path / "future.tcm")
    torch.save({**payload, "estimator": "os.system"}, tmp_path / "renamed.tcm")
    with pytest.raises(ValueError, match="unknown estimator"):
        sklearn_tcm.load(tmp_path / "renamed.tcm")
    modules = {k: {**v} for k, v in payload["modules"].items()}
    modules["autoencoder_"].popitem()
    torch.save({**payload, "modules": modules}, tmp_path / "damaged.tcm")
    with pytest.raises(ValueError, match="damaged"):
        sklearn_tcm.load(tmp_path / "damaged.tcm")
    with pytest.raises(FileNotFoundError):
        sklearn_tcm.load(tmp_path / "missing.tcm")


def test_unsaveable_parameters(models, tmp_path):
    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    model = DSCLClustering(3, module=torch.nn.Linear(2, 3), max_iter=2,
                           random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="pickle"):
        model.save(tmp_path / "m.tcm")
