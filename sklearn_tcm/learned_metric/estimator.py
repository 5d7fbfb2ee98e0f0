"""LearnedMetricClustering: a clustering-quality metric learned from labelled references."""

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClusterMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from .._base import TorchEstimator, densify
from .._sklearn_compat import Interval, StrOptions
from .._torch import (
    check_layer_sizes,
    draw_seed,
    inference_device,
    module_on,
    module_to_cpu,
    seeded_torch,
)
from .adversarial import training_search_options
from .critic import CriticEnsemble
from .ensemble import StackedCritic, StackedGAE
from .gae import GraphAutoEncoder, embed_task
from .graph import NODE_FEATURES, graphs_per_batch
from .regressor import CriticWithRegressor, TreeRegressor
from .tasks import preprocess_task, scoring_groups, uniform_subsets
from .training import _classes_of, train_metric

__all__ = ["LearnedMetricClustering", "with_untrained_critic", "without_regressor"]

def _split_references(X, y, groups):
    """List of (X, y) reference datasets from the accepted input forms."""
    if isinstance(X, list | tuple):
        if not isinstance(y, list | tuple) or len(X) != len(y):
            raise ValueError(
                "When X is a list of reference datasets, y must be a list of their "
                f"labels of the same length; got {type(y).__name__}."
            )
        if groups is not None:
            raise ValueError("groups cannot be combined with lists of references.")
        pairs = [check_X_y(Xr, yr, accept_sparse="csr", ensure_min_samples=4)
                 for Xr, yr in zip(X, y)]
    else:
        X, y = check_X_y(X, y, accept_sparse="csr", ensure_min_samples=4)
        if groups is None:
            pairs = [(X, y)]
        else:
            groups = np.asarray(groups)
            if groups.shape != (X.shape[0],):
                raise ValueError(
                    f"groups must have shape ({X.shape[0]},), got {groups.shape}."
                )
            pairs = [(X[groups == g], y[groups == g]) for g in np.unique(groups)]
    if not pairs:
        raise ValueError("No reference dataset given.")
    pairs = [(densify(Xr), yr) for Xr, yr in pairs]
    for _Xr, yr in pairs:
        check_classification_targets(yr)
        n_classes = np.unique(_classes_of(yr)).size
        if n_classes < 1:
            raise ValueError(
                "Every reference dataset needs at least one class in y (-1 marks noise, "
                "not a class); got one whose points are all noise."
            )
    if all(np.unique(_classes_of(yr)).size < 2 for _, yr in pairs):
        raise ValueError(
            "At least one reference dataset needs 2 classes or more: references of one "
            "class (data without clusters) only teach the critic alongside clustered ones."
        )
    return pairs



_DENSE_HINT = ("the learned metric works on dense points: pass fewer samples or "
               "features (e.g. TruncatedSVD), or subsample.")


def _check_points(X, *, sparse_ok=False):
    """Validated points of a dataset to score or cluster (at least 3 samples).

    Sparse matrices are made dense (after a memory check), unless
    ``sparse_ok`` (then they stay CSR, for callers that subsample rows
    first).
    """
    X = check_array(X, accept_sparse="csr", ensure_min_samples=3)
    return X if sparse_ok else densify(X, _DENSE_HINT)


def _check_labellings(labels, n_samples):
    """Labellings as a 2-D array, one row each; errors speak of the user's shape."""
    labels = np.asarray(labels)
    given = labels.shape
    if labels.ndim not in (1, 2) or labels.shape[-1] != n_samples:
        raise ValueError(
            f"labels must have shape ({n_samples},) (one labelling) or (n_labellings, "
            f"{n_samples}) to match X's {n_samples} samples; got shape {given}."
        )
    if labels.dtype.kind in "iuf":
        if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
            raise ValueError("labels must be finite; got NaN or infinity.")
        bad = labels[(labels < 0) & (labels != -1)]
        if bad.size:
            raise ValueError(
                f"labels must be cluster ids >= 0, or -1 for noise (unassigned points); "
                f"got {bad.flat[0].item()!r}."
            )
    return np.atleast_2d(labels)


