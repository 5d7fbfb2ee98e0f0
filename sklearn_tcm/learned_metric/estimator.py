"""LearnedMetricClustering: a clustering-quality metric learned from labelled references."""

import copy
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from .._base import atomic_fit
from .._persistence import PersistenceMixin
from .._torch import (
    check_dense_size,
    check_layer_sizes,
    draw_seed,
    inference_device,
    module_to_cpu,
    resolve_device,
    seeded_torch,
)
from .adversarial import run_rounds, training_search_options
from .critic import CriticEnsemble, candidate_agreement, train_ensemble
from .gae import GraphAutoEncoder, embed_task, train_gae
from .graph import GLOBAL_FEATURES, GRAPH_SUMMARY, NODE_FEATURES
from .tasks import draw_tasks, preprocess_task, split_classes, uniform_subsets

__all__ = ["LearnedMetricClustering", "with_untrained_critic"]

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
        pairs = [check_X_y(Xr, yr, ensure_min_samples=4) for Xr, yr in zip(X, y)]
    else:
        X, y = check_X_y(X, y, ensure_min_samples=4)
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
    for _Xr, yr in pairs:
        check_classification_targets(yr)
        n_classes = np.unique(_classes_of(yr)).size
        if n_classes < 2:
            raise ValueError(
                "Every reference dataset needs at least 2 classes in y (-1 marks noise, "
                f"not a class); got one with {n_classes}."
            )
    return pairs


def _classes_of(y):
    """The class labels of a reference, without the noise label -1."""
    return y[y >= 0] if y.dtype.kind in "iuf" else y


_DENSE_HINT = ("the learned metric works on dense points: pass fewer samples or "
               "features (e.g. TruncatedSVD), or subsample.")


def _check_points(X, *, sparse_ok=False):
    """Validated points of a dataset to score or cluster (at least 3 samples).

    Sparse matrices are made dense, after a check that the dense array fits
    in memory, unless ``sparse_ok`` (then they stay CSR, for callers that
    subsample rows first).
    """
    X = check_array(X, accept_sparse="csr", ensure_min_samples=3)
    if sp.issparse(X) and not sparse_ok:
        check_dense_size(X.shape[0] * X.shape[1] * 8,
                         f"a dense copy of the sparse {X.shape[0]} x {X.shape[1]} input",
                         _DENSE_HINT)
        X = X.toarray()
    return X


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


