"""The learned clustering metric (Alami, Kaddah & Read 2023).

Stages, one module each: ``graph`` (clustering -> graph with dimension-free
node features), ``gae`` (graph auto-encoder and pooled graph embedding),
``critic`` (the learned score and its training), ``estimator``
(:class:`LearnedMetricClustering`).
"""

from .estimator import LearnedMetricClustering, with_untrained_critic

__all__ = ["LearnedMetricClustering", "with_untrained_critic"]