def score_labellings(gae, critic, X, labels, *, max_points, n_subsamples, caution, seed,
                     device, points_per_cluster=None):
    """Mean critic score of each labelling over uniform subsamples of ``X``.

    ``X`` (dense or CSR) is scored on subsamples of ``max_points`` rows, or
    more for labellings with many clusters (:func:`.tasks.scoring_groups`):
    larger datasets are scored on ``n_subsamples`` uniform draws of the
    rows, the same for every labelling of one subsample size (drawn from
    ``seed``), each made dense and preprocessed on its own.

    Returns
    -------
    scores : ndarray of shape (n_labellings,)
    """
    gae, critic = module_on(gae, device), module_on(critic, device)
    total = np.zeros(labels.shape[0])
    with torch.no_grad():
        for size, members in scoring_groups(labels, max_points, points_per_cluster).items():
            subsets = uniform_subsets(X.shape[0], size, n_subsamples,
                                      np.random.default_rng(seed))
            batch = graphs_per_batch(size)
            for rows in subsets:
                points = preprocess_task(densify(X[rows], _DENSE_HINT), random_state=seed)
                for start in range(0, members.size, batch):
                    chunk = members[start:start + batch]
                    task = {"X": points, "labels": labels[np.ix_(chunk, rows)]}
                    total[chunk] += critic(embed_task(gae, task, device), caution).cpu().numpy()
            total[members] /= len(subsets)
    return total


