"""Learned clustering for scikit-learn.

Cluster new, unlabelled data with what was learned from labelled reference
data: a learned clustering-quality metric with an evolutionary search
(:class:`LearnedMetricClustering`), a clusterer under a learned metric
(:class:`CriticClustering`, by default the metric shipped with the
package), Deep Embedded Clustering (:class:`DECClustering`), Learning to
Cluster (:class:`L2CClustering`) and Deep Spectral Clustering Learning
(:class:`DSCLClustering`), plus clustering metrics and scorers.

The estimators import PyTorch; they are loaded on first access so that
``import sklearn_tcm`` stays fast.
"""

import importlib

__version__ = "0.1.0.dev0"

# public name -> submodule that defines it; resolved lazily (PEP 562)
_LAZY = {
    "DECClustering": "dec",
    "DSCLClustering": "dscl",
    "L2CClustering": "l2c",
    "LearnedMetricClustering": "learned_metric",
    "CriticClustering": "learned_metric",
    "clustering_accuracy": "metrics",
    "misclassification_rate": "metrics",
    "SCORERS": "metrics",
    "critic_scorer": "metrics",
    "WholeDataSplit": "metrics",
    "rank_clusterings": "metrics",
    "pretrained_metric": "learned_metric.pretrained",
    "make_l2c_points": "datasets",
    "make_dscl_toy": "datasets",
    "sample_tasks": "datasets",
    "make_synthetic_tasks": "datasets",
    "load_npz": "datasets",
    "load": "_persistence",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'sklearn_tcm' has no attribute {name!r}")
    module = importlib.import_module(f"sklearn_tcm.{module_name}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
