"""The regressor scored beside the critics (``LearnedMetricClustering(regressor=True)``)."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from sklearn_tcm import LearnedMetricClustering, load
from sklearn_tcm._sklearn_compat import hist_gradient_boosting_trees
from sklearn_tcm.learned_metric import stack_metrics, with_untrained_critic, without_regressor
from sklearn_tcm.learned_metric.critic import CriticEnsemble
from sklearn_tcm.learned_metric.regressor import CriticWithRegressor, TreeRegressor

TINY = dict(n_tasks=8, synthetic_tasks=3, size_range=(10, 20), gae_epochs=1, critic_epochs=3,
            adversarial_rounds=1, adversarial_tasks=3)


@pytest.fixture(scope="module")
def data():
    return make_blobs(n_samples=300, centers=5, n_features=3, random_state=0)


@pytest.fixture(scope="module")
def pair(data):
    """The same recipe and seed, with and without the regressor."""
    X, y = data
    return (LearnedMetricClustering(**TINY, regressor=True, random_state=0).fit(X, y),
            LearnedMetricClustering(**TINY, random_state=0).fit(X, y))


@pytest.fixture(scope="module")
def labellings(data):
    X, y = data
    rng = np.random.default_rng(0)
    return np.stack([y, np.zeros_like(y), y % 2, rng.integers(0, 5, y.size)])


def _trees(n_samples=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 6))
    X[rng.random(X.shape) < 0.05] = np.nan  # missing values go where the trees learned
    y = np.nan_to_num(X[:, 0]) ** 2 - np.nan_to_num(X[:, 1]) + rng.normal(0, 0.1, n_samples)
    return X, HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X, y)


def test_tree_regressor_predicts_as_the_fitted_trees():
    X, model = _trees()
    regressor = TreeRegressor.from_trees(*hist_gradient_boosting_trees(model))
    assert regressor.n_trees == model.n_iter_
    np.testing.assert_allclose(regressor.predict(torch.as_tensor(X)).numpy(), model.predict(X),
                               rtol=0, atol=1e-12)


def test_tree_regressor_standardises_and_loads_any_size():
    X, model = _trees()
    regressor = TreeRegressor.from_trees(*hist_gradient_boosting_trees(model))
    features = torch.as_tensor(X, dtype=torch.float32)
    regressor.standardise(features)
    scores = regressor(features)
    assert scores.dtype == torch.float32
    assert abs(float(scores.mean())) < 1e-5 and abs(float(scores.std()) - 1) < 1e-4
    empty = TreeRegressor()  # as a model file is read: the trees' sizes come from the file
    empty.load_state_dict(regressor.state_dict())
    torch.testing.assert_close(empty(features), scores)


def test_only_single_output_trees_convert():
    X = np.random.default_rng(0).normal(size=(90, 2))
    classifier = HistGradientBoostingClassifier(max_iter=3).fit(X, np.arange(90) % 3)
    with pytest.raises(ValueError, match="single-output"):
        hist_gradient_boosting_trees(classifier)


def test_regressor_sits_beside_unchanged_critics(pair, data, labellings):
    with_regressor, plain = pair
    X, _ = data
    assert isinstance(with_regressor.critic_, CriticWithRegressor)
    figures = with_regressor.validation_["regressor"]
    assert set(figures) == {"critic", "critic_and_regressor"}
    assert all(set(f) == {"regret", "mrr"} for f in figures.values())
    # the regressor is fitted after the critics: they are those of the plain fit
    critics = without_regressor(with_regressor)
    assert critics.regressor is False and with_regressor.regressor is True
    np.testing.assert_allclose(critics.score_clustering(X, labellings),
                               plain.score_clustering(X, labellings))
    # the score is the mean of the critics' and the regressor's
    combined = with_regressor.score_clustering(X, labellings)
    assert not np.allclose(combined, plain.score_clustering(X, labellings))
    assert with_regressor.predict(X).shape == (X.shape[0],)


def test_regressor_metric_saves_stacks_and_ablates(pair, data, labellings, tmp_path):
    with_regressor, plain = pair
    X, y = data
    path = tmp_path / "metric.tcm"
    with_regressor.save(path)
    loaded = load(path)
    assert isinstance(loaded.critic_, CriticWithRegressor)
    np.testing.assert_allclose(loaded.score_clustering(X, labellings),
                               with_regressor.score_clustering(X, labellings))

    other = LearnedMetricClustering(**TINY, regressor=True, random_state=1).fit(X, y)
    stack = stack_metrics([with_regressor, other])
    stack.save(tmp_path / "stack.tcm")
    np.testing.assert_allclose(load(tmp_path / "stack.tcm").score_clustering(X, labellings),
                               stack.score_clustering(X, labellings))
    # a stack's critics alone are the mean of its fits' critics alone
    np.testing.assert_allclose(
        without_regressor(stack).score_clustering(X, labellings),
        stack_metrics([without_regressor(with_regressor), without_regressor(other)])
        .score_clustering(X, labellings))
    with pytest.raises(ValueError, match="regressor"):
        stack_metrics([with_regressor, plain])

    ablated = with_untrained_critic(with_regressor, random_state=0)
    assert ablated.regressor is False and isinstance(ablated.critic_, CriticEnsemble)
    ablated.save(tmp_path / "ablated.tcm")
    assert isinstance(load(tmp_path / "ablated.tcm").critic_, CriticEnsemble)