class LearnedMetricClustering(ClusterMixin, TorchEstimator):
    """A clustering-quality metric learned on labelled reference data.

    ``fit`` learns a *critic* that scores a whole clustering of a dataset
    (a learned internal validity index, Alami, Kaddah & Read 2023): labelled
    sub-problems are drawn from the references; each truth and its
    competitors (what algorithms produce, perturbed, merged and split
    truths) become graphs with dimension-free node features, which a graph
    auto-encoder embeds; the critic learns to score the truth above its
    competitors. Checkpoints are chosen on tasks of classes held out of
    training (the guide's *What the critic learns from*).

    :meth:`score_clustering` then scores any labelling of any dataset
    (any number of features) without labels; :func:`sklearn_tcm.metrics.critic_scorer`
    turns it into a scorer for model selection on unlabelled data.

    Parameters
    ----------
    objective : {"rank", "ari", "wgan"}, default="rank"
        ``"rank"``: listwise softmax cross-entropy with the truth as target.
        ``"ari"``: listwise cross-entropy to soft targets ``softmax(ARI /
        ari_temperature)`` over the task's candidates, so that the critic
        also orders imperfect partitions; the checkpoint kept has the lowest
        validation regret. ``"wgan"``: the paper's Wasserstein critic. The
        guide's *What the critic learns from* compares them.
    ari_temperature : float, default=0.1
        Temperature of ``objective="ari"``'s soft targets: candidates 0.1
        ARI apart get target weights ``exp(0.1 / ari_temperature)`` times
        apart. Lower puts more of the target on the truth (the critic must
        rank it further above near misses); higher spreads it over the
        imperfect partitions. Ignored by the other objectives.
    critic_inputs : {"graph", "both", "indices"}, default="graph"
        What the critic reads: the pooled graph embedding and the graph
        summary (``"graph"``), that and classical validity indices
        (``"both"``), or the summary and indices only, without the graph
        auto-encoder (``"indices"``, an ablation). See the same section.
    n_tasks : int, default=200
        Training tasks drawn from the references (validation tasks: a
        third as many, from the held-out classes).
    synthetic_tasks : int, default=200
        Tasks of :func:`~sklearn_tcm.datasets.make_synthetic_tasks` added to
        the ``n_tasks`` (a third as many join the validation tasks): numbers
        of clusters and geometries that a few reference classes lack.
    k_range : tuple of two int, default=(2, 10)
        Range of the number of classes per task (capped by the classes
        available).
    size_range : tuple of two int, default=(20, 60)
        Range of the number of points per class in a task; the balance of
        class sizes is drawn per task, uniformly from balanced to fully
        independent sizes.
    validation_fraction : float, default=0.3
        Fraction of each reference's classes held out for validation tasks.
        When fewer than 2 classes would be left on either side, validation
        tasks come from the training classes (and overestimate transfer).
    grid_negatives : int, default=0
        Negatives added to each training task from the grid of k users
        search when k is unknown: a clusterer drawn at random (k-means, Ward,
        average linkage, a Gaussian mixture, spectral clustering) at a k
        from 2 to max(10, 2 k*) away from the true k* (k-means next to k*
        is always among the negatives). See the guide's *Parameters that
        matter*.
    max_points : int, default=300
        Points per graph: larger training tasks are subsampled uniformly.
    n_subsamples : int, default=3
        Uniform subsamples of ``max_points`` points, the same for every
        labelling, whose mean score :meth:`score_clustering` gives for
        larger datasets.
    points_per_cluster : int or None, default=20
        Scoring only: a labelling with ``k`` clusters is scored on
        subsamples of ``max(max_points, points_per_cluster * k)`` points (at
        most 2 000 unless ``max_points`` is more, at most all of them), so
        that many small clusters are not judged from a few points each.
        Labellings with few clusters are scored as with ``max_points``
        alone; the others cost more, growing with the square of the points.
        ``None`` scores every labelling on ``max_points`` points. Training
        does not use it, and it may be changed after fitting.
    gae_epochs : int, default=20
        Epochs of graph auto-encoder training.
    critic_epochs : int, default=150
        Maximum epochs of critic training.
    critic_hidden : tuple of int, default=(64, 64)
        Hidden layers of the critic MLP.
    learning_rate : float, default=3e-3
        Adam learning rate of the critic (the GAE uses 1e-2).
    critic_batch_size : int, default=8
        Training tasks per optimiser step of a critic (their mean loss, in
        one forward pass). The guide compares it with one task per step.
    n_iter_no_change : int, default=30
        Stop critic training after this many epochs without a better
        validation MRR; the best checkpoint is kept.
    n_critics : int, default=3
        Critics in the ensemble: the first trained on all training tasks,
        the others on bootstrap resamples; the score is their mean
        standardised score minus ``caution`` times their spread.
    caution : float, default=0.0
        Weight of the critics' disagreement subtracted from their mean, in
        scoring and in training's searches; it may be changed after fitting
        (the guide's *Parameters that matter*).
    adversarial_rounds : int, default=5
        Most rounds of adversarial training after the warm start: the
        search runs under the current critics on training tasks and its
        finds become new negatives; rounds stop when they stop helping
        (``history_[-1]["stopped"]`` says why). 0 keeps the warm start.
    adversarial_tasks : int, default=80
        Training tasks searched per round; a quarter as many validation
        tasks (at least one) measure the round, and the round whose best
        candidate of CriticClustering's pool has the best NMI (``pool_nmi``)
        is kept.
    regressor : bool, default=False
        Also fit a gradient-boosted regressor (scikit-learn's
        ``HistGradientBoostingRegressor``) of each training candidate's ARI
        with the truth on the embedding the critics read, after the critics
        (MetaIVM's recipe on the learned representation); a partition's
        score is then the mean of the critics' score and the regressor's,
        each standardised over the training candidates. The guide's
        *Parameters that matter* says how it compares with the critics alone.
    compute_labels : bool, default=True
        Whether :meth:`fit` ends by clustering its training ``X`` into
        ``labels_``; False leaves it unset (as in ``MiniBatchKMeans``).
    n_jobs : int or None, default=None
        Parallel jobs (joblib) for building tasks and for the searches of
        the adversarial rounds. Works with any joblib backend,
        e.g. ``joblib.parallel_config(backend="dask")``.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    random_state : int, RandomState instance or None, default=None
        Seed of task sampling, candidates, initialisation and subsampling.
    verbose : int, default=0
        Show progress bars when > 0.

    Attributes
    ----------
    gae_ : torch.nn.Module
        The trained graph auto-encoder (CPU).
    critic_ : torch.nn.Module
        The critic ensemble (CPU) of the kept round, each member at its best
        validation epoch; with ``regressor=True``, that ensemble and the
        regressor
        (:class:`~sklearn_tcm.learned_metric.regressor.CriticWithRegressor`).
    history_ : list of dict
        One record per adversarial round (0 = warm start), in the schema of
        the guide's *Training history* (``validation`` is ``pool_nmi``),
        with the round's validation figures, ``n_new_negatives``,
        ``seconds`` and ``stopped``.
    critic_history_ : list of dict
        One record per critic epoch, over all rounds and members, in the
        same schema (``validation`` is the MRR), with ``round`` and ``member``.
    validation_ : dict
        Validation figures of the kept round, and ``class_disjoint``; with
        ``regressor=True``, ``"regressor"`` gives the validation regret and
        MRR of the critics alone and with the regressor.
    n_references_, n_critics_, n_fits_ : int
        Number of reference datasets, of critics per fit, and of independent
        fits combined (1; more for :func:`~sklearn_tcm.learned_metric.stack_metrics`).
    graph_scalars_, pooled_embedding_ : tuple of str, bool
        The graph scalars and indices the critic reads, and whether it reads
        the pooled node embeddings (see ``critic_inputs``).
    labels_ : ndarray of shape (n_samples,), or list of ndarray
        The metric's own clustering of the training ``X`` (what
        :meth:`predict` returns for it, ``y`` unused); one array per
        reference when ``X`` is a list. Only with ``compute_labels=True``.
    device_ : torch.device
        Device training ran on.

    References
    ----------
    .. [1] A. Alami, Y. Kaddah, J. Read. "Learning a transferable clustering
       metric" (evolutionary agent, graph auto-encoder and Wasserstein
       critic), 2023.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_tcm import LearnedMetricClustering
    >>> X, y = load_digits(return_X_y=True)
    >>> lmc = LearnedMetricClustering(n_tasks=8, synthetic_tasks=4, gae_epochs=1,
    ...                               critic_epochs=2, adversarial_rounds=0,
    ...                               random_state=0).fit(X[y < 8], y[y < 8])
    >>> lmc.score_clustering(X[y >= 8], y[y >= 8]).shape
    ()
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        "objective": [StrOptions({"rank", "ari", "wgan"})],
        "ari_temperature": [Interval(Real, 0, None, closed="neither")],
        "critic_inputs": [StrOptions({"both", "graph", "indices"})],
        "n_tasks": [Interval(Integral, 1, None, closed="left")],
        "synthetic_tasks": [Interval(Integral, 0, None, closed="left")],
        "k_range": [tuple, list],
        "size_range": [tuple, list],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "grid_negatives": [Interval(Integral, 0, None, closed="left")],
        "max_points": [Interval(Integral, 10, None, closed="left")],
        "n_subsamples": [Interval(Integral, 1, None, closed="left")],
        "points_per_cluster": [Interval(Integral, 1, None, closed="left"), None],
        "gae_epochs": [Interval(Integral, 0, None, closed="left")],
        "critic_epochs": [Interval(Integral, 1, None, closed="left")],
        "critic_hidden": ["array-like"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "critic_batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "n_critics": [Interval(Integral, 1, None, closed="left")],
        "caution": [Interval(Real, 0, None, closed="left")],
        "adversarial_rounds": [Interval(Integral, 0, None, closed="left")],
        "adversarial_tasks": [Interval(Integral, 1, None, closed="left")],
        "regressor": ["boolean"],
        "compute_labels": ["boolean"],
        "n_jobs": [Integral, None],
    }
    _requires_y = True

    def __init__(
        self,
        *,
        objective="rank",
        ari_temperature=0.1,
        critic_inputs="graph",
        n_tasks=200,
        synthetic_tasks=200,
        k_range=(2, 10),
        size_range=(20, 60),
        validation_fraction=0.3,
        grid_negatives=0,
        max_points=300,
        n_subsamples=3,
        points_per_cluster=20,
        gae_epochs=20,
        critic_epochs=150,
        critic_hidden=(64, 64),
        learning_rate=3e-3,
        critic_batch_size=8,
        n_iter_no_change=30,
        n_critics=3,
        caution=0.0,
        adversarial_rounds=5,
        adversarial_tasks=80,
        regressor=False,
        compute_labels=True,
        n_jobs=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.objective = objective
        self.ari_temperature = ari_temperature
        self.critic_inputs = critic_inputs
        self.n_tasks = n_tasks
        self.synthetic_tasks = synthetic_tasks
        self.k_range = k_range
        self.size_range = size_range
        self.validation_fraction = validation_fraction
        self.grid_negatives = grid_negatives
        self.max_points = max_points
        self.n_subsamples = n_subsamples
        self.points_per_cluster = points_per_cluster
        self.gae_epochs = gae_epochs
        self.critic_epochs = critic_epochs
        self.critic_hidden = critic_hidden
        self.learning_rate = learning_rate
        self.critic_batch_size = critic_batch_size
        self.n_iter_no_change = n_iter_no_change
        self.n_critics = n_critics
        self.caution = caution
        self.adversarial_rounds = adversarial_rounds
        self.adversarial_tasks = adversarial_tasks
        self.regressor = regressor
        self.compute_labels = compute_labels
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _empty_modules(self):
        gaes = [GraphAutoEncoder(len(NODE_FEATURES), len(self.graph_scalars_),
                                 pooled=self.pooled_embedding_) for _ in range(self.n_fits_)]
        critics = [CriticEnsemble(gae.embedding_size, tuple(self.critic_hidden),
                                  self.n_critics_) for gae in gaes]
        if self.regressor:  # the trees take their sizes from the file
            critics = [CriticWithRegressor(critic, TreeRegressor()) for critic in critics]
        if self.n_fits_ == 1:
            return {"gae_": gaes[0], "critic_": critics[0]}
        gae = StackedGAE(gaes)  # independent fits combined (stack_metrics)
        return {"gae_": gae, "critic_": StackedCritic(critics, gae.sizes)}

    # -------------------------------------------------------------- training
    def fit(self, X, y, groups=None):
        """Learn the critic from labelled reference data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or list
            Reference samples; a list gives several reference datasets, each
            with its own number of features.
        y : array-like of shape (n_samples,), or list of arrays
            Class labels of the references (a list when ``X`` is a list).
            ``-1`` marks noise points: not a class; the tasks drawn from a
            reference keep its share of noise, as noise in their truth. A
            reference of one class is data without cluster structure: its
            tasks teach the critic that every split of it is worse than one
            cluster.
        groups : array-like of shape (n_samples,), default=None
            Reference dataset of each sample, for several references sharing
            one feature space. Classes are taken within each group.

        Returns
        -------
        self : LearnedMetricClustering
            The fitted estimator.
        """
        return super().fit(X, y, groups=groups)

    def _validate_fit_input(self, X, y, groups=None):
        """``(X, references)``: the list of ``(X, y)`` reference datasets."""
        return X, _split_references(X, y, groups)

    def _check_params(self, X, pairs, groups=None):
        check_layer_sizes(self.critic_hidden, "critic_hidden")
        return {}

    def _fit(self, X, pairs, *, device, seed, groups=None):
        trained = train_metric(
            pairs, validation_fraction=self.validation_fraction, n_tasks=self.n_tasks,
            synthetic_tasks=self.synthetic_tasks, k_range=self.k_range,
            size_range=self.size_range, max_points=self.max_points,
            grid_negatives=self.grid_negatives, critic_inputs=self.critic_inputs,
            gae_epochs=self.gae_epochs,
            critic_hidden=self.critic_hidden, n_critics=self.n_critics,
            critic_options=dict(objective=self.objective, temperature=self.ari_temperature,
                                n_epochs=self.critic_epochs,
                                n_iter_no_change=self.n_iter_no_change,
                                learning_rate=self.learning_rate,
                                batch_size=self.critic_batch_size, verbose=self.verbose),
            search_options=training_search_options(self, self.k_range[1]),
            adversarial_rounds=self.adversarial_rounds, adversarial_tasks=self.adversarial_tasks,
            device=device, seed=seed, regressor=self.regressor, n_jobs=self.n_jobs,
            verbose=self.verbose)
        self.gae_ = trained.gae
        self.critic_ = trained.critic
        self.history_ = trained.history
        self.critic_history_ = trained.critic_history
        self.validation_ = trained.validation
        self.graph_scalars_ = trained.graph_scalars
        self.pooled_embedding_ = trained.pooled_embedding
        self.n_references_ = len(pairs)
        self.n_critics_ = self.n_critics
        self.n_fits_ = 1
        self._seed = trained.seed
        if self.compute_labels:
            self.labels_ = _training_labels(self, X, pairs)

    # --------------------------------------------------------------- scoring
    def score_clustering(self, X, labels):
        """Critic score of one or several labellings of ``X`` (higher is better).

        Needs no ground truth. Scores are invariant to renaming clusters,
        to the other labellings of a batch, to the order of the points (up
        to ``max_points`` points) and to scaling, rotating and translating
        ``X``. A score has no fixed range: **only differences between
        labellings of the same** ``X`` **compare** (the guide's *Reading a
        score*).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The dataset (any number of features). A sparse matrix is made
            dense one scoring subsample (``max_points`` rows) at a time.
        labels : array-like of shape (n_samples,) or (n_labellings, n_samples)
            One labelling, or several to score in one batch. The label
            ``-1`` (the noise of DBSCAN, HDBSCAN and OPTICS) marks
            unassigned points: noise is not a cluster, and the share of
            noise is part of what is scored. Other negative labels are
            refused.

        Returns
        -------
        score : float or ndarray of shape (n_labellings,)

        Examples
        --------
        Three labellings of three blobs: the truth, k-means with 6 clusters
        and everything in one cluster. Only their order is meaningful.

        >>> import numpy as np
        >>> from sklearn.cluster import KMeans
        >>> from sklearn.datasets import make_blobs
        >>> from sklearn_tcm import pretrained_metric
        >>> X, y = make_blobs(300, centers=3, cluster_std=0.6, random_state=0)
        >>> six = KMeans(6, n_init=5, random_state=0).fit_predict(X)
        >>> scores = pretrained_metric().score_clustering(X, np.stack([y, six, 0 * y]))
        >>> [int(i) for i in np.argsort(-scores)]  # best first: truth, k = 6, one cluster
        [0, 1, 2]
        """
        check_is_fitted(self)
        X = _check_points(X, sparse_ok=True)
        single = np.ndim(labels) == 1
        scores = score_labellings(
            self.gae_, self.critic_, X, _check_labellings(labels, X.shape[0]),
            max_points=self.max_points, n_subsamples=self.n_subsamples, caution=self.caution,
            seed=self._seed, device=inference_device(self.device_),
            points_per_cluster=self.points_per_cluster)
        return np.float64(scores[0]) if single else scores

    # ------------------------------------------------------------ clustering
    def predict(self, X, return_score=False):
        """Cluster a new dataset under the learned metric, the number of clusters unknown.

        The same as ``CriticClustering(metric=self).fit(X).labels_``, with
        the metric's seed: :class:`~sklearn_tcm.CriticClustering` holds the
        settings of the clustering (a fixed or largest number of clusters,
        the outlier rule, the one-cluster answer). The fitted state is not
        changed.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The dataset to cluster (any number of features).
        return_score : bool, default=False
            Also return the critic score of the returned labels: exactly
            ``score_clustering(X, labels)``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster labels ``0 .. k-1``, -1 for noise (see
            :class:`~sklearn_tcm.CriticClustering`).
        score : float
            Only when ``return_score=True``.
        """
        from .critic_clustering import CriticClustering

        check_is_fitted(self)
        clusterer = CriticClustering(self, random_state=self._seed).fit(X)
        if not return_score:
            return clusterer.labels_
        return clusterer.labels_, clusterer.score_

    def fit_predict(self, X, y, groups=None):
        """Learn the critic on ``(X, y)``, then cluster ``X`` without its labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        groups : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        self.fit(X, y, groups=groups)
        if self.compute_labels:
            return self.labels_
        return _training_labels(self, X, _split_references(X, y, groups))