class LearnedMetricClustering(PersistenceMixin, ClusterMixin, BaseEstimator):
    """A clustering-quality metric learned on labelled reference data.

    ``fit`` learns a *critic* that scores a whole clustering of a dataset
    (a learned internal validity index, Alami, Kaddah & Read 2023): many
    labelled sub-problems are drawn from the references; each true
    clustering and its competitors (k-means with other k, linkage methods,
    a Gaussian mixture, spectral clustering, k-means refined from the truth,
    perturbed, merged and split versions of the truth, random labels)
    become graphs with dimension-free node features; a graph auto-encoder
    embeds them; and the critic is trained so the truth scores above its
    competitors. Checkpoints are selected on validation tasks drawn from
    classes held out of training (class-disjoint), which is what measures
    transfer to data never seen.

    :meth:`score_clustering` then scores any labelling of any dataset
    (any number of features) without labels; :func:`sklearn_tcm.metrics.critic_scorer`
    turns it into a scorer for model selection on unlabelled data.

    Parameters
    ----------
    objective : {"rank", "ari", "wgan"}, default="rank"
        ``"rank"``: per-task listwise softmax cross-entropy with the truth
        as target. ``"ari"``: listwise cross-entropy to soft targets
        ``softmax(ARI / 0.1)`` over the task's candidates (each one's ARI
        with the truth, the truth 1), so that the critic also orders the
        imperfect partitions as their agreement with the truth does; the
        checkpoint kept has the lowest validation selection regret. How the
        two compare on data never seen is in the user guide (*What the
        critic learns from*, rendered from *bench_objective*).
        ``"wgan"``: the paper's Wasserstein critic with gradient
        penalty, negatives weighted by ``1 - ARI(negative, truth)``.
    critic_inputs : {"graph", "both", "indices"}, default="graph"
        What the critic reads. ``"graph"``: the pooled graph embedding (node
        embeddings of the graph auto-encoder, and the graph summary: log k,
        size entropy, singleton share, mean silhouette, noise share).
        ``"both"``: that and classical validity indices of the partition
        (log Calinski-Harabasz, log Davies-Bouldin, log Dunn,
        nearest-neighbour separation, a DBCV-like density validity).
        ``"indices"``: the graph summary and the indices only, no graph
        auto-encoder (an ablation). Their selection regrets on data never
        seen are in the user guide (*What the critic learns from*).
    n_tasks : int, default=200
        Training tasks drawn from the references (validation tasks: a
        third as many, from the held-out classes).
    synthetic_tasks : int, default=200
        Training tasks generated by
        :func:`~sklearn_tcm.datasets.make_synthetic_tasks` (Gaussian mixtures
        of random dimension, shape, balance and overlap, and 2-D shape sets)
        in addition to the ``n_tasks`` drawn from the references. They show
        the critic numbers of clusters and geometries that a few reference
        classes cannot: without them the critic learns the references' k
        range and prefers fewer clusters on data with more classes. A third
        as many fresh synthetic tasks join the validation tasks (after the
        class-disjoint reference tasks, which the validation searches use
        first). 0 uses the references only.
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
    max_points : int, default=300
        Points per graph: larger training tasks and scoring subsets are
        subsampled uniformly at random; a partition of a larger dataset is
        scored as the mean over ``n_subsamples`` subsamples.
    n_subsamples : int, default=3
        Subsamples averaged by :meth:`score_clustering` for datasets larger
        than ``max_points``: uniform draws of the points, the same for every
        labelling (scores are then exactly invariant to renaming clusters
        and to the other labellings of a batch).
    gae_epochs : int, default=20
        Epochs of graph auto-encoder training.
    critic_epochs : int, default=150
        Maximum epochs of critic training.
    critic_hidden : tuple of int, default=(64, 64)
        Hidden layers of the critic MLP.
    learning_rate : float, default=3e-3
        Adam learning rate of the critic (the GAE uses 1e-2).
    critic_batch_size : int, default=8
        Training tasks per optimiser step of a critic: the mean loss of that
        many tasks, scored in one forward pass (fewer, cheaper steps than one
        task per step). 1 with ``learning_rate=1e-3`` is the training of
        metrics fitted before this default changed (see the changelog), the
        shipped metric's included (one task's loss per step). The guide
        compares the two (*bench_critic_batch*).
    patience : int, default=30
        Stop critic training after this many epochs without a better
        validation MRR; the best checkpoint is kept.
    n_critics : int, default=3
        Critics in the ensemble: the first trained on all training tasks,
        the others on bootstrap resamples of them, each standardised on its
        training candidates. The score is their mean minus ``caution``
        times their spread.
    caution : float, default=0.0
        Weight of the critics' disagreement (standard deviation of their
        standardised scores) subtracted from their mean score, in
        :meth:`score_clustering` (and so in the clustering of
        :meth:`predict`) and in training's searches: where the critics
        disagree, a conservative score (``caution > 0``) does not follow.
        The default is their mean (the user guide, *Parameters that
        matter*, says what was measured). No effect with one critic. It may
        be changed after fitting.
    adversarial_rounds : int, default=5
        Most rounds of adversarial training after the warm start: the
        evolutionary search runs under the current critics on
        ``adversarial_tasks`` training tasks, every distinct elite of its
        final population (ARI < 0.9 to the truth and to the task's other
        candidates) becomes a new negative of its task, and the critics are
        trained on. Rounds stop earlier, after two rounds without a new
        lowest validation beats-truth rate, when no search beats the truth,
        or when the searches find nothing new (``history_[-1]["stopped"]``
        says which). 0 keeps the warm-started critics.
    adversarial_tasks : int, default=80
        Training tasks searched per adversarial round.
    validation_searches : int, default=20
        Validation tasks on which the search is run after each round to
        measure it (NMI, k error, rate of labellings scored above the
        truth); the round whose selection among the micro-cluster pool
        (``search_nmi``) has the best NMI is kept.
    compute_labels : bool, default=True
        Whether :meth:`fit` ends by clustering its training ``X`` into
        ``labels_`` (one :meth:`predict` per reference dataset; with
        hundreds of references this takes longer than the training). False leaves
        ``labels_`` unset, as ``MiniBatchKMeans(compute_labels=False)``
        does; :meth:`fit_predict` computes them all the same.
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
        validation epoch.
    history_ : list of dict
        Per round (0 = warm start, then each adversarial round) on the
        validation tasks: ``best``, ``top3``, ``mrr`` (share of tasks where
        the truth ranks first / in the top three among its candidates, mean
        reciprocal rank, under the ensemble's score); for the
        evolutionary search ``evolve_nmi``, ``evolve_k_error`` and
        ``beats_truth_rate`` (share of searches whose result scores above
        the truth); ``search_nmi``, ``search_k_error`` and
        ``search_beats_truth_rate`` for the selection among the
        micro-cluster pool;
        ``n_new_negatives``, ``seconds``, and on the last round
        ``stopped`` (why the rounds ended).
    critic_history_ : list of dict
        Per critic epoch, over all rounds and members: ``round``,
        ``member``, ``epoch``, ``loss``, ``skipped`` and the validation
        ``best``, ``top3``, ``mrr``, ``log_p_truth`` (mean log softmax
        probability of the truth among its candidates, the tie-break of
        checkpoint selection).
    validation_ : dict
        Validation figures of the kept round (as in ``history_``), and
        ``class_disjoint`` (whether validation classes were held out).
    n_references_ : int
        Number of reference datasets.
    n_critics_ : int
        Critics in ``critic_``.
    graph_scalars_ : tuple of str
        The graph scalars and indices the critic reads (see ``critic_inputs``).
    pooled_embedding_ : bool
        Whether the critic reads the pooled node embeddings.
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
        "objective": [StrOptions({"rank", "ari", "wgan"})],
        "critic_inputs": [StrOptions({"both", "graph", "indices"})],
        "n_tasks": [Interval(Integral, 1, None, closed="left")],
        "synthetic_tasks": [Interval(Integral, 0, None, closed="left")],
        "k_range": [tuple, list],
        "size_range": [tuple, list],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "max_points": [Interval(Integral, 10, None, closed="left")],
        "n_subsamples": [Interval(Integral, 1, None, closed="left")],
        "gae_epochs": [Interval(Integral, 0, None, closed="left")],
        "critic_epochs": [Interval(Integral, 1, None, closed="left")],
        "critic_hidden": ["array-like"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "critic_batch_size": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "n_critics": [Interval(Integral, 1, None, closed="left")],
        "caution": [Interval(Real, 0, None, closed="left")],
        "adversarial_rounds": [Interval(Integral, 0, None, closed="left")],
        "adversarial_tasks": [Interval(Integral, 1, None, closed="left")],
        "validation_searches": [Interval(Integral, 1, None, closed="left")],
        "compute_labels": ["boolean"],
        "n_jobs": [Integral, None],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        objective="rank",
        critic_inputs="graph",
        n_tasks=200,
        synthetic_tasks=200,
        k_range=(2, 10),
        size_range=(20, 60),
        validation_fraction=0.3,
        max_points=300,
        n_subsamples=3,
        gae_epochs=20,
        critic_epochs=150,
        critic_hidden=(64, 64),
        learning_rate=3e-3,
        critic_batch_size=8,
        patience=30,
        n_critics=3,
        caution=0.0,
        adversarial_rounds=5,
        adversarial_tasks=80,
        validation_searches=20,
        compute_labels=True,
        n_jobs=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.objective = objective
        self.critic_inputs = critic_inputs
        self.n_tasks = n_tasks
        self.synthetic_tasks = synthetic_tasks
        self.k_range = k_range
        self.size_range = size_range
        self.validation_fraction = validation_fraction
        self.max_points = max_points
        self.n_subsamples = n_subsamples
        self.gae_epochs = gae_epochs
        self.critic_epochs = critic_epochs
        self.critic_hidden = critic_hidden
        self.learning_rate = learning_rate
        self.critic_batch_size = critic_batch_size
        self.patience = patience
        self.n_critics = n_critics
        self.caution = caution
        self.adversarial_rounds = adversarial_rounds
        self.adversarial_tasks = adversarial_tasks
        self.validation_searches = validation_searches
        self.compute_labels = compute_labels
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def _empty_modules(self):
        # metrics fitted before the classical indices hold the graph summary only
        gae = GraphAutoEncoder(len(NODE_FEATURES),
                               len(getattr(self, "graph_scalars_", GRAPH_SUMMARY)),
                               pooled=getattr(self, "pooled_embedding_", True))
        # model files written before critic ensembles hold one critic
        n_critics = getattr(self, "n_critics_", 1)
        return {"gae_": gae, "critic_": CriticEnsemble(gae.embedding_size,
                                                       tuple(self.critic_hidden), n_critics)}

    # -------------------------------------------------------------- training
    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None):
        """Learn the critic from labelled reference data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or list of arrays
            Reference samples; a list gives several reference datasets, each
            with its own number of features.
        y : array-like of shape (n_samples,), or list of arrays
            Class labels of the references (a list when ``X`` is a list).
            ``-1`` marks noise points: not a class; the tasks drawn from a
            reference keep its share of noise, as noise in their truth.
        groups : array-like of shape (n_samples,), default=None
            Reference dataset of each sample, for several references sharing
            one feature space. Classes are taken within each group.

        Returns
        -------
        self : LearnedMetricClustering
            The fitted estimator.
        """
        check_layer_sizes(self.critic_hidden, "critic_hidden")
        pairs = _split_references(X, y, groups)
        rng = np.random.default_rng(draw_seed(self.random_state))
        # classes held out for validation tasks: at least 2 on each side
        references = [(Xr, yr, *split_classes(_classes_of(yr), self.validation_fraction,
                                               rng, n_min=2))
                      for Xr, yr in pairs]
        device = resolve_device(self.device)
        seed = int(rng.integers(2**31 - 1))
        tasks, class_disjoint = draw_tasks(
            references, self.n_tasks, self.synthetic_tasks, k_range=self.k_range,
            size_range=self.size_range, max_points=self.max_points, rng=rng,
            n_jobs=self.n_jobs, verbose=self.verbose)
        with seeded_torch(seed, device):
            graph_scalars = GRAPH_SUMMARY if self.critic_inputs == "graph" else GLOBAL_FEATURES
            pooled = self.critic_inputs != "indices"
            gae, _, train_embeddings = train_gae(
                tasks["train"], device, n_epochs=self.gae_epochs if pooled else 0, seed=seed,
                verbose=self.verbose, n_graph_scalars=len(graph_scalars), pooled=pooled)
            embeddings = {split: train_embeddings if split == "train"
                          else [embed_task(gae, task, device) for task in items]
                          for split, items in tasks.items()}
            critic = CriticEnsemble(gae.embedding_size, tuple(self.critic_hidden),
                                    self.n_critics).to(device)

            history, critic_history, kept = run_rounds(
                gae, critic, tasks, embeddings,
                self._critic_trainer(tasks, embeddings, device, seed),
                options=training_search_options(self, self.k_range[1]),
                max_rounds=self.adversarial_rounds, n_search_tasks=self.adversarial_tasks,
                n_validation_searches=min(self.validation_searches,
                                          len(tasks["validation"])),
                device=device, rng=rng, n_jobs=self.n_jobs, verbose=self.verbose)
        self.gae_ = module_to_cpu(gae)
        self.critic_ = module_to_cpu(critic.eval())
        self.history_ = history
        self.critic_history_ = critic_history
        self.validation_ = {**kept, "class_disjoint": class_disjoint}
        self.graph_scalars_ = graph_scalars
        self.pooled_embedding_ = pooled
        self.n_references_ = len(pairs)
        self.n_critics_ = self.n_critics
        self.device_ = device
        self._seed = seed
        if self.compute_labels:
            self.labels_ = self._training_labels(X, pairs)
        return self

    def _critic_trainer(self, tasks, embeddings, device, seed):
        """``train(critic, round_index)``: one training of the critics, as each round runs it."""
        def as_tensors(arrays):
            return [torch.as_tensor(a, dtype=torch.float32, device=device) for a in arrays]

        def train(critic, round_index):
            # recomputed every round: the adversarial rounds add negatives
            weights = as_tensors(t["weights"][1:] for t in tasks["train"])
            return train_ensemble(
                critic, embeddings["train"], embeddings["validation"],
                objective=self.objective, weights=weights,
                agreements=as_tensors(map(candidate_agreement, tasks["train"])),
                validation_agreements=[candidate_agreement(t) for t in tasks["validation"]],
                n_epochs=self.critic_epochs, patience=self.patience,
                learning_rate=self.learning_rate, batch_size=self.critic_batch_size,
                seed=seed + round_index,
                verbose=self.verbose)

        return train

    def _training_labels(self, X, pairs):
        """The metric's clustering of its training ``X`` (one array per reference)."""
        if isinstance(X, list | tuple):
            return [self.predict(Xr) for Xr, _ in pairs]
        return self.predict(pairs[0][0] if len(pairs) == 1 else check_array(X))

    # --------------------------------------------------------------- scoring
    def score_clustering(self, X, labels):
        """Critic score of one or several labellings of ``X`` (higher is better).

        Needs no ground truth: the score is the learned quality of the
        partition. Scores are invariant to renaming clusters, to the other
        labellings scored in the same batch, to the order of the points (for
        datasets of at most ``max_points`` points), and to scaling, rotating
        and translating ``X``. Larger datasets are scored on
        ``n_subsamples`` uniform subsamples, the same for every labelling.

        **How to read a score.** It is the critics' output for the
        partition's graph embedding: a real number with no fixed range and
        no absolute meaning. Each critic's output is standardised over the
        candidate partitions it was trained on (their mean is 0, their
        spread 1; a metric saved before critic ensembles has raw outputs),
        and the ensemble's score is the mean over critics (minus
        ``caution`` times their spread). **Only differences between
        labellings of the same** ``X`` **compare**: the higher one is the
        partition the metric prefers, and a larger gap is a more confident
        preference. Scores of different datasets (or of one dataset after a
        different preprocessing) are not comparable.

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

        Raises
        ------
        ValueError
            If the labels do not match ``X``'s samples, or hold a negative
            label other than -1.

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
        labels = _check_labellings(labels, X.shape[0])
        subsets = uniform_subsets(X.shape[0], self.max_points, self.n_subsamples,
                                  np.random.default_rng(self._seed))
        device = inference_device(self.device_)
        gae = copy.deepcopy(self.gae_).to(device)
        critic = copy.deepcopy(self.critic_).to(device)
        total = np.zeros(labels.shape[0])
        with torch.no_grad():
            for rows in subsets:
                X_sub = X[rows].toarray() if sp.issparse(X) else X[rows]
                task = {"X": preprocess_task(X_sub, random_state=self._seed),
                        "labels": labels[:, rows]}
                total += critic(embed_task(gae, task, device), self.caution).cpu().numpy()
        scores = total / len(subsets)
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

        How well the learned metric recovers its own reference; to cluster
        other data, call :meth:`fit` then :meth:`predict`.

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
        return self._training_labels(X, _split_references(X, y, groups))


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
    with seeded_torch(draw_seed(random_state)):
        critic = CriticEnsemble(metric.gae_.embedding_size, tuple(metric.critic_hidden),
                                metric.critic_.n_members)
    ablated.critic_ = module_to_cpu(critic.eval())
    # the trained metric's clustering of its references is not the ablation's
    vars(ablated).pop("labels_", None)
    return ablated
