"""LearnedMetricClustering: a clustering-quality metric learned from labelled references."""

import copy
from numbers import Integral, Real

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.metrics import adjusted_rand_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y
from tqdm.auto import tqdm

from .._torch import (
    check_layer_sizes,
    draw_seed,
    inference_device,
    make_generator,
    module_to_cpu,
    resolve_device,
    seeded_torch,
)
from ..datasets import sample_tasks
from .critic import (
    Critic,
    deduplicate,
    preprocess_task,
    rank_loss,
    ranking_metrics,
    seed_negatives,
    wgan_loss,
)
from .gae import GraphAutoEncoder
from .graph import GLOBAL_FEATURES, NODE_FEATURES, build_context, clustering_graphs

__all__ = ["LearnedMetricClustering"]


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
        if np.unique(yr).size < 2:
            raise ValueError(
                "Every reference dataset needs at least 2 classes in y; got one with "
                f"{np.unique(yr).size}."
            )
    return pairs


def _split_classes(y, validation_fraction, rng):
    """Class-disjoint train / validation split of one reference's classes."""
    classes = rng.permutation(np.unique(y))
    n_val = int(round(validation_fraction * classes.size))
    if classes.size - n_val < 2 or n_val < 2:
        return classes, None
    return classes[n_val:], classes[:n_val]


def _subsample(X, labels, max_points, rng):
    """At most max_points rows (uniformly at random), with their labels."""
    if X.shape[0] <= max_points:
        return X, labels
    keep = np.sort(rng.choice(X.shape[0], size=max_points, replace=False))
    return X[keep], labels[..., keep]


def _make_task(X, truth, max_points, seed):
    """Preprocessed points and [truth, negatives...] candidates of one task."""
    rng = np.random.default_rng(seed)
    X, truth = _subsample(X, truth, max_points, rng)
    X = preprocess_task(X, random_state=seed)
    negatives = deduplicate(truth, seed_negatives(X, truth, random_state=seed))
    labels = np.stack([truth] + [labels for _, labels in negatives])
    families = ["truth"] + [family for family, _ in negatives]
    weights = np.array([1.0] + [1.0 - adjusted_rand_score(truth, lab) for _, lab in negatives])
    return {"X": X, "labels": labels, "families": families, "weights": weights}