def _training_labels(metric, X, pairs):
    """The metric's clustering of its training ``X`` (one array per reference)."""
    if isinstance(X, list | tuple):
        return [metric.predict(Xr) for Xr, _ in pairs]
    return metric.predict(pairs[0][0] if len(pairs) == 1 else check_array(X))


def with_untrained_critic(metric, random_state=None):
    """A copy of a fitted metric whose critic is freshly initialised: the ablation.

    The copy keeps everything of ``metric`` (its graph auto-encoder, its
    feature scaling, ``max_points``, ``caution``) except the critics' weights, which
    are drawn anew as before any training (as many critics as ``metric``
    has), and ``labels_``. Running the same search under it
    shows what the *learned* score contributes; the fitted ``metric`` is not
    changed.

    Parameters
    ----------
    metric : LearnedMetricClustering
        A fitted learned metric.
    random_state : int, RandomState instance or None, default=None
        Seed of the critic's initial weights.

    Returns
    -------
    ablated : LearnedMetricClustering
        A fitted estimator with an untrained critic.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_tcm import LearnedMetricClustering
    >>> from sklearn_tcm.learned_metric import with_untrained_critic
    >>> X, y = make_blobs(200, centers=4, random_state=0)
    >>> lmc = LearnedMetricClustering(n_tasks=4, synthetic_tasks=2, gae_epochs=1,
    ...                               critic_epochs=2, adversarial_rounds=0,
    ...                               random_state=0).fit(X, y)
    >>> ablated = with_untrained_critic(lmc, random_state=0)
    >>> ablated.predict(X).shape
    (200,)
    """
    check_is_fitted(metric, "critic_")
    ablated = copy.deepcopy(metric)
    sizes = getattr(metric.gae_, "sizes", [metric.gae_.embedding_size])
    with seeded_torch(draw_seed(random_state)):
        critics = [CriticEnsemble(size, tuple(metric.critic_hidden), metric.n_critics_)
                   for size in sizes]
    critic = critics[0] if len(critics) == 1 else StackedCritic(critics, sizes)
    ablated.critic_ = module_to_cpu(critic.eval())
    ablated.regressor = False  # nothing of the trained metric is left in the ablation
    # the trained metric's clustering of its references is not the ablation's
    vars(ablated).pop("labels_", None)
    return ablated


def without_regressor(metric):
    """A copy of a fitted metric that scores with its critics alone.

    The ablation of ``regressor=True``: the same graph auto-encoder and
    critics, without the tree regressor beside them.

    Parameters
    ----------
    metric : LearnedMetricClustering
        A fitted learned metric (with or without a regressor; a stack of
        fits too).

    Returns
    -------
    critics_only : LearnedMetricClustering
        A fitted estimator with ``regressor=False``.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_tcm import LearnedMetricClustering
    >>> from sklearn_tcm.learned_metric import without_regressor
    >>> X, y = make_blobs(200, centers=4, random_state=0)
    >>> lmc = LearnedMetricClustering(n_tasks=4, synthetic_tasks=2, gae_epochs=1,
    ...                               critic_epochs=2, adversarial_rounds=0,
    ...                               regressor=True, random_state=0).fit(X, y)
    >>> without_regressor(lmc).regressor
    False
    """
    check_is_fitted(metric, "critic_")
    plain = copy.deepcopy(metric)

    def critics(module):
        return module.critic if isinstance(module, CriticWithRegressor) else module

    if isinstance(plain.critic_, StackedCritic):
        plain.critic_.members = torch.nn.ModuleList(map(critics, plain.critic_.members))
    else:
        plain.critic_ = critics(plain.critic_)
    plain.regressor = False
    return plain