class LearnedMetricClustering(ClusterMixin, BaseEstimator):
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
    objective : {"rank", "wgan"}, default="rank"
        ``"rank"``: per-task listwise softmax cross-entropy with the truth
        as target. ``"wgan"``: the paper's Wasserstein critic with gradient
        penalty, negatives weighted by ``1 - ARI(negative, truth)``.
    n_tasks : int, default=200
        Training tasks drawn from the references (validation tasks: a
        third as many, from the held-out classes).
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
        Points per graph: larger tasks and datasets are subsampled
        uniformly at random (scores of a dataset larger than this average
        ``n_subsamples`` subsamples).
    n_subsamples : int, default=3
        Subsamples averaged by :meth:`score_clustering` for datasets larger
        than ``max_points``.
    gae_epochs : int, default=20
        Epochs of graph auto-encoder training.
    critic_epochs : int, default=150
        Maximum epochs of critic training.
    critic_hidden : tuple of int, default=(64, 64)
        Hidden layers of the critic MLP.
    learning_rate : float, default=1e-3
        Adam learning rate of the critic (the GAE uses 1e-2).
    patience : int, default=30
        Stop critic training after this many epochs without a better
        validation MRR; the best checkpoint is kept.
    n_jobs : int or None, default=None
        Parallel jobs (joblib) for building the tasks' candidates.
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
        The critic (CPU), best validation checkpoint.
    history_ : list of dict
        Per critic epoch: ``epoch``, ``loss``, and validation ``best``,
        ``top3``, ``mrr`` (share of validation tasks where the truth ranks
        first, in the top three, and the mean reciprocal rank) and
        ``log_p_truth`` (mean log softmax probability of the truth among its
        candidates, the tie-break of checkpoint selection).
    validation_ : dict
        ``best``, ``top3``, ``mrr`` of the kept checkpoint, and
        ``class_disjoint`` (whether validation classes were held out).
    n_references_ : int
        Number of reference datasets.
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
    >>> lmc = LearnedMetricClustering(n_tasks=8, gae_epochs=1, critic_epochs=2,
    ...                               random_state=0).fit(X[y < 8], y[y < 8])
    >>> lmc.score_clustering(X[y >= 8], y[y >= 8]).shape
    ()
    """

    _parameter_constraints = {
        "objective": [StrOptions({"rank", "wgan"})],
        "n_tasks": [Interval(Integral, 1, None, closed="left")],
        "k_range": [tuple, list],
        "size_range": [tuple, list],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "max_points": [Interval(Integral, 10, None, closed="left")],
        "n_subsamples": [Interval(Integral, 1, None, closed="left")],
        "gae_epochs": [Interval(Integral, 0, None, closed="left")],
        "critic_epochs": [Interval(Integral, 1, None, closed="left")],
        "critic_hidden": ["array-like"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        objective="rank",
        n_tasks=200,
        k_range=(2, 10),
        size_range=(20, 60),
        validation_fraction=0.3,
        max_points=300,
        n_subsamples=3,
        gae_epochs=20,
        critic_epochs=150,
        critic_hidden=(64, 64),
        learning_rate=1e-3,
        patience=30,
        n_jobs=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.objective = objective
        self.n_tasks = n_tasks
        self.k_range = k_range
        self.size_range = size_range
        self.validation_fraction = validation_fraction
        self.max_points = max_points
        self.n_subsamples = n_subsamples
        self.gae_epochs = gae_epochs
        self.critic_epochs = critic_epochs
        self.critic_hidden = critic_hidden
        self.learning_rate = learning_rate
        self.patience = patience
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    # ------------------------------------------------------------------ tasks
    def _draw_tasks(self, references, rng):
        """Class-disjoint training and validation tasks from the references."""
        specs = {"train": [], "validation": []}
        class_disjoint = True
        n_val = max(1, self.n_tasks // 3)
        for split, n_total in (("train", self.n_tasks), ("validation", n_val)):
            for i in range(n_total):
                Xr, yr, train_classes, val_classes = references[i % len(references)]
                if split == "validation" and val_classes is None:
                    class_disjoint = False
                classes = train_classes if split == "train" or val_classes is None \
                    else val_classes
                mask = np.isin(yr, classes)
                k_high = min(self.k_range[1], classes.size)
                k_low = min(self.k_range[0], k_high)
                task = next(sample_tasks(
                    Xr[mask], yr[mask], 1, k_range=(k_low, k_high),
                    size_range=self.size_range, imbalance=float(rng.uniform()),
                    random_state=int(rng.integers(2**31 - 1)),
                ))
                specs[split].append((task.X, task.y, int(rng.integers(2**31 - 1))))
        tasks = {}
        for split, items in specs.items():
            tasks[split] = Parallel(n_jobs=self.n_jobs)(
                delayed(_make_task)(X, y, self.max_points, seed) for X, y, seed in
                tqdm(items, desc=f"{split} tasks", disable=not self.verbose)
            )
        return tasks, class_disjoint

    # -------------------------------------------------------------- training
    def fit(self, X, y, groups=None):
        """Learn the critic from labelled reference data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or list of arrays
            Reference samples; a list gives several reference datasets, each
            with its own number of features.
        y : array-like of shape (n_samples,), or list of arrays
            Class labels of the references (a list when ``X`` is a list).
        groups : array-like of shape (n_samples,), default=None
            Reference dataset of each sample, for several references sharing
            one feature space. Classes are taken within each group.

        Returns
        -------
        self : LearnedMetricClustering
            The fitted estimator.
        """
        self._validate_params()
        check_layer_sizes(self.critic_hidden, "critic_hidden")
        pairs = _split_references(X, y, groups)
        rng = np.random.default_rng(draw_seed(self.random_state))
        references = []
        for Xr, yr in pairs:
            train_classes, val_classes = _split_classes(yr, self.validation_fraction, rng)
            references.append((Xr, yr, train_classes, val_classes))
        device = resolve_device(self.device)
        seed = int(rng.integers(2**31 - 1))
        tasks, class_disjoint = self._draw_tasks(references, rng)
        with seeded_torch(seed, device):
            gae = self._train_gae(tasks["train"], device, seed)
            embeddings = {
                split: [self._embed_task(gae, task, device) for task in items]
                for split, items in tasks.items()
            }
            critic, history, best = self._train_critic(
                embeddings, tasks, gae.embedding_size, device, seed
            )
        self.gae_ = module_to_cpu(gae)
        self.critic_ = module_to_cpu(critic)
        self.history_ = history
        self.validation_ = {**best, "class_disjoint": class_disjoint}
        self.n_references_ = len(pairs)
        self.device_ = device
        self._seed = seed
        return self

    @staticmethod
    def _graphs(task, device):
        context = build_context(task["X"], dtype=torch.float32)
        features, adjacency, scalars = clustering_graphs(context, task["labels"])
        return features.to(device), adjacency.to(device), scalars.to(device)

    def _train_gae(self, train_tasks, device, seed):
        gae = GraphAutoEncoder(len(NODE_FEATURES), len(GLOBAL_FEATURES)).to(device)
        graphs = [self._graphs(task, device) for task in train_tasks]
        gae.fit_scaling(torch.cat([f.reshape(-1, f.shape[-1]) for f, _, _ in graphs]),
                        torch.cat([s for _, _, s in graphs]))
        optimizer = torch.optim.Adam(gae.parameters(), lr=1e-2)
        generator = make_generator(seed)
        order_rng = np.random.default_rng(seed)
        for _ in tqdm(range(self.gae_epochs), desc="graph auto-encoder",
                      disable=not self.verbose):
            for index in order_rng.permutation(len(graphs)):
                features, adjacency, _ = graphs[index]
                loss = gae.loss(features, adjacency, generator=generator)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        return gae.eval()

    @torch.no_grad()
    def _embed_task(self, gae, task, device):
        return gae.embed(*self._graphs(task, device))

    def _train_critic(self, embeddings, tasks, n_inputs, device, seed):
        critic = Critic(n_inputs, tuple(self.critic_hidden)).to(device)
        optimizer = torch.optim.Adam(critic.parameters(), lr=self.learning_rate)
        generator = make_generator(seed + 1)
        order_rng = np.random.default_rng(seed + 1)
        weights = [torch.as_tensor(t["weights"][1:], dtype=torch.float32, device=device)
                   for t in tasks["train"]]
        history, best, best_state, since_best = [], None, None, 0
        bar = tqdm(range(self.critic_epochs), desc="critic", disable=not self.verbose)
        for epoch in bar:
            critic.train()
            total = 0.0
            for index in order_rng.permutation(len(embeddings["train"])):
                task_embeddings = embeddings["train"][index]
                if self.objective == "rank":
                    loss = rank_loss(critic(task_embeddings))
                else:
                    loss = wgan_loss(critic, task_embeddings, weights[index],
                                     generator=generator)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item()
            critic.eval()
            with torch.no_grad():
                scores = [critic(e).cpu().numpy() for e in embeddings["validation"]]
            metrics = ranking_metrics(scores)
            # tie-break equal MRRs by the truth's mean softmax log-probability
            metrics["log_p_truth"] = float(np.mean(
                [s[0] - np.logaddexp.reduce(s) for s in scores]))
            history.append({"epoch": epoch, "loss": total / len(embeddings["train"]),
                            **metrics})
            bar.set_postfix(best=f"{metrics['best']:.2f}", mrr=f"{metrics['mrr']:.3f}")
            key = (metrics["mrr"], metrics["log_p_truth"])
            if best is None or key > (best["mrr"], best["log_p_truth"]):
                best, best_state, since_best = metrics, copy.deepcopy(critic.state_dict()), 0
            else:
                since_best += 1
                if since_best >= self.patience:
                    break
        critic.load_state_dict(best_state)
        return critic.eval(), history, best

    # --------------------------------------------------------------- scoring
    def score_clustering(self, X, labels):
        """Critic score of one or several labellings of ``X`` (higher is better).

        Needs no ground truth: the score is the learned quality of the
        partition. Scores are comparable between labellings of the same
        ``X``; they are invariant to renaming clusters, to the order of the
        points (for datasets of at most ``max_points`` points), and to
        scaling, rotating and translating ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The dataset (any number of features).
        labels : array-like of shape (n_samples,) or (n_labellings, n_samples)
            One labelling, or several to score in one batch.

        Returns
        -------
        score : float or ndarray of shape (n_labellings,)
        """
        check_is_fitted(self)
        X = check_array(X, ensure_min_samples=3)
        labels = np.asarray(labels)
        single = labels.ndim == 1
        labels = np.atleast_2d(labels)
        if labels.ndim != 2 or labels.shape[1] != X.shape[0]:
            raise ValueError(
                f"labels must have shape ({X.shape[0]},) or (n_labellings, "
                f"{X.shape[0]}) to match X; got {np.asarray(labels).shape}."
            )
        rng = np.random.default_rng(self._seed)
        n_rounds = 1 if X.shape[0] <= self.max_points else self.n_subsamples
        device = inference_device(self.device_)
        gae = copy.deepcopy(self.gae_).to(device)
        critic = copy.deepcopy(self.critic_).to(device)
        total = np.zeros(labels.shape[0])
        with torch.no_grad():
            for _ in range(n_rounds):
                X_sub, labels_sub = _subsample(X, labels, self.max_points, rng)
                task = {"X": preprocess_task(X_sub, random_state=self._seed),
                        "labels": labels_sub}
                total += critic(self._embed_task(gae, task, device)).cpu().numpy()
        scores = total / n_rounds
        return np.float64(scores[0]) if single else scores
